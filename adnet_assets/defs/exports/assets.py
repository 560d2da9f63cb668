"""Exports: files for reporters and analysts under <data>/exports/, each written atomically.

    exports/adnet.xlsx                       every analyst table, a sheet per network with its picture
    exports/networks/network_<id>.png        a picture of each network
    exports/networks/network_<id>.xmind      a map of each network (XMind 2020+ and XMind 8)
    exports/graphs/<stem>.gexf|graphml|...   the evidence graph and each network for Gephi, i2, Maltego
    exports/aleph/<stem>.ftm.json            FollowTheMoney entities for OCCRP Aleph

Files of networks that no longer exist are removed, so nothing stale lies there looking current.
"""

import time
from pathlib import Path

import dagster as dg

from adnet_assets.defs.checks import results, specs
from adnet_assets.defs.exports.checks import every_map_holds_both_forms, every_network_pictured
from adnet_assets.defs.metadata import markdown_table, previews_allowed
from adnet_assets.defs.networks.assets import network_summary_sections
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib import audit
from adnet_assets.lib.excel_export import ANALYST_TABLES, LEFT_OUT_COLUMNS, write_workbook
from adnet_assets.lib.ftm_export import write_all_ftm_entities
from adnet_assets.lib.graph_export import graph_stem, write_graph_files, write_network_graph_files
from adnet_assets.lib.network_picture import picture_name, png_data_uri, thumbnail_png, write_network_pictures
from adnet_assets.lib.red_flags import DISCLAIMER
from adnet_assets.lib.store import prune_files
from adnet_assets.lib.xmind_export import write_network_maps
from adnet_assets.schema import TABLES

GROUP = "exports"
_NETWORK_TABLES = ["networks", "network_members", "links", "ads", "owners", "addresses"]
_UI_PICTURES = 12  # networks shown in the UI metadata (largest first); all are in the folder


def _progress(context, what: str, every_s: float = 5.0):
    """A callback logging a long per-network loop's progress when ``every_s`` seconds passed since the
    last line: each line is an event Dagster commits to its storage (~20 ms), and the step's own summary
    line says when the loop ended."""
    last = time.monotonic()

    def log(done: int, total: int) -> None:
        nonlocal last
        if done < total and time.monotonic() - last >= every_s:
            last = time.monotonic()
            context.log.info(f"{what}: {done}/{total}")
    return log


def _audit(context, adnet: AdnetData, scope: str) -> None:
    """One audit row per export written (who, when, what): files that leave with people are accounted for."""
    with adnet.connect(log=context.log.info) as con:
        audit.record(con, "export", scope, run_id=context.run.run_id)


def _network_ids(con) -> list[str]:
    """Largest first, so the UI shows the biggest networks when it shows only some."""
    return [r[0] for r in con.execute(
        "SELECT network_id FROM networks ORDER BY n_ads + n_phones DESC, network_id").fetchall()]


def _pictures_drawn(con, folder: Path) -> dict[str, Path]:
    """The network pictures ``network_pictures`` drew, by network id (for the maps and the workbook)."""
    paths = {nid: folder / picture_name(nid) for nid in _network_ids(con)}
    return {nid: path for nid, path in paths.items() if path.is_file()}


def _workbook_readme() -> list[tuple[str, str]]:
    """The first sheet: what the workbook is, the caution it needs, and what each sheet holds."""
    rows = [("adnet", "Networks behind online ads, from the adnet database: every link is evidence to verify."),
            ("caution", DISCLAIMER),
            ("caution", "Names, numbers and addresses are about people who may be victims: keep this file safe.")]
    rows += [(name, f"one row per {TABLES[name].grain}: {TABLES[name].description}"
                    + (f" (without {', '.join(LEFT_OUT_COLUMNS[name])}: see the database)"
                       if name in LEFT_OUT_COLUMNS else ""))
             for name in ANALYST_TABLES if name in TABLES]
    rows.append(("network <id>", "one sheet per network: its members, why each is there, and its picture"))
    return rows


def _paths_table(paths: dict[str, Path], root: Path) -> str:
    rows = [(nid, p.relative_to(root).as_posix()) for nid, p in paths.items()]
    return markdown_table(["network", "file"], rows) if rows else "no network"


@dg.asset(deps=_NETWORK_TABLES, group_name=GROUP, pool=DUCKDB_POOL, kinds={"png"},
          description="A picture of each network (members and links): in the workbook, beside the XMind map, and here.",
          check_specs=specs(every_network_pictured))
def network_pictures(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    folder = adnet.layout.exports / "networks"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        written = write_network_pictures(con, folder, progress=_progress(context, "network pictures"))
        sections = network_summary_sections(con, limit=_UI_PICTURES)
        prune_files(folder, "network_*.png", written.values())
        check_results = results([every_network_pictured], adnet, con)
    context.log.info(f"drew {len(written)} network picture(s) in {folder}")
    _audit(context, adnet, f"exports/networks: {len(written)} network picture(s) (PNG)")
    # a picture shows names and numbers: not into the UI's plain SQLite when the database is encrypted
    shown = [f"{text}\n![{nid}]({png_data_uri(thumbnail_png(written[nid].read_bytes(), max_side=760))})\n"
             if previews_allowed() else text for nid, text in sections.items() if nid in written]
    more = f"\n\n{len(written) - len(shown)} more in the folder." if len(written) > len(shown) else ""
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "networks": len(written),
        "pictures": dg.MetadataValue.md(("\n".join(shown) or "no network") + more),
    }, check_results=check_results)


