"""billing: billing/*.csv into billing_events, bad rows set aside with line and reason, phones in E.164."""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import COLUMNS, load_billing
from adnet_assets.lib.store import transaction

HEADER = ",".join(COLUMNS)


@pytest.fixture
def layout(tmp_path) -> DataLayout:
    return DataLayout.at(tmp_path)


def _write(layout: DataLayout, name: str, data: bytes | str) -> None:
    layout.billing.mkdir(parents=True, exist_ok=True)
    (layout.billing / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _events(con) -> list[dict]:
    cur = con.execute("SELECT * FROM billing_events ORDER BY source_file, line_no")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _quarantined(report) -> dict[int | None, str]:
    return {q[1]: q[2] for q in report.quarantine}


def test_good_rows_load_typed_with_numbers_in_e164(layout):
    _write(layout, "4741234567.csv", "\n".join([
        HEADER,
        "+47 412 34 567,2026-06-16T21:05:09+02:00,in,sms,+7 971 253 68 84,0,Telenor,NO",
        "41234567,2026-06-16T23:59:00+02:00,OUT,Call,98765432,125,Telenor,no",
        "0047-41234567,2026-06-17T00:10:00Z,out,data,,300,Telenor,NO",
        "41234567,2026-07-10 10:00+0300,in,sms,+37060180307,,Bitė,LT",
        "41234567,2026-07-10T11:00:00.250+03,in,sms,1881,0,Bitė,LT",
    ]) + "\n")
    con = _con()
    report = load_billing(con, layout)
    assert report.files == ["billing/4741234567.csv"] and report.rows_quarantined == 0
    assert report.rows_loaded == 5 and report.subscribers == 1
    ev = _events(con)
    assert {e["subscriber"] for e in ev} == {"+4741234567"}
    assert {e["subscriber_region"] for e in ev} == {"NO"}
    first = ev[0]
    assert first["event_at"] == datetime(2026, 6, 16, 19, 5, 9, tzinfo=timezone.utc)
    assert (first["local_date"], first["local_minute"], first["utc_offset_min"]) == (date(2026, 6, 16), 21 * 60 + 5, 120)
    assert (first["direction"], first["kind"], first["counterpart"], first["counterpart_region"]) == (
        "in", "sms", "+79712536884", "RU")
    assert first["counterpart_raw"] == "+7 971 253 68 84" and first["roaming"] is False
    second = ev[1]  # national number read in the subscriber's country; case folded
    assert (second["direction"], second["kind"], second["counterpart"], second["duration_s"], second["country"]) == (
        "out", "call", "+4798765432", 125, "NO")
    data = ev[2]
    assert (data["kind"], data["counterpart"], data["counterpart_raw"], data["utc_offset_min"], data["local_minute"]) == (
        "data", None, None, 0, 10)
    abroad = ev[3]  # +0300: the local time of day as written, the instant in UTC
    assert abroad["event_at"] == datetime(2026, 7, 10, 7, 0, tzinfo=timezone.utc)
    assert (abroad["local_minute"], abroad["utc_offset_min"], abroad["duration_s"]) == (600, 180, None)
    assert (abroad["country"], abroad["roaming"], abroad["network"]) == ("LT", True, "Bitė")
    short_code = ev[4]  # not a phone number: kept as written, not a counterpart
    assert (short_code["counterpart"], short_code["counterpart_raw"]) == (None, "1881")
    assert report.counterparts_not_phones == 1
    assert [e["line_no"] for e in ev] == [2, 3, 4, 5, 6]


def test_bad_rows_are_quarantined_with_line_and_a_reason_that_names_the_fix(layout):
    lines = [
        HEADER,                                                                    # 1
        "41234567,2026-06-16T21:05:00+02:00,in,sms,98765432,0,Telenor,NO",         # 2 good
        "41234567,yesterday evening,in,sms,98765432,0,Telenor,NO",                 # 3 not a time
        "41234567,2026-06-16T21:05:00,in,sms,98765432,0,Telenor,NO",               # 4 no zone
        "41234567,2026-02-30T21:05:00+01:00,in,sms,98765432,0,Telenor,NO",         # 5 no such day
        "41234567,2026-06-16T21:06:00+02:00,inbound,sms,98765432,0,Telenor,NO",    # 6 direction
        "41234567,2026-06-16T21:07:00+02:00,in,mms,98765432,0,Telenor,NO",         # 7 kind
        "41234567,2026-06-16T21:08:00+02:00,out,call,98765432,-5,Telenor,NO",      # 8 negative duration
        "41234567,2026-06-16T21:09:00+02:00,out,call,98765432,12.5,Telenor,NO",    # 9 not whole seconds
        "41234567,2026-06-16T21:10:00+02:00,out,call,98765432,60,Telenor,Norway",  # 10 country
        "41234567,2026-06-16T21:11:00+02:00,out,call,,60,Telenor,NO",              # 11 call without counterpart
        '41234567,2026-06-16T21:12:00+02:00,out,sms,"98765432 / 41234568",0,Telenor,NO',  # 12 two numbers
        "hemmelig,2026-06-16T21:13:00+02:00,out,sms,98765432,0,Telenor,NO",        # 13 subscriber not a number
        "41234567,2026-06-16T21:14:00+02:00,out,sms,98765432,0,Telenor",           # 14 field count
        ",,,,,,,",                                                                 # 15 blank: counted only
        "41234567,2026-06-16T25:00:00+02:00,sideways,fax,98765432,-1,Telenor,NO",  # 16 many problems
        "41234567,2026-06-16T21:15:00+02:00,in,sms,98765432,0,Telenor,NO",         # 17 good
    ]
    _write(layout, "bad.csv", "\n".join(lines))
    con = _con()
    report = load_billing(con, layout)
    q = _quarantined(report)
    assert set(q) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16}
    assert "not a valid ISO 8601 time with zone" in q[3] and "2026-06-16T21:05:00+02:00" in q[3]
    assert "has no time zone" in q[4]
    assert "not a valid ISO 8601 time" in q[5]
    assert q[6] == "direction 'inbound' is not in or out"
    assert q[7] == "kind 'mms' is not call, sms or data"
    assert q[8] == "duration_s '-5' is not a whole number of seconds >= 0"
    assert "'12.5' is not a whole number" in q[9]
    assert "'Norway' is not an ISO 3166 alpha-2 code" in q[10]
    assert "empty counterpart for a call:" in q[11] and "only data sessions" in q[11]
    assert "counterpart field holds 2 numbers (+4798765432, +4741234568)" in q[12]
    assert "subscriber 'hemmelig' is not a phone number" in q[13]
    assert q[14] == "row has 7 fields, the header has 8"
    assert all(part in q[16] for part in ("timestamp", "direction 'sideways'", "kind 'fax'", "duration_s '-1'"))
    raw = {x[1]: x[3] for x in report.quarantine}
    assert raw[6] == lines[5] and raw[16] == lines[15]
    assert all(x[0] == "billing/bad.csv" for x in report.quarantine)
    assert (report.rows_loaded, report.rows_quarantined, report.blank_rows) == (2, 13, 1)
    assert [e["line_no"] for e in _events(con)] == [2, 17]


