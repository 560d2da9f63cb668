"""DuckDB and file plumbing: short connections that wait for the single-writer lock, atomic files.

DuckDB lets one process write a database file at a time, and a writer blocks read-only readers
in other processes (and the reverse). Every connection here is opened for one step and closed
at once; a writer that finds the file locked waits and retries for ``lock_timeout_s`` and then
fails with a message that says who to ask to let go, instead of a bare IOException.

Every database file of an investigation is opened by :func:`connect`. With a key (``ADNET_DB_KEY``,
see ``lib/encryption.py``) the file is ATTACHed encrypted to an in-memory DuckDB under its file
stem and made the default (``USE``), so SQL sees the same catalog name as with a plain file; the
warehouse key is registered for encrypted Parquet, and spill files are encrypted. Spill files go
to ``<data>/.tmp`` (the folder beside the database), never to the working directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib import encryption
from adnet_assets.lib.encryption import FROM_ENV, FromEnv
from adnet_assets.schema import Table

T = TypeVar("T")

TMP_FOLDER = ".tmp"  # DuckDB's spill folder, beside the database (DataLayout.tmp)


class DatabaseLocked(RuntimeError):
    pass


def _is_lock_error(exc: Exception) -> bool:
    # DuckDB: 'Could not set lock on file "...": Conflicting lock is held in ...'. Matched on these
    # words, not on "lock" alone: a path (or "block") may contain those four letters.
    text = str(exc).lower()
    return "could not set lock" in text or "conflicting lock" in text or "resource temporarily unavailable" in text


def quote_ident(name: str) -> str:
    """A table or column name as an SQL identifier (DuckDB and SQLite)."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    """A text as an SQL string literal (where a statement cannot take a parameter, e.g. inside COPY)."""
    return "'" + value.replace("'", "''") + "'"


def _open(path: Path, read_only: bool, key: str | None) -> duckdb.DuckDBPyConnection:
    if key is None:
        return duckdb.connect(str(path), read_only=read_only)
    con = duckdb.connect()
    try:
        encryption.enable_crypto(con, writing=not read_only)
        mode = "READ_ONLY" if read_only else "READ_WRITE"
        con.execute(f"ATTACH ? AS {quote_ident(path.stem)} (ENCRYPTION_KEY ?, {mode})", [str(path), key])
        con.execute(f"USE {quote_ident(path.stem)}")
    except BaseException:
        con.close()
        raise
    return con


#: DuckDB's own default is 80% of RAM, for a process that holds nothing else; adnet's steps run inside
#: Dagster's process (and a multiprocess run has several), so a connection takes 75% of RAM at most,
#: and never more than this (a larger working set spills to ``<data>/.tmp``).
MEMORY_LIMIT_CAP_BYTES = 6 * 1024 ** 3


def default_memory_limit() -> str:
    """75% of the machine's RAM, capped at :data:`MEMORY_LIMIT_CAP_BYTES`, as a DuckDB size (``'4096MiB'``)."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: DuckDB's default would be 80% of RAM
        ram = 8 * 1024 ** 3
    return f"{min(int(ram * 0.75), MEMORY_LIMIT_CAP_BYTES) // 1024 ** 2}MiB"


def _settle(con: duckdb.DuckDBPyConnection, key: str | None, temp_dir: Path, threads: int | None,
            memory_limit: str | None = None) -> None:
    """The settings every connection gets: UTC, threads, memory limit, spill folder, and with a key its encryption.

    ``memory_limit``: a DuckDB size such as ``'4GiB'`` (default :func:`default_memory_limit`)."""
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET memory_limit = ?", [memory_limit or default_memory_limit()])
    # made here, not by DuckDB: a folder DuckDB creates it removes whole on close, under another
    # process's spill files
    temp_dir.mkdir(parents=True, exist_ok=True)
    con.execute("SET temp_directory = ?", [str(temp_dir)])
    if key is not None:
        con.execute("SET temp_file_encryption = true")
        encryption.register_parquet_key(con, key)


