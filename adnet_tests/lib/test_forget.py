"""adnet forget, step by step on a hand-made data folder: lines cut byte for byte, manifests that still
verify, CSV rows of several encodings and delimiters, caches, compaction, the Dagster scrub, the final
search, and a second run that finds nothing. Everything here is synthetic."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import sqlite3
import zipfile

import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib import forget as fg
from adnet_assets.lib.audit import record
from adnet_assets.lib.ingest import ingest_all
from adnet_assets.lib.snapshots import discover, verify
from adnet_tests.conftest import ad, write_snapshot

TARGET = "+4747665303"          # the number to forget, shown in many forms below
OTHER = "+4798765432"           # a number that must stay
PERSON = "Kari Nordmann"        # the person to forget
SITE = "eskorte.example"

# ---------------------------------------------------------------- the folder

SNAP_A = [  # line numbers below are these positions, 1-based
    ad("a1", "2026-06-01T06:01:00Z", ["+47 476 65 303"], text="hei"),                  # 1 target (phones)
    ad("a2", "2026-06-01T06:02:00Z", ["98 76 54 32"], text="ring meg"),                # 2 stays
    ad("a3", "2026-06-01T06:03:00Z", ["41 23 45 67"], text="eller ring 476.65.303"),   # 3 target (text)
    '{"ad_id": "a4", "phones": ["47665303"',                                          # 4 target (bad line)
    ad("a5", "2026-06-01T06:05:00Z", ["Tel: 47665303 / 98765432"]),                   # 5 target (one of two)
    ad("a6", "2026-06-01T06:06:00Z", ["22 33 44 55"], text="Spør etter KARI NORDMANN"),  # 6 the person
    ad("a7", "2026-06-01T06:07:00Z", ["22 33 44 55"], name="Kari"),                   # 7 stays: first name only
    ad("a8", "2026-06-01T06:08:00Z", ["fire syv seks seks fem tre null tre"]),        # 8 target (number words)
]
# Another crawl, written by hand: CRLF line ends, no line end after the last line.
SNAP_B = b"\r\n".join(json.dumps(a, ensure_ascii=False).encode() for a in [
    ad("b1", "2026-06-04T06:01:00Z", ["98765432"]),
    ad("b2", "2026-06-04T06:02:00Z", ["0047-47665303"]),
    ad("b3", "2026-06-04T06:03:00Z", ["98765432"], city="Bergen"),
    ad("b4", "2026-06-04T06:04:00Z", ["47 66 53 03"]),
])

DIR_UTF8 = (  # comma, LF, a quoted address over two lines
    "phone,name,address,postcode,city,listed_at\n"
    "98765432,Ola Hansen,Storgata 1,0155,Oslo,2025-01-01\n"
    '"+47 476 65 303",Per Olsen,"c/o Olsen\nKirkeveien 2",0364,Oslo,2025-02-01\n'
    "22334455,Kari Nordmann,Bygdøy allé 3,0257,Oslo,2025-03-01\n"
    '22334455,"Nordmann, Kari",Bygdøy allé 3,0257,Oslo,2025-03-02\n'
    "22334466,Kari Nordmannsen,Bygdøy allé 5,0257,Oslo,2025-03-03\n"
)
DIR_CP1252 = (  # semicolon, CRLF, Windows Norwegian
    "phone;name;address;postcode;city;listed_at\r\n"
    "98765432;Søren Ødegård;Æsøyveien 4;1234;Ås;2025-04-01\r\n"
    "47665303;Åse Vik;Løkkeveien 5;1235;Ås;2025-04-02\r\n"
    "98765433;Bjørn Ærø;Løkkeveien 6;1235;Ås;2025-04-03\r\n"
).encode("cp1252")
DIR_UTF16 = codecs.BOM_UTF16_LE + (  # tab, CRLF, Excel's "Unicode text"
    "phone\tname\taddress\tpostcode\tcity\tlisted_at\r\n"
    "004747665303\tLiv Berg\tFjordgata 7\t7010\tTrondheim\t2025-05-01\r\n"
    "98765434\tJon Dahl\tFjordgata 8\t7010\tTrondheim\t2025-05-02\r\n"
).encode("utf-16-le")
BILLING = (
    "subscriber,timestamp,direction,kind,counterpart,duration_s,network,country\n"
    "+4741234567,2026-06-01T10:00:00+02:00,out,sms,+4798765432,0,Telenor,NO\n"
    "+4741234567,2026-06-01T10:05:00+02:00,in,call,47665303,60,Telenor,NO\n"
    "+4741234567,2026-06-01T10:09:00+02:00,out,sms,+4798765432,0,Telenor,NO\n"
)
BILLING_OF_TARGET = (  # the forgotten number's own records: nothing is left of this file
    "subscriber,timestamp,direction,kind,counterpart,duration_s,network,country\n"
    "+4747665303,2026-06-01T11:00:00+02:00,out,sms,+4798765432,0,Telenor,NO\n"
)
ALIASES = "name,same_as\nKari Nordmann,K. Nordmann\nOla Hansen,O. Hansen\n"


def _lines(data: bytes, sep: bytes = b"\n") -> list[bytes]:
    parts = data.split(sep)
    return [p + sep for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _without(data: bytes, drop: set[int], sep: bytes = b"\n") -> bytes:
    return b"".join(line for i, line in enumerate(_lines(data, sep), 1) if i not in drop)


@pytest.fixture
def folder(tmp_path) -> DataLayout:
    root = tmp_path / "data"
    write_snapshot(root, SITE, "2026-06-01T0600Z", SNAP_A, prefix=codecs.BOM_UTF8)
    snap_b = root / "snapshots" / SITE / "2026-06-04T0600Z"
    snap_b.mkdir(parents=True)
    (snap_b / "ads.jsonl").write_bytes(SNAP_B)
    (snap_b / "manifest.json").write_text(json.dumps({
        "site": SITE, "snapshot_id": "2026-06-04T0600Z", "ads": 4,
        "files": {"ads.jsonl": {"sha256": hashlib.sha256(SNAP_B).hexdigest(), "bytes": len(SNAP_B)}}}, indent=2) + "\n")
    # a crawl still being written (no manifest): left alone and reported
    write_snapshot(root, SITE, "2026-06-08T0600Z", [ad("c1", "2026-06-08T06:01:00Z", [TARGET])], manifest=False)
    (root / "directory").mkdir()
    (root / "directory" / "a.csv").write_text(DIR_UTF8, encoding="utf-8")
    (root / "directory" / "b.csv").write_bytes(DIR_CP1252)
    (root / "directory" / "c.csv").write_bytes(DIR_UTF16)
    (root / "billing").mkdir()
    (root / "billing" / "4741234567.csv").write_text(BILLING)
    (root / "billing" / "4747665303.csv").write_text(BILLING_OF_TARGET)
    (root / "aliases.csv").write_text(ALIASES)
    return DataLayout.at(root)


def _digest(layout: DataLayout) -> dict[str, str]:
    return {p.relative_to(layout.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(layout.root.rglob("*")) if p.is_file()}


def _edits(plan: fg.Plan) -> dict[str, tuple[int, ...]]:
    return {e.source_file: e.lines for e in plan.edits}


# ---------------------------------------------------------------- the request

def test_the_request_is_read_with_the_pipelines_phone_parser_and_refuses_what_cannot_be_meant():
    request = fg.parse_request(["476 65 303", "+47 47665303", "0047 98765432"], ["  Nordmann, Kari "])
    assert request.phones == (TARGET, OTHER)
    assert request.keys == ("kari nordmann",)
    assert request.describe() == "2 phone numbers and 1 person"
    with pytest.raises(fg.ForgetError, match="no phone number can be read"):
        fg.parse_request(["ring meg"])
    with pytest.raises(fg.ForgetError, match="holds 2 numbers"):
        fg.parse_request(["47665303 / 98765432"])
    with pytest.raises(fg.ForgetError, match="full name"):
        fg.parse_request([], ["Kari"])
    with pytest.raises(fg.ForgetError, match="nothing to forget"):
        fg.parse_request([], [])


def test_needles_find_a_number_in_its_disguises_and_a_name_in_any_order_but_nothing_else():
    needles = fg.Needles((TARGET,), ("fire syv seks seks fem tre null tre",), ("Søren Ødegård",))
    for text in ("+4747665303", "tlf 476 65 303", "0047-4766-5303", "47.66.53.03", r'"\\+4747665303"',
                 "FIRE SYV SEKS SEKS FEM TRE NULL TRE", "Ødegård, Søren", "SØREN ØDEGÅRD", "soren odegard",
                 '"S\\u00f8ren \\u00d8deg\\u00e5rd"', "Søren\\-Ødegård"):
        assert needles.search(text), text
    for text in ("4747665303 1", "+46147665303", "147665303", "476653031", "Søren Ødegårdsen", "Søren Hansen"):
        assert not needles.search(text.replace(" 1", "1")), text
    assert needles.scrub("ring 476 65 303 eller Søren Ødegård!") == "ring [forgotten] eller [forgotten]!"
    # the prefilter DuckDB runs lets through at least what the exact search finds
    con = duckdb.connect()
    texts = ["tlf 476 65 303", "Ødegård, Søren", "nothing", "S\\u00f8ren \\u00d8deg\\u00e5rd"]
    passed = [r[0] for r in con.execute(f"SELECT t FROM unnest(?) AS u(t) WHERE {needles.prefilter_sql('t')}",
                                        [texts]).fetchall()]
    assert set(passed) >= {t for t in texts if needles.search(t)} and "nothing" not in passed


# ---------------------------------------------------------------- finding and cutting

def test_a_number_is_cut_from_every_input_byte_for_byte_and_the_snapshots_still_verify(folder):
    before = {p: p.read_bytes() for p in folder.root.rglob("*") if p.is_file()}
    plan = fg.find_places(folder, fg.parse_request([TARGET]))
    snap_a = f"snapshots/{SITE}/2026-06-01T0600Z/ads.jsonl"
    snap_b = f"snapshots/{SITE}/2026-06-04T0600Z/ads.jsonl"
    assert _edits(plan) == {
        snap_a: (1, 3, 4, 5, 8), snap_b: (2, 4),
        "directory/a.csv": (3, 4), "directory/b.csv": (3,), "directory/c.csv": (2,),
        "billing/4741234567.csv": (3,), "billing/4747665303.csv": (2,)}
    assert plan.records("directory") == 3 and plan.records("snapshot") == 7 and plan.records("billing") == 2
    assert any("2026-06-08T0600Z" in s and "still being written" in s for s in plan.skipped)
    assert "Kari" not in plan.counts() and "4766" not in plan.counts()

    counts = fg.rewrite_inputs(plan)
    assert counts == {"rewritten": 6, "deleted": 1}
    root = folder.root
    # the first line goes, the BOM stays; every other byte is as it was
    a_old = before[root / snap_a]
    assert (root / snap_a).read_bytes() == codecs.BOM_UTF8 + _without(a_old[3:], {1, 3, 4, 5, 8})
    # CRLF kept; the last line went and the file still ends without a line end
    b_new = (root / snap_b).read_bytes()
    assert b_new == _without(SNAP_B, {2, 4}).removesuffix(b"\r\n") and b_new.count(b"\r\n") == 1
    assert (root / "directory/a.csv").read_bytes() == _without(DIR_UTF8.encode(), {3, 4})
    assert (root / "directory/b.csv").read_bytes() == _without(DIR_CP1252, {3})
    assert (root / "directory/c.csv").read_bytes() == codecs.BOM_UTF16_LE + "".join(
        line for i, line in enumerate(DIR_UTF16[2:].decode("utf-16-le").splitlines(keepends=True), 1) if i != 2
    ).encode("utf-16-le")
    assert (root / "billing/4741234567.csv").read_bytes() == _without(BILLING.encode(), {3})
    assert not (root / "billing/4747665303.csv").exists()  # nothing left, and its name was the number
    assert (root / "aliases.csv").read_bytes() == before[root / "aliases.csv"]
    # the rewritten snapshots verify against their manifests, which count the lines and not which
    for ref in discover(folder).complete():
        verify(ref, folder)
    manifest_b = json.loads((root / snap_b).with_name("manifest.json").read_text())
    assert manifest_b["redacted_lines"] == 2 and manifest_b["ads"] == 4
    # and the ingest reads what is left: the other numbers, nothing of the target
    ingest_all(folder)
    con = duckdb.connect(str(folder.database), read_only=True)
    assert con.execute("SELECT status, count(*) FROM snapshots GROUP BY ALL ORDER BY 1").fetchall() == [
        ("incomplete", 1), ("loaded", 2)]
    assert con.execute("SELECT count(*) FROM observation_phones WHERE phone = ?", [TARGET]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM observation_phones WHERE phone = ?", [OTHER]).fetchone()[0] == 3
    con.close()

    # a second run finds nothing more (but the crawl still being written) and changes nothing
    state = _digest(folder)
    again = fg.find_places(folder, fg.parse_request([TARGET]))
    assert again.edits == [] and again.skipped
    assert fg.rewrite_inputs(again) == {"rewritten": 0, "deleted": 0} and _digest(folder) == state


def test_a_person_goes_with_every_spelling_of_the_same_words_and_their_number_stays(folder):
    plan = fg.find_places(folder, fg.parse_request([], [PERSON]))
    assert _edits(plan) == {f"snapshots/{SITE}/2026-06-01T0600Z/ads.jsonl": (6,), "directory/a.csv": (5, 6),
                            "aliases.csv": (2,)}
    assert plan.matched_spellings == {"Kari Nordmann": 2, "Nordmann, Kari": 1}
    fg.rewrite_inputs(plan)
    text = (folder.directory / "a.csv").read_text()
    assert "Nordmann, Kari" not in text and "Kari Nordmann," not in text and "Kari Nordmannsen" in text
    assert (folder.aliases).read_text() == "name,same_as\nOla Hansen,O. Hansen\n"
    ads = (folder.snapshots / SITE / "2026-06-01T0600Z" / "ads.jsonl").read_text()
    assert "NORDMANN" not in ads and '"a7"' in ads  # the number the network uses stays in its ads


def test_the_dry_run_changes_nothing(folder):
    ingest_all(folder)
    state = _digest(folder)
    plan = fg.find_places(folder, fg.parse_request([TARGET], [PERSON]))
    assert not plan.empty and plan.cached_strings > 0
    assert _digest(folder) == state


def test_a_forget_interrupted_between_manifest_and_file_is_finished_by_the_next(folder):
    plan = fg.find_places(folder, fg.parse_request([TARGET]))
    edit = next(e for e in plan.edits if e.source_file.endswith("2026-06-04T0600Z/ads.jsonl"))
    manifest = edit.path.with_name("manifest.json")
    old = edit.path.read_bytes()
    fg.rewrite_inputs(plan)
    new = edit.path.read_bytes()
    edit.path.write_bytes(old)  # as if killed after the manifest was written, before ads.jsonl
    again = fg.find_places(folder, fg.parse_request([TARGET]))
    fg.rewrite_inputs(again)
    assert edit.path.read_bytes() == new and json.loads(manifest.read_text())["redacted_lines"] == 2
    ref = next(r for r in discover(folder).complete() if r.snapshot_id == "2026-06-04T0600Z")
    verify(ref, folder)


# ---------------------------------------------------------------- the database and the instance

def _service_cache(layout: DataLayout) -> None:
    con = duckdb.connect(str(layout.database))
    con.execute("""CREATE TABLE directory_lookups (phone VARCHAR, service VARCHAR, looked_up_at TIMESTAMPTZ,
                   status VARCHAR, n_listings BIGINT, answer JSON)""")
    con.execute("""INSERT INTO directory_lookups VALUES
        ('+4747665303', 'dir.example', now(), 'found', 1, '{"listings": [{"name": "Per Olsen"}]}'),
        ('+4722334455', 'dir.example', now(), 'found', 1, '{"listings": [{"name": "Kari Nordmann"}]}'),
        ('+4722334499', 'dir.example', now(), 'found', 1, '{"listings": [{"name": "K\\u00e5re Nordmann"}]}'),
        ('+4798765432', 'dir.example', now(), 'found', 1, '{"listings": [{"name": "Ola Hansen"}]}')""")
    con.execute("""CREATE TABLE directory_listings AS SELECT * FROM (VALUES
        ('dir.example:+4722334455:0', 'api', 'dir.example', NULL::BIGINT, '+4722334455', '+4722334455',
         'Kari Nordmann', 'Bygdøy allé 3', '0257', 'Oslo', NULL, 'kari nordmann', 'public'),
        ('dir.example:+4798765432:0', 'api', 'dir.example', NULL::BIGINT, '+4798765432', '+4798765432',
         'Ola Hansen', 'Storgata 1', '0155', 'Oslo', NULL, 'ola hansen', 'public'))
        AS t(listing_id, source, source_file, line_no, phone_raw, phone, name, address, postcode, city,
             listed_at, name_norm, visibility)""")
    con.close()


def test_service_answers_about_the_number_or_the_person_go_with_their_listings(folder):
    ingest_all(folder)
    _service_cache(folder)
    plan = fg.find_places(folder, fg.parse_request([TARGET], [PERSON]))
    assert (plan.lookups, plan.api_listings) == (2, 1) and plan.cached_strings >= 5
    fg.clean_database(folder, plan)
    con = duckdb.connect(str(folder.database), read_only=True)
    assert sorted(r[0] for r in con.execute("SELECT phone FROM directory_lookups").fetchall()) == [
        "+4722334499", OTHER]  # "Kåre Nordmann" is another person
    assert con.execute("SELECT name FROM directory_listings").fetchall() == [("Ola Hansen",)]
    assert con.execute("SELECT count(*) FROM phone_strings WHERE phone = ?", [TARGET]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM phone_strings WHERE phone = ?", [OTHER]).fetchone()[0] > 0
    con.close()


def test_compaction_leaves_no_deleted_row_in_the_file(tmp_path):
    path = tmp_path / "adnet.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 'FORGET-ME-' || i AS s FROM range(5000) r(i)")
    con.execute("CREATE TABLE kept AS SELECT 'keep ' || i AS s FROM range(100) r(i)")
    con.execute("CREATE VIEW v AS SELECT count(*) AS n FROM kept")
    con.close()
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM t")
    con.execute("CHECKPOINT")
    con.close()
    assert b"FORGET-ME-" in path.read_bytes()  # why compaction is needed at all
    assert fg.compact_database(path)
    assert b"FORGET-ME-" not in path.read_bytes()
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT (SELECT count(*) FROM t), n FROM v").fetchone() == (0, 100)
    con.close()
    assert not list(tmp_path.glob(".adnet.duckdb.*")) and not fg.compact_database(tmp_path / "none.duckdb")


def test_the_dagster_history_is_scrubbed_and_pictures_of_earlier_runs_removed(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    home = layout.dagster_home / "history"
    home.mkdir(parents=True)
    db = home / "runs.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE event_logs (id INTEGER PRIMARY KEY, run_id TEXT, event TEXT, n INTEGER)")
    old_picture = "data:image/png;base64," + "QUJD" * 50
    old, new = "5f0c2a9e-old-run", "9d41be07-this-run"
    rows = [
        (old, json.dumps({"md": r"| \+4747665303 | 476 65 303 |", "who": "Søren Ødegård"}), 1),
        (old, json.dumps({"run": old, "pictures": f"![N-1]({old_picture})"}), 2),
        (new, json.dumps({"run": new, "pictures": f"![N-1]({old_picture})"}), 3),
        (old, json.dumps({"md": "nothing to see"}), 4),
    ]
    con.executemany("INSERT INTO event_logs (run_id, event, n) VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    logs = layout.dagster_home / "storage" / "old" / "compute_logs"
    logs.mkdir(parents=True)
    (logs / "x.err").write_text("12:00 directory_listings  Søren Ødegård at +47 476 65 303\n")
    needles = fg.Needles((TARGET,), (), ("Søren Ødegård",))
    values, files = fg.scrub_dagster(layout, needles, keep_run_id=new)
    assert (values, files) == (3, 2)
    con = sqlite3.connect(db)
    events = [json.loads(r[0]) for r in con.execute("SELECT event FROM event_logs ORDER BY id").fetchall()]
    con.close()
    assert events[0] == {"md": r"| \[forgotten] | [forgotten] |", "who": "[forgotten]"}
    assert old_picture not in events[1]["pictures"] and old_picture in events[2]["pictures"]
    assert events[3] == {"md": "nothing to see"}
    assert b"47665303" not in db.read_bytes() and "Ødegård".encode() not in db.read_bytes()
    assert (logs / "x.err").read_text() == "12:00 directory_listings  [forgotten] at [forgotten]\n"


def test_the_final_search_looks_inside_every_kind_of_file_and_says_whose_file_it_is(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    (layout.exports / "networks").mkdir(parents=True)
    with zipfile.ZipFile(layout.exports / "networks" / "network_N-1.xmind", "w") as archive:
        archive.writestr("content.json", json.dumps({"title": "S\u00f8ren \u00d8deg\u00e5rd"}))  # JSON-escaped
        archive.writestr("other.json", "{}")
    layout.warehouse.mkdir()
    con = duckdb.connect(str(layout.database))
    con.execute("CREATE TABLE phones AS SELECT '+4747665303' AS phone, ['476 65 303'] AS raw_forms, 1 AS n")
    con.execute("CREATE TABLE clean AS SELECT 'nothing' AS s")
    con.execute(f"COPY phones TO '{layout.warehouse / 'p.parquet'}' (FORMAT parquet)")
    con.close()
    (layout.root / "notes").mkdir()
    (layout.root / "notes" / "call 47665303.txt").write_text("asked about Soren Odegard")
    (layout.root / "notes" / "latin1.csv").write_bytes("navn;Søren Ødegård\n".encode("cp1252"))
    (layout.root / "notes" / "clean.txt").write_text("nothing")
    found = fg.find_leftovers(layout, fg.Needles((TARGET,), (), ("Søren Ødegård",)))
    where = {(f.path, f.where) for f in found}
    assert where == {
        ("exports/networks/network_N-1.xmind", "inside it, content.json"),
        ("adnet.duckdb", "table phones, column phone: 1 row"),
        ("adnet.duckdb", "table phones, column raw_forms: 1 row"),
        ("warehouse/p.parquet", "column phone: 1 row"),
        ("warehouse/p.parquet", "column raw_forms: 1 row"),
        ("notes/call 47665303.txt", "its name"),
        ("notes/call 47665303.txt", "its bytes"),
        ("notes/latin1.csv", "its bytes"),
    }
    assert all("adnet does not manage" in f.fix for f in found if f.path.startswith("notes/"))
    assert all("run adnet forget again" in f.fix for f in found if f.path.startswith(("exports/", "warehouse/")))


# ---------------------------------------------------------------- the whole forget

def test_carry_out_rebuilds_compacts_audits_publishes_and_finds_nothing_left(folder):
    for path in (folder.directory, folder.billing):  # this test's "pipeline" rebuilds the ingest tables only
        for f in path.iterdir():
            f.unlink()
    folder.aliases.unlink()
    (folder.snapshots / SITE / "2026-06-08T0600Z" / "ads.jsonl").unlink()
    ingest_all(folder)
    with duckdb.connect(str(folder.database)) as con:
        record(con, "export", "exports: 1 file")
    shared = folder.root / "shared" / "networks"
    shared.mkdir(parents=True)
    (shared / "network_N-1.png").write_bytes(b"old picture")
    calls = []

    def pipeline():
        calls.append(1)
        ingest_all(folder)
        return None

    plan = fg.find_places(folder, fg.parse_request(["476 65 303"]))
    report = fg.carry_out(folder, plan, run_pipeline=pipeline)
    assert calls == [1] and report.clean, report.leftovers
    assert report.compacted and report.shared_removed == 1 and not any(shared.parent.rglob("*.png"))
    assert report.scope.startswith("1 phone number: 7 snapshot lines in 2 files, ")
    assert "database compacted" in report.scope
    for path in (folder.database, folder.analyst_database):
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT action, scope, actor FROM audit_log ORDER BY done_at").fetchall()
            assert [r[0] for r in rows] == ["export", "forget"]
            assert not re.search(r"\d{5}", rows[1][1])  # counts only: no number in it
            assert con.execute("SELECT count(*) FROM ad_observations").fetchone()[0] == 5
