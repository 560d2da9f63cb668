"""The Dagster instance of an investigation, kept under ``<data>/.dagster`` so runs, sensor
cursors and schedules survive restarts and travel with the data folder."""

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


def ensure_dagster_home(layout: DataLayout) -> Path:
    home = layout.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
        _create_storage(home)
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
