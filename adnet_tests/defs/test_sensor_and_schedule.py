"""The snapshot sensor and the twice-weekly schedule, evaluated as Dagster would."""

import shutil
from datetime import datetime, timezone

import dagster as dg

from adnet_assets.definitions import build_definitions
from adnet_assets.defs.ingest.partitions import snapshot_windows
from adnet_assets.defs.ingest.schedules import newest_window_schedule
from adnet_assets.defs.ingest.sensors import new_snapshot_sensor
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.windows import window_of_snapshot
from adnet_tests.conftest import ad, write_snapshot

SITE = "eskorte-annonser.example"


def _tick(layout, cursor=None):
    resources = {"adnet": AdnetData(data_dir=str(layout.root))}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                          definitions=build_definitions(str(layout.root)))
        result = new_snapshot_sensor(context)
        requests = list(result) if isinstance(result, list) else []
        return requests, context.cursor, result


def test_new_complete_snapshot_gives_one_run_request_once(layout):
    write_snapshot(layout.root, SITE, "2026-06-01T0614Z", [ad("1", "2026-06-01T06:20:00Z", [])])
    requests, cursor, _ = _tick(layout)
    assert [(r.partition_key, r.job_name) for r in requests] == [("2026-06-01", None)]
    assert requests[0].run_key.startswith("snapshots:2026-06-01:")
    again, cursor2, result = _tick(layout, cursor)  # the cursor survives: noticed once
    assert again == [] and isinstance(result, dg.SkipReason) and cursor2 == cursor


def test_half_written_snapshot_waits_for_its_manifest(layout):
    folder = write_snapshot(layout.root, SITE, "2026-06-04T0614Z", [ad("1", "2026-06-04T06:20:00Z", [])], manifest=False)
    requests, cursor, result = _tick(layout)
    assert requests == [] and isinstance(result, dg.SkipReason)
    # the scraper finishes: the manifest appears, now it runs
    shutil.rmtree(folder)
    write_snapshot(layout.root, SITE, "2026-06-04T0614Z", [ad("1", "2026-06-04T06:20:00Z", [])])
    requests, _, _ = _tick(layout, cursor)
    assert [r.partition_key for r in requests] == ["2026-06-04"]


def test_late_snapshot_for_old_window_and_replaced_crawl_rematerialise_their_windows(layout):
    write_snapshot(layout.root, SITE, "2026-06-08T0614Z", [ad("1", "2026-06-08T06:20:00Z", [])])
    first, cursor, _ = _tick(layout)
    # a late crawl for an old window, and another site's crawl in the same new window
    write_snapshot(layout.root, SITE, "2026-06-02T0900Z", [ad("2", "2026-06-02T09:20:00Z", [])])
    write_snapshot(layout.root, "nordic-escorts.example", "2026-06-09T0700Z", [ad("3", "2026-06-09T07:20:00Z", [])])
    late, cursor, _ = _tick(layout, cursor)
    assert sorted(r.partition_key for r in late) == ["2026-06-01", "2026-06-08"]
    # the same crawl written again with different content (new manifest): a new run key
    write_snapshot(layout.root, SITE, "2026-06-08T0614Z", [ad("1", "2026-06-08T06:20:00Z", ["41234567"])])
    redo, _, _ = _tick(layout, cursor)
    assert [r.partition_key for r in redo] == ["2026-06-08"]
    assert redo[0].run_key not in {r.run_key for r in first + late}


def test_sensor_requests_are_valid_for_the_job(layout):
    write_snapshot(layout.root, SITE, "2026-06-01T0614Z", [ad("1", "2026-06-01T06:20:00Z", [])])
    requests, _, _ = _tick(layout)
    assert requests[0].partition_key in snapshot_windows.get_partition_keys(
        current_time=datetime(2026, 6, 2, tzinfo=timezone.utc))


def test_partitions_agree_with_the_window_rule():
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    keys = snapshot_windows.get_partition_keys(current_time=now)
    assert keys[0] == "2010-01-04" and keys[-1] == "2026-11-23"  # the window in progress exists (end_offset=1)
    for snapshot_id in ["2026-06-01T0614Z", "2026-06-04T0000Z", "2026-06-07T2359Z", "2026-11-23T0500Z"]:
        moment = datetime.strptime(snapshot_id, "%Y-%m-%dT%H%MZ").replace(tzinfo=timezone.utc)
        assert snapshot_windows.get_partition_key_for_timestamp(moment.timestamp()) == window_of_snapshot(snapshot_id)


def test_schedule_requests_the_window_in_progress_which_exists():
    for tick, window in [(datetime(2026, 11, 23, 12, tzinfo=timezone.utc), "2026-11-23"),
                         (datetime(2026, 11, 26, 12, tzinfo=timezone.utc), "2026-11-26")]:
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        request = newest_window_schedule(context)
        assert request.partition_key == window
        assert window in snapshot_windows.get_partition_keys(current_time=tick)
