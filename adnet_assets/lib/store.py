"""DuckDB and file plumbing: short connections that wait for the single-writer lock, atomic files.

DuckDB lets one process write a database file at a time, and a writer blocks read-only readers
in other processes (and the reverse). Every connection here is opened for one step and closed
at once; a writer that finds the file locked waits and retries for ``lock_timeout_s`` and then
fails with a message that says who to ask to let go, instead of a bare IOException.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from adnet_assets.schema import Table


class DatabaseLocked(RuntimeError):
    pass


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting lock" in text or "resource temporarily unavailable" in text


@contextlib.contextmanager
def connect(path: Path, *, read_only: bool = False, lock_timeout_s: float = 600.0,
            threads: int | None = None, log=None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the analysts' database for one step; wait out another process's lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.Error) as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(
                    f"{path}: another process holds the DuckDB lock (a run, or a SQL client with the file open) "
                    f"and did not let go within {lock_timeout_s:.0f}s. Close that client, or open the file "
                    f"read-only from a copy, then run again. DuckDB said: {exc}") from exc
            if log is not None:
                log(f"{path.name} is locked by another process; waiting {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        yield con
    finally:
        con.close()


def ensure_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create the table from its spec, and add columns a newer spec has (extend, never break)."""
    con.execute(table.ddl())
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
        [table.name]).fetchall()}
    for col in table.columns:
        if col.name not in have:
            con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {col.type}')


def replace_table(con: duckdb.DuckDBPyConnection, table: Table, select_sql: str, params=None) -> int:
    """Atomically replace a whole table's rows with a query's (inside the caller's transaction)."""
    ensure_table(con, table)
    con.execute(f'DELETE FROM "{table.name}"')
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    con.execute(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM ({select_sql})', params or [])
    return con.execute(f'SELECT count(*) FROM "{table.name}"').fetchall()[0][0]  # fetchall: leave no open result


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def atomic_file(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``target`` to write to; renamed onto ``target`` when the block
    succeeds (after an fsync), removed when it fails. Readers never see half a file, and nothing
    is written outside the target's folder (no copy of sensitive data left in the system temp)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_parquet_atomically(con: duckdb.DuckDBPyConnection, select_sql: str, target: Path) -> None:
    """COPY a query to Parquet in a temporary file beside ``target``, then rename it into place."""
    with atomic_file(target) as tmp:
        con.execute(f"COPY ({select_sql}) TO '{sql_path(tmp)}' (FORMAT parquet, COMPRESSION zstd)")


def sql_path(path: str | Path) -> str:
    """A path quoted for use inside a SQL string literal."""
    return str(path).replace("'", "''")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table (or view) of this name exists in the connection's current schema."""
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()",
        [name]).fetchall()[0][0] > 0


def prune_files(folder: Path, pattern: str, keep: Iterable[Path]) -> list[Path]:
    """Remove the files in ``folder`` matching ``pattern`` that are not in ``keep`` (for example the
    export of a network that has since dissolved, which would otherwise lie there looking current)."""
    wanted = {Path(p).resolve() for p in keep}
    removed = []
    for path in sorted(Path(folder).glob(pattern)):
        if path.is_file() and path.resolve() not in wanted:
            path.unlink()
            removed.append(path)
    return removed


def replace_quarantine(con: duckdb.DuckDBPyConnection, level: str, rows: Iterable[tuple]) -> None:
    """Replace the ``quarantine`` rows of one reader (``level``, e.g. 'directory' or 'billing') with
    ``rows`` of ``(source_file, line_no, reason, raw_line)``. Inside the caller's transaction."""
    from adnet_assets.schema import QUARANTINE

    ensure_table(con, QUARANTINE)
    con.execute(f'DELETE FROM "{QUARANTINE.name}" WHERE level = ?', [level])
    rows = [[level, *row] for row in rows]
    if rows:
        con.executemany(f'INSERT INTO "{QUARANTINE.name}" (level, source_file, line_no, reason, raw_line) '
                        "VALUES (?, ?, ?, ?, ?)", rows)
