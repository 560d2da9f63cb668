"""Measured speed and memory: demo markets of growing size through the whole pipeline. A benchmark
to run and report (the README's table), never a timed test.

    python -m adnet_assets.bench.performance --sizes 21k 1m [10m] [--workdir DIR --keep] [--seed 7]
                                             [--time-limit SECONDS] [--top 10]

For each size it

1. generates a demo market (``adnet_assets.demo.generator.generate_market``) in a subprocess; the
   generation is timed but is not part of the pipeline's time;
2. measures the *floor*: one plain DuckDB scan of the same input files, best of two: every
   ``snapshots/**/ads.jsonl`` read as the JSON it is (``read_json``, every field) and every directory
   and billing CSV as CSV (``read_csv``, dialect and types detected). It also times a *text scan*
   (every line of every file as text, nothing parsed), printed beside it: the floor of reading bytes,
   which no pipeline that has to look inside the JSON can come near;
3. runs ``adnet run --data-dir <market>`` in a subprocess, exactly as a user does: one Dagster run
   over every window, all assets, checks and exports. Its wall time is the *total* (Python start-up,
   loading the definitions and the closing summary included), its peak resident memory comes from
   ``os.wait4`` (the largest of the process and its children), and the time of every step comes from
   the Dagster instance the run used (``<market>/.dagster``, the run's step stats). With
   ``--time-limit`` a run is stopped there (SIGINT, so Dagster records the step it was in) and the
   report shows the steps it reached, the total as a lower bound and the targets it already missed;
4. with ``--incremental`` (the default; ``--no-incremental`` skips it): the newest window's
   snapshots, generated like the rest, are held back from steps 2 and 3 and added after the full
   run; then the run the snapshot sensor requests for them is measured (the job for that one
   partition, :func:`adnet_assets.runner.run_window`, in a subprocess like step 3): its wall time,
   peak memory and step times beside the full run's, and what each ingest step actually read or
   redid (windows, snapshots and observations ingested, windows reloaded into DuckDB, phone strings
   parsed), from the run's materialisation metadata;
5. prints one row per size (observations, ads, phones, generation, text scan, floor, total, total/floor, peak
   memory), the slowest steps, the incremental run, the targets with PASS/MISS, the machine, and the
   same in Markdown.

The targets are the ones of the issue (2 cores): ~21,000 observations in under 30 s; 1 million
under 2 minutes; 10 million under 15 minutes in under 8 GiB; from 1 million up, the total at most
10 times the floor.

Sizes: scale 1.0 over 13 weeks is the demo market (~19,900 observations). Observations grow in
proportion to ``scale`` (about 19,900 per unit at 13 weeks); more weeks add few (ads come and go,
so a longer period mostly spreads the same ads thinner: ~24,500 per unit at 26 weeks, ~29,500 at
52), so the sizes differ only in scale. Besides the named sizes, ``SCALExWEEKS`` (``10x13``) runs
any market, without targets. Generation is linear in scale: on 2 cores about 3 s and 80 MiB for
21k, 2 min 15 s and 1.3 GiB for 1m, so expect ~20 min and ~13 GiB for 10m (the generator holds
the whole market in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MIB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    label: str
    scale: float
    weeks: int
    max_total_s: float | None = None     # target: the whole `adnet run`
    max_ratio: float | None = None       # target: total / floor
    max_peak_mib: float | None = None    # target: peak resident memory of `adnet run`


SIZES: dict[str, Size] = {
    "21k": Size("21k", scale=1.0, weeks=13, max_total_s=30),
    "1m": Size("1m", scale=50.0, weeks=13, max_total_s=120, max_ratio=10),
    "10m": Size("10m", scale=500.0, weeks=13, max_total_s=900, max_ratio=10, max_peak_mib=8 * 1024),
}


def parse_size(text: str) -> Size:
    """A named size (``21k``, ``1m``, ``10m``) or ``SCALExWEEKS`` (``0.5x13``: no targets)."""
    if text.lower() in SIZES:
        return SIZES[text.lower()]
    scale, sep, weeks = text.lower().partition("x")
    try:
        if sep:
            return Size(text, scale=float(scale), weeks=int(weeks))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"unknown size {text!r}: use {', '.join(SIZES)} or SCALExWEEKS such as 10x13")


@dataclass(frozen=True)
class Step:
    key: str
    seconds: float
    status: str


@dataclass
class Result:
    size: Size
    root: Path
    success: bool
    observations: int = 0          # rows of ad_observations after the run
    ads: int = 0
    phones: int = 0
    snapshots: int = 0
    input_mib: float = 0.0         # the snapshot files and CSVs the floor reads
    generation_s: float = 0.0      # not part of the total
    generation_peak_mib: float = 0.0
    scan_s: float = 0.0            # the floor: the input files parsed (best of the repeats)
    text_scan_s: float = 0.0       # the input files' lines read as text only (best of the repeats)
    scan_lines: int = 0
    total_s: float = 0.0           # the whole `adnet run`, wall clock
    run_s: float = 0.0             # the Dagster run from start to end (inside total_s)
    peak_mib: float = 0.0          # peak resident memory of `adnet run` (and any children)
    steps: list[Step] = field(default_factory=list)  # slowest first
    run_id: str = ""
    log: Path | None = None
    time_limit_s: float | None = None
    timed_out: bool = False        # stopped at time_limit_s: total_s is a lower bound, steps are partial
    incremental: "Incremental | None" = None  # the one-new-window run after the full run

    @property
    def ratio(self) -> float | None:
        return self.total_s / self.scan_s if self.scan_s > 0 else None

    @property
    def steps_s(self) -> float:
        return sum(s.seconds for s in self.steps)

    def verdicts(self) -> list[tuple[str, bool | None]]:
        """(target, met) for each target of this size; met is None when a run stopped at the time
        limit leaves it open (the total and the peak so far are lower bounds)."""
        if not self.success and not self.timed_out:
            return [("the run succeeds", False)]

        def met(ok: bool) -> bool | None:
            return False if self.timed_out and not ok else (None if self.timed_out else ok)

        out: list[tuple[str, bool | None]] = []
        if self.size.max_total_s is not None:
            out.append((f"total < {_duration(self.size.max_total_s)}", met(self.total_s < self.size.max_total_s)))
        if self.size.max_ratio is not None and self.ratio is not None:
            out.append((f"total <= {self.size.max_ratio:g} x floor", met(self.ratio <= self.size.max_ratio)))
        if self.size.max_peak_mib is not None:
            out.append((f"peak < {self.size.max_peak_mib / 1024:g} GiB", met(self.peak_mib < self.size.max_peak_mib)))
        return out


@dataclass
class Incremental:
    """The run the sensor requests for one new window, after the full run over the others."""

    window: str
    snapshots: int                 # snapshot folders of the window that were held back and added
    success: bool
    total_s: float = 0.0           # the whole process, wall clock (start-up included)
    run_s: float = 0.0
    peak_mib: float = 0.0
    steps: list[Step] = field(default_factory=list)  # slowest first
    run_id: str = ""
    reads: dict[str, dict[str, int]] = field(default_factory=dict)  # asset -> what it read / redid
    log: Path | None = None
    timed_out: bool = False

    @property
    def steps_s(self) -> float:
        return sum(s.seconds for s in self.steps)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


# ------------------------------------------------------------------ measuring


def run_measured(cmd: list[str], log: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 time_limit: float | None = None) -> tuple[int | None, float, float]:
    """Run ``cmd`` with its output in ``log``; (exit code, wall seconds, peak RSS in MiB).

    The peak is the child's own ``ru_maxrss`` from ``wait4``, which on Linux is the largest of the
    process and the descendants it waited for: per command, unlike ``RUSAGE_CHILDREN`` of this
    process, which keeps the largest child ever. The command runs in a session of its own; past
    ``time_limit`` seconds that session gets SIGINT (a Dagster run stops its step and records it),
    SIGKILL a minute later, and the exit code returned is None."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        stopping: list[tuple[float, signal.Signals]] = []
        if time_limit is not None:
            stopping = [(started + time_limit, signal.SIGINT), (started + time_limit + 60, signal.SIGKILL)]
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG if stopping else 0)
                if pid:
                    break
                if time.monotonic() >= stopping[0][0]:
                    timed_out = True
                    took = time.monotonic() - started
                    with _suppress_lookup():
                        os.killpg(proc.pid, stopping.pop(0)[1])
                    continue
                time.sleep(0.2)
        except BaseException:
            with _suppress_lookup():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if not timed_out:
            took = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024  # macOS says bytes
    return (None if timed_out else proc.returncode), took, kib / 1024


