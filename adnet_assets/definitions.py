"""adnet's Dagster definitions: the one entry point (``workspace.yaml``, ``dagster dev``, ``dg dev``, ``adnet``).

Nothing here opens the database or reads the data folder: loading definitions is cheap and safe
for the webserver and the daemon. The data folder comes from ``$ADNET_DATA_DIR`` (default ./data).
"""

import dagster as dg

import os

from adnet_assets.defs.analysts import assets as analyst_assets
from adnet_assets.defs.analysts import checks as analyst_checks
from adnet_assets.defs.billing import assets as billing_assets
from adnet_assets.defs.billing import checks as billing_checks
from adnet_assets.defs.evidence import assets as evidence_assets
from adnet_assets.defs.evidence import checks as evidence_checks
from adnet_assets.defs.exports import assets as export_assets
from adnet_assets.defs.exports import checks as export_checks
from adnet_assets.defs.exports import shared as shared_export_assets
from adnet_assets.defs.ingest import assets as ingest_assets
from adnet_assets.defs.ingest import checks as ingest_checks
from adnet_assets.defs.ingest.schedules import newest_window_schedule
from adnet_assets.defs.networks import assets as network_assets
from adnet_assets.defs.networks import checks as network_checks
from adnet_assets.defs.networks import travel as travel_assets
from adnet_assets.defs.ingest.sensors import new_snapshot_sensor
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


EXECUTOR_ENV = "ADNET_EXECUTOR"
# ADNET_EXECUTOR: where a run's steps execute. in_process and multiprocess are Dagster's own and can
# also be chosen per run in the run config (`execution: config: multiprocess: {max_concurrent: 2}`);
# the others hand each step to a cluster and need their package installed beside adnet.
EXECUTORS = {
    "in_process": (None, None),
    "multiprocess": (None, None),
    "k8s": ("dagster_k8s", "k8s_job_executor"),                        # a Kubernetes job per step
    "celery": ("dagster_celery", "celery_executor"),                   # Celery workers
    "celery_k8s": ("dagster_celery_k8s", "celery_k8s_job_executor"),   # Celery queues, a k8s job per step
    "docker": ("dagster_docker", "docker_executor"),                   # a container per step
}


def _in_process_or_multiprocess(default: str) -> dg.ExecutorDefinition:
    """Dagster's ``multi_or_in_process_executor`` (the same run config: ``in_process`` or ``multiprocess``
    with ``max_concurrent``), defaulting to ``default`` instead of always to multiprocess."""
    from dagster._core.definitions.executor_definition import IN_PROC_CONFIG, MULTI_PROC_CONFIG

    def requirements(config):
        return dg.multiple_process_executor_requirements() if "multiprocess" in config else []

    return dg.ExecutorDefinition(
        name="adnet_executor",
        config_schema=dg.Field(dg.Selector({"multiprocess": MULTI_PROC_CONFIG, "in_process": IN_PROC_CONFIG}),
                               default_value={default: {}}),
        requirements=requirements,
        executor_creation_fn=dg.multi_or_in_process_executor.executor_creation_fn,
        description=f"Steps {'in the run process' if default == 'in_process' else 'in a process each'} "
                    f"(${EXECUTOR_ENV}); the run config's execution: config: in_process / multiprocess changes it per run.",
    )


def executor_from_env(choice: str | None = None) -> dg.ExecutorDefinition:
    """The executor ``$ADNET_EXECUTOR`` (or ``choice``) names; default in_process.

    Steps holding the database take the ``adnet_duckdb`` pool whatever the executor (one at a time,
    ``dagster.yaml``); the partitioned ingest writes Parquet only and may run beside them."""
    name = (choice if choice is not None else os.environ.get(EXECUTOR_ENV, "")).strip().lower() or "in_process"
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r} is not an executor adnet knows: set it to one of "
                         f"{', '.join(EXECUTORS)}, or unset it (in_process)")
    module, attribute = EXECUTORS[name]
    if module is None:
        return _in_process_or_multiprocess(name)
    import importlib

    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise ValueError(f"{EXECUTOR_ENV}={name} needs the {module.replace('_', '-')} package, which is not "
                         f"installed ({exc}): pip install {module.replace('_', '-')}, or unset {EXECUTOR_ENV}") from exc


def build_definitions(data_dir: str | None = None, executor: str | None = None) -> dg.Definitions:
    """The definitions for the data folder ``data_dir`` (default ``$ADNET_DATA_DIR``) with the executor
    ``executor`` names (default ``$ADNET_EXECUTOR``, else in_process)."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest_assets, evidence_assets, network_assets, travel_assets,
                                            billing_assets, export_assets, shared_export_assets, analyst_assets]),
        asset_checks=dg.load_asset_checks_from_modules([ingest_checks, evidence_checks, network_checks, billing_checks,
                                                        export_checks, analyst_checks]),
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
