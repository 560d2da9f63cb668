"""The performance benchmark's plumbing on tiny markets (the benchmark itself is a command, not a
test: no time or memory is asserted here, only that what it measures and prints is well formed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adnet_assets.bench import performance as perf


def test_sizes_and_targets():
    assert perf.parse_size("1M") is perf.SIZES["1m"]
    custom = perf.parse_size("0.5x13")
    assert (custom.scale, custom.weeks, custom.max_total_s) == (0.5, 13, None)
    with pytest.raises(Exception):
        perf.parse_size("huge")
    ten = perf.Result(perf.SIZES["10m"], Path("."), True, scan_s=10.0, total_s=95.0, peak_mib=9000)
    assert ten.ratio == 9.5
    assert [ok for _, ok in ten.verdicts()] == [True, True, False]  # 95 s < 15 min, 9.5x <= 10x, 9000 MiB >= 8 GiB
    assert perf.Result(perf.SIZES["21k"], Path("."), False).verdicts() == [("the run succeeds", False)]


def test_generation_floor_and_peak_memory_of_a_tiny_market(tmp_path):
    size = perf.Size("tiny", scale=0.02, weeks=2)
    root = tmp_path / "market"
    market, seconds, peak = perf.generate(size, root, seed=7)
    assert market["observations"] > 0 and market["ads"] > 0 and seconds > 0 and peak > 0
    snapshots, directory, billing = perf.input_files(root)
    assert snapshots and directory
    scan_s, text_s, lines = perf.raw_scan(root, repeats=1)
    assert scan_s > 0 and text_s > 0
    assert lines >= market["observations"]  # every valid line, and the readable bad ones
    code, took, rss = perf.run_measured([sys.executable, "-c", "x = bytearray(64 * 1024 * 1024)"], tmp_path / "m.log")
    assert code == 0 and took > 0 and rss >= 64  # the child's own peak, in MiB


def test_result_rows_of_a_finished_run(small_market):
    """The session's small market after one ``adnet run`` (shared with test_cli: no run of our own)."""
    root, market, done = small_market
    assert done.returncode == 0, done.stderr[-2000:]
    scan_s, text_s, lines = perf.raw_scan(root, repeats=1)
    result = perf.collect(perf.Size("small", 0.05, 13), root, success=True, total_s=12.5, peak_mib=400.0,
                          scan_s=scan_s, text_scan_s=text_s, scan_lines=lines, echo=lambda _m: None)
    assert result.observations == market.n_observations and result.ads > 0 and result.phones > 0
    assert result.run_id and result.run_s > 0
    keys = [s.key for s in result.steps]
    assert {"raw_snapshots", "network_tables", "excel_workbook"} <= set(keys)
    assert all(s.seconds >= 0 for s in result.steps)
    assert [s.seconds for s in result.steps] == sorted((s.seconds for s in result.steps), reverse=True)
    assert result.ratio == pytest.approx(12.5 / scan_s)

    table = perf.format_table([result])
    assert table.splitlines()[0].split()[:3] == ["size", "observations", "ads"]
    assert f"{market.n_observations:,}" in table
    steps = perf.format_steps([result], top=3)
    assert result.steps[0].key in steps and "other step(s)" in steps
    info = perf.machine()
    assert info["cores"] and info["duckdb"] and info["dagster"]
    markdown = perf.format_markdown([result], info)
    assert markdown.startswith("| size |") and "| small |" in markdown and info["cpu"] in markdown