def _suppress_lookup():
    import contextlib

    return contextlib.suppress(ProcessLookupError)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DAGSTER_HOME", None)  # `adnet run` points Dagster at <market>/.dagster itself
    env.pop("ADNET_DATA_DIR", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


_GENERATE = """
import json, sys
from adnet_assets.demo.generator import generate_market
m = generate_market(sys.argv[1], seed=int(sys.argv[2]), scale=float(sys.argv[3]), weeks=int(sys.argv[4]),
                    progress=lambda msg: print(msg, flush=True))
print("RESULT " + json.dumps({"observations": m.n_observations, "ads": m.n_ads, "phones": m.n_phones,
                              "snapshots": m.n_snapshots}), flush=True)
"""


def generate(size: Size, root: Path, seed: int) -> tuple[dict, float, float]:
    """Write the market of ``size`` in ``root`` (a subprocess); (its counts, seconds, peak MiB)."""
    log = root.parent / f"{root.name}.generate.log"
    code, took, peak = run_measured(
        [sys.executable, "-c", _GENERATE, str(root), str(seed), repr(size.scale), str(size.weeks)], log,
        env=_child_env())
    if code != 0:
        raise RuntimeError(f"generating {size.label} failed (exit {code}); see {log}")
    line = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):]), took, peak


