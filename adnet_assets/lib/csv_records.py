"""Reading the CSV files people hand us (directory extracts, billing records), set-based, losing nothing.

One reader for every CSV input of the data folder (``directory/*.csv``, ``billing/*.csv``): the
caller says which columns it knows and which it needs (``CsvSpec``); the reader fills a staging
table with one row per record (every field as trimmed text, NULL when empty) and a quarantine
table with one row per record or file it could not read. What the values *mean* (phones, times,
names) is the caller's business.

How a file is read:

* **Encoding**, per file: a UTF-8 BOM is stripped (``utf-8-sig``); UTF-32 and UTF-16 with a BOM
  are read as such (Excel's "Unicode text"), and so is UTF-16 without a BOM when every other byte
  of its start is NUL (``utf-16-le``/``utf-16-be``); otherwise UTF-8. A file that is not UTF-8 is
  read as cp1252 (Windows Norwegian/Swedish exports: "S\\xf8ren" -> "Søren"), or latin-1 when it
  holds bytes cp1252 leaves undefined. A file that is UTF-8 except on some lines (two exports
  pasted together) keeps UTF-8 and reads only those lines as cp1252. ``CsvFileInfo.encoding`` says
  which was used, so a wrong guess can be seen.
* **Line ends**: CRLF and old-Mac CR line ends are read as LF.
* **Delimiter**: sniffed from the header line (the first non-blank line): the one of ``,`` ``;``
  tab ``|`` that makes the most required columns appear (ties: the one giving more known
  columns, then more columns, then the order above). Column names are matched
  case-insensitively, surrounding spaces, BOMs and zero-width spaces ignored; unknown columns
  are ignored (named in the notes); missing optional columns are NULL. A file without a required
  column, or with a known column twice, is rejected whole (one quarantine row at its header line
  naming the expected columns and saying how many data lines were not loaded); an empty file is
  one quarantine row with line NULL.
* **Rows and line numbers**: the header is line 1 (the first non-blank line), the first data row
  line 2; numbers are *physical* lines of the file, so a row whose quoted field spans lines has
  the number of the line it starts on. Record boundaries are found set-based in DuckDB with the
  quoting rules DuckDB's own CSV reader uses (a field is quoted only when it *starts* with ``"``;
  ``""`` inside is a quote; quotes inside unquoted fields are literal): each line is classified
  by two regular expressions ("does it end inside a quoted field when it starts outside / inside
  one?"), and the state after each line follows from the last line that fixes it plus the
  number of lines that flip it (window functions, no loop over lines). A quoted field never
  closed, or one that would swallow more than ``max_row_lines`` lines, is a stray quote: that
  line is set aside and the lines after it are read again from a clean state. Each record is
  then parsed by DuckDB's ``read_csv`` (all VARCHAR, explicit columns, strict mode) with its line
  number written in front of it, so rows with the wrong number of fields come back in DuckDB's
  rejects table *with* their line number.
* **Files outside their folder**: with ``root`` given (``directory/``, ``billing/``), a file that is
  a link resolving outside it is never opened: one quarantine row (line NULL) says so. A file that
  cannot be read (permissions) is one quarantine row too; nothing stops the run. A lone CR inside a
  line is data (DuckDB's reader would take it for a line end), and a column name quoted in a reason
  has its control characters blanked.
* **Quarantine** rows are ``(source_file, line_no, reason, raw_line)`` with the raw record cut at
  ``QUARANTINE_LINE_CHARS``: wrong field count, text after a closing quote, unclosed quotes, a record
  longer than ``MAX_ROW_BYTES``.
* **Values**: every field is trimmed of ``FIELD_WHITESPACE`` (spaces, tabs, line breaks, Unicode
  spaces, zero-width space, BOM); a field that is nothing else is NULL. Blank lines are skipped.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from adnet_assets.lib.snapshot_lines import QUARANTINE_LINE_CHARS, invalid_utf8_lines
from adnet_assets.lib.store import sql_path

__all__ = [
    "CsvReadReport",
    "checked_country",
    "read_csv_files_into",
    "DELIMITERS",
    "FIELD_WHITESPACE",
    "CsvFileInfo",
    "CsvSpec",
    "csv_files",
    "decode_csv_bytes",
    "field_sql",
    "normalise_newlines",
    "read_csv_files",
    "sniff_header",
]

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
#: A record longer than this is set aside (DuckDB's CSV reader needs a bound; no row of ours comes near).
MAX_ROW_BYTES = 2_000_000
#: Stripped from both ends of every field (spaces, tabs, line breaks, Unicode spaces, zero-width space, BOM);
#: a field that is nothing else is NULL.
FIELD_WHITESPACE = " \t\n\r\x0b\x0c\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200C)) + \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
_WS_SQL = "'" + FIELD_WHITESPACE + "'"


def field_sql(column_sql: str) -> str:
    """SQL for a text value trimmed of ``FIELD_WHITESPACE``, NULL when nothing is left."""
    return f"nullif(trim({column_sql}, {_WS_SQL}), '')"


@dataclass(frozen=True)
class CsvSpec:
    """What a kind of CSV file holds: its known columns (in contract order) and which are required.

    ``max_row_lines``: a quoted field may hold line breaks, but a record running over more than this
    many physical lines is a quote that was never closed; that line is set aside and reading starts
    again on the next line (instead of one stray ``"`` swallowing the rest of the file).
    """

    columns: tuple[str, ...]
    required: tuple[str, ...]
    max_row_lines: int = 8

    @property
    def expected(self) -> str:
        return ",".join(self.columns)


@dataclass
class CsvFileInfo:
    """How one file was read. ``rejected`` when the whole file was set aside (empty, bad header)."""

    source_file: str
    encoding: str | None = None
    delimiter: str | None = None  # "," ";" "tab" "|"
    columns: list[str] = field(default_factory=list)
    rejected: bool = False
    n_records: int = 0
    n_quarantined: int = 0
    notes: list[str] = field(default_factory=list)


def csv_files(folder: Path) -> list[Path]:
    """``*.csv`` files (any case) directly in ``folder``, sorted, skipping hidden, temporary and Excel lock files."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith((".", "~$")))


# --------------------------------------------------------------------------------- decoding

def _bomless_utf16(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the file's start looks like UTF-16 text without a BOM (ASCII
    characters with a NUL byte beside each), else None. UTF-8 text never holds NUL in earnest."""
    head = data[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    pairs = len(head) // 2
    odd = head[1::2].count(0)
    even = head[0::2].count(0)
    if odd >= 0.4 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.4 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding used). Never raises: see the module docstring for the order of guesses."""
    if data.startswith(codecs.BOM_UTF8):
        body, label = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts with FF FE
        try:
            return data.decode("utf-32"), "utf-32"
        except UnicodeDecodeError:
            body, label = data, "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            body, label = data, "utf-8"
    elif (wide := _bomless_utf16(data)) is not None:
        try:
            return data.decode(wide), wide
        except UnicodeDecodeError:
            body, label = data, "utf-8"
    else:
        body, label = data, "utf-8"
    try:
        return body.decode("utf-8"), label
    except UnicodeDecodeError:
        pass
    bad = invalid_utf8_lines(body)
    raw_lines = body.split(b"\n")
    bad_set = set(bad)
    good_non_ascii = any(not line.isascii() for i, line in enumerate(raw_lines, 1) if i not in bad_set)
    if good_non_ascii:
        # UTF-8 text with some lines from a Windows export: keep UTF-8, read only those lines as cp1252.
        parts = [
            _decode_legacy(line)[0] if i in bad_set else line.decode("utf-8")
            for i, line in enumerate(raw_lines, 1)
        ]
        shown = ",".join(str(n) for n in bad[:20]) + (",..." if len(bad) > 20 else "")
        return "\n".join(parts), f"utf-8+cp1252 (lines {shown})"
    return _decode_legacy(body)


def _decode_legacy(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def normalise_newlines(text: str) -> str:
    """CRLF -> LF; a text with CR but no LF (old Mac) -> LF."""
    text = text.replace("\r\n", "\n")
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    return text


def _header_fields(line: str, delimiter: str) -> list[str]:
    row = next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    return [c.replace("\ufeff", "").replace("\u200b", "").strip().strip('"').strip().lower() for c in row]


def sniff_header(line: str, spec: CsvSpec) -> tuple[str, list[str]]:
    """(delimiter, column names) of a header line: the delimiter that makes the most required columns appear."""
    best: tuple[tuple[int, int, int], str, list[str]] | None = None
    for rank, delim in enumerate(DELIMITERS):
        names = _header_fields(line, delim)
        score = (sum(c in names for c in spec.required), sum(n in spec.columns for n in names),
                 len(names) * (len(names) > 1) - rank)
        if best is None or score > best[0]:
            best = (score, delim, names)
    assert best is not None
    return best[1], best[2]


# ------------------------------------------------------------------ record boundaries (SQL)

def _quote_regexes(delim: str) -> tuple[str, str]:
    """RE2 patterns: a line ends inside a quoted field when it starts (a) outside, (b) inside one."""
    d = "\\t" if delim == "\t" else delim
    D, ND, NDQ = f"[{d}]", f"[^{d}]", f'[^{d}"]'
    open_tail = '"(?:[^"]|"")*'
    quoted = f'"(?:[^"]|"")*"(?:{NDQ}{ND}*)?'
    unquoted = f"(?:{NDQ}{ND}*)?"
    fld = f"(?:{quoted}|{unquoted})"
    open_if_out = f"(?:{fld}{D})*{open_tail}"
    open_if_in = f'(?:[^"]|"")*|(?:[^"]|"")*"(?:{NDQ}{ND}*)?(?:{D}{fld})*{D}{open_tail}'
    return open_if_out, open_if_in


_LINES, _RECORDS, _PARSED, _WHY = "_adnet_csv_lines", "_adnet_csv_records", "_adnet_csv_parsed", "_adnet_csv_why"
_REJECTS, _REJECT_SCANS = "_adnet_csv_rejects", "_adnet_csv_reject_scans"
_WORK_TABLES = (_LINES, _RECORDS, _PARSED, _WHY, _REJECTS, _REJECT_SCANS)

_RECORDS_SQL = f"""
WITH f AS (
  SELECT line_no, line, forced_reason IS NOT NULL AS forced, forced_reason,
         CASE WHEN forced_reason IS NOT NULL THEN false WHEN NOT contains(line, '"') THEN false
              ELSE regexp_full_match(line, $open_if_out) END AS oo,
         CASE WHEN forced_reason IS NOT NULL THEN false WHEN NOT contains(line, '"') THEN true
              ELSE regexp_full_match(line, $open_if_in) END AS oi
  FROM {_LINES}
), k AS (
  SELECT *, oo = oi AS is_const,
         sum(CASE WHEN oo AND NOT oi THEN 1 ELSE 0 END) OVER (ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS flips
  FROM f
), s AS (
  SELECT *,
         last_value(CASE WHEN is_const THEN oo END IGNORE NULLS)
           OVER (ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS fixed_state,
         last_value(CASE WHEN is_const THEN flips END IGNORE NULLS)
           OVER (ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS fixed_flips
  FROM k
), o AS (
  SELECT *, CASE WHEN fixed_state IS NULL THEN flips % 2 = 1
                 ELSE fixed_state <> ((flips - fixed_flips) % 2 = 1) END AS open_after
  FROM s
), b AS (
  SELECT *, coalesce(lag(open_after) OVER (ORDER BY line_no), false) AS open_before FROM o
), r AS (
  SELECT *, sum(CASE WHEN open_before THEN 0 ELSE 1 END)
              OVER (ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS rec
  FROM b
)
SELECT min(line_no) AS line_no, max(line_no) AS last_line, count(*) AS n_lines,
       string_agg(line, chr(10) ORDER BY line_no) AS record,
       arg_max(open_after, line_no) AS unterminated, bool_or(forced) AS forced,
       max(forced_reason) AS forced_reason
FROM r GROUP BY rec
"""


_STRAY = ': read as a stray " (write "" for a quote inside a quoted field); the lines after it were read on their own'


def _records(con: duckdb.DuckDBPyConnection, delim: str, max_row_lines: int) -> None:
    """Fill the records table from the lines table, setting stray-quote lines aside."""
    open_if_out, open_if_in = _quote_regexes(delim)
    params = {"open_if_out": open_if_out, "open_if_in": open_if_in}
    while True:  # one pass per stray quote; a file has few, and each pass sets a line aside
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_RECORDS} AS {_RECORDS_SQL}", params)
        bad = con.execute(f"""
            SELECT line_no, last_line, n_lines > $max AS too_long FROM {_RECORDS}
            WHERE NOT forced AND (unterminated OR n_lines > $max) ORDER BY line_no LIMIT 1""",
                          {"max": max_row_lines}).fetchone()
        if bad is None:
            return
        line_no, last_line, too_long = bad
        reason = (f"quoted field opened on this line is not closed within {max_row_lines} lines" if too_long
                  else "quoted field opened on this line is never closed" if last_line == line_no
                  else f"quoted field opened on this line is never closed (runs to the end, line {last_line})")
        con.execute(f"UPDATE {_LINES} SET forced_reason = ? WHERE line_no = ?", [reason + _STRAY, line_no])


def _parse_records(con: duckdb.DuckDBPyConnection, delim: str, n_fields: int, tmpdir: str) -> None:
    """Parse the records with DuckDB's read_csv into the parsed table (columns l, c0..), and the
    why table (line_no, last_line, n_lines, reason) for every record it could not read."""
    body = con.execute(f"""
        SELECT string_agg(CAST(line_no AS VARCHAR) || $d || record, chr(10) ORDER BY line_no)
        FROM {_RECORDS} WHERE NOT forced AND trim(record) <> ''""", {"d": delim}).fetchone()[0]
    # DuckDB's reader takes a lone CR inside a line for a line end (and can fail outright on one in an
    # unquoted field): each CR travels as a private-use character the text does not hold, and comes back.
    body = body or ""
    stand_in = next(chr(c) for c in range(0xE000, 0xF8FF) if chr(c) not in body)
    tmp = Path(tmpdir) / "records.csv"
    tmp.write_text(body.replace("\r", stand_in) + "\n", encoding="utf-8")
    col_names = ["l"] + [f"c{i}" for i in range(n_fields)]
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in col_names) + "}"
    restored = ", ".join(["l"] + [f"replace(c{i}, chr({ord(stand_in)}), chr(13)) AS c{i}" for i in range(n_fields)])
    delim_sql = delim.replace("'", "''")
    for t in (_REJECTS, _REJECT_SCANS):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_PARSED} AS
        SELECT {restored} FROM read_csv('{sql_path(tmp)}', header = false, auto_detect = false, delim = '{delim_sql}',
                               quote = '"', escape = '"', columns = {columns}, strict_mode = true,
                               max_line_size = {MAX_ROW_BYTES},
                               null_padding = false, store_rejects = true, rejects_table = '{_REJECTS}',
                               rejects_scan = '{_REJECT_SCANS}', parallel = false)
        WHERE l IS NOT NULL""")
    # The reason from DuckDB's rejects table, found by the line number written in front of the record.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_WHY} AS
        WITH rj AS (
          SELECT TRY_CAST(regexp_extract(csv_line, '^([0-9]+)', 1) AS BIGINT) AS line_no, error_type,
                 TRY_CAST(regexp_extract(error_message, 'Found: ([0-9]+)', 1) AS BIGINT) - 1 AS found
          FROM {_REJECTS}
        ), why AS (
          SELECT line_no,
                 CASE WHEN bool_or(error_type IN ('TOO MANY COLUMNS', 'MISSING COLUMNS'))
                        THEN 'row has ' || coalesce(CAST(CASE WHEN bool_or(error_type = 'TOO MANY COLUMNS')
                                                             THEN max(found) ELSE min(found) END AS VARCHAR), 'a different number of')
                             || ' fields, the header has {n_fields}'
                      WHEN bool_or(error_type = 'UNQUOTED VALUE')
                        THEN 'text after the closing quote of a quoted field (a quote inside a field must be written "")'
                      WHEN bool_or(error_type = 'LINE SIZE OVER MAXIMUM')
                        THEN 'row is longer than {MAX_ROW_BYTES:,} bytes: no listing or record is that long '
                             || '(look for a missing line break or a document pasted into a field)'
                      ELSE 'not readable as a CSV row: ' || string_agg(DISTINCT error_type, ', ' ORDER BY error_type) END AS reason
          FROM rj WHERE line_no IS NOT NULL GROUP BY line_no
        )
        SELECT r.line_no, r.last_line, r.n_lines,
               coalesce(w.reason, 'not readable as a CSV row with the header''s {n_fields} fields') AS reason
        FROM {_RECORDS} r LEFT JOIN why w USING (line_no)
        WHERE NOT r.forced AND trim(r.record) <> ''
          AND r.line_no NOT IN (SELECT CAST(l AS BIGINT) FROM {_PARSED})""")


