"""The analysts' views answer, and the published copy opens read-only with everything in it.

They run in their asset's step (defs/checks.py). Neither check blocks: a broken view or a copy an analyst holds must not stop a run (the copy is
what the previous run published; the run's tables are fine).
"""

import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.metadata import markdown_table
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.encryption import EncryptionMismatch
from adnet_assets.lib.publish import contents
from adnet_assets.lib.store import DatabaseLocked, connect
from adnet_assets.lib.views import VIEWS


@asset_check("analyst_views", description="Every view in the registry whose tables exist is there and can be queried.")
def views_answer(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    failures = []
    present = set(contents(con)[1])
    for name in VIEWS:
        if name not in present:
            continue
        try:
            con.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
        except duckdb.Error as exc:
            failures.append((name, str(exc).splitlines()[0]))
    return dg.AssetCheckResult(passed=not failures, metadata={
        "views": len(present & set(VIEWS)),
        **({"failing": dg.MetadataValue.md(markdown_table(["view", "error"], failures))} if failures else {})})


@asset_check("analyst_copy",
             description="The analysts' copy opens read-only and holds every table (same rows) and view of the database.")
def copy_is_complete(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    target = adnet.layout.analyst_database
    tables, views = contents(con)
    try:
        # through store.connect, so an encrypted copy opens with the key; no waiting for an analyst's lock
        with connect(target, read_only=True, lock_timeout_s=0, temp_dir=adnet.layout.tmp) as copy:
            have_tables, have_views = contents(copy)
    except (duckdb.Error, DatabaseLocked, EncryptionMismatch) as exc:  # e.g. an analyst holds it read-write
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"error": dg.MetadataValue.text(str(exc).splitlines()[0])})
    differ = [(t, n, have_tables.get(t)) for t, n in tables.items() if have_tables.get(t) != n]
    missing_views = sorted(set(views) - set(have_views))
    return dg.AssetCheckResult(
        passed=not differ and not missing_views,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"tables": len(have_tables), "views": len(have_views),
                  **({"tables_differ": dg.MetadataValue.md(markdown_table(["table", "rows", "rows in copy"], differ))}
                     if differ else {}),
                  **({"views_missing": dg.MetadataValue.text(", ".join(missing_views))} if missing_views else {})})
