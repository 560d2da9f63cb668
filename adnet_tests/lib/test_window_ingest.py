"""Snapshots verified against manifests; bad lines set aside with place and reason; the rest loads."""

import duckdb
import pytest

from adnet_assets.lib.snapshot_lines import invalid_utf8_lines
from adnet_assets.lib.snapshots import discover
from adnet_assets.lib.window_ingest import ingest_window
from adnet_tests.conftest import ad, write_snapshot

SITE = "eskorte-annonser.example"
SNAP = "2026-06-01T0614Z"
T = "2026-06-01T06:20:00Z"


def _rows(layout, kind, window="2026-06-01", order="line_no"):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con.execute(f"SELECT * FROM read_parquet('{layout.window_file(kind, window)}') ORDER BY {order}").df()


def _ingest(layout, window="2026-06-01", max_line_bytes=100_000):
    refs = discover(layout).in_windows({window})
    return ingest_window(layout, window, refs, max_line_bytes=max_line_bytes)


def test_bad_lines_are_quarantined_with_file_line_and_reason_while_the_rest_loads(layout):
    write_snapshot(layout.root, SITE, SNAP, [
        ad("100", T, ["+47 412 34 567"], country="NO", city="Oslo", name="Mia", age=24, extra={"kept": True}),
        '{"ad_id": "101", "seen_at": "2026-06-01T06:21:00Z", "phones": ["4123',          # truncated
        b'{"ad_id": "102", "seen_at": "2026-06-01T06:21:00Z", "phones": ["41\xff234567"]}',  # invalid UTF-8
        ad("103", T, []) | {"ad_id": None},                                              # no ad_id
        {"seen_at": T, "phones": []},                                                    # no ad_id at all
        ad("104", T, "41234567"),                                                        # phones not a list
        ad("105", T, [41234567]),                                                        # phones of numbers
        ad("106", "2026-06-01 06:20", []),                                               # no zone
        ad("107", T, [], age="twenty", country="Norway", images="x.jpg"),                # optional fields wrong
        ad("100", T, ["+47 412 34 999"]),                                                # duplicate in one crawl
        "[1, 2, 3]",                                                                     # not an object
        ad("108", "2026-06-01T08:20:00+02:00", ["+46 70 123 45 67"], country="se"),
    ])
    report = _ingest(layout)
    obs = _rows(layout, "observations")
    assert obs["ad_id"].tolist() == ["100", "107", "108"]
    first = obs.iloc[0]
    assert first["ad_key"] == f"{SITE}:100" and first["city"] == "Oslo" and first["age"] == 24
    assert list(first["phones_raw"]) == ["+47 412 34 567"]
    assert '"kept": true' in first["raw_line"]  # unknown fields are kept in the raw line
    assert first["source_file"] == f"snapshots/{SITE}/{SNAP}/ads.jsonl" and first["line_no"] == 1
    wrong = obs.iloc[1]
    assert wrong["age"] is None or str(wrong["age"]) == "<NA>"
    assert wrong["problems"] == "country is not an ISO 3166 alpha-2 code; age is not an integer; images is not a list"
    last = obs.iloc[2]
    assert last["country"] == "SE" and str(last["seen_at"]) == "2026-06-01 06:20:00+00:00"

    q = _rows(layout, "quarantine")
    assert list(zip(q["line_no"], q["reason"])) == [
        (2, "not JSON: the line is truncated or malformed"),
        (3, "invalid UTF-8: the line holds bytes that are not text"),
        (4, "missing ad_id"),
        (5, "missing ad_id"),
        (6, "phones must be a list of strings"),
        (7, "phones must be a list of strings"),
        (8, "seen_at must be an ISO 8601 time with zone, e.g. 2026-06-01T06:15:02Z"),
        (10, "duplicate ad_id 100 in this snapshot (first at line 1)"),
        (11, "not a JSON object"),
    ]
    assert set(q["level"]) == {"line"} and set(q["source_file"]) == {f"snapshots/{SITE}/{SNAP}/ads.jsonl"}
    assert q.iloc[0]["raw_line"].startswith('{"ad_id": "101"')
    snaps = _rows(layout, "snapshots", order="snapshot_id")
    assert snaps[["status", "n_lines", "n_loaded", "n_quarantined"]].values.tolist() == [["loaded", 12, 3, 9]]
    assert report.n_observations == 3 and report.n_quarantined_lines == 9


