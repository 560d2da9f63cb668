"""Step 1 of a forget, read-only (the dry run stops here): ``find_places`` finds every record of the
inputs that holds the target, and counts the database's cache rows about it (``database``).

Every phone string of the inputs is parsed with the pipeline's own parser and cache
(``phone_strings``), in the country the pipeline reads it in, so a line is found however the number
is displayed. A *record* (an ad line, a CSV record over all its physical lines) holds the target when

* a phone field reads as a target number (the ad's ``phones``, the directory's ``phone``, the
  billing ``subscriber`` or ``counterpart``), or
* a name field is a target person (directory ``name``; aliases ``name``/``same_as``/``not_same_as``):
  the same folded words (``directory.fold_name``) in any order, so "Hansen, Kari" is "Kari Hansen"
  but "Kari Hansens" is not (never fuzzy: the dry run lists what matched, and the other spellings
  the owners step joined to the same person, which the user may add), or
* its text holds a search string (``needles``). This catches a number written in an ad's free text,
  and lines the readers set aside (quarantine keeps raw lines too).

A person's *number* stays: the ads that show it are the network's, and the network still uses the
number. Their directory rows go (with the address written in them; the address stays where other
people's rows name it). A crawl still being written (no manifest) is left alone and reported.
Links (a file, or a folder on its way) are never read nor rewritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from adnet_assets.layout import ADS_FILE, MANIFEST_FILE, DataLayout
from adnet_assets.lib.billing import csv_spec as billing_csv_spec
from adnet_assets.lib.csv_records import CsvSpec, csv_files, read_csv_files
from adnet_assets.lib.directory import csv_spec as directory_csv_spec
from adnet_assets.lib.forget.database import count_cached, known_spellings
from adnet_assets.lib.forget.inputs import csv_lines
from adnet_assets.lib.forget.needles import Needles
from adnet_assets.lib.forget.plan import FileEdit, Plan, plural
from adnet_assets.lib.forget.request import ForgetError, Request, name_key
from adnet_assets.lib.forget.sql import confirm, register_strings, registered, target_views
from adnet_assets.lib.phone_index import parse_new_phone_strings, parser_version
from adnet_assets.lib.snapshot_lines import LINES_DDL, SnapshotText, add_lines, decode_ads_file
from adnet_assets.lib.store import connect, memory_connection, table_exists
from adnet_assets.schema import PHONE_STRINGS

ALIASES_SPEC = CsvSpec(columns=("name", "same_as", "not_same_as"), required=("name",))


def relative(layout: DataLayout, path: Path) -> str:
    """``path`` relative to the data folder, as the readers name their source files."""
    try:
        return path.relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)


def _linked(path: Path, inside: Path) -> bool:
    """The file, or a folder on its way, is a link (the data folder's own path is resolved already):
    such a file is never rewritten (through a link it would be rewritten twice, or outside the folder)."""
    try:
        real = path.resolve()
        return real != path.absolute() or not real.is_relative_to(inside.resolve())
    except OSError:
        return True


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
    with registered(con, "_fg_seed", frame):
        con.execute(f"INSERT INTO phone_strings ({cols}) SELECT {cols} FROM _fg_seed")


# --------------------------------------------------------------------------------- snapshots

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
                add_lines(con, SnapshotText("", item.parent.parent.name, item.parent.name, relative(layout, item),
                                            text, bad))
            yield batch
            batch, size = [], 0


def _plan_snapshots(con: duckdb.DuckDBPyConnection, layout: DataLayout, needles: Needles, plan: Plan,
                    paths: list[Path]) -> None:
    by_rel = {relative(layout, p): p for p in paths}
    for _ in _snapshot_batches(con, layout, paths):
        confirm(con, needles, f"SELECT source_file, line_no, line FROM lines WHERE {needles.prefilter_sql('line')}",
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
                plan.skipped.append(f"{relative(layout, path.parent)}: the crawl is still being written (no "
                                    f"{MANIFEST_FILE}); run adnet forget again once it is complete")
                continue
            plan.edits.append(FileEdit(path, "snapshot", tuple(line_nos), len(line_nos), rel))


# --------------------------------------------------------------------------------- CSV inputs

def _csv_kinds(layout: DataLayout) -> list[tuple[str, CsvSpec, list[Path]]]:
    """The CSV inputs by kind; links are left out (never read nor written through)."""
    kinds = [("directory", directory_csv_spec(), csv_files(layout.directory)),
             ("billing", billing_csv_spec(), csv_files(layout.billing)),
             ("aliases", ALIASES_SPEC, [layout.aliases] if layout.aliases.is_file() else [])]
    return [(kind, spec, [p for p in paths if not _linked(p, layout.root)]) for kind, spec, paths in kinds]


def _read_rows(con: duckdb.DuckDBPyConnection, spec: CsvSpec, files: list[tuple[Path, str]]) -> None:
    """The records of ``files`` (path, source_file) as the reader reads them, into ``_fg_rows`` (with
    their first line and raw text) and ``_fg_quarantine`` (what it set aside)."""
    cols = ", ".join(f'"{c}" VARCHAR' for c in spec.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fg_rows (source_file VARCHAR, line_no BIGINT, {cols}, record VARCHAR);"
                "CREATE OR REPLACE TEMP TABLE _fg_quarantine (source_file VARCHAR, line_no BIGINT, reason VARCHAR, "
                "raw_line VARCHAR);")
    read_csv_files(con, files, spec, rows_table="_fg_rows", quarantine_table="_fg_quarantine")


def _names_sql(spec: CsvSpec) -> str:
    """The values of the name columns of ``_fg_rows`` (column ``v``), one row per field."""
    return " UNION ALL ".join(f'SELECT "{c}" AS v FROM _fg_rows'
                              for c in spec.columns if c in ("name", "same_as", "not_same_as"))


def _distinct_names(con: duckdb.DuckDBPyConnection, spec: CsvSpec) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT DISTINCT v FROM ({_names_sql(spec)}) WHERE v IS NOT NULL").fetchall()]


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


def _plan_csvs(con: duckdb.DuckDBPyConnection, layout: DataLayout, request: Request, needles: Needles,
               plan: Plan) -> None:
    """Find the CSV records that hold the target (phones were parsed in the first pass)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _fg_lines (source_file VARCHAR, line_no BIGINT, line VARCHAR)")
    for kind, spec, paths in _csv_kinds(layout):
        if not paths:
            continue
        files = [(p, relative(layout, p)) for p in paths]
        _read_rows(con, spec, files)
        names = _distinct_names(con, spec) if kind in ("directory", "aliases") else []
        keys = set(request.keys)
        register_strings(con, "_fg_names", "name", [n for n in names if name_key(n) in keys])
        con.execute("DELETE FROM _fg_lines")
        for path, rel in files:
            lines, header = csv_lines(path.read_bytes())
            if header:
                con.execute("INSERT INTO _fg_lines SELECT ?, line_no, line FROM (SELECT unnest(?) AS line, "
                            "unnest(generate_series(1, len(?))) AS line_no) WHERE line_no > ?",
                            [rel, lines, lines, header])
        confirm(con, needles, f"SELECT source_file, line_no, line FROM _fg_lines WHERE {needles.prefilter_sql('line')}",
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
            plan.count_spellings(con.execute(
                f"SELECT v, count(*) FROM ({_names_sql(spec)}) WHERE v IN (SELECT name FROM _fg_names) "
                "GROUP BY v ORDER BY v").fetchall())
        con.unregister("_fg_names")


# --------------------------------------------------------------------------------- all of it

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
        _read_rows(con, spec, [(p, relative(layout, p)) for p in paths])
        if kind == "billing":  # subscribers first: their region is the counterparts' default country
            parse_new_phone_strings(con, f"SELECT subscriber AS raw, '{country}' AS default_country FROM _fg_rows "
                                         "WHERE subscriber IS NOT NULL")
        pairs = _csv_phone_pairs(kind, country)
        if pairs is not None:
            parse_new_phone_strings(con, pairs)
        if keys and kind in ("directory", "aliases"):
            spellings |= {n for n in _distinct_names(con, spec) if name_key(n) in keys}
    return spellings


def find_places(layout: DataLayout, request: Request, *, log: Callable[[str], None] | None = None) -> Plan:
    """Every place the request's numbers and persons are found; reads only. The dry run stops here."""
    say = log or (lambda message: None)
    if not layout.root.is_dir():
        raise ForgetError(f"{layout.root}: no such data folder; give the investigation's folder with --data-dir")
    con = memory_connection(layout.tmp)  # spills (encrypted with a key) inside the data folder only
    try:
        _seed_phone_strings(con, layout)
        snapshots = _snapshot_files(layout)
        say(f"reading the phone strings of {plural(len(snapshots), 'snapshot file')} and the CSV inputs")
        spellings = _first_pass(con, layout, request, snapshots) | known_spellings(layout, request)
        with target_views(con, request):
            raws = tuple(r[0] for r in con.execute(
                "SELECT DISTINCT raw FROM phone_strings WHERE phone IN (SELECT phone FROM _fg_phones) ORDER BY raw"
            ).fetchall())
            plan = Plan(request, Needles(request.phones, raws, tuple(sorted(spellings | set(request.names)))))
            say("searching the CSV inputs and the snapshot lines")
            _plan_csvs(con, layout, request, plan.needles, plan)
            _plan_snapshots(con, layout, plan.needles, plan, snapshots)
    finally:
        con.close()
    count_cached(layout, request, plan.needles, plan)
    plan.edits.sort(key=lambda e: (e.kind, e.source_file))
    return plan
