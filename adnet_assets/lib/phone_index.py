"""From displayed phone strings to E.164 numbers, and the per-phone and per-ad tables built on them.

Each distinct (raw string, country it is read in) is parsed once, ever: ``phone_strings`` is a
cache that only grows by strings not seen before (or re-parsed when the parsing rules change),
and everything else is set-based SQL joining observations to it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import phonenumbers

from adnet_assets.lib import phones as phone_rules
from adnet_assets.lib.store import ensure_table, replace_table, table_exists
from adnet_assets.lib.workers import Workers
from adnet_assets.schema import ADS, OBSERVATION_PHONES, PHONE_STRINGS, PHONES


def parser_version() -> str:
    """Changes whenever the parsing rules or the phonenumbers metadata change."""
    rules = Path(phone_rules.__file__).read_bytes()
    return hashlib.sha256(rules + phonenumbers.__version__.encode()).hexdigest()[:12]




def _distinct_strings_sql(default_country: str) -> str:
    return f"""
        SELECT DISTINCT raw, coalesce(country, '{default_country}') AS default_country
        FROM (SELECT unnest(phones_raw) AS raw, country FROM ad_observations)
    """


#: Fewer strings than this are parsed here; more are cut into parts that ``Workers`` parse side by side
#: (a string costs ~0.3 ms, nearly all of it in ``phonenumbers``; a worker costs ~1 s to start).
PARALLEL_MIN_STRINGS = 20_000


def _parse_in_parts(todo: pd.DataFrame, workers: int | None = None) -> pd.DataFrame:
    """``parse_phone_table(todo)`` of distinct pairs: the same rows in the same order, made by several
    processes when there are many (each part's rows are that part's pairs in order, so the parts joined
    in order are the whole table's rows)."""
    with Workers(workers, min_items=2) as pool:
        if len(todo) < PARALLEL_MIN_STRINGS or pool.workers < 2:
            return phone_rules.parse_phone_table(todo)
        size = -(-len(todo) // (pool.workers * 4))
        parts = [todo.iloc[i:i + size] for i in range(0, len(todo), size)]
        return pd.concat(list(pool.map(phone_rules.parse_phone_table, parts)), ignore_index=True)


def parse_new_phone_strings(con: duckdb.DuckDBPyConnection, pairs_sql: str) -> int:
    """Parse the distinct (raw, default_country) pairs of ``pairs_sql`` that ``phone_strings`` does
    not hold yet under the current rules; rows of an older parser version for them are replaced.
    Nothing else in the cache is touched. Returns the number of strings parsed."""
    ensure_table(con, PHONE_STRINGS)
    version = parser_version()
    todo = con.execute(f"""
        SELECT raw, default_country FROM (SELECT DISTINCT raw, default_country FROM ({pairs_sql})) s
        WHERE NOT EXISTS (SELECT 1 FROM phone_strings p WHERE p.raw = s.raw
                          AND p.default_country = s.default_country AND p.parser_version = $version)
    """, {"version": version}).df()
    if not len(todo):
        return 0
    parsed = _parse_in_parts(todo).assign(parser_version=version)
    con.register("_adnet_phone_todo", todo)
    con.register("_adnet_phone_parsed", parsed)
    try:
        con.execute("""DELETE FROM phone_strings p WHERE EXISTS (
                           SELECT 1 FROM _adnet_phone_todo t WHERE t.raw = p.raw AND t.default_country = p.default_country)""")
        cols = ", ".join(f'"{c}"' for c in PHONE_STRINGS.column_names)
        con.execute(f"INSERT INTO phone_strings ({cols}) SELECT {cols} FROM _adnet_phone_parsed")
    finally:
        con.unregister("_adnet_phone_todo")
        con.unregister("_adnet_phone_parsed")
    return len(todo)


def update_phone_strings(con: duckdb.DuckDBPyConnection, default_country: str = "NO") -> tuple[int, int]:
    """Parse the ads' strings not parsed yet by the current rules; drop strings nothing shows any more.

    Returns (newly parsed distinct strings, rows in phone_strings).
    """
    parsed = parse_new_phone_strings(con, _distinct_strings_sql(default_country))
    # Strings nothing shows any more are dropped; the directory's and the billing records' strings
    # stay (those steps cache their own, and read them in the country of their row).
    directory = ("UNION SELECT phone_raw, '" + default_country + "' FROM directory_listings"
                 if table_exists(con, "directory_listings") else "")
    billing = ("""UNION SELECT p.raw, p.default_country FROM phone_strings p
                  WHERE p.raw IN (SELECT counterpart_raw FROM billing_events UNION SELECT subscriber FROM billing_events)"""
               if table_exists(con, "billing_events") else "")
    con.execute(f"""
        DELETE FROM phone_strings p WHERE NOT EXISTS (
            SELECT 1 FROM ({_distinct_strings_sql(default_country)} {directory} {billing}) s
            WHERE s.raw = p.raw AND s.default_country = p.default_country)
    """)
    return parsed, con.execute("SELECT count(*) FROM phone_strings").fetchall()[0][0]


def build_observation_phones(con: duckdb.DuckDBPyConnection, default_country: str = "NO") -> int:
    return replace_table(con, OBSERVATION_PHONES, f"""
        SELECT o."window", o.ad_key, o.snapshot_id, o.seen_at, o.city, o.position, o.raw,
               s.phone, s.status, s.obfuscated
        FROM (SELECT "window", ad_key, snapshot_id, seen_at, city, coalesce(country, '{default_country}') AS default_country,
                     unnest(phones_raw) AS raw, unnest(generate_series(1, len(phones_raw))) AS position
              FROM ad_observations) o
        JOIN phone_strings s ON s.raw = o.raw AND s.default_country = o.default_country
        ORDER BY o.ad_key, o.snapshot_id, o.position, s."index"
    """)


def build_phones(con: duckdb.DuckDBPyConnection) -> int:
    return replace_table(con, PHONES, """
        SELECT op.phone,
               any_value(s.region) AS country,
               count(DISTINCT op.ad_key) AS n_ads,
               min(op.seen_at) AS first_seen, max(op.seen_at) AS last_seen,
               count(*) AS n_observations, count(DISTINCT op.snapshot_id) AS n_snapshots,
               CASE WHEN bool_or(op.status = 'valid') THEN 'valid' ELSE 'possible' END AS status,
               any_value(s.number_type) AS number_type,
               bool_or(op.obfuscated) AS ever_obfuscated,
               count(*) FILTER (op.obfuscated) AS n_obfuscated,
               list_sort(list_distinct(list(op.raw)))[1:20] AS raw_forms,
               list_sort(list_distinct(list(op.city) FILTER (op.city IS NOT NULL))) AS cities
        FROM observation_phones op
        JOIN (SELECT DISTINCT phone, region, number_type FROM phone_strings WHERE phone IS NOT NULL) s USING (phone)
        WHERE op.phone IS NOT NULL
        GROUP BY op.phone
        ORDER BY op.phone
    """)


def build_ads(con: duckdb.DuckDBPyConnection) -> int:
    return replace_table(con, ADS, """
        WITH obs AS (
            SELECT ad_key, any_value(site) AS site, any_value(ad_id) AS ad_id,
                   min(seen_at) AS first_seen, max(seen_at) AS last_seen,
                   count(DISTINCT snapshot_id) AS n_snapshots,
                   arg_max(country, seen_at) AS country, arg_max(city, seen_at) AS last_city,
                   count(DISTINCT city) AS n_cities, arg_max(name, seen_at) AS last_name
            FROM ad_observations GROUP BY ad_key
        ), nums AS (
            SELECT ad_key, count(DISTINCT phone) AS n_phones,
                   list(phone ORDER BY first_at, first_position, phone) AS phones, bool_or(any_obf) AS any_obfuscated
            FROM (SELECT ad_key, phone, min(seen_at) AS first_at, arg_min(position, seen_at) AS first_position,
                         bool_or(obfuscated) AS any_obf
                  FROM observation_phones WHERE phone IS NOT NULL GROUP BY ad_key, phone)
            GROUP BY ad_key
        )
        SELECT obs.ad_key, site, ad_id, first_seen, last_seen, n_snapshots,
               coalesce(n_phones, 0) AS n_phones, coalesce(phones, []::VARCHAR[]) AS phones,
               country, last_city, n_cities, last_name, coalesce(any_obfuscated, false) AS any_obfuscated
        FROM obs LEFT JOIN nums USING (ad_key)
        ORDER BY obs.ad_key
    """)
