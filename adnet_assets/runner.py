"""One run over every window that has snapshots, and everything downstream: what ``adnet run`` does.

The run goes through the investigation's Dagster instance, so it shows in the UI with its
partitions and lineage. It is one run for all windows (the ingest asset's single-run backfill
policy gets the whole range), not a run per partition. :func:`run_window` runs what the snapshot
sensor requests for a new crawl: the job for that one window's partition (the benchmark's
incremental measurement, and a way to replay the sensor's run by hand).

Faults. Every step commits in one transaction and every file is renamed into place whole, so a
run that is killed (Ctrl-C twice, ``kill -9``, a machine that stops) leaves the state of its last
finished step, never half of one. What it can leave is bookkeeping: the run still marked as
started in the instance, holding the DuckDB pool's slot (the next run would wait for that slot
for ever), and the temporary files it was writing. :func:`recover_interrupted_runs` clears both
before each run: a run whose process is gone is marked failed and its slot freed, and, when no
run is in progress any more, the temporary files (``.<name>.<random>.tmp``) and DuckDB spill
files in the folders adnet writes are removed. The run then redoes every step, so the result is
that of an uninterrupted run.

A database that another process holds (a SQL client, ``adnet.duckdb`` open) fails the run before
anything is written, once the wait for its lock is over: ``ADNET_LOCK_TIMEOUT_S`` seconds (default
the resource's 600 s; each step waits as long). A full disk (or a file size limit) fails the step
that meets it: its transaction rolls back, its temporary file is removed, and the message says which
file, why, and what to do (:func:`failure_text`, :func:`disk_full_message`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG,
)

from adnet_assets.instance import use_investigation
from adnet_assets.layout import DataLayout
from adnet_assets.lib.snapshots import discover

LOCK_TIMEOUT_ENV = "ADNET_LOCK_TIMEOUT_S"
PID_TAG = "adnet/pid"    # the process that runs the steps of a CLI run, and its machine: to tell
HOST_TAG = "adnet/host"  # a run still going from one that was killed
# Statuses of a run whose process works on it (and may hold a pool slot); NOT_STARTED for a CLI run
# killed between creating its run and starting it.
_ACTIVE = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)
_RECOVERABLE = (*_ACTIVE, dg.DagsterRunStatus.NOT_STARTED)
# What adnet's writers leave when killed: store.atomic_file's ``.<name>.<random>.tmp`` (and
# ``.tmp.xlsx``), the analysts' copy's ``.adnet.duckdb.<random>.tmp`` and its ``.tmp.wal``, the
# workbook's work folder ``.adnet.xlsx.<random>.tmp/``, forget's ``.compact.tmp``; and DuckDB's
# own ``tmp_<name>`` beside a file its COPY overwrites (older runs wrote Parquet that way).
_LEFTOVER = re.compile(r"^(tmp_)?\..+\.tmp(\.[a-z]+)?$")
_DISK_FULL = re.compile(r"no space left on device|file too large|disk is full|disk quota exceeded|"
                        r"\[errno (?:27|28|122)\]", re.IGNORECASE)
_FILE_SIZE_LIMIT = re.compile(r"file too large|\[errno 27\]", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"""["'](/[^"']+|[A-Za-z]:\\[^"']+)["']""")  # DuckDB: "path"; Python: 'path'
_TEMPORARY_OF = re.compile(r"^\.(.+?)\.[0-9a-z_]+\.tmp(\.[a-z]+)?$")


class NothingToRun(Exception):
    pass


