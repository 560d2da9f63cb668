"""Faults: a run killed at any step and run again ends where an uninterrupted run ends; exports are
never half-written; a full disk or a locked database fails the run with the file and the fix, and
changes nothing.

One small generated market is run twice from the same inputs: R without interruption, K killed
(SIGKILL to its whole process group) at three points and run again after each, the last run let
finish. The runs are mostly waiting on the instance's SQLite fsyncs, so R runs beside the K chain.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib import excel_export, ftm_export, graph_export, network_picture, store, xmind_export
from adnet_assets.runner import (
    LOCK_TIMEOUT_ENV, _process_alive, disk_full_message, disk_full_text, failure_text, lock_timeout_from_env,
    remove_leftovers,
)
from adnet_tests.conftest import ad, record_atomic_files, run_adnet, write_snapshot

SEED, SCALE = 5, 0.02
RUN_TIMEOUT_S = 300
SITE = "eskorte-annonser.example"
NEW_SNAPSHOT = "2026-09-03T0615Z"  # a week after the generated market's last crawl

# Columns whose values say when, or in which run, a row was written, not what the data is: they
# differ between any two runs, interrupted or not.
RUN_DEPENDENT = {
    "network_history": ["run_at"],      # the clock when the networks were computed
    "_network_snapshot": ["run_at"],    # the same clock, kept for the next run's id matching
    "_window_files": ["mtime_ns"],      # when the window's Parquet file was rewritten (each run rewrites
                                        # it, byte for byte the same: the bytes column is compared)
    "audit_log": ["done_at", "run_id"],  # when and in which run an export was done
}
# Logs of runs: every run that got that far appends rows, so K (more runs) has more. The rows'
# content is compared as a set; network_history's extra rows must be "kept" events (see below).
APPENDED_PER_RUN = {"network_history", "audit_log"}
# Files compared by content rather than bytes: the databases (by their tables, above) and the workbook
# (its creation time is in docProps/core.xml, and a table sheet lists the table's rows in the
# table's storage order, which a run does not fix).
COMPARED_BY_CONTENT = {"adnet.duckdb", "analyst/adnet.duckdb", "exports/adnet.xlsx"}
LEFTOVER = re.compile(r"^(tmp_)?\..+\.tmp(\.[a-z]+)?$")
REAL_ATOMIC_FILE = store.atomic_file


# ---------------------------------------------------------------- running adnet

def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env.pop("DAGSTER_HOME", None)  # the data folder's own instance, as a user gets it
    env.pop(LOCK_TIMEOUT_ENV, None)
    return env


def _start_run(root: Path, *, env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "adnet_assets.cli", "run", "--data-dir", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(env_extra),
                            start_new_session=True)  # its own process group, killed whole


def run_until_killed(root: Path, *, after_line: Callable[[str], bool] | None = None,
                     when_exists: str | None = None) -> str:
    """Start ``adnet run``, SIGKILL its process group right after a stderr line matches ``after_line``
    or a file matching the glob ``when_exists`` (under ``root``) appears; returns its stderr."""
    proc = _start_run(root)
    lines: list[str] = []
    hit = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if after_line is not None and after_line(line):
                hit.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not hit.is_set() and proc.poll() is None and time.monotonic() < deadline:
        if when_exists is not None and any(root.glob(when_exists)):
            break
        hit.wait(0.01)
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(10)
    err = "".join(lines)
    assert running and time.monotonic() < deadline, f"the run ended (or hung) before its kill point:\n{err[-4000:]}"
    return err


class Background:
    """``adnet run`` in a data folder, started now and waited for when its result is needed."""

    def __init__(self, root: Path):
        self.root = root
        self.proc = _start_run(root)
        self._err: str | None = None

    def done(self) -> Path:
        if self._err is None:
            self._err = self.proc.communicate(timeout=RUN_TIMEOUT_S)[1]
        assert self.proc.returncode == 0, self._err[-4000:]
        return self.root


def _copy_inputs(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def fresh_market(tmp_path_factory) -> Path:
    """A small generated market, inputs only (never run: tests copy it)."""
    from adnet_assets.demo.generator import generate_market

    root = tmp_path_factory.mktemp("fresh") / "data"
    generate_market(root, seed=SEED, scale=SCALE)
    return root


@pytest.fixture(scope="module")
def reference(fresh_market, tmp_path_factory) -> Background:
    """R: one uninterrupted ``adnet run`` on a copy of the market (started here, in the background)."""
    return Background(_copy_inputs(fresh_market, tmp_path_factory.mktemp("reference") / "data"))


# ---------------------------------------------------------------- comparing two data folders

def table_contents(database: Path) -> dict[str, list[tuple]]:
    """Every table of a database: its rows sorted, without RUN_DEPENDENT columns; APPENDED_PER_RUN
    tables as their distinct rows."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out = {}
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                           "current_database() ORDER BY 1").fetchall()]
        for name in names:
            skip = RUN_DEPENDENT.get(name, [])
            columns = f"* EXCLUDE ({', '.join(skip)})" if skip else "*"
            distinct = "DISTINCT " if name in APPENDED_PER_RUN else ""
            out[name] = con.execute(f'SELECT {distinct}{columns} FROM "{name}" ORDER BY ALL').fetchall()
        out["(views)"] = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                                     "AND database_name = current_database() ORDER BY 1").fetchall()
        return out
    finally:
        con.close()