def test_missing_columns_reject_the_file_naming_the_expected_columns(layout):
    _write(layout, "short.csv", "subscriber,timestamp,direction,kind,counterpart,duration_s\n"
                                "41234567,2026-06-16T21:05:00+02:00,in,sms,98765432,0\n")
    _write(layout, "empty.csv", b"")
    _write(layout, "ok.csv", HEADER + "\n41234567,2026-06-16T21:05:00+02:00,in,sms,98765432,0,Telenor,NO\n")
    con = _con()
    report = load_billing(con, layout)
    q = {(x[0], x[1]): x[2] for x in report.quarantine}
    reason = q[("billing/short.csv", 1)]
    assert "no 'network', 'country' columns in the header" in reason
    assert "expected subscriber,timestamp,direction,kind,counterpart,duration_s,network,country" in reason
    assert "1 data line(s) not read" in reason
    assert "empty file" in q[("billing/empty.csv", None)]
    assert sorted(report.rejected_files) == ["billing/empty.csv", "billing/short.csv"]
    assert report.rows_loaded == 1


def test_semicolon_cp1252_bom_and_crlf_files(layout):
    _write(layout, "semi.csv", (
        "Subscriber;Timestamp;Direction;Kind;Counterpart;Duration_s;Network;Country;Comment\r\n"
        "+47 412 34 567;2026-06-16T21:05:00+02:00;in;call;\"+46 70 123 45 67\";61;Øresund Mobil;se;roaming\r\n"
    ).encode("cp1252"))
    _write(layout, "bom.csv", b"\xef\xbb\xbf" + (
        HEADER + "\r\n41234568,2026-06-16T22:00:00+02:00,out,sms,98765432,0,Telenor,NO\r\n").encode("utf-8"))
    con = _con()
    report = load_billing(con, layout)
    assert report.encodings == {"billing/bom.csv": "utf-8-sig", "billing/semi.csv": "cp1252"}
    assert report.delimiters == {"billing/bom.csv": ",", "billing/semi.csv": ";"}
    assert any("column(s) ignored: comment" in n for n in report.notes)
    assert report.rows_quarantined == 0
    got = {(e["source_file"], e["subscriber"], e["counterpart"], e["network"], e["country"], e["roaming"])
           for e in _events(con)}
    assert got == {("billing/semi.csv", "+4741234567", "+46701234567", "Øresund Mobil", "SE", True),
                   ("billing/bom.csv", "+4741234568", "+4798765432", "Telenor", "NO", False)}


