"""Phone-directory listings: CSV extracts and directory-service answers into ``directory_listings``.

A directory listing is what ties a phone seen in ads to a *person* (owner) and an *address*. A
wrong listing links strangers, so this module reads carefully and says what it set aside.

CSV extracts (``directory/*.csv``)
----------------------------------
Columns ``phone,name,address,postcode,city,listed_at`` (data contract); one row per listing; a
number may have several rows. How a file is read:

* **Reading** is ``csv_records.read_csv_files``, the one CSV reader of adnet (shared with
  billing records): encoding guessed per file (UTF-8, BOM, UTF-16, cp1252, latin-1, mixed;
  ``DirectoryReport.encodings`` says which), the delimiter sniffed from the header (the one of
  ``,`` ``;`` tab ``|`` that makes a ``phone`` column appear; ``DirectoryReport.delimiters``),
  column names matched case-insensitively, unknown columns ignored and missing optional columns
  NULL (both named in ``DirectoryReport.notes``), quoted fields over several lines, *physical*
  line numbers (the header is line 1), stray quotes set aside without swallowing the rest of the
  file. A file without a ``phone`` column, or with a known column twice, is rejected whole (one
  quarantine row at its header line saying how many data lines were not loaded).
* **Quarantine** (returned in ``DirectoryReport.quarantine`` as ``(source_file, line_no, reason,
  raw_line)``; the caller writes them to ``quarantine`` with level 'directory'): wrong field
  count, text after a closing quote, unclosed quotes, empty phone, a phone field holding more than
  one number (which number the listing is for cannot be told), a phone field longer than
  ``MAX_PHONE_CHARS`` (other text put there; it is not read as a number). A file that is a link
  to outside ``directory/`` is not read (one row, line NULL). Rows whose fields are all empty
  (trailing ``;;;;;`` rows of spreadsheet exports) hold nothing and are only counted.
* **Phones** are read like the ads' phones: each distinct ``(phone_raw, default_country)`` is
  parsed once, through the same ``phone_strings`` cache as the ads' strings
  (``phone_index.parse_new_phone_strings``). A number that cannot be read is kept with ``phone``
  NULL (it links nothing).
* **Names**: ``name_norm = fold_name(name)`` (lower case, ø→o, æ→ae, å→a, ö→o, ä→a, ü→u,
  é→e, other accents dropped, punctuation removed, single spaces), computed once per distinct
  name in Python and joined back. ``fold_name`` is the one folding rule for names: the owners
  step imports it from here.
* **Reserved and hidden numbers**: directories write "Reservert", "Hemmelig nummer", "skjult",
  "hidden", "reserved" where the name would be. Read as a name, every reserved number would
  belong to one person called "Reservert" and be linked to all the others. Such rows get
  ``visibility`` reserved/hidden and no name, address, postcode or city (``name_norm``
  NULL). Placeholder names ("ukjent", "unknown", "-", "?") and names without a
  letter are blanked too (visibility stays public), and so are placeholder addresses ("hemmelig
  adresse", "ukjent"), for the same reason: they would join strangers.
* **Address key**: not computed here: keying an address needs every spelling of the directory at
  once (place names written before the street), so ``addresses.keyed_listings`` does it.

``directory_listings`` rows from CSV have ``listing_id = "<source_file>:<line_no>"`` and
``source = 'csv'``. ``load_directory`` replaces all CSV rows and keeps the rows that came from a
directory service (``source = 'api'``), which are written by ``store_service_answers`` /
``record_lookups`` with ``listing_id = "<service>:<phone>:<i>"``.

Directory services
------------------
``directory_lookups`` caches every answer of a service (``DIRECTORY_LOOKUPS_DDL``), so a number
is looked up again only when its last answer is older than ``max_age_days``
(``phones_due_for_lookup``). Errors are cached too (for the record) but never count as an answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from adnet_assets.layout import DataLayout
from adnet_assets.lib.csv_records import CsvReadReport, CsvSpec, checked_country, csv_files, field_sql, read_csv_files_into
from adnet_assets.lib.phone_index import parse_new_phone_strings
from adnet_assets.lib.snapshot_lines import MAX_PHONE_CHARS, QUARANTINE_LINE_CHARS
from adnet_assets.lib.snapshots import relative
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import DIRECTORY_LISTINGS, DIRECTORY_LOOKUPS

__all__ = [
    "COLUMNS",
    "DIRECTORY_LOOKUPS_DDL",
    "DirectoryParams",
    "DirectoryReport",
    "QUARANTINE_LEVEL",
    "ServiceListing",
    "csv_spec",
    "directory_files",
    "fold_name",
    "listing_visibility",
    "load_directory",
    "phones_due_for_lookup",
    "record_lookups",
    "store_service_answers",
]

#: The contract's columns, in order. ``phone`` is required, the others are optional.
COLUMNS: tuple[str, ...] = ("phone", "name", "address", "postcode", "city", "listed_at")
OPTIONAL_COLUMNS: tuple[str, ...] = COLUMNS[1:]
#: ``quarantine.level`` for rows set aside here.
QUARANTINE_LEVEL = "directory"
VISIBILITIES: tuple[str, ...] = ("public", "reserved", "hidden")

DIRECTORY_LOOKUPS_DDL = DIRECTORY_LOOKUPS.ddl()  # the spec lives in schema.py


# ------------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class DirectoryParams:
    """How directory extracts are read.

    ``max_row_lines`` (8): a quoted field may hold line breaks (an address written as "c/o",
    street, flat, postcode and city is four lines), but a row whose fields together run over
    more than 8 physical lines is a quote that was never closed, not a listing. That line is
    set aside and reading starts again on the next line, instead of one stray ``"`` swallowing
    the rest of the file into one bad row.

    ``reserved_words`` / ``hidden_words``: folded words that, anywhere in the name field, mean
    the directory is withholding the owner ("Reservert", "Nummer reservert", "Hemmelig nummer",
    "skjult", "hidden", Swedish/Danish/Finnish forms). No person is called that; reading one as
    a name would make every reserved number one person's. When both kinds appear, reserved wins.

    ``placeholder_names`` / ``placeholder_addresses``: whole folded values that say "no name" or
    "no address" ("ukjent", "unknown", "n/a"); they are blanked (visibility stays public) so that
    strangers never share a name or an address through a placeholder. Address fields holding a
    reserved/hidden word ("Hemmelig adresse") are blanked too.
    """

    max_row_lines: int = 8
    reserved_words: tuple[str, ...] = (
        "reservert", "reserved", "reserverat", "reserveret", "reservoitu", "unlisted")
    hidden_words: tuple[str, ...] = (
        "hemmelig", "hemmeligt", "hemlig", "hemligt", "skjult", "skjulte", "hidden", "secret",
        "salainen", "skyddad", "skyddat", "beskyttet", "sperret", "privatnummer")
    placeholder_names: tuple[str, ...] = (
        "ukjent", "ukjend", "okand", "ukendt", "tuntematon", "unknown", "n a", "na", "none", "null",
        "ingen", "ikke oppgitt", "ikke oppfort", "ej angivet", "not listed", "no name", "privat",
        "private", "x", "xx", "xxx")
    placeholder_addresses: tuple[str, ...] = (
        "ukjent", "ukjend", "okand", "ukendt", "tuntematon", "unknown", "n a", "na", "none", "null",
        "ingen", "ingen adresse", "ikke oppgitt", "ukjent adresse", "no address", "x", "xx", "xxx")


DEFAULT_PARAMS = DirectoryParams()


@dataclass
class DirectoryReport(CsvReadReport):
    """What ``load_directory`` read and what it set aside.

    ``quarantine`` rows are ``(source_file, line_no, reason, raw_line)``, level 'directory'; a
    rejected file is one row (at its header line, or line NULL for an empty file) whose reason
    says how many data lines were not read. ``rows_quarantined`` = ``len(quarantine)``.
    ``encodings`` maps each file to how it was decoded (``utf-8``, ``utf-8-sig``, ``utf-16``,
    ``cp1252``, ``latin-1``, or ``utf-8+cp1252 (lines ...)`` for a mixed file).
    """

    phones_unreadable: int = 0
    reserved_or_hidden: int = 0


# ---------------------------------------------------------------------------------- folding

_NAME_MAP = str.maketrans({
    "ø": "o", "æ": "ae", "å": "a", "ö": "o", "ä": "a", "ü": "u", "é": "e", "ß": "ss", "ł": "l",
    "đ": "d", "ð": "d", "þ": "th", "œ": "oe", "ı": "i",
    # apostrophes join: "O'Neill" = "ONeill" = "oneill"
    "'": "", "\u2019": "", "\u2018": "", "`": "", "\u00b4": "", "\u02bc": "", "\u02b9": "",
})


def fold_name(text: object) -> str:
    """A name folded for comparison: lower case, diacritics folded, punctuation removed, single spaces.

    ø→o, æ→ae, å→a, ö→o, ä→a, ü→u, é→e (and ß→ss, ł→l, ð/đ→d, þ→th, œ→oe), any other accent
    dropped; apostrophes are removed ("O'Neill" → "oneill"), every other character that is not a
    letter or digit becomes a space ("Anne-Lise" → "anne lise", "Hansen, Kari" → "hansen kari").
    Letters of every script are kept with their marks (a Cyrillic or Thai name neither folds to
    nothing nor loses the vowel signs that tell two names apart); only accents on Latin letters
    are dropped. Returns
    "" for None, NaN and empty input. This is the one name folding rule of adnet: the owners step
    imports it from here.

    >>> fold_name("  Søren  Ødegård-Æsø ")
    'soren odegard aeso'
    """
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).lower().translate(_NAME_MAP)
    out: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFKD", s):
        if unicodedata.category(ch).startswith("M"):  # a mark: combining accent, vowel sign, ...
            if base.isascii():  # an accent on a Latin letter is dropped ("é" -> "e") ...
                continue
            out.append(ch)  # ... a mark of another script is part of the letter (Thai, Devanagari, "й")
            continue
        base = ch
        out.append(ch if ch.isalnum() else " ")
    return " ".join(unicodedata.normalize("NFC", "".join(out)).split())


def listing_visibility(name: object, params: DirectoryParams = DEFAULT_PARAMS) -> str | None:
    """'reserved' or 'hidden' when the name field says the directory withholds the owner, else None."""
    words = set(fold_name(name).split())
    if words & set(params.reserved_words):
        return "reserved"
    if words & set(params.hidden_words):
        return "hidden"
    return None


def _clean_name(name: object, params: DirectoryParams) -> tuple[str | None, str | None]:
    """(name_norm, visibility marker) of one name as written; name_norm None means "no name"."""
    marker = listing_visibility(name, params)
    if marker is not None:
        return None, marker
    folded = fold_name(name)
    if not any(ch.isalpha() for ch in folded) or folded in params.placeholder_names:
        return None, None
    return folded, None


def _is_placeholder_address(address: object, params: DirectoryParams) -> bool:
    folded = fold_name(address)
    if not folded or folded in params.placeholder_addresses:
        return True
    words = set(folded.split())
    return bool(words & (set(params.reserved_words) | set(params.hidden_words)))


# --------------------------------------------------------------------------- the reader

_WORK_DDL = """
CREATE OR REPLACE TEMP TABLE _adnet_dir_rows (
  source_file VARCHAR, line_no BIGINT, phone_raw VARCHAR, name VARCHAR, address VARCHAR,
  postcode VARCHAR, city VARCHAR, listed_at VARCHAR, record VARCHAR);
