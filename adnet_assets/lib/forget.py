"""Forgetting a phone number or a person everywhere in a data folder: what ``adnet forget`` does.

An identity-theft victim who took their number back, or a person whose name a network borrowed,
may ask to be removed. "Everywhere" means the inputs (snapshot lines, directory and billing rows,
aliases), the cached answers of directory services, every table and export built from them, the
analysts' copy, the free blocks of the database files and the Dagster instance's history. The audit
trail records that a forget happened and how much it removed, never what.

The steps (``find_places`` then ``carry_out``), each idempotent, so that a forget interrupted half-way
is simply run again:

1. **Find every place** (``find_places``, read-only; the dry run stops here). Every phone string of
   the inputs is parsed with the pipeline's own parser and cache (``phone_strings``), in the country
   the pipeline reads it in, so a line is found however the number is displayed. A *record* (an ad
   line, a CSV record over all its physical lines) holds the target when

   * a phone field reads as a target number (the ad's ``phones``, the directory's ``phone``, the
     billing ``subscriber`` or ``counterpart``), or
   * a name field is a target person (directory ``name``; aliases ``name``/``same_as``/``not_same_as``):
     the same folded words (``directory.fold_name``) in any order, so "Hansen, Kari" is "Kari Hansen"
     but "Kari Hansens" is not (never fuzzy: the dry run lists what matched, and the other spellings
     the owners step joined to the same person, which the user may add), or
   * its text holds a search string (``Needles``): for a number its digits with or without country
     code and with any of `` .-/\\`` between them, and every displayed form that read as it; for a
     person every written spelling, case-insensitive, also JSON-escaped. This catches a number
     written in an ad's free text, and lines the readers set aside (quarantine keeps raw lines too).

   A person's *number* stays: the ads that show it are the network's, and the network still uses
   the number. Their directory rows go (with the address written in them; the address stays where
   other people's rows name it).
2. **Rewrite the inputs** without those records, byte for byte otherwise: same encoding, BOM,
   delimiter, quoting and line ends (lines are cut at the physical line ends the readers count, so
   line numbers elsewhere shift but nothing else changes). A CSV left without any data row is
   deleted (a billing file is named after its subscriber). A snapshot's ``manifest.json`` gets the new
   sha256 and size of ``ads.jsonl`` and ``"redacted_lines"`` (a running count, never which lines), so
   the snapshot still verifies; it is written *before* ``ads.jsonl``, and a manifest that matches the
   rewritten file counts as matching, so an interruption between the two is repaired by the next
   forget. A snapshot that did not match its manifest before keeps its (mismatching) manifest: it
   stays quarantined. A crawl still being written (no manifest) is left alone and reported.
3. **Clean the database's caches**, which no run rebuilds: the directory services' answers
   (``directory_lookups``) and the listings made from them, and the parsed phone strings.
4. **Rebuild** (``run_pipeline``, given by the caller: this module imports no Dagster): every table,
   the warehouse Parquet files, every export (stale files pruned) and the analysts' copy. The
   pseudonymised exports in ``shared/`` are deleted (``adnet share`` writes them again).
5. **Compact** ``adnet.duckdb``: deleted rows survive in a DuckDB file's free blocks until they are
   reused, so the database is copied into a new file (``COPY FROM DATABASE``; with its key when it is
   encrypted) that replaces it once every table's row count is the same.
6. **Audit**: one ``audit_log`` row, action ``forget``, scope in counts only; then the analysts' copy
   is published afresh from the compacted file, with that row.
7. **Scrub the Dagster instance** (``<data>/.dagster``): its SQLite files keep every run's log lines
   and asset metadata (table previews, network summaries, pictures). Every text value holding a
   search string has it replaced by ``[forgotten]``; pictures (``data:image`` URIs) of runs before
   the forget's own are removed, as they may show the number or name drawn; then each file is
   VACUUMed. Compute logs (text files) are scrubbed the same way.

The search strings are one Python pattern (``Needles``); inside DuckDB a cheaper RE2 prefilter
chooses the rows, which the Python pattern confirms (RE2 compiles case-insensitive Unicode classes
too slowly to run the exact pattern there).

Finally ``find_leftovers`` searches every file under the data folder for the search strings: raw
bytes (as UTF-8 and Latin-1, UTF-16 when the file says so), every member of zip files (``.xlsx``,
``.xmind``), every text column of DuckDB and Parquet files by SQL, and file names. Each hit is
reported with its file and the fix: files adnet does not manage (notes, a demo's truth folder) are
the user's to clean.

No list of forgotten numbers or names is kept anywhere (it would itself record what was forgotten).
So a number that the next crawl shows again comes back, and so does a name a directory service
still lists; ``adnet forget`` must then be run again (or the crawler told to drop the number).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import phonenumbers

from adnet_assets.layout import ADS_FILE, MANIFEST_FILE, DataLayout
from adnet_assets.lib import audit, encryption
from adnet_assets.lib.billing import csv_spec as billing_csv_spec
from adnet_assets.lib.csv_records import (
    CsvSpec, checked_country, csv_files, decode_csv_bytes, normalise_newlines, read_csv_files,
)
from adnet_assets.lib.directory import csv_spec as directory_csv_spec
from adnet_assets.lib.directory import fold_name
from adnet_assets.lib.phone_index import parse_new_phone_strings, parser_version
from adnet_assets.lib.phones import parse_phone
from adnet_assets.lib.publish import CopyInUse, publish_copy
from adnet_assets.lib.snapshot_lines import LINES_DDL, SnapshotText, add_lines, decode_ads_file
from adnet_assets.lib.store import (
    atomic_file, connect, encrypt_database, memory_connection, read_parquet_sql, sql_path, table_exists,
    transaction,
)
from adnet_assets.schema import PHONE_STRINGS

__all__ = [
    "REPLACEMENT",
    "FileEdit",
    "ForgetError",
    "ForgetReport",
    "Leftover",
    "Needles",
    "Plan",
    "Request",
    "carry_out",
    "clean_database",
    "clear_shared",
    "compact_database",
    "cut_lines",
    "find_leftovers",
    "find_places",
    "name_key",
    "parse_request",
    "rewrite_inputs",
    "scrub_dagster",
]

REPLACEMENT = "[forgotten]"
ALIASES_SPEC = CsvSpec(columns=("name", "same_as", "not_same_as"), required=("name",))
_MAX_PERMUTED_WORDS = 4  # a name of up to 4 words is searched in every word order
_SEP = "[ .\\-/\\\\]{0,3}"  # between the digits of a number: space . - / and markdown's backslash
_IMAGE_URI = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=\\]+")
_CHUNK = 64 << 20


class ForgetError(ValueError):
    """A request or a step that cannot go on; the message names the file or the argument and the fix."""


# --------------------------------------------------------------------------------- the request

def name_key(name: object) -> str:
    """A person's name for exact matching: the folded words, sorted ("Hansen, Kari" = "Kari Hansen")."""
    return " ".join(sorted(fold_name(name).split()))