def files(root: Path) -> dict[str, bytes]:
    """Every file adnet wrote or read in a data folder (not its Dagster instance), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != ".dagster"}


def workbook_contents(path: Path) -> dict[str, object]:
    """A workbook's sheets (in order) with their header and their rows as a sorted list, and every
    other part of the file (pictures, styles) by bytes; not docProps/core.xml (its creation time)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    sheets = {}
    for sheet in book.worksheets:
        rows = [tuple(cell for cell in row) for row in sheet.iter_rows(values_only=True)]
        sheets[sheet.title] = (rows[:1], sorted(rows[1:], key=repr))
    book.close()
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()
                 if n != "docProps/core.xml" and not n.startswith("xl/worksheets/sheet")}
    return {"sheets": list(sheets.items()), "parts": parts}


def leftovers(root: Path) -> list[str]:
    """Temporary files (``.<name>.<random>.tmp``) and DuckDB spill files anywhere in a data folder."""
    found = [p.relative_to(root).as_posix() for p in root.rglob("*") if LEFTOVER.match(p.name)]
    spill = root / ".tmp"
    found += [p.relative_to(root).as_posix() for p in spill.iterdir()] if spill.is_dir() else []
    return sorted(found)


def runs_of(root: Path) -> list:
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(DataLayout.at(root).dagster_home))) as instance:
        return list(instance.get_runs())


# ---------------------------------------------------------------- killed at any step

# (where, the stderr line after which to kill, or the file whose appearance kills). Three points keep
# the test near three minutes: while ingest writes Parquet files; in the evidence steps, which commit
# a transaction each (the kill lands in the next one); and while the analysts' copy is written, after
# every export (a temporary copy is left behind). A kill in the middle of the exports, e.g.
# ("the exports", lambda line: "network pictures: 2/" in line, None), passes too and costs a minute;
# the writers' own test below shows that no export is ever half-written.
KILL_POINTS = [
    ("ingest", None, "warehouse/observations/window=*.parquet"),  # some windows written, the rest not yet
    ("the evidence steps", lambda line: "owner_tables" in line, None),
    ("the analysts' copy", None, "analyst/.adnet.duckdb.*.tmp"),
]