def input_files(root: Path) -> tuple[list[str], list[str], list[str]]:
    """The pipeline's inputs: snapshot line files, directory CSVs, billing CSVs."""
    return (sorted(str(p) for p in root.glob("snapshots/*/*/ads.jsonl")),
            sorted(str(p) for p in root.glob("directory/*.csv")),
            sorted(str(p) for p in root.glob("billing/*.csv")))


# Every line of every input file decoded as text and measured. The unit separator never occurs in
# the files, so each line is one column; quotes mean nothing; an undecodable line is skipped. The
# CSVs are read the same way: sniffing the dialect of each of hundreds of small billing files
# would cost more than reading them, and is not reading.
_SCAN_LINES = """
SELECT count(*), sum(strlen(line)) FROM read_csv($files, columns = {'line': 'VARCHAR'}, header = false,
    delim = '\x1f', quote = '', escape = '', auto_detect = false, strict_mode = false, ignore_errors = true,
    max_line_size = 4000000)
"""


# The crawls as JSON and the CSVs as CSV, every field of every row read (``count`` of each column:
# nothing is left unparsed, nothing converted beyond what the reader detects).
_PARSE_CRAWLS = """
SELECT count(*), count(COLUMNS(*)) FROM read_json($files, format = 'newline_delimited', ignore_errors = true,
    maximum_object_size = 4000000)
"""
_PARSE_CSVS = """
SELECT count(*), count(COLUMNS(*)) FROM read_csv($files, union_by_name = true, ignore_errors = true)
"""