class DiskFull(RuntimeError):
    """Dagster's own bookkeeping (``<data>/.dagster``) could not be written: the run did not finish."""


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    windows: tuple[str, str]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, or steps with one message; message)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def lock_timeout_from_env() -> float | None:
    """``ADNET_LOCK_TIMEOUT_S`` as seconds, or None when it is not set."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds: set it to how long a step waits "
                         f"for another process's lock on the database, e.g. {LOCK_TIMEOUT_ENV}=60, or unset it "
                         f"(600 s)")
    return value


def run_all(layout: DataLayout, *, tags: dict[str, str] | None = None,
            echo: Callable[[str], None] = _say) -> RunOutcome:
    use_investigation(layout)
    discovery = discover(layout)
    windows = sorted({s.window for s in discovery.snapshots})
    if not windows:
        problems = "".join(f"\n  {p.path}: {p.reason}" for p in discovery.problems)
        raise NothingToRun(
            f"no snapshot folders in {layout.snapshots}: put crawls there as snapshots/<site>/<YYYY-MM-DDTHHMMZ>/ "
            f"with ads.jsonl and manifest.json (see the data contract), or run `adnet demo`.{problems}")
    return _execute(layout, (windows[0], windows[-1]), {
        ASSET_PARTITION_RANGE_START_TAG: windows[0],
        ASSET_PARTITION_RANGE_END_TAG: windows[-1],
        "adnet/trigger": "cli",
        **(tags or {}),
    }, echo)


def run_window(layout: DataLayout, window: str, *, tags: dict[str, str] | None = None,
               echo: Callable[[str], None] = _say) -> RunOutcome:
    """The run the snapshot sensor requests for a new crawl: the job for the one partition ``window``
    (its snapshots only) and everything downstream, as the daemon would launch it."""
    use_investigation(layout)
    from adnet_assets.defs.ingest.partitions import snapshot_windows

    if not snapshot_windows.has_partition_key(window):
        raise NothingToRun(f"{window!r} is not a window: windows open on Mondays and Thursdays, e.g. 2026-06-01")
    return _execute(layout, (window, window), {PARTITION_NAME_TAG: window, "adnet/trigger": "window", **(tags or {})},
                    echo)


def _execute(layout: DataLayout, windows: tuple[str, str], tags: dict[str, str],
             echo: Callable[[str], None]) -> RunOutcome:
    lock_timeout = lock_timeout_from_env()
    from adnet_assets import definitions  # imported after the environment points at the data folder

    run_tags = {
        PID_TAG: str(os.getpid()),  # the process that runs the run (in-process: every step; else their parent)
        HOST_TAG: socket.gethostname(),
        **tags,
    }
    adnet_config: dict[str, object] = {"data_dir": str(layout.root)}
    if lock_timeout is not None:
        adnet_config["lock_timeout_s"] = lock_timeout
    run_config = {
        "resources": {"adnet": {"config": adnet_config}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},  # compact progress lines
    }
    with dg.DagsterInstance.get() as instance, _disk_full_as_message(layout):
        make_ready(instance, layout, lock_timeout=lock_timeout, echo=echo)
        result = dg.execute_job(dg.reconstructable(definitions.adnet_job_for_cli), instance=instance,
                                tags=run_tags, run_config=run_config, raise_on_error=False)
        failed = [(event.step_key or "run", _failure_message(event)) for event in result.all_events
                  if event.is_step_failure or event.event_type_value == "RUN_FAILURE"]
        return RunOutcome(result.success, result.run_id, windows, _grouped(failed))


def _grouped(failures: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Steps that failed with the same message (a lock, a full disk) as one entry naming them all."""
    steps: dict[str, list[str]] = {}
    for step, message in failures:
        steps.setdefault(message, []).append(step)
    return [(", ".join(names), message) for message, names in steps.items()]


def make_ready(instance: dg.DagsterInstance, layout: DataLayout, *, lock_timeout: float | None = None,
               echo: Callable[[str], None] = _say) -> None:
    """What every run from the command line does first, before it writes anything: wait for the
    database's lock (a SQL client holding the file fails the run here, with one message, instead of
    in every step: :class:`~adnet_assets.lib.store.DatabaseLocked`), and, holding it, clear what
    killed runs left (:func:`recover_interrupted_runs`). ``lock_timeout`` None: the resource's."""
    with _holding_database(layout, lock_timeout, echo):
        recover_interrupted_runs(instance, layout, echo=echo)