def test_a_run_killed_at_any_step_and_run_again_ends_as_an_uninterrupted_run(fresh_market, reference, tmp_path):
    k = _copy_inputs(fresh_market, tmp_path / "K" / "data")
    logs = []
    for where, line, appears in KILL_POINTS:
        logs.append((where, run_until_killed(k, after_line=line, when_exists=appears)))
    final = run_adnet("run", "--data-dir", str(k))
    assert final.returncode == 0, final.stderr[-4000:]
    r = reference.done()

    # every run after a kill said so and went on (a killed run holds the DuckDB pool's slot: without
    # marking it failed, the next run would wait for that slot for ever)
    for (where, *_), (_, err) in zip(KILL_POINTS[:-1], logs[1:]):
        assert "was interrupted" in err and "marked failed" in err, f"after the kill during {where}:\n{err[-3000:]}"
    assert "was interrupted" in final.stderr and "removed" in final.stderr, final.stderr[-3000:]
    assert "Traceback" not in final.stderr
    statuses = [run.status.value for run in runs_of(k)]
    assert statuses.count("SUCCESS") == 1 and statuses.count("FAILURE") == len(KILL_POINTS), statuses

    # the database and the analysts' copy: every table, row for row
    for database in ("adnet.duckdb", "analyst/adnet.duckdb"):
        want, got = table_contents(r / database), table_contents(k / database)
        assert sorted(got) == sorted(want), database
        for name in want:
            if name != "network_history":
                assert got[name] == want[name], f"{database}: table {name} differs"
        # each time networks were computed again on the same data they were "kept", whole
        history = [row for row in got["network_history"] if row[1] != "kept"]
        kept = {(row[0], row[4]) for row in got["network_history"] if row[1] == "kept"}
        assert history == want["network_history"]
        assert all(row[3] == 1.0 for row in got["network_history"] if row[1] == "kept")
        assert kept <= {(row[0], row[4]) for row in want["network_history"]}
    # the files: the same names, the same bytes (the writers are deterministic), no temporary file
    want_files, got_files = files(r), files(k)
    assert sorted(got_files) == sorted(want_files)
    differ = [name for name in want_files if name not in COMPARED_BY_CONTENT and got_files[name] != want_files[name]]
    assert differ == []
    assert workbook_contents(k / "exports/adnet.xlsx") == workbook_contents(r / "exports/adnet.xlsx")
    assert leftovers(k) == [] and leftovers(r) == []


# ---------------------------------------------------------------- exports never half-written

class WriterFailed(RuntimeError):
    pass


def _atomic_file_failing_at_the_end(written: list[Path]):
    """store.atomic_file, failing when the writer has written the whole temporary file (the moment
    before the rename, when the most is at stake)."""
    @contextlib.contextmanager
    def failing(target: Path, suffix: str = ".tmp"):
        with REAL_ATOMIC_FILE(target, suffix) as tmp:
            yield tmp
            assert tmp.stat().st_size > 0, f"{target}: the writer wrote nothing to the temporary file"
            written.append(Path(target))
            raise WriterFailed(f"injected failure while writing {target}")

    return failing