def raw_scan(root: Path, repeats: int = 2) -> tuple[float, float, int]:
    """The floor and the text scan of every input file (crawls, directory and billing CSVs), each the
    best wall time of ``repeats``: (floor seconds, text-scan seconds, lines of the crawl files).

    The floor is a plain DuckDB read of what the files hold (the crawls' JSON parsed, the CSVs
    parsed); the text scan reads their lines as text without parsing anything."""
    import duckdb

    snapshots, directory, billing = input_files(root)
    parse_best, text_best, lines = float("inf"), float("inf"), 0
    con = duckdb.connect()
    try:
        for _ in range(max(1, repeats)):
            started = time.monotonic()
            if snapshots:
                con.execute(_PARSE_CRAWLS, {"files": snapshots}).fetchall()
            for csvs in (directory, billing):  # two shapes of file, each read as one
                if csvs:
                    con.execute(_PARSE_CSVS, {"files": csvs}).fetchall()
            parse_best = min(parse_best, time.monotonic() - started)
            started = time.monotonic()
            if snapshots:
                lines = con.execute(_SCAN_LINES, {"files": snapshots}).fetchall()[0][0]
            if directory or billing:
                con.execute(_SCAN_LINES, {"files": directory + billing}).fetchall()
            text_best = min(text_best, time.monotonic() - started)
    finally:
        con.close()
    return parse_best, text_best, lines


def run_pipeline(root: Path, time_limit: float | None = None) -> tuple[int | None, float, float, Path, float]:
    """``adnet run --data-dir root`` as a user runs it; (exit code or None when stopped at the time
    limit, wall s, peak MiB, log file, the clock time it ended or was stopped)."""
    log = root.parent / f"{root.name}.run.log"
    begun = time.time()
    code, took, peak = run_measured([sys.executable, "-m", "adnet_assets.cli", "run", "--data-dir", str(root)],
                                    log, env=_child_env(), cwd=root.parent, time_limit=time_limit)
    return code, took, peak, log, begun + took


def step_times(root: Path, stopped_at: float | None = None) -> tuple[str, float, list[Step]]:
    """The newest run in ``root``'s Dagster instance: (run id, run seconds, its steps slowest first).

    A step without an end (the run was stopped) counts until ``stopped_at`` (default: now)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            raise RuntimeError(f"no Dagster run recorded in {root / '.dagster'}")
        run_id = runs[0].run_id
        record = instance.get_run_record_by_id(run_id)
        until = stopped_at or time.time()
        run_s = ((record.end_time or until) - record.start_time) if record and record.start_time else 0.0
        steps = []
        for s in instance.get_run_step_stats(run_id):
            if s.start_time is None:
                continue
            status = getattr(s.status, "value", None) or ("STOPPED" if s.end_time is None else str(s.status))
            steps.append(Step(s.step_key, (s.end_time or until) - s.start_time, status))
    steps.sort(key=lambda s: (-s.seconds, s.key))
    return run_id, run_s, steps


def table_counts(root: Path) -> tuple[int, int, int, int]:
    """(observations, ads, phones, loaded snapshots) in the market's database after the run."""
    from adnet_assets.lib.store import connect

    with connect(root / "adnet.duckdb", read_only=True, lock_timeout_s=60) as con:
        return tuple(con.execute(
            "SELECT (SELECT count(*) FROM ad_observations), (SELECT count(*) FROM ads), (SELECT count(*) FROM phones),"
            " (SELECT count(*) FROM snapshots WHERE status = 'loaded')").fetchall()[0])


def hold_back_newest_window(root: Path) -> tuple[str, list[tuple[Path, Path]]]:
    """Move the snapshot folders of the newest window out of ``root`` (to ``<root>.held/``), as if
    that window's crawls had not arrived yet; (the window, [(where it was, where it is now)])."""
    from adnet_assets.layout import DataLayout
    from adnet_assets.lib.snapshots import discover

    layout = DataLayout.at(root)
    refs = discover(layout).snapshots
    if not refs:
        raise RuntimeError(f"no snapshots in {layout.snapshots} to hold back")
    window = max(r.window for r in refs)
    held = root.parent / f"{root.name}.held"
    moves = []
    for ref in sorted((r for r in refs if r.window == window), key=lambda r: (r.site, r.snapshot_id)):
        target = held / ref.site / ref.snapshot_id
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(ref.folder), str(target))
        moves.append((ref.folder, target))
    return window, moves


def put_back(moves: list[tuple[Path, Path]]) -> None:
    """The held-back folders back where they were: the window's crawls arrive."""
    for original, held in moves:
        original.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(held), str(original))