@contextlib.contextmanager
def _holding_database(layout: DataLayout, lock_timeout: float | None, echo: Callable[[str], None]) -> Iterator[None]:
    """The database's write lock for the block, waited for as a step waits: no other process has the
    file open meanwhile. No database yet: nothing to hold (and none is created here)."""
    if not layout.database.exists():
        yield
        return
    from adnet_assets.defs.resources import AdnetData
    from adnet_assets.lib.store import DatabaseLocked, connect

    wait = lock_timeout if lock_timeout is not None else AdnetData.model_fields["lock_timeout_s"].default
    said: list[str] = []

    def once(message: str) -> None:
        if not said:
            said.append(message)
            echo(f"adnet: {message} (up to {wait:.0f}s; {LOCK_TIMEOUT_ENV} sets how long)")

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(connect(layout.database, lock_timeout_s=wait, log=once, temp_dir=layout.tmp))
        except DatabaseLocked as exc:
            raise DatabaseLocked(
                f"{exc}\nNothing was changed. SQL clients should open the analysts' copy, "
                f"{layout.analyst_database}, which runs never lock; the pipeline's file only while no run is going."
            ) from exc
        yield


# ---------------------------------------------------------------- runs that were killed

def recover_interrupted_runs(instance: dg.DagsterInstance, layout: DataLayout, *,
                             echo: Callable[[str], None] = _say) -> tuple[list[str], list[Path]]:
    """Mark the runs whose process is gone as failed and free their pool slots; then, if no run is in
    progress, remove the temporary files interrupted runs left. Returns (run ids, paths removed).

    A run is judged gone only when its process id is known (our tag, or the pid Dagster's in-process
    executor logs) and no process of that id lives, or the one that does started after the run (the
    id was reused). A run of another machine (our host tag) is never judged. Without /proc-style
    process information (Windows) nothing is judged: mark such a run failed in the UI."""
    reaped = []
    # Runs the UI or the daemon launched carry no host tag. On SQLite storage they are of this
    # machine (SQLite is not for several machines at once); on a shared instance (PostgreSQL, a
    # run launcher starting runs in Kubernetes pods) they may run anywhere, so they are not judged.
    local_instance = _single_machine(instance)
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=list(_RECOVERABLE))):
        run = record.dagster_run
        if HOST_TAG not in run.tags and not local_instance:
            continue
        if run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
            continue
        pid = _run_pid(instance, run)
        if pid is None or _process_alive(pid, since=record.create_timestamp.timestamp()):
            continue
        when = record.create_timestamp.astimezone().strftime("%Y-%m-%d %H:%M")
        instance.report_run_failed(run, message=(
            f"adnet: the process of this run (pid {pid}) is gone: it was killed or the machine stopped. "
            f"Marked failed by the next run, which redoes every step."))
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
        echo(f"adnet: run {run.run_id[:8]} of {when} was interrupted (its process {pid} is gone); marked failed. "
             f"Its finished steps are kept and this run redoes them all.")
    removed: list[Path] = []
    if not instance.get_run_records(filters=dg.RunsFilter(statuses=list(_ACTIVE)), limit=1):
        removed = remove_leftovers(layout)
        if removed:
            echo(f"adnet: removed {len(removed)} temporary file(s) an interrupted run left "
                 f"(e.g. {removed[0].relative_to(layout.root)})")
    return reaped, removed


def _single_machine(instance: dg.DagsterInstance) -> bool:
    """Whether the instance's runs are stored in SQLite, which only one machine uses."""
    from dagster._core.storage.runs import SqliteRunStorage

    return isinstance(instance.run_storage, SqliteRunStorage)


def _run_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    tagged = run.tags.get(PID_TAG)
    if tagged and tagged.isdigit():
        return int(tagged)
    pid = None  # runs launched by the UI or the daemon: "Executing steps in process (pid: N)"
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        value = (data.metadata or {}).get("pid") if data is not None else None
        text = str(getattr(value, "value", value) or "")
        if text.isdigit():
            pid = int(text)
    return pid


