"""Excel export: the analyst tables and one sheet per network, safe to open in Excel.

``write_workbook(con, target, tables=None) -> WorkbookReport`` writes an .xlsx with

* one sheet per analyst table that exists in the database (``ANALYST_TABLES``, or ``tables``),
  without the columns ``LEFT_OUT_COLUMNS`` names (``ad_observations.raw_line``: the database has it);
  a table of more than ``max_table_rows`` rows (``MAX_TABLE_ROWS``) gets only its rows about network
  members (``NETWORK_ROWS``), and the "read me" sheet says so with the table's full row count, and
* one sheet per network (``networks`` / ``network_members``): its members with type, key and
  explanation, sorted by member_type, member_key, and the network's picture beside them when one is
  given (``pictures={network_id: png_path}``). Past ``MAX_NETWORK_SHEETS`` networks (the largest
  get a sheet) the rest are in the ``network_members`` sheet only, and the report counts them.

Ad text is attacker-controlled, so:

* xlsxwriter is used directly; every string goes through ``write_string`` and the workbook is
  opened with ``strings_to_formulas/urls/numbers`` off, so no text ever becomes a formula, a
  hyperlink or a number;
* strings starting with ``= + - @``, tab, CR or LF get the ``quote_prefix`` cell format (the text
  itself is unchanged), so they stay text when a reporter edits the cell;
* control characters (except tab/newline; CR/CRLF become newline), lone surrogates and the XML
  non-characters U+FFFE/U+FFFF are removed; literal ``_xHHHH_`` sequences are escaped as
  ``_x005F_xHHHH_`` (xlsxwriter's and Excel's rule), so Excel shows them as written;
* text longer than Excel's 32,767 characters (counted in UTF-16 units, as Excel counts) is cut to
  32,000 plus a visible marker ``… [cut: N characters]``.

Numbers stay numbers (integers beyond 2**53 and non-finite floats become text so nothing is
silently rounded), timestamps are written as naive UTC datetimes with a date format, lists /
structs / maps as compact JSON text.

Speed and memory: the table sheets are written in bulk. xlsxwriter makes each sheet's frame (header
row, column widths, frozen row, autofilter over the known row count) and the small sheets ("read
me", one per network, their pictures); DuckDB builds the table rows' ``<row>`` XML set-based
(``xlsx_sheet_xml``: the same cell rules as above, so the values a reader sees are those the
cell-by-cell writer gives), and ``_splice`` copies xlsxwriter's package into the target while
streaming those rows, ``BATCH_ROWS`` at a time, into each sheet's part (zip64, deflate level 1).
Before its XML is written a table's rows are staged in a temp table in sheet order, so the XML
query streams without sorting its own (larger) output; DuckDB spills to the connection's temp
directory under its memory limit. A table with a column type ``xlsx_sheet_xml`` has no rule for
(INTERVAL, TIME, STRUCT, MAP, ...) is written cell by cell as before (``_Writer.write_rows``).
The workbook is opened with ``constant_memory=True`` (each finished row of a cell-by-cell sheet is
flushed to a temp file; strings are stored inline, not in the shared-string table) and its temp
files go to a private folder next to the target (``tmpdir``), removed afterwards.

A sheet that would exceed ``MAX_ROWS`` data rows continues on ``"<name> (2)"``, ``(3)``...;
sheet names are unique (case-insensitively, as Excel compares), at most 31 characters and free of
``[]:*?/\\``. Each sheet has a frozen header row, an autofilter over its data and column widths
from the header and the first rows (capped at ``MAX_WIDTH``).

The file is written to a temporary file in the target's folder and moved into place with
``os.replace``, so a reader never sees half a workbook.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from adnet_assets.lib.safe_text import CONTROL_CHARS, strip_controls
from adnet_assets.lib.store import atomic_file, quote_ident
from adnet_assets.lib.xlsx_sheet_xml import (Styles, bulk_rows, column_letter, register_cut, row_xml_sql,
                                             staging_sql, unregister_cut)

if TYPE_CHECKING:  # imported where a workbook is written: loading the definitions stays light
    import xlsxwriter

ANALYST_TABLES: tuple[str, ...] = (
    "snapshots", "ad_observations", "ads", "phones", "directory_matches", "owners", "addresses",
    "series_groups", "rotation_links", "links", "networks", "network_members", "network_travel",
    "network_movement", "billing_counterparts", "billing_roaming", "red_flags", "quarantine",
)
#: columns left out of the workbook's sheets (the database has them): each ad line's raw JSON is most of the
#: bytes of ``ad_observations`` (~940 characters a row, the parsed columns beside it hold the same content)
#: and costs most of the time of writing the workbook
LEFT_OUT_COLUMNS: dict[str, tuple[str, ...]] = {"ad_observations": ("raw_line",)}
MAX_ROWS = 1_048_575          # data rows per sheet (Excel: 1,048,576 rows including the header)
BATCH_ROWS = 10_000           # rows fetched from DuckDB at a time
WIDTH_SAMPLE_ROWS = 200       # rows of the first batch used to size columns
MAX_WIDTH = 60
MIN_WIDTH = 6
MAX_CELL_CHARS = 32_767       # Excel's limit per cell (UTF-16 units)
CUT_TO_CHARS = 32_000
SHEET_NAME_MAX = 31
NETWORK_SHEET_PREFIX = "network "
MEMBER_COLUMNS = ("member_type", "member_key", "explanation")
STAGED_TABLE = "__adnet_xlsx_rows"   # temp table: one table's rows in sheet order while its XML is written
MAX_NETWORK_SHEETS = 200      # a workbook with thousands of tabs is unusable; the rest stay in network_members
#: A table of more rows than this gets a sheet of its rows about network members only (the database has
#: every row, and the "read me" sheet says how many each sheet holds of how many): a workbook of millions
#: of rows is one a reporter's Excel cannot open, and writing it was most of an export's time at scale.
MAX_TABLE_ROWS = 100_000
MEMBERS_TABLE = "__adnet_xlsx_members"  # temp table: (member_type, member_key, node) of every network member


def _member_keys(member_type: str) -> str:
    return f"(SELECT member_key FROM temp.{MEMBERS_TABLE} WHERE member_type = '{member_type}')"


#: For each big table, its rows about network members (SQL over the table's columns; members from
#: ``MEMBERS_TABLE``). A table not named here is written whole, whatever its size.
NETWORK_ROWS: dict[str, str] = {
    "ad_observations": f"ad_key IN {_member_keys('ad')}",
    "ads": f"ad_key IN {_member_keys('ad')}",
    "rotation_links": f"ad_key IN {_member_keys('ad')}",
    "phones": f"phone IN {_member_keys('phone')}",
    "series_groups": f"phone IN {_member_keys('phone')}",
    "directory_matches": f"phone IN {_member_keys('phone')} OR owner_id IN {_member_keys('owner')}",
    "owners": f"owner_id IN {_member_keys('owner')}",
    "addresses": f"address_key IN {_member_keys('address')}",
    "links": f"a IN (SELECT node FROM temp.{MEMBERS_TABLE}) OR b IN (SELECT node FROM temp.{MEMBERS_TABLE})",
    "red_flags": (f"entity_type = 'network' OR EXISTS (SELECT 1 FROM temp.{MEMBERS_TABLE} m "
                  "WHERE m.member_type = entity_type AND m.member_key = entity_key)"),
}

_HOSTILE_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_MAX_EXACT_INT = 2 ** 53


@dataclass(frozen=True)
class WorkbookReport:
    path: Path
    sheets: dict[str, int] = field(default_factory=dict)   # sheet name -> data rows (header excluded)
    networks_without_sheet: int = 0                         # past max_network_sheets: in network_members only
    network_rows_only: dict[str, int] = field(default_factory=dict)  # table -> its rows in the database, when
                                                                     # its sheet holds only those about networks


# ---------------------------------------------------------------- cell values

def clean_text(value: str) -> str:
    """Normalise line ends, drop control characters / lone surrogates, cut over-long text."""
    return cut_text(strip_controls(value))


def cut_text(value: str) -> str:
    """Cut text Excel cannot hold (> 32,767 UTF-16 units) to 32,000 units plus a visible marker."""
    if len(value) <= MAX_CELL_CHARS // 2:
        return value
    units = len(value.encode("utf-16-le")) // 2
    if units <= MAX_CELL_CHARS:
        return value
    kept = value.encode("utf-16-le")[: CUT_TO_CHARS * 2].decode("utf-16-le", errors="ignore")
    return f"{kept}… [cut: {len(value) - len(kept)} characters]"


def is_hostile(raw: str) -> bool:
    """Text Excel would read as a formula (or that starts with a tab/line break) when a user edits it."""
    return raw.startswith(_HOSTILE_START)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return _utc_naive(obj).isoformat() if isinstance(obj, dt.datetime) else obj.isoformat()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).hex()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _utc_naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


class _Writer:
    """Holds the workbook, its formats and the used sheet names; writes one value into one cell."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        self.wb = workbook
        self.header = workbook.add_format({"bold": True, "bottom": 1})
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        # fixed style numbers, known before any cell is written: the bulk sheets' XML refers to them
        self.styles = Styles(quoted=self.quoted._get_xf_index(), datetime=self.datetime._get_xf_index(),
                             date=self.date._get_xf_index())
        self.header._get_xf_index()
        self.used_names: set[str] = set()
        self.report: dict[str, int] = {}

    # -- sheet names
    def sheet_name(self, wanted: str) -> str:
        base = _BAD_SHEET_CHARS.sub("_", clean_text(wanted)).strip().strip("'") or "sheet"
        if base.lower() == "history":           # reserved by Excel
            base = "history_"
        candidate, n = base[:SHEET_NAME_MAX].rstrip("'"), 1
        while candidate.lower() in self.used_names:
            n += 1
            suffix = f" ({n})"
            candidate = base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
        self.used_names.add(candidate.lower())
        return candidate

    # -- cells
    def write_header(self, ws, columns: list[str]) -> None:
        for c, name in enumerate(columns):
            self.write_text(ws, 0, c, str(name), self.header)

    def write_text(self, ws, row: int, col: int, raw: str, fmt=None) -> None:
        # most cells are short and clean: then the text is the raw value (one scan, no copy)
        clean = len(raw) <= MAX_CELL_CHARS // 2 and not CONTROL_CHARS.search(raw)
        text = raw if clean else clean_text(raw)
        if not text:
            return
        if is_hostile(raw) or is_hostile(text):
            fmt = self.quoted
        ws.write_string(row, col, text, fmt)

    def write_value(self, ws, row: int, col: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            self.write_text(ws, row, col, value)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value)
        elif isinstance(value, int):
            if abs(value) <= _MAX_EXACT_INT:
                ws.write_number(row, col, value)
            else:
                ws.write_string(row, col, str(value))
        elif isinstance(value, (float, decimal.Decimal)):
            f = float(value)
            if math.isfinite(f) and (not isinstance(value, decimal.Decimal) or abs(f) <= _MAX_EXACT_INT):
                ws.write_number(row, col, f)
            else:
                ws.write_string(row, col, str(value))
        elif isinstance(value, dt.datetime):
            value = _utc_naive(value)
            if 1900 <= value.year <= 9999:
                ws.write_datetime(row, col, value, self.datetime)
            else:
                ws.write_string(row, col, value.isoformat())
        elif isinstance(value, dt.date):
            if 1900 <= value.year <= 9999:
                ws.write_datetime(row, col, value, self.date)
            else:
                ws.write_string(row, col, value.isoformat())
        elif isinstance(value, (list, tuple, dict, set, frozenset)):
            self.write_text(ws, row, col, json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                                     default=_json_default))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            ws.write_string(row, col, cut_text(bytes(value).hex()))
        else:                                   # time, timedelta, UUID, anything else: as text
            self.write_text(ws, row, col, str(value))

    # -- sheets
    def write_rows(self, title: str, columns: list[str], cursor):
        """Stream ``cursor`` into one or more sheets named after ``title``; returns the first sheet."""
        batch = cursor.fetchmany(BATCH_ROWS)
        widths = _widths(columns, batch[:WIDTH_SAMPLE_ROWS])
        ws, row, first = None, 0, None
        while True:
            for values in batch:
                if ws is None or row > MAX_ROWS:
                    if ws is not None:
                        self._finish(ws, columns, row)
                    ws, row = self._new_sheet(title, columns, widths), 1
                    first = first or ws
                for c, v in enumerate(values):
                    self.write_value(ws, row, c, v)
                row += 1
            if len(batch) < BATCH_ROWS:
                break
            batch = cursor.fetchmany(BATCH_ROWS)
            if not batch:
                break
        if ws is None:                           # empty table: still a sheet with its header
            ws, row = self._new_sheet(title, columns, widths), 1
            first = ws
        self._finish(ws, columns, row)
        return first

    def _new_sheet(self, title: str, columns: list[str], widths: list[float]):
        ws = self.wb.add_worksheet(self.sheet_name(title))
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        self.write_header(ws, columns)
        ws.freeze_panes(1, 0)
        return ws

    def _finish(self, ws, columns: list[str], next_row: int) -> None:
        if columns:
            ws.autofilter(0, 0, max(next_row - 1, 0), len(columns) - 1)
        self.report[ws.get_name()] = next_row - 1