_RUN_WINDOW = """
import sys
from adnet_assets.layout import DataLayout
from adnet_assets.runner import run_window
outcome = run_window(DataLayout.at(sys.argv[1]), sys.argv[2])
for step, message in outcome.failures:
    print(f"{step}: {message}", flush=True)
sys.exit(0 if outcome.success else 1)
"""

# What each ingest step read or redid, as its materialisation metadata says (raw_snapshots: the
# windows it ingested and the observations it read; ad_observations: the windows reloaded into DuckDB;
# phone_strings: the distinct strings parsed in this run).
READ_METADATA = {
    "raw_snapshots": ("windows", "windows_with_snapshots", "snapshots_loaded", "observations"),
    "ad_observations": ("windows_reloaded",),
    "phone_strings": ("parsed_this_run",),
}


def run_reads(root: Path, run_id: str) -> dict[str, dict[str, int]]:
    """:data:`READ_METADATA` of one run, from the market's Dagster instance."""
    import dagster as dg

    reads: dict[str, dict[str, int]] = {}
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            if materialization is None:
                continue
            name = materialization.asset_key.to_user_string()
            for key in READ_METADATA.get(name, ()):
                value = materialization.metadata.get(key)
                if value is not None:
                    reads.setdefault(name, {})[key] = int(getattr(value, "value", value))
    return reads


def bench_incremental(size: Size, root: Path, window: str, moves: list[tuple[Path, Path]],
                      echo: Callable[[str], None] = print, time_limit: float | None = None) -> Incremental:
    """Put the held-back window back and measure the run the sensor requests for it."""
    put_back(moves)
    echo(f"[{size.label}] incremental: {len(moves)} snapshot(s) of window {window} arrive; the run for that partition")
    log = root.parent / f"{root.name}.incremental.log"
    begun = time.time()
    code, took, peak = run_measured([sys.executable, "-c", _RUN_WINDOW, str(root), window], log,
                                    env=_child_env(), cwd=root.parent, time_limit=time_limit)
    inc = Incremental(window, len(moves), success=code == 0, total_s=took, peak_mib=peak, log=log,
                      timed_out=code is None)
    if code is None:
        echo(f"[{size.label}] incremental run STOPPED at the time limit of {time_limit:g} s; see {log}")
    elif code != 0:
        echo(f"[{size.label}] incremental run FAILED (exit {code}); see {log}")
    try:
        inc.run_id, inc.run_s, inc.steps = step_times(root, begun + took)
        inc.reads = run_reads(root, inc.run_id)
    except Exception as exc:  # a run that failed to start leaves no record
        echo(f"[{size.label}] no step times for the incremental run: {exc}")
    echo(f"[{size.label}] incremental total {took:.1f} s (run {inc.run_s:.1f} s, steps {inc.steps_s:.1f} s), "
         f"peak {peak:,.0f} MiB; read: {format_reads(inc.reads)}")
    return inc


