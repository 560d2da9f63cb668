"""A corpus of bad input in one data folder, through one Dagster run: every good record loads, every bad
one is in ``quarantine`` with its place and a reason that names the fix, and nothing crashes the run.

The folder holds, mixed with good snapshots and rows whose content the test knows: truncated and
non-JSON lines, invalid UTF-8, BOMs (file and line), wrong types, a key written twice, an age no integer
column holds, a 20 MB line, a 1 MB field over the line limit and a 900 KB one within it, NUL and escaped
lone surrogates, a phone "display" of 10,000 characters; missing, empty and lying manifests (wrong size,
wrong hash), a manifest listing ``../../etc/passwd``, an empty ``ads.jsonl``, a crawl copied under a
second snapshot id (in another window), a manifest with lone surrogates and wrong types in its optional
values, a crawl saved as UTF-16; site and snapshot folders named ``..foo``, ``%2e%2e``, with spaces,
Unicode, upper case, full-width digits, a trailing newline and bytes that are not UTF-8; a site folder, a snapshot folder,
an ``ads.jsonl``, a ``manifest.json`` and a directory CSV that are links to outside the data folder;
directory and billing CSVs that are empty, header-only, missing columns, UTF-16 with and without BOM,
cp1252, tab-, ';'- and '|'-delimited, with short rows and over-long phone fields, one whose name is not
UTF-8.

Nothing outside the data folder is opened: every ``open`` of the run is recorded (the run is in-process)
and none reaches the outside folder, whose marker text appears in no table.
"""

from __future__ import annotations

import builtins
import codecs
import hashlib
import io
import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adnet_assets.definitions import build_definitions
from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import COLUMNS as BILLING_COLUMNS
from adnet_assets.lib.directory import COLUMNS as DIRECTORY_COLUMNS
from adnet_assets.lib.snapshot_lines import DEFAULT_MAX_LINE_BYTES
from adnet_tests.conftest import ad, write_snapshot

SITE = "good.example"
OTHER = "other.example"
MIXED = "2026-06-01T0614Z"
MARKER = "OUTSIDE-SECRET-7f3a"
T = "2026-06-01T06:20:00Z"
FIRST, SECOND = "2026-06-01", "2026-06-04"  # the two windows of the corpus
DIR_HEADER = ",".join(DIRECTORY_COLUMNS)
BILL_HEADER = ",".join(BILLING_COLUMNS)


def _folder(site: str, snapshot_id: str) -> str:
    return f"snapshots/{site}/{snapshot_id}"


def _ads(site: str, snapshot_id: str) -> str:
    return f"{_folder(site, snapshot_id)}/ads.jsonl"


def _manifest(folder: Path, data: bytes, **extra) -> None:
    (folder / "manifest.json").write_text(json.dumps(
        {"files": {"ads.jsonl": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}}, **extra}))


# --------------------------------------------------------------------------------- the corpus

