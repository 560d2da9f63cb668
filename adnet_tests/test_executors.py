"""Beyond one machine, as configuration (issue 9, point 4): the executor (``ADNET_EXECUTOR`` or the
run config's ``execution:``), the warehouse folder (``ADNET_WAREHOUSE_URL``), and an instance
``dagster.yaml`` that names storage or launchers from other packages.

The multiprocess run is the one end-to-end test here: the same tables as the in-process run, with
each step in a process of its own and the Parquet files in a second folder. The executors that
need a cluster (k8s, celery) cannot run here; their switch is checked up to the missing package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adnet_assets.definitions import build_definitions
from adnet_assets.defs.executors import EXECUTOR_ENV, executor_from_env
from adnet_assets.instance import InstanceConfigError, use_investigation
from adnet_assets.layout import WAREHOUSE_ENV, DataLayout, WarehouseLocationError, warehouse_root
from adnet_tests.conftest import ad, write_snapshot

SITES = ("eskorte-annonser.example", "kontakt.example")
WINDOWS = ("2026-06-01", "2026-06-04")

# The first steps of the project's job (the partitioned Parquet ingest; the DuckDB tables loaded
# from the Parquet files; the phone strings parsed from them) for both windows in one run, through
# the investigation's own instance (the multiprocess executor needs a persistent one) and the job
# as the CLI reconstructs it: each step process loads the definitions again from the environment,
# as a Kubernetes pod or a Celery worker would. (Three steps, with their checks: each step process costs a
# Python start-up, and the rest of the job is more of the same kind: SQL on the one database.)
RUN = textwrap.dedent("""
    import sys
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from adnet_assets.instance import use_investigation
    from adnet_assets.layout import DataLayout

    layout = DataLayout.at(sys.argv[1])
    use_investigation(layout)
    from adnet_assets import definitions

    steps = {"raw_snapshots", "snapshots", "ad_observations", "quarantine", "phone_strings"}
    keys = {k for a in definitions.defs.assets for k in a.keys if k.to_user_string() in steps}
    job = dg.reconstructable(definitions.adnet_job_for_cli).get_subset(asset_selection=keys)
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            job, instance=instance,
            tags={ASSET_PARTITION_RANGE_START_TAG: sys.argv[2], ASSET_PARTITION_RANGE_END_TAG: sys.argv[3]},
            run_config={"resources": {"adnet": {"config": {"data_dir": str(layout.root)}}}}, raise_on_error=False)
        pids = {e.dagster_event.pid for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)}
        print("STEP_PIDS", len(pids), "EXECUTOR", definitions.adnet_job_for_cli().executor_def.name, flush=True)
    sys.exit(0 if result.success else 1)