@pytest.mark.parametrize("damage, message", [
    ({"manifest_bytes_delta": 1}, "bytes but the manifest says"),
    ({"manifest_sha": "0" * 64}, "does not match the manifest"),
])
def test_a_snapshot_that_does_not_match_its_manifest_is_quarantined_whole(layout, damage, message):
    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, ["41234567"])], **damage)
    write_snapshot(layout.root, SITE, "2026-06-02T0614Z", [ad("2", T, ["41234568"])])
    report = _ingest(layout)
    assert list(_rows(layout, "observations")["ad_id"]) == ["2"]  # the good crawl still loads
    q = _rows(layout, "quarantine", order="snapshot_id")
    assert q[["level", "snapshot_id"]].values.tolist() == [["snapshot", SNAP]]
    assert message in q.iloc[0]["reason"] and f"snapshots/{SITE}/{SNAP}/ads.jsonl" in q.iloc[0]["reason"]
    status = dict(zip(*_rows(layout, "snapshots", order="snapshot_id")[["snapshot_id", "status"]].values.T))
    assert status == {SNAP: "quarantined", "2026-06-02T0614Z": "loaded"}
    assert list(report.snapshots_quarantined) == [f"{SITE}/{SNAP}"]


def test_manifest_for_another_folder_or_missing_file_list_is_rejected(layout):
    folder = write_snapshot(layout.root, SITE, SNAP, [ad("1", T, [])])
    (folder / "manifest.json").write_text('{"site": "other.example", "files": {}}')
    _ingest(layout)
    reason = _rows(layout, "quarantine", order="snapshot_id").iloc[0]["reason"]
    assert "manifest says site 'other.example'" in reason
    (folder / "manifest.json").write_text('{"files": {}}')
    _ingest(layout)
    assert "does not list ads.jsonl" in _rows(layout, "quarantine", order="snapshot_id").iloc[0]["reason"]
    (folder / "manifest.json").write_text('{"files": ')
    _ingest(layout)
    assert "manifest is not valid JSON" in _rows(layout, "quarantine", order="snapshot_id").iloc[0]["reason"]


def test_half_written_snapshot_is_recorded_but_not_loaded(layout):
    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, [])], manifest=False)
    report = _ingest(layout)
    assert report.snapshots_incomplete == [f"{SITE}/{SNAP}"]
    assert _rows(layout, "observations").empty
    assert _rows(layout, "snapshots", order="snapshot_id")["status"].tolist() == ["incomplete"]


def test_bom_crlf_and_blank_lines_are_read_as_text(layout):
    data_lines = [ad("1", T, ["41 23 45 67"], city="Tromsø", text="Hei 😊 <b>ny</b>"), "", "   ", ad("2", T, [])]
    folder = write_snapshot(layout.root, SITE, SNAP, data_lines, prefix=b"\xef\xbb\xbf")
    # rewrite with CRLF line ends and a matching manifest
    raw = (folder / "ads.jsonl").read_bytes().replace(b"\n", b"\r\n")
    (folder / "ads.jsonl").write_bytes(raw)
    import hashlib, json
    m = json.loads((folder / "manifest.json").read_text())
    m["files"]["ads.jsonl"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    (folder / "manifest.json").write_text(json.dumps(m))
    _ingest(layout)
    obs = _rows(layout, "observations")
    assert obs["ad_id"].tolist() == ["1", "2"] and obs["line_no"].tolist() == [1, 4]
    assert obs.iloc[0]["city"] == "Tromsø" and obs.iloc[0]["text"] == "Hei 😊 <b>ny</b>"
    assert not obs.iloc[0]["raw_line"].endswith("\r")
    assert _rows(layout, "quarantine").empty


def test_overlong_lines_are_set_aside(layout):
    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, [], text="x" * 5000), ad("2", T, [])])
    _ingest(layout, max_line_bytes=1000)
    assert _rows(layout, "observations")["ad_id"].tolist() == ["2"]
    reason = _rows(layout, "quarantine").iloc[0]["reason"]
    assert reason.startswith("line of ") and "over the limit of 1000 bytes" in reason


