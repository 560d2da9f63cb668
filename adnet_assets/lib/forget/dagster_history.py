"""Step 7 of a forget: the Dagster instance (``<data>/.dagster``) scrubbed.

Its SQLite files keep every run's log lines and asset metadata (table previews, network summaries,
pictures). Every text value holding a search string has it replaced by ``[forgotten]``; pictures
(``data:image`` URIs) of runs before the forget's own are removed, as they may show the number or
name drawn; then each file is VACUUMed. Compute logs (text files) are scrubbed the same way."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from adnet_assets.layout import DataLayout
from adnet_assets.lib.forget.inputs import write_bytes
from adnet_assets.lib.forget.needles import REPLACEMENT, Needles
from adnet_assets.lib.forget.request import ForgetError
from adnet_assets.lib.forget.sql import quote

_IMAGE_URI = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=\\]+")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == _SQLITE_MAGIC


def _scrubber(needles: Needles, keep_run_id: str | None):
    """(hit, scrub): whether a value is to be scrubbed, and the value scrubbed (pictures of runs other
    than ``keep_run_id`` removed, then the search strings replaced)."""
    def wipe_images(text: str) -> bool:
        return (keep_run_id is None or keep_run_id not in text) and "data:image/" in text

    def hit(value):
        return isinstance(value, str) and (needles.search(value) or wipe_images(value))

    def scrub(value):
        if not isinstance(value, str):
            return value
        if wipe_images(value):
            value = _IMAGE_URI.sub(REPLACEMENT, value)
        return needles.scrub(value)

    return hit, scrub


def _scrub_sqlite(path: Path, needles: Needles, keep_run_id: str | None) -> int:
    hit, scrub = _scrubber(needles, keep_run_id)
    try:
        con = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise ForgetError(f"{path}: cannot open the Dagster database ({exc})") from exc
    changed = 0
    try:
        con.create_function("adnet_hit", 1, hit, deterministic=True)
        con.create_function("adnet_scrub", 1, scrub, deterministic=True)
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()]
        con.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                for column in [r[1] for r in con.execute(f"PRAGMA table_info({quote(table)})").fetchall()]:
                    cur = con.execute(f"UPDATE {quote(table)} SET {quote(column)} = adnet_scrub({quote(column)}) "
                                      f"WHERE typeof({quote(column)}) = 'text' AND adnet_hit({quote(column)})")
                    changed += max(cur.rowcount, 0)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("VACUUM")  # rebuilds the file: the old values leave the free pages too
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        raise ForgetError(f"{path}: the Dagster instance is in use ({exc}): stop `adnet ui` (and any run) "
                          "and run adnet forget again") from exc
    except sqlite3.DatabaseError as exc:  # e.g. two scrubbed values of a unique column now equal
        raise ForgetError(f"{path}: could not scrub this Dagster database ({exc}); it was left as it was and "
                          "still holds what is to be forgotten. Stop `adnet ui` and run adnet forget again; if this "
                          "repeats, delete the file by hand (the run history in it goes with it)") from exc
    finally:
        con.close()
    return changed


def scrub_dagster(layout: DataLayout, needles: Needles, *, keep_run_id: str | None = None) -> tuple[int, int]:
    """Step 7: replace the search strings in every SQLite file and text file of the Dagster instance,
    and drop the pictures of runs other than ``keep_run_id``. Returns (values changed, files changed)."""
    home = layout.dagster_home
    if not home.is_dir():
        return 0, 0
    hit, scrub = _scrubber(needles, keep_run_id)
    values = files = 0
    for path in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # written back into their database by the checkpoint
        if _is_sqlite(path):
            n = _scrub_sqlite(path, needles, keep_run_id)
        else:
            data = path.read_bytes()
            if b"\x00" in data[:8192]:
                continue  # not text
            text = data.decode("utf-8", "surrogateescape")
            if not hit(text):
                continue
            write_bytes(path, scrub(text).encode("utf-8", "surrogateescape"))
            n = 1
        values += n
        files += n > 0
    return values, files