def _process_alive(pid: int, *, since: float) -> bool:
    """Whether process ``pid`` lives and may be the one that created a run at ``since`` (epoch s)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows: never judged there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # PermissionError: it exists, as another user's process
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    if state in ("Z", "X"):  # killed and not yet reaped by its parent
        return False
    return started <= since + 2.0  # started after the run was created: the id was reused


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """(state, start time in epoch seconds) of a process from /proc; None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime 22
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def remove_leftovers(layout: DataLayout) -> list[Path]:
    """Remove the temporary files of interrupted runs from the folders adnet writes (never the inputs:
    snapshots, directory, billing). Call only when no run is in progress. Returns what was removed."""
    removed = []
    for path in _leftovers(layout):
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _leftovers(layout: DataLayout) -> Iterator[Path]:
    def matching(folder: Path, recursive: bool) -> Iterator[Path]:
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*") if recursive else folder.glob("*")):
            if _LEFTOVER.match(path.name) and not any(_LEFTOVER.match(p) for p in path.relative_to(folder).parts[:-1]):
                yield path

    yield from matching(layout.root, recursive=False)  # the database's own (encrypt, forget)
    yield from matching(layout.analyst_database.parent, recursive=False)
    for folder in (layout.exports, layout.shared_exports, layout.warehouse):
        yield from matching(folder, recursive=True)
    if layout.tmp.is_dir():  # DuckDB's spill files: it removes them on close, a killed process cannot
        yield from sorted(layout.tmp.iterdir())


# ---------------------------------------------------------------- messages

def _failure_message(event: dg.DagsterEvent) -> str:
    """The user's own error (file, line, fix) rather than Dagster's wrapper around it."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None and "Error occurred while executing" in error.message:
        error = error.cause
    text = failure_text(error) if error is not None else (event.message or "failed")
    return "\n".join(text.splitlines()[:6])


def failure_text(error) -> str:
    """One error (a SerializableErrorInfo, its causes behind it) as a person reads it: a full disk or a
    file size limit in words with the file and the fix; else the error's own message, without the
    module path of its class."""
    chain, seen = [], error
    while seen is not None:
        chain.append(seen)
        seen = seen.cause or getattr(seen, "context", None)
    for item in chain:
        if _DISK_FULL.search(item.message):
            return disk_full_text(item.message)
    text = error.message.strip()
    # "adnet_assets.lib.store.DatabaseLocked: ..." -> "DatabaseLocked: ..."
    return re.sub(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )", "", text)


def disk_full_text(message: str, fallback: Path | None = None) -> str:
    """A full disk (ENOSPC), a file size limit (EFBIG) or a quota, said with the file and what to do."""
    match = _QUOTED_PATH.search(message)
    path = Path(match.group(1)) if match else fallback
    if path is not None and (temporary := _TEMPORARY_OF.match(path.name)):
        path = path.with_name(temporary.group(1))  # the file the temporary one was to replace
    limit = _FILE_SIZE_LIMIT.search(message) is not None
    what = "a file size limit was reached (see `ulimit -f`)" if limit else "the disk is full (or over its quota)"
    where = f" while writing {path}" if path is not None else ""
    fix = "Raise the limit or free space" if limit else "Free space"
    return (f"{what}{where} ({_cause(message)}). {fix} on the disk that holds "
            f"{path.parent if path is not None else 'the data folder'}, then run again: the step that failed "
            f"changed nothing, steps that finished are kept, and the run redoes the rest.")


def _cause(message: str) -> str:
    found = _DISK_FULL.search(message)
    text = found.group(0) if found else "no space"
    errno = re.fullmatch(r"\[errno (\d+)\]", text, re.IGNORECASE)
    return os.strerror(int(errno.group(1))) if errno else text


def disk_full_message(exc: BaseException, fallback: Path | None = None) -> str | None:
    """:func:`disk_full_text` for an exception (or one it was raised from) that says the disk is full
    or a file size limit was reached; None for any other error. ``fallback``: the path to name when
    the error names none (SQLite's "database or disk is full")."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        text = f"{type(seen).__name__}: {seen}"
        if _DISK_FULL.search(text):
            return disk_full_text(text, fallback=fallback)
        seen = seen.__cause__ or seen.__context__
    return None


@contextlib.contextmanager
def _disk_full_as_message(layout: DataLayout) -> Iterator[None]:
    """A full disk met outside a step (Dagster's own storage in ``<data>/.dagster``) as :class:`DiskFull`."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as exc:
        message = disk_full_message(exc, fallback=layout.dagster_home)
        if message is None:
            raise
        raise DiskFull(message) from exc