@dataclass(frozen=True)
class Request:
    """What to forget: numbers in E.164 and names as typed (``keys``: their ``name_key``)."""

    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    default_country: str = "NO"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name_key(n) for n in self.names))

    def describe(self) -> str:
        """'1 phone number', '2 phone numbers and 1 person': the only words about the target in the audit."""
        parts = []
        if self.phones:
            parts.append(f"{len(self.phones)} phone number{'s' if len(self.phones) != 1 else ''}")
        if self.keys:
            parts.append(f"{len(self.keys)} person{'s' if len(self.keys) != 1 else ''}")
        return " and ".join(parts)


def parse_request(phones: Sequence[str] = (), persons: Sequence[str] = (), default_country: str = "NO") -> Request:
    """Read ``--phone`` values with the pipeline's phone parser and ``--person`` names; ForgetError with the fix."""
    try:
        country = checked_country(default_country)
    except ValueError as exc:
        raise ForgetError(f"--country: {exc}") from exc
    numbers = []
    for raw in phones:
        found = [p for p in parse_phone(raw, country) if p.phone]
        if not found:
            reason = parse_phone(raw, country)[0].reason or "no number"
            raise ForgetError(f"--phone {raw!r}: no phone number can be read in it ({reason}); write it as the ads "
                              f"or the directory show it, e.g. +47 412 34 567, or give --country for a national number")
        if len(found) > 1:
            raise ForgetError(f"--phone {raw!r} holds {len(found)} numbers: give one --phone per number")
        numbers.append(found[0].phone)
    names = []
    for name in persons:
        if len(name_key(name).split()) < 2:
            raise ForgetError(f"--person {name!r}: give the full name as the directory writes it (first and last "
                              "name); a single word would match everyone who shares it")
        names.append(name.strip())
    if not numbers and not names:
        raise ForgetError("nothing to forget: give --phone NUMBER or --person \"FULL NAME\" (each may be repeated)")
    return Request(tuple(dict.fromkeys(numbers)), tuple(dict.fromkeys(names)), country)


# --------------------------------------------------------------------------------- search strings

def _lit(text: str, re2: bool) -> str:
    """``text`` as a literal in a Python or an RE2 pattern (the two escape control characters differently)."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{{{ord(ch):02x}}}" if re2 else f"\\x{ord(ch):02x}")
        elif ch.isascii():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _digits(digits: str) -> str:
    return _SEP.join(digits)


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class Needles:
    """The strings that give the target away.

    ``search``/``scrub`` use one Python pattern: a number's digits (country code optional, any of
    `` .-/\\`` between digits, no digit on either side), every displayed form that read as it, and
    each spelling of a name as words in any order (up to 4 words) separated by up to 4 non-letters,
    case-insensitive, also with its letters JSON-escaped (``S\\u00f8ren``) or folded (``soren``).
    Inside DuckDB, ``prefilter_sql`` is a cheaper RE2 pattern that matches at least everything the
    Python pattern matches (a name by its longest word alone: RE2 compiles case-insensitive Unicode
    classes very slowly); the rows it lets through are confirmed with ``search``."""

    phones: tuple[str, ...] = ()
    raw_strings: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.phones or self.raw_strings or self.spellings)

    def _number_parts(self, re2: bool) -> list[str]:
        left, right = ("(?:^|[^0-9])", "(?:[^0-9]|$)") if re2 else ("(?<![0-9])", "(?![0-9])")
        parts = []
        for e164 in self.phones:
            number = phonenumbers.parse(e164)
            nsn = phonenumbers.national_significant_number(number)
            national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
            parts.append(f"{left}(?:(?:\\+|00)?{number.country_code}{_SEP})?{_digits(nsn)}{right}")
            if national and national != nsn:
                parts.append(f"{left}{_digits(national)}{right}")
        parts += ["(?i:" + _lit(raw, re2) + ")" for raw in sorted(set(self.raw_strings)) if raw and raw.strip()]
        return parts

    def _words(self) -> list[list[set[str]]]:
        """Per spelling, per word: the forms it may be written in."""
        out = []
        for spelling in sorted(set(self.spellings)):
            words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", spelling))
            spelled = []
            for word in words:
                forms = {word, word.lower(), word.upper(), word.title(), fold_name(word)}
                forms |= {_json_escaped(f) for f in list(forms)}  # \u00f8 and \u00d8 differ in more than case
                spelled.append({f.lower(): f for f in sorted(forms) if f}.values())
            if spelled:
                out.append([set(forms) for forms in spelled])
        return out

    def python_pattern(self) -> re.Pattern | None:
        parts = self._number_parts(re2=False)
        for words in self._words():
            alts = ["(?:" + "|".join(_lit(f, False) for f in sorted(forms)) + ")" for forms in words]
            orders = itertools.permutations(alts) if len(alts) <= _MAX_PERMUTED_WORDS else [alts]
            parts += ["(?i:(?<![^\\W_])" + "[\\W_]{1,4}".join(order) + "(?![^\\W_]))" for order in orders]
        parts = list(dict.fromkeys(parts))
        return re.compile("|".join(parts)) if parts else None

    def prefilter_re2(self) -> str | None:
        """For DuckDB's ``regexp_matches``: matches whatever ``search`` matches (and a little more)."""
        parts = self._number_parts(re2=True)
        for words in self._words():
            longest = max(words, key=lambda forms: max(len(f) for f in forms))
            parts.append("(?i:" + "|".join(_lit(f, True) for f in sorted(longest)) + ")")
        parts = list(dict.fromkeys(parts))
        return "|".join(parts) if parts else None

    def prefilter_sql(self, column_sql: str) -> str:
        """SQL boolean: the text of ``column_sql`` may hold a search string (confirm with ``search``)."""
        pattern = self.prefilter_re2()
        if pattern is None:
            return "false"
        return f"coalesce(regexp_matches({column_sql}, '" + pattern.replace("'", "''") + "'), false)"

    def search(self, text: str) -> bool:
        pattern = _compiled(self)
        return bool(pattern and pattern.search(text))

    def scrub(self, text: str) -> str:
        """``text`` with every search string replaced by ``[forgotten]``."""
        pattern = _compiled(self)  # boundaries are look-arounds: only the number or name itself goes
        return text if pattern is None else pattern.sub(REPLACEMENT, text)


