"""excel_export: hostile ad text stays inert text, values survive, sheets split, file written atomically."""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import openpyxl
import pytest

from adnet_assets.lib import excel_export, xlsx_sheet_xml
from adnet_assets.lib.excel_export import write_workbook

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]
LONG = "å" * 40_000
NORSK = "Blåbærsyltetøy på Ærø, Østfold"


def _con():
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("""CREATE TABLE ads (ad_key VARCHAR, site VARCHAR, title VARCHAR, body VARCHAR,
        price DOUBLE, n_seen BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMP, phones VARCHAR[])""")
    texts = HOSTILE + [NORSK, LONG, "ctl\x00a\x07b\x1bc\x7fd", "line1\r\nline2\tend", "_x0041_", "http://evil.example"]
    for i, text in enumerate(texts):
        con.execute("INSERT INTO ads VALUES (?, 'siteA', ?, ?, ?, ?, ?, ?, ?)",
                    [f"ad:{i}", text, f"body {i}", 1500.5 + i, i,
                     datetime(2026, 6, 1, 12, i, tzinfo=timezone.utc), datetime(2026, 6, 2, 8, i),
                     ["+4791234567", f"+47900000{i:02d}"]])
    con.execute("CREATE TABLE phones (phone VARCHAR, n_ads BIGINT, country VARCHAR)")
    con.executemany("INSERT INTO phones VALUES (?, ?, 'NO')", [["+4791234567", 3], ["=1+1", 1]])
    con.execute("""CREATE TABLE networks (network_id VARCHAR, n_ads BIGINT, n_phones BIGINT,
        strongest_evidence VARCHAR, score DOUBLE)""")
    con.executemany("INSERT INTO networks VALUES (?, ?, ?, ?, ?)",
                    [["N0001", 2, 1, "shared phone", 0.9],
                     ["N0002:very/long*name?with[bad]chars-and-more", 1, 1, "same photo", 0.5]])
    con.execute("""CREATE TABLE network_members (network_id VARCHAR, member_type VARCHAR, member_key VARCHAR,
        explanation VARCHAR, via VARCHAR, link_kind VARCHAR, weight DOUBLE)""")
    con.executemany("INSERT INTO network_members VALUES (?, ?, ?, ?, ?, ?, ?)", [
        ["N0001", "phone", "phone:+4791234567", "seed", None, None, None],
        ["N0001", "ad", "ad:2", "=cmd|' /C calc'!A0", "phone:+4791234567", "ad_phone", 1.0],
        ["N0001", "ad", "ad:1", "uses phone +47 912 34 567 (Tromsø)", "phone:+4791234567", "ad_phone", 1.0],
        ["N0002:very/long*name?with[bad]chars-and-more", "ad", "ad:9", "same photo", None, "photo", 0.8],
    ])
    return con


