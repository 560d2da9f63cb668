"""The final search of a forget: ``find_leftovers`` searches every file under the data folder for the
search strings.

Raw bytes (as UTF-8 and Latin-1, UTF-16 when the file says so), every member of zip files
(``.xlsx``, ``.xmind``), every text column of DuckDB and Parquet files by SQL, and file names. Each
hit is reported with its file and the fix: files adnet does not manage (notes, a demo's truth
folder) are the user's to clean."""

from __future__ import annotations

import contextlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from adnet_assets.layout import ADS_FILE, MANIFEST_FILE, DataLayout
from adnet_assets.lib.forget.needles import Needles
from adnet_assets.lib.forget.places import relative
from adnet_assets.lib.forget.plan import plural
from adnet_assets.lib.forget.sql import quote
from adnet_assets.lib.store import connect, memory_connection, read_parquet_sql

_CHUNK = 64 << 20


@dataclass(frozen=True)
class Leftover:
    """A file that still holds a search string: where in it, and what to do."""

    path: str
    where: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}; {self.fix}"


def _fix_for(layout: DataLayout, path: Path) -> str:
    rel = relative(layout, path)
    top = rel.split("/", 1)[0]
    if top == "snapshots":
        folder = path.parent
        if path.name == ADS_FILE and not (folder / MANIFEST_FILE).is_file():
            return "the crawl is still being written (no manifest.json): run adnet forget again once it is complete"
        return "run adnet forget again"
    if top == ".dagster":
        return "stop `adnet ui` and any run, then run adnet forget again"
    if top == "analyst":
        if ".wal" in path.name:
            return "a write-ahead log left by a session that wrote to the analysts' copy: delete it"
        return "close the SQL client holding the analysts' copy, then run adnet forget again"
    if top in ("exports", "warehouse", "adnet.duckdb", "adnet.duckdb.wal", "directory", "billing", "aliases.csv",
               "shared"):
        return "run adnet forget again (a rebuild did not finish)"
    return "adnet does not manage this file: edit or delete it yourself"


class _Searcher:
    """The search strings in bytes, whatever their encoding, and in whole files read in chunks."""

    def __init__(self, needles: Needles):
        self.text = needles.search
        self.non_ascii = any(not s.isascii() for s in (*needles.raw_strings, *needles.spellings))

    def data(self, data: bytes) -> bool:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            with contextlib.suppress(UnicodeDecodeError):
                if self.text(data.decode("utf-16")):
                    return True
        if self.text(data.decode("latin-1")):  # every byte as one character: ASCII needles, cp1252 names
            return True
        return self.non_ascii and self.text(data.decode("utf-8", "replace"))

    def file(self, path: Path) -> bool:
        with open(path, "rb") as handle:
            tail = b""
            while chunk := handle.read(_CHUNK):
                if self.data(tail + chunk):
                    return True
                tail = chunk[-4096:]
        return False


def _sql_hits(con: duckdb.DuckDBPyConnection, relation: str, columns: list[tuple[str, str]],
              needles: Needles) -> list[str]:
    """Columns of ``relation`` whose text holds a search string: 'column c: n row(s)'. One prefilter
    over all text columns of a row at once, then each column of the rows it lets through in Python."""
    text_cols = [c for c, t in columns if "VARCHAR" in t.upper() or "JSON" in t.upper()]
    if needles.empty or not text_cols:
        return []
    values = [f"CAST({quote(c)} AS VARCHAR)" for c in text_cols]
    rows = con.execute(f"SELECT {', '.join(values)} FROM {relation} "
                       f"WHERE {needles.prefilter_sql('concat_ws(chr(10), ' + ', '.join(values) + ')')}").fetchall()
    counts = [sum(1 for row in rows if row[i] is not None and needles.search(row[i])) for i in range(len(text_cols))]
    return [f"column {c}: {plural(n, 'row')}" for c, n in zip(text_cols, counts) if n]


def _duckdb_hits(path: Path, needles: Needles) -> list[str]:
    hits = []
    with connect(path, read_only=True, lock_timeout_s=60) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE "
                             "table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        for schema, table in tables:
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                               "table_catalog = current_database() AND table_schema = ? AND table_name = ? "
                               "ORDER BY ordinal_position", [schema, table]).fetchall()
            hits += [f"table {table}, {h}" for h in _sql_hits(con, f"{quote(schema)}.{quote(table)}", cols, needles)]
    return hits


def _parquet_hits(con: duckdb.DuckDBPyConnection, path: Path, needles: Needles) -> list[str]:
    relation = read_parquet_sql([path])
    cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    return _sql_hits(con, relation, cols, needles)


def _zip_hits(path: Path, searcher: _Searcher) -> list[str]:
    hits = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir() and searcher.data(archive.read(info)):
                hits.append(f"inside it, {info.filename}")
            if searcher.text(info.filename):
                hits.append("inside it, a member's name")
    return hits


def find_leftovers(layout: DataLayout, needles: Needles) -> list[Leftover]:
    """Every file under the data folder that still holds a search string (see the module docstring)."""
    if needles.empty or not layout.root.is_dir():
        return []
    searcher = _Searcher(needles)
    found: list[Leftover] = []
    with memory_connection(layout.tmp) as parquet:  # knows the warehouse key when one is configured
        for rel, where in _search_tree(layout, needles, searcher, parquet):
            found.append(Leftover(rel, where, _fix_for(layout, layout.root / rel)))
    return found


def _search_tree(layout: DataLayout, needles: Needles, searcher: _Searcher, parquet: duckdb.DuckDBPyConnection):
    """(relative path, where) of every hit under the data folder."""
    for folder, dirs, names in os.walk(layout.root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = relative(layout, path)
            where: list[str] = []
            if searcher.text(rel):
                where.append("its name")
            with open(path, "rb") as handle:
                head = handle.read(16)
            try:
                if head[8:12] == b"DUCK":
                    sql = _duckdb_hits(path, needles)
                    where += sql
                    if not sql and searcher.file(path):
                        where.append("deleted rows in its free blocks")
                elif head[:4] in (b"PAR1", b"PARE"):  # PARE: an encrypted footer
                    where += _parquet_hits(parquet, path, needles)
                elif head[:4] == b"PK\x03\x04" and zipfile.is_zipfile(path):
                    where += _zip_hits(path, searcher)
                elif searcher.file(path):
                    where.append("its bytes")
            except (duckdb.Error, zipfile.BadZipFile, OSError, RuntimeError) as exc:
                where.append(f"could not be searched ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            yield from ((rel, w) for w in where)