def _confirm(con: duckdb.DuckDBPyConnection, needles: Needles, select_sql: str, table: str) -> int:
    """Run ``select_sql`` (key columns, then the text last: rows the prefilter let through), keep the rows
    whose text ``needles.search`` confirms, and put their keys in the temp table ``table``."""
    cur = con.execute(select_sql)
    names = [d[0] for d in cur.description][:-1]
    rows = [r[:-1] for r in cur.fetchall() if r[-1] is not None and needles.search(r[-1])]
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame({n: [] for n in names})
    for name in names:
        frame[name] = frame[name].astype("Int64" if name in ("line_no", "rid") else "string")
    con.register("_fg_confirmed", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _fg_confirmed")
    finally:
        con.unregister("_fg_confirmed")
    return len(rows)


_PATTERNS: dict[Needles, re.Pattern | None] = {}


def _compiled(needles: Needles) -> re.Pattern | None:
    if needles not in _PATTERNS:
        _PATTERNS[needles] = needles.python_pattern()
    return _PATTERNS[needles]


# --------------------------------------------------------------------------------- the plan

@dataclass
class FileEdit:
    """Lines to cut from one input file: ``lines`` are 1-based physical lines (the readers' numbers)."""

    path: Path
    kind: str  # snapshot | directory | billing | aliases
    lines: tuple[int, ...]
    records: int
    source_file: str


@dataclass
class Plan:
    """Every place the target was found; counts are safe to show and audit, ``matched_spellings`` are
    for the terminal only (the user typed them; they are never written anywhere)."""

    request: Request
    needles: Needles
    edits: list[FileEdit] = field(default_factory=list)
    lookups: int = 0          # directory_lookups rows
    api_listings: int = 0     # directory_listings rows from services
    cached_strings: int = 0   # phone_strings rows
    matched_spellings: dict[str, int] = field(default_factory=dict)  # spelling -> rows (terminal only)
    other_spellings: list[str] = field(default_factory=list)         # same owner, not matched (terminal only)
    skipped: list[str] = field(default_factory=list)                 # what could not be rewritten, and why

    def records(self, kind: str) -> int:
        return sum(e.records for e in self.edits if e.kind == kind)

    def files(self, kind: str) -> int:
        return sum(1 for e in self.edits if e.kind == kind)

    @property
    def empty(self) -> bool:
        return not (self.edits or self.lookups or self.api_listings or self.cached_strings)

    def counts(self) -> str:
        """What was found, in counts only (the audit scope starts with this)."""
        parts = []
        for kind, label in (("snapshot", "snapshot line"), ("directory", "directory row"),
                            ("billing", "billing row"), ("aliases", "aliases.csv row")):
            n, f = self.records(kind), self.files(kind)
            if n:
                parts.append(f"{_n(n, label)} in {_n(f, 'file')}")
        if self.lookups:
            parts.append(_n(self.lookups, "service answer"))
        if self.api_listings:
            parts.append(_n(self.api_listings, "service listing"))
        if self.cached_strings:
            parts.append(_n(self.cached_strings, "cached phone string"))
        return ", ".join(parts) if parts else "nothing left in the inputs or the caches"


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _register(con: duckdb.DuckDBPyConnection, name: str, column: str, values: Iterable[str]) -> None:
    con.register(name, pd.DataFrame({column: pd.array(list(values), dtype="string")}))


def _seed_phone_strings(con: duckdb.DuckDBPyConnection, layout: DataLayout) -> None:
    """The pipeline's cache of parsed phone strings, copied into the planning connection (so only
    strings the pipeline never saw are parsed here)."""
    con.execute(PHONE_STRINGS.ddl())
    if not layout.database.is_file():
        return
    with connect(layout.database, read_only=True) as db:
        if not table_exists(db, "phone_strings"):
            return
        cols = ", ".join(f'"{c}"' for c in PHONE_STRINGS.column_names)
        frame = db.execute(f"SELECT {cols} FROM phone_strings WHERE parser_version = ?", [parser_version()]).df()
    con.register("_fg_seed", frame)
    try:
        con.execute(f"INSERT INTO phone_strings ({cols}) SELECT {cols} FROM _fg_seed")
    finally:
        con.unregister("_fg_seed")


def _snapshot_files(layout: DataLayout) -> list[Path]:
    """Every ``snapshots/<site>/<id>/ads.jsonl`` that really lies inside the data folder."""
    if not layout.snapshots.is_dir():
        return []
    inside = layout.snapshots.resolve()
    found = []
    for path in sorted(layout.snapshots.glob(f"*/*/{ADS_FILE}")):
        if path.parent.name.startswith(".") or path.parent.parent.name.startswith("."):
            continue
        if _linked(path, inside):
            continue  # a link: never read nor written (find_leftovers reports what it points to, if inside)
        if path.is_file():
            found.append(path)
    return found


def _linked(path: Path, inside: Path) -> bool:
    """The file, or a folder on its way, is a link (the data folder's own path is resolved already):
    such a file is never rewritten (through a link it would be rewritten twice, or outside the folder)."""
    try:
        real = path.resolve()
        return real != path.absolute() or not real.is_relative_to(inside.resolve())
    except OSError:
        return True


_LINE_PHONES = """
    SELECT source_file, line_no, unnest(json_extract_string(line, '$.phones[*]')) AS raw,
           coalesce(CASE WHEN json_type(line, '$.country') = 'VARCHAR'
                              AND regexp_matches(line->>'$.country', '^[A-Za-z]{{2}}$')
                         THEN upper(line->>'$.country') END, '{country}') AS default_country
    FROM lines
    WHERE utf8_ok AND json_valid(line) AND json_type(line) = 'OBJECT' AND json_type(line, '$.phones') = 'ARRAY'
"""
_BATCH_BYTES = 256 << 20  # snapshot files read into one batch of lines (bounded memory, few queries)


def _snapshot_batches(con: duckdb.DuckDBPyConnection, layout: DataLayout, paths: list[Path]):
    """Fill the ``lines`` table (``snapshot_lines.LINES_DDL``: source_file, line_no, line, utf8_ok) with
    batches of snapshot files, numbered as the ingest numbers them; yields after each batch."""
    batch, size = [], 0
    for i, path in enumerate(paths):
        batch.append(path)
        size += path.stat().st_size
        if size >= _BATCH_BYTES or i == len(paths) - 1:
            con.execute(LINES_DDL)
            for item in batch:
                text, bad = decode_ads_file(item.read_bytes())
                add_lines(con, SnapshotText("", item.parent.parent.name, item.parent.name, _relative(layout, item),
                                            text, bad))
            yield batch
            batch, size = [], 0


def _relative(layout: DataLayout, path: Path) -> str:
    try:
        return path.relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)


def _csv_kinds(layout: DataLayout) -> list[tuple[str, CsvSpec, list[Path]]]:
    """The CSV inputs by kind; links are left out (never read nor written through)."""
    kinds = [("directory", directory_csv_spec(), csv_files(layout.directory)),
             ("billing", billing_csv_spec(), csv_files(layout.billing)),
             ("aliases", ALIASES_SPEC, [layout.aliases] if layout.aliases.is_file() else [])]
    return [(kind, spec, [p for p in paths if not _linked(p, layout.root)]) for kind, spec, paths in kinds]


def _rows_ddl(spec: CsvSpec) -> str:
    cols = ", ".join(f'"{c}" VARCHAR' for c in spec.columns)
    return (f"CREATE OR REPLACE TEMP TABLE _fg_rows (source_file VARCHAR, line_no BIGINT, {cols}, record VARCHAR);"
            "CREATE OR REPLACE TEMP TABLE _fg_quarantine (source_file VARCHAR, line_no BIGINT, reason VARCHAR, "
            "raw_line VARCHAR);")


