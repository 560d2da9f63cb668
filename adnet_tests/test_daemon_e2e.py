"""End to end, as a user runs it: `adnet ui` (UI + daemon) on a new data folder, the snapshot sensor
turned on through the UI's GraphQL API, a restart, a crawl dropped into snapshots/, and the run the
sensor launches loading it into adnet.duckdb.

Takes about a minute: two server starts (~20 s each), the sensor's interval between its first tick and
the one that sees the snapshot (10 s here through ADNET_SENSOR_INTERVAL_S; 60 s by default), and the
whole pipeline on five ads (~25 s).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import duckdb

from adnet_assets.lib.windows import window_of_snapshot
from adnet_tests.conftest import ad, write_snapshot
from adnet_tests.test_ui import DagsterServer, free_port, server_env

SENSOR = "new_snapshot_sensor"
SCHEDULE = "newest_window_schedule"
SITE = "eskorte-annonser.example"

AUTOMATION = """query ($location: String!, $repository: String!) {
  repositoryOrError(repositorySelector: {repositoryLocationName: $location, repositoryName: $repository}) {
    ... on Repository {
      sensors { name minIntervalSeconds sensorState { status } }
      schedules { name scheduleState { status } }
    }
  }
}"""

SENSOR_STATE = """query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { id status timestamp skipReason runIds error { message } } } }
    ... on PythonError { message }
  }
}"""

START_SENSOR = """mutation ($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}"""

RUN = """query ($id: ID!) {
  runOrError(runId: $id) { __typename ... on Run { runId status tags { key value } } }
}"""

SENSOR_RUNS = """query ($sensor: String!) {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: $sensor}]}) {
    ... on Runs { results { runId status } }
  }
}"""

RUN_LOGS = """query ($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection { events { __typename
      ... on MessageEvent { message stepKey level }
      ... on ExecutionStepFailureEvent { error { message stack cause { message stack } } } } }
  }
}"""


def _sensor_state(server: DagsterServer, selector: dict) -> dict:
    answer = server.graphql(SENSOR_STATE, {"selector": selector})["sensorOrError"]
    if answer["__typename"] != "Sensor":
        server.fail(f"sensor {selector}: {answer}")
    return answer["sensorState"]


def _wait_for_tick(server: DagsterServer, selector: dict, *, after: float, with_runs: bool, timeout: float) -> dict:
    """The first tick newer than ``after`` (with a run request when ``with_runs``); fails on a failed tick."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for tick in sorted(_sensor_state(server, selector)["ticks"], key=lambda t: t["timestamp"]):
            if tick["timestamp"] <= after or tick["status"] == "STARTED":  # not yet, or still evaluating
                continue
            if tick["status"] == "FAILURE":
                server.fail(f"the sensor's tick failed: {tick['error']}")
            if tick["runIds"] or not with_runs:
                return tick
        time.sleep(1)
    server.fail(f"no {'run-requesting ' if with_runs else ''}tick of {SENSOR} within {timeout:.0f} s: "
                f"{_sensor_state(server, selector)['ticks'][:3]}")


def _wait_for_run(server: DagsterServer, run_id: str, timeout: float) -> dict:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        run = server.graphql(RUN, {"id": run_id})["runOrError"]
        if run.get("status") == "SUCCESS":
            return run
        if run.get("status") in ("FAILURE", "CANCELED"):
            events = server.graphql(RUN_LOGS, {"id": run_id})["logsForRun"].get("events") or []
            errors = [e["error"] for e in events if e.get("error")]
            messages = [f"{e.get('stepKey') or ''} {e.get('level')}: {e.get('message')}" for e in events[-30:]]
            server.fail(f"the sensor's run {run_id} ended {run['status']}.\nstep errors: {errors}\n"
                        f"last events:\n" + "\n".join(messages))
        time.sleep(1)
    server.fail(f"the sensor's run {run_id} did not finish within {timeout:.0f} s")


