"""The invariants of the evidence, as asset checks: a link must point at something real, never pass
through a generic address, and carry a weight in bounds and words a reader can follow (run in their
asset's step: defs/checks.py)."""

import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.metadata import check_query
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.store import table_exists

_KNOWN = {
    "phone": "SELECT phone AS k FROM phones",
    "ad": "SELECT ad_key AS k FROM ads",
    "owner": "SELECT owner_id AS k FROM owners",
    "address": "SELECT address_key AS k FROM addresses",
}


@asset_check("links", blocking=True,
             description="Every link joins entities that exist: phones seen in ads, ads, owners, addresses.")
def links_point_at_known_entities(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    known = dict(_KNOWN)
    if table_exists(con, "billing_events"):  # a recovered phone need not be shown in any ad
        known["phone"] += " UNION SELECT subscriber FROM billing_events UNION SELECT counterpart FROM billing_events"
    unknown = " UNION ALL ".join(
        f"SELECT '{t}' AS type, e.k FROM (SELECT substr(a, {len(t) + 2}) AS k FROM links WHERE a_type = '{t}' "
        f"UNION SELECT substr(b, {len(t) + 2}) FROM links WHERE b_type = '{t}') e WHERE e.k NOT IN ({q})"
        for t, q in known.items())
    return check_query(con, unknown, "a and b are keys of phones, ads, owners or addresses", ["type", "key"])


@asset_check("links", blocking=True,
             description="No link runs through a generic address (shopping centre, phone shop, post box, shared by many).")
def no_link_through_generic_address(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT l.kind, l.a, l.b FROM links l JOIN addresses ad
          ON ad.generic AND ('address:' || ad.address_key) IN (l.a, l.b)""",
        "generic addresses link nobody", ["kind", "a", "b"])


@asset_check("links",
             description="Weights lie in (0, 1], every link says in words what it rests on and where it came from.")
def link_weights_and_words(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT kind, a, b, weight FROM links
        WHERE weight IS NULL OR weight <= 0 OR weight > 1 OR coalesce(evidence, '') = '' OR coalesce(source, '') = ''
           OR a IS NULL OR b IS NULL OR a = b""",
        "0 < weight <= 1, evidence and source filled, a != b", ["kind", "a", "b", "weight"])


@asset_check("owners",
             description="Every public listing of a phone seen in ads resolves to exactly one owner.")
def every_listing_has_one_owner(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT listing_id, count(DISTINCT owner_id) AS n FROM directory_matches
        WHERE visibility = 'public' AND name IS NOT NULL GROUP BY listing_id HAVING n <> 1""",
        "one owner per named listing", ["listing_id", "owners"])


LINKS_CHECKS = (links_point_at_known_entities, no_link_through_generic_address, link_weights_and_words)