def wait_for_lock(open_it: Callable[[], T], path: Path, *, key: str | None, lock_timeout_s: float,
                  log=None, then: str = "run again") -> T:
    """``open_it()`` (a connect or an ATTACH of ``path``), retried while another process holds the
    DuckDB lock, for ``lock_timeout_s`` at most; then :class:`DatabaseLocked` saying who to ask to
    let go. A key that does not fit the file raises :class:`encryption.EncryptionMismatch`."""
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.2
    while True:
        try:
            return open_it()
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                mismatch = encryption.explain(exc, path, key)
                if mismatch is not None:
                    raise mismatch from exc
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(
                    f"{path}: another process holds the DuckDB lock (a run, or a SQL client with the file open) "
                    f"and did not let go within {lock_timeout_s:.0f}s. Close that client, or open the file "
                    f"read-only from a copy, then {then}. DuckDB said: {exc}") from exc
            if log is not None:
                log(f"{path.name} is locked by another process; waiting {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _create_whole(path: Path, key: str | None) -> None:
    """A new database file appears whole: DuckDB makes it under a temporary name beside it, then it is
    linked into place (``os.link`` fails when another process got there first: theirs stands). Opened
    directly, a process could find the file another one is still writing its first bytes into, and
    fail on "not a valid DuckDB database file" (seen with four windows' runs starting at once)."""
    if path.exists():
        return
    with database_beside(path) as tmp:
        _open(tmp, False, key).close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: replace, unless another process made it meanwhile
            if not path.exists():
                os.replace(tmp, path)


@contextlib.contextmanager
def connect(path: Path, *, read_only: bool = False, lock_timeout_s: float = 600.0,
            threads: int | None = None, log=None, key: str | None | FromEnv = FROM_ENV,
            temp_dir: Path | None = None, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the analysts' database for one step; wait out another process's lock.

    ``key``: by default ``ADNET_DB_KEY`` from the environment (None: a plain file). A key that does
    not fit the file (or no key for an encrypted file) raises :class:`encryption.EncryptionMismatch`
    with the fix. ``temp_dir``: DuckDB's spill folder, by default ``.tmp`` beside the database.
    ``memory_limit``: DuckDB's, e.g. ``'4GiB'`` (default :func:`default_memory_limit`)."""
    path = Path(path)
    key = encryption.resolve(key)
    temp_dir = Path(temp_dir) if temp_dir is not None else path.parent / TMP_FOLDER
    path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only:
        _create_whole(path, key)
    con = wait_for_lock(lambda: _open(path, read_only, key), path, key=key, lock_timeout_s=lock_timeout_s, log=log)
    try:
        _settle(con, key, temp_dir, threads, memory_limit)
        yield con
    finally:
        con.close()


def memory_connection(temp_dir: Path, *, threads: int | None = None, key: str | None | FromEnv = FROM_ENV,
                      memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work that writes no database (e.g. one window's Parquet files); the
    caller closes it (``with`` works). It spills into ``temp_dir`` (inside the data folder) and, with
    a key, spills encrypted and knows the warehouse key for encrypted Parquet. ``memory_limit``: see
    :func:`_settle`."""
    key = encryption.resolve(key)
    con = duckdb.connect()
    try:
        if key is not None:
            encryption.enable_crypto(con, writing=True)
        _settle(con, key, Path(temp_dir), threads, memory_limit)
    except BaseException:
        con.close()
        raise
    return con


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
        fsync_file(Path(tmp))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_parquet_atomically(con: duckdb.DuckDBPyConnection, select_sql: str, target: Path, *,
                             key: str | None | FromEnv = FROM_ENV) -> None:
    """COPY a query to Parquet in a temporary file beside ``target``, then rename it into place.

    With a key (by default ``ADNET_DB_KEY``) the file is encrypted with the warehouse key, which
    the connection must know (:func:`connect` and :func:`memory_connection` register it)."""
    option = encryption.parquet_write_option(encryption.resolve(key))
    with atomic_file(target) as tmp:  # USE_TMP_FILE false: the file is our temporary already (DuckDB
        # would otherwise write a ``tmp_<name>`` of its own beside it, which a kill would leave behind)
        con.execute(f"COPY ({select_sql}) TO '{sql_path(tmp)}' "
                    f"(FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false{option})")


def read_parquet_sql(files: Iterable[Path], *, key: str | None | FromEnv = FROM_ENV) -> str:
    """A ``read_parquet`` table expression over ``files`` (columns united by name), decrypting with the
    warehouse key when one is configured. Use :func:`explain_parquet` on the error it may raise."""
    listed = ", ".join(f"'{sql_path(p)}'" for p in files)
    return f"read_parquet([{listed}], union_by_name = true{encryption.parquet_read_option(encryption.resolve(key))})"


def explain_parquet(exc: Exception, files: Iterable[Path], *, key: str | None | FromEnv = FROM_ENV) -> Exception | None:
    """A key-and-file mismatch met while reading warehouse Parquet files, as a message with the fix."""
    files = list(files)
    named = next((p for p in files if str(p) in str(exc)), files[0] if files else "warehouse")
    return encryption.explain(exc, named, encryption.resolve(key))


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


def fsync_file(path: Path) -> None:
    """Flush ``path``'s bytes to the disk (before it is renamed into place)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (after a rename into it); nothing where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def database_beside(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A new path for a database file beside ``path`` (``.<name>.<random><suffix>``: the same file system, so
    it can be renamed onto ``path``, and a name the leftover sweep knows). Whatever is left of it and of
    its ``.wal`` is removed on the way out (nothing, once it was renamed into place)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}{suffix}"
    try:
        yield tmp
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _table_counts(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    names = [r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1",
        [catalog]).fetchall()]
    return {n: con.execute(f"SELECT count(*) FROM {quote_ident(catalog)}.{'.'.join(quote_ident(p) for p in n.split('.', 1))}"
                           ).fetchone()[0] for n in names}


def _not_the_current_key(path: Path, current_key: str | None) -> encryption.EncryptionMismatch:
    if current_key is None:
        return encryption.EncryptionMismatch(
            f"{path} is already encrypted, with another key than the new one. To change the key, give the key it "
            f"was encrypted with as the current key (adnet encrypt: {encryption.OLD_KEY_ENV}).")
    return encryption.EncryptionMismatch(
        f"{path} is not encrypted with the current key that was given (nor with the new one): check both keys.")


def encrypt_database(path: Path, key: str, *, current_key: str | None = None, lock_timeout_s: float = 600.0,
                     log=None, temp_dir: Path | None = None) -> dict[str, int]:
    """Rewrite the database at ``path`` as a file encrypted with ``key``, atomically; returns its tables' rows.

    The source is plain, or encrypted with ``current_key`` (to change the key). It is opened
    read-write, so the lock keeps runs out while it is copied; its WAL is checkpointed first.
    ``COPY FROM DATABASE`` writes everything (tables, views, sequences, macros) into a new file
    beside it; each table's row count is compared, and only then the new file replaces the old by a
    rename. A file already encrypted with ``key`` is left as it is. Whatever fails, the old file
    stays and no temporary file is left.

    The old file's blocks are unlinked, not overwritten: on most disks they stay readable until
    reused. Set the key before the first run, or keep the data folder on an encrypted disk."""
    path = Path(path)
    key = encryption.check_key(key)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no database to encrypt (run adnet first, or check --data-dir)")
    if current_key != key:
        with contextlib.suppress(encryption.EncryptionMismatch):
            with connect(path, read_only=True, key=key, lock_timeout_s=lock_timeout_s, log=log,
                         temp_dir=temp_dir) as con:
                counts = _table_counts(con, path.stem)
            if log is not None:
                log(f"{path} is already encrypted with this key; left as it is")
            return counts
    alias = f"adnet_encrypt_{secrets.token_hex(4)}"
    replaced = False
    with database_beside(path) as tmp:
        with contextlib.ExitStack() as stack:
            try:
                con = stack.enter_context(connect(path, key=current_key, lock_timeout_s=lock_timeout_s, log=log,
                                                  temp_dir=temp_dir))
            except encryption.EncryptionMismatch as exc:
                raise _not_the_current_key(path, current_key) from exc
            con.execute("CHECKPOINT")
            encryption.enable_crypto(con, writing=True)
            source = con.execute("SELECT current_database()").fetchone()[0]
            con.execute(f"ATTACH ? AS {alias} (ENCRYPTION_KEY ?, READ_WRITE)", [str(tmp), key])
            try:
                con.execute(f"COPY FROM DATABASE {quote_ident(source)} TO {alias}")
                counts, copied = _table_counts(con, source), _table_counts(con, alias)
            finally:
                con.execute(f"DETACH {alias}")  # checkpoints and closes: no .wal beside it
            if copied != counts:
                differ = sorted(t for t in counts if copied.get(t) != counts[t])
                raise RuntimeError(f"{path}: the encrypted copy differs in {', '.join(differ)}; the plain file is "
                                   f"left as it is. Run again; if it persists, report it with this message.")
            fsync_file(tmp)
            try:
                os.replace(tmp, path)  # POSIX: while we hold the lock, so no run writes to the old file meanwhile
                replaced = True
            except PermissionError:  # Windows cannot replace an open file: done below, once it is closed
                pass
        if not replaced:
            os.replace(tmp, path)
        fsync_dir(path.parent)
    if log is not None:
        log(f"{path}: encrypted ({len(counts)} tables)")
    return counts


def encrypt_parquet(path: Path, key: str, *, current_key: str | None = None, temp_dir: Path | None = None) -> int:
    """Rewrite one Parquet file (plain, or encrypted with ``current_key``) encrypted with ``key``,
    atomically; returns its rows. A file already encrypted with ``key`` is left as it is."""
    path = Path(path)
    key = encryption.check_key(key)
    temp_dir = Path(temp_dir) if temp_dir is not None else path.parent / TMP_FOLDER
    with memory_connection(temp_dir, key=key) as con:
        if current_key != key:
            with contextlib.suppress(duckdb.Error):
                return con.execute(f"SELECT count(*) FROM {read_parquet_sql([path], key=key)}").fetchone()[0]
        source = "plain"
        if current_key is not None:
            source = "adnet_current"
            current = encryption.parquet_key(encryption.check_key(current_key))
            con.execute(f"PRAGMA add_parquet_key('{source}', '{current}')")
        option = f", encryption_config = {{footer_key: '{source}'}}" if current_key is not None else ""
        scan = f"read_parquet('{sql_path(path)}'{option})"
        try:
            n = con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0]
        except duckdb.Error as exc:
            if encryption.explain(exc, path, current_key) is not None:
                raise _not_the_current_key(path, current_key) from exc
            raise
        write_parquet_atomically(con, f"SELECT * FROM {scan}", path, key=key)
    return n


def encrypt_data_folder(layout: DataLayout, key: str, *, current_key: str | None = None,
                        lock_timeout_s: float = 600.0, log=None) -> dict[str, object]:
    """Encrypt everything adnet wrote in a data folder with ``key`` (what ``adnet encrypt`` runs): the
    database, the analysts' copy and the warehouse Parquet files, each atomically and each skipped
    when already encrypted with ``key``. Safe to run again after an interruption.

    Not touched: the inputs (snapshots, directory and billing extracts, aliases.csv: written by
    others, and needed as they are) and the exports (made to be carried away); see the README."""
    key = encryption.check_key(key)
    options = {"current_key": current_key, "lock_timeout_s": lock_timeout_s, "log": log, "temp_dir": layout.tmp}
    done: dict[str, object] = {"database": encrypt_database(layout.database, key, **options)}
    if layout.analyst_database.exists():
        done["analyst_copy"] = encrypt_database(layout.analyst_database, key, **options)
    files = sorted(layout.warehouse.glob("*/window=*.parquet")) if layout.warehouse.is_dir() else []
    for path in files:
        encrypt_parquet(path, key, current_key=current_key, temp_dir=layout.tmp)
    done["warehouse_files"] = len(files)
    if log is not None:
        log(f"{len(files)} warehouse file(s) encrypted")
    return done