# --------------------------------------------------------------------------- the reader

def _cut(text: str | None) -> str | None:
    return None if text is None else text[:QUARANTINE_LINE_CHARS]


def read_csv_files(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, str]], spec: CsvSpec, *,
                   rows_table: str, quarantine_table: str, root: Path | None = None) -> list[CsvFileInfo]:
    """Read CSV files into ``rows_table``; what cannot be read goes to ``quarantine_table``.

    ``files`` are ``(path, source_file)`` pairs (``source_file``: the path as reported, relative to
    the data folder). Both tables must exist: ``rows_table`` with the columns ``source_file,
    line_no``, then one VARCHAR per ``spec.columns`` (in that order), then ``record`` (the raw
    record text); ``quarantine_table`` with ``source_file, line_no, reason, raw_line``. Rows are
    inserted by position. Records whose fields are all empty are inserted too (the caller decides
    what they mean). ``root`` (the files' folder): a file resolving outside it (a link) is not read.
    Runs inside the caller's transaction; leaves no work table behind.
    """
    infos: list[CsvFileInfo] = []
    try:
        # beside DuckDB's spill files in the data folder (store.connect sets it), not the system temp:
        # the records are names, numbers and addresses
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        spill = spill if spill and os.path.isabs(spill) and os.path.isdir(spill) else None
        with tempfile.TemporaryDirectory(prefix=".adnet-csv-", dir=spill) as tmpdir:
            for path, source_file in files:
                infos.append(_read_file(con, path, source_file, spec, rows_table, quarantine_table, tmpdir, root))
    finally:
        for t in _WORK_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return infos