def _mixed_crawl(root: Path) -> tuple[dict[int, str], dict[int, str]]:
    """One crawl whose lines are good and bad in turn: (good line -> ad_id, bad line -> reason part)."""
    lines: list[object] = []
    good: dict[int, str] = {}
    bad: dict[int, str] = {}

    def add(line, *, ok: str | None = None, why: str | None = None) -> None:
        lines.append(line)
        if ok is not None:
            good[len(lines)] = ok
        if why is not None:
            bad[len(lines)] = why

    add(ad("g1", T, ["+47 412 34 501"], country="NO", city="Oslo", name="Mia", title="<b>Ny</b> i byen"), ok="g1")
    add('{"ad_id": "t1", "seen_at": "2026-06-01T06:21:00Z", "phones": ["4123', why="not JSON")
    add("this is not json at all", why="not JSON")
    add(b'{"ad_id": "u1", "seen_at": "2026-06-01T06:21:00Z", "phones": ["41\xff234567"]}', why="invalid UTF-8")
    add("\ufeff" + json.dumps(ad("g2", T, ["+47 412 34 502"], city="Bergen")), ok="g2")  # a BOM mid-file (files pasted together)
    add(ad("w1", T, "41234567"), why="phones must be a list of strings")
    add({"ad_id": ["w2"], "seen_at": T, "phones": []}, why="ad_id must be a string")
    add({"ad_id": "w3", "seen_at": 1780294800, "phones": []}, why="seen_at must be an ISO 8601 time with zone")
    add("[1, 2, 3]", why="not a JSON object")
    add('{"ad_id": "k1", "ad_id": "k2", "seen_at": "2026-06-01T06:20:00Z", "phones": []}', why="write it once")
    add('{"ad_id": "g3", "seen_at": "2026-06-01T06:22:00Z", "phones": ["41234503"], "age": 18446744073709551615}',
        ok="g3")  # an age no BIGINT holds: kept as NULL with a problem, the ad loads
    add("x" * 20_000_000, why="over the limit")                                   # a 20 MB line
    add(ad("big1", T, [], text="y" * DEFAULT_MAX_LINE_BYTES), why="over the limit")  # a 1 MB field: over the limit
    add(ad("g4", T, ["41234504"], text="z" * 900_000), ok="g4")                 # a 900 KB field within it
    add(b'{"ad_id": "n1", "seen_at": "2026-06-01T06:20:00Z", "phones": []}\x00', why="not JSON")
    add('{"ad_id": "s1", "seen_at": "2026-06-01T06:20:00Z", "phones": ["\\ud800"]}', why="not JSON")
    add(ad("p1", T, ["41 23 45 67 " * 850]), why="not a displayed number")
    add(ad("i" * 300, T, []), why="not a site's ad ID")
    add(ad("g1", "2026-06-01T06:30:00Z", ["41234599"]), why="duplicate ad_id g1 in this snapshot (first at line 1)")
    add(ad("g5", "2026-06-01T06:23:00Z", ["+46 70 123 45 05"], country="se", contact={"telegram": "@g5"}), ok="g5")
    write_snapshot(root, SITE, MIXED, lines, prefix=codecs.BOM_UTF8)
    return good, bad


