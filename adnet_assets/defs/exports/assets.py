"""Exports: files for reporters and analysts under <data>/exports/, each written atomically."""

import dagster as dg

from adnet_assets.defs.metadata import markdown_table
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib.excel_export import write_workbook
from adnet_assets.lib.graph_export import write_graph_files

GROUP = "exports"
_UPSTREAM = ["networks", "network_members", "network_travel", "network_movement", "links", "ads", "phones",
             "directory_matches", "owners", "addresses", "series_groups", "rotation_links", "quarantine", "snapshots"]


@dg.asset(deps=_UPSTREAM, group_name=GROUP, pool=DUCKDB_POOL, kinds={"excel"},
          description="adnet.xlsx: every analyst table and a sheet per network; ad text is never a live formula or link.")
def excel_workbook(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    target = adnet.layout.exports / "adnet.xlsx"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        report = write_workbook(con, target)
    context.log.info(f"wrote {target} ({len(report.sheets)} sheets)")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(report.path)),
        "sheets": dg.MetadataValue.md(markdown_table(["sheet", "rows"], sorted(report.sheets.items()))),
    })


@dg.asset(deps=["links", "network_members"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"gephi"},
          description="The evidence graph and each network as GEXF and GraphML (Gephi) and nodes/edges CSV (i2, Maltego).")
def graph_files(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    folder = adnet.layout.exports / "graphs"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        written = write_graph_files(con, folder)
        ids = [r[0] for r in con.execute("SELECT network_id FROM networks ORDER BY network_id").fetchall()]
        for nid in ids:
            write_graph_files(con, folder, network_id=nid)
    context.log.info(f"wrote the evidence graph and {len(ids)} network(s) to {folder}")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "evidence_graph": dg.MetadataValue.path(str(written["gexf"])),
        "networks": len(ids),
    })