def _outside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return False
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a loop of links (Python < 3.13)
        return True


def _shown(name: str) -> str:
    """A header name as quoted in a reason: control characters blanked, cut."""
    name = _CONTROL.sub(" ", name).strip()
    return (name[:40] + "…" if len(name) > 40 else name) or "(empty)"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, source_file: str, spec: CsvSpec, rows_table: str,
               quarantine_table: str, tmpdir: str, root: Path | None = None) -> CsvFileInfo:
    info = CsvFileInfo(source_file)

    def reject(line_no: int | None, reason: str, raw: str | None) -> CsvFileInfo:
        info.rejected = True
        info.n_quarantined = 1
        con.execute(f"INSERT INTO {quarantine_table} VALUES (?, ?, ?, ?)", [source_file, line_no, reason, _cut(raw)])
        return info

    if root is not None and _outside(path, root):
        return reject(None, f"the file is a link to outside {root.name}/: copy the file in instead "
                            "(nothing behind the link was read)", None)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return reject(None, f"the file cannot be read ({exc.strerror or exc}): check its permissions", None)
    text, encoding = decode_csv_bytes(data)
    info.encoding = encoding
    if encoding.startswith(("cp1252", "latin-1", "utf-8+")):
        info.notes.append(f"{source_file}: not UTF-8, read as {encoding}")
    lines = normalise_newlines(text).split("\n")
    header_idx = next((i for i, line in enumerate(lines) if line.strip()), None)

    if header_idx is None:
        return reject(None, f"empty file: no header line (expected {spec.expected})", None)
    header_line = lines[header_idx].rstrip("\r")
    header_no = header_idx + 1
    delim, names = sniff_header(header_line, spec)
    info.delimiter = {"\t": "tab"}.get(delim, delim)
    info.columns = names
    n_data = sum(1 for line in lines[header_idx + 1:] if line.strip())
    missing_required = [c for c in spec.required if c not in names]
    if missing_required:
        what = ", ".join(f"'{c}'" for c in missing_required)
        return reject(header_no, f"no {what} column{'s' if len(missing_required) > 1 else ''} in the header "
                                 f"(found: {', '.join(_shown(n) for n in names[:20])}{', …' if len(names) > 20 else ''}; "
                                 f"expected {spec.expected}): "
                                 f"file not loaded, {n_data} data line(s) not read", header_line)
    twice = sorted({n for n in names if n in spec.columns and names.count(n) > 1})
    if twice:
        return reject(header_no, f"column(s) {', '.join(map(_shown, twice))} appear more than once in the header: which one holds "
                                 f"the value cannot be told; file not loaded, {n_data} data line(s) not read", header_line)
    unknown = [n for n in names if n not in spec.columns]
    if unknown:
        info.notes.append(f"{source_file}: column(s) ignored: {', '.join(_shown(n) for n in unknown[:20])}"
                          + (", …" if len(unknown) > 20 else ""))
    missing = [c for c in spec.columns if c not in names]
    if missing:
        info.notes.append(f"{source_file}: no column(s) {', '.join(missing)}: read as empty")

    con.execute(f"CREATE OR REPLACE TEMP TABLE {_LINES} (line_no BIGINT, line VARCHAR, forced_reason VARCHAR)")
    con.execute(f"""
        INSERT INTO {_LINES}
        SELECT line_no, rtrim(line, chr(13)), CAST(NULL AS VARCHAR)
        FROM (SELECT unnest(parts) AS line, unnest(generate_series(1, len(parts))) AS line_no
              FROM (SELECT string_split($text, chr(10)) AS parts))
        WHERE line_no > $header_no""", {"text": "\n".join(lines), "header_no": header_no})
    n_fields = len(names)
    while True:
        _records(con, delim, spec.max_row_lines)
        _parse_records(con, delim, n_fields, tmpdir)
        # A row over several lines that DuckDB cannot read either started at a stray quote: that line
        # is set aside and the lines after it are read on their own (a good row among them loads).
        spread = con.execute(f"SELECT count(*) FROM {_WHY} WHERE n_lines > 1").fetchone()[0]
        if not spread:
            break
        con.execute(f"""
            UPDATE {_LINES} SET forced_reason =
                'quoted field opened on this line runs to line ' || w.last_line || ' and that row cannot be read'
                || $stray
            FROM {_WHY} w WHERE w.n_lines > 1 AND {_LINES}.line_no = w.line_no""", {"stray": _STRAY})

    con.execute(f"""
        INSERT INTO {quarantine_table}
        SELECT $f, r.line_no, coalesce(r.forced_reason, w.reason), left(r.record, $cut)
        FROM {_RECORDS} r LEFT JOIN {_WHY} w USING (line_no)
        WHERE r.forced OR w.line_no IS NOT NULL
        ORDER BY r.line_no""", {"f": source_file, "cut": QUARANTINE_LINE_CHARS})
    info.n_quarantined = con.execute(f"""
        SELECT count(*) FROM {_RECORDS} r LEFT JOIN {_WHY} w USING (line_no)
        WHERE r.forced OR w.line_no IS NOT NULL""").fetchone()[0]
    pos = {n: i for i, n in enumerate(names)}
    values = ", ".join(field_sql(f"p.c{pos[c]}") if c in pos else "CAST(NULL AS VARCHAR)" for c in spec.columns)
    con.execute(f"""
        INSERT INTO {rows_table} BY POSITION
        SELECT $f, CAST(p.l AS BIGINT), {values}, r.record
        FROM {_PARSED} p JOIN {_RECORDS} r ON r.line_no = CAST(p.l AS BIGINT)
        ORDER BY 2""", {"f": source_file})
    info.n_records = con.execute(f"SELECT count(*) FROM {_PARSED}").fetchone()[0]
    return info