def _build(tmp_path: Path) -> dict:
    """Write the corpus; return what the test expects of it."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    layout = DataLayout.at(root)
    good_lines, bad_lines = _mixed_crawl(root)
    expect = {"layout": layout, "outside": outside, "observations": set(), "quarantine": {}, "status": {}}
    obs, q, status = expect["observations"], expect["quarantine"], expect["status"]
    for line_no, ad_id in good_lines.items():
        obs.add((f"{SITE}:{ad_id}", MIXED, line_no))
    for line_no, why in bad_lines.items():
        q[("line", _ads(SITE, MIXED), line_no)] = why
    status[(SITE, MIXED)] = "loaded"

    # Outside the data folder: a crawl, a CSV and a secret, each carrying the marker.
    out_snap = write_snapshot(outside, "evil.example", "2026-06-01T0500Z", [ad(MARKER, T, ["41239999"], name=MARKER)])
    out_bytes = (out_snap / "ads.jsonl").read_bytes()
    (outside / "secret.txt").write_text(MARKER)
    (outside / "directory.csv").write_text(f"phone,name\n41239999,{MARKER}\n")

    def snap(snapshot_id: str, lines: list, site: str = SITE, **kw) -> Path:
        return write_snapshot(root, site, snapshot_id, lines, **kw)

    def quarantined_snapshot(snapshot_id: str, why: str, site: str = SITE) -> None:
        q[("snapshot", _folder(site, snapshot_id), None)] = why
        status[(site, snapshot_id)] = "quarantined"

    # An empty ads.jsonl with a correct manifest: a crawl that found nothing loads as such.
    empty = root / _folder(SITE, "2026-06-01T1000Z")
    empty.mkdir(parents=True)
    (empty / "ads.jsonl").write_bytes(b"")
    _manifest(empty, b"")
    status[(SITE, "2026-06-01T1000Z")] = "loaded"
    # Empty, lying and escaping manifests: the snapshot is set aside whole.
    (snap("2026-06-01T1100Z", [ad("e1", T, [])]) / "manifest.json").write_bytes(b"")
    quarantined_snapshot("2026-06-01T1100Z", "manifest is not valid JSON")
    snap("2026-06-01T1200Z", [ad("e2", T, [])], manifest_bytes_delta=7)
    quarantined_snapshot("2026-06-01T1200Z", "the copy is incomplete or was changed")
    snap("2026-06-01T1300Z", [ad("e3", T, [])], manifest_sha="ab" * 32)
    quarantined_snapshot("2026-06-01T1300Z", "the file was changed after the crawl")
    folder = snap("2026-06-01T1400Z", [ad("e4", T, [])])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
    manifest["files"]["../../../../outside/secret.txt"] = {"sha256": "0" * 64, "bytes": len(MARKER)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    quarantined_snapshot("2026-06-01T1400Z", "must be a plain file name inside the snapshot folder")
    folder = snap("2026-06-01T1500Z", [ad("e5", T, [])])   # ads.jsonl is a link out (its manifest matches it)
    (folder / "ads.jsonl").unlink()
    (folder / "ads.jsonl").symlink_to(out_snap / "ads.jsonl")
    _manifest(folder, out_bytes)
    quarantined_snapshot("2026-06-01T1500Z", "link to outside the data folder: copy the file in instead")
    folder = snap("2026-06-01T1600Z", [ad("e6", T, [])])   # manifest.json is a link out
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to(out_snap / "manifest.json")
    q[("folder", _folder(SITE, "2026-06-01T1600Z") + "/manifest.json", None)] = "copy the file in instead"
    snap("2026-06-01T1700Z", [ad("e7", T, [])], manifest=False)   # still being written
    status[(SITE, "2026-06-01T1700Z")] = "incomplete"
    # A manifest whose optional values are of the wrong type or hold lone surrogates: the crawl still loads.
    folder = snap("2026-06-01T1800Z", [ad("m1", T, ["41234510"])])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(started_at="\ud800", finished_at={"x": [1]}, ads="many")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    obs.add((f"{SITE}:m1", "2026-06-01T1800Z", 1))
    status[(SITE, "2026-06-01T1800Z")] = "loaded"
    # A crawl a Windows tool saved as UTF-16 (with its byte-order mark): read as such.
    wide = root / _folder(SITE, "2026-06-01T1900Z")
    wide.mkdir(parents=True)
    data = ("\ufeff" + json.dumps(ad("w16", T, ["41234511"], city="Tromsø")) + "\r\n").encode("utf-16-le")
    (wide / "ads.jsonl").write_bytes(data)
    _manifest(wide, data)
    obs.add((f"{SITE}:w16", "2026-06-01T1900Z", 1))
    status[(SITE, "2026-06-01T1900Z")] = "loaded"

    # The same crawl under two snapshot ids (two windows): the later copy is set aside, naming the first.
    copy_lines = [ad("c1", "2026-06-01T07:00:00Z", ["41234511"], city="Oslo"), ad("c2", "2026-06-01T07:01:00Z", [])]
    snap("2026-06-01T0700Z", copy_lines, site=OTHER)
    snap("2026-06-04T0700Z", copy_lines, site=OTHER)
    for i, ad_id in enumerate(("c1", "c2"), 1):
        obs.add((f"{OTHER}:{ad_id}", "2026-06-01T0700Z", i))
    status[(OTHER, "2026-06-01T0700Z")] = "loaded"
    quarantined_snapshot("2026-06-04T0700Z", f"as {_ads(OTHER, '2026-06-01T0700Z')}: a second copy of that crawl",
                         site=OTHER)
    # An earlier folder whose manifest declares the same bytes but whose file was changed is no original:
    # it is set aside for its own fault, and the later crawl loads.
    third, first_lines = "third.example", [ad("t1", "2026-06-01T08:00:00Z", ["41234514"])]
    changed = snap("2026-06-01T0800Z", first_lines, site=third)
    (changed / "ads.jsonl").write_bytes((changed / "ads.jsonl").read_bytes() + b"\n")
    quarantined_snapshot("2026-06-01T0800Z", "the copy is incomplete or was changed", site=third)
    snap("2026-06-01T0900Z", first_lines, site=third)
    obs.add((f"{third}:t1", "2026-06-01T0900Z", 1))
    status[(third, "2026-06-01T0900Z")] = "loaded"
    # A good crawl in the second window.
    snap("2026-06-04T0614Z", [ad("g1", "2026-06-04T06:20:00Z", ["+47 412 34 501"], city="Trondheim")])
    obs.add((f"{SITE}:g1", "2026-06-04T0614Z", 1))
    status[(SITE, "2026-06-04T0614Z")] = "loaded"

    # Folders that are not snapshots: reported, never read.
    for name in ("..foo", "%2e%2e", "with space", "Ünïcode.example", "UPPER.EXAMPLE"):
        snap(MIXED, [ad(MARKER, T, [])], site=name)
        q[("folder", f"snapshots/{name}", None)] = "rename it"
    for name in ("..foo", "%2e%2e", "with space", "２026-06-01T0614Z", "2026-06-01T0615Z\n"):
        snap(name, [ad(MARKER, T, [])])
        shown = name.replace("\n", "\\x0a")  # control characters in a name are written out, never printed raw
        q[("folder", f"snapshots/{SITE}/{shown}", None)] = "name it YYYY-MM-DDTHHMMZ" if name != "..foo" else "rename it"
    os.makedirs(os.fsencode(layout.snapshots) + b"/bad\xffsite/" + MIXED.encode())  # a name that is not UTF-8
    q[("folder", "snapshots/bad\\xffsite", None)] = "rename it"
    snap(MIXED, [ad(MARKER, T, [])], site="esc\x1b]0;pwned\x07.example")  # a name that would drive a terminal
    q[("folder", "snapshots/esc\\x1b]0;pwned\\x07.example", None)] = "rename it"
    (layout.snapshots / "linked.example").symlink_to(out_snap.parent, target_is_directory=True)
    q[("folder", "snapshots/linked.example", None)] = "copy the snapshots in instead"
    (layout.snapshots / SITE / "2026-06-02T0600Z").symlink_to(out_snap, target_is_directory=True)
    q[("folder", _folder(SITE, "2026-06-02T0600Z"), None)] = "copy it in instead"

    # Directory extracts.
    layout.directory.mkdir()
    d = layout.directory
    (d / "a_good.csv").write_text(f"{DIR_HEADER}\n41234501,Kari Nordmann,Storgata 1,0150,Oslo,2026-01-05\n"
                                  "41234502,Ola Nordmann,Storgata 2,0150,Oslo,\n"
                                  f"41234512,{'N' * 1_000_000},Gate 12,0150,Oslo,\n"          # a 1 MB name loads
                                  f"41234513,{'N' * 1_000_000},{'A' * 1_100_000},0150,Oslo,\n")  # a 2 MB row
    (d / "b_zero.csv").write_bytes(b"")
    (d / "c_header_only.csv").write_text(DIR_HEADER + "\n")
    (d / "d_utf16.csv").write_bytes(("\ufeff" + DIR_HEADER.replace(",", "\t")
                                     + "\n41234503\tÅse Ødegård\tGate 3\t0151\tTromsø\t\n").encode("utf-16-le"))
    (d / "e_pipe.csv").write_text(DIR_HEADER.replace(",", "|") + "\n41234504|Per Hansen|Gate 4|0152|Oslo|\n"
                                  "41234505|short row\n")
    (d / "f_cp1252.csv").write_bytes((DIR_HEADER.replace(",", ";") + "\n41234506;Søren Ærø;Gate 6;0153;Bodø;\n")
                                     .encode("cp1252"))
    (d / "g_missing_phone.csv").write_text("name,address\nKari,Gate 1\n")
    (d / "h_link.csv").symlink_to(outside / "directory.csv")
    (d / "i_big_phone.csv").write_text(DIR_HEADER + "\n" + "41 23 45 67 " * 500 + ",Lang Nummer,,,,\n"
                                       "41234507,Normal Rad,,,,\n")
    (d / "j_utf16_nobom.csv").write_bytes((DIR_HEADER + "\n41234508,Uten Bom,Gate 8,,,\n").encode("utf-16-le"))
    with open(os.fsencode(d) + b"/k_\xff.csv", "w", encoding="utf-8") as handle:  # a file name that is not UTF-8
        handle.write(f"{DIR_HEADER}\n41234509,Navn Rart,Gate 9,,,\n")
    expect["listings"] = {("directory/a_good.csv", 2, "+4741234501"), ("directory/a_good.csv", 3, "+4741234502"),
                          ("directory/a_good.csv", 4, "+4741234512"),
                          ("directory/d_utf16.csv", 2, "+4741234503"), ("directory/e_pipe.csv", 2, "+4741234504"),
                          ("directory/f_cp1252.csv", 2, "+4741234506"), ("directory/i_big_phone.csv", 3, "+4741234507"),
                          ("directory/j_utf16_nobom.csv", 2, "+4741234508"), ("directory/k_\\xff.csv", 2, "+4741234509")}
    q[("directory", "directory/a_good.csv", 5)] = "row is longer than 2,000,000 bytes"
    q[("directory", "directory/b_zero.csv", None)] = "empty file: no header line (expected phone,name"
    q[("directory", "directory/e_pipe.csv", 3)] = "row has 2 fields, the header has 6"
    q[("directory", "directory/g_missing_phone.csv", 1)] = "no 'phone' column in the header"
    q[("directory", "directory/h_link.csv", None)] = "copy the file in instead"
    q[("directory", "directory/i_big_phone.csv", 2)] = "write the number alone in the phone column"

    # Billing records.
    layout.billing.mkdir()
    b = layout.billing
    (b / "a_good.csv").write_text(f"{BILL_HEADER}\n41234501,2026-06-01T10:00:00+02:00,out,sms,41234502,,Telenor,NO\n"
                                  "41234501,2026-06-01T11:00:00Z,in,call,41234503,60,Telia,SE\n")
    (b / "b_missing_columns.csv").write_text("subscriber,timestamp\n41234501,2026-06-01T10:00:00Z\n")
    (b / "c_tab.csv").write_text(BILL_HEADER.replace(",", "\t")
                                 + "\n41234501\t2026-06-02T09:00:00Z\tout\tsms\t41234504\t\tTelenor\tNO\n")
    (b / "d_zero.csv").write_bytes(b"")
    (b / "e_rows.csv").write_text(f"{BILL_HEADER}\n41234501,2026-06-02 10:00,out,sms,41234505,,Telenor,NO\n"
                                  + "4" * 5000 + ",2026-06-02T10:00:00Z,out,sms,41234505,,Telenor,NO\n"
                                  "41234501,2026-06-02T12:00:00Z,out,call,41234506,30,Telenor,NO\n")
    expect["events"] = {("billing/a_good.csv", 2), ("billing/a_good.csv", 3), ("billing/c_tab.csv", 2),
                        ("billing/e_rows.csv", 4)}
    q[("billing", "billing/b_missing_columns.csv", 1)] = "expected subscriber,timestamp,direction"
    q[("billing", "billing/d_zero.csv", None)] = "empty file: no header line"
    q[("billing", "billing/e_rows.csv", 2)] = "has no time zone: write it with its offset"
    q[("billing", "billing/e_rows.csv", 3)] = "write the recovered phone's number alone"
    return expect


# --------------------------------------------------------------------------------- the run

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus after one Dagster run over both windows (exports and the analysts' copy left out), with
    every file the run opened."""
    tmp_path = tmp_path_factory.mktemp("corpus")
    expect = _build(tmp_path)
    layout = expect["layout"]
    opened: list[str] = []
    real_open, real_io_open = builtins.open, io.open

    def recording_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            opened.append(str(Path(file).resolve()))
        return real_open(file, *args, **kwargs)

    defs = build_definitions(str(layout.root))
    assets = [a for a in defs.assets if not set(a.group_names_by_key.values()) & {"exports", "analysts"}]
    mp = pytest.MonkeyPatch()
    mp.setattr(builtins, "open", recording_open)
    mp.setattr(io, "open", recording_open)
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(assets, instance=instance, resources=defs.resources, raise_on_error=False,
                                    tags={"dagster/asset_partition_range_start": FIRST,
                                          "dagster/asset_partition_range_end": SECOND})
    finally:
        mp.undo()
        assert builtins.open is real_open and io.open is real_io_open
    expect["result"] = result
    expect["opened"] = opened
    return expect