def _all_cells(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws, cell


@pytest.fixture
def book(tmp_path):
    con = _con()
    target = tmp_path / "out" / "adnet.xlsx"
    report = write_workbook(con, target)
    wb = openpyxl.load_workbook(target)
    return report, wb, target


def _column(ws, name):
    header = [c.value for c in ws[1]]
    idx = header.index(name)
    return [row[idx] for row in ws.iter_rows(min_row=2)]


def test_sheets_present_and_report(book):
    report, wb, target = book
    assert report.path == target
    assert wb.sheetnames[:4] == ["ads", "phones", "networks", "network_members"]
    assert report.sheets["ads"] == 12 and report.sheets["phones"] == 2
    assert len(wb.sheetnames) == 6                       # + two network sheets
    assert set(report.sheets) == set(wb.sheetnames)
    names = wb.sheetnames
    assert len({n.lower() for n in names}) == len(names)
    for name in names:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")


def test_no_formulas_anywhere_and_hostile_cells_quoted(book):
    _, wb, _ = book
    for ws, cell in _all_cells(wb):
        assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    titles = _column(wb["ads"], "title")
    by_value = {c.value: c for c in titles}
    for text in HOSTILE:
        expected = text.replace("\r", "\n")              # CR normalised to a line break
        cell = by_value[expected]
        assert cell.data_type == "s"
        assert cell.quotePrefix, text
    assert by_value[NORSK].quotePrefix is False
    assert by_value["http://evil.example"].hyperlink is None
    # xlsxwriter escapes a literal "_x0041_" as "_x005F_x0041_" (Excel shows "_x0041_"); openpyxl
    # does not unescape inline strings, so either form is fine -- what matters is it is not "A".
    assert ("_x0041_" in by_value or "_x005F_x0041_" in by_value) and "A" not in by_value
    phones = {c.value: c for c in _column(wb["phones"], "phone")}
    assert phones["=1+1"].data_type == "s" and phones["=1+1"].quotePrefix
    assert phones["+4791234567"].data_type == "s"        # a phone stays text, not a number


def test_values_survive(book):
    _, wb, _ = book
    ws = wb["ads"]
    titles = [c.value for c in _column(ws, "title")]
    assert NORSK in titles
    assert "ctlabcd" in titles                           # control characters removed
    assert "line1\nline2\tend" in titles                  # tab/newline kept, CRLF -> LF
    first = dict(zip([c.value for c in ws[1]], [c.value for c in ws[2]]))
    assert first["price"] == 1500.5 and first["n_seen"] == 0
    assert first["first_seen"] == datetime(2026, 6, 1, 12, 0)
    assert first["last_seen"] == datetime(2026, 6, 2, 8, 0)
    assert first["phones"] == '["+4791234567","+4790000000"]'
    assert ws.cell(2, 7).number_format == "yyyy-mm-dd hh:mm:ss"


def test_long_text_cut_with_marker(book):
    _, wb, _ = book
    long = [c.value for c in _column(wb["ads"], "title") if c.value and c.value.startswith("ååå")]
    assert len(long) == 1
    assert long[0] == "å" * 32_000 + "… [cut: 8000 characters]"


def test_frozen_header_autofilter_widths(book):
    _, wb, _ = book
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref, ws.title
    assert wb["ads"].auto_filter.ref == "A1:I13"
    widths = [d.width for d in wb["ads"].column_dimensions.values() if d.width]
    assert widths and max(widths) < 61          # 60 + xlsxwriter's padding


def test_network_sheets(book):
    _, wb, _ = book
    ws = wb["network N0001"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["member_type", "member_key", "explanation"]
    assert [r[:2] for r in rows[1:]] == [["ad", "ad:1"], ["ad", "ad:2"], ["phone", "phone:+4791234567"]]
    assert rows[1][2] == "uses phone +47 912 34 567 (Tromsø)"
    hostile = ws["C3"]
    assert hostile.value == "=cmd|' /C calc'!A0" and hostile.data_type == "s" and hostile.quotePrefix
    other = [n for n in wb.sheetnames if n.startswith("network N0002")]
    assert len(other) == 1 and len(other[0]) == 31


def test_row_split(tmp_path, monkeypatch):
    monkeypatch.setattr(excel_export, "MAX_ROWS", 4)
    monkeypatch.setattr(excel_export, "BATCH_ROWS", 3)
    con = duckdb.connect()
    con.execute("CREATE TABLE ads AS SELECT 'ad:' || i AS ad_key, i AS n FROM range(10) t(i)")
    report = write_workbook(con, tmp_path / "split.xlsx")
    assert report.sheets == {"ads": 4, "ads (2)": 4, "ads (3)": 2}
    wb = openpyxl.load_workbook(tmp_path / "split.xlsx")
    assert wb.sheetnames == ["ads", "ads (2)", "ads (3)"]
    values = []
    for ws in wb.worksheets:
        assert [c.value for c in ws[1]] == ["ad_key", "n"]
        assert ws.freeze_panes == "A2"
        values += [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert values == list(range(10))


def test_tables_override_missing_skipped_and_no_temp_left(tmp_path):
    con = _con()
    target = tmp_path / "only.xlsx"
    report = write_workbook(con, target, tables=["phones", "quarantine"], network_sheets=False)
    assert list(report.sheets) == ["phones"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.xlsx"]
    # overwriting in place also works and leaves nothing behind
    write_workbook(con, target, tables=["phones"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.xlsx"]


def test_empty_table_still_has_header(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE quarantine (line VARCHAR, reason VARCHAR)")
    report = write_workbook(con, tmp_path / "e.xlsx")
    assert report.sheets == {"quarantine": 0}
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx")["quarantine"]
    assert [c.value for c in ws[1]] == ["line", "reason"]


def test_lone_surrogate_removed(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE owners (owner_key VARCHAR, name VARCHAR)")
    try:
        con.execute("INSERT INTO owners VALUES (?, ?)", ["o:1", "bad\ud800name"])
    except Exception as exc:                            # DuckDB refuses to bind invalid UTF-8
        pytest.skip(f"DuckDB does not accept a lone surrogate: {exc}")
    write_workbook(con, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["owners"]
    assert ws["B2"].value == "badname"


def test_clean_text_unit():
    assert excel_export.clean_text("a\ud800b\x00c") == "abc"
    assert excel_export.clean_text("x" * 32_767) == "x" * 32_767
    cut = excel_export.clean_text("😀" * 20_000)            # 40,000 UTF-16 units
    assert cut.endswith("… [cut: 4000 characters]") and cut.startswith("😀" * 16_000)


def test_network_picture_beside_its_members_and_sheet_cap(tmp_path):
    from PIL import Image

    picture = tmp_path / "n1.png"
    Image.new("RGB", (40, 30), "white").save(picture)
    con = _con()
    target = tmp_path / "pics.xlsx"
    report = write_workbook(con, target, pictures={"N0001": picture}, max_network_sheets=1)
    wb = openpyxl.load_workbook(target)
    network_sheets = [n for n in wb.sheetnames if n.startswith("network ")]
    assert network_sheets == ["network N0001"]          # the largest network gets the one sheet
    assert report.networks_without_sheet == 1
    images = wb["network N0001"]._images
    assert len(images) == 1 and images[0].anchor._from.col == len(excel_export.MEMBER_COLUMNS) + 1
    # the capped network is still there, in network_members
    assert "N0002:very/long*name?with[bad]chars-and-more" in [c.value for c in _column(wb["network_members"], "network_id")]


def test_read_me_sheet_comes_first_and_stays_text(tmp_path):
    con = _con()
    target = tmp_path / "readme.xlsx"
    write_workbook(con, target, readme=[("note", "Screening signals, not verdicts"), ("ads", "=one ad per row")])
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames[0] == "read me"
    rows = [[c.value for c in r] for r in wb["read me"].iter_rows()]
    assert rows == [["topic", "text"], ["note", "Screening signals, not verdicts"], ["ads", "=one ad per row"]]
    assert wb["read me"]["B3"].data_type == "s"


def test_raw_lines_are_left_out_of_the_workbook(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE ad_observations (ad_key VARCHAR, title VARCHAR, raw_line VARCHAR)")
    con.executemany("INSERT INTO ad_observations VALUES (?, ?, ?)",
                    [["ad:2", "=2", '{"title": "=2"}'], ["ad:1", "Tromsø", '{"title": "Tromsø"}']])
    con.execute("CREATE TABLE quarantine (line VARCHAR, raw_line VARCHAR)")  # only the named table loses it
    con.execute("INSERT INTO quarantine VALUES ('1', '{bad')")
    assert excel_export.LEFT_OUT_COLUMNS["ad_observations"] == ("raw_line",)
    report = write_workbook(con, tmp_path / "o.xlsx", network_sheets=False)
    assert report.sheets == {"ad_observations": 2, "quarantine": 1}
    wb = openpyxl.load_workbook(tmp_path / "o.xlsx")
    rows = list(wb["ad_observations"].iter_rows(values_only=True))
    assert rows == [("ad_key", "title"), ("ad:1", "Tromsø"), ("ad:2", "=2")]  # ordered, text stays text
    assert wb["ad_observations"]["B3"].quotePrefix
    assert [c.value for c in wb["quarantine"][1]] == ["line", "raw_line"]


# ---------------------------------------------------------------- the bulk (DuckDB-built XML) path

def _hostile_con():
    con = duckdb.connect()
    con.execute("SET TimeZone='Europe/Oslo'")      # TIMESTAMPTZ must still come out as naive UTC
    con.execute("""CREATE TABLE ads (ad_key VARCHAR, title VARCHAR, n BIGINT, big HUGEINT, x DOUBLE, f REAL,
        d DECIMAL(10, 2), ok BOOLEAN, day DATE, seen TIMESTAMP, seen_tz TIMESTAMPTZ, tags VARCHAR[],
        nums BIGINT[], id UUID, raw BLOB)""")
    texts = HOSTILE + [NORSK, LONG, "😀" * 20_000, "ctl\x00a\x07b\x1bc\x7fd\u202ee", "line1\r\nline2\rend",
                       "_x0041_ and _X004a_", " lead", "trail ", "\u00a0nbsp", "a & <b> \"c\"", "", None,
                       "\ufffex\uffff", "دبي", "x\u2028y"]
    for i, text in enumerate(texts):
        con.execute("INSERT INTO ads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            f"ad:{i:02d}", text, [0, -5, 2 ** 53, -(2 ** 53), 2 ** 53 + 1, 7, 8][i % 7],
            [2 ** 70, -3, None][i % 3],
            [0.1 + 0.2, float("nan"), float("inf"), float("-inf"), 1e20, 1e-7, -0.0, 1 / 3][i % 8],
            1.1, "12345678.91", [True, False, None][i % 3],
            [date(2026, 6, 1), date(1899, 12, 31), date(1900, 1, 1), date(1900, 3, 1), date(9999, 12, 31)][i % 5],
            [datetime(2026, 6, 2, 8, 30, 15, 250000), datetime(1850, 1, 1, 12), datetime(1900, 1, 1, 6),
             datetime(1900, 2, 28, 23, 59, 59)][i % 4],
            datetime(2026, 6, 1, 12, i, tzinfo=timezone.utc),
            [["=a", "b\"c", "ø\\x"], [], None, [text or "", "+1"]][i % 4], [[1, 2 ** 60], [], None][i % 3],
            "12345678-1234-5678-1234-567812345678", b"\x00\xff=" if i % 2 else None])
    return con


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return wb, {ws.title: [[(c.value, c.data_type, c.number_format, bool(c.quotePrefix)) for c in row]
                           for row in ws.iter_rows()] for ws in wb.worksheets}


def _old_path(monkeypatch):
    monkeypatch.setattr(excel_export, "_write_table_bulk", lambda *a, **k: None)


def test_bulk_path_writes_what_the_cell_writer_writes(tmp_path, monkeypatch):
    con = _hostile_con()
    new = write_workbook(con, tmp_path / "new.xlsx")
    # the table really went through the bulk path: its rows are not in xlsxwriter's sheet
    plan = excel_export._write_table_bulk(
        con, excel_export._Writer(__import__("xlsxwriter").Workbook(str(tmp_path / "probe.xlsx"))), "ads",
        "SELECT * FROM ads")
    assert plan is not None and plan.parts[0][1] == 21
    with monkeypatch.context() as m:
        _old_path(m)
        old = write_workbook(con, tmp_path / "old.xlsx")
    assert new.sheets == old.sheets == {"ads": 21}
    wb_new, cells_new = _cells(tmp_path / "new.xlsx")
    _, cells_old = _cells(tmp_path / "old.xlsx")
    assert cells_new == cells_old
    ws = wb_new["ads"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:O22"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_bulk_path_cell_rules(tmp_path):
    con = _hostile_con()
    write_workbook(con, tmp_path / "b.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["ads"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    title = {k: r[1] for k, r in rows.items()}
    for i, text in enumerate(HOSTILE):
        assert title[f"ad:{i:02d}"].value == text.replace("\r", "\n") and title[f"ad:{i:02d}"].quotePrefix
    assert title["ad:07"].value == "å" * 32_000 + "… [cut: 8000 characters]"
    assert title["ad:08"].value == "😀" * 16_000 + "… [cut: 4000 characters]"
    assert title["ad:09"].value == "ctlabcde"
    assert title["ad:10"].value == "line1\nline2\nend"
    # Excel shows the literal text (Excel, like xlsxwriter, only reads a lower-case "_x" as an escape)
    assert title["ad:11"].value == "_x005F_x0041_ and _X004a_"
    assert title["ad:12"].value == " lead" and title["ad:13"].value == "trail "
    assert title["ad:15"].value == 'a & <b> "c"'
    assert title["ad:16"].value is None and title["ad:17"].value is None   # empty text and NULL: no cell
    assert title["ad:18"].value == "x"
    header = [c.value for c in ws[1]]
    col = {name: i for i, name in enumerate(header)}
    n = {k: r[col["n"]] for k, r in rows.items()}
    assert n["ad:02"].value == 2 ** 53 and n["ad:02"].data_type == "n"
    assert n["ad:04"].value == str(2 ** 53 + 1) and n["ad:04"].data_type == "s" and not n["ad:04"].quotePrefix
    assert rows["ad:00"][col["big"]].value == str(2 ** 70)
    x = {k: r[col["x"]].value for k, r in rows.items()}
    assert x["ad:00"] == 0.3 and x["ad:01"] == "nan" and x["ad:02"] == "inf" and x["ad:03"] == "-inf"
    assert x["ad:04"] == 1e20
    assert rows["ad:00"][col["d"]].value == 12345678.91
    assert rows["ad:00"][col["ok"]].value is True and rows["ad:01"][col["ok"]].value is False
    day = rows["ad:00"][col["day"]]
    assert day.value == datetime(2026, 6, 1) and day.number_format == "yyyy-mm-dd"
    assert rows["ad:01"][col["day"]].value == "1899-12-31"                  # before 1900: ISO text
    seen = rows["ad:00"][col["seen"]]
    assert seen.value == datetime(2026, 6, 2, 8, 30, 15, 250000) and seen.number_format == "yyyy-mm-dd hh:mm:ss"
    assert rows["ad:01"][col["seen"]].value == "1850-01-01T12:00:00"
    assert rows["ad:05"][col["seen_tz"]].value == datetime(2026, 6, 1, 12, 5)  # UTC, whatever the session zone
    assert rows["ad:00"][col["tags"]].value == '["=a","b\\"c","ø\\\\x"]'
    assert rows["ad:00"][col["nums"]].value == f"[1,{2 ** 60}]"
    assert rows["ad:00"][col["id"]].value == "12345678-1234-5678-1234-567812345678"
    assert rows["ad:01"][col["raw"]].value == "00ff3d"


def test_bulk_path_is_deterministic(tmp_path):
    import zipfile

    con = _hostile_con()
    write_workbook(con, tmp_path / "a.xlsx")
    con.execute("CREATE TABLE shuffled AS SELECT * FROM ads ORDER BY random()")
    con.execute("DROP TABLE ads")
    con.execute("ALTER TABLE shuffled RENAME TO ads")
    write_workbook(con, tmp_path / "b.xlsx")
    con.execute("SET preserve_insertion_order = false")  # then the XML query sorts by itself
    write_workbook(con, tmp_path / "c.xlsx")
    with zipfile.ZipFile(tmp_path / "a.xlsx") as a:
        for other in ("b.xlsx", "c.xlsx"):
            with zipfile.ZipFile(tmp_path / other) as b:
                assert a.namelist() == b.namelist()
                for name in a.namelist():
                    if name != "docProps/core.xml":          # holds the time the file was written
                        assert a.read(name) == b.read(name), (other, name)
    # nothing left on the connection: no staged rows, no helper function
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?",
                       [xlsx_sheet_xml.CUT_FUNCTION]).fetchall() == [(0,)]


def test_bulk_continuation_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(excel_export, "MAX_ROWS", 4)
    monkeypatch.setattr(excel_export, "BATCH_ROWS", 3)
    con = duckdb.connect()
    con.execute("CREATE TABLE ads AS SELECT 'ad:' || i AS ad_key, i AS n, "
                "CASE WHEN i % 3 = 0 THEN '=x' || i END AS t FROM range(11) t(i)")
    report = write_workbook(con, tmp_path / "split.xlsx")
    assert report.sheets == {"ads": 4, "ads (2)": 4, "ads (3)": 3}
    wb = openpyxl.load_workbook(tmp_path / "split.xlsx")
    values = []
    for ws, n in zip(wb.worksheets, (4, 4, 3)):
        assert ws.auto_filter.ref == f"A1:C{n + 1}" and ws.freeze_panes == "A2" and ws.max_row == n + 1
        values += [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    # ORDER BY ALL sorts ad_key as text: ad:0, ad:1, ad:10, ad:2, ...
    assert values == sorted(range(11), key=lambda i: f"ad:{i}")
    quoted = [c for ws in wb.worksheets for c in ws["C"][1:] if c.value]
    assert quoted and all(c.quotePrefix and c.value.startswith("=x") for c in quoted)


def test_unsupported_column_type_falls_back_to_the_cell_writer(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE red_flags (flag VARCHAR, gap INTERVAL, at_time TIME)")
    con.execute("INSERT INTO red_flags VALUES ('=late', INTERVAL 90 MINUTE, TIME '12:30:00')")
    report = write_workbook(con, tmp_path / "f.xlsx")
    assert report.sheets == {"red_flags": 1}
    ws = openpyxl.load_workbook(tmp_path / "f.xlsx")["red_flags"]
    assert ws["A2"].value == "=late" and ws["A2"].quotePrefix
    assert ws["B2"].value == "1:30:00" and ws["C2"].value == "12:30:00"


def test_column_letters():
    from adnet_assets.lib.xlsx_sheet_xml import column_letter

    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_a_big_table_gets_a_sheet_of_its_network_rows_and_the_read_me_says_so(tmp_path):
    con = _con()  # ads: 12 rows, 3 of them network members (ad:1, ad:2, ad:9); phones: 2 rows
    target = tmp_path / "scoped.xlsx"
    report = write_workbook(con, target, max_table_rows=5, readme=[("ads", "one row per ad")])
    assert report.network_rows_only == {"ads": 12}
    wb = openpyxl.load_workbook(target)
    assert sorted(c.value for c in _column(wb["ads"], "ad_key")) == ["ad:1", "ad:2", "ad:9"]
    assert report.sheets["ads"] == 3
    assert len(_column(wb["phones"], "phone")) == 2          # under the limit: whole
    notes = [r for r in wb["read me"].iter_rows(values_only=True) if r[0] == "ads"]
    assert notes[0] == ("ads", "one row per ad")
    assert "12 rows in the database" in notes[1][1] and "only the rows about network members" in notes[1][1]
    assert "__adnet_xlsx_members" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    whole = write_workbook(con, tmp_path / "whole.xlsx", max_table_rows=0)
    assert whole.network_rows_only == {} and whole.sheets["ads"] == 12
    assert write_workbook(con, tmp_path / "default.xlsx").sheets["ads"] == 12  # 12 rows: far under the default