CREATE OR REPLACE TEMP TABLE _adnet_dir_quarantine (
  source_file VARCHAR, line_no BIGINT, reason VARCHAR, raw_line VARCHAR);
"""

_WORK_TABLES = ("_adnet_dir_rows", "_adnet_dir_quarantine", "_adnet_dir_phones")


def csv_spec(params: DirectoryParams = DEFAULT_PARAMS) -> CsvSpec:
    """How ``csv_records`` reads a directory extract: the contract's columns, ``phone`` required."""
    return CsvSpec(columns=COLUMNS, required=("phone",), max_row_lines=params.max_row_lines)


def directory_files(layout: DataLayout) -> list[Path]:
    """``directory/*.csv`` (any case), skipping hidden, temporary and Excel lock files."""
    return csv_files(layout.directory)



def _register_names(con: duckdb.DuckDBPyConnection, view: str, names_sql: str, params: DirectoryParams) -> None:
    """Register ``view`` (name, name_norm, marker) for the distinct names of ``names_sql``."""
    names = [r[0] for r in con.execute(f"SELECT DISTINCT name FROM ({names_sql}) WHERE name IS NOT NULL").fetchall()]
    cleaned = [_clean_name(n, params) for n in names]
    con.register(view, pd.DataFrame({
        "name": pd.array(names, dtype="string"),
        "name_norm": pd.array([c[0] for c in cleaned], dtype="string"),
        "marker": pd.array([c[1] for c in cleaned], dtype="string"),
    }))