def test_reingesting_a_window_replaces_exactly_its_rows(layout):
    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, ["41234567"]), ad("2", T, [])])
    write_snapshot(layout.root, SITE, "2026-06-04T0614Z", [ad("1", "2026-06-04T06:20:00Z", ["41234567"])])
    _ingest(layout)
    _ingest(layout, "2026-06-04")
    before = _rows(layout, "observations")
    _ingest(layout)  # same input, second time
    assert _rows(layout, "observations").equals(before)
    # the crawl of the first window is replaced by a smaller one: only that window changes
    write_snapshot(layout.root, SITE, SNAP, [ad("3", T, [])])
    _ingest(layout)
    assert _rows(layout, "observations")["ad_id"].tolist() == ["3"]
    assert _rows(layout, "observations", "2026-06-04")["ad_id"].tolist() == ["1"]


def test_a_window_whose_snapshots_are_gone_is_emptied(layout):
    folder = write_snapshot(layout.root, SITE, SNAP, [ad("1", T, [])])
    _ingest(layout)
    assert layout.window_file("observations", "2026-06-01").exists()
    import shutil
    shutil.rmtree(folder)
    _ingest(layout)
    assert not layout.window_file("observations", "2026-06-01").exists()


def test_invalid_utf8_lines_are_found_by_number():
    data = b'{"a": 1}\n{"b": "\xff"}\nok\n\xc3\x28 bad\n\xe2\x82\xac fine\n'
    assert invalid_utf8_lines(data) == [2, 4]


def test_folders_that_are_not_snapshots_are_reported(layout, tmp_path):
    write_snapshot(layout.root, SITE, "yesterday", [ad("1", T, [])])
    write_snapshot(layout.root, "Bad_Site", SNAP, [ad("1", T, [])])
    outside = tmp_path / "outside"
    outside.mkdir()
    (layout.snapshots / "linked.example").symlink_to(outside, target_is_directory=True)
    problems = {p.path: p.reason for p in discover(layout).problems}
    assert "YYYY-MM-DDTHHMMZ" in problems[f"snapshots/{SITE}/yesterday"]
    assert "not a host name" in problems["snapshots/Bad_Site"]
    assert "outside the data folder" in problems["snapshots/linked.example"]


def test_crawls_dated_outside_the_windows_are_reported_not_loaded(layout):
    write_snapshot(layout.root, SITE, "2099-01-01T0600Z", [ad("1", T, [])])
    write_snapshot(layout.root, SITE, "2009-12-31T0600Z", [ad("1", T, [])])
    found = discover(layout)
    assert found.snapshots == []
    assert all("outside the windows" in p.reason for p in found.problems) and len(found.problems) == 2


def test_blank_lines_are_those_trim_empties_and_an_object_may_start_after_spaces(layout):
    # Unicode space separators (what DuckDB's trim takes away) make a blank line, skipped; a tab does not
    # (it is not JSON); spaces before "{" still make an object; every BOM at the start of a line is cut
    lines = ["\u00a0\u3000 \u2007", "\t", "   " + '{"ad_id": "1", "seen_at": "' + T + '", "phones": []}',
             "\ufeff\ufeff" + '{"ad_id": "2", "seen_at": "' + T + '", "phones": []}', " [1]"]
    write_snapshot(layout.root, SITE, SNAP, lines)
    _ingest(layout)
    obs = _rows(layout, "observations")
    assert obs["ad_id"].tolist() == ["1", "2"] and obs["line_no"].tolist() == [3, 4]
    assert obs.iloc[1]["raw_line"].startswith("{")
    assert list(zip(_rows(layout, "quarantine")["line_no"], _rows(layout, "quarantine")["reason"])) == [
        (2, "not JSON: the line is truncated or malformed"), (5, "not a JSON object")]