@dg.asset(deps=[*_NETWORK_TABLES, "series_groups", "network_travel", "network_movement", "billing_counterparts",
                "billing_roaming", "red_flags", network_pictures],
          group_name=GROUP, pool=DUCKDB_POOL, kinds={"xmind"},
          description="An XMind map of each network (opens in XMind 2020+ and XMind 8): members, evidence notes, "
                      "cross links, and a sheet with its summary and travel.",
          check_specs=specs(every_map_holds_both_forms))
def xmind_maps(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    folder = adnet.layout.exports / "networks"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        written = write_network_maps(con, folder, pictures=_pictures_drawn(con, folder),
                                     progress=_progress(context, "XMind maps"))
        prune_files(folder, "network_*.xmind", written.values())
        check_results = results([every_map_holds_both_forms], adnet, con)
    context.log.info(f"wrote {len(written)} XMind map(s) to {folder}")
    _audit(context, adnet, f"exports/networks: {len(written)} XMind map(s)")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "networks": len(written),
        "maps": dg.MetadataValue.md(_paths_table(written, adnet.layout.root)),
    }, check_results=check_results)


@dg.asset(deps=[*_NETWORK_TABLES, "phones", "directory_matches", "series_groups", "rotation_links",
                "network_travel", "network_movement", "quarantine", "snapshots", "billing_counterparts",
                "billing_roaming", "red_flags", network_pictures],
          group_name=GROUP, pool=DUCKDB_POOL, kinds={"excel"},
          description="adnet.xlsx: every analyst table and a sheet per network with its picture; "
                      "ad text is never a live formula or link.")
def excel_workbook(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    target = adnet.layout.exports / "adnet.xlsx"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        pictures = _pictures_drawn(con, adnet.layout.exports / "networks")
        report = write_workbook(con, target, pictures=pictures, readme=_workbook_readme(),
                                max_table_rows=adnet.workbook_max_table_rows)
    context.log.info(f"wrote {target} ({len(report.sheets)} sheets)")
    if report.network_rows_only:
        context.log.info(
            "its sheets of " + ", ".join(f"{t} ({n:,} rows)" for t, n in report.network_rows_only.items())
            + f" hold only their rows about network members (tables over {adnet.workbook_max_table_rows:,} rows; "
              "the database has every row, the read-me sheet says so)")
    _audit(context, adnet, f"exports/{target.name}: {len(report.sheets)} sheet(s), "
                           f"{sum(report.sheets.values()):,} row(s)")
    if report.networks_without_sheet:
        context.log.warning(f"{report.networks_without_sheet} smaller network(s) have no sheet of their own: "
                            "they are in the network_members sheet")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(report.path)),
        "networks_without_sheet": report.networks_without_sheet,
        "network_rows_only": dg.MetadataValue.md(
            markdown_table(["table", "rows in the database"], sorted(report.network_rows_only.items()))
            if report.network_rows_only else "every table whole"),
        "sheets": dg.MetadataValue.md(markdown_table(["sheet", "rows"], sorted(report.sheets.items()))),
    })


@dg.asset(deps=["links", "network_members"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"gephi"},
          description="The evidence graph and each network as GEXF and GraphML (Gephi) and nodes/edges CSV (i2, Maltego).")
def graph_files(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    folder = adnet.layout.exports / "graphs"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        written = write_graph_files(con, folder)
        ids = _network_ids(con)
        networks = write_network_graph_files(con, folder, ids, progress=_progress(context, "network graph files"))
        kept = [*written.values(), *(path for paths in networks.values() for path in paths.values())]
    prune_files(folder, "network_*", kept)
    context.log.info(f"wrote the evidence graph and {len(ids)} network(s) to {folder}")
    _audit(context, adnet, f"exports/graphs: the evidence graph and {len(ids)} network(s) (GEXF, GraphML, CSV)")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "evidence_graph": dg.MetadataValue.path(str(written["gexf"])),
        "networks": len(ids),
    })


@dg.asset(deps=_NETWORK_TABLES + ["phones"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"aleph"},
          description="FollowTheMoney entities (JSON lines) for OCCRP Aleph: people, phones, addresses, ads, "
                      "networks and every link, for the whole evidence graph and for each network.")
def ftm_entities(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    folder = adnet.layout.exports / "aleph"
    with adnet.connect(read_only=True, log=context.log.info) as con:
        ids = _network_ids(con)
        whole, networks = write_all_ftm_entities(con, folder / "evidence_graph.ftm.json",
                                                 {nid: folder / f"{graph_stem(nid)}.ftm.json" for nid in ids},
                                                 progress=_progress(context, "network entity files"))
        kept = [whole.path, *(report.path for report in networks.values())]
    prune_files(folder, "network_*.ftm.json", kept)
    context.log.info(f"wrote {whole.n_entities:,} FollowTheMoney entities and {len(ids)} network file(s) to {folder}")
    _audit(context, adnet, f"exports/aleph: {whole.n_entities:,} FollowTheMoney entities, {len(ids)} network file(s)")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "evidence_graph": dg.MetadataValue.path(str(whole.path)),
        "entities": whole.n_entities,
        "by_schema": dg.MetadataValue.md(markdown_table(["schema", "entities"], sorted(whole.counts.items()))),
    })
