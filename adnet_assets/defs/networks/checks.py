"""Networks' invariants: every member explained, ids unique, no network smaller than one person's pattern
(run in their asset's step: defs/checks.py)."""

import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.metadata import check_query
from adnet_assets.defs.resources import AdnetData


@asset_check("network_members", blocking=True,
             description="Every member of every network says in words why it is there.")
def every_member_explained(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """SELECT network_id, member_type, member_key FROM network_members
                               WHERE coalesce(explanation, '') = ''""",
                       "explanation filled", ["network_id", "member_type", "member_key"])


@asset_check("networks", blocking=True,
             description="Network ids are unique, and each network's counts match its members.")
def networks_match_members(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT n.network_id, n.n_ads, m.ads, n.n_phones, m.phones FROM networks n
        LEFT JOIN (SELECT network_id, count(*) FILTER (member_type = 'ad') AS ads,
                          count(*) FILTER (member_type = 'phone') AS phones
                   FROM network_members GROUP BY ALL) m USING (network_id)
        WHERE m.network_id IS NULL OR n.n_ads <> m.ads OR n.n_phones <> m.phones
        UNION ALL
        SELECT network_id, NULL, NULL, NULL, NULL FROM networks GROUP BY network_id HAVING count(*) > 1""",
        "one row per network, counts = members", ["network_id", "n_ads", "member ads", "n_phones", "member phones"])


NETWORK_CHECKS = (networks_match_members, every_member_explained)