def bench_size(size: Size, workdir: Path, seed: int = 7, echo: Callable[[str], None] = print,
               scan_repeats: int = 2, time_limit: float | None = None, incremental: bool = False) -> Result:
    """Generate, scan and run one market; the measured Result. With ``time_limit`` (seconds) the
    run is stopped there, and the Result holds the steps done by then (a lower bound). With
    ``incremental`` the newest window is held back from the scan and the full run, then added and
    its partition's run measured (``Result.incremental``)."""
    root = workdir / f"market-{size.label}"
    for old in (root, root.parent / f"{root.name}.held"):
        if old.exists():
            shutil.rmtree(old)
    echo(f"[{size.label}] generating (scale {size.scale:g}, {size.weeks} weeks, seed {seed}) in {root}")
    market, gen_s, gen_peak = generate(size, root, seed)
    echo(f"[{size.label}] generated {market['observations']:,} observations of {market['ads']:,} ads "
         f"in {gen_s:.1f} s (peak {gen_peak:,.0f} MiB)")
    window, moves = hold_back_newest_window(root) if incremental else ("", [])
    if moves:
        echo(f"[{size.label}] holding back window {window} ({len(moves)} snapshot(s)) for the incremental run")
    files = [f for group in input_files(root) for f in group]
    input_mib = sum(os.path.getsize(f) for f in files) / MIB
    scan_s, text_scan_s, scan_lines = raw_scan(root, scan_repeats)
    echo(f"[{size.label}] floor: DuckDB scan of {len(files)} files ({input_mib:,.0f} MiB, {scan_lines:,} lines) "
         f"in {scan_s:.2f} s parsed (JSON and CSV), {text_scan_s:.2f} s as text only")
    echo(f"[{size.label}] adnet run --data-dir {root}")
    code, total_s, peak, log, ended = run_pipeline(root, time_limit)
    if code is None:
        echo(f"[{size.label}] adnet run STOPPED at the time limit of {time_limit:g} s; see {log}")
    elif code != 0:
        echo(f"[{size.label}] adnet run FAILED (exit {code}); see {log}")
    result = collect(size, root, success=code == 0, total_s=total_s, peak_mib=peak, scan_s=scan_s,
                     text_scan_s=text_scan_s, scan_lines=scan_lines, generation_s=gen_s, generation_peak_mib=gen_peak, input_mib=input_mib,
                     log=log, echo=echo, time_limit_s=time_limit, timed_out=code is None, stopped_at=ended)
    if not result.success:  # no database to count in: the generator's counts
        result.observations, result.ads, result.phones = market["observations"], market["ads"], market["phones"]
    echo(f"[{size.label}] total {total_s:.1f} s (run {result.run_s:.1f} s, steps {result.steps_s:.1f} s), "
         f"peak {peak:,.0f} MiB")
    if moves and result.success:
        result.incremental = bench_incremental(size, root, window, moves, echo=echo, time_limit=time_limit)
    elif moves:
        put_back(moves)
    return result


def collect(size: Size, root: Path, *, success: bool, echo: Callable[[str], None] = print,
            stopped_at: float | None = None, **measured) -> Result:
    """The Result of a finished ``adnet run`` in ``root``: the measurements given, the step times from
    the run's Dagster instance and the counts from its database."""
    result = Result(size, root, success, **measured)
    try:
        result.run_id, result.run_s, result.steps = step_times(root, stopped_at)
    except Exception as exc:  # a run that failed to start leaves no record: report what there is
        echo(f"[{size.label}] no step times: {exc}")
    if success:
        result.observations, result.ads, result.phones, result.snapshots = table_counts(root)
    return result


# ------------------------------------------------------------------ reporting


def machine() -> dict[str, str]:
    import dagster
    import duckdb

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {"cpu": cpu, "cores": str(cores), "ram": ram, "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "duckdb": duckdb.__version__, "dagster": dagster.__version__,
            "load": load}


def format_machine(info: dict[str, str]) -> str:
    return (f"{info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}; Python {info['python']}, "
            f"DuckDB {info['duckdb']}, Dagster {info['dagster']}; load average {info['load']} (1/5/15 min)")


HEAD = ("size", "observations", "ads", "phones", "input MiB", "generation s", "text scan s", "floor s", "total s", "run s",
        "total/floor", "peak MiB", "targets")


def _row(r: Result) -> tuple[str, ...]:
    targets = "; ".join(f"{name} {_verdict(ok)}" for name, ok in r.verdicts()) or "-"
    over = ">" if r.timed_out else ""
    return (r.size.label, f"{r.observations:,}", f"{r.ads:,}", f"{r.phones:,}", f"{r.input_mib:,.0f}",
            f"{r.generation_s:.1f}", f"{r.text_scan_s:.2f}", f"{r.scan_s:.2f}", f"{over}{r.total_s:.1f}", f"{over}{r.run_s:.1f}",
            f"{over}{r.ratio:,.0f}x" if r.ratio is not None else "-", f"{over}{r.peak_mib:,.0f}", targets)


def _verdict(ok: bool | None) -> str:
    return "PASS" if ok else ("MISS" if ok is False else "OPEN (stopped)")


def _aligned(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
                     for row in rows)


