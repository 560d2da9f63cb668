"""Twice-weekly crawl windows: the partitions of snapshot ingest.

A window opens at 00:00 UTC every Monday and every Thursday and lasts until the next one
(Mon-Thu is three days, Thu-Mon four). A snapshot belongs to the window that contains its
``snapshot_id`` (the crawl's start time in UTC). Window keys are the opening date,
``YYYY-MM-DD``: the same string Dagster uses as the partition key.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from adnet_assets.layout import SNAPSHOT_ID_RE

WINDOW_CRON = "0 0 * * 1,4"
# Early enough for any investigation an archive of crawls could hold (Monday 2010-01-04).
WINDOW_START = "2010-01-04"
WINDOW_KEY_FORMAT = "%Y-%m-%d"
WINDOW_TIMEZONE = "UTC"
_OPENING_WEEKDAYS = (0, 3)  # Monday, Thursday


class SnapshotIdError(ValueError):
    pass


def parse_snapshot_id(snapshot_id: str) -> datetime:
    """``2026-06-01T0614Z`` -> aware UTC datetime; raises SnapshotIdError with the fix."""
    m = SNAPSHOT_ID_RE.match(snapshot_id)
    if not m:
        raise SnapshotIdError(
            f"snapshot folder {snapshot_id!r} is not a crawl start time in UTC: "
            "name it YYYY-MM-DDTHHMMZ, e.g. 2026-06-01T0614Z"
        )
    year, month, day, hour, minute = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
    except ValueError as exc:
        raise SnapshotIdError(f"snapshot folder {snapshot_id!r} is not a real date/time: {exc}") from exc


def window_start(moment: datetime) -> datetime:
    """The opening (00:00 UTC Monday or Thursday) of the window containing ``moment``."""
    moment = moment.astimezone(timezone.utc)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    weekday = day.weekday()
    back = weekday if weekday < 3 else weekday - 3  # Mon/Tue/Wed -> Monday, Thu..Sun -> Thursday
    return day - timedelta(days=back)


def window_key(moment: datetime) -> str:
    return window_start(moment).strftime(WINDOW_KEY_FORMAT)


def window_of_snapshot(snapshot_id: str) -> str:
    """The partition key of the window a snapshot belongs to."""
    return window_key(parse_snapshot_id(snapshot_id))


def window_bounds(key: str) -> tuple[datetime, datetime]:
    """[start, end) of the window with this key."""
    start = datetime.strptime(key, WINDOW_KEY_FORMAT).replace(tzinfo=timezone.utc)
    if start.weekday() not in _OPENING_WEEKDAYS:
        raise ValueError(f"{key} is not a Monday or Thursday: not a window key")
    return start, start + timedelta(days=3 if start.weekday() == 0 else 4)