def _db(layout: DataLayout) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(layout.database), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def test_nothing_crashes_the_run(corpus):
    result = corpus["result"]
    failures = [e.message for e in result.all_events if e.is_step_failure or e.event_type_value == "RUN_FAILURE"]
    assert result.success, failures
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}


def test_every_good_record_loads(corpus):
    con = _db(corpus["layout"])
    try:
        obs = set(con.execute("SELECT ad_key, snapshot_id, line_no FROM ad_observations").fetchall())
        assert obs == corpus["observations"]
        g1, g3, g4, g5 = (con.execute(
            "SELECT city, name, title, age, problems, strlen(text), country, contact::VARCHAR FROM ad_observations "
            "WHERE ad_key = ? AND snapshot_id = ?", [f"{SITE}:{i}", MIXED]).fetchone() for i in ("g1", "g3", "g4", "g5"))
        assert g1[:3] == ("Oslo", "Mia", "<b>Ny</b> i byen")   # markup kept as text
        assert g3[3] is None and g3[4] == "age is out of range"
        assert g4[5] == 900_000
        assert g5[6] == "SE" and json.loads(g5[7]) == {"telegram": "@g5"}
        listings = set(con.execute("SELECT source_file, line_no, phone FROM directory_listings").fetchall())
        assert listings == corpus["listings"]
        names = dict(con.execute("SELECT phone, name FROM directory_listings").fetchall())
        assert names["+4741234503"] == "Åse Ødegård" and names["+4741234506"] == "Søren Ærø"
        assert names["+4741234512"] == "N" * 1_000_000
        events = set(con.execute("SELECT source_file, line_no FROM billing_events").fetchall())
        assert events == corpus["events"]
        phones = {r[0] for r in con.execute("SELECT phone FROM phones").fetchall()}
        assert {"+4741234501", "+4741234502", "+4741234503", "+4741234504", "+46701234505", "+4741234511"} <= phones
    finally:
        con.close()


