"""One table's worksheet rows as SpreadsheetML XML text, built set-based in DuckDB.

``staging_sql(select_sql, columns, staged)`` copies a table's rows into a temp table in sheet order
(``ORDER BY ALL``); ``row_xml_sql(staged, columns, dtypes, styles, max_rows)`` returns a query whose one
column ``x`` holds, per staged row and in that order, the sheet's ``<row r="N">…</row>`` element as
UTF-8 bytes, or ``None`` when a column's type has no SQL rule here (the caller then writes that table
cell by cell in Python). ``bulk_rows(...)`` streams those rows in batches of bytes.

The rules are those of ``excel_export``'s cell writer (xlsxwriter in constant-memory mode), so the
values a reader sees are the same:

* text: CR/CRLF become LF; control characters, bidi controls and U+FFFE/U+FFFF removed
  (``safe_text.CONTROL_CHARS``; DuckDB text is valid UTF-8, so there are no lone surrogates); text
  over 16,383 code points goes through ``excel_export.cut_text`` (a Python function, called only
  for those rare rows); literal ``_xHHHH_`` becomes ``_x005F_xHHHH_`` (Excel unescapes it back);
  ``& < >`` XML-escaped; written as an inline string (``t="inlineStr"``: always text, never a
  formula, number or link), with ``xml:space="preserve"`` when it starts or ends with white space
  and the quote-prefix style when it starts with ``= + - @``, tab or line feed; empty text: no cell;
* integers within 2**53, finite floats and decimals within 2**53: numbers, printed ``%.16G`` as
  xlsxwriter prints them; others as text (``str`` of the value);
* booleans ``t="b"``; dates and timestamps (TIMESTAMPTZ in UTC, naive) as Excel serial numbers with
  the date / datetime style, the same arithmetic as xlsxwriter's; years outside 1900–9999 as ISO text;
* UUIDs and JSON values as text; BLOBs as lower-case hex; lists of text, numbers or booleans as compact JSON
  (DuckDB ``to_json``, byte-identical to ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``
  for those types).

Row numbers: each row's rank in the ordering, continuing on a new sheet every ``max_rows`` rows
(the caller's continuation sheets ``"<name> (2)"``…): row ``r`` of a sheet is ``(rank-1) % max_rows + 2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Iterator

import duckdb

from adnet_assets.lib.safe_text import strip_controls_sql, xml_text_sql
from adnet_assets.lib.store import quote_ident

CUT_FUNCTION = "adnet_xlsx_cut_text"
ORDER_KEY = "__adnet_xlsx_k"
LONG_TEXT = 16_383             # code points; beyond, the UTF-16 length may pass Excel's 32,767

_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
              "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_JSON_LEAVES = _INT_TYPES | {"VARCHAR", "BOOLEAN"}
_DECIMAL = re.compile(r"DECIMAL\(\d+,\d+\)")
# Python's ``\s`` (what xlsxwriter tests for xml:space="preserve") on text already cleaned of controls
_SPACE = r"[ \t\n\x0c\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_MAX_EXACT = "9007199254740992"


@dataclass(frozen=True)
class Styles:
    quoted: int
    datetime: int
    date: int


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (xlsxwriter's own naming, imported where a workbook is written)."""
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def _json_ok(dtype: str) -> bool:
    return dtype.endswith("[]") and dtype.rstrip("[]") in _JSON_LEAVES


def supported(dtype: str) -> bool:
    return (dtype in _INT_TYPES or dtype in _FLOAT_TYPES or bool(_DECIMAL.fullmatch(dtype)) or _json_ok(dtype)
            or dtype in {"VARCHAR", "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S",
                         "TIMESTAMP_MS", "UUID", "JSON", "BLOB"})


def _text_cell(ref: str, text: str, styled: bool) -> str:
    """A cell for text ``text`` (an SQL expression, already cleaned and cut; NULL or '' gives no cell).
    ``ref`` is the cell reference as SQL pieces for ``concat`` (``'A', _r``)."""
    # cheap tests first: most text has no "_x", no markup characters, no white space at its ends
    unx = (f"CASE WHEN contains({text}, '_x') THEN regexp_replace({text}, '(_x[0-9a-fA-F]{{4}}_)', '_x005F\\1', 'g') "
           f"ELSE {text} END")
    esc = xml_text_sql(unx)
    style = (f"CASE WHEN regexp_matches({text}, '^[=+\\-@\\t\\n]') THEN ' s=\"{{q}}\"' ELSE '' END"
             if styled else "''")
    preserve = (f"CASE WHEN regexp_matches(left({text}, 1), '{_SPACE}') OR regexp_matches(right({text}, 1), '{_SPACE}') "
                "THEN ' xml:space=\"preserve\"' ELSE '' END")
    return (f"CASE WHEN {text} IS NULL OR {text} = '' THEN '' ELSE concat('<c r=\"', {ref}, '\"', {style}, "
            f"' t=\"inlineStr\"><is><t', {preserve}, '>', {esc}, '</t></is></c>') END")


