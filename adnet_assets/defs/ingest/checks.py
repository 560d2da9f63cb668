"""Data-quality rules of ingest, as asset checks visible in the UI (run in their asset's step: defs/checks.py)."""


import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.metadata import check_query, markdown_table
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.windows import window_of_snapshot


@asset_check("ad_observations", blocking=True,
             description="One row per ad per snapshot: no ad_key appears twice in one snapshot.")
def one_row_per_ad_and_snapshot(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, "SELECT ad_key, snapshot_id, count(*) AS n FROM ad_observations GROUP BY ALL HAVING n > 1",
                       "ad_key and snapshot_id are unique", ["ad_key", "snapshot_id", "rows"])


@asset_check("ad_observations", description="Every observation is stored under the window its snapshot_id belongs to.")
def rows_in_their_window(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    pairs = con.execute('SELECT DISTINCT snapshot_id, "window" FROM ad_observations').fetchall()
    wrong = [(s, w, window_of_snapshot(s)) for s, w in pairs if window_of_snapshot(s) != w]
    return dg.AssetCheckResult(passed=not wrong, metadata={
        "snapshots": len({s for s, _ in pairs}), "misplaced": len(wrong),
        **({"sample": dg.MetadataValue.md(markdown_table(["snapshot_id", "stored in", "belongs to"], wrong[:5]))} if wrong else {})})


@asset_check("ad_observations",
             description="No snapshot is half-loaded: rows come only from snapshots whose status is 'loaded'.")
def no_half_loaded_snapshot(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT o.site, o.snapshot_id, count(*) FROM ad_observations o
        LEFT JOIN snapshots s ON s.site = o.site AND s.snapshot_id = o.snapshot_id
        WHERE s.status IS DISTINCT FROM 'loaded' GROUP BY ALL""",
        "observations only from verified snapshots", ["site", "snapshot_id", "rows"])


@asset_check("phones", description="Every phone key is an E.164 number.")
def phones_are_e164(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, r"SELECT phone FROM phones WHERE NOT regexp_full_match(phone, '\+[1-9][0-9]{6,14}')",
                       "phone matches +[1-9]digits{6,14}", ["phone"])


@asset_check("ads", description="Every observed ad is in ads once, with first_seen <= last_seen and at least one snapshot.")
def ads_cover_observations(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    return check_query(con, """
        SELECT o.ad_key, a.first_seen, a.last_seen FROM (SELECT DISTINCT ad_key FROM ad_observations) o
        LEFT JOIN ads a USING (ad_key)
        WHERE a.ad_key IS NULL OR a.first_seen > a.last_seen OR a.n_snapshots < 1""",
        "ads match ad_observations", ["ad_key", "first_seen", "last_seen"])


AD_OBSERVATIONS_CHECKS = (one_row_per_ad_and_snapshot, rows_in_their_window, no_half_loaded_snapshot)
