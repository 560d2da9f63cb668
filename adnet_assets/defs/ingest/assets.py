"""Ingest assets: snapshot folders -> per-window Parquet -> the analysts' first tables."""


import time
from collections import Counter

import dagster as dg

from adnet_assets.defs.checks import results, specs
from adnet_assets.defs.ingest.checks import AD_OBSERVATIONS_CHECKS, ads_cover_observations, phones_are_e164
from adnet_assets.defs.ingest.partitions import snapshot_windows
from adnet_assets.defs.metadata import build_table, markdown_table, table_metadata
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib.phone_index import build_ads, build_observation_phones, build_phones, update_phone_strings
from adnet_assets.lib.snapshot_lines import reason_group_sql
from adnet_assets.lib.snapshots import EarlierCopies, discover
from adnet_assets.lib.store import memory_connection, transaction
from adnet_assets.lib.warehouse_sync import replace_folder_problems, sync_window_tables
from adnet_assets.lib.window_ingest import OBSERVATIONS_KIND, QUARANTINE_KIND, SNAPSHOTS_KIND, ingest_windows
from adnet_assets.schema import AD_OBSERVATIONS, ADS, OBSERVATION_PHONES, PHONE_STRINGS, PHONES, QUARANTINE, SNAPSHOTS

GROUP = "ingest"


