"""Shared test helpers: hand-made snapshot folders in the contract's form."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adnet_assets.layout import DataLayout


def ad(ad_id: str, seen_at: str, phones: list[str], **fields) -> dict:
    return {"ad_id": ad_id, "seen_at": seen_at, "phones": phones, **fields}


def write_snapshot(root: Path, site: str, snapshot_id: str, lines: list, *, manifest: bool = True,
                   manifest_bytes_delta: int = 0, manifest_sha: str | None = None, prefix: bytes = b"") -> Path:
    """Write snapshots/<site>/<snapshot_id>/ads.jsonl (dicts as JSON, str/bytes verbatim) and its manifest."""
    folder = root / "snapshots" / site / snapshot_id
    folder.mkdir(parents=True, exist_ok=True)
    encoded = []
    for line in lines:
        if isinstance(line, bytes):
            encoded.append(line)
        elif isinstance(line, str):
            encoded.append(line.encode("utf-8"))
        else:
            encoded.append(json.dumps(line, ensure_ascii=False).encode("utf-8"))
    data = prefix + b"\n".join(encoded) + b"\n"
    (folder / "ads.jsonl").write_bytes(data)
    if manifest:
        day = f"{snapshot_id[:10]}T{snapshot_id[11:13]}:{snapshot_id[13:15]}:00Z"
        (folder / "manifest.json").write_text(json.dumps({
            "site": site, "snapshot_id": snapshot_id, "started_at": day, "finished_at": day, "ads": len(lines),
            "files": {"ads.jsonl": {"sha256": manifest_sha or hashlib.sha256(data).hexdigest(),
                                    "bytes": len(data) + manifest_bytes_delta}}}))
    return folder


def record_atomic_files(monkeypatch, module) -> list[Path]:
    """Every file ``module`` writes through ``store.atomic_file`` from now on, in order (resolved paths,
    each added once its write succeeded): what a writer wrote, or that it wrote nothing."""
    from adnet_assets.lib import store

    real, written = store.atomic_file, []

    @contextlib.contextmanager
    def recording(target, suffix: str = ".tmp"):
        with real(target, suffix) as tmp:
            yield tmp
        written.append(Path(target).resolve())

    monkeypatch.setattr(module, "atomic_file", recording)
    return written


class CountingConnection:
    """A connection that counts its queries (to show they do not grow with the number of networks)."""

    def __init__(self, con):
        self._con, self.queries = con, 0

    def execute(self, sql, params=None):
        self.queries += 1
        return self._con.execute(sql, params or [])


@pytest.fixture
def layout(tmp_path) -> DataLayout:
    return DataLayout.at(tmp_path / "data")


@pytest.fixture(scope="session")
def demo_market(tmp_path_factory):
    """The default demo market (seed 7, scale 1) generated and ingested once per test session.

    Returns the DataLayout; open ``layout.database`` read-only, or copy it to write.
    """
    from adnet_assets.demo.generator import generate_market
    from adnet_assets.lib.ingest import ingest_all

    root = tmp_path_factory.mktemp("demo") / "data"
    generate_market(root, seed=7, scale=1.0)
    layout = DataLayout.at(root)
    ingest_all(layout)
    return layout


def run_adnet(*args, env_extra=None) -> subprocess.CompletedProcess:
    """``python -m adnet_assets.cli <args>`` in a fresh process, as a user runs it (no DAGSTER_HOME)."""
    env = {**os.environ, **(env_extra or {})}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "adnet_assets.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="session")
def small_market(tmp_path_factory):
    """A small generated market (seed 11, scale 0.05) after one ``adnet run``, once per session.

    Returns ``(root, market, done)``: the data folder, the generator's counts, the finished process.
    Tests that write to it (``test_cli`` runs ``adnet run`` again) must leave the same database."""
    from adnet_assets.demo.generator import generate_market

    root = tmp_path_factory.mktemp("market") / "data"
    market = generate_market(root, seed=11, scale=0.05)
    done = run_adnet("run", "--data-dir", str(root))
    return root, market, done


def materialize_window(layout: DataLayout, partition_key: str, *, last: str | None = None,
                       skip_groups: tuple[str, ...] = ("exports", "billing", "analysts"), **resources):
    """Materialise every asset (with its checks) for one window with the project's own resources,
    pointed at ``layout``; ``resources`` replaces any of them (e.g. ``directory=``). With ``last``,
    every window from ``partition_key`` to ``last`` in one run (the single-run backfill ``adnet run`` makes).

    The export files, billing and red flags, and the analysts' copy are skipped by default
    (``skip_groups``): they have their own tests and run in ``adnet run`` (test_cli), and redoing them
    per window would double these tests' time without testing anything new."""
    import dagster as dg

    from adnet_assets.definitions import build_definitions

    defs = build_definitions(str(layout.root))
    assets = [a for a in defs.assets if not set(a.group_names_by_key.values()) & set(skip_groups)]
    with dg.instance_for_test() as instance:
        window = ({"tags": {"dagster/asset_partition_range_start": partition_key,
                            "dagster/asset_partition_range_end": last}} if last else {"partition_key": partition_key})
        result = dg.materialize(assets, instance=instance, resources={**defs.resources, **resources}, **window)
    assert result.success
    return result
