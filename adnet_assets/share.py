"""What ``adnet share`` does: materialise ``shared_exports`` through the investigation's Dagster instance.

The key is checked first (a missing or weak ``ADNET_PSEUDONYM_KEY`` stops it before Dagster starts),
then one run of the one asset is recorded in ``<data>/.dagster``, so the delivery shows in the UI
beside the runs that built the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from adnet_assets.instance import use_investigation
from adnet_assets.layout import DataLayout
from adnet_assets.lib.pseudonymise import key_from_env

JOB = "adnet_share"


@dataclass
class ShareOutcome:
    success: bool
    run_id: str
    folder: str
    metadata: dict[str, object] = field(default_factory=dict)   # the asset's metadata, as plain values
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, message)


def _plain(value: object) -> object:
    return getattr(value, "value", getattr(value, "path", getattr(value, "text", value)))


def share(layout: DataLayout, *, tags: dict[str, str] | None = None) -> ShareOutcome:
    key_from_env()  # fail here, with the message, rather than inside a run
    if not layout.database.is_file():
        raise FileNotFoundError(f"{layout.database} does not exist: run `adnet run --data-dir {layout.root}` "
                                f"first, then share.")
    use_investigation(layout)
    from adnet_assets.defs.exports.shared import ASSET, shared_exports
    from adnet_assets.defs.logging import compact_console_logger
    from adnet_assets.defs.resources import AdnetData
    from adnet_assets.runner import _failure_message, lock_timeout_from_env, make_ready

    defs = dg.Definitions(assets=[shared_exports],
                          jobs=[dg.define_asset_job(JOB, selection=[ASSET], description="adnet share")],
                          resources={"adnet": AdnetData(data_dir=str(layout.root))},
                          loggers={"console": compact_console_logger})
    with dg.DagsterInstance.get() as instance:
        # a killed `adnet run` holds the DuckDB pool's slot: without this, sharing would wait for it for ever
        make_ready(instance, layout, lock_timeout=lock_timeout_from_env())
        result = defs.resolve_job_def(JOB).execute_in_process(
            instance=instance, raise_on_error=False, tags={"adnet/trigger": "cli", **(tags or {})},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}})
        failures = [(event.step_key or "run", _failure_message(event)) for event in result.all_events
                    if event.is_step_failure or event.event_type_value == "RUN_FAILURE"]
        metadata: dict[str, object] = {}
        for event in result.all_events:
            if event.is_step_materialization:
                metadata = {k: _plain(v) for k, v in event.step_materialization_data.materialization.metadata.items()}
        return ShareOutcome(result.success, result.run_id, str(layout.shared_exports), metadata, failures)
