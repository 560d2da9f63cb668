"""Incremental runs: the run the sensor requests for one new window reads that window's snapshots
only, and leaves the same database as one run over every window (issue 9, point 3).

Not timed: what is checked is what the run read (the files Python opened, poisoned older crawls
that a re-read would quarantine, the counts the steps report in their metadata) and what it left.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from adnet_assets.definitions import build_definitions
from adnet_assets.layout import DataLayout
from adnet_tests.conftest import ad, write_snapshot

SITES = ("eskorte-annonser.example", "kontakt.example")
WINDOWS = ("2026-06-01", "2026-06-04", "2026-06-08")
# The steps that read snapshots and build the tables from them (the ingest group). Every later step
# rebuilds whole tables from these, and keeps a history across runs (network_history: a database
# after two runs rightly differs from one after a single run there), so they are left out here.
GROUPS = {"ingest"}
# Bookkeeping that differs between any two runs: which file versions were loaded (sizes and
# modification times), not content. (_observation_phones_windows: the same for observation_phones,
# once that table is kept by window.)
BOOKKEEPING = {"_window_files", "_observation_phones_windows"}

_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, bytes, Path)):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # records nothing unless a test sets _opened


def _crawl(root: Path, window: str, site: str, n: int, day_offset: int = 0) -> None:
    """One crawl of ``site`` in ``window``: ``n`` ads, numbers that come back across windows, a
    number rotating on one ad, one bad line."""
    day = f"{window[:8]}{int(window[8:]) + day_offset:02d}"
    stamp = f"{day}T06{10 + SITES.index(site) * 5:02d}Z"
    lines = [ad(f"{site[:2]}{i}", f"{day}T06:{20 + i % 30:02d}:00Z",
                [f"+47 41{i % 7}{WINDOWS.index(window)} {1000 + i:04d}" if i % 5 == 0 else f"41{i % 7}0{1000 + i:04d}"],
                country="NO", city=("Oslo", "Bergen", "Trondheim")[i % 3], name=f"Anna{i % 4}")
             for i in range(n)]
    lines.append("{not json")
    write_snapshot(root, site, stamp, lines)


def _market(root: Path, windows: tuple[str, ...]) -> None:
    for w, window in enumerate(windows):
        for s, site in enumerate(SITES):
            _crawl(root, window, site, 12 + 3 * w + s)


def _run(layout: DataLayout, *, window: str | None = None, windows: tuple[str, str] | None = None):
    """The project's job, in process, for one partition (as the sensor requests it) or for a range of
    windows in one run (as ``adnet run`` does); the ingest steps."""
    defs = build_definitions(str(layout.root))
    job = defs.resolve_job_def("adnet_job")
    selection = [k for a in defs.assets if set(a.group_names_by_key.values()) & GROUPS for k in a.keys]
    tags = ({ASSET_PARTITION_RANGE_START_TAG: windows[0], ASSET_PARTITION_RANGE_END_TAG: windows[1]}
            if windows else {})
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=window, tags=tags, asset_selection=selection,
                                        raise_on_error=True)
        metadata = {}
        for event in result.get_asset_materialization_events():
            m = event.step_materialization_data.materialization
            metadata[m.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
    assert result.success
    return metadata


def _tables(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names if n not in BOOKKEEPING}
    finally:
        con.close()


def test_one_new_window_reads_only_its_snapshots_and_gives_the_full_run_database(tmp_path):
    global _opened
    full = DataLayout.at(tmp_path / "full")
    _market(full.root, WINDOWS)
    _run(full, windows=(WINDOWS[0], WINDOWS[-1]))

    inc = DataLayout.at(tmp_path / "incremental")
    _market(inc.root, WINDOWS[:-1])
    _run(inc, windows=(WINDOWS[0], WINDOWS[-2]))
    # The older crawls' lines are poisoned (their manifests still say the old size and hash): a run
    # that read them again would quarantine those snapshots, and its tables would differ.
    old_files = sorted(inc.snapshots.glob("*/*/ads.jsonl"))
    for path in old_files:
        path.write_bytes(b"poisoned: this crawl must not be read again\n")
    for site in SITES:  # the new window's crawls arrive
        _crawl(inc.root, WINDOWS[-1], site, 12 + 3 * (len(WINDOWS) - 1) + SITES.index(site))
    new_files = {str(p) for p in inc.snapshots.glob("*/*/ads.jsonl")} - {str(p) for p in old_files}
    assert len(new_files) == len(SITES)

    _opened = []
    try:
        metadata = _run(inc, window=WINDOWS[-1])
    finally:
        opened, _opened = _opened, None
    ads_opened = {p for p in opened if p.endswith("ads.jsonl")}
    assert ads_opened <= new_files, sorted(ads_opened - new_files)
    assert not {str(p) for p in old_files} & set(opened)

    # What the steps say they read: one window, its two crawls, their observations; one window reloaded.
    raw = metadata["raw_snapshots"]
    assert (raw["windows"], raw["windows_with_snapshots"], raw["snapshots_loaded"]) == (1, 1, len(SITES))
    expected_new = sum(12 + 3 * (len(WINDOWS) - 1) + s for s in range(len(SITES)))
    assert raw["observations"] == expected_new
    assert metadata["ad_observations"]["windows_reloaded"] == 1

    # ...and the database is the one a single run over all three windows leaves, table by table.
    got, want = _tables(inc.database), _tables(full.database)
    assert sorted(got) == sorted(want) and {"ad_observations", "phone_strings", "ads", "phones"} <= set(want)
    for name in want:
        assert got[name] == want[name], name


def test_the_benchmark_holds_the_newest_window_back_and_reports_its_run(tmp_path):
    """The plumbing of ``adnet bench``'s incremental measurement (the benchmark itself is a command)."""
    from adnet_assets.bench import performance as perf

    root = tmp_path / "market"
    _market(root, WINDOWS)
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    window, moves = perf.hold_back_newest_window(root)
    assert window == WINDOWS[-1] and len(moves) == len(SITES)
    assert max(p.parent.name for p in root.glob("snapshots/*/*/ads.jsonl")) < WINDOWS[-1]
    assert all(held.is_dir() and not original.exists() for original, held in moves)
    perf.put_back(moves)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == before

    size = perf.Size("tiny", 0.02, 2)
    result = perf.Result(size, root, True, total_s=30.0, run_s=25.0, peak_mib=300.0, steps=[
        perf.Step("excel_workbook", 10.0, "SUCCESS"), perf.Step("raw_snapshots", 8.0, "SUCCESS")])
    result.incremental = perf.Incremental(
        WINDOWS[-1], 2, True, total_s=20.0, run_s=15.0, peak_mib=250.0,
        steps=[perf.Step("excel_workbook", 9.0, "SUCCESS"), perf.Step("raw_snapshots", 0.5, "SUCCESS")],
        reads={"raw_snapshots": {"windows": 1, "windows_with_snapshots": 1, "snapshots_loaded": 2, "observations": 41},
               "ad_observations": {"windows_reloaded": 1}, "phone_strings": {"parsed_this_run": 7}})
    text = perf.format_incremental([result])
    assert "raw_snapshots ingested 1 window(s) (2 snapshot(s), 41 observations)" in text
    assert "observation_tables reloaded 1 window(s)" in text and "parsed 7 new string(s)" in text
    row = next(line for line in text.splitlines() if line.startswith("raw_snapshots"))
    assert row.split()[1:] == ["8.0", "0.5"]  # the full run's time beside the new window's
    assert "run of the new window's partition" in perf.format_markdown([result], perf.machine())
