"""directory: CSV extracts into directory_listings, line numbers right, bad rows set aside, phones in E.164."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adnet_assets.layout import DataLayout
from adnet_assets.lib.csv_records import FIELD_WHITESPACE, decode_csv_bytes
from adnet_assets.lib.directory import (
    DIRECTORY_LOOKUPS_DDL,
    DirectoryParams,
    ServiceListing,
    fold_name,
    listing_visibility,
    load_directory,
    phones_due_for_lookup,
    record_lookups,
    store_service_answers,
)
from adnet_assets.lib.directory_client import LookupResult
from adnet_assets.lib.phone_index import parser_version
from adnet_assets.lib.store import ensure_table, transaction
from adnet_assets.schema import PHONES

HEADER = "phone,name,address,postcode,city,listed_at"


def _write(layout: DataLayout, name: str, data: bytes | str) -> None:
    layout.directory.mkdir(parents=True, exist_ok=True)
    (layout.directory / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _listings(con) -> dict[int, dict]:
    df = con.execute("SELECT * FROM directory_listings WHERE source = 'csv' ORDER BY source_file, line_no").df()
    return {int(r["line_no"]): {k: (None if pd.isna(v) else v) for k, v in r.items()} for _, r in df.iterrows()}


def _quarantined(report) -> dict[int | None, str]:
    return {q[1]: q[2] for q in report.quarantine}


# ------------------------------------------------------------------------------ fold_name

@pytest.mark.parametrize("raw, folded", [
    ("Søren Ødegård", "soren odegard"),
    ("  ÆSØY,   Kari-Anne ", "aesoy kari anne"),
    ("Björk Müller Émile", "bjork muller emile"),
    ("Renáta Novák", "renata novak"),
    ("O'Neill", "oneill"),
    ("KARI  HANSEN", "kari hansen"),
    ("Kari\tHansen\n", "kari hansen"),
    ("Иван Петров", "иван петров"),  # other scripts are kept, never folded to nothing
    ("Андрей Йонов", "андрей йонов"),  # й is a letter of its own, not и with an accent
    ("สมชาย ใจดี", "สมชาย ใจดี"),  # Thai vowel signs are kept: they tell names apart
    ("Nattaya García-Øvrebø", "nattaya garcia ovrebo"),
    ("Straße", "strasse"),
    (None, ""),
    ("", ""),
    ("--", ""),
])
def test_fold_name(raw, folded):
    assert fold_name(raw) == folded


def test_fold_name_is_idempotent_and_case_blind():
    for name in ("Søren Ødegård", "ÅSE LØVÅS-BRÆKKE", "Jürgen d'Ávila"):
        assert fold_name(fold_name(name)) == fold_name(name)
        assert fold_name(name.upper()) == fold_name(name.lower())


@pytest.mark.parametrize("name, vis", [
    ("Reservert", "reserved"), ("RESERVERT NUMMER", "reserved"), ("reserved", "reserved"),
    ("(Reservert)", "reserved"), ("Hemmelig nummer", "hidden"), ("skjult", "hidden"), ("Hidden", "hidden"),
    ("Kari Hansen", None), ("Reidun Hemstad", None), (None, None),
])
def test_listing_visibility(name, vis):
    assert listing_visibility(name) == vis


# ------------------------------------------------------------------------------ decoding

def test_decoding_guesses():
    assert decode_csv_bytes("phone\n1".encode("utf-8")) == ("phone\n1", "utf-8")
    assert decode_csv_bytes(b"\xef\xbb\xbfphone\n1") == ("phone\n1", "utf-8-sig")
    assert decode_csv_bytes("phone,name\n1,Søren".encode("cp1252")) == ("phone,name\n1,Søren", "cp1252")
    assert decode_csv_bytes("phone,name\n1,Søren".encode("utf-16")) == ("phone,name\n1,Søren", "utf-16")
    assert decode_csv_bytes(b"phone\n\x81\xd8") == ("phone\n\x81\xd8", "latin-1")  # 0x81: not cp1252
    mixed = "phone,name\n1,Åse\n".encode("utf-8") + "2,Søren\n".encode("cp1252")
    text, enc = decode_csv_bytes(mixed)
    assert text == "phone,name\n1,Åse\n2,Søren\n" and enc == "utf-8+cp1252 (lines 3)"


# ------------------------------------------------------------------------------ CSV files

def test_semicolon_bom_crlf_file(layout):
    _write(layout, "a.csv", b"\xef\xbb\xbf" + "\r\n".join([
        "phone;name;address;postcode;city;listed_at",
        "+47 412 34 567;Kari Hansen;Storgata 12 B;0150;Oslo;2025-01-02",
        '98765432;"Hansen; Kari";"Torget 1, Storsenteret";0150;OSLO;',
    ]).encode("utf-8") + b"\r\n")
    con = _con()
    report = load_directory(con, layout)
    assert report.files == ["directory/a.csv"]
    assert report.encodings == {"directory/a.csv": "utf-8-sig"}
    assert report.delimiters == {"directory/a.csv": ";"}
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    rows = _listings(con)
    assert set(rows) == {2, 3}
    assert rows[2] == {
        "listing_id": "directory/a.csv:2", "source": "csv", "source_file": "directory/a.csv", "line_no": 2,
        "phone_raw": "+47 412 34 567", "phone": "+4741234567", "name": "Kari Hansen", "address": "Storgata 12 B",
        "postcode": "0150", "city": "Oslo", "listed_at": "2025-01-02", "name_norm": "kari hansen",
        "visibility": "public"}
    assert rows[3]["name"] == "Hansen; Kari" and rows[3]["address"] == "Torget 1, Storsenteret"
    assert rows[3]["listed_at"] is None and rows[3]["name_norm"] == "hansen kari"


def test_cp1252_file(layout):
    _write(layout, "win.csv", (HEADER + "\r\n41234567,Søren Ødegård,Bjørkeveien 3,5003,BERGEN,2024-05-01\r\n")
           .encode("cp1252"))
    con = _con()
    report = load_directory(con, layout)
    assert report.encodings["directory/win.csv"] == "cp1252"
    assert any("cp1252" in n for n in report.notes)
    row = _listings(con)[2]
    assert (row["name"], row["name_norm"], row["address"]) == ("Søren Ødegård", "soren odegard", "Bjørkeveien 3")


def test_missing_optional_columns_and_tab_delimiter(layout):
    _write(layout, "short.csv", "Phone , NAME\n41234567,Kari Hansen\n98765432,\n")
    _write(layout, "tabs.csv", "name\tcity\tphone\tcomment\nPer Olsen\tBergen\t0047 41 23 45 68\tx\n")
    con = _con()
    report = load_directory(con, layout)
    assert report.delimiters == {"directory/short.csv": ",", "directory/tabs.csv": "tab"}
    assert any("tabs.csv: column(s) ignored: comment" in n for n in report.notes)
    df = con.execute("SELECT listing_id, phone, name, address, city, listed_at FROM directory_listings "
                     "ORDER BY listing_id").fetchall()
    assert df == [
        ("directory/short.csv:2", "+4741234567", "Kari Hansen", None, None, None),
        ("directory/short.csv:3", "+4798765432", None, None, None, None),
        ("directory/tabs.csv:2", "+4741234568", "Per Olsen", None, "Bergen", None),
    ]


def test_bad_rows_are_quarantined_with_their_physical_line_numbers(layout):
    lines = [
        HEADER,                                                    # 1
        '41234567,Kari Hansen,"Storgata 12 B',                     # 2  quoted address over three lines
        'H0201',                                                   # 3
        '0150 Oslo",0150,Oslo,2025-01-02',                         # 4
        '',                                                        # 5  blank line
        '41234568,Per Olsen,Storgata 1,0150,Oslo,2025-01-02,EXTRA',  # 6  too many fields
        '41234569,Eva Li,Storgata 2',                              # 7  too few fields
        ',Nobody,Storgata 3,0150,Oslo,',                           # 8  empty phone
        ',,,,,',                                                   # 9  all empty: counted, not quarantined
        '41234570,"Ola ""Bob"" Nordmann",Storgata 4,0150,Oslo,',   # 10 doubled quotes
        '41234571,Ola 12" Hansen,Storgata 5,0150,Oslo,',           # 11 a quote inside an unquoted field is text
        '41234572,"Stray quote,Storgata 6,0150,Oslo,',             # 12 quote opened, never closed
        '41234573,Anne Berg,Storgata 7,0150,Oslo,',                # 13 still loads
        '41234567 / 98765432,Two Numbers,Storgata 8,0150,Oslo,',   # 14 two numbers in the phone field
        'not a number,Someone,Storgata 9,0150,Oslo,',              # 15 unreadable phone: kept, phone NULL
        '"41234574","Last Row","Storgata 10","0150","Oslo","2025-01-02"',  # 16 every field quoted
    ]
    _write(layout, "bad.csv", "\n".join(lines))  # no newline at the end
    con = _con()
    report = load_directory(con, layout)
    q = _quarantined(report)
    assert set(q) == {6, 7, 8, 12, 14}
    assert q[6] == "row has 7 fields, the header has 6"
    assert q[7] == "row has 3 fields, the header has 6"
    assert q[8].startswith("empty phone")
    assert q[12].startswith("quoted field opened on this line") and 'stray "' in q[12]
    assert "2 numbers (+4741234567, +4798765432)" in q[14]
    raw = {q_[1]: q_[3] for q_ in report.quarantine}
    assert raw[6] == lines[5] and raw[12] == lines[11]
    assert all(q_[0] == "directory/bad.csv" for q_ in report.quarantine)
    rows = _listings(con)
    assert set(rows) == {2, 10, 11, 13, 15, 16}
    assert rows[2]["address"] == "Storgata 12 B\nH0201\n0150 Oslo"
    assert rows[10]["name"] == 'Ola "Bob" Nordmann'
    assert rows[11]["name"] == 'Ola 12" Hansen'
    assert rows[13]["phone"] == "+4741234573"
    assert rows[15]["phone"] is None and rows[15]["phone_raw"] == "not a number"
    assert rows[16]["phone"] == "+4741234574" and rows[16]["listed_at"] == "2025-01-02"
    assert (report.rows_loaded, report.rows_quarantined, report.blank_rows, report.phones_unreadable) == (6, 5, 1, 1)


def test_stray_quote_does_not_swallow_the_rest_of_the_file(layout):
    rows = [HEADER, '41234560,"Kari,Storgata 1,0150,Oslo,']
    rows += [f"4123457{i},Person {i},Gate {i},0150,Oslo," for i in range(12)]
    _write(layout, "stray.csv", "\n".join(rows) + "\n")
    con = _con()
    report = load_directory(con, layout)
    assert list(_quarantined(report)) == [2]
    assert "stray" in report.quarantine[0][2]
    assert sorted(_listings(con)) == list(range(3, 15))


def test_file_without_phone_column_is_rejected_whole(layout):
    _write(layout, "nophone.csv", "tlf,navn\n41234567,Kari\n41234568,Per\n")
    _write(layout, "dup.csv", "phone,name,name\n41234567,Kari,Per\n")
    _write(layout, "empty.csv", b"")
    _write(layout, "ok.csv", HEADER + "\n41234567,Kari Hansen,,,,\n")
    con = _con()
    report = load_directory(con, layout)
    q = {(x[0], x[1]): x[2] for x in report.quarantine}
    assert "no 'phone' column" in q[("directory/nophone.csv", 1)]
    assert "2 data line(s) not read" in q[("directory/nophone.csv", 1)]
    assert "more than once" in q[("directory/dup.csv", 1)]
    assert "empty file" in q[("directory/empty.csv", None)]
    assert sorted(report.rejected_files) == ["directory/dup.csv", "directory/empty.csv", "directory/nophone.csv"]
    assert report.rows_loaded == 1
    assert con.execute("SELECT listing_id FROM directory_listings").fetchall() == [("directory/ok.csv:2",)]


def test_reserved_and_hidden_listings_carry_no_name_or_address(layout):
    _write(layout, "r.csv", "\n".join([
        HEADER,
        "41234567,Reservert,Storgata 12 B,0150,Oslo,2025-01-01",
        "41234568,Hemmelig nummer,Storgata 12 B,0150,Oslo,",
        "41234569,skjult,,,,",
        "41234570,Kari Hansen,Hemmelig adresse,0150,Oslo,",
        "41234571,Ukjent,Storgata 1,0150,Oslo,",
        "41234572,-,Storgata 1,0150,Oslo,",
    ]))
    con = _con()
    report = load_directory(con, layout)
    assert report.reserved_or_hidden == 3
    got = con.execute("""SELECT line_no, phone, name, name_norm, address, postcode, city, listed_at, visibility
                         FROM directory_listings ORDER BY line_no""").fetchall()
    assert got == [
        (2, "+4741234567", None, None, None, None, None, "2025-01-01", "reserved"),
        (3, "+4741234568", None, None, None, None, None, None, "hidden"),
        (4, "+4741234569", None, None, None, None, None, None, "hidden"),
        (5, "+4741234570", "Kari Hansen", "kari hansen", None, "0150", "Oslo", None, "public"),
        (6, "+4741234571", None, None, "Storgata 1", "0150", "Oslo", None, "public"),
        (7, "+4741234572", None, None, "Storgata 1", "0150", "Oslo", None, "public"),
    ]


def test_several_rows_for_one_number_and_messy_forms(layout):
    forms = ["+47 412 34 567", "0047-41234567", "412.34.567", "tlf: 41 23 45 67", "4741234567",
             "(+47) 41 23 45 67", "+4741234567", "41234567"]
    body = [HEADER] + [f'"{f}",Kari Hansen {i},Storgata 12 B,0150,Oslo,' for i, f in enumerate(forms)]
    body += ['"+46 70 123 45 67",Sven Svensson,Kungsgatan 1,111 22,Stockholm,',
             '"0046 70-1234567",Sven Svensson,Kungsgatan 1,111 22,Stockholm,']
    _write(layout, "m.csv", "\n".join(body) + "\n")
    con = _con()
    report = load_directory(con, layout)
    assert report.rows_quarantined == 0
    phones = con.execute("SELECT line_no, phone FROM directory_listings ORDER BY line_no").fetchall()
    assert phones == [(i + 2, "+4741234567") for i in range(len(forms))] + [(10, "+46701234567"), (11, "+46701234567")]
    assert con.execute("SELECT count(DISTINCT listing_id) FROM directory_listings").fetchone()[0] == 10


def test_phone_strings_cache_is_shared_and_parsed_once(layout):
    _write(layout, "a.csv", HEADER + "\n41234567,Kari,,,,\n412 34 567,Kari,,,,\n41234567,Per,,,,\n")
    con = _con()
    first = load_directory(con, layout)
    assert first.phone_strings_parsed == 2
    rows = con.execute("SELECT raw, default_country, phone, parser_version FROM phone_strings ORDER BY raw").fetchall()
    assert rows == [("412 34 567", "NO", "+4741234567", parser_version()), ("41234567", "NO", "+4741234567", parser_version())]
    again = load_directory(con, layout)
    assert again.phone_strings_parsed == 0
    assert con.execute("SELECT count(*) FROM phone_strings").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 3  # replaced, not doubled


def test_default_country_reads_national_numbers(layout):
    _write(layout, "se.csv", HEADER + "\n070-123 45 67,Sven,,,,\n")
    con = _con()
    load_directory(con, layout, default_country="se")
    assert con.execute("SELECT phone FROM directory_listings").fetchone()[0] == "+46701234567"


def test_reload_keeps_service_rows_and_runs_in_a_transaction(layout):
    _write(layout, "a.csv", HEADER + "\n41234567,Kari Hansen,,,,\n")
    con = _con()
    store_service_answers(con, [ServiceListing("svc", "+4798765432", name="Per Olsen")])
    with transaction(con):
        load_directory(con, layout)
    got = con.execute("SELECT listing_id, source FROM directory_listings ORDER BY listing_id").fetchall()
    assert got == [("directory/a.csv:2", "csv"), ("svc:+4798765432:0", "api")]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_adnet%' ESCAPE '\\'").fetchone()[0] == 0


def test_no_directory_folder(layout):
    con = _con()
    report = load_directory(con, layout)
    assert report.files == [] and report.rows_loaded == 0
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 0


_FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85")
                 | st.sampled_from(['"', ",", ";", "\n", " ", "'"]), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_FIELD, _FIELD, _FIELD), min_size=1, max_size=8), delim=st.sampled_from([",", ";"]))
def test_any_csv_writer_output_reads_back_with_its_line_numbers(tmp_path_factory, rows, delim):
    """Whatever Python's csv writer quotes (quotes, delimiters, line breaks in fields), every row loads with
    its values and the physical line it starts on."""
    layout = DataLayout.at(tmp_path_factory.mktemp("prop"))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(["phone", "name", "postcode", "city", "listed_at"])
    expected, line = {}, 2
    for i, (postcode, city, listed_at) in enumerate(rows):
        before = buf.tell()
        w.writerow([f"4123{i:04d}", "Kari Hansen", postcode, city, listed_at])
        expected[line] = tuple((v.strip(FIELD_WHITESPACE) or None) for v in (postcode, city, listed_at))
        line += buf.getvalue()[before:].count("\n")
    _write(layout, "p.csv", buf.getvalue())
    con = _con()
    report = load_directory(con, layout)
    assert report.quarantine == []
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT line_no, postcode, city, listed_at FROM directory_listings").fetchall()}
    assert got == expected


# ------------------------------------------------------------------------------ services

def test_store_service_answers_respects_visibility():
    con = _con()
    n = store_service_answers(con, [
        ServiceListing("svc", "+4741234567", name="Kari Hansen", address="Storgata 12 B", postcode="0150", city="Oslo"),
        ServiceListing("svc", "+4741234567", name="K. Hansen", address="Storgata 12B"),
        ServiceListing("svc", "+4798765432", name="Per Olsen", address="Torget 1", visibility="reserved"),
        ServiceListing("svc", "+4798765433", name="Reservert", visibility="public"),
        ServiceListing("svc", "+4798765434", name="Eva", visibility="weird"),
    ])
    assert n == 5
    got = con.execute("""SELECT listing_id, source, source_file, line_no, phone_raw, phone, name, address, name_norm, visibility
                         FROM directory_listings ORDER BY listing_id""").fetchall()
    assert got == [
        ("svc:+4741234567:0", "api", "svc", None, "+4741234567", "+4741234567", "Kari Hansen", "Storgata 12 B", "kari hansen", "public"),
        ("svc:+4741234567:1", "api", "svc", None, "+4741234567", "+4741234567", "K. Hansen", "Storgata 12B", "k hansen", "public"),
        ("svc:+4798765432:0", "api", "svc", None, "+4798765432", "+4798765432", None, None, None, "reserved"),
        ("svc:+4798765433:0", "api", "svc", None, "+4798765433", "+4798765433", None, None, None, "reserved"),
        ("svc:+4798765434:0", "api", "svc", None, "+4798765434", "+4798765434", None, None, None, "hidden"),
    ]
    # a fresh answer for a number replaces its earlier rows
    store_service_answers(con, [ServiceListing("svc", "+4741234567", name="Kari Hansen")])
    assert con.execute("SELECT count(*) FROM directory_listings WHERE phone = '+4741234567'").fetchone()[0] == 1
    with pytest.raises(ValueError):
        store_service_answers(con, [ServiceListing("svc", "41234567", name="x")])


def _phones(con, phones: list[tuple[str, str]]):
    ensure_table(con, PHONES)
    for p, c in phones:
        con.execute("INSERT INTO phones (phone, country) VALUES (?, ?)", [p, c])


def test_lookup_cache_and_phones_due():
    con = _con()
    _phones(con, [("+4741234567", "NO"), ("+4798765432", "NO"), ("+4741111111", "NO"), ("+46701234567", "SE")])
    now = datetime(2026, 6, 10, 12, tzinfo=timezone.utc)
    assert phones_due_for_lookup(con, "svc", 30, now=now) == ["+46701234567", "+4741111111", "+4741234567", "+4798765432"]
    found = LookupResult("+4741234567", "found", [ServiceListing("svc", "+4741234567", name="Kari Hansen")],
                         {"phone": "+4741234567", "listings": [{"name": "Kari Hansen"}]}, now - timedelta(days=2), "svc")
    not_found = LookupResult("+4798765432", "not_found", [], {}, now - timedelta(days=40), "svc")
    error = LookupResult("+4741111111", "error", [], {"error": "HTTP 503"}, now - timedelta(days=1), "svc")
    assert record_lookups(con, [found, not_found, error]) == 3
    assert con.execute("SELECT count(*) FROM directory_lookups").fetchone()[0] == 3
    assert con.execute("SELECT answer->>'$.listings[0].name' FROM directory_lookups WHERE status = 'found'").fetchone()[0] == "Kari Hansen"
    # found 2 days ago: fresh; not found 40 days ago: stale; an error is not an answer
    assert phones_due_for_lookup(con, "svc", 30, now=now) == ["+46701234567", "+4741111111", "+4798765432"]
    assert phones_due_for_lookup(con, "svc", 1, now=now) == ["+46701234567", "+4741111111", "+4741234567", "+4798765432"]
    assert phones_due_for_lookup(con, "svc", 30, now=now, regions=["no"]) == ["+4741111111", "+4798765432"]
    assert phones_due_for_lookup(con, "other", 30, now=now, limit=2) == ["+46701234567", "+4741111111"]
    assert con.execute("SELECT listing_id, name FROM directory_listings").fetchall() == [("svc:+4741234567:0", "Kari Hansen")]
    # the number is not listed any more: its api listing goes
    record_lookups(con, [LookupResult("+4741234567", "not_found", [], {}, now, "svc")])
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 0
    con.execute(DIRECTORY_LOOKUPS_DDL)  # idempotent


def test_phones_due_without_cache_table():
    con = _con()
    _phones(con, [("+4741234567", "NO")])
    assert phones_due_for_lookup(con, "svc", 30) == ["+4741234567"]


# ------------------------------------------------------------------------------ demo market

def test_demo_market_directory(demo_market, tmp_path):
    db = tmp_path / "adnet.duckdb"
    shutil.copy(demo_market.database, db)
    files = sorted(demo_market.directory.glob("*.csv"))
    n_rows = sum(len(pd.read_csv(f, dtype=str, keep_default_na=False)) for f in files)
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TEMP TABLE strings_before AS SELECT * FROM phone_strings")
    with transaction(con):
        report = load_directory(con, demo_market)
    assert report.quarantine == []
    assert report.rows_loaded == n_rows > 0
    assert report.files == [f"directory/{f.name}" for f in files]
    assert con.execute("SELECT count(*) FROM directory_listings WHERE phone IS NULL").fetchone()[0] == 0
    # every number the truth says is listed is found, in E.164
    truth = pd.read_csv(demo_market.root / "demo-truth" / "phones.csv", dtype=str, keep_default_na=False)
    listed = set(truth.loc[truth["listed"] == "true", "phone"])
    got = {r[0] for r in con.execute("SELECT DISTINCT phone FROM directory_listings").fetchall()}
    assert listed and listed <= got
    # and each row's number is the one the generator wrote
    displays = pd.read_csv(demo_market.root / "demo-truth" / "displays.csv", dtype=str, keep_default_na=False)
    con.register("displays", displays)
    wrong = con.execute("""SELECT l.listing_id, l.phone_raw, l.phone, d.phone FROM directory_listings l
                           JOIN displays d ON d.raw = l.phone_raw AND d.default_country = 'NO'
                           WHERE d.phone <> l.phone""").fetchall()
    assert wrong == []
    # the ads' strings in the cache are untouched; the directory's were added
    assert con.execute("SELECT count(*) FROM (SELECT * FROM strings_before EXCEPT ALL SELECT * FROM phone_strings)"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM phone_strings").fetchone()[0] == \
        con.execute("SELECT count(*) FROM strings_before").fetchone()[0] + report.phone_strings_parsed
    con.close()


def test_params_are_frozen():
    with pytest.raises(Exception):
        DirectoryParams().max_row_lines = 3  # type: ignore[misc]
