"""`adnet ui`: what it starts, and the helpers the UI tests share.

The server tests are `test_daemon_e2e.py` (`adnet ui` as a user starts it: UI, daemon, sensor, a
run, a restart) and `test_browser.py` (the webserver's GraphQL API and pages in headless Chromium).
The tests here check the command `adnet ui` hands over to, without starting it (no server, < 1 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from adnet_assets import cli, instance
from adnet_assets.layout import DATA_DIR_ENV

# ---------------------------------------------------------------------------------------------
# Shared by test_daemon_e2e.py and test_browser.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sigint_default() -> None:  # in the child, before exec: see cmd_ui on why SIGINT matters
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class DagsterServer:
    """A Dagster UI (``adnet ui``, ``dagster dev`` or ``dagster-webserver``) in its own process group,
    its output in a log file (a pipe nobody reads would fill up and stall the server)."""

    def __init__(self, cmd: list[str], *, env: dict[str, str], port: int, log: Path, cwd: str | None = None):
        self.port = port
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_sigint_default)

    def output(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def fail(self, message: str):
        pytest.fail(f"{message}\n--- last output of the server ({self.log}) ---\n{self.output()}")

    def wait_until_serving(self, timeout: float = 120) -> float:
        """Seconds until /server_info answers."""
        started = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=5):
                    return time.monotonic() - started
            except OSError:
                if self.proc.poll() is not None:
                    self.fail(f"the server exited with {self.proc.returncode} before serving on port {self.port}")
                if time.monotonic() - started > timeout:
                    self.fail(f"nothing served on port {self.port} after {timeout:.0f} s")
                time.sleep(0.25)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:  # a malformed query: the reason is in the body
            self.fail(f"GraphQL answered {error.code}: {error.read().decode(errors='replace')[:2000]}\nquery: {query}")
        if answer.get("errors"):
            self.fail(f"GraphQL errors: {answer['errors']}\nquery: {query}")
        return answer["data"]

    def wait_for_code_location(self, timeout: float = 120) -> dict:
        """The loaded code location: {'location': name, 'repository': name}. Fails on a load error."""
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
                     locationOrLoadError { __typename ... on RepositoryLocation { name repositories { name } }
                                           ... on PythonError { message stack } } } } } }"""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            workspace = self.graphql(query)["workspaceOrError"]
            for entry in workspace.get("locationEntries") or []:
                loaded = entry.get("locationOrLoadError") or {}
                if loaded.get("__typename") == "PythonError":
                    self.fail(f"the code location {entry['name']} failed to load: {loaded['message']}\n"
                              + "".join(loaded.get("stack") or []))
                if entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation":
                    return {"location": loaded["name"], "repository": loaded["repositories"][0]["name"]}
            time.sleep(0.5)
        self.fail(f"the code location did not load within {timeout:.0f} s")

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM to the group (as Ctrl-C reaches a terminal's foreground group), then SIGKILL for
        anything left. True when the server had exited on SIGTERM alone."""
        clean = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                clean = False
        with contextlib.suppress(ProcessLookupError, PermissionError):  # stragglers: code server, run workers
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait()
        self._log_file.close()
        return clean


def server_env(**extra: str) -> dict[str, str]:
    """This environment without Dagster's or adnet's settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", DATA_DIR_ENV)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# adnet ui, without starting it


@pytest.fixture
def handover(tmp_path, monkeypatch):
    """Runs ``cmd_ui`` up to the exec; returns (argv, environment, cwd, SIGINT disposition) at exec."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # cmd_ui changes directory: monkeypatch restores it
    previous = signal.getsignal(signal.SIGINT)
    seen = {}

    def fake_execv(path, argv):
        seen.update(path=path, argv=argv, env=dict(os.environ), cwd=os.getcwd(), sigint=signal.getsignal(signal.SIGINT))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", fake_execv)

    def run(*argv: str):
        seen.clear()
        try:
            with pytest.raises(SystemExit) as exit_info:
                cli.main(["ui", *argv])
        finally:
            signal.signal(signal.SIGINT, previous)
            os.environ.pop("DAGSTER_HOME", None)  # set by cmd_ui, for the process it becomes
            os.environ.pop(DATA_DIR_ENV, None)
        return exit_info.value, seen

    return run


def test_adnet_ui_hands_over_to_dagster_dev_on_loopback_with_the_investigations_home(handover, tmp_path):
    data = tmp_path / "data"
    exit_info, seen = handover("--data-dir", str(data), "--port", "3456")
    assert exit_info.code == 0, exit_info
    workspace = Path(cli.__file__).resolve().parent.parent / "workspace.yaml"
    assert seen["argv"][1:] == ["dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", "3456"]
    assert Path(seen["path"]).name == "dagster"
    # the instance lives with the data: runs, sensor cursors and schedule state persist with it
    assert seen["env"]["DAGSTER_HOME"] == str(data.resolve() / ".dagster")
    assert seen["env"][DATA_DIR_ENV] == str(data.resolve())
    config = (data / ".dagster" / "dagster.yaml").read_text()
    assert "max_concurrent_runs" in config and "telemetry:\n  enabled: false" in config
    assert "nux:\n  enabled: false" in config
    # its SQLite storage is created with it, so a run and a UI started together do not race to create it
    assert (data / ".dagster" / "history" / "runs.db").is_file() and (data / ".dagster" / "schedules" / "schedules.db").is_file()
    assert seen["cwd"] == str(workspace.parent)
    assert seen["sigint"] == signal.SIG_DFL  # so that SIGTERM stops it even when started in the background


def test_adnet_ui_refuses_a_dotenv_that_would_send_dagster_elsewhere(handover, tmp_path, monkeypatch):
    """`dagster dev` loads .env from its working directory over the environment."""
    monkeypatch.setattr(instance, "_create_storage", lambda home: None)  # 2 s a new home, not tested here
    project = tmp_path / "project"
    project.mkdir()
    (project / "workspace.yaml").write_text("load_from:\n  - python_module:\n      module_name: adnet_assets.definitions\n")
    monkeypatch.setattr(cli, "_workspace_file", lambda home: project / "workspace.yaml")
    data = tmp_path / "data"

    (project / ".env").write_text(f"DAGSTER_HOME={tmp_path / 'other' / '.dagster'}\nADNET_DIRECTORY_API_KEY=secret\n")
    exit_info, seen = handover("--data-dir", str(data))
    assert "DAGSTER_HOME" in str(exit_info.code) and ".env" in str(exit_info.code) and not seen

    (project / ".env").write_text(f"ADNET_DATA_DIR={tmp_path / 'other'}\n")
    exit_info, seen = handover("--data-dir", str(data))
    assert DATA_DIR_ENV in str(exit_info.code) and not seen

    # the same folders, or other settings (the directory key), are fine
    (project / ".env").write_text(f"DAGSTER_HOME={data / '.dagster'}\nADNET_DATA_DIR={data}\nADNET_DIRECTORY_API_KEY=secret\n")
    exit_info, seen = handover("--data-dir", str(data))
    assert exit_info.code == 0 and seen["argv"][1:3] == ["dev", "-w"]


def test_adnet_ui_warns_when_served_beyond_loopback(handover, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(instance, "_create_storage", lambda home: None)
    exit_info, seen = handover("--data-dir", str(tmp_path / "data"), "--host", "0.0.0.0")
    assert exit_info.code == 0 and seen["argv"][seen["argv"].index("-h") + 1] == "0.0.0.0"
    assert "no login" in capsys.readouterr().err
