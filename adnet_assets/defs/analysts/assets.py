"""What analysts open: friendly views in the database, and a copy of it that runs never lock.

``analyst_views`` creates the views of ``lib/views.py`` in the pipeline's database (DuckDB keeps
views in the file, so this needs the write lock, like any step). ``analyst_copy`` then publishes
``<data>/analyst/adnet.duckdb`` (``lib/publish.py``): a complete copy with the views, renamed into
place, so an analyst's SQL client never holds the pipeline's file and a run never breaks an
analyst's session. With ``ADNET_DB_KEY`` set the copy is encrypted with the same key.
"""

import dagster as dg

from adnet_assets.defs.analysts.checks import copy_is_complete, views_answer
from adnet_assets.defs.checks import results, specs
from adnet_assets.defs.metadata import markdown_table
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib.publish import CopyInUse, contents, open_instructions, publish_copy
from adnet_assets.lib.store import transaction
from adnet_assets.lib.views import VIEWS, create_views, missing_inputs
from adnet_assets.schema import ASSET_TABLES

GROUP = "analysts"

# every table a view reads (views read other views too; those are created in registry order)
VIEW_INPUTS = sorted({name for view in VIEWS.values() for name in view.needs if name not in VIEWS})


def _views_table(header: list[str], rows: list[tuple]) -> str:
    """Our own view names and descriptions in full (markdown_table cuts cells for untrusted ad text)."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("_", "\\_")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dg.asset(deps=VIEW_INPUTS, group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description="Friendly views for analysts (network_phones, network_ads, evidence, network_summary, ...): "
                      "joins of the tables into what a reporter reads; no data copied, always current.",
          check_specs=specs(views_answer))
def analyst_views(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            created = create_views(con)
            missing = missing_inputs(con)
        rows = [(name, con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0], VIEWS[name].description)
                for name in created]
        check_results = results([views_answer], adnet, con)
    for name, lacking in missing.items():
        context.log.warning(f"view {name} not created: it reads {', '.join(lacking)}, which do(es) not exist")
    context.log.info(f"{len(created)} view(s) created: {', '.join(created)}")
    return dg.MaterializeResult(metadata={
        "views": dg.MetadataValue.md(_views_table(["view", "rows", "what it shows"], rows) if rows else "none"),
        "n_views": len(created),
        **({"skipped": dg.MetadataValue.text("; ".join(f"{v}: needs {', '.join(m)}" for v, m in missing.items()))}
           if missing else {}),
    }, check_results=check_results)


# After every table and every export, so that the exports' rows in audit_log are in the copy too.
_EXPORTS = ["network_pictures", "xmind_maps", "excel_workbook", "graph_files", "ftm_entities"]


@dg.asset(deps=[*ASSET_TABLES, *_EXPORTS, analyst_views], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description="The analysts' copy <data>/analyst/adnet.duckdb: every table and view, published at the end "
                      "of each run by an atomic rename. Open it read-only in any SQL client; runs never wait for it "
                      "and never break a session on it (reconnect to see the new data).",
          check_specs=specs(copy_is_complete))
def analyst_copy(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    target = adnet.layout.analyst_database
    published = True
    with adnet.connect(read_only=True, log=context.log.info) as con:
        try:
            publish_copy(con, target, log=context.log.warning)
        except CopyInUse as exc:
            published = False
            context.log.warning(str(exc))
        tables, views = contents(con)
        check_results = results([copy_is_complete], adnet, con)
    if published:
        how = ("it is encrypted with ADNET_DB_KEY: see 'open it' in the metadata" if adnet.encrypted
               else f"open it with: duckdb -readonly {target}")
        context.log.info(f"analysts' copy published: {target} ({target.stat().st_size / 1e6:.1f} MB, "
                         f"{len(tables)} tables, {len(views)} views); {how}")
    metadata = {
        "path": dg.MetadataValue.path(str(target)),
        "published": published,
        "open it": dg.MetadataValue.md(open_instructions(target, encrypted=adnet.encrypted)),
        "tables": dg.MetadataValue.md(markdown_table(["table", "rows"], list(tables.items()))),
        "views": dg.MetadataValue.md(_views_table(["view", "what it shows"], list(views.items())) if views else "none"),
    }
    if target.exists():
        metadata["bytes"] = target.stat().st_size
    if not published:
        metadata["note"] = dg.MetadataValue.text(
            "the copy is held open by another program and could not be replaced on this system: "
            "it still holds the previous run's data")
    return dg.MaterializeResult(metadata=metadata, check_results=check_results)