WRITERS = {  # name -> (module whose atomic_file it uses, write(con, folder))
    "workbook": (excel_export, lambda con, out: excel_export.write_workbook(con, out / "adnet.xlsx")),
    "xmind": (xmind_export, lambda con, out: xmind_export.write_network_maps(con, out)),
    "pictures": (network_picture, lambda con, out: network_picture.write_network_pictures(con, out)),
    "graph": (graph_export, lambda con, out: graph_export.write_graph_files(con, out)),
    "network graph": (graph_export, lambda con, out: graph_export.write_graph_files(con, out, network_id="N-1")),
    "ftm": (ftm_export, lambda con, out: ftm_export.write_ftm_entities(con, out / "evidence_graph.ftm.json")),
    "warehouse parquet": (store, lambda con, out: store.write_parquet_atomically(
        con, "SELECT * FROM ad_observations", out / "window=2026-06-01.parquet")),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_writer_that_fails_leaves_the_previous_file_and_no_temporary_file(writer, reference, tmp_path, monkeypatch):
    module, write = WRITERS[writer]
    out = tmp_path / "out"
    out.mkdir()
    con = duckdb.connect(str(reference.done() / "adnet.duckdb"), read_only=True)
    try:
        # every file the writer makes goes through atomic_file
        targets = record_atomic_files(monkeypatch, module)
        write(con, out)
        made = sorted(p.resolve() for p in out.rglob("*") if p.is_file())
        assert made and made == sorted(set(targets)), f"{writer} wrote files without atomic_file"
        # the previous files stay as they were when the writer fails
        previous = {p: f"previous {p.name}".encode() for p in made}
        for path, data in previous.items():
            path.write_bytes(data)
        failed: list[Path] = []
        monkeypatch.setattr(module, "atomic_file", _atomic_file_failing_at_the_end(failed))
        with pytest.raises(WriterFailed):
            write(con, out)
    finally:
        con.close()
    assert failed, f"{writer} never reached its atomic_file"
    assert sorted(p.resolve() for p in out.rglob("*")) == sorted(previous)  # no temporary file or folder
    assert all(path.read_bytes() == data for path, data in previous.items())


# ---------------------------------------------------------------- full disk, locked database

FILE_SIZE_LIMITED = textwrap.dedent("""
    import resource, runpy, signal, sys
    limit = int(sys.argv.pop(1))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv[0] = "adnet"
    runpy.run_module("adnet_assets.cli", run_name="__main__")
""")


def _new_snapshot(root: Path, n_ads: int, text: str = "") -> Path:
    """Another crawl, a week after the market's last: a run would change the tables."""
    return write_snapshot(root, SITE, NEW_SNAPSHOT, [
        ad(f"99{n:05d}", "2026-09-03T06:20:00Z", [f"+47412{n:05d}"], city="Oslo", title=f"New ad {n}", text=text)
        for n in range(n_ads)]) / "ads.jsonl"


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="file size limits are POSIX")
def test_a_full_disk_fails_the_run_with_the_file_and_the_fix_and_changes_nothing(reference, tmp_path):
    root = shutil.copytree(reference.done(), tmp_path / "data", symlinks=True)
    before = table_contents(root / "adnet.duckdb")
    # A crawl whose lines the database's write-ahead log must hold (raw lines are kept) but whose
    # Parquet file is small (the text repeats): the limit lies between, above Dagster's own files.
    ads_file = _new_snapshot(root, 5000, text="Ny i byen, diskret leilighet sentralt. " * 30)
    dagster_files = max(p.stat().st_size for p in (root / ".dagster").rglob("*") if p.is_file())
    limit = max(4_000_000, dagster_files + 2_000_000)
    assert limit < ads_file.stat().st_size
    done = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMITED, str(limit), "run", "--data-dir", str(root)],
                          capture_output=True, text=True, env=_env(), timeout=RUN_TIMEOUT_S)
    assert done.returncode == 1, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    failure = done.stderr[done.stderr.index("the run failed"):]
    assert "a file size limit was reached" in failure and str(root / "adnet.duckdb") in failure, failure
    assert "free space" in failure and "run again" in failure, failure
    assert table_contents(root / "adnet.duckdb") == before
    assert leftovers(root) == []
    wal = root / "adnet.duckdb.wal"
    assert not wal.exists() or wal.stat().st_size == 0  # DuckDB truncates what the failed commit began


def test_a_locked_database_fails_the_run_with_the_file_and_the_fix_and_changes_nothing(reference, tmp_path):
    root = shutil.copytree(reference.done(), tmp_path / "data", symlinks=True)
    before, runs_before = table_contents(root / "adnet.duckdb"), len(runs_of(root))
    _new_snapshot(root, 20)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\n"
                               "print('holding', flush=True)\ntime.sleep(300)", str(root / "adnet.duckdb")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        done = run_adnet("run", "--data-dir", str(root), env_extra={LOCK_TIMEOUT_ENV: "1"})
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    assert f"{root / 'adnet.duckdb'}: another process holds the DuckDB lock" in done.stderr, done.stderr
    assert "Close that client" in done.stderr and "run again" in done.stderr
    assert str(DataLayout.at(root).analyst_database) in done.stderr  # where SQL clients should go instead
    # nothing was started, nothing written
    assert len(runs_of(root)) == runs_before
    assert not DataLayout.at(root).window_file("observations", NEW_SNAPSHOT[:10]).exists()
    assert table_contents(root / "adnet.duckdb") == before
    assert leftovers(root) == []


# ---------------------------------------------------------------- the pieces, on their own

def test_the_lock_wait_comes_from_the_environment_and_a_bad_value_says_what_to_write(monkeypatch):
    monkeypatch.delenv(LOCK_TIMEOUT_ENV, raising=False)
    assert lock_timeout_from_env() is None
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2.5")
    assert lock_timeout_from_env() == 2.5
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(LOCK_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=f"{LOCK_TIMEOUT_ENV}=.*e.g. {LOCK_TIMEOUT_ENV}=60"):
            lock_timeout_from_env()