def test_an_event_in_overlapping_files_loads_once(layout):
    rows = [f"41234567,2026-06-{d:02d}T21:05:00+02:00,in,sms,98765432,0,Telenor,NO" for d in range(10, 16)]
    _write(layout, "a_june.csv", "\n".join([HEADER] + rows[:4]) + "\n")
    # the second export overlaps by two days, writes the same instants in UTC, and repeats one SMS
    # inside itself (a long SMS billed in parts: kept)
    utc = [f"+4741234567,2026-06-{d:02d}T19:05:00Z,in,sms,+4798765432,0,Telenor,NO" for d in range(12, 16)]
    _write(layout, "b_june.csv", "\n".join([HEADER] + utc + [utc[-1]]) + "\n")
    con = _con()
    report = load_billing(con, layout)
    assert report.duplicates == 2 and report.rows_quarantined == 0
    ev = _events(con)
    assert len(ev) == 7
    by_day = {}
    for e in ev:
        by_day.setdefault(e["local_date"].day, []).append(e)
    assert [len(by_day[d]) for d in range(10, 16)] == [1, 1, 1, 1, 1, 2]
    assert by_day[12][0]["source_file"] == "billing/a_june.csv" and by_day[12][0]["n_files"] == 2
    assert by_day[12][0]["local_minute"] == 21 * 60 + 5  # the first file's copy, as it wrote it
    assert by_day[14][0]["source_file"] == "billing/b_june.csv" and by_day[14][0]["n_files"] == 1


def test_phone_strings_are_parsed_once_and_reload_replaces(layout):
    _write(layout, "a.csv", HEADER + "\n41234567,2026-06-16T21:05:00+02:00,in,sms,98765432,0,Telenor,NO\n"
                                     "41234567,2026-06-16T21:06:00+02:00,out,sms,98765432,0,Telenor,NO\n")
    con = _con()
    first = load_billing(con, layout)
    assert first.phone_strings_parsed == 2
    with transaction(con):
        again = load_billing(con, layout)
    assert again.phone_strings_parsed == 0
    assert con.execute("SELECT count(*) FROM billing_events").fetchone()[0] == 2
    left = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_adnet%' ESCAPE '\\'").fetchone()[0]
    assert left == 0


def test_no_billing_folder_and_bad_default_country(layout):
    con = _con()
    report = load_billing(con, layout)
    assert report.files == [] and report.rows_loaded == 0
    assert con.execute("SELECT count(*) FROM billing_events").fetchone()[0] == 0
    with pytest.raises(ValueError):
        load_billing(con, layout, default_country="Norway")
