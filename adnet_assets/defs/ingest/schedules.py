"""Twice a week, materialise the newest window for crawls that arrive on time."""


import dagster as dg

from adnet_assets.defs.jobs import adnet_job
from adnet_assets.lib.windows import window_key

# Mondays and Thursdays at 12:00 UTC: after the morning crawl of the window that opened at 00:00.
NEWEST_WINDOW_CRON = "0 12 * * 1,4"


@dg.schedule(cron_schedule=NEWEST_WINDOW_CRON, job=adnet_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Materialises the window in progress (it contains this morning's crawl) and everything downstream.")
def newest_window_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    window = window_key(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"schedule:{window}", partition_key=window)
