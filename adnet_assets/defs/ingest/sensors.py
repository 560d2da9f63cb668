"""The snapshot sensor: a new complete crawl (or a replaced one) launches a run for its window."""

import os

import dagster as dg

from adnet_assets.defs.jobs import adnet_job
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.snapshot_watch import dump_cursor, load_cursor, new_snapshots
from adnet_assets.lib.snapshots import discover


# How often the daemon looks (seconds): crawls come twice a week, so once a minute is plenty; a
# deployment or a test may change it with ADNET_SENSOR_INTERVAL_S.
SENSOR_INTERVAL_S = int(os.environ.get("ADNET_SENSOR_INTERVAL_S", "60"))


@dg.sensor(job=adnet_job, minimum_interval_seconds=SENSOR_INTERVAL_S, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches snapshots/ for complete crawls (manifest present). Reads folders and manifests only, never the database.")
def new_snapshot_sensor(context: dg.SensorEvaluationContext, adnet: AdnetData):
    discovery = discover(adnet.layout)
    requests, seen = new_snapshots(discovery, load_cursor(context.cursor))
    waiting = [s.name for s in discovery.snapshots if not s.is_complete]
    if waiting:
        context.log.info(f"{len(waiting)} snapshot(s) still being written (no manifest yet): {', '.join(waiting[:5])}")
    context.update_cursor(dump_cursor(seen))
    if not requests:
        return dg.SkipReason(f"no new complete snapshot ({len(discovery.complete())} known, {len(waiting)} being written)")
    return [
        dg.RunRequest(run_key=req.run_key, partition_key=req.window,
                      tags={"adnet/snapshots": ", ".join(s.split("@")[0] for s in req.snapshots)[:200]})
        for req in requests
    ]
