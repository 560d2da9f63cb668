"""Travel: each ad's observed itinerary, each network's city flows, and a picture of them."""

import dagster as dg

from adnet_assets.defs.metadata import markdown_table, safe_cell, table_metadata
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib.store import transaction
from adnet_assets.lib.travel import build_travel, network_flows
from adnet_assets.lib.travel_picture import network_travel_svg, svg_data_uri
from adnet_assets.schema import AD_ITINERARIES, AD_TOURS, NETWORK_MOVEMENT, NETWORK_TRAVEL

GROUP = "networks"
_PICTURES = 20  # networks drawn in the UI metadata (largest first)


def _pictures(con) -> str:
    ids = [r[0] for r in con.execute(
        f"SELECT network_id FROM networks ORDER BY n_phones DESC, network_id LIMIT {_PICTURES}").fetchall()]
    parts = []
    for nid in ids:
        svg = network_travel_svg(network_flows(con, nid), f"{nid}: observed moves of its ads")
        parts.append(f"### {safe_cell(nid)}\n\n![{safe_cell(nid)} travel]({svg_data_uri(svg)})\n")
    return "\n".join(parts) or "no network"


@dg.multi_asset(
    specs=[
        dg.AssetSpec("ad_itineraries", deps=["ad_observations"], description=AD_ITINERARIES.description, kinds={"duckdb"}),
        dg.AssetSpec("ad_tours", deps=["ad_observations"], description=AD_TOURS.description, kinds={"duckdb"}),
        dg.AssetSpec("network_travel", deps=["network_members"], description=NETWORK_TRAVEL.description, kinds={"duckdb"}),
        dg.AssetSpec("network_movement", deps=["network_members"], description=NETWORK_MOVEMENT.description, kinds={"duckdb"}),
    ],
    group_name=GROUP, pool=DUCKDB_POOL,
)
def travel_tables(context: dg.AssetExecutionContext, adnet: AdnetData):
    """Observed moves (not 'new in town' wording, which a large study found not predictive)."""
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            report = build_travel(con)
        context.log.info(f"{report.n_moves} observed move(s) of {report.n_ads_moved} ad(s) between cities")
        shares = [(nid, s.n_ads, s.n_moved, f"{s.share:.0%}" if s.share is not None else "")
                  for nid, s in sorted(report.by_network.items())]
        nn = report.no_network
        shares.append(("(no network)", nn.n_ads, nn.n_moved, f"{nn.share:.0%}" if nn.share is not None else ""))
        yield dg.MaterializeResult(asset_key="ad_itineraries", metadata={
            **table_metadata(con, AD_ITINERARIES, preview_columns=["ad_key", "stay_no", "city", "arrived", "moved_from"],
                             order_by="ad_key, stay_no"),
            "moves": report.n_moves, "ads_moved": report.n_ads_moved})
        yield dg.MaterializeResult(asset_key="ad_tours", metadata=table_metadata(
            con, AD_TOURS, preview_columns=["ad_key", "city", "from_date", "to_date"], order_by="ad_key, from_date"))
        yield dg.MaterializeResult(asset_key="network_travel", metadata={
            **table_metadata(con, NETWORK_TRAVEL, preview_columns=["network_id", "from_city", "to_city", "n_moves", "n_ads"],
                             order_by="network_id, n_moves DESC"),
            "pictures": dg.MetadataValue.md(_pictures(con))})
        yield dg.MaterializeResult(asset_key="network_movement", metadata={
            **table_metadata(con, NETWORK_MOVEMENT, preview_columns=["network_id", "n_ads", "n_ads_moved", "share_moved", "n_moves"],
                             order_by="share_moved DESC, network_id"),
            "moved_share": dg.MetadataValue.md(markdown_table(["network", "ads", "moved", "share"], shares))})