def checked_country(value: str | None) -> str:
    """The default country of a reader (ISO 3166 alpha-2, upper case; NO when empty), or ValueError."""
    country = (value or "NO").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError(f"default_country must be an ISO 3166 alpha-2 code, got {value!r}")
    return country


def read_csv_files_into(report, con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, str]], spec: CsvSpec, *,
                        rows_table: str, quarantine_table: str, root: Path | None = None) -> None:
    """``read_csv_files``, noting in ``report`` (any object with ``files, encodings, delimiters,
    rejected_files, notes``) what each file was: the directory and billing readers' shared bookkeeping."""
    for info in read_csv_files(con, files, spec, rows_table=rows_table, quarantine_table=quarantine_table, root=root):
        report.files.append(info.source_file)
        report.encodings[info.source_file] = info.encoding
        if info.delimiter is not None:
            report.delimiters[info.source_file] = info.delimiter
        if info.rejected:
            report.rejected_files.append(info.source_file)
        report.notes.extend(info.notes)


@dataclass
class CsvReadReport:
    """What a CSV reader (directory, billing) read and set aside: the fields both reports share.

    ``quarantine`` rows are ``(source_file, line_no, reason, raw_line)``; ``encodings`` maps each file
    to how it was decoded, ``delimiters`` to its delimiter; ``notes`` are things a reader should know.
    """

    files: list[str] = field(default_factory=list)
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine: list[tuple[str, int | None, str, str | None]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)
    delimiters: dict[str, str] = field(default_factory=dict)
    rejected_files: list[str] = field(default_factory=list)
    blank_rows: int = 0
    phone_strings_parsed: int = 0
    notes: list[str] = field(default_factory=list)
