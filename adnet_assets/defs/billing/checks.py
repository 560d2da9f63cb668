"""Billing and red-flag invariants: every ranking and every flag says why, and points at something real
(run in their asset's step: defs/checks.py)."""

import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.metadata import check_query
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.red_flags import CATEGORIES


@asset_check("billing_events", blocking=True,
             description="Every loaded event has a readable subscriber number and a known direction and kind.")
def billing_events_are_typed(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """SELECT source_file, line_no, subscriber, direction, kind FROM billing_events
                               WHERE subscriber IS NULL OR subscriber NOT LIKE '+%'
                                  OR direction NOT IN ('in', 'out') OR kind NOT IN ('call', 'sms', 'data')""",
                       "typed events", ["source_file", "line_no", "subscriber", "direction", "kind"])


@asset_check("billing_counterparts",
             description="Ranks run 1..n without gaps, and every other party says in words why it ranks there.")
def counterparts_ranked_and_explained(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT counterpart, rank, reason FROM billing_counterparts WHERE coalesce(reason, '') = ''
        UNION ALL
        SELECT 'ranks', count(DISTINCT rank), CAST(max(rank) AS VARCHAR) FROM billing_counterparts
        HAVING count(DISTINCT rank) <> count(*) OR max(rank) <> count(*)""",
        "reason filled, ranks 1..n", ["counterpart", "rank", "reason"])


@asset_check("red_flags",
             description="Every flag has evidence, a source and a known category, and points at an ad, phone or "
                         "network that exists.")
def red_flags_are_grounded(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    categories = ", ".join(f"'{c}'" for c in CATEGORIES)
    return check_query(con, f"""
        SELECT entity_type, entity_key, flag FROM red_flags
        WHERE coalesce(evidence, '') = '' OR coalesce(source, '') = '' OR category NOT IN ({categories})
           OR (entity_type = 'ad' AND entity_key NOT IN (SELECT ad_key FROM ads))
           OR (entity_type = 'network' AND entity_key NOT IN (SELECT network_id FROM networks))
           OR entity_type NOT IN ('ad', 'phone', 'network')""",
        "grounded flags", ["entity_type", "entity_key", "flag"])
