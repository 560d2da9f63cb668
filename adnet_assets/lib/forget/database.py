"""``adnet.duckdb`` in a forget: the cache rows about the target, which no run rebuilds (counted for
the plan, deleted in step 3), and compaction (step 5).

The caches are the directory services' answers (``directory_lookups``) and the listings made from
them, and the parsed phone strings. Deleted rows survive in a DuckDB file's free blocks until they
are reused, so ``compact_database`` copies the database into a new file (``COPY FROM DATABASE``;
with its key when it is encrypted) that replaces it once every table's row count is the same."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib import encryption
from adnet_assets.lib.forget.needles import Needles
from adnet_assets.lib.forget.plan import Plan
from adnet_assets.lib.forget.request import ForgetError, Request, name_key
from adnet_assets.lib.forget.sql import KEY_SQL, confirm, quote, target_views
from adnet_assets.lib.store import (
    connect, database_beside, encrypt_database, fsync_file, sql_path, table_exists, transaction,
)


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
                         AND d.phone = l.phone AND {KEY_SQL.format(col='d.name_norm')} IN (SELECT key FROM _fg_keys))"""
                     if listings else "")
        confirm(db, needles, "SELECT rowid AS rid, CAST(answer AS VARCHAR) FROM directory_lookups "
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
                                       f"{KEY_SQL.format(col='d.name_norm')} IN (SELECT key FROM _fg_keys){from_answers})")
    if table_exists(db, "phone_strings"):
        where["phone_strings"] = "raw IN (SELECT raw FROM phone_strings WHERE phone IN (SELECT phone FROM _fg_phones))"
    return where


def count_cached(layout: DataLayout, request: Request, needles: Needles, plan: Plan) -> None:
    """Count what the caches of the database hold (read-only); note the spellings it knows."""
    if not layout.database.is_file():
        return
    with connect(layout.database, read_only=True) as db, target_views(db, request):
        where = _select_cached(db, needles)
        for table, attr, extra in (("directory_lookups", "lookups", ""),
                                   ("directory_listings", "api_listings", " AND d.source = 'api'"),
                                   ("phone_strings", "cached_strings", "")):
            if table in where:
                alias = {"directory_lookups": "l", "directory_listings": "d"}.get(table, table)
                setattr(plan, attr, db.execute(
                    f"SELECT count(*) FROM {table} {alias} WHERE {where[table]}{extra}").fetchall()[0][0])
        if table_exists(db, "directory_listings"):
            plan.count_spellings(db.execute(f"""
                    SELECT name, count(*) FROM directory_listings
                    WHERE {KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys) AND source = 'api'
                    GROUP BY name ORDER BY name""").fetchall())
        if table_exists(db, "owner_variants") and request.keys:
            plan.other_spellings = [r[0] for r in db.execute(f"""
                SELECT DISTINCT name FROM owner_variants
                WHERE owner_id IN (SELECT owner_id FROM owner_variants
                                   WHERE {KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys))
                  AND {KEY_SQL.format(col='name_norm')} NOT IN (SELECT key FROM _fg_keys)
                ORDER BY name""").fetchall()]


def known_spellings(layout: DataLayout, request: Request) -> set[str]:
    """Spellings of the target persons the database knows (directory listings, owners' variants)."""
    if not request.keys or not layout.database.is_file():
        return set()
    found: set[str] = set()
    with connect(layout.database, read_only=True) as db, target_views(db, request):
        for table in ("directory_listings", "owner_variants"):
            if table_exists(db, table):
                found |= {r[0] for r in db.execute(
                    f"SELECT DISTINCT name FROM {table} WHERE name IS NOT NULL AND "
                    f"{KEY_SQL.format(col='name_norm')} IN (SELECT key FROM _fg_keys)").fetchall()}
    keys = set(request.keys)
    return {n for n in found if name_key(n) in keys}


def clean_database(layout: DataLayout, plan: Plan) -> None:
    """Step 3: the caches no run rebuilds: service answers, their listings, parsed phone strings."""
    if not layout.database.is_file():
        return
    with connect(layout.database) as db, target_views(db, plan.request), transaction(db):
        where = _select_cached(db, plan.needles)
        for table, alias in (("directory_listings", "d"), ("directory_lookups", "l"), ("phone_strings", "p")):
            if table in where:
                db.execute(f"DELETE FROM {table} {alias} WHERE {where[table]}")


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
    alias = f"adnet_compact_{secrets.token_hex(4)}"
    with database_beside(path, ".compact.tmp") as tmp:
        with connect(path) as con:
            con.execute("CHECKPOINT")
            source = con.execute("SELECT current_database()").fetchall()[0][0]
            con.execute(f"ATTACH '{sql_path(tmp)}' AS {alias}")
            try:
                con.execute(f"COPY FROM DATABASE {quote(source)} TO {alias}")
                counts = {}
                for catalog in (source, alias):
                    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                                         "ORDER BY 1, 2", [catalog]).fetchall()
                    counts[catalog] = {t: con.execute(
                        f"SELECT count(*) FROM {quote(catalog)}.{quote(t[0])}.{quote(t[1])}").fetchall()[0][0]
                        for t in tables}
            finally:
                con.execute(f"DETACH {alias}")
            if counts[source] != counts[alias]:
                raise ForgetError(f"{path}: the compacted copy does not hold the same rows; the database was left "
                                  "as it was. Run adnet forget again.")
            fsync_file(tmp)
            os.replace(tmp, path)
        if log is not None:
            log(f"  {path.name} compacted ({path.stat().st_size:,} bytes)")
        return True