""")


def _market(root: Path) -> None:
    for w, window in enumerate(WINDOWS):
        for s, site in enumerate(SITES):
            lines = [ad(f"{site[:2]}{i}", f"{window}T06:{20 + i:02d}:00Z",
                        [f"+47 41{i % 5}{w}{s} {1000 + i:04d}", f"98{i % 3}0{2000 + i:04d}"], country="NO",
                        city=("Oslo", "Bergen")[i % 2]) for i in range(10 + w + s)]
            write_snapshot(root, site, f"{window}T06{10 + 5 * s:02d}Z", lines + ["{broken"])


def _start(root: Path, **env_extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", EXECUTOR_ENV, WAREHOUSE_ENV)}
    env.update(env_extra)
    return subprocess.Popen([sys.executable, "-c", RUN, str(root), WINDOWS[0], WINDOWS[-1]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, (out + err)[-4000:]
    return out


def _tables(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main' AND table_name <> '_window_files'").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


def test_multiprocess_run_with_the_warehouse_elsewhere_gives_the_in_process_tables(tmp_path):
    one, many = DataLayout.at(tmp_path / "in_process"), DataLayout.at(tmp_path / "multiprocess")
    _market(one.root)
    _market(many.root)
    elsewhere = tmp_path / "shared-volume" / "warehouse"

    # two investigations, two instances: the runs may go at the same time
    in_process = _start(one.root)
    multiprocess = _start(many.root, **{EXECUTOR_ENV: "multiprocess", WAREHOUSE_ENV: elsewhere.as_uri()})
    out = _finish(in_process)
    assert "STEP_PIDS 1 " in out and "EXECUTOR adnet_executor" in out
    out = _finish(multiprocess)
    assert "STEP_PIDS 3 " in out, out  # a process per step

    # the per-window Parquet files went to the second folder, none into the data folder
    assert sorted(p.relative_to(elsewhere).as_posix() for p in elsewhere.rglob("*.parquet")) == sorted(
        f"{kind}/window={w}.parquet" for kind in ("observations", "quarantine", "snapshots") for w in WINDOWS)
    assert not (many.root / "warehouse").exists()
    assert (one.root / "warehouse" / "observations").is_dir()

    got, want = _tables(many.database), _tables(one.database)
    assert sorted(want) == ["ad_observations", "phone_strings", "quarantine", "snapshots"]
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name
    assert len(want["ad_observations"]) == sum(10 + w + s for w in range(len(WINDOWS)) for s in range(len(SITES)))


def test_the_executor_is_configuration(monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    job = build_definitions("/nonexistent/data").resolve_job_def("adnet_job")
    assert job.executor_def.name == "adnet_executor"
    # default: in process; Dagster's own run config switches a run to processes (or back)
    def mode(run_config: dict) -> dict:
        return dg.validate_run_config(job, run_config)["execution"]["adnet_executor"]

    assert list(mode({})) == ["in_process"]
    assert mode({"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}})["multiprocess"]["max_concurrent"] == 2

    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    job = build_definitions("/nonexistent/data").resolve_job_def("adnet_job")
    assert list(mode({})) == ["multiprocess"]
    assert list(mode({"execution": {"config": {"in_process": {}}}})) == ["in_process"]

    with pytest.raises(ValueError, match=r"ADNET_EXECUTOR='threads' is not an executor.*in_process, multiprocess, k8s"):
        executor_from_env("threads")
    try:
        import dagster_k8s  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"ADNET_EXECUTOR=k8s needs the dagster-k8s package.*pip install dagster-k8s"):
            executor_from_env("k8s")


def test_warehouse_location_is_configuration(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.delenv(WAREHOUSE_ENV, raising=False)
    assert DataLayout.at(root).warehouse == root / "warehouse"
    monkeypatch.setenv(WAREHOUSE_ENV, (tmp_path / "vol" / "wh").as_uri())
    layout = DataLayout.at(root)
    assert layout.warehouse == tmp_path / "vol" / "wh"
    assert layout.window_file("observations", "2026-06-01") == tmp_path / "vol/wh/observations/window=2026-06-01.parquet"
    assert warehouse_root(root, "parquet") == root / "parquet"  # relative: inside the data folder
    assert warehouse_root(root, str(tmp_path / "abs")) == tmp_path / "abs"
    with pytest.raises(WarehouseLocationError, match=r"s3://bucket/adnet.*mount the bucket"):
        warehouse_root(root, "s3://bucket/adnet")
    with pytest.raises(WarehouseLocationError, match="file:///path"):
        warehouse_root(root, "file://otherhost/wh")


def test_an_instance_on_postgres_is_kept_and_its_missing_package_named(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    layout = DataLayout.at(tmp_path / "data")
    home = use_investigation(layout)
    default = (home / "dagster.yaml").read_text()
    assert "adnet_duckdb" in default and (home / "history").is_dir()  # adnet's default, with its SQLite storage

    config = home / "dagster.yaml"
    deployment = textwrap.dedent("""\
        # a deployment's own instance: runs and events on PostgreSQL, each run in a Kubernetes pod
        storage:
          postgres:
            postgres_db:
              hostname: {env: DAGSTER_PG_HOST}
              username: {env: DAGSTER_PG_USERNAME}
              password: {env: DAGSTER_PG_PASSWORD}
              db_name: dagster
        run_launcher:
          module: dagster_k8s
          class: K8sRunLauncher
        concurrency:
          pools:
            default_limit: 1
    """)
    config.write_text(deployment)
    try:
        import dagster_postgres  # noqa: F401
    except ImportError:
        with pytest.raises(InstanceConfigError, match=rf"dagster.yaml, line 3: dagster_postgres is not installed here: "
                                                      r"pip install dagster-postgres.*1 more"):
            use_investigation(layout)
    assert config.read_text() == deployment  # never overwritten

    # what is installed passes, and adnet leaves the file as it is
    config.write_text("run_launcher:\n  module: dagster._core.launcher\n  class: DefaultRunLauncher\n")
    use_investigation(layout)
    assert config.read_text().startswith("run_launcher:")
