"""Observed travel: where each ad was seen, stay by stay, and the city-to-city flows of each network.

Networks move the people they advertise from city to city; an ad whose ``city`` changes from one
snapshot to the next is an *observed* move, a recognised indicator. Announced tour plans (the
ads' ``tour`` lists) are kept apart in ``ad_tours``: they are context, not evidence of travel.

Everything is set-based SQL in DuckDB (gaps-and-islands with window functions); no Python loop
over observations. Cities are compared by ``city_key``: trimmed, lower case, accents removed and
the Nordic/other letters without a decomposition folded (ø→o, æ→ae, ...), so that "Tromsø",
"TROMSO" and "tromso" are one city, while ``city`` keeps a spelling as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from adnet_assets.lib.store import ensure_table, replace_table, table_exists
from adnet_assets.schema import AD_ITINERARIES, AD_TOURS, NETWORK_MOVEMENT, NETWORK_TRAVEL


# Letters that Unicode does not decompose into base letter + accent, folded by hand.
_FOLDS = (("ø", "o"), ("æ", "ae"), ("œ", "oe"), ("ß", "ss"), ("ł", "l"), ("đ", "d"), ("ð", "d"),
          ("þ", "th"), ("ı", "i"))


def city_key_sql(expr: str) -> str:
    """SQL turning a city expression into its comparison key (NULL for NULL or blank)."""
    out = f"strip_accents(lower(trim({expr})))"
    for src, dst in _FOLDS:
        out = f"replace({out}, '{src}', '{dst}')"
    out = f"regexp_replace({out}, '[\\s\\-_.,]+', ' ', 'g')"
    return f"nullif(trim({out}), '')"


def _stays_sql() -> str:
    """Gaps-and-islands: a new stay starts wherever the city_key differs from the previous sighting."""
    return f"""
        WITH obs AS (
            SELECT ad_key, snapshot_id, seen_at, trim(city) AS city, {city_key_sql('city')} AS city_key
            FROM ad_observations
            WHERE ad_key IS NOT NULL AND seen_at IS NOT NULL
        ), sightings AS (
            SELECT *, lag(city_key) OVER w IS DISTINCT FROM city_key AS starts_stay
            FROM obs WHERE city_key IS NOT NULL
            WINDOW w AS (PARTITION BY ad_key ORDER BY seen_at, snapshot_id, city_key, city)
        ), numbered AS (
            SELECT *, sum(starts_stay::BIGINT) OVER (
                       PARTITION BY ad_key ORDER BY seen_at, snapshot_id, city_key, city
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stay_no
            FROM sightings
        ), stays AS (
            SELECT ad_key, stay_no, any_value(city_key) AS city_key,
                   arg_min(city, (seen_at, snapshot_id, city)) AS city,
                   min(seen_at) AS arrived, max(seen_at) AS "left",
                   count(DISTINCT snapshot_id) AS n_snapshots
            FROM numbered GROUP BY ad_key, stay_no
        )
        SELECT ad_key, stay_no, city, city_key, arrived, "left", n_snapshots,
               lag(city) OVER s AS moved_from, lag(city_key) OVER s AS moved_from_key
        FROM stays
        WINDOW s AS (PARTITION BY ad_key ORDER BY stay_no)
        ORDER BY ad_key, stay_no
    """


def _network_travel_sql() -> str:
    return """
        WITH names AS (   -- one display spelling per city_key: the most common, ties alphabetically
            SELECT city_key, arg_max(city, (n, -rank_by_name)) AS city FROM (
                SELECT city_key, city, count(*) AS n,
                       row_number() OVER (PARTITION BY city_key ORDER BY city) AS rank_by_name
                FROM ad_itineraries GROUP BY city_key, city)
            GROUP BY city_key
        ), moves AS (
            SELECT m.network_id, i.ad_key, i.moved_from_key AS from_key, i.city_key AS to_key, i.arrived
            FROM ad_itineraries i
            JOIN (SELECT DISTINCT network_id, member_key FROM network_members WHERE member_type = 'ad') m
              ON m.member_key = i.ad_key
            WHERE i.moved_from_key IS NOT NULL
        )
        SELECT mv.network_id, f.city AS from_city, t.city AS to_city,
               mv.from_key AS from_city_key, mv.to_key AS to_city_key,
               count(*) AS n_moves, count(DISTINCT mv.ad_key) AS n_ads,
               min(mv.arrived) AS first_move, max(mv.arrived) AS last_move
        FROM moves mv
        JOIN names f ON f.city_key = mv.from_key
        JOIN names t ON t.city_key = mv.to_key
        GROUP BY ALL
        ORDER BY network_id, n_moves DESC, from_city_key, to_city_key
    """


def _tours_sql() -> str:
    def date(field_: str) -> str:
        s = f"json_extract_string(e, '$.{field_}')"
        return f"coalesce(TRY_CAST({s} AS DATE), TRY_CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS DATE))"
    return f"""
        WITH entries AS (
            SELECT ad_key, seen_at, unnest(json_extract(tour, '$[*]')) AS e
            FROM ad_observations
            WHERE tour IS NOT NULL AND json_valid(tour) AND json_type(tour) = 'ARRAY'
        ), typed AS (
            SELECT ad_key, seen_at, trim(json_extract_string(e, '$.city')) AS city,
                   {date('from')} AS from_date, {date('to')} AS to_date
            FROM entries
            WHERE json_type(e) = 'OBJECT' AND json_type(e, '$.city') = 'VARCHAR'
        )
        SELECT ad_key, city, {city_key_sql('city')} AS city_key, from_date, to_date,
               min(seen_at) AS first_announced, max(seen_at) AS last_announced
        FROM typed
        WHERE {city_key_sql('city')} IS NOT NULL
        GROUP BY ad_key, city, from_date, to_date
        ORDER BY ad_key, from_date NULLS LAST, city, to_date NULLS LAST
    """


# Per-ad summary, computable from ad_itineraries (use as a view or subquery; not stored).
AD_TRAVEL_SUMMARY_SQL = """
    SELECT ad_key, count(*) AS n_stays, count(*) - 1 AS n_moves,
           count(DISTINCT city_key) AS n_cities,
           arg_min(city, stay_no) AS first_city, arg_max(city, stay_no) AS last_city,
           min(arrived) AS first_seen, max("left") AS last_seen
    FROM ad_itineraries GROUP BY ad_key
"""


@dataclass(frozen=True)
class MovedShare:
    """How many of a group's ads (those seen in at least one city) moved at least once."""
    n_ads: int
    n_moved: int

    @property
    def share(self) -> float | None:
        return self.n_moved / self.n_ads if self.n_ads else None


@dataclass
class TravelReport:
    n_stays: int = 0            # rows in ad_itineraries
    n_ads: int = 0              # ads with at least one stay
    n_ads_moved: int = 0        # ads with at least one move
    n_moves: int = 0            # stays with a moved_from
    n_flows: int = 0            # rows in network_travel
    n_tour_stops: int = 0       # rows in ad_tours
    networks_found: bool = False  # whether network_members existed
    by_network: dict[str, MovedShare] = field(default_factory=dict)
    no_network: MovedShare = MovedShare(0, 0)


_NETWORK_MOVEMENT_SQL = """
    SELECT m.network_id, count(DISTINCT i.ad_key) AS n_ads,
           count(DISTINCT i.ad_key) FILTER (i.stay_no > 1) AS n_ads_moved,
           count(DISTINCT i.ad_key) FILTER (i.stay_no > 1) / count(DISTINCT i.ad_key) AS share_moved,
           count(*) FILTER (i.moved_from IS NOT NULL) AS n_moves,
           count(DISTINCT i.city_key) AS n_cities
    FROM (SELECT DISTINCT network_id, member_key AS ad_key FROM network_members WHERE member_type = 'ad') m
    JOIN ad_itineraries i USING (ad_key)
    GROUP BY m.network_id ORDER BY m.network_id
"""


def _moved_shares(con: duckdb.DuckDBPyConnection, networks_found: bool) -> tuple[dict[str, MovedShare], MovedShare]:
    per_ad = "SELECT ad_key, max(stay_no) > 1 AS moved FROM ad_itineraries GROUP BY ad_key"
    if not networks_found:
        n, moved = con.execute(f"SELECT count(*), count(*) FILTER (moved) FROM ({per_ad})").fetchone()
        return {}, MovedShare(n, moved or 0)
    members = "SELECT DISTINCT network_id, member_key AS ad_key FROM network_members WHERE member_type = 'ad'"
    rows = con.execute(f"""
        SELECT m.network_id, count(*), count(*) FILTER (a.moved)
        FROM ({members}) m JOIN ({per_ad}) a USING (ad_key)
        GROUP BY m.network_id ORDER BY m.network_id
    """).fetchall()
    n, moved = con.execute(f"""
        SELECT count(*), count(*) FILTER (moved) FROM ({per_ad}) a
        WHERE NOT EXISTS (SELECT 1 FROM ({members}) m WHERE m.ad_key = a.ad_key)
    """).fetchone()
    return {r[0]: MovedShare(r[1], r[2]) for r in rows}, MovedShare(n, moved or 0)


def build_travel(con: duckdb.DuckDBPyConnection) -> TravelReport:
    """Rebuild ad_itineraries, network_travel and ad_tours (inside the caller's transaction, if any)."""
    report = TravelReport()
    if not table_exists(con, "ad_observations"):
        for table in (AD_ITINERARIES, NETWORK_TRAVEL, AD_TOURS, NETWORK_MOVEMENT):
            ensure_table(con, table)
            con.execute(f'DELETE FROM "{table.name}"')
        return report
    report.n_stays = replace_table(con, AD_ITINERARIES, _stays_sql())
    report.n_tour_stops = replace_table(con, AD_TOURS, _tours_sql())
    report.networks_found = table_exists(con, "network_members")
    if report.networks_found:
        report.n_flows = replace_table(con, NETWORK_TRAVEL, _network_travel_sql())
        replace_table(con, NETWORK_MOVEMENT, _NETWORK_MOVEMENT_SQL)
    else:
        for table in (NETWORK_TRAVEL, NETWORK_MOVEMENT):
            ensure_table(con, table)
            con.execute(f'DELETE FROM "{table.name}"')
    report.n_ads, report.n_ads_moved, report.n_moves = con.execute(f"""
        SELECT count(*), count(*) FILTER (n_moves > 0), coalesce(sum(n_moves), 0)
        FROM ({AD_TRAVEL_SUMMARY_SQL})
    """).fetchone()
    report.by_network, report.no_network = _moved_shares(con, report.networks_found)
    return report


def network_flows(con: duckdb.DuckDBPyConnection, network_id: str) -> list[tuple[str, str, int]]:
    """(from_city, to_city, n_moves) of one network, ready for travel_picture.network_travel_svg."""
    if not table_exists(con, "network_travel"):
        return []
    return [tuple(r) for r in con.execute("""
        SELECT from_city, to_city, n_moves FROM network_travel WHERE network_id = ?
        ORDER BY first_move, from_city_key, to_city_key
    """, [network_id]).fetchall()]
