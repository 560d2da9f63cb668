"""Excel export: the analyst tables and one sheet per network, safe to open in Excel.

``write_workbook(con, target, tables=None) -> WorkbookReport`` writes an .xlsx with

* one sheet per analyst table that exists in the database (``ANALYST_TABLES``, or ``tables``),
  without the columns ``LEFT_OUT_COLUMNS`` names (``ad_observations.raw_line``: the database has it), and
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
  non-characters U+FFFE/U+FFFF are removed; literal ``_xHHHH_`` sequences are left to xlsxwriter,
  which escapes them;
* text longer than Excel's 32,767 characters (counted in UTF-16 units, as Excel counts) is cut to
  32,000 plus a visible marker ``… [cut: N characters]``.

Numbers stay numbers (integers beyond 2**53 and non-finite floats become text so nothing is
silently rounded), timestamps are written as naive UTC datetimes with a date format, lists /
structs / maps as compact JSON text.

Memory: rows are streamed from DuckDB in batches of ``BATCH_ROWS`` and the workbook is opened with
``constant_memory=True``: a full ``ads`` or ``ad_observations`` table can be millions of rows, and
xlsxwriter's default mode keeps every cell as a Python object until ``close()`` (gigabytes). In
constant-memory mode each finished row is flushed to a temp file, which is fine because we write
strictly row by row, sheet by sheet. Its temp files (and xlsxwriter's packaging temp files) go to
a private folder next to the target (``tmpdir``), never the system temp dir, and are removed
afterwards. (Strings are then stored inline instead of in the shared-string table: a larger
file, same content.)

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from adnet_assets.lib.safe_text import CONTROL_CHARS, strip_controls
from adnet_assets.lib.store import atomic_file, quote_ident

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
MAX_NETWORK_SHEETS = 200      # a workbook with thousands of tabs is unusable; the rest stay in network_members

_HOSTILE_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_MAX_EXACT_INT = 2 ** 53


@dataclass(frozen=True)
class WorkbookReport:
    path: Path
    sheets: dict[str, int] = field(default_factory=dict)   # sheet name -> data rows (header excluded)
    networks_without_sheet: int = 0                         # past max_network_sheets: in network_members only


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
                   max_network_sheets: int = MAX_NETWORK_SHEETS,
                   readme: list[tuple[str, str]] | None = None) -> WorkbookReport:
    """Write the analyst tables (and one sheet per network, with its picture) to ``target`` atomically.

    ``readme`` rows (topic, text: e.g. a sheet's name and what it holds) go first, on a sheet of
    their own named "read me"."""
    import xlsxwriter

    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    existing = _existing_tables(con)
    wanted = list(ANALYST_TABLES if tables is None else tables)

    work_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder))
    try:
        with atomic_file(target, suffix=".tmp.xlsx") as tmp_file:
            workbook = xlsxwriter.Workbook(str(tmp_file), {
                "constant_memory": True,
                "tmpdir": str(work_dir),
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            })
            writer = _Writer(workbook)
            without_sheet = 0
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
                    cursor = con.execute(f"SELECT {select} FROM {quote_ident(table)} ORDER BY ALL")
                    columns = [d[0] for d in cursor.description]
                    writer.write_rows(table, columns, cursor)
                if network_sheets:
                    without_sheet = _write_networks(con, writer, existing, pictures or {}, max_network_sheets)
                if not writer.report:                    # an .xlsx needs one sheet
                    workbook.add_worksheet(writer.sheet_name("empty"))
                    writer.report["empty"] = 0
            finally:
                workbook.close()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return WorkbookReport(path=target, sheets=dict(writer.report), networks_without_sheet=without_sheet)