def test_a_full_disk_is_said_in_words_with_the_file_the_temporary_file_stood_for():
    text = disk_full_text("OSError: [Errno 28] No space left on device: '/d/exports/.adnet.xlsx.k2j_3ab.tmp.xlsx'")
    assert text.startswith("the disk is full") and "/d/exports/adnet.xlsx" in text and ".tmp" not in text
    assert "No space left on device" in text and "Free space on the disk that holds /d/exports" in text

    class Error:  # SerializableErrorInfo's shape: the disk-full error behind a wrapper
        def __init__(self, message, cause=None):
            self.message, self.cause, self.context = message, cause, None

    wrapped = Error("dagster._core.errors.SomeError: step failed",
                    Error('_duckdb.IOException: IO Error: Could not write file "/d/adnet.duckdb.wal": File too large'))
    assert failure_text(wrapped).startswith(
        "a file size limit was reached (see `ulimit -f`) while writing /d/adnet.duckdb.wal")
    assert failure_text(Error("adnet_assets.lib.store.DatabaseLocked: /d/adnet.duckdb: held")) == \
        "DatabaseLocked: /d/adnet.duckdb: held"
    # outside a step: Dagster's own SQLite storage names no file, so the instance's folder is named
    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as exc:
            raise RuntimeError("could not store the event") from exc
    except RuntimeError as exc:
        assert disk_full_message(exc, fallback=Path("/d/.dagster")).startswith(
            "the disk is full (or over its quota) while writing /d/.dagster")
    assert disk_full_message(ValueError("a value")) is None


def test_a_process_is_judged_gone_when_it_died_or_its_id_went_to_a_later_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _process_alive(proc.pid, since=time.time())
        if Path(f"/proc/{proc.pid}/stat").exists():  # a run created before this process started
            assert not _process_alive(proc.pid, since=time.time() - 3600)
    finally:
        proc.kill()
        proc.wait()
    assert not _process_alive(proc.pid, since=time.time())
    assert _process_alive(os.getpid(), since=0)


def test_the_warehouse_parquet_writer_leaves_nothing_but_its_own_temporary_file_while_it_writes(tmp_path):
    """DuckDB's COPY onto an existing file writes a ``tmp_<name>`` of its own first; a kill then left
    it in the warehouse. The writer's file is the temporary already, so COPY must write it directly."""
    target = tmp_path / "warehouse" / "window=2026-06-01.parquet"
    seen: set[tuple[str, ...]] = set()

    def listing(i: int) -> int:  # called for each row while COPY writes: what is in the folder then
        seen.add(tuple(sorted(p.name for p in target.parent.iterdir())))
        return i

    with duckdb.connect(config={"threads": 1}) as con:
        con.create_function("listing", listing, side_effects=True)
        for _ in range(2):  # the second time over the first file
            store.write_parquet_atomically(
                con, "SELECT listing(i::INTEGER) AS a FROM range(5000) t(i)", target, key=None)
        assert con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone() == (5000,)
    assert seen and all(len([n for n in names if n != target.name]) == 1 for names in seen), seen
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_the_leftover_sweep_removes_temporary_files_of_killed_writers_and_nothing_else(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    kept = [layout.warehouse / "quarantine" / "window=2026-06-01.parquet", layout.exports / "adnet.xlsx",
            layout.root / "snapshots" / "s" / "2026-06-01T0600Z" / ".ads.jsonl.x1.tmp"]  # inputs are never swept
    swept = [layout.warehouse / "quarantine" / "tmp_.window=2026-06-01.parquet.71mev4ds.tmp",
             layout.warehouse / "snapshots" / ".window=2026-06-04.parquet.k2j_3ab.tmp",
             layout.exports / ".adnet.xlsx.abc.tmp.xlsx", layout.root / ".adnet.duckdb.0a1b.compact.tmp",
             layout.tmp / "duckdb_temp_storage-0.tmp"]
    for path in kept + swept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert sorted(remove_leftovers(layout)) == sorted(swept)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in swept)