def _register_addresses(con: duckdb.DuckDBPyConnection, view: str, addresses_sql: str, params: DirectoryParams) -> None:
    """Register ``view`` (address, placeholder) for the distinct addresses of ``addresses_sql``."""
    addresses = [r[0] for r in con.execute(
        f"SELECT DISTINCT address FROM ({addresses_sql}) WHERE address IS NOT NULL").fetchall()]
    con.register(view, pd.DataFrame({
        "address": pd.array(addresses, dtype="string"),
        "placeholder": pd.array([_is_placeholder_address(a, params) for a in addresses], dtype="boolean"),
    }))


def _listing_select(con: duckdb.DuckDBPyConnection, rows: str, names: str, addresses: str) -> str:
    """SELECT of directory_listings columns from a staged relation with listing_id, source, source_file,
    line_no, phone_raw, phone, name, address, postcode, city, listed_at, visibility (the source's own)."""
    return f"""
        WITH v AS (
          SELECT r.*, coalesce(
                   CASE WHEN r.visibility IN ('reserved', 'hidden') THEN r.visibility END, n.marker,
                   CASE WHEN r.visibility = 'public' THEN 'public' END, 'hidden') AS vis,
                 n.name_norm AS folded, coalesce(a.placeholder, false) AS addr_placeholder
          FROM {rows} r LEFT JOIN {names} n ON n.name = r.name LEFT JOIN {addresses} a ON a.address = r.address
        ), c AS (
          SELECT listing_id, source, source_file, line_no, phone_raw, phone,
                 CASE WHEN vis = 'public' AND folded IS NOT NULL THEN name END AS name,
                 CASE WHEN vis = 'public' AND NOT addr_placeholder THEN address END AS address,
                 CASE WHEN vis = 'public' THEN postcode END AS postcode,
                 CASE WHEN vis = 'public' THEN city END AS city,
                 listed_at,
                 CASE WHEN vis = 'public' THEN folded END AS name_norm,
                 vis AS visibility
          FROM v
        )
        SELECT listing_id, source, source_file, line_no, phone_raw, phone, name, address, postcode, city,
               listed_at, name_norm,
               visibility
        FROM c"""


