"""The twice-weekly crawl windows as Dagster partitions (the rules live in lib/windows.py)."""

import dagster as dg

from adnet_assets.lib.windows import WINDOW_CRON, WINDOW_KEY_FORMAT, WINDOW_START, WINDOW_TIMEZONE

# end_offset=1: the window in progress is a partition too, so this morning's crawl can be
# materialised today instead of waiting for its window to close.
snapshot_windows = dg.TimeWindowPartitionsDefinition(
    cron_schedule=WINDOW_CRON,
    start=WINDOW_START,
    fmt=WINDOW_KEY_FORMAT,
    timezone=WINDOW_TIMEZONE,
    end_offset=1,
)