def _csv_phone_pairs(kind: str, country: str) -> str | None:
    """SQL of the (raw, default_country) pairs a reader parses, over ``_fg_rows``."""
    if kind == "directory":
        return f"SELECT phone AS raw, '{country}' AS default_country FROM _fg_rows WHERE phone IS NOT NULL"
    if kind == "billing":
        return f"""
            SELECT subscriber AS raw, '{country}' AS default_country FROM _fg_rows WHERE subscriber IS NOT NULL
            UNION ALL
            SELECT r.counterpart, coalesce(s.region, '{country}') FROM _fg_rows r
            LEFT JOIN phone_strings s ON s.raw = r.subscriber AND s.default_country = '{country}' AND s."index" = 0
            WHERE r.counterpart IS NOT NULL"""
    return None


def _csv_structured_sql(kind: str, country: str) -> str:
    """SQL flag: the row's phone reads as a target number, or its name field is a target person."""
    def phone_hit(column: str, country_sql: str) -> str:
        return (f"EXISTS (SELECT 1 FROM phone_strings s WHERE s.raw = r.{column} AND s.default_country = {country_sql} "
                "AND s.phone IN (SELECT phone FROM _fg_phones))")

    def name_hit(column: str) -> str:
        return f"r.{column} IN (SELECT name FROM _fg_names)"

    if kind == "directory":
        return f"({phone_hit('phone', repr(country))} OR {name_hit('name')})"
    if kind == "billing":
        region = (f"coalesce((SELECT min(s.region) FROM phone_strings s WHERE s.raw = r.subscriber "
                  f"AND s.default_country = '{country}' AND s.\"index\" = 0), '{country}')")
        return f"({phone_hit('subscriber', repr(country))} OR {phone_hit('counterpart', region)})"
    return f"({name_hit('name')} OR {name_hit('same_as')} OR {name_hit('not_same_as')})"


def _csv_lines(data: bytes) -> tuple[list[str], int]:
    """The physical lines of a CSV as the reader numbers them, and the header's line number (0: none)."""
    text, _ = decode_csv_bytes(data)
    lines = normalise_newlines(text).split("\n")
    header = next((i + 1 for i, line in enumerate(lines) if line.strip()), 0)
    return lines, header


