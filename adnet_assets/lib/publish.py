"""The analysts' copy: a complete, read-only snapshot of the database that runs never lock.

DuckDB takes one read-write process *or* any number of read-only processes on a file, never
both. An analyst whose SQL client keeps ``adnet.duckdb`` open (even read-only) makes every run
wait for the lock and then fail; a run that holds it keeps the analyst out. So analysts do not
open the pipeline's file. At the end of each run the ``analyst_copy`` asset publishes a copy:

1. ``ATTACH`` a new database file beside the target (``.adnet.duckdb.<random>.tmp``, in the same
   folder, so nothing lands in the system temp folder and the rename below stays on one file
   system) and ``COPY FROM DATABASE`` the pipeline's database into it: tables, views (with their
   comments), sequences and macros, read in one transaction, so the copy is consistent. Only a
   read-only connection to the pipeline's file is needed. The pipeline's private ``_``-prefixed
   tables are dropped from the copy.
2. ``DETACH`` it (DuckDB checkpoints and closes it: no ``.wal`` left), ``fsync`` it.
3. ``os.replace`` it onto the target. On POSIX the rename swaps the directory entry only: an
   analyst who has the old copy open keeps reading the old file, undisturbed, until they
   reconnect and get the new one. The run never waits for the analyst, and the analyst's session
   never breaks.

On Windows a file that another process holds open cannot be replaced: ``os.replace`` raises
``PermissionError``. Then the new copy is removed, the old one stays as it is, and
``publish_copy`` raises :class:`CopyInUse`; the asset logs a warning and the run goes on (a run
must not fail because an analyst holds the copy).

A ``<target>.wal`` beside the target means someone opened the copy read-write and wrote to it.
DuckDB refuses to open a database whose WAL belongs to another file ("WAL does not match database
file"), so that WAL would make the new copy unreadable: it is moved aside (``.wal.orphaned-<time>``)
and reported. Analysts' own tables belong in a database of their own (``ATTACH 'notes.duckdb'``).

With a key (``ADNET_DB_KEY``, ``lib/encryption.py``) the copy is encrypted with the same key, and
analysts open it with ``ATTACH '<data>/analyst/adnet.duckdb' AS adnet (ENCRYPTION_KEY ..., READ_ONLY)``
(:func:`open_instructions` gives the exact text).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

import duckdb

from adnet_assets.lib import encryption
from adnet_assets.lib.encryption import FROM_ENV, FromEnv
from adnet_assets.lib.store import connect, database_beside, fsync_dir, fsync_file, quote_ident, sql_path

STALE_TMP_S = 3600.0  # a leftover temporary copy older than this is from a crashed run: removed


class CopyInUse(PermissionError):
    """The target could not be replaced because another process holds it open (Windows)."""


def _remove_stale_temporaries(target: Path) -> None:
    now = time.time()
    for path in target.parent.glob(f".{target.name}.*.tmp*"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > STALE_TMP_S:
                path.unlink()


def _copy_into(con: duckdb.DuckDBPyConnection, tmp: Path, key: str | None) -> None:
    """COPY FROM DATABASE the connection's database into a new file ``tmp``, without private tables;
    encrypted with ``key`` when one is given."""
    source = con.execute("SELECT current_database()").fetchone()[0]
    alias = f"adnet_publish_{secrets.token_hex(4)}"
    if key is None:
        con.execute(f"ATTACH '{sql_path(tmp)}' AS {alias} (READ_WRITE)")
    else:
        encryption.enable_crypto(con, writing=True)  # the source may be open read-only: writing needs more
        con.execute(f"ATTACH ? AS {alias} (ENCRYPTION_KEY ?, READ_WRITE)", [str(tmp), key])
    try:
        con.execute(f"COPY FROM DATABASE {quote_ident(source)} TO {alias}")
        for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND starts_with(table_name, '_')",
                [alias]).fetchall():
            con.execute(f"DROP TABLE {alias}.{quote_ident(name)}")
    finally:
        con.execute(f"DETACH {alias}")  # checkpoints and closes the file: no .wal left beside it


def publish_copy(con_or_path: duckdb.DuckDBPyConnection | str | os.PathLike[str], target: str | os.PathLike[str], *,
                 lock_timeout_s: float = 600.0, log=None, key: str | None | FromEnv = FROM_ENV) -> Path:
    """Copy the database (an open connection, or a path opened read-only) to ``target`` atomically;
    returns ``target``. With a key (by default ``ADNET_DB_KEY``) the copy is encrypted with it: a
    plain copy would leak what the pipeline's file protects.

    Raises :class:`CopyInUse` (the old copy left in place, nothing left behind) when the target
    cannot be replaced because another process holds it open (Windows)."""
    target = Path(target)
    key = encryption.resolve(key)
    if not isinstance(con_or_path, duckdb.DuckDBPyConnection):
        with connect(Path(con_or_path), read_only=True, lock_timeout_s=lock_timeout_s, log=log, key=key) as con:
            return publish_copy(con, target, log=log, key=key)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    with database_beside(target) as tmp:
        _copy_into(con_or_path, tmp, key)
        fsync_file(tmp)
        wal = target.with_name(target.name + ".wal")
        if wal.exists():
            aside = wal.with_name(f"{wal.name}.orphaned-{time.strftime('%Y%m%dT%H%M%S')}")
            os.replace(wal, aside)
            if log is not None:
                log(f"{wal} belonged to a session that wrote to the analysts' copy; moved aside to "
                    f"{aside.name} (it would make the new copy unreadable)")
        try:
            os.replace(tmp, target)
        except PermissionError as exc:
            raise CopyInUse(
                f"{target} is open in another program (a SQL client?) and cannot be replaced on this system; "
                f"the previous copy stays. Close it and run again to get the new data. ({exc})") from exc
        fsync_dir(target.parent)
    return target


def contents(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], dict[str, str]]:
    """The tables (name -> rows) and views (name -> description) a copy of ``con``'s database holds.

    Read from the source, not by opening the published copy: an analyst may hold that open in a
    way that excludes us, and the run must not wait for them."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND NOT starts_with(table_name, '_') ORDER BY 1").fetchall()]
    tables = {n: con.execute(f"SELECT count(*) FROM {quote_ident(n)}").fetchone()[0] for n in names}
    views = dict(con.execute(
        "SELECT view_name, coalesce(comment, '') FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND NOT internal ORDER BY 1").fetchall())
    return tables, views


