"""adnet's Dagster definitions: the one entry point (``workspace.yaml``, ``dagster dev``, ``dg dev``, ``adnet``).

Nothing here opens the database or reads the data folder: loading definitions is cheap and safe
for the webserver and the daemon. The data folder comes from ``$ADNET_DATA_DIR`` (default ./data).
"""

import dagster as dg

import os

from adnet_assets.defs.analysts import assets as analyst_assets
from adnet_assets.defs.billing import assets as billing_assets
from adnet_assets.defs.evidence import assets as evidence_assets
from adnet_assets.defs.exports import assets as export_assets
from adnet_assets.defs.exports import shared as shared_export_assets
from adnet_assets.defs.ingest import assets as ingest_assets
from adnet_assets.defs.ingest.schedules import newest_window_schedule
from adnet_assets.defs.networks import assets as network_assets
from adnet_assets.defs.networks import travel as travel_assets
from adnet_assets.defs.ingest.sensors import new_snapshot_sensor
from adnet_assets.defs.executors import executor_from_env
from adnet_assets.defs.jobs import adnet_job
from adnet_assets.defs.logging import compact_console_logger
from adnet_assets.defs.resources import AdnetData, PhoneDirectory
from adnet_assets.defs.settings import MethodSettings
from adnet_assets.layout import default_data_dir


def _phone_directory() -> PhoneDirectory:
    """The directory service from the environment; the key is read from the environment only when used."""
    url = os.environ.get("ADNET_DIRECTORY_URL")
    if not url:
        return PhoneDirectory()
    return PhoneDirectory(base_url=url)


def build_definitions(data_dir: str | None = None, executor: str | None = None) -> dg.Definitions:
    """The definitions for the data folder ``data_dir`` (default ``$ADNET_DATA_DIR``) with the executor
    ``executor`` names (default ``$ADNET_EXECUTOR``, else in_process)."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest_assets, evidence_assets, network_assets, travel_assets,
                                            billing_assets, export_assets, shared_export_assets, analyst_assets]),
        jobs=[adnet_job],
        sensors=[new_snapshot_sensor],
        schedules=[newest_window_schedule],
        resources={
            "adnet": AdnetData(data_dir=data_dir or str(default_data_dir())),
            "settings": MethodSettings(),
            "directory": _phone_directory(),
        },
        # By default steps run one after another inside the run's process: DuckDB takes one writer at
        # a time (the adnet_duckdb pool) and each step is set-based SQL that already uses every core
        # through DuckDB's own threads. ADNET_EXECUTOR=multiprocess (or k8s, celery, ...) runs each step
        # in a process (a pod) of its own: the pool still lets one step at a time hold the database.
        executor=executor_from_env(executor),
        loggers={"console": compact_console_logger},
    )


defs = build_definitions()


def adnet_job_for_cli() -> dg.JobDefinition:
    """The job, reconstructable by module path so that CLI runs are re-executable from the UI."""
    return defs.resolve_job_def(adnet_job.name)