def load_directory(con: duckdb.DuckDBPyConnection, layout: DataLayout, *, default_country: str = "NO",
                   params: DirectoryParams = DEFAULT_PARAMS) -> DirectoryReport:
    """Read every ``directory/*.csv`` into ``directory_listings`` (CSV rows replaced, service rows kept).

    Also adds the directory's phone strings to the ``phone_strings`` cache. Runs inside the
    caller's transaction. Returns what was read and the rows set aside (the caller writes them to
    ``quarantine`` with level 'directory').
    """
    report = DirectoryReport()
    country = checked_country(default_country)
    con.execute(_WORK_DDL)
    try:
        files = [(path, relative(layout, path)) for path in directory_files(layout)]
        read_csv_files_into(report, con, files, csv_spec(params), rows_table="_adnet_dir_rows",
                            quarantine_table="_adnet_dir_quarantine", root=layout.directory)

        # Empty phones and all-empty rows.
        report.blank_rows = con.execute("""
            SELECT count(*) FROM _adnet_dir_rows
            WHERE coalesce(phone_raw, name, address, postcode, city, listed_at) IS NULL""").fetchone()[0]
        con.execute("DELETE FROM _adnet_dir_rows WHERE coalesce(phone_raw, name, address, postcode, city, listed_at) IS NULL")
        con.execute("""
            INSERT INTO _adnet_dir_quarantine
            SELECT source_file, line_no, 'empty phone: a listing without a number links nothing', left(record, $cut)
            FROM _adnet_dir_rows WHERE phone_raw IS NULL""", {"cut": QUARANTINE_LINE_CHARS})
        con.execute("DELETE FROM _adnet_dir_rows WHERE phone_raw IS NULL")
        con.execute(f"""
            INSERT INTO _adnet_dir_quarantine
            SELECT source_file, line_no, 'phone field of ' || length(phone_raw) || ' characters is not a phone number '
                   || '(limit {MAX_PHONE_CHARS}): write the number alone in the phone column', left(record, $cut)
            FROM _adnet_dir_rows WHERE length(phone_raw) > {MAX_PHONE_CHARS}""", {"cut": QUARANTINE_LINE_CHARS})
        con.execute(f"DELETE FROM _adnet_dir_rows WHERE length(phone_raw) > {MAX_PHONE_CHARS}")

        # Phones through the shared cache.
        pairs = f"SELECT phone_raw AS raw, '{country}' AS default_country FROM _adnet_dir_rows"
        report.phone_strings_parsed = parse_new_phone_strings(con, pairs)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _adnet_dir_phones AS
            SELECT raw, count(phone) AS n_numbers,
                   string_agg(phone, ', ' ORDER BY "index") AS numbers,
                   min(phone) FILTER ("index" = 0) AS phone
            FROM phone_strings WHERE default_country = $c AND raw IN (SELECT phone_raw FROM _adnet_dir_rows)
            GROUP BY raw""", {"c": country})
        con.execute("""
            INSERT INTO _adnet_dir_quarantine
            SELECT r.source_file, r.line_no,
                   'phone field holds ' || p.n_numbers || ' numbers (' || p.numbers ||
                   '): which one the listing is for cannot be told; write one row per number',
                   left(r.record, $cut)
            FROM _adnet_dir_rows r JOIN _adnet_dir_phones p ON p.raw = r.phone_raw
            WHERE p.n_numbers > 1""", {"cut": QUARANTINE_LINE_CHARS})
        con.execute("""DELETE FROM _adnet_dir_rows
                       WHERE phone_raw IN (SELECT raw FROM _adnet_dir_phones WHERE n_numbers > 1)""")

        # Listings.
        _register_names(con, "_adnet_dir_names", "SELECT name FROM _adnet_dir_rows", params)
        _register_addresses(con, "_adnet_dir_addresses", "SELECT address FROM _adnet_dir_rows", params)
        staged = """(
            SELECT r.source_file || ':' || r.line_no AS listing_id, 'csv' AS source, r.source_file, r.line_no,
                   r.phone_raw, p.phone, r.name, r.address, r.postcode, r.city, r.listed_at, 'public' AS visibility
            FROM _adnet_dir_rows r LEFT JOIN _adnet_dir_phones p ON p.raw = r.phone_raw)"""
        ensure_table(con, DIRECTORY_LISTINGS)
        con.execute("DELETE FROM directory_listings WHERE source = 'csv' OR source IS NULL")
        cols = ", ".join(f'"{c}"' for c in DIRECTORY_LISTINGS.column_names)
        con.execute(f"""
            INSERT INTO directory_listings ({cols})
            SELECT {cols} FROM ({_listing_select(con, staged, '_adnet_dir_names', '_adnet_dir_addresses')})
            ORDER BY source_file, line_no""")
        report.rows_loaded, report.phones_unreadable, report.reserved_or_hidden = con.execute("""
            SELECT count(*), count(*) FILTER (phone IS NULL), count(*) FILTER (visibility <> 'public')
            FROM directory_listings WHERE source = 'csv'""").fetchone()
        report.quarantine = [tuple(r) for r in con.execute(
            "SELECT source_file, line_no, reason, raw_line FROM _adnet_dir_quarantine "
            "ORDER BY source_file, line_no NULLS FIRST").fetchall()]
        report.rows_quarantined = len(report.quarantine)
    finally:
        for view in ("_adnet_dir_names", "_adnet_dir_addresses"):
            try:
                con.unregister(view)
            except Exception:  # noqa: BLE001 - not registered
                pass
        for t in _WORK_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return report


# ------------------------------------------------------------------------ directory services

@dataclass(frozen=True)
class ServiceListing:
    """One listing in a directory service's answer for one number.

    ``visibility`` is public, reserved or hidden; reserved/hidden listings carry no name or
    address (the client removes them, and ``store_service_answers`` enforces it again).
    """

    service: str
    phone: str
    name: str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    listed_at: str | None = None
    visibility: str = "public"


_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _replace_api_listings(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]],
                          listings: Sequence[ServiceListing], params: DirectoryParams) -> int:
    """Delete the api rows of the (service, phone) pairs and insert ``listings`` in their place."""
    ensure_table(con, DIRECTORY_LISTINGS)
    counter: dict[tuple[str, str], int] = {}
    rows = []
    for item in listings:
        if not isinstance(item, ServiceListing):
            raise TypeError(f"expected ServiceListing, got {type(item).__name__}")
        if not item.service or not _E164_RE.match(item.phone or ""):
            raise ValueError(f"listing needs a service name and an E.164 phone, got {item.service!r}, {item.phone!r}")
        key = (item.service, item.phone)
        i = counter.get(key, 0)
        counter[key] = i + 1
        rows.append({
            "listing_id": f"{item.service}:{item.phone}:{i}", "source": "api", "source_file": item.service,
            "line_no": None, "phone_raw": item.phone, "phone": item.phone, "name": item.name,
            "address": item.address, "postcode": item.postcode, "city": item.city, "listed_at": item.listed_at,
            "visibility": item.visibility if item.visibility in VISIBILITIES else "hidden",
        })
    text_cols = ["listing_id", "source", "source_file", "phone_raw", "phone", "name", "address", "postcode",
                 "city", "listed_at", "visibility"]
    frame = pd.DataFrame({c: pd.array([r[c] for r in rows], dtype="string") for c in text_cols})
    frame["line_no"] = pd.array([None] * len(rows), dtype="Int64")
    keys = pd.DataFrame({"service": pd.array([p[0] for p in pairs], dtype="string"),
                         "phone": pd.array([p[1] for p in pairs], dtype="string")})
    con.register("_adnet_api_rows", frame)
    con.register("_adnet_api_keys", keys)
    try:
        con.execute("""DELETE FROM directory_listings d WHERE d.source = 'api' AND EXISTS (
                           SELECT 1 FROM _adnet_api_keys k WHERE k.service = d.source_file AND k.phone = d.phone)""")
        if not rows:
            return 0
        _register_names(con, "_adnet_api_names", "SELECT name FROM _adnet_api_rows", params)
        _register_addresses(con, "_adnet_api_addresses", "SELECT address FROM _adnet_api_rows", params)
        cols = ", ".join(f'"{c}"' for c in DIRECTORY_LISTINGS.column_names)
        staged = f"""(SELECT listing_id, source, source_file, CAST(line_no AS BIGINT) AS line_no, phone_raw, phone,
                            {field_sql('name')} AS name, {field_sql('address')} AS address,
                            {field_sql('postcode')} AS postcode, {field_sql('city')} AS city,
                            {field_sql('listed_at')} AS listed_at, visibility FROM _adnet_api_rows)"""
        con.execute(f"""INSERT INTO directory_listings ({cols})
                        SELECT {cols} FROM ({_listing_select(con, staged, '_adnet_api_names', '_adnet_api_addresses')})
                        ORDER BY listing_id""")
        return len(rows)
    finally:
        for view in ("_adnet_api_rows", "_adnet_api_keys", "_adnet_api_names", "_adnet_api_addresses"):
            try:
                con.unregister(view)
            except Exception:  # noqa: BLE001 - not registered
                pass


def store_service_answers(con: duckdb.DuckDBPyConnection, answers: Sequence[ServiceListing], *,
                          params: DirectoryParams = DEFAULT_PARAMS) -> int:
    """Insert a directory service's listings into ``directory_listings`` (source 'api').

    The listings of each (service, phone) in ``answers`` replace that pair's earlier api rows;
    ``listing_id`` is ``"<service>:<phone>:<i>"`` with ``i`` the listing's position among that
    pair's listings in ``answers``. Reserved/hidden listings keep the phone but no name or
    address; names and addresses pass the same checks as CSV rows. Returns rows inserted.
    """
    pairs = list(dict.fromkeys((a.service, a.phone) for a in answers))
    return _replace_api_listings(con, pairs, answers, params)


def ensure_lookup_cache(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DIRECTORY_LOOKUPS_DDL)


def record_lookups(con: duckdb.DuckDBPyConnection, results: Iterable, *,
                   params: DirectoryParams = DEFAULT_PARAMS) -> int:
    """Cache directory-service answers (``directory_client.LookupResult``) and update the api listings.

    Every result is appended to ``directory_lookups``. A 'found' or 'not_found' answer replaces the
    number's api listings of that service (a number no longer listed loses them); an 'error'
    leaves them as they were. Returns the number of results recorded.
    """
    results = list(results)
    ensure_lookup_cache(con)
    if not results:
        return 0
    frame = pd.DataFrame({
        "phone": pd.array([r.phone for r in results], dtype="string"),
        "service": pd.array([r.service for r in results], dtype="string"),
        "looked_up_at": pd.to_datetime([r.looked_up_at for r in results], utc=True),
        "status": pd.array([r.status for r in results], dtype="string"),
        "n_listings": pd.array([len(r.listings) for r in results], dtype="Int64"),
        "answer": pd.array([json.dumps(r.answer, ensure_ascii=False, default=str) for r in results], dtype="string"),
    })
    con.register("_adnet_lookup_rows", frame)
    try:
        con.execute("""INSERT INTO directory_lookups
                       SELECT phone, service, looked_up_at, status, n_listings, CAST(answer AS JSON)
                       FROM _adnet_lookup_rows""")
    finally:
        con.unregister("_adnet_lookup_rows")
    answered = [r for r in results if r.status in ("found", "not_found")]
    pairs = list(dict.fromkeys((r.service, r.phone) for r in answered))
    # the newest answer per pair wins when one batch holds two
    newest: dict[tuple[str, str], object] = {}
    for r in answered:
        key = (r.service, r.phone)
        if key not in newest or r.looked_up_at >= newest[key].looked_up_at:
            newest[key] = r
    listings = [item for r in newest.values() for item in r.listings]
    _replace_api_listings(con, pairs, listings, params)
    return len(results)


def phones_due_for_lookup(con: duckdb.DuckDBPyConnection, service: str, max_age_days: float, *,
                          regions: Sequence[str] | None = None, now: datetime | None = None,
                          limit: int | None = None) -> list[str]:
    """Phones of the ``phones`` table with no 'found'/'not_found' answer from ``service`` younger than
    ``max_age_days`` (errors do not count: the number is tried again). Optionally only numbers of
    ``regions`` (ISO alpha-2; a Norwegian directory cannot answer for Swedish numbers). Sorted."""
    has_cache = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'directory_lookups' "
        "AND table_schema = current_schema()").fetchone()[0] > 0
    where, args = ["p.phone IS NOT NULL"], {}
    if regions is not None:
        where.append("p.country IN (SELECT unnest($regions))")
        args["regions"] = [r.upper() for r in regions]
    if has_cache:  # without the cache table (read-only database, nothing looked up yet) every phone is due
        where.append("""NOT EXISTS (
            SELECT 1 FROM directory_lookups l
            WHERE l.phone = p.phone AND l.service = $service AND l.status IN ('found', 'not_found')
              AND l.looked_up_at > CAST($now AS TIMESTAMPTZ) - to_seconds(CAST($age AS DOUBLE)))""")
        args.update(service=service, age=float(max_age_days) * 86400.0,
                    now=now if now is not None else datetime.now().astimezone())
    limit_sql = f"LIMIT {int(limit)}" if limit is not None else ""
    rows = con.execute(f"""
        SELECT p.phone FROM phones p WHERE {' AND '.join(where)}
        ORDER BY p.phone {limit_sql}""", args).fetchall()
    return [r[0] for r in rows]