@dataclass
class _BulkTable:
    """A table whose sheets' rows DuckDB writes as XML: the staging statement, the XML query and
    (sheet part, row count) per sheet."""
    stage: str
    sql: str
    n_columns: int
    parts: list[tuple[str, int]]


def _write_table_bulk(con: duckdb.DuckDBPyConnection, writer: _Writer, title: str,
                      select_sql: str) -> _BulkTable | None:
    """Make the table's sheet(s) with header, widths, frozen row and filter; the rows come later
    (``_splice``). None when a column type has no SQL rule (then the table is written cell by cell)."""
    described = con.execute(f"DESCRIBE {select_sql}").fetchall()
    columns, dtypes = [r[0] for r in described], [str(r[1]) for r in described]
    ordered = bool(con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0])
    sql = row_xml_sql(STAGED_TABLE, columns, dtypes, writer.styles, MAX_ROWS, ordered_scan=ordered)
    if sql is None:
        return None
    total = con.execute(f"SELECT count(*) FROM ({select_sql}) AS _t").fetchall()[0][0]
    sample = con.execute(f"SELECT * FROM ({select_sql}) AS _t ORDER BY ALL LIMIT {int(WIDTH_SAMPLE_ROWS)}").fetchall()
    widths = _widths(columns, sample)
    counts = [min(MAX_ROWS, total - start) for start in range(0, total, MAX_ROWS)] or [0]
    parts = []
    for count in counts:
        ws = writer._new_sheet(title, columns, widths)
        writer._finish(ws, columns, count + 1)
        parts.append((f"xl/worksheets/sheet{ws.index + 1}.xml", count))
    return _BulkTable(stage=staging_sql(select_sql, columns, STAGED_TABLE), sql=sql, n_columns=len(columns),
                      parts=parts)


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def _splice(con: duckdb.DuckDBPyConnection, base: Path, out: Path, bulk: list[_BulkTable]) -> None:
    """Copy the workbook ``base`` to ``out``, streaming each bulk sheet's rows from DuckDB into its part."""
    where = {part: (table, i) for table in bulk for i, (part, _) in enumerate(table.parts)}
    streams = None
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename not in where:
                zout.writestr(info, data)
                continue
            table, i = where[info.filename]
            if i == 0:
                con.execute(table.stage)
                streams = bulk_rows(con.execute(table.sql), [n for _, n in table.parts], BATCH_ROWS)
            rows = next(streams)
            count = table.parts[i][1]
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:
                raise RuntimeError(f"{info.filename}: no <sheetData> in the sheet xlsxwriter wrote")
            if count:
                ref = f"A1:{column_letter(max(table.n_columns - 1, 0))}{count + 1}".encode()
                head = _DIMENSION.sub(b'<dimension ref="' + ref + b'"/>', head, count=1)
            zinfo = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            try:                                 # fast: these are the big parts
                zinfo.compress_level = 1         # Python 3.13+
            except AttributeError:
                zinfo._compresslevel = 1         # Python 3.11/3.12
            with zout.open(zinfo, "w", force_zip64=True) as fh:
                fh.write(head)
                for chunk in rows:
                    fh.write(chunk)
                fh.write(sep + tail)
            if i == len(table.parts) - 1:
                con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(STAGED_TABLE)}")