def test_every_bad_record_is_quarantined_with_its_place_and_a_reason_that_names_the_fix(corpus):
    con = _db(corpus["layout"])
    try:
        rows = con.execute("SELECT level, source_file, line_no, reason FROM quarantine").fetchall()
        statuses = {(r[0], r[1]): r[2] for r in con.execute("SELECT site, snapshot_id, status FROM snapshots").fetchall()}
    finally:
        con.close()
    got = {(level, src, line): reason for level, src, line, reason in rows}
    assert len(got) == len(rows), "one place quarantined twice"
    expected = corpus["quarantine"]
    assert set(got) == set(expected), {"missing": set(expected) - set(got), "unexpected": set(got) - set(expected)}
    wrong = {place: (got[place], part) for place, part in expected.items() if part not in got[place]}
    assert not wrong, wrong
    assert statuses == corpus["status"]


def test_nothing_outside_the_data_folder_is_read(corpus):
    outside = str(corpus["outside"].resolve())
    assert corpus["opened"], "the recorder saw no file: it is not wired to the reads"
    assert not [p for p in corpus["opened"] if p.startswith(outside)]
    layout = corpus["layout"]
    con = _db(layout)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        leaks = {t: n for t in tables if (n := con.execute(
            f'SELECT count(*) FROM "{t}" AS x WHERE CAST(x AS VARCHAR) LIKE ?', [f"%{MARKER}%"]).fetchone()[0])}
        for parquet in sorted(layout.warehouse.rglob("*.parquet")):
            n = con.execute("SELECT count(*) FROM read_parquet(?) AS x WHERE CAST(x AS VARCHAR) LIKE ?",
                            [str(parquet), f"%{MARKER}%"]).fetchone()[0]
            if n:
                leaks[str(parquet)] = n
    finally:
        con.close()
    assert leaks == {}