def test_windows_sharing_one_connection_write_what_each_writes_alone(layout, tmp_path):
    from adnet_assets.lib.store import memory_connection

    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, ["41234567"]), "not json", ad("1", T, [])])
    write_snapshot(layout.root, SITE, "2026-06-04T0614Z", [ad("2", "2026-06-04T06:20:00Z", ["41234567"], age=30)])
    alone = {w: _ingest(layout, w) for w in ("2026-06-01", "2026-06-04")}
    order = {"observations": "line_no", "quarantine": "line_no", "snapshots": "snapshot_id"}
    files = {(k, w): _rows(layout, k, w, order[k]) for k in order for w in alone}
    with memory_connection(tmp_path, memory_limit="512MiB") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("512.0 MiB",)]
        shared = {w: ingest_window(layout, w, discover(layout).in_windows({w}), max_line_bytes=100_000, con=con)
                  for w in ("2026-06-01", "2026-06-04")}
        con.execute("SELECT 1").fetchall()  # still open: the caller's to close
    for w in alone:
        assert (shared[w].n_observations, shared[w].n_quarantined_lines) == (alone[w].n_observations, alone[w].n_quarantined_lines)
    assert (shared["2026-06-01"].n_observations, shared["2026-06-01"].n_quarantined_lines) == (1, 2)
    for (kind, w), before in files.items():
        after = _rows(layout, kind, w, order[kind])
        assert after.drop(columns=["ingested_at"], errors="ignore").equals(before.drop(columns=["ingested_at"], errors="ignore")), (kind, w)


def test_connections_get_a_bounded_memory_limit_by_default(tmp_path):
    from adnet_assets.lib.store import MEMORY_LIMIT_CAP_BYTES, default_memory_limit, memory_connection

    limit = default_memory_limit()
    assert limit.endswith("MiB") and 0 < int(limit[:-3]) <= MEMORY_LIMIT_CAP_BYTES // 1024 ** 2
    with memory_connection(tmp_path) as con:
        setting = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert setting == duckdb.connect().execute(f"SET memory_limit = '{limit}'; SELECT current_setting('memory_limit')").fetchall()[0][0]


def test_windows_read_in_one_batch_write_what_each_window_writes_alone(layout):
    from adnet_assets.lib.window_ingest import ingest_windows

    write_snapshot(layout.root, SITE, SNAP, [ad("1", T, ["41234567"]), "not json", ad("1", T, [])])
    write_snapshot(layout.root, "nordic-escorts.example", "2026-06-01T0700Z", [ad("9", T, ["+46 70 123 45 67"])])
    write_snapshot(layout.root, SITE, "2026-06-04T0614Z", [ad("2", "2026-06-04T06:20:00Z", ["41234567"], age="x")])
    write_snapshot(layout.root, SITE, "2026-06-11T0614Z", [ad("3", "2026-06-11T06:20:00Z", ["41234568"]), "[1]"])
    windows = ("2026-06-01", "2026-06-04", "2026-06-08", "2026-06-11")  # 06-08 has no crawl
    order = {"observations": "site, line_no", "quarantine": "line_no", "snapshots": "snapshot_id"}

    def run(batch_bytes):
        reports = list(ingest_windows(layout, {w: discover(layout).in_windows({w}) for w in windows},
                                      max_line_bytes=100_000, batch_bytes=batch_bytes))
        files = {(k, w): _rows(layout, k, w, order[k]).drop(columns=["ingested_at"], errors="ignore")
                 for k in order for w in windows if w != "2026-06-08"}
        return reports, files

    one_by_one, by_window = run(batch_bytes=1)          # every window its own batch
    together, in_one_batch = run(batch_bytes=10 ** 9)  # every window in one batch
    assert [r.window for r in together] == list(windows)  # one report per window, in order
    assert [(r.n_observations, r.n_quarantined_lines, r.snapshots_loaded, dict(r.reasons)) for r in together] == \
           [(r.n_observations, r.n_quarantined_lines, r.snapshots_loaded, dict(r.reasons)) for r in one_by_one]
    assert [(r.n_observations, r.n_quarantined_lines) for r in together] == [(2, 2), (1, 0), (0, 0), (1, 1)]
    for key, alone in by_window.items():
        assert in_one_batch[key].equals(alone), key
    assert set(in_one_batch[("observations", "2026-06-04")]["ad_id"]) == {"2"}  # each window only its own rows
    assert not layout.window_file("observations", "2026-06-08").exists()