def _plan_csvs(con: duckdb.DuckDBPyConnection, layout: DataLayout, request: Request, needles: Needles,
               plan: Plan) -> None:
    """Find the CSV records that hold the target (phones were parsed in the first pass)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _fg_lines (source_file VARCHAR, line_no BIGINT, line VARCHAR)")
    for kind, spec, paths in _csv_kinds(layout):
        if not paths:
            continue
        files = [(p, _relative(layout, p)) for p in paths]
        con.execute(_rows_ddl(spec))
        read_csv_files(con, files, spec, rows_table="_fg_rows", quarantine_table="_fg_quarantine")
        names = _distinct_names(con, spec) if kind in ("directory", "aliases") else []
        keys = set(request.keys)
        _register(con, "_fg_names", "name", [n for n in names if name_key(n) in keys])
        con.execute("DELETE FROM _fg_lines")
        for path, rel in files:
            lines, header = _csv_lines(path.read_bytes())
            if header:
                con.execute("INSERT INTO _fg_lines SELECT ?, line_no, line FROM (SELECT unnest(?) AS line, "
                            "unnest(generate_series(1, len(?))) AS line_no) WHERE line_no > ?",
                            [rel, lines, lines, header])
        _confirm(con, needles, f"SELECT source_file, line_no, line FROM _fg_lines WHERE {needles.prefilter_sql('line')}",
                 "_fg_text_hits")
        rows = con.execute(f"""
            WITH units AS (
              SELECT source_file, line_no AS first_line,
                     line_no + length(record) - length(replace(record, chr(10), '')) AS last_line,
                     {_csv_structured_sql(kind, request.default_country)} AS structured
              FROM _fg_rows r
              UNION ALL
              SELECT source_file, line_no,
                     line_no + coalesce(length(raw_line) - length(replace(raw_line, chr(10), '')), 0), false
              FROM _fg_quarantine WHERE line_no IS NOT NULL
            ), lu AS (
              SELECT l.source_file, l.line_no, coalesce(u.first_line, l.line_no) AS unit,
                     coalesce(u.structured, false) AS structured, t.line_no IS NOT NULL AS text_hit
              FROM _fg_lines l LEFT JOIN units u
                ON u.source_file = l.source_file AND l.line_no BETWEEN u.first_line AND u.last_line
              LEFT JOIN _fg_text_hits t ON t.source_file = l.source_file AND t.line_no = l.line_no
            ), hits AS (
              SELECT source_file, unit FROM lu GROUP BY source_file, unit
              HAVING bool_or(structured) OR bool_or(text_hit)
            )
            SELECT lu.source_file, list(lu.line_no ORDER BY lu.line_no), count(DISTINCT lu.unit)
            FROM lu JOIN hits USING (source_file, unit)
            GROUP BY lu.source_file ORDER BY lu.source_file""").fetchall()
        by_rel = {rel: path for path, rel in files}
        for rel, line_nos, n_units in rows:
            plan.edits.append(FileEdit(by_rel[rel], kind, tuple(line_nos), n_units, rel))
        if kind in ("directory", "aliases") and names:
            union = " UNION ALL ".join(f'SELECT "{c}" AS v FROM _fg_rows' for c in _name_columns(spec))
            shown = con.execute(f"SELECT v, count(*) FROM ({union}) WHERE v IN (SELECT name FROM _fg_names) "
                                "GROUP BY v ORDER BY v").fetchall()
            for spelling, n in shown:
                plan.matched_spellings[spelling] = plan.matched_spellings.get(spelling, 0) + n
        con.unregister("_fg_names")


def _plan_snapshots(con: duckdb.DuckDBPyConnection, layout: DataLayout, needles: Needles, plan: Plan,
                    paths: list[Path]) -> None:
    by_rel = {_relative(layout, p): p for p in paths}
    for _ in _snapshot_batches(con, layout, paths):
        _confirm(con, needles, f"SELECT source_file, line_no, line FROM lines WHERE {needles.prefilter_sql('line')}",
                 "_fg_text_hits")
        rows = con.execute(f"""
            WITH shown AS (
              SELECT p.source_file, p.line_no
              FROM ({_LINE_PHONES.format(country=plan.request.default_country)}) p
              JOIN phone_strings s ON s.raw = p.raw AND s.default_country = p.default_country
              WHERE s.phone IN (SELECT phone FROM _fg_phones)
              UNION
              SELECT source_file, line_no FROM _fg_text_hits
            )
            SELECT source_file, list(line_no ORDER BY line_no) FROM shown
            GROUP BY source_file ORDER BY source_file""").fetchall()
        for rel, line_nos in rows:
            path = by_rel[rel]
            if not (path.parent / MANIFEST_FILE).is_file():
                plan.skipped.append(f"{_relative(layout, path.parent)}: the crawl is still being written (no "
                                    f"{MANIFEST_FILE}); run adnet forget again once it is complete")
                continue
            plan.edits.append(FileEdit(path, "snapshot", tuple(line_nos), len(line_nos), rel))


def _first_pass(con: duckdb.DuckDBPyConnection, layout: DataLayout, request: Request,
                snapshots: list[Path]) -> set[str]:
    """Every phone string of the inputs into the planning connection's ``phone_strings``; returns the
    spellings of the target persons the directory and aliases files hold."""
    country = request.default_country
    for _ in _snapshot_batches(con, layout, snapshots):
        parse_new_phone_strings(con, f"SELECT raw, default_country FROM ({_LINE_PHONES.format(country=country)})")
    keys = set(request.keys)
    spellings: set[str] = set()
    for kind, spec, paths in _csv_kinds(layout):
        if not paths:
            continue
        con.execute(_rows_ddl(spec))
        read_csv_files(con, [(p, _relative(layout, p)) for p in paths], spec, rows_table="_fg_rows",
                       quarantine_table="_fg_quarantine")
        if kind == "billing":  # subscribers first: their region is the counterparts' default country
            parse_new_phone_strings(con, f"SELECT subscriber AS raw, '{country}' AS default_country FROM _fg_rows "
                                         "WHERE subscriber IS NOT NULL")
        pairs = _csv_phone_pairs(kind, country)
        if pairs is not None:
            parse_new_phone_strings(con, pairs)
        if keys and kind in ("directory", "aliases"):
            spellings |= {n for n in _distinct_names(con, spec) if name_key(n) in keys}
    return spellings


def _name_columns(spec: CsvSpec) -> list[str]:
    return [c for c in spec.columns if c in ("name", "same_as", "not_same_as")]


def _distinct_names(con: duckdb.DuckDBPyConnection, spec: CsvSpec) -> list[str]:
    union = " UNION ALL ".join(f'SELECT "{c}" AS v FROM _fg_rows' for c in _name_columns(spec))
    return [r[0] for r in con.execute(f"SELECT DISTINCT v FROM ({union}) WHERE v IS NOT NULL").fetchall()]


def _plan_database(layout: DataLayout, request: Request, needles: Needles, plan: Plan) -> None:
    """Count what the caches of the database hold (read-only); note the spellings it knows."""
    if not layout.database.is_file():
        return
    with connect(layout.database, read_only=True) as db:
        _register_targets(db, request)
        try:
            where = _select_cached(db, needles)
            for table, attr, extra in (("directory_lookups", "lookups", ""),
                                       ("directory_listings", "api_listings", " AND d.source = 'api'"),
                                       ("phone_strings", "cached_strings", "")):
                if table in where:
                    alias = {"directory_lookups": "l", "directory_listings": "d"}.get(table, table)
                    setattr(plan, attr, db.execute(
                        f"SELECT count(*) FROM {table} {alias} WHERE {where[table]}{extra}").fetchall()[0][0])
            if table_exists(db, "directory_listings"):
                for spelling, n in db.execute(f"""
                        SELECT name, count(*) FROM directory_listings
                        WHERE {_KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys) AND source = 'api'
                        GROUP BY name ORDER BY name""").fetchall():
                    plan.matched_spellings[spelling] = plan.matched_spellings.get(spelling, 0) + n
            if table_exists(db, "owner_variants") and request.keys:
                plan.other_spellings = [r[0] for r in db.execute(f"""
                    SELECT DISTINCT name FROM owner_variants
                    WHERE owner_id IN (SELECT owner_id FROM owner_variants
                                       WHERE {_KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys))
                      AND {_KEY_SQL.format(col='name_norm')} NOT IN (SELECT key FROM _fg_keys)
                    ORDER BY name""").fetchall()]
        finally:
            _unregister_targets(db)


_KEY_SQL = "array_to_string(list_sort(list_filter(string_split(coalesce({col}, ''), ' '), lambda w: w <> '')), ' ')"


def _register_targets(con: duckdb.DuckDBPyConnection, request: Request) -> None:
    _register(con, "_fg_phones", "phone", request.phones)
    _register(con, "_fg_keys", "key", request.keys)


def _unregister_targets(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("_fg_phones", "_fg_keys"):
        with contextlib.suppress(Exception):
            con.unregister(view)


def _select_cached(db: duckdb.DuckDBPyConnection, needles: Needles) -> dict[str, str]:
    """Choose the cache rows about the target, in temp tables of the connection (read-only is enough);
    returns the WHERE clause of each table (``l`` directory_lookups, ``d`` directory_listings).

    A service answer goes when it was about a target number, when a listing made from it names a
    target person, or when its text holds a search string; every listing made from an answer that
    goes goes with it. Answers are chosen first, so that deleting listings cannot change the choice."""
    where: dict[str, str] = {}
    lookups, listings = table_exists(db, "directory_lookups"), table_exists(db, "directory_listings")
    if lookups:
        by_person = (f"""OR EXISTS (SELECT 1 FROM directory_listings d WHERE d.source = 'api' AND d.source_file = l.service
                         AND d.phone = l.phone AND {_KEY_SQL.format(col='d.name_norm')} IN (SELECT key FROM _fg_keys))"""
                     if listings else "")
        _confirm(db, needles, "SELECT rowid AS rid, CAST(answer AS VARCHAR) FROM directory_lookups "
                              f"WHERE {needles.prefilter_sql('CAST(answer AS VARCHAR)')}", "_fg_text_lookups")
        db.execute(f"""CREATE OR REPLACE TEMP TABLE _fg_lookups AS
                       SELECT rowid AS rid, service, phone FROM directory_lookups l
                       WHERE l.phone IN (SELECT phone FROM _fg_phones) {by_person}
                          OR rowid IN (SELECT rid FROM _fg_text_lookups)""")
        where["directory_lookups"] = "rowid IN (SELECT rid FROM _fg_lookups)"
    if listings:
        from_answers = (" OR (d.source = 'api' AND (d.source_file, d.phone) IN (SELECT service, phone FROM _fg_lookups))"
                        if lookups else "")
        where["directory_listings"] = (f"(d.phone IN (SELECT phone FROM _fg_phones) OR "
                                       f"{_KEY_SQL.format(col='d.name_norm')} IN (SELECT key FROM _fg_keys){from_answers})")
    if table_exists(db, "phone_strings"):
        where["phone_strings"] = "raw IN (SELECT raw FROM phone_strings WHERE phone IN (SELECT phone FROM _fg_phones))"
    return where


def _database_spellings(layout: DataLayout, request: Request) -> set[str]:
    """Spellings of the target persons the database knows (directory listings, owners' variants)."""
    if not request.keys or not layout.database.is_file():
        return set()
    found: set[str] = set()
    with connect(layout.database, read_only=True) as db:
        _register_targets(db, request)
        try:
            for table in ("directory_listings", "owner_variants"):
                if table_exists(db, table):
                    found |= {r[0] for r in db.execute(
                        f"SELECT DISTINCT name FROM {table} WHERE name IS NOT NULL AND "
                        f"{_KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys)").fetchall()}
        finally:
            _unregister_targets(db)
    keys = set(request.keys)
    return {n for n in found if name_key(n) in keys}


def find_places(layout: DataLayout, request: Request, *, log: Callable[[str], None] | None = None) -> Plan:
    """Every place the request's numbers and persons are found; reads only. The dry run stops here."""
    say = log or (lambda message: None)
    if not layout.root.is_dir():
        raise ForgetError(f"{layout.root}: no such data folder; give the investigation's folder with --data-dir")
    con = memory_connection(layout.tmp)  # spills (encrypted with a key) inside the data folder only
    try:
        _seed_phone_strings(con, layout)
        snapshots = _snapshot_files(layout)
        say(f"reading the phone strings of {_n(len(snapshots), 'snapshot file')} and the CSV inputs")
        spellings = _first_pass(con, layout, request, snapshots) | _database_spellings(layout, request)
        _register_targets(con, request)
        raws = tuple(r[0] for r in con.execute(
            "SELECT DISTINCT raw FROM phone_strings WHERE phone IN (SELECT phone FROM _fg_phones) ORDER BY raw").fetchall())
        plan = Plan(request, Needles(request.phones, raws, tuple(sorted(spellings | set(request.names)))))
        say("searching the CSV inputs and the snapshot lines")
        _plan_csvs(con, layout, request, plan.needles, plan)
        _plan_snapshots(con, layout, plan.needles, plan, snapshots)
    finally:
        con.close()
    _plan_database(layout, request, plan.needles, plan)
    plan.edits.sort(key=lambda e: (e.kind, e.source_file))
    return plan


# --------------------------------------------------------------------------------- rewriting files

def _split_keepends(data, sep):
    """Physical lines with their terminators (the last one may have none)."""
    parts = data.split(sep)
    return [p + sep for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def cut_lines(data: bytes, drop: Iterable[int], *, csv: bool) -> bytes:
    """``data`` without the 1-based physical lines ``drop``, byte for byte otherwise.

    Lines are numbered as the readers number them: an ``ads.jsonl`` at every LF; a CSV at every LF
    (CR before it stays with the line), or at every CR when the file has no LF (old Mac), after
    decoding (UTF-16 files are cut as text and encoded again with their byte order and BOM). A BOM
    stays at the start of the file when the first line goes. When the last line goes and the file
    did not end with a line end, the new last line loses its line end too."""
    drop = set(drop)
    if not drop:
        return data
    bom = b""
    if csv:
        text, encoding = decode_csv_bytes(data)
        if encoding.startswith(("utf-16", "utf-32")):
            bom, codec = _wide_codec(data, encoding)
            text = data[len(bom):].decode(codec)
            sep = "\n" if "\n" in text else "\r"
            return bom + "".join(_keep(_split_keepends(text, sep), drop, sep)).encode(codec)
    if data.startswith(b"\xef\xbb\xbf"):
        bom, data = data[:3], data[3:]
    sep = b"\n" if (not csv or b"\n" in data) else b"\r"
    pieces = _split_keepends(data, sep)
    return bom + b"".join(_keep(pieces, drop, sep))


def _wide_codec(data: bytes, encoding: str) -> tuple[bytes, str]:
    """(BOM bytes, codec with its byte order) of a UTF-16/32 file as ``decode_csv_bytes`` named it."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                       (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if encoding in ("utf-16", "utf-32") and data.startswith(bom) and codec.startswith(encoding):
            return bom, codec
    return b"", encoding  # utf-16-le / utf-16-be without a BOM


def _keep(pieces: list, drop: set[int], sep):
    """The pieces not dropped; when the last line went and the file had no line end after it, the new
    last line loses its line end (CR LF or the separator) so that the file still ends the same way."""
    kept = [p for i, p in enumerate(pieces, 1) if i not in drop]
    ended = bool(pieces) and pieces[-1].endswith(sep)
    if kept and not ended and len(pieces) in drop and kept[-1].endswith(sep):
        crlf = "\r\n" if isinstance(sep, str) else b"\r\n"
        kept[-1] = kept[-1][: -len(crlf)] if kept[-1].endswith(crlf) else kept[-1][: -len(sep)]
    return kept


def _write(target: Path, data: bytes) -> None:
    mode = target.stat().st_mode & 0o777 if target.exists() else None
    with atomic_file(target) as tmp:
        tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)


def _manifest_state(manifest: dict, old: bytes, new: bytes) -> str:
    """'old' when the manifest lists the file as it is, 'new' when it already lists the rewritten one
    (a forget interrupted between the two writes), else 'broken'."""
    spec = (manifest.get("files") or {}).get(ADS_FILE) if isinstance(manifest.get("files"), dict) else None
    if not isinstance(spec, dict):
        return "broken"
    for state, data in (("old", old), ("new", new)):
        if spec.get("bytes") == len(data) and str(spec.get("sha256", "")).lower() == hashlib.sha256(data).hexdigest():
            return state
    return "broken"


def _rewrite_snapshot(edit: FileEdit, log: Callable[[str], None]) -> None:
    old = edit.path.read_bytes()
    new = cut_lines(old, edit.lines, csv=False)
    manifest_path = edit.path.parent / MANIFEST_FILE
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    state = _manifest_state(manifest, old, new) if isinstance(manifest, dict) else "broken"
    if state == "broken":
        log(f"  {edit.source_file}: did not match its {MANIFEST_FILE} before (quarantined); its lines are cut, "
            "the manifest is left as it was")
    else:
        # manifest first: a forget interrupted before ads.jsonl is written finds a manifest that matches
        # the rewritten file, and completes it
        manifest["files"][ADS_FILE] = {**manifest["files"][ADS_FILE], "sha256": hashlib.sha256(new).hexdigest(),
                                       "bytes": len(new)}
        if state == "old":
            previous = manifest.get("redacted_lines")
            manifest["redacted_lines"] = (previous if isinstance(previous, int) else 0) + len(edit.lines)
        text = json.dumps(manifest, ensure_ascii=False, indent=2 if b"\n  " in raw else None)
        _write(manifest_path, (text + ("\n" if raw.endswith(b"\n") else "")).encode("utf-8"))
    _write(edit.path, new)


def _data_left(data: bytes) -> bool:
    """A CSV still holds a data row (a non-blank line after its header)."""
    lines, header = _csv_lines(data)
    return bool(header) and any(line.strip() for line in lines[header:])


def rewrite_inputs(plan: Plan, *, log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Step 2: cut the found lines from the input files (atomically, one file at a time).

    Returns counts: files rewritten and CSV files deleted because no data row was left."""
    say = log or (lambda message: None)
    counts = {"rewritten": 0, "deleted": 0}
    for edit in plan.edits:
        if edit.kind == "snapshot":
            _rewrite_snapshot(edit, say)
            counts["rewritten"] += 1
            continue
        new = cut_lines(edit.path.read_bytes(), edit.lines, csv=True)
        if not _data_left(new):
            edit.path.unlink()
            counts["deleted"] += 1
            say(f"  {edit.source_file}: no row left, file deleted")
            continue
        _write(edit.path, new)
        counts["rewritten"] += 1
    return counts


# --------------------------------------------------------------------------------- database

def clean_database(layout: DataLayout, plan: Plan) -> None:
    """Step 3: the caches no run rebuilds: service answers, their listings, parsed phone strings."""
    if not layout.database.is_file():
        return
    with connect(layout.database) as db:
        _register_targets(db, plan.request)
        try:
            with transaction(db):
                where = _select_cached(db, plan.needles)
                for table, alias in (("directory_listings", "d"), ("directory_lookups", "l"), ("phone_strings", "p")):
                    if table in where:
                        db.execute(f"DELETE FROM {table} {alias} WHERE {where[table]}")
        finally:
            _unregister_targets(db)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compact_database(path: Path, *, log: Callable[[str], None] | None = None) -> bool:
    """Step 5: copy the database into a new file beside it and put that in its place.

    Deleted rows stay in a DuckDB file's free blocks until the space is reused; a copy holds only
    live data. The write lock is held from before the copy until the new file is in place, so no
    run writes in between; row counts of every table are compared before the swap. Returns False
    when there is no database."""
    if not path.is_file():
        return False
    key = encryption.resolve(encryption.FROM_ENV)
    if key is not None:  # an encrypted database: rewriting it with its own key is the same copy
        encrypt_database(path, key, current_key=key, log=log)
        return True
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.compact.tmp"
    alias = f"adnet_compact_{secrets.token_hex(4)}"
    try:
        with connect(path) as con:
            con.execute("CHECKPOINT")
            source = con.execute("SELECT current_database()").fetchall()[0][0]
            con.execute(f"ATTACH '{sql_path(tmp)}' AS {alias}")
            try:
                con.execute(f"COPY FROM DATABASE {_quote(source)} TO {alias}")
                counts = {}
                for catalog in (source, alias):
                    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                                         "ORDER BY 1, 2", [catalog]).fetchall()
                    counts[catalog] = {t: con.execute(
                        f"SELECT count(*) FROM {_quote(catalog)}.{_quote(t[0])}.{_quote(t[1])}").fetchall()[0][0]
                        for t in tables}
            finally:
                con.execute(f"DETACH {alias}")
            if counts[source] != counts[alias]:
                raise ForgetError(f"{path}: the compacted copy does not hold the same rows; the database was left "
                                  "as it was. Run adnet forget again.")
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        if log is not None:
            log(f"  {path.name} compacted ({path.stat().st_size:,} bytes)")
        return True
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


# --------------------------------------------------------------------------------- the Dagster instance

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == _SQLITE_MAGIC


def _scrubber(needles: Needles, keep_run_id: str | None):
    def wipe_images(text: str) -> bool:
        return (keep_run_id is None or keep_run_id not in text) and "data:image/" in text

    def hit(value):
        return isinstance(value, str) and (needles.search(value) or wipe_images(value))

    def scrub(value):
        if not isinstance(value, str):
            return value
        if wipe_images(value):
            value = _IMAGE_URI.sub(REPLACEMENT, value)
        return needles.scrub(value)

    return hit, scrub


def _scrub_sqlite(path: Path, needles: Needles, keep_run_id: str | None) -> int:
    hit, scrub = _scrubber(needles, keep_run_id)
    try:
        con = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise ForgetError(f"{path}: cannot open the Dagster database ({exc})") from exc
    changed = 0
    try:
        con.create_function("adnet_hit", 1, hit, deterministic=True)
        con.create_function("adnet_scrub", 1, scrub, deterministic=True)
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()]
        con.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                for column in [r[1] for r in con.execute(f"PRAGMA table_info({_quote(table)})").fetchall()]:
                    cur = con.execute(f"UPDATE {_quote(table)} SET {_quote(column)} = adnet_scrub({_quote(column)}) "
                                      f"WHERE typeof({_quote(column)}) = 'text' AND adnet_hit({_quote(column)})")
                    changed += max(cur.rowcount, 0)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("VACUUM")  # rebuilds the file: the old values leave the free pages too
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        raise ForgetError(f"{path}: the Dagster instance is in use ({exc}): stop `adnet ui` (and any run) "
                          "and run adnet forget again") from exc
    except sqlite3.DatabaseError as exc:  # e.g. two scrubbed values of a unique column now equal
        raise ForgetError(f"{path}: could not scrub this Dagster database ({exc}); it was left as it was and "
                          "still holds what is to be forgotten. Stop `adnet ui` and run adnet forget again; if this "
                          "repeats, delete the file by hand (the run history in it goes with it)") from exc
    finally:
        con.close()
    return changed


