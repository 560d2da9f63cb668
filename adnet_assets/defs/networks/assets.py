"""Networks: the evidence graph's organisations, every member with the reason it is there."""

import dagster as dg

from adnet_assets.defs.checks import results, specs
from adnet_assets.defs.metadata import markdown_table, previews_allowed, safe_cell, table_metadata
from adnet_assets.defs.networks.checks import every_member_explained, networks_match_members
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.defs.settings import MethodSettings
from adnet_assets.lib.networks import NetworkParams, build_networks
from adnet_assets.lib.store import transaction
from adnet_assets.schema import NETWORK_HISTORY, NETWORK_MEMBERS, NETWORKS

GROUP = "networks"


def network_summary_sections(con, limit: int = 50) -> dict[str, str]:
    """A markdown section per network for the UI (largest first): sizes, owners, cities, strongest evidence.

    With a database key configured, no owner and no evidence (it names phones): the UI's metadata is
    stored in plain SQLite under .dagster, where they would undo the encryption."""
    personal = previews_allowed()
    rows = con.execute("""SELECT network_id, n_ads, n_phones, n_owners, n_addresses, cities, owners, strongest_evidence,
                                 strftime(first_seen, '%Y-%m-%d'), strftime(last_seen, '%Y-%m-%d')
                          FROM networks ORDER BY n_phones DESC, network_id LIMIT ?""", [limit]).fetchall()
    return {nid: (f"### {safe_cell(nid)}: {n_ads} ads, {n_phones} phones, {n_owners} owners, "
                  f"{n_addr} private addresses\n\n"
                  f"- seen {first} to {last} in {safe_cell(', '.join(cities or []))}\n"
                  + (f"- owners: {safe_cell(', '.join(owners or []))}\n"
                     f"- strongest evidence: {safe_cell(strongest)}\n" if personal else
                     "- owners and evidence: not shown here, the database is encrypted (see the exports)\n"))
            for nid, n_ads, n_phones, n_owners, n_addr, cities, owners, strongest, first, last in rows}


@dg.multi_asset(
    specs=[
        dg.AssetSpec("networks", deps=["links", "ads", "owners", "addresses"], description=NETWORKS.description, kinds={"duckdb"}),
        dg.AssetSpec("network_members", deps=["links"], description=NETWORK_MEMBERS.description, kinds={"duckdb"}),
        dg.AssetSpec("network_history", deps=["links"], description=NETWORK_HISTORY.description, kinds={"duckdb"}),
    ],
    group_name=GROUP, pool=DUCKDB_POOL,
    check_specs=specs(networks_match_members, every_member_explained),
)
def network_tables(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings):
    """Connected organisations in the strong evidence, with stable ids and each member's evidence path."""
    params = settings.params("networks", NetworkParams)
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            report = build_networks(con, params)
        context.log.info(f"{report.n_networks} network(s) from {report.n_candidates} candidate group(s)")
        events = con.execute("""SELECT event, count(*) FROM network_history
                                WHERE run_at = (SELECT max(run_at) FROM network_history) GROUP BY ALL ORDER BY 1""").fetchall()
        yield dg.MaterializeResult(asset_key="networks", metadata={
            **table_metadata(con, NETWORKS, preview_columns=["network_id", "n_ads", "n_phones", "n_owners", "cities"],
                             order_by="n_phones DESC, network_id"),
            "networks": dg.MetadataValue.md("\n".join(network_summary_sections(con).values()) or "no network found"),
            "candidates": report.n_candidates, "rejected_small": dg.MetadataValue.text(str(report.n_rejected_small))},
            check_results=results([networks_match_members], adnet, con))
        yield dg.MaterializeResult(asset_key="network_members", metadata=table_metadata(
            con, NETWORK_MEMBERS, preview_columns=["network_id", "member_type", "member_key", "explanation"],
            order_by="network_id, member_type, member_key"), check_results=results([every_member_explained], adnet, con))
        yield dg.MaterializeResult(asset_key="network_history", metadata={
            **table_metadata(con, NETWORK_HISTORY, preview_columns=["run_at", "network_id", "event", "related_ids", "overlap"],
                             order_by="run_at DESC, network_id"),
            "this_run": dg.MetadataValue.md(markdown_table(["event", "networks"], events) if events else "no change")})