class _Rows:
    """A list of rows with the cursor interface ``write_rows`` reads."""

    def __init__(self, rows: list[tuple]):
        self._rows, self._at = list(rows), 0

    def fetchmany(self, n: int) -> list[tuple]:
        batch = self._rows[self._at:self._at + n]
        self._at += n
        return batch


def _display_len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 19
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        return min(len(f"{value:.6g}"), 15)
    if isinstance(value, (list, tuple, dict)):
        return MAX_WIDTH
    text = str(value)
    return max((len(line) for line in text[: MAX_WIDTH * 4].split("\n")), default=0)


def _widths(columns: list[str], rows: list[tuple]) -> list[float]:
    out = []
    for c, name in enumerate(columns):
        longest = max([len(str(name)) + 2] + [_display_len(r[c]) for r in rows])
        out.append(float(min(max(longest + 1, MIN_WIDTH), MAX_WIDTH)))
    return out


# ---------------------------------------------------------------- database side

def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = current_schema()").fetchall()
    return {r[0] for r in rows}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()]


def _write_networks(con: duckdb.DuckDBPyConnection, writer: _Writer, existing: set[str],
                    pictures: dict[str, Path], max_sheets: int) -> int:
    """One sheet per network, largest first, up to ``max_sheets``; returns how many got no sheet."""
    if "network_members" not in existing:
        return 0
    member_cols = set(_columns(con, "network_members"))
    if not {"network_id", *MEMBER_COLUMNS} <= member_cols:
        return 0
    sizes = con.execute("SELECT network_id, count(*) FROM network_members WHERE network_id IS NOT NULL "
                        "GROUP BY network_id").fetchall()
    ids = [nid for nid, _ in sorted(sizes, key=lambda r: (-r[1], _id_order(r[0])))]
    select = ", ".join(quote_ident(c) for c in MEMBER_COLUMNS)
    for network_id in ids[:max_sheets]:
        cursor = con.execute(
            f"SELECT {select} FROM network_members WHERE network_id = ? "
            "ORDER BY member_type, member_key", [network_id])
        ws = writer.write_rows(f"{NETWORK_SHEET_PREFIX}{network_id}", list(MEMBER_COLUMNS), cursor)
        picture = pictures.get(network_id)
        if picture is not None and Path(picture).is_file():
            ws.insert_image(1, len(MEMBER_COLUMNS) + 1, str(picture), {"object_position": 3})
    return max(len(ids) - max_sheets, 0)


