from datetime import datetime, timezone

import pytest

from adnet_assets.lib.windows import SnapshotIdError, window_bounds, window_of_snapshot


@pytest.mark.parametrize("snapshot_id, window", [
    ("2026-06-01T0614Z", "2026-06-01"),   # Monday morning: Monday's window
    ("2026-06-01T0000Z", "2026-06-01"),   # the first minute of the window
    ("2026-06-03T2359Z", "2026-06-01"),   # Wednesday night: still Monday's window
    ("2026-06-04T0000Z", "2026-06-04"),   # Thursday 00:00 opens the next one
    ("2026-06-07T2359Z", "2026-06-04"),   # Sunday night: Thursday's window
    ("2026-06-08T0001Z", "2026-06-08"),
    ("2024-12-30T0700Z", "2024-12-30"),   # across a year end
    ("2025-01-01T0700Z", "2024-12-30"),
    ("2024-02-29T1200Z", "2024-02-29"),   # a leap-day Thursday
])
def test_snapshot_belongs_to_window_containing_its_start(snapshot_id, window):
    assert window_of_snapshot(snapshot_id) == window
    start, end = window_bounds(window)
    moment = datetime.strptime(snapshot_id, "%Y-%m-%dT%H%MZ").replace(tzinfo=timezone.utc)
    assert start <= moment < end


@pytest.mark.parametrize("bad", ["2026-06-01", "2026-06-01T06:14Z", "2026-13-01T0614Z", "2026-02-30T0614Z", "latest"])
def test_bad_snapshot_ids_are_refused_with_the_fix(bad):
    with pytest.raises(SnapshotIdError, match="YYYY-MM-DDTHHMMZ|real date"):
        window_of_snapshot(bad)


def test_windows_are_three_and_four_days():
    assert [(e - s).days for s, e in map(window_bounds, ["2026-06-01", "2026-06-04"])] == [3, 4]
    with pytest.raises(ValueError):
        window_bounds("2026-06-02")
