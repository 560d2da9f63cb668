"""The whole ingest in plain Python, without Dagster: for tests, benchmarks and notebooks.

The Dagster assets call the same functions one step at a time; this runs them in order.
"""

from __future__ import annotations

from adnet_assets.layout import DataLayout
from adnet_assets.lib.phone_index import build_ads, build_observation_phones, build_phones, update_phone_strings
from adnet_assets.lib.snapshot_lines import DEFAULT_MAX_LINE_BYTES
from adnet_assets.lib.snapshots import EarlierCopies, discover
from adnet_assets.lib.store import connect, memory_connection, transaction
from adnet_assets.lib.warehouse_sync import replace_folder_problems, sync_window_tables
from adnet_assets.lib.window_ingest import OBSERVATIONS_KIND, QUARANTINE_KIND, SNAPSHOTS_KIND, ingest_windows
from adnet_assets.schema import AD_OBSERVATIONS, QUARANTINE, SNAPSHOTS


def ingest_all(layout: DataLayout, *, default_country: str = "NO", max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
    """Every window with snapshots, then the analysts' ingest tables in adnet.duckdb."""
    discovery = discover(layout)
    windows = sorted({s.window for s in discovery.snapshots})
    copies = EarlierCopies(layout, discovery.snapshots)
    with memory_connection(layout.tmp) as scratch:  # one in-memory DuckDB for every window
        for _ in ingest_windows(layout, {w: discovery.in_windows({w}) for w in windows},
                                max_line_bytes=max_line_bytes, copies=copies, con=scratch):
            pass
    with connect(layout.database) as con:
        with transaction(con):
            sync_window_tables(con, layout, {
                SNAPSHOTS_KIND: SNAPSHOTS, OBSERVATIONS_KIND: AD_OBSERVATIONS, QUARANTINE_KIND: QUARANTINE})
            replace_folder_problems(con, QUARANTINE, discovery.problems)
            update_phone_strings(con, default_country)
            build_observation_phones(con, default_country)
            build_phones(con)
            build_ads(con)