def _id_order(network_id: str) -> tuple[int, str]:
    """N-2 before N-10."""
    digits = re.sub(r"\D", "", network_id)
    return (int(digits) if digits else 0, network_id)


# ---------------------------------------------------------------- entry point

def write_workbook(con: duckdb.DuckDBPyConnection, target: Path, *, tables: list[str] | None = None,
                   network_sheets: bool = True, pictures: dict[str, Path] | None = None,
                   max_network_sheets: int = MAX_NETWORK_SHEETS, max_table_rows: int | None = MAX_TABLE_ROWS,
                   readme: list[tuple[str, str]] | None = None) -> WorkbookReport:
    """Write the analyst tables (and one sheet per network, with its picture) to ``target`` atomically.

    ``readme`` rows (topic, text: e.g. a sheet's name and what it holds) go first, on a sheet of
    their own named "read me", followed by a row for each table whose sheet holds only its rows about
    network members: a table of more than ``max_table_rows`` rows that ``NETWORK_ROWS`` can scope
    (None or 0: every table whole)."""
    import xlsxwriter

    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    existing = _existing_tables(con)
    wanted = list(ANALYST_TABLES if tables is None else tables)
    scoped = _tables_scoped_to_networks(con, [t for t in dict.fromkeys(wanted) if t in existing], existing,
                                        max_table_rows)
    if scoped:
        readme = list(readme or []) + [
            (table, f"only the rows about network members: {total:,} rows in the database, which has them all "
                    f"(tables over {max_table_rows:,} rows are cut to the networks here)")
            for table, total in scoped.items()]

    work_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder))
    try:
        with atomic_file(target, suffix=".tmp.xlsx") as tmp_file:
            base = work_dir / "base.xlsx"        # xlsxwriter's workbook; the bulk rows are spliced in after
            workbook = xlsxwriter.Workbook(str(base), {
                "constant_memory": True,
                "tmpdir": str(work_dir),
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            })
            writer = _Writer(workbook)
            without_sheet = 0
            bulk: list[_BulkTable] = []
            try:
                if readme:
                    writer.write_rows("read me", ["topic", "text"], _Rows(readme))
                for table in dict.fromkeys(wanted):
                    if table not in existing:
                        continue
                    # in a fixed order: the same database gives the same workbook (a table's
                    # storage order is whatever order the step that built it inserted its rows in)
                    left_out = [c for c in LEFT_OUT_COLUMNS.get(table, ()) if c in _columns(con, table)]
                    select = f"* EXCLUDE ({', '.join(map(quote_ident, left_out))})" if left_out else "*"
                    where = f" WHERE {NETWORK_ROWS[table]}" if table in scoped else ""
                    planned = _write_table_bulk(con, writer, table, f"SELECT {select} FROM {quote_ident(table)}{where}")
                    if planned is not None:
                        bulk.append(planned)
                        continue
                    cursor = con.execute(f"SELECT {select} FROM {quote_ident(table)}{where} ORDER BY ALL")
                    columns = [d[0] for d in cursor.description]
                    writer.write_rows(table, columns, cursor)
                if network_sheets:
                    without_sheet = _write_networks(con, writer, existing, pictures or {}, max_network_sheets)
                if not writer.report:                    # an .xlsx needs one sheet
                    workbook.add_worksheet(writer.sheet_name("empty"))
                    writer.report["empty"] = 0
            finally:
                workbook.close()
            if bulk:
                register_cut(con, cut_text)
                try:
                    _splice(con, base, Path(tmp_file), bulk)
                finally:
                    unregister_cut(con)
                    con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(STAGED_TABLE)}")
            else:
                shutil.move(str(base), str(tmp_file))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(MEMBERS_TABLE)}")
    return WorkbookReport(path=target, sheets=dict(writer.report), networks_without_sheet=without_sheet,
                          network_rows_only=scoped)


def _tables_scoped_to_networks(con: duckdb.DuckDBPyConnection, tables: list[str], existing: set[str],
                               max_table_rows: int | None) -> dict[str, int]:
    """{table: rows in the database} of the tables whose sheet holds only their rows about network
    members (over ``max_table_rows`` rows, scoped by ``NETWORK_ROWS``); makes ``MEMBERS_TABLE`` for them."""
    if not max_table_rows or "network_members" not in existing:
        return {}
    totals = {t: con.execute(f"SELECT count(*) FROM {quote_ident(t)}").fetchall()[0][0]
              for t in tables if t in NETWORK_ROWS}
    scoped = {t: n for t, n in totals.items() if n > max_table_rows}
    if scoped:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {quote_ident(MEMBERS_TABLE)} AS
                        SELECT DISTINCT member_type, member_key, member_type || ':' || member_key AS node
                        FROM network_members""")
    return scoped
