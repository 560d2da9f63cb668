"""The Dagster instance of an investigation, kept under ``<data>/.dagster`` so runs, sensor
cursors and schedules survive restarts and travel with the data folder.

adnet writes ``<data>/.dagster/dagster.yaml`` only when there is none: a deployment replaces it
with its own (storage on PostgreSQL, a Kubernetes or Celery run launcher, ...; README, "Beyond one
machine"), and adnet then creates no SQLite files. What that file names must be installed: a
module it names that is missing (``dagster_postgres`` for ``storage: postgres:``) is reported with
the file, the line and the package to install, before any run starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from adnet_assets.defs.resources import DUCKDB_POOL
from adnet_assets.layout import DATA_DIR_ENV, DataLayout

# Pools: steps that open adnet.duckdb run one at a time across all runs (DuckDB has one writer).
# Runs: a UI backfill or a burst of sensor requests queues instead of piling up; the partitioned
# ingest writes per-window Parquet files and needs no lock, so several runs may overlap there.
DAGSTER_YAML = f"""\
# Written by adnet; edit freely, adnet does not overwrite an existing file.
concurrency:
  pools:
    default_limit: 1   # the '{DUCKDB_POOL}' pool: one step at a time holds the DuckDB file
  runs:
    max_concurrent_runs: 4
run_monitoring:
  enabled: true
telemetry:
  enabled: false
nux:
  enabled: false   # no "join the community" e-mail prompt over the UI
"""


class InstanceConfigError(RuntimeError):
    """The instance's dagster.yaml names something this machine cannot load."""


# `storage:` shorthands and the package each needs (the long form names its `module:` itself).
_STORAGE_MODULES = {"postgres": "dagster_postgres", "mysql": "dagster_mysql"}


def missing_modules(config: Path) -> list[tuple[int, str]]:
    """(line, module) for every module ``config`` (a dagster.yaml) names that cannot be imported here:
    each ``module:`` value (run launchers, storages, compute logs, ...) and the ``storage:`` shorthands."""
    import importlib.util

    import yaml

    try:
        root = yaml.compose(config.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InstanceConfigError(f"{config}: not valid YAML ({str(exc)[:300]}): fix the file, or move it away "
                                  f"and adnet writes its default") from exc
    found: list[tuple[int, str]] = []

    def walk(node, parent_key: str | None) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name == "module" and isinstance(value, yaml.ScalarNode) and value.value:
                    found.append((value.start_mark.line + 1, value.value))
                elif parent_key == "storage" and name in _STORAGE_MODULES:
                    found.append((key.start_mark.line + 1, _STORAGE_MODULES[name]))
                walk(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, parent_key)

    walk(root, None)
    missing = []
    for line, module in found:
        try:
            present = importlib.util.find_spec(module.split(".")[0]) is not None
        except (ImportError, ValueError):
            present = False
        if not present:
            missing.append((line, module))
    return missing


def check_instance_config(config: Path) -> None:
    """Fail in words (file, line, fix) when ``config`` names a module that is not installed."""
    missing = missing_modules(config)
    if missing:
        line, module = missing[0]
        from importlib.metadata import version

        package = module.split(".")[0].replace("_", "-")
        raise InstanceConfigError(
            f"{config}, line {line}: {module} is not installed here: pip install {package} (its release made with "
            f"dagster {version('dagster')}), or change that setting"
            + (f" ({len(missing) - 1} more such line(s))" if len(missing) > 1 else ""))


def ensure_dagster_home(layout: DataLayout) -> Path:
    """``<data>/.dagster`` with a dagster.yaml: adnet's default (and its SQLite storage) when there is
    none, else the one there, checked (:func:`check_instance_config`) and never changed."""
    home = layout.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
        _create_storage(home)
    else:
        check_instance_config(config)
    return home


def _create_storage(home: Path) -> None:
    """Create the new instance's SQLite databases now, from one process. Otherwise processes started
    together on a new data folder (`adnet run` beside a UI) each create them on first use, and one of
    them fails ("Version table 'alembic_version' has more than one head present")."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))):
        pass


def use_investigation(layout: DataLayout) -> Path:
    """Point this process (and the Dagster processes it starts) at the investigation's folder."""
    home = ensure_dagster_home(layout)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ[DATA_DIR_ENV] = str(layout.root)
    return home