def format_table(results: list[Result]) -> str:
    return _aligned([HEAD] + [_row(r) for r in results])


def format_steps(results: list[Result], top: int = 10) -> str:
    """The slowest steps of each size, side by side with their share of the run."""
    blocks = []
    for r in results:
        rows = [("step", "seconds", "share")]
        for s in r.steps[:top]:
            share = s.seconds / r.run_s if r.run_s else 0.0
            label = "stopped at the time limit" if r.timed_out and s.status in ("FAILURE", "STOPPED") else s.status
            rows.append((s.key + ("" if s.status == "SUCCESS" else f" ({label})"),
                         f"{s.seconds:.1f}", f"{share:.0%}"))
        rest = r.steps[top:]
        rows.append((f"{len(rest)} other step(s)", f"{sum(s.seconds for s in rest):.1f}", ""))
        rows.append(("outside steps (start-up, Dagster, summary)", f"{max(0.0, r.total_s - r.steps_s):.1f}", ""))
        stopped = f", stopped after {r.total_s:.0f} s: the steps it reached" if r.timed_out else ""
        blocks.append(f"{r.size.label} ({r.observations:,} observations), {len(r.steps)} steps{stopped}, slowest first:\n"
                      + _aligned(rows))
    return "\n\n".join(blocks)


def format_reads(reads: dict[str, dict[str, int]]) -> str:
    """What the ingest steps of a run read or redid, in words."""
    parts = []
    raw = reads.get("raw_snapshots")
    if raw:
        parts.append(f"raw_snapshots ingested {raw.get('windows', 0)} window(s) "
                     f"({raw.get('snapshots_loaded', 0)} snapshot(s), {raw.get('observations', 0):,} observations)")
    if "ad_observations" in reads:
        parts.append(f"observation_tables reloaded {reads['ad_observations'].get('windows_reloaded', 0)} window(s)")
    if "phone_strings" in reads:
        parts.append(f"phone_strings parsed {reads['phone_strings'].get('parsed_this_run', 0):,} new string(s)")
    return "; ".join(parts) or "no ingest metadata"


def format_incremental(results: list[Result], top: int = 10) -> str:
    """Per size: the one-window run beside the full run, step by step (the incremental run's slowest first)."""
    blocks = []
    for r in results:
        inc = r.incremental
        if inc is None:
            continue
        full = {s.key: s.seconds for s in r.steps}
        rows = [("step", "full run s", "one new window s")]
        for s in inc.steps[:top]:
            rows.append((s.key + ("" if s.status == "SUCCESS" else f" ({s.status})"),
                         f"{full[s.key]:.1f}" if s.key in full else "-", f"{s.seconds:.1f}"))
        rest = inc.steps[top:]
        rest_full = sum(full.get(s.key, 0.0) for s in rest)
        rows.append((f"{len(rest)} other step(s)", f"{rest_full:.1f}", f"{sum(s.seconds for s in rest):.1f}"))
        rows.append(("all steps", f"{r.steps_s:.1f}", f"{inc.steps_s:.1f}"))
        rows.append(("run (Dagster, start to end)", f"{r.run_s:.1f}", f"{inc.run_s:.1f}"))
        rows.append(("total (process, wall clock)", f"{r.total_s:.1f}", f"{inc.total_s:.1f}"))
        rows.append(("peak memory MiB", f"{r.peak_mib:,.0f}", f"{inc.peak_mib:,.0f}"))
        state = "" if inc.success else (" STOPPED at the time limit" if inc.timed_out else " FAILED")
        blocks.append(f"{r.size.label}: one new window ({inc.window}, {inc.snapshots} snapshot(s)) after the full run "
                      f"of the others{state}; read: {format_reads(inc.reads)}\n" + _aligned(rows))
    return "\n\n".join(blocks)


