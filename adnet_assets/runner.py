"""One run over every window that has snapshots, and everything downstream: what ``adnet run`` does.

The run goes through the investigation's Dagster instance, so it shows in the UI with its
partitions and lineage. It is one run for all windows (the ingest asset's single-run backfill
policy gets the whole range), not a run per partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from adnet_assets.instance import use_investigation
from adnet_assets.layout import DataLayout
from adnet_assets.lib.snapshots import discover


class NothingToRun(Exception):
    pass


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    windows: tuple[str, str]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, message)


def run_all(layout: DataLayout, *, tags: dict[str, str] | None = None) -> RunOutcome:
    use_investigation(layout)
    discovery = discover(layout)
    windows = sorted({s.window for s in discovery.snapshots})
    if not windows:
        problems = "".join(f"\n  {p.path}: {p.reason}" for p in discovery.problems)
        raise NothingToRun(
            f"no snapshot folders in {layout.snapshots}: put crawls there as snapshots/<site>/<YYYY-MM-DDTHHMMZ>/ "
            f"with ads.jsonl and manifest.json (see the data contract), or run `adnet demo`.{problems}")
    from adnet_assets import definitions  # imported after the environment points at the data folder

    run_tags = {
        ASSET_PARTITION_RANGE_START_TAG: windows[0],
        ASSET_PARTITION_RANGE_END_TAG: windows[-1],
        "adnet/trigger": "cli",
        **(tags or {}),
    }
    run_config = {
        "resources": {"adnet": {"config": {"data_dir": str(layout.root)}}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},  # compact progress lines
    }
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(dg.reconstructable(definitions.adnet_job_for_cli), instance=instance,
                                tags=run_tags, run_config=run_config, raise_on_error=False)
        failures = [
            (event.step_key or "run", _failure_message(event))
            for event in result.all_events
            if event.is_step_failure or event.event_type_value == "RUN_FAILURE"
        ]
        return RunOutcome(result.success, result.run_id, (windows[0], windows[-1]), failures)


def _failure_message(event: dg.DagsterEvent) -> str:
    """The user's own error (file, line, fix) rather than Dagster's wrapper around it."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None and "Error occurred while executing" in error.message:
        error = error.cause
    text = error.message.strip() if error is not None else (event.message or "failed")
    return "\n".join(text.splitlines()[:6])
