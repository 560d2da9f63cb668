"""Measured speed and memory: demo markets of growing size through the whole pipeline. A benchmark
to run and report (the README's table), never a timed test.

    python -m adnet_assets.bench.performance --sizes 21k 1m [10m] [--workdir DIR --keep] [--seed 7]
                                             [--time-limit SECONDS] [--top 10]

For each size it

1. generates a demo market (``adnet_assets.demo.generator.generate_market``) in a subprocess; the
   generation is timed but is not part of the pipeline's time;
2. measures the *floor*: one plain DuckDB scan of the same input files (every line of every
   ``snapshots/**/ads.jsonl`` and of every directory and billing CSV read as text), best of two;
3. runs ``adnet run --data-dir <market>`` in a subprocess, exactly as a user does: one Dagster run
   over every window, all assets, checks and exports. Its wall time is the *total* (Python start-up,
   loading the definitions and the closing summary included), its peak resident memory comes from
   ``os.wait4`` (the largest of the process and its children), and the time of every step comes from
   the Dagster instance the run used (``<market>/.dagster``, the run's step stats). With
   ``--time-limit`` a run is stopped there (SIGINT, so Dagster records the step it was in) and the
   report shows the steps it reached, the total as a lower bound and the targets it already missed;
4. prints one row per size (observations, ads, phones, generation, floor, total, total/floor, peak
   memory), the slowest steps, the targets with PASS/MISS, the machine, and the same in Markdown.

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
    scan_s: float = 0.0            # the floor (best of the repeats)
    scan_lines: int = 0
    total_s: float = 0.0           # the whole `adnet run`, wall clock
    run_s: float = 0.0             # the Dagster run from start to end (inside total_s)
    peak_mib: float = 0.0          # peak resident memory of `adnet run` (and any children)
    steps: list[Step] = field(default_factory=list)  # slowest first
    run_id: str = ""
    log: Path | None = None
    time_limit_s: float | None = None
    timed_out: bool = False        # stopped at time_limit_s: total_s is a lower bound, steps are partial

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


def raw_scan(root: Path, repeats: int = 2) -> tuple[float, int]:
    """The floor: the best wall time of one plain DuckDB read of every line of every input file
    (crawls, directory and billing CSVs); (seconds, lines of the crawl files)."""
    import duckdb

    snapshots, directory, billing = input_files(root)
    best, lines = float("inf"), 0
    con = duckdb.connect()
    try:
        for _ in range(max(1, repeats)):
            started = time.monotonic()
            if snapshots:
                lines = con.execute(_SCAN_LINES, {"files": snapshots}).fetchall()[0][0]
            if directory or billing:
                con.execute(_SCAN_LINES, {"files": directory + billing}).fetchall()
            best = min(best, time.monotonic() - started)
    finally:
        con.close()
    return best, lines


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


def bench_size(size: Size, workdir: Path, seed: int = 7, echo: Callable[[str], None] = print,
               scan_repeats: int = 2, time_limit: float | None = None) -> Result:
    """Generate, scan and run one market; the measured Result. With ``time_limit`` (seconds) the
    run is stopped there, and the Result holds the steps done by then (a lower bound)."""
    root = workdir / f"market-{size.label}"
    if root.exists():
        shutil.rmtree(root)
    echo(f"[{size.label}] generating (scale {size.scale:g}, {size.weeks} weeks, seed {seed}) in {root}")
    market, gen_s, gen_peak = generate(size, root, seed)
    echo(f"[{size.label}] generated {market['observations']:,} observations of {market['ads']:,} ads "
         f"in {gen_s:.1f} s (peak {gen_peak:,.0f} MiB)")
    files = [f for group in input_files(root) for f in group]
    input_mib = sum(os.path.getsize(f) for f in files) / MIB
    scan_s, scan_lines = raw_scan(root, scan_repeats)
    echo(f"[{size.label}] floor: DuckDB scan of {len(files)} files ({input_mib:,.0f} MiB, {scan_lines:,} lines) "
         f"in {scan_s:.2f} s")
    echo(f"[{size.label}] adnet run --data-dir {root}")
    code, total_s, peak, log, ended = run_pipeline(root, time_limit)
    if code is None:
        echo(f"[{size.label}] adnet run STOPPED at the time limit of {time_limit:g} s; see {log}")
    elif code != 0:
        echo(f"[{size.label}] adnet run FAILED (exit {code}); see {log}")
    result = collect(size, root, success=code == 0, total_s=total_s, peak_mib=peak, scan_s=scan_s,
                     scan_lines=scan_lines, generation_s=gen_s, generation_peak_mib=gen_peak, input_mib=input_mib,
                     log=log, echo=echo, time_limit_s=time_limit, timed_out=code is None, stopped_at=ended)
    if not result.success:  # no database to count in: the generator's counts
        result.observations, result.ads, result.phones = market["observations"], market["ads"], market["phones"]
    echo(f"[{size.label}] total {total_s:.1f} s (run {result.run_s:.1f} s, steps {result.steps_s:.1f} s), "
         f"peak {peak:,.0f} MiB")
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


HEAD = ("size", "observations", "ads", "phones", "input MiB", "generation s", "floor s", "total s", "run s",
        "total/floor", "peak MiB", "targets")


def _row(r: Result) -> tuple[str, ...]:
    targets = "; ".join(f"{name} {_verdict(ok)}" for name, ok in r.verdicts()) or "-"
    over = ">" if r.timed_out else ""
    return (r.size.label, f"{r.observations:,}", f"{r.ads:,}", f"{r.phones:,}", f"{r.input_mib:,.0f}",
            f"{r.generation_s:.1f}", f"{r.scan_s:.2f}", f"{over}{r.total_s:.1f}", f"{over}{r.run_s:.1f}",
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


def format_markdown(results: list[Result], info: dict[str, str], top: int = 5) -> str:
    head = ("size", "observations", "generation (not counted)", "floor: DuckDB scan", "`adnet run` total",
            "total / floor", "peak memory", "targets", "slowest steps")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        targets = "<br>".join(f"{name}: **{_verdict(ok)}**" for name, ok in r.verdicts()) or "-"
        slow = ", ".join(f"{s.key} {s.seconds:.0f} s" for s in r.steps[:top])
        over = "> " if r.timed_out else ""
        total = f"{over}{_clock(r.total_s)}" + (" (stopped at the time limit)" if r.timed_out else "")
        lines.append("| " + " | ".join((
            r.size.label, f"{r.observations:,}", f"{r.generation_s:.0f} s", f"{r.scan_s:.2f} s", total,
            f"{over}{r.ratio:,.0f}x" if r.ratio is not None else "-", f"{over}{r.peak_mib / 1024:.1f} GiB", targets,
            slow)) + " |")
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
            results.append(bench_size(size, workdir, seed=args.seed, echo=say, time_limit=args.time_limit))
            if not args.keep and (results[-1].success or results[-1].timed_out):
                shutil.rmtree(results[-1].root, ignore_errors=True)  # the next market needs the disk
    finally:
        if results:
            print(f"\nMachine: {format_machine(info)}\n", flush=True)
            print(format_table(results), flush=True)
            print("\n" + format_steps(results, args.top), flush=True)
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
