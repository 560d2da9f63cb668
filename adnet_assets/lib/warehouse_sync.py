"""Bringing per-window Parquet files into the analysts' database, one changed window at a time.

The partitioned ingest writes ``warehouse/<kind>/window=<key>.parquet``; this step makes the
DuckDB tables agree with those files. Rows are keyed by the window *string*, so replacing a window
deletes exactly its rows (no time-range arithmetic), and only windows whose file changed since the
last sync are touched: a new partition costs work in proportion to that partition. With a key
(``ADNET_DB_KEY``) the files are encrypted and read with the warehouse key (``lib/encryption.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib.snapshots import FolderProblem
from adnet_assets.lib.store import ensure_table, explain_parquet, read_parquet_sql
from adnet_assets.schema import Table

_FILES = "_window_files"


@dataclass
class SyncReport:
    loaded: dict[str, list[str]] = field(default_factory=dict)   # table -> windows (re)loaded
    removed: dict[str, list[str]] = field(default_factory=dict)  # table -> windows dropped

    @property
    def windows_changed(self) -> list[str]:
        return sorted({w for ws in (*self.loaded.values(), *self.removed.values()) for w in ws})


def sync_window_tables(con: duckdb.DuckDBPyConnection, layout: DataLayout, kinds: dict[str, Table]) -> SyncReport:
    """For each (warehouse kind -> table), reload changed windows and drop vanished ones.

    Call inside a transaction so that readers see all tables move together.
    """
    con.execute(f'CREATE TABLE IF NOT EXISTS "{_FILES}" (kind VARCHAR, "window" VARCHAR, bytes BIGINT, mtime_ns BIGINT)')
    report = SyncReport()
    for kind, table in kinds.items():
        ensure_table(con, table)
        on_disk = {}
        for path in layout.window_files(kind):
            st = path.stat()
            on_disk[path.stem.removeprefix("window=")] = (path, st.st_size, st.st_mtime_ns)
        known = {w: (b, m) for w, b, m in con.execute(
            f'SELECT "window", bytes, mtime_ns FROM "{_FILES}" WHERE kind = ?', [kind]).fetchall()}
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        changed = [w for w, (_, size, mtime) in sorted(on_disk.items()) if known.get(w) != (size, mtime)]
        vanished = sorted(set(known) - set(on_disk))
        for window in changed + vanished:
            con.execute(f'DELETE FROM "{table.name}" WHERE "window" = ?', [window])
            con.execute(f'DELETE FROM "{_FILES}" WHERE kind = ? AND "window" = ?', [kind, window])
        if changed:
            files = [on_disk[w][0] for w in changed]
            try:
                con.execute(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM {read_parquet_sql(files)}')
            except duckdb.Error as exc:  # a key that does not fit the files: say which and what to do
                mismatch = explain_parquet(exc, files)
                if mismatch is not None:
                    raise mismatch from exc
                raise
            con.executemany(f'INSERT INTO "{_FILES}" VALUES (?, ?, ?, ?)',
                            [[kind, w, on_disk[w][1], on_disk[w][2]] for w in changed])
        report.loaded[table.name] = changed
        report.removed[table.name] = vanished
    return report


def replace_folder_problems(con: duckdb.DuckDBPyConnection, quarantine: Table, problems: list[FolderProblem]) -> None:
    """Folders under snapshots/ that are not snapshots: listed in quarantine with no window."""
    ensure_table(con, quarantine)
    con.execute(f"""DELETE FROM "{quarantine.name}" WHERE level = 'folder'""")
    if problems:
        con.executemany(
            f"""INSERT INTO "{quarantine.name}" (level, source_file, reason) VALUES ('folder', ?, ?)""",
            [[p.path, p.reason] for p in problems])
