"""`adnet run` as a user runs it: a small generated market in a temporary folder, one run for all windows."""

import csv

import dagster as dg
import duckdb

from adnet_assets.bench.quality import evaluate
from adnet_assets.layout import DataLayout
from adnet_tests.conftest import run_adnet


def test_adnet_run_loads_every_window_in_one_run_and_says_what_it_found(small_market):
    root, market, done = small_market
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Snapshots:" in done.stdout and "Phones:" in done.stdout and str(root / "adnet.duckdb") in done.stdout
    assert "raw_snapshots" in done.stderr  # progress lines while it worked
    con = duckdb.connect(str(root / "adnet.duckdb"), read_only=True)
    n_obs, n_snap = con.execute("SELECT count(*), count(DISTINCT (site, snapshot_id)) FROM ad_observations").fetchone()
    assert n_snap == market.n_snapshots
    assert n_obs == market.n_observations  # the generator counts good lines; bad ones replace an ad's line
    assert con.execute("SELECT count(*) FROM quarantine WHERE level = 'line'").fetchone()[0] == market.n_bad_lines
    assert con.execute("SELECT count(*) FROM ads").fetchone()[0] == market.n_ads
    # every displayed string the generator meant as a number is read as that number
    truth = {}
    with open(root / "demo-truth" / "displays.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["raw"], row["default_country"])] = row["phone"]
    read = {}
    for raw, country, phone in con.execute(  # the strings ads displayed (the cache also holds directory and billing ones)
            """SELECT raw, default_country, phone FROM phone_strings WHERE "index" = 0
               AND raw IN (SELECT unnest(phones_raw) FROM ad_observations)""").fetchall():
        read[(raw, country)] = phone
    shown = set(read) & set(truth)
    assert len(shown) >= 0.9 * len(read)
    # a wrong number links strangers: none may be read as another number; a few may stay unread
    wrong = {k: (read[k], truth[k]) for k in shown if read[k] is not None and read[k] != truth[k]}
    assert not wrong, list(wrong.items())[:10]
    unread = [k for k in shown if read[k] is None]
    assert len(unread) <= 0.01 * len(shown), unread[:10]
    con.close()
    # networks against the planted truth: nothing false (a false network is worse than a missed phone)
    quality = evaluate(DataLayout.at(root))
    assert "Networks:" in done.stdout
    assert quality.false_networks == 0 and quality.phones.precision == 1.0 and quality.ads.precision == 1.0
    assert quality.planted_found >= quality.planted - 1
    # the exports are written beside the database, and the workbook holds no live formula
    import openpyxl

    workbook = openpyxl.load_workbook(root / "exports" / "adnet.xlsx")
    assert {"ads", "phones", "links", "networks"} <= set(workbook.sheetnames)
    assert not any(cell.data_type == "f" for ws in workbook.worksheets for row in ws.iter_rows() for cell in row)
    assert (root / "exports" / "graphs" / "evidence_graph.gexf").is_file()
    # every network has its picture, map, graph files and Aleph entities, and nothing else lies there
    import json

    from xmindparser import xmind_to_dict

    con = duckdb.connect(str(root / "adnet.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("SELECT network_id FROM networks ORDER BY 1").fetchall()]
    con.close()
    exports = root / "exports"
    assert ids and sorted(p.name for p in (exports / "networks").iterdir()) == sorted(
        f"network_{nid}.{ext}" for nid in ids for ext in ("png", "xmind"))
    for nid in ids:
        sheets = xmind_to_dict(str(exports / "networks" / f"network_{nid}.xmind"))
        assert sheets[0]["topic"]["title"].startswith(f"{nid}: ")
        assert (exports / "graphs" / f"network_{nid}.graphml").is_file()
        lines = (exports / "aleph" / f"network_{nid}.ftm.json").read_text(encoding="utf-8").splitlines()
        assert any(json.loads(line)["schema"] == "Organization" for line in lines)
    assert len(workbook["network " + ids[0]]._images) == 1
    # billing and red flags: the planted controllers head the ranking, every flag is grounded
    traps = json.loads((root / "demo-truth" / "traps.json").read_text(encoding="utf-8"))
    controllers = {c["phone"] for net in traps.get("billing", []) for c in net["controllers"]}
    con = duckdb.connect(str(root / "adnet.duckdb"), read_only=True)
    if controllers:
        top = {r[0] for r in con.execute(
            "SELECT counterpart FROM billing_counterparts ORDER BY rank LIMIT ?", [len(controllers)]).fetchall()}
        assert top == controllers
    flags = dict(con.execute("SELECT entity_type, count(*) FROM red_flags GROUP BY ALL").fetchall())
    assert flags.get("network", 0) >= len(ids) and flags.get("ad", 0) > 0
    # billing evidence: the controller shown in its network's ads links strongly inside that network;
    # the customer shown in an independent's ad links weakly, and the independent stays out
    planted = traps["billing_in_ads"]
    controller, customer = planted["controller_in_network_ads"], planted["customer_in_independent_ad"]
    links = con.execute("SELECT a, b, strength, for_networks FROM links WHERE kind = 'billing'").fetchall()
    to_controller = [r for r in links if f"phone:{controller['controller_phone']}" in r[:2]]
    to_customer = [r for r in links if f"phone:{customer['customer_phone']}" in r[:2]]
    assert to_controller and all(r[2] == "strong" and r[3] for r in to_controller)
    assert to_customer and all(r[2] == "weak" and not r[3] for r in to_customer)
    member_of = dict(con.execute("SELECT member_key, network_id FROM network_members WHERE member_type = 'phone'").fetchall())
    assert member_of.get(controller["controller_phone"]) == member_of.get(controller["subscribers"][0]) is not None
    assert not {customer["customer_phone"], *customer["independent_phones"]} & set(member_of)
    con.close()
    # the run is in the investigation's Dagster instance: one run over the whole range of windows
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        first = instance.get_runs()[-1]  # newest first: the fixture's run is the oldest
        assert first.status == dg.DagsterRunStatus.SUCCESS and first.tags.get("adnet/trigger") == "cli"
        tags = first.tags
        assert tags["dagster/asset_partition_range_start"] <= tags["dagster/asset_partition_range_end"]
        windows = instance.get_materialized_partitions(dg.AssetKey("raw_snapshots"))
        assert len(windows) >= market.n_snapshots // 2
    # every export the run wrote is in the audit trail, with who and which run, and no person's data
    con = duckdb.connect(str(root / "adnet.duckdb"), read_only=True)
    audit = con.execute("SELECT actor, action, scope FROM audit_log WHERE run_id = ? ORDER BY scope",
                        [first.run_id]).fetchall()
    phones = {r[0] for r in con.execute("SELECT phone FROM phones").fetchall()}
    con.close()
    assert [a[2].split(":")[0] for a in audit] == ["exports/adnet.xlsx", "exports/aleph", "exports/graphs",
                                                   "exports/networks", "exports/networks"]
    assert all(a[0] and a[1] == "export" for a in audit)
    assert not any(p in a[2] or p[3:] in a[2] for a in audit for p in phones)


def test_adnet_run_on_a_folder_without_snapshots_says_what_to_do(tmp_path):
    done = run_adnet("run", "--data-dir", str(tmp_path / "empty"))
    assert done.returncode == 1
    assert "no snapshot folders in" in done.stderr and "adnet demo" in done.stderr
    assert "Traceback" not in done.stderr


def _tables(db):
    """Every table's rows, except the ones that record runs (history, caches of look-ups, load marks)."""
    skip = {"network_history", "_network_snapshot", "_window_files", "directory_lookups", "audit_log"}
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in names if t not in skip}
    finally:
        con.close()


def test_running_again_in_another_process_leaves_the_same_database(small_market):
    root, _, done = small_market
    assert done.returncode == 0
    before = _tables(root / "adnet.duckdb")
    again = run_adnet("run", "--data-dir", str(root), env_extra={"PYTHONHASHSEED": "4242"})
    assert again.returncode == 0, again.stderr[-3000:]
    after = _tables(root / "adnet.duckdb")
    assert after.keys() == before.keys() and "networks" in after
    changed = [t for t in before if before[t] != after[t]]
    assert not changed