def scrub_dagster(layout: DataLayout, needles: Needles, *, keep_run_id: str | None = None) -> tuple[int, int]:
    """Step 6: replace the search strings in every SQLite file and text file of the Dagster instance,
    and drop the pictures of runs other than ``keep_run_id``. Returns (values changed, files changed)."""
    home = layout.dagster_home
    if not home.is_dir():
        return 0, 0
    hit, scrub = _scrubber(needles, keep_run_id)
    values = files = 0
    for path in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # written back into their database by the checkpoint
        if _is_sqlite(path):
            n = _scrub_sqlite(path, needles, keep_run_id)
        else:
            data = path.read_bytes()
            if b"\x00" in data[:8192]:
                continue  # not text
            text = data.decode("utf-8", "surrogateescape")
            if not hit(text):
                continue
            _write(path, scrub(text).encode("utf-8", "surrogateescape"))
            n = 1
        values += n
        files += n > 0
    return values, files


# --------------------------------------------------------------------------------- verification

@dataclass(frozen=True)
class Leftover:
    """A file that still holds a search string: where in it, and what to do."""

    path: str
    where: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}; {self.fix}"


def _fix_for(layout: DataLayout, path: Path) -> str:
    rel = _relative(layout, path)
    top = rel.split("/", 1)[0]
    if top == "snapshots":
        folder = path.parent
        if path.name == ADS_FILE and not (folder / MANIFEST_FILE).is_file():
            return "the crawl is still being written (no manifest.json): run adnet forget again once it is complete"
        return "run adnet forget again"
    if top == ".dagster":
        return "stop `adnet ui` and any run, then run adnet forget again"
    if top == "analyst":
        if ".wal" in path.name:
            return "a write-ahead log left by a session that wrote to the analysts' copy: delete it"
        return "close the SQL client holding the analysts' copy, then run adnet forget again"
    if top in ("exports", "warehouse", "adnet.duckdb", "adnet.duckdb.wal", "directory", "billing", "aliases.csv",
               "shared"):
        return "run adnet forget again (a rebuild did not finish)"
    return "adnet does not manage this file: edit or delete it yourself"