@dg.asset(
    partitions_def=snapshot_windows,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"parquet"},
    description=(
        "Every snapshot folder of the window, verified against its manifest (sizes and sha256) and read "
        "line by line into warehouse/<kind>/window=<key>.parquet. A snapshot that does not match its "
        "manifest is quarantined whole; a bad line is quarantined with file, line and reason while the "
        "rest loads. Re-materialising a window replaces exactly that window's files."
    ),
)
def raw_snapshots(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    layout = adnet.layout
    windows = list(context.partition_keys)
    discovery = discover(layout)
    by_window = {w: [] for w in windows}
    for ref in discovery.in_windows(set(windows)):
        by_window[ref.window].append(ref)
    busy = [w for w in windows if by_window[w]]
    context.log.info(f"{len(windows)} window(s) requested, {len(busy)} with snapshots")
    loaded, incomplete, observations, lines_quarantined = [], [], 0, 0
    quarantined: dict[str, str] = {}
    reasons: Counter = Counter()
    per_window: list[tuple] = []
    copies = EarlierCopies(layout, discovery.snapshots)  # a crawl copied under a second id, in any window
    # one in-memory DuckDB for every window of the run (opening one per window cost more than a small window)
    con = memory_connection(layout.tmp, threads=adnet.duckdb_threads, memory_limit=adnet.duckdb_memory_limit) if busy else None
    last_progress = time.monotonic()
    try:
        for report in ingest_windows(layout, by_window, max_line_bytes=adnet.max_line_bytes, copies=copies, con=con,
                                     batch_bytes=adnet.ingest_batch_bytes):
            window = report.window
            # a progress line when 5 s passed since the last one, for the last window and for any window with
            # a crawl set aside: each log line is an event Dagster commits to its storage (~35 ms measured on a
            # busy 2-core machine, a tenth of reading a small window); every window is in the metadata below
            if by_window[window] and (time.monotonic() - last_progress >= 5 or window == busy[-1]
                                      or report.snapshots_quarantined or report.snapshots_incomplete):
                last_progress = time.monotonic()
                context.log.info(
                    f"window {window} ({busy.index(window) + 1}/{len(busy)}): {len(report.snapshots_loaded)} snapshot(s) loaded, "
                    f"{report.n_observations} observations, {report.n_quarantined_lines} line(s) quarantined"
                    + (f", {len(report.snapshots_quarantined)} snapshot(s) quarantined" if report.snapshots_quarantined else "")
                    + (f", {len(report.snapshots_incomplete)} still being written" if report.snapshots_incomplete else ""))
            if by_window[window]:
                per_window.append((window, len(report.snapshots_loaded), report.n_observations,
                                   report.n_quarantined_lines, len(report.snapshots_quarantined) + len(report.snapshots_incomplete)))
            loaded += report.snapshots_loaded
            incomplete += report.snapshots_incomplete
            quarantined.update(report.snapshots_quarantined)
            observations += report.n_observations
            lines_quarantined += report.n_quarantined_lines
            reasons.update(report.reasons)
    finally:
        if con is not None:
            con.close()
    for name, reason in quarantined.items():
        context.log.warning(f"snapshot {name} quarantined: {reason}")
    for problem in discovery.problems:
        context.log.warning(f"{problem.path}: {problem.reason}")
    return dg.MaterializeResult(metadata={
        "windows": dg.MetadataValue.int(len(windows)),
        "windows_with_snapshots": dg.MetadataValue.int(len(busy)),
        "snapshots_loaded": dg.MetadataValue.int(len(loaded)),
        "snapshots_quarantined": dg.MetadataValue.int(len(quarantined)),
        "snapshots_incomplete": dg.MetadataValue.int(len(incomplete)),
        "observations": dg.MetadataValue.int(observations),
        "lines_quarantined": dg.MetadataValue.int(lines_quarantined),
        "quarantine_reasons": dg.MetadataValue.md(
            markdown_table(["reason", "count"], sorted(reasons.items(), key=lambda kv: -kv[1])) if reasons else "none"),
        "folders_ignored": dg.MetadataValue.int(len(discovery.problems)),
        # Which windows of this run had crawls (the rest were materialised empty): the partitions view
        # shows materialised / failed / missing, this shows where the data is.
        "windows_with_data": dg.MetadataValue.md(markdown_table(
            ["window", "snapshots loaded", "observations", "lines quarantined", "snapshots set aside"],
            per_window[-200:]) if per_window else "no window of this run had a snapshot"),
    })


@dg.multi_asset(
    specs=[
        dg.AssetSpec("snapshots", deps=[raw_snapshots], description=SNAPSHOTS.description, kinds={"duckdb"}),
        dg.AssetSpec("ad_observations", deps=[raw_snapshots], description=AD_OBSERVATIONS.description, kinds={"duckdb"}),
        dg.AssetSpec("quarantine", deps=[raw_snapshots], description=QUARANTINE.description, kinds={"duckdb"}),
    ],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    check_specs=specs(*AD_OBSERVATIONS_CHECKS),
)
def observation_tables(context: dg.AssetExecutionContext, adnet: AdnetData):
    """Load the windows whose Parquet files changed into DuckDB, in one transaction."""
    layout = adnet.layout
    problems = discover(layout).problems
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            report = sync_window_tables(con, layout, {
                SNAPSHOTS_KIND: SNAPSHOTS, OBSERVATIONS_KIND: AD_OBSERVATIONS, QUARANTINE_KIND: QUARANTINE})
            replace_folder_problems(con, QUARANTINE, problems)
        context.log.info(f"windows changed since the last load: {len(report.windows_changed)}")
        status = con.execute("SELECT status, count(*) FROM snapshots GROUP BY ALL ORDER BY 1").fetchall()
        reasons = con.execute(
            f"SELECT level, CASE WHEN level <> 'line' THEN 'see reason column' ELSE {reason_group_sql()} END AS reason, "
            "count(*) FROM quarantine GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()
        yield dg.MaterializeResult(asset_key="snapshots", metadata={
            **table_metadata(con, SNAPSHOTS, preview_columns=["window", "site", "snapshot_id", "status", "n_loaded", "n_quarantined", "reason"],
                             order_by='"window" DESC, site, snapshot_id'),
            "by_status": dg.MetadataValue.md(markdown_table(["status", "snapshots"], status)),
        })
        yield dg.MaterializeResult(asset_key="ad_observations", metadata={
            **table_metadata(con, AD_OBSERVATIONS, preview_columns=["ad_key", "snapshot_id", "country", "city", "phones_raw"],
                             order_by="snapshot_id DESC, ad_key"),
            "windows_reloaded": dg.MetadataValue.int(len(report.loaded.get(AD_OBSERVATIONS.name, []))),
        }, check_results=results(AD_OBSERVATIONS_CHECKS, adnet, con))
        yield dg.MaterializeResult(asset_key="quarantine", metadata={
            **table_metadata(con, QUARANTINE, preview_columns=["level", "source_file", "line_no", "reason"],
                             order_by="source_file, line_no"),
            "by_reason": dg.MetadataValue.md(markdown_table(["level", "reason", "count"], reasons) if reasons else "nothing quarantined"),
        })


@dg.asset(deps=["ad_observations"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb", "python"},
          description=PHONE_STRINGS.description)
def phone_strings(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            parsed, total = update_phone_strings(con, adnet.default_country)
        context.log.info(f"parsed {parsed} new distinct phone string(s); {total} in the cache")
        status = con.execute("SELECT status, count(*), count(*) FILTER (obfuscated) FROM phone_strings GROUP BY ALL ORDER BY 1").fetchall()
        return dg.MaterializeResult(metadata={
            **table_metadata(con, PHONE_STRINGS, preview_columns=["raw", "default_country", "phone", "status", "obfuscation"],
                             order_by="obfuscated DESC, raw"),
            "parsed_this_run": dg.MetadataValue.int(parsed),
            "by_status": dg.MetadataValue.md(markdown_table(["status", "strings", "obfuscated"], status)),
        })


@dg.asset(deps=["ad_observations", phone_strings], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=OBSERVATION_PHONES.description)
def observation_phones(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    return build_table(context, adnet, lambda con: build_observation_phones(con, adnet.default_country),
                       OBSERVATION_PHONES, preview_columns=["ad_key", "snapshot_id", "raw", "phone", "obfuscated"],
                       order_by="ad_key, snapshot_id")


@dg.asset(deps=[observation_phones], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"}, description=PHONES.description,
          check_specs=specs(phones_are_e164))
def phones(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    def by_country(con):
        rows = con.execute("SELECT country, count(*), count(*) FILTER (status = 'possible') FROM phones"
                           " GROUP BY ALL ORDER BY 2 DESC").fetchall()
        return {"by_country": dg.MetadataValue.md(markdown_table(["country", "phones", "possible only"], rows))}

    return build_table(context, adnet, build_phones, PHONES,
                       preview_columns=["phone", "country", "n_ads", "first_seen", "last_seen", "ever_obfuscated"],
                       order_by="n_ads DESC, phone", extra=by_country, checks=[phones_are_e164])


@dg.asset(deps=["ad_observations", observation_phones], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=ADS.description, check_specs=specs(ads_cover_observations))
def ads(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    return build_table(context, adnet, build_ads, ADS,
                       preview_columns=["ad_key", "first_seen", "last_seen", "n_snapshots", "n_phones", "last_city"],
                       order_by="n_phones DESC, ad_key", checks=[ads_cover_observations])