def format_markdown(results: list[Result], info: dict[str, str], top: int = 5) -> str:
    head = ("size", "observations", "generation (not counted)", "text scan", "floor: DuckDB scan (parsed)", "`adnet run` total",
            "total / floor", "peak memory", "targets", "slowest steps")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        targets = "<br>".join(f"{name}: **{_verdict(ok)}**" for name, ok in r.verdicts()) or "-"
        slow = ", ".join(f"{s.key} {s.seconds:.0f} s" for s in r.steps[:top])
        over = "> " if r.timed_out else ""
        total = f"{over}{_clock(r.total_s)}" + (" (stopped at the time limit)" if r.timed_out else "")
        lines.append("| " + " | ".join((
            r.size.label, f"{r.observations:,}", f"{r.generation_s:.0f} s", f"{r.text_scan_s:.2f} s", f"{r.scan_s:.2f} s",
            total,
            f"{over}{r.ratio:,.0f}x" if r.ratio is not None else "-", f"{over}{r.peak_mib / 1024:.1f} GiB", targets,
            slow)) + " |")
    incremental = [r for r in results if r.incremental is not None]
    if incremental:
        lines += ["", "| size | new window | `adnet run` of the other windows | run of the new window's partition "
                  "| peak memory | what ingest read | slowest steps of the new window's run |", "|---|---|---|---|---|---|---|"]
        for r in incremental:
            inc = r.incremental
            slow = ", ".join(f"{s.key} {s.seconds:.1f} s" for s in inc.steps[:top])
            lines.append("| " + " | ".join((
                r.size.label, f"{inc.window} ({inc.snapshots} snapshots)", _clock(r.total_s),
                _clock(inc.total_s) + ("" if inc.success else " (did not finish)"),
                f"{inc.peak_mib / 1024:.1f} GiB", format_reads(inc.reads), slow)) + " |")
    lines.append("")
    lines.append(f"Measured on {format_machine(info)}, by `python -m adnet_assets.bench.performance`; "
                 "other work shared the machine, so the times are noisy.")
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adnet bench", description="Benchmark: wall time and memory of the whole "
                                "pipeline on demo markets of growing size (not a test).")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=parse_size, nargs="+", default=[SIZES["21k"], SIZES["1m"]],
                   help="21k, 1m, 10m, or SCALExWEEKS such as 10x13 (default: 21k 1m)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workdir", help="where the markets are written (default: a new temporary folder, "
                                     "removed at the end unless --keep)")
    p.add_argument("--keep", action="store_true", help="keep the markets (and the run logs)")
    p.add_argument("--top", type=int, default=10, help="slowest steps to list per size")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop a run after this long and report the steps it reached (default: no limit)")
    p.add_argument("--incremental", action=argparse.BooleanOptionalAction, default=True,
                   help="hold the newest window back from the full run, then add it and measure the run the "
                        "snapshot sensor requests for it (default: on; --no-incremental skips it)")


def run(args, echo: Callable[[str], None] | None = None) -> int:
    say = echo or (lambda m: print(m, file=sys.stderr, flush=True))
    made = args.workdir is None
    workdir = Path(args.workdir).expanduser().resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="adnet-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    say(f"adnet bench: {format_machine(info)}")
    results: list[Result] = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, workdir, seed=args.seed, echo=say, time_limit=args.time_limit,
                                      incremental=getattr(args, "incremental", False)))
            if not args.keep and (results[-1].success or results[-1].timed_out):
                shutil.rmtree(results[-1].root, ignore_errors=True)  # the next market needs the disk
                shutil.rmtree(results[-1].root.parent / f"{results[-1].root.name}.held", ignore_errors=True)
    finally:
        if results:
            print(f"\nMachine: {format_machine(info)}\n", flush=True)
            print(format_table(results), flush=True)
            print("\n" + format_steps(results, args.top), flush=True)
            if any(r.incremental is not None for r in results):
                print("\nIncremental: the run for one new window, beside the full run\n", flush=True)
                print(format_incremental(results, args.top), flush=True)
            print("\nMarkdown for the README:\n\n" + format_markdown(results, info), flush=True)
        failed = any(not r.success and not r.timed_out for r in results)
        if made and not args.keep and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"\nmarkets and logs in {workdir}", flush=True)
    return 0 if results and all(r.success or r.timed_out for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
