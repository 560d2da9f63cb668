"""Where a run's steps execute: chosen by configuration (``$ADNET_EXECUTOR`` or the run config), never by code.

The assets are the same on a laptop and on a cluster; ``README.md`` (*Beyond one machine*) shows the
instance configuration that goes with each executor.
"""

import os

import dagster as dg

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
