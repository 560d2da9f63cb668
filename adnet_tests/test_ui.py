"""`adnet ui` serves the Dagster UI on 127.0.0.1 from workspace.yaml, with the instance in the data folder."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_adnet_ui_serves_the_asset_graph_on_loopback(tmp_path):
    port = _free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    proc = subprocess.Popen([sys.executable, "-m", "adnet_assets.cli", "ui", "--data-dir", str(data), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                    pytest.fail(f"the UI did not come up on port {port}: {out[-3000:]}")
                time.sleep(1)
        keys = set()
        while time.monotonic() < deadline:  # the code location loads in the background
            nodes = _graphql(port, "{ assetNodes { assetKey { path } } }").get("data", {}).get("assetNodes") or []
            keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
            if keys:
                break
            time.sleep(1)
        assert {"raw_snapshots", "ad_observations", "ads", "phones", "quarantine", "snapshots"} <= keys
        assert (data / ".dagster" / "dagster.yaml").is_file()  # the instance lives with the data
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
