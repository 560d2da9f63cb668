"""ID rotation: the numbers one ad showed across its snapshots, as pairs.

An ad that swaps its number from crawl to crawl (A, then B, then C, then A again) ties those
numbers to one advertiser: the method's strongest evidence of one organisation behind numbers
registered to different people. ``rotation_links`` holds one row per ad and pair of distinct
numbers it ever showed, with how often, when, how many times the ad switched between them, and
whether the directory registers them to different owners.

Pairs are formed within one ad only (a self-join on ``ad_key``; an ad shows a handful of
numbers), and ads with more than ``max_phones_per_ad`` distinct numbers are skipped: such a
page is an agency or aggregator listing, or a text full of numbers, and pairing all its numbers
would tie unrelated people together (and grow quadratically). The switches are counted with
window functions over each pair's snapshots in snapshot order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from adnet_assets.lib.store import replace_table, table_exists
from adnet_assets.schema import ROTATION_LINKS


@dataclass(frozen=True)
class RotationParams:
    """Which ads can be read as rotating their numbers.

    max_phones_per_ad 30: rotating ads in the published case cycled through a handful of numbers
    (the demo market's rotating ads show 2 to 7), and even an ad that lives a year of twice-weekly
    crawls with a new number every few weeks stays well under 30. Above it the page is an
    aggregator or a list of numbers, not one advertiser, and its 435+ pairs would be false links.
    Skipped ads are counted and can be listed with ``skipped_ads``.
    """

    max_phones_per_ad: int = 30

    def __post_init__(self):
        if self.max_phones_per_ad < 2:
            raise ValueError("max_phones_per_ad must be at least 2")




_AD_PHONES = """
    SELECT ad_key, count(DISTINCT phone) AS n_phones
    FROM observation_phones WHERE phone IS NOT NULL AND ad_key IS NOT NULL
    GROUP BY ad_key
"""


def _rotation_sql(p: RotationParams, with_owners: bool) -> str:
    owners_cte = """,
    owners AS (
        SELECT phone, list_sort(list_distinct(list(owner_id))) AS owner_ids
        FROM directory_matches WHERE owner_id IS NOT NULL AND phone IS NOT NULL
        GROUP BY phone
    )""" if with_owners else ""
    owners_join = """
        LEFT JOIN owners oa ON oa.phone = s.phone_a
        LEFT JOIN owners ob ON ob.phone = s.phone_b""" if with_owners else ""
    # both have owners: true when they have no owner in common, false when they share one
    owners_differ = ("CASE WHEN oa.owner_ids IS NULL OR ob.owner_ids IS NULL THEN NULL "
                     "ELSE NOT list_has_any(oa.owner_ids, ob.owner_ids) END"
                     if with_owners else "CAST(NULL AS BOOLEAN)")
    return f"""
    WITH obs AS (
        -- one row per ad, snapshot and number shown (a number shown twice on a page counts once)
        SELECT o.ad_key, o.snapshot_id, o.phone, min(o.seen_at) AS seen_at
        FROM observation_phones o
        JOIN ({_AD_PHONES}) n ON n.ad_key = o.ad_key AND n.n_phones BETWEEN 2 AND {int(p.max_phones_per_ad)}
        WHERE o.phone IS NOT NULL AND o.snapshot_id IS NOT NULL
        GROUP BY o.ad_key, o.snapshot_id, o.phone
    ),
    ad_phones AS (SELECT DISTINCT ad_key, phone FROM obs),
    pairs AS (
        SELECT a.ad_key, a.phone AS phone_a, b.phone AS phone_b
        FROM ad_phones a JOIN ad_phones b ON a.ad_key = b.ad_key AND a.phone < b.phone
    ),
    states AS (
        -- each snapshot of the ad showing either number of the pair: which of the two it showed
        SELECT p.ad_key, p.phone_a, p.phone_b, o.snapshot_id, min(o.seen_at) AS seen_at,
               bool_or(o.phone = p.phone_a) AS has_a, bool_or(o.phone = p.phone_b) AS has_b
        FROM pairs p JOIN obs o ON o.ad_key = p.ad_key AND o.phone IN (p.phone_a, p.phone_b)
        GROUP BY p.ad_key, p.phone_a, p.phone_b, o.snapshot_id
    ),
    shown AS (
        -- the snapshots showing exactly one of the two, in snapshot order, with the one before
        SELECT ad_key, phone_a, phone_b, has_a,
               lag(has_a) OVER (PARTITION BY ad_key, phone_a, phone_b ORDER BY snapshot_id, seen_at) AS prev_has_a
        FROM states WHERE has_a <> has_b
    ),
    switches AS (
        SELECT ad_key, phone_a, phone_b, count(*) FILTER (prev_has_a IS NOT NULL AND prev_has_a <> has_a) AS n_switches
        FROM shown GROUP BY ad_key, phone_a, phone_b
    ),
    summary AS (
        SELECT ad_key, phone_a, phone_b,
               count(*) AS n_snapshots,
               count(*) FILTER (has_a) AS n_snapshots_a,
               count(*) FILTER (has_b) AS n_snapshots_b,
               min(seen_at) AS first_seen, max(seen_at) AS last_seen,
               bool_or(has_a AND has_b) AS together,
               list(snapshot_id ORDER BY snapshot_id) AS snapshot_ids
        FROM states GROUP BY ad_key, phone_a, phone_b
    ){owners_cte}
    SELECT s.ad_key, s.phone_a, s.phone_b, s.n_snapshots, s.n_snapshots_a, s.n_snapshots_b,
           s.first_seen, s.last_seen, coalesce(w.n_switches, 0) AS n_switches, s.together,
           {owners_differ} AS owners_differ, s.snapshot_ids
    FROM summary s
    LEFT JOIN switches w USING (ad_key, phone_a, phone_b){owners_join}
    ORDER BY s.ad_key, s.phone_a, s.phone_b
    """


def skipped_ads(con: duckdb.DuckDBPyConnection, params: RotationParams = RotationParams()) -> list[tuple[str, int]]:
    """Ads left out of rotation links for showing too many numbers: (ad_key, distinct numbers), most first."""
    return [(a, n) for a, n in con.execute(
        f"SELECT ad_key, n_phones FROM ({_AD_PHONES}) WHERE n_phones > ? ORDER BY n_phones DESC, ad_key",
        [int(params.max_phones_per_ad)]).fetchall()]


def build_rotation_links(con: duckdb.DuckDBPyConnection, params: RotationParams = RotationParams(), *,
                         log: Callable[[str], None] | None = None) -> int:
    """Rebuild ``rotation_links`` from ``observation_phones`` (and ``directory_matches`` when it exists).

    Returns the rows written. ``owners_differ`` is NULL throughout when ``directory_matches`` does
    not exist yet, and for a pair where either number has no known owner. Ads over
    ``params.max_phones_per_ad`` numbers are skipped; ``log`` (when given) is told how many.
    """
    n = replace_table(con, ROTATION_LINKS, _rotation_sql(params, table_exists(con, "directory_matches")))
    if log is not None:
        skipped = skipped_ads(con, params)
        n_ads = con.execute("SELECT count(DISTINCT ad_key) FROM rotation_links").fetchall()[0][0]
        examples = f" (e.g. {', '.join(f'{a} with {k}' for a, k in skipped[:3])})" if skipped else ""
        log(f"rotation links: {n} pair(s) from {n_ads} ad(s); {len(skipped)} ad(s) with more than "
            f"{params.max_phones_per_ad} numbers skipped{examples}")
    return n