def test_the_sensor_launches_a_run_that_loads_a_new_snapshot_and_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    cmd = [sys.executable, "-m", "adnet_assets.cli", "ui", "--data-dir", str(data), "--port", str(port)]
    took = {}

    # 1. First start: the UI, its code location, the automation (shipped stopped), the sensor turned on.
    started = time.monotonic()
    server = DagsterServer(cmd, env=server_env(ADNET_SENSOR_INTERVAL_S="10"), port=port, log=tmp_path / "ui-1.log")
    try:
        server.wait_until_serving()
        names = server.wait_for_code_location()
        took["first start"] = time.monotonic() - started
        selector = {"repositoryLocationName": names["location"], "repositoryName": names["repository"],
                    "sensorName": SENSOR}
        keys = {"/".join(n["assetKey"]["path"]) for n in server.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]}
        assert {"raw_snapshots", "ad_observations", "ads", "phones", "quarantine", "snapshots", "links", "networks"} <= keys
        repository = server.graphql(AUTOMATION, {"location": names["location"], "repository": names["repository"]})["repositoryOrError"]
        sensors = {s["name"]: s for s in repository["sensors"]}
        schedules = {s["name"]: s for s in repository["schedules"]}
        assert sensors[SENSOR]["sensorState"]["status"] == "STOPPED"  # nothing runs before the user says so
        assert schedules[SCHEDULE]["scheduleState"]["status"] == "STOPPED"
        interval = sensors[SENSOR]["minIntervalSeconds"]

        answer = server.graphql(START_SENSOR, {"selector": selector})["startSensor"]
        assert answer.get("sensorState", {}).get("status") == "RUNNING", answer
        # The daemon evaluates it at once: nothing to do yet.
        first = _wait_for_tick(server, selector, after=0, with_runs=False, timeout=60)
        assert first["status"] == "SKIPPED" and "no new complete snapshot" in first["skipReason"], first
        took["first tick"] = time.monotonic() - started
    finally:
        clean = server.stop()
    assert clean, f"adnet ui did not stop on SIGTERM within 30 s:\n{server.output()}"
    home = data / ".dagster"
    assert (home / "dagster.yaml").is_file() and (home / "schedules").is_dir()  # the instance lives with the data

    # 2. Restart: the sensor is still on (its state is in <data>/.dagster), and a crawl dropped now is loaded.
    started = time.monotonic()
    server = DagsterServer(cmd, env=server_env(ADNET_SENSOR_INTERVAL_S="10"), port=port, log=tmp_path / "ui-2.log")
    try:
        server.wait_until_serving()
        server.wait_for_code_location()
        took["restart"] = time.monotonic() - started
        state = _sensor_state(server, selector)
        assert state["status"] == "RUNNING", state
        assert first["id"] in {t["id"] for t in state["ticks"]}  # its history survived too

        moment = datetime.now(timezone.utc) - timedelta(hours=2)
        snapshot_id = moment.strftime("%Y-%m-%dT%H%MZ")
        seen_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        ad_ids = [f"910{i:03d}" for i in range(5)]
        write_snapshot(data, SITE, snapshot_id, [
            ad(ad_id, seen_at, [f"+47 412 30 {i:03d}"], title=f"Ny i byen {i}", city="Oslo", country="NO")
            for i, ad_id in enumerate(ad_ids)])
        dropped = time.monotonic()

        tick = _wait_for_tick(server, selector, after=first["timestamp"], with_runs=True, timeout=interval + 60)
        took["snapshot to run request"] = time.monotonic() - dropped
        assert len(tick["runIds"]) == 1, tick
        run = _wait_for_run(server, tick["runIds"][0], timeout=240)
        took["run"] = time.monotonic() - dropped - took["snapshot to run request"]
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/sensor_name"] == SENSOR
        assert tags["dagster/partition"] == window_of_snapshot(snapshot_id)
        listed = server.graphql(SENSOR_RUNS, {"sensor": SENSOR})["runsOrError"]["results"]
        assert [r["runId"] for r in listed] == [run["runId"]]  # one run, for the one snapshot
    finally:
        clean = server.stop()
    assert clean, f"adnet ui did not stop on SIGTERM within 30 s:\n{server.output()}"

    with duckdb.connect(str(data / "adnet.duckdb"), read_only=True) as db:
        rows = db.execute("SELECT ad_id, \"window\", phones_raw FROM ad_observations WHERE site = ? AND snapshot_id = ? "
                          "ORDER BY ad_id", [SITE, snapshot_id]).fetchall()
    assert [r[0] for r in rows] == ad_ids
    assert {r[1] for r in rows} == {window_of_snapshot(snapshot_id)}
    print("timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in took.items()))