class _Searcher:
    def __init__(self, needles: Needles):
        self.needles = needles
        self.pattern = _compiled(needles)
        self.non_ascii = any(not s.isascii() for s in (*needles.raw_strings, *needles.spellings))

    def text(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text))

    def data(self, data: bytes) -> bool:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            with contextlib.suppress(UnicodeDecodeError):
                if self.text(data.decode("utf-16")):
                    return True
        if self.text(data.decode("latin-1")):  # every byte as one character: ASCII needles, cp1252 names
            return True
        return self.non_ascii and self.text(data.decode("utf-8", "replace"))

    def file(self, path: Path) -> bool:
        with open(path, "rb") as handle:
            tail = b""
            while chunk := handle.read(_CHUNK):
                if self.data(tail + chunk):
                    return True
                tail = chunk[-4096:]
        return False


def _sql_hits(con: duckdb.DuckDBPyConnection, relation: str, columns: list[tuple[str, str]],
              needles: Needles) -> list[str]:
    """Columns of ``relation`` whose text holds a search string: 'column c: n row(s)'. One prefilter
    over all text columns of a row at once, then each column of the rows it lets through in Python."""
    text_cols = [c for c, t in columns if "VARCHAR" in t.upper() or "JSON" in t.upper()]
    if needles.empty or not text_cols:
        return []
    values = [f"CAST({_quote(c)} AS VARCHAR)" for c in text_cols]
    rows = con.execute(f"SELECT {', '.join(values)} FROM {relation} "
                       f"WHERE {needles.prefilter_sql('concat_ws(chr(10), ' + ', '.join(values) + ')')}").fetchall()
    counts = [sum(1 for row in rows if row[i] is not None and needles.search(row[i])) for i in range(len(text_cols))]
    return [f"column {c}: {_n(n, 'row')}" for c, n in zip(text_cols, counts) if n]