def _plain_text_cell(ref: str, text: str) -> str:
    """A text cell without cleaning or quote style (numbers as text, ISO dates, hex): NULL gives no cell."""
    return _text_cell(ref, text, styled=False)


def _number_cell(ref: str, number: str, style: str = "") -> str:
    s = f' s="{style}"' if style else ""
    return f"concat('<c r=\"', {ref}, '\"{s}><v>', {number}, '</v></c>')"


def _clean(value: str) -> str:
    """Text with CR/CRLF as LF and control characters removed (SQL; the regex runs only where one is)."""
    return strip_controls_sql(value)


def _serial(ts: str, date_only: bool) -> str:
    """xlsxwriter's Excel serial of a naive TIMESTAMP ``ts`` (1900 epoch, the 1900 leap-year bug)."""
    us = f"(epoch_us({ts}) - epoch_us(TIMESTAMP '1899-12-31'))"
    days = f"({us} // 86400000000)"
    if date_only:
        base = f"{days}::DOUBLE"
    else:
        rem = f"({us} % 86400000000)"
        base = f"({days}::DOUBLE + (({rem} // 1000000)::DOUBLE + ({rem} % 1000000)::DOUBLE / 1e6) / 86400.0)"
    adjusted = (f"(CASE WHEN {base} > 59 THEN {base} + 1 ELSE {base} END"
                + ("" if date_only else f" - CASE WHEN {ts}::DATE = DATE '1900-01-01' THEN 1 ELSE 0 END") + ")")
    return f"printf('%.16G', {adjusted})"


def _text_source(col: str, dtype: str) -> str | None:
    """The text a text-like column is written as (before cleaning), or None for other types."""
    if dtype == "VARCHAR":
        return col
    if dtype in ("UUID", "JSON"):               # Python reads both as str
        return f"{col}::VARCHAR"
    if _json_ok(dtype):
        return f"to_json({col})::VARCHAR"
    return None


def _cell(ref: str, col: str, dtype: str, styles: Styles) -> str:
    """The cell SQL of a non-text column."""
    if dtype == "BOOLEAN":
        return (f"CASE WHEN {col} IS NULL THEN '' ELSE concat('<c r=\"', {ref}, '\" t=\"b\"><v>', "
                f"CASE WHEN {col} THEN '1' ELSE '0' END, '</v></c>') END")
    if dtype in _INT_TYPES:
        return (f"CASE WHEN {col} IS NULL THEN '' WHEN abs({col}::HUGEINT) <= {_MAX_EXACT} THEN "
                f"{_number_cell(ref, f'{col}::VARCHAR')} ELSE {_plain_text_cell(ref, f'{col}::VARCHAR')} END")
    if dtype in _FLOAT_TYPES:
        number = f"printf('%.16G', {col}::DOUBLE)"
        return (f"CASE WHEN {col} IS NULL THEN '' WHEN isfinite({col}::DOUBLE) THEN {_number_cell(ref, number)} "
                f"ELSE {_plain_text_cell(ref, f'{col}::DOUBLE::VARCHAR')} END")
    if _DECIMAL.fullmatch(dtype):
        number = f"printf('%.16G', {col}::DOUBLE)"
        return (f"CASE WHEN {col} IS NULL THEN '' WHEN abs({col}::DOUBLE) <= {_MAX_EXACT} THEN "
                f"{_number_cell(ref, number)} ELSE {_plain_text_cell(ref, f'{col}::VARCHAR')} END")
    if dtype == "DATE":
        ts = f"{col}::TIMESTAMP"
        iso = f"strftime({col}, '%Y-%m-%d')"
        return (f"CASE WHEN {col} IS NULL THEN '' WHEN year({col}) BETWEEN 1900 AND 9999 THEN "
                f"{_number_cell(ref, _serial(ts, True), str(styles.date))} ELSE {_plain_text_cell(ref, iso)} END")
    if dtype.startswith("TIMESTAMP"):
        ts = f"timezone('UTC', {col})" if dtype == "TIMESTAMP WITH TIME ZONE" else f"{col}::TIMESTAMP"
        iso = (f"CASE WHEN microsecond({ts}) % 1000000 = 0 THEN strftime({ts}, '%Y-%m-%dT%H:%M:%S') "
               f"ELSE strftime({ts}, '%Y-%m-%dT%H:%M:%S.%f') END")
        return (f"CASE WHEN {col} IS NULL THEN '' WHEN year({ts}) BETWEEN 1900 AND 9999 THEN "
                f"{_number_cell(ref, _serial(ts, False), str(styles.datetime))} "
                f"ELSE {_plain_text_cell(ref, iso)} END")
    raise ValueError(dtype)


