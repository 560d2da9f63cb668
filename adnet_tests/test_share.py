"""``adnet share`` on a small generated market: every shared file is scanned for the people it must not name."""

from __future__ import annotations

import html
import re
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import duckdb
import phonenumbers
import pytest

from adnet_assets.lib import network_picture
from adnet_assets.lib.pseudonymise import KEY_ENV, build_pseudonymised_tables, key_fingerprint
from adnet_tests.conftest import run_adnet

KEY = "test-only pseudonym key 7f3a9c1e5b"  # made up for this test
PSEUDONYM = re.compile(r"(?:phone|person|name|address|ad|adname|photo|contact|block)-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def shared(small_market, tmp_path_factory):
    """A copy of the market's database, ``adnet share`` run on it without a key, then with one."""
    source, _, done = small_market
    assert done.returncode == 0, done.stderr[-2000:]
    root = tmp_path_factory.mktemp("share") / "data"
    root.mkdir()
    shutil.copy2(source / "adnet.duckdb", root / "adnet.duckdb")
    no_key = run_adnet("share", "--data-dir", str(root), env_extra={KEY_ENV: ""})
    folder_without_key = (root / "shared").exists()
    with_key = run_adnet("share", "--data-dir", str(root), env_extra={KEY_ENV: KEY})
    assert with_key.returncode == 0, with_key.stderr[-3000:]
    return SimpleNamespace(root=root, source=source, done=with_key, no_key=no_key,
                           folder_without_key=folder_without_key)


def _files(folder: Path):
    """(where, text) of every file a partner gets, zips opened; XML entities decoded."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix in (".xlsx", ".xmind"):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    if not name.endswith(".png"):
                        yield f"{path.name}:{name}", html.unescape(archive.read(name).decode("utf-8"))
        elif path.suffix != ".png":
            yield path.relative_to(folder).as_posix(), html.unescape(path.read_text(encoding="utf-8-sig"))


def _column_values(con, sql: str) -> set[str]:
    return {str(r[0]).strip() for r in con.execute(sql).fetchall() if r[0] is not None and str(r[0]).strip()}


def _secrets(db: Path) -> dict[str, set[str]]:
    """What the source database knows about people: numbers, names, addresses, ads, URLs, handles."""
    with duckdb.connect(str(db), read_only=True) as con:
        phones = _column_values(con, """
            SELECT phone FROM phones UNION SELECT phone FROM directory_listings UNION SELECT phone FROM directory_matches
            UNION SELECT subscriber FROM billing_events UNION SELECT counterpart FROM billing_events
            UNION SELECT phone FROM phone_strings""")
        names = _column_values(con, """
            SELECT name FROM owners UNION SELECT unnest(variants) FROM owners UNION SELECT name FROM owner_variants
            UNION SELECT name FROM directory_listings UNION SELECT name FROM directory_matches""")
        addresses = _column_values(con, """
            SELECT address FROM addresses UNION SELECT unnest(variants) FROM addresses UNION SELECT address_key
            FROM addresses UNION SELECT address FROM directory_matches UNION SELECT address FROM directory_listings""")
        ads = _column_values(con, "SELECT ad_id FROM ads UNION SELECT ad_key FROM ads")
        owner_ids = _column_values(con, "SELECT owner_id FROM owners")
        urls = _column_values(con, """SELECT url FROM ad_observations UNION
                                      SELECT unnest(from_json(images, '[{"url": "VARCHAR"}]')).url FROM ad_observations""")
        handles = _column_values(con, """SELECT '@' || lower(trim(contact->>'$.telegram', '@ ')) FROM ad_observations
                                         WHERE json_type(contact, '$.telegram') = 'VARCHAR'""")
    national = {phonenumbers.national_significant_number(phonenumbers.parse(p)) for p in phones}
    return {"phone": phones | {p.lstrip("+") for p in phones}, "national number": {n for n in national if len(n) >= 7},
            "owner name": names, "address": addresses, "ad": ads, "owner id": owner_ids, "url": urls,
            "telegram handle": handles}


def test_share_without_a_key_stops_with_the_variable_and_how_to_make_one(shared):
    assert shared.no_key.returncode == 1
    assert KEY_ENV in shared.no_key.stderr and "secrets.token_hex(32)" in shared.no_key.stderr
    assert "Traceback" not in shared.no_key.stderr
    assert not shared.folder_without_key


def test_share_writes_every_export_into_the_shared_folder(shared):
    root, done = shared.root, shared.done
    folder = root / "shared"
    with duckdb.connect(str(root / "adnet.duckdb"), read_only=True) as con:
        networks = [r[0] for r in con.execute("SELECT network_id FROM networks ORDER BY 1").fetchall()]
    assert networks
    expected = {"adnet.xlsx", "README.txt", "graphs/evidence_graph.gexf", "graphs/evidence_graph.graphml",
                "graphs/evidence_graph.nodes.csv", "graphs/evidence_graph.edges.csv", "aleph/evidence_graph.ftm.json"}
    for nid in networks:
        expected |= {f"networks/network_{nid}.png", f"networks/network_{nid}.xmind", f"graphs/network_{nid}.gexf",
                     f"aleph/network_{nid}.ftm.json"}
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert expected <= written
    assert not [p for p in written if Path(p).name.startswith(".") or p.endswith(".tmp")]  # no half-written file
    assert str(folder) in done.stdout and f"key id {key_fingerprint(KEY.encode())}" in done.stdout
    assert f"{len(networks)} network(s)" in done.stdout


def _leaks(texts: list[tuple[str, str]], secrets: dict[str, set[str]]) -> list[str]:
    """Each secret found in a text as a whole (not inside a longer word or number), case-insensitively.
    A secret is searched for only where all its words occur (a set look-up), so the scan stays fast."""
    _word = re.compile(r"[^\W_]+")
    lowered = [(where, text.lower()) for where, text in texts]
    words = {w for _, text in lowered for w in _word.findall(text)}
    leaks = []
    for kind, values in secrets.items():
        for value in sorted(values):
            low = value.lower()
            if not all(w in words for w in _word.findall(low)):
                continue
            whole = re.compile(rf"(?<![^\W_]){re.escape(low)}(?![^\W_])")
            leaks += [f"{where}: {kind} {value!r}" for where, text in lowered if low in text and whole.search(text)]
    return leaks


def test_no_number_name_address_ad_or_url_of_the_source_is_in_any_shared_file(shared):
    root = shared.root
    secrets = _secrets(root / "adnet.duckdb")
    assert all(secrets[k] for k in ("phone", "owner name", "address", "ad", "url", "telegram handle"))
    texts = list(_files(root / "shared"))
    assert len(texts) > 20
    assert _leaks(texts, secrets) == []
    # the scan finds what it looks for: over the market's own (not pseudonymised) exports it finds people
    sample = [(p.name, p.read_text(encoding="utf-8")) for p in (shared.source / "exports" / "aleph").glob("network_*")]
    found = _leaks(sample, secrets)
    assert {leak.split(": ")[1].split(" ")[0] for leak in found} >= {"phone", "owner", "address", "ad"}


def test_the_networks_and_their_members_are_the_same_as_in_the_source(shared):
    root = shared.root
    with duckdb.connect(str(root / "adnet.duckdb"), read_only=True) as con:
        members = con.execute("""SELECT network_id, member_type, count(DISTINCT member_key) FROM network_members
                                 GROUP BY ALL ORDER BY ALL""").fetchall()
    graphs = root / "shared" / "graphs"
    with duckdb.connect() as con:
        shared_members = con.execute(f"""
            SELECT regexp_extract(filename, 'network_(.*)\\.nodes\\.csv$', 1), type, count(DISTINCT id)
            FROM read_csv('{graphs}/network_*.nodes.csv', filename = true, all_varchar = true)
            WHERE network_id <> '' GROUP BY ALL ORDER BY ALL""").fetchall()
        keys = con.execute(f"SELECT id FROM read_csv('{graphs}/network_*.nodes.csv', all_varchar = true)").fetchall()
    assert shared_members == members
    assert all(PSEUDONYM.fullmatch(key.split(":", 1)[1]) for (key,) in keys)


def test_the_pictures_are_drawn_from_the_pseudonymised_tables(shared):
    """Drawing is deterministic: the shared PNG is byte for byte the picture of the pseudonymised copy."""
    root = shared.root
    with duckdb.connect() as con:
        build_pseudonymised_tables(root / "adnet.duckdb", KEY.encode(), con)
        ids = [r[0] for r in con.execute("SELECT network_id FROM networks ORDER BY 1").fetchall()]
        for nid in ids:
            _, _, labels = network_picture._load(con, nid)
            assert labels and all(PSEUDONYM.fullmatch(label) for label in labels.values()), labels
            drawn = network_picture.render_network_png(con, nid)
            assert (root / "shared" / "networks" / network_picture.picture_name(nid)).read_bytes() == drawn


def test_the_key_is_in_no_file_and_the_delivery_is_audited(shared):
    root, done = shared.root, shared.done
    key = KEY.encode()
    holding = [p for p in root.rglob("*") if p.is_file() and key in p.read_bytes()]
    assert holding == []
    assert key_fingerprint(key).encode() in (root / "shared" / "README.txt").read_bytes()
    with duckdb.connect(str(root / "adnet.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT action, scope, run_id FROM audit_log WHERE action = 'shared_export'").fetchall()
    assert len(rows) == 1
    action, scope, run_id = rows[0]
    assert scope.startswith("shared/: ") and key_fingerprint(key) in scope and run_id and run_id[:8] in done.stderr
    assert not re.search(r"\+\d{8}", scope)


def test_adnet_run_needs_no_key_the_shared_exports_are_not_in_its_job():
    from adnet_assets.definitions import defs
    from adnet_assets.defs.exports.shared import SOURCES

    graph = defs.resolve_asset_graph()
    job_keys = {k.to_user_string() for k in defs.resolve_job_def("adnet_job").asset_layer.selected_asset_keys}
    assert "shared_exports" not in job_keys and "excel_workbook" in job_keys
    assert set(SOURCES) <= {k.to_user_string() for k in graph.get_all_asset_keys()}
