"""Several runs at once (a UI backfill that launches a run per window) against one DuckDB file."""

import subprocess
import sys
import textwrap

import duckdb

from adnet_tests.conftest import ad, write_snapshot

SITE = "eskorte-annonser.example"

RUN_ONE_WINDOW = textwrap.dedent("""
    import sys, dagster as dg
    from adnet_assets.definitions import build_definitions
    defs = build_definitions(sys.argv[1])
    job = defs.resolve_job_def("adnet_job")
    # The ingest steps: the partitioned Parquet writes and the DuckDB tables every window's run
    # rewrites. (Downstream steps take the same pool and lock path; their content has its own tests.)
    ingest = [k for a in defs.assets if "ingest" in a.group_names_by_key.values() for k in a.keys]
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(partition_key=sys.argv[2], instance=instance, raise_on_error=False,
                                        asset_selection=ingest)
    sys.exit(0 if result.success else 1)
""")


def test_runs_for_different_windows_at_once_all_succeed(layout):
    windows = ["2026-06-01", "2026-06-04", "2026-06-08", "2026-06-11"]
    for i, window in enumerate(windows):
        write_snapshot(layout.root, SITE, f"{window}T0614Z",
                       [ad(str(n), f"{window}T06:20:00Z", [f"4123{i}{n:03d}"]) for n in range(200)])
    procs = [subprocess.Popen([sys.executable, "-c", RUN_ONE_WINDOW, str(layout.root), w],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for w in windows]
    outputs = [p.communicate(timeout=300)[0].decode(errors="replace") for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    con = duckdb.connect(str(layout.database), read_only=True)
    # every window's rows arrived exactly once, whatever order the runs finished in
    assert con.execute('SELECT "window", count(*) FROM ad_observations GROUP BY ALL ORDER BY 1').fetchall() == [
        (w, 200) for w in windows]
    assert con.execute("SELECT count(*) FROM phones").fetchone()[0] == 800
    con.close()