def staging_sql(select_sql: str, columns: list[str], staged: str) -> str:
    """Stage ``select_sql``'s rows in the temp table ``staged``, in sheet order (``ORDER BY ALL``), each
    with its rank ``ORDER_KEY``: the XML query then streams them in that order without sorting the
    (three times larger) XML."""
    order = ", ".join(quote_ident(c) for c in columns)
    return (f"CREATE OR REPLACE TEMP TABLE {quote_ident(staged)} AS SELECT row_number() OVER (ORDER BY {order}) - 1 "
            f"AS {ORDER_KEY}, * FROM ({select_sql}) AS _t ORDER BY {ORDER_KEY}")


def row_xml_sql(staged: str, columns: list[str], dtypes: list[str], styles: Styles, max_rows: int,
                *, ordered_scan: bool = True) -> str | None:
    """The query giving each staged row's XML in sheet order, or None when a column type is not covered.

    ``ordered_scan``: the connection keeps insertion order (DuckDB's ``preserve_insertion_order``, on
    by default), so a scan of the staged table is already in order; otherwise the query sorts."""
    if not columns or not all(supported(t) for t in dtypes):
        return None
    inner_cols = [f"{ORDER_KEY} AS _k"]
    mid_cols = ["_k", f"(_k % {int(max_rows)} + 2)::VARCHAR AS _r"]
    cells = []
    for i, (name, dtype) in enumerate(zip(columns, dtypes)):
        col, alias, ref = quote_ident(name), f"_c{i}", f"'{column_letter(i)}', _r"
        text = _text_source(col, dtype)
        if text is None and dtype != "BLOB":
            inner_cols.append(f"{col} AS {alias}")
            mid_cols.append(alias)
            cells.append(_cell(ref, alias, dtype, styles))
            continue
        inner_cols.append(f"lower(hex({col})) AS {alias}" if text is None else f"{_clean(text)} AS {alias}")
        mid_cols.append(f"CASE WHEN length({alias}) > {LONG_TEXT} THEN {CUT_FUNCTION}({alias}) "
                        f"ELSE {alias} END AS {alias}")
        cells.append(_text_cell(ref, alias, styled=text is not None).replace("{q}", str(styles.quoted)))
    inner = f"SELECT {', '.join(inner_cols)} FROM {quote_ident(staged)}"
    mid = f"SELECT {', '.join(mid_cols)} FROM ({inner}) AS _i"
    row = "concat('<row r=\"', _r, '\">', " + ", ".join(cells) + ", '</row>')"
    # as UTF-8 bytes (encode: no escapes read): Python copies them as they are, no decoding and re-encoding
    return f"SELECT encode({row}) AS x FROM ({mid}) AS _m" + ("" if ordered_scan else " ORDER BY _k")


def register_cut(con: duckdb.DuckDBPyConnection, cut) -> None:
    """Make ``cut`` (str -> str) callable from SQL as ``CUT_FUNCTION`` (replacing an older one)."""
    try:
        con.remove_function(CUT_FUNCTION)
    except Exception:                       # not registered yet
        pass
    con.create_function(CUT_FUNCTION, cut, ["VARCHAR"], "VARCHAR", side_effects=False)


def unregister_cut(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.remove_function(CUT_FUNCTION)
    except Exception:
        pass


def bulk_rows(cursor, counts: list[int], batch_rows: int) -> Iterator[Iterator[bytes]]:
    """Split the row-XML ``cursor`` into one byte stream per sheet of ``counts[i]`` rows."""
    pending: list[tuple] = []
    get = itemgetter(0)

    def one_sheet(n: int) -> Iterator[bytes]:
        nonlocal pending
        while n > 0:
            if not pending:
                pending = cursor.fetchmany(batch_rows)
                if not pending:
                    return
            take, pending = pending[:n], pending[n:]
            n -= len(take)
            yield b"".join(map(get, take))

    for count in counts:
        yield one_sheet(count)