def open_instructions(path: str | os.PathLike[str], *, encrypted: bool) -> str:
    """How an analyst opens the copy at ``path`` (markdown): the duckdb CLI and Python."""
    path = str(path)
    if not encrypted:
        return (f"```\nduckdb -readonly {path}\n```\n\n"
                f"Python: `duckdb.connect({path!r}, read_only=True)`. Reconnect to see a newer run's data.")
    quoted = path.replace("'", "''")
    return (f"The copy is encrypted with the key in `{encryption.KEY_ENV}` (ask whoever runs adnet; never "
            f"write it into a file or a notebook). With `{encryption.KEY_ENV}` set in your shell:\n\n"
            f"```\nduckdb\nATTACH '{quoted}' AS adnet (ENCRYPTION_KEY getenv('{encryption.KEY_ENV}'), READ_ONLY);\n"
            f"USE adnet;\n```\n\n"
            f"Python:\n\n```\nimport duckdb, os\ncon = duckdb.connect()\n"
            f"con.execute(\"ATTACH ? AS adnet (ENCRYPTION_KEY ?, READ_ONLY)\",\n"
            f"            [{path!r}, os.environ['{encryption.KEY_ENV}']])\n"
            f"con.execute(\"USE adnet\")\n```\n\nReconnect to see a newer run's data.")