def _duckdb_hits(path: Path, needles: Needles) -> list[str]:
    hits = []
    with connect(path, read_only=True, lock_timeout_s=60) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE "
                             "table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        for schema, table in tables:
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                               "table_catalog = current_database() AND table_schema = ? AND table_name = ? "
                               "ORDER BY ordinal_position", [schema, table]).fetchall()
            hits += [f"table {table}, {h}" for h in _sql_hits(con, f"{_quote(schema)}.{_quote(table)}", cols, needles)]
    return hits


def _parquet_hits(con: duckdb.DuckDBPyConnection, path: Path, needles: Needles) -> list[str]:
    relation = read_parquet_sql([path])
    cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    return _sql_hits(con, relation, cols, needles)


def _zip_hits(path: Path, searcher: _Searcher) -> list[str]:
    hits = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir() and searcher.data(archive.read(info)):
                hits.append(f"inside it, {info.filename}")
            if searcher.text(info.filename):
                hits.append("inside it, a member's name")
    return hits


def find_leftovers(layout: DataLayout, needles: Needles) -> list[Leftover]:
    """Every file under the data folder that still holds a search string (see the module docstring)."""
    if needles.empty or not layout.root.is_dir():
        return []
    searcher = _Searcher(needles)
    found: list[Leftover] = []
    with memory_connection(layout.tmp) as parquet:  # knows the warehouse key when one is configured
        for rel, where in _search_tree(layout, needles, searcher, parquet):
            found.append(Leftover(rel, where, _fix_for(layout, layout.root / rel)))
    return found


def _search_tree(layout: DataLayout, needles: Needles, searcher: _Searcher, parquet: duckdb.DuckDBPyConnection):
    """(relative path, where) of every hit under the data folder."""
    for folder, dirs, names in os.walk(layout.root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = _relative(layout, path)
            where: list[str] = []
            if searcher.text(rel):
                where.append("its name")
            with open(path, "rb") as handle:
                head = handle.read(16)
            try:
                if head[8:12] == b"DUCK":
                    sql = _duckdb_hits(path, needles)
                    where += sql
                    if not sql and searcher.file(path):
                        where.append("deleted rows in its free blocks")
                elif head[:4] in (b"PAR1", b"PARE"):  # PARE: an encrypted footer
                    where += _parquet_hits(parquet, path, needles)
                elif head[:4] == b"PK\x03\x04" and zipfile.is_zipfile(path):
                    where += _zip_hits(path, searcher)
                elif searcher.file(path):
                    where.append("its bytes")
            except (duckdb.Error, zipfile.BadZipFile, OSError, RuntimeError) as exc:
                where.append(f"could not be searched ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            yield from ((rel, w) for w in where)


# --------------------------------------------------------------------------------- the whole forget

@dataclass
class ForgetReport:
    """What ``carry_out`` did, in counts; ``leftovers`` are the files that still hold the target."""

    plan: Plan
    scope: str = ""
    files: dict[str, int] = field(default_factory=dict)
    run_id: str | None = None
    shared_removed: int = 0
    compacted: bool = False
    scrubbed_values: int = 0
    scrubbed_files: int = 0
    analyst_copy: str = ""
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.leftovers


def clear_shared(layout: DataLayout) -> int:
    """The pseudonymised exports were made from the old data: delete them (``adnet share`` remakes them)."""
    folder = layout.shared_exports
    if not folder.is_dir():
        return 0
    removed = 0
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed += 1
        elif path.is_dir():
            with contextlib.suppress(OSError):
                path.rmdir()
    return removed


def carry_out(layout: DataLayout, plan: Plan, *, run_pipeline: Callable[[], str | None] | None,
              log: Callable[[str], None] | None = None) -> ForgetReport:
    """Steps 2-7 and the final search. ``run_pipeline`` rebuilds everything from the inputs (``adnet run``)
    and returns its run id; the caller gives it, so that this module needs no Dagster."""
    say = log or (lambda message: None)
    report = ForgetReport(plan)
    say(f"1/7 rewriting the input files: {plan.counts()}")
    report.files = rewrite_inputs(plan, log=say)
    say("2/7 removing the directory services' cached answers and the parsed phone strings")
    clean_database(layout, plan)
    if run_pipeline is not None:
        say("3/7 rebuilding every table, export and the analysts' copy (adnet run)")
        report.run_id = run_pipeline()
    report.shared_removed = clear_shared(layout)
    if report.shared_removed:
        say(f"  {_n(report.shared_removed, 'pseudonymised export file')} in shared/ deleted: run adnet share again")
    say("4/7 compacting the database")
    report.compacted = compact_database(layout.database, log=say)
    steps = ["tables and exports rebuilt" if report.run_id else "", "database compacted" if report.compacted else "",
             f"{_n(report.shared_removed, 'shared export file')} deleted" if report.shared_removed else ""]
    report.scope = f"{plan.request.describe()}: {plan.counts()}" + "".join(f"; {s}" for s in steps if s)
    say("5/7 recording the forget in the audit trail (counts only)")
    if layout.database.is_file():
        with connect(layout.database) as con:
            with transaction(con):
                audit.record(con, "forget", report.scope)
        say("6/7 publishing a fresh analysts' copy")
        try:
            publish_copy(layout.database, layout.analyst_database, log=say)
            report.analyst_copy = "published"
        except CopyInUse as exc:
            report.analyst_copy = str(exc)
            say(f"  {exc}")
    say("7/7 scrubbing the Dagster instance's history")
    report.scrubbed_values, report.scrubbed_files = scrub_dagster(layout, plan.needles, keep_run_id=report.run_id)
    say("searching every file of the data folder for what is left")
    report.leftovers = find_leftovers(layout, plan.needles)
    return report
