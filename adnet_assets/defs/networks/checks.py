"""Networks' invariants: every member explained, ids unique, no network smaller than one person's pattern."""

import dagster as dg

from adnet_assets.defs.metadata import check_query
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData


@dg.asset_check(asset="network_members", pool=DUCKDB_POOL, blocking=True,
                description="Every member of every network says in words why it is there.")
def every_member_explained(adnet: AdnetData) -> dg.AssetCheckResult:
    with adnet.connect(read_only=True) as con:
        return check_query(con, """SELECT network_id, member_type, member_key FROM network_members
                                   WHERE coalesce(explanation, '') = ''""",
                           "explanation filled", ["network_id", "member_type", "member_key"])


@dg.asset_check(asset="networks", pool=DUCKDB_POOL, blocking=True,
                description="Network ids are unique, and each network's counts match its members.")
def networks_match_members(adnet: AdnetData) -> dg.AssetCheckResult:
    with adnet.connect(read_only=True) as con:
        return check_query(con, """
            SELECT n.network_id, n.n_ads, m.ads, n.n_phones, m.phones FROM networks n
            LEFT JOIN (SELECT network_id, count(*) FILTER (member_type = 'ad') AS ads,
                              count(*) FILTER (member_type = 'phone') AS phones
                       FROM network_members GROUP BY ALL) m USING (network_id)
            WHERE m.network_id IS NULL OR n.n_ads <> m.ads OR n.n_phones <> m.phones
            UNION ALL
            SELECT network_id, NULL, NULL, NULL, NULL FROM networks GROUP BY network_id HAVING count(*) > 1""",
            "one row per network, counts = members", ["network_id", "n_ads", "member ads", "n_phones", "member phones"])
