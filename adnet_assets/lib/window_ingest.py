"""Ingest of one partition window: its snapshots verified and read into per-window Parquet files.

Each window's rows live in three files under ``warehouse/`` (observations, quarantine,
snapshots), each replaced atomically. Re-ingesting a window replaces exactly that window's rows,
so running it twice leaves the same files as running it once, and runs for different windows
never contend for the DuckDB lock (they write no database at all).

A snapshot is quarantined whole when it does not match its manifest, or when its ``ads.jsonl``
is a byte-for-byte copy of an earlier snapshot of the same site (in any window): the copy
would count every observation twice.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib.snapshot_lines import (
    LINES_DDL, OBSERVATIONS_SQL, QUARANTINED_LINES_SQL, SnapshotText, add_lines, classify_lines,
    decode_ads_file, line_counts, reason_group_sql,
)
from adnet_assets.lib.snapshots import EarlierCopies, SnapshotRef, SnapshotRejected, discover, relative, verify
from adnet_assets.lib.store import memory_connection, sql_text, write_parquet_atomically
from adnet_assets.schema import QUARANTINE, SNAPSHOTS

OBSERVATIONS_KIND = "observations"
QUARANTINE_KIND = "quarantine"
SNAPSHOTS_KIND = "snapshots"
WINDOW_KINDS = (OBSERVATIONS_KIND, QUARANTINE_KIND, SNAPSHOTS_KIND)


@dataclass
class WindowReport:
    window: str
    snapshots_loaded: list[str] = field(default_factory=list)
    snapshots_quarantined: dict[str, str] = field(default_factory=dict)
    snapshots_incomplete: list[str] = field(default_factory=list)
    n_observations: int = 0
    n_quarantined_lines: int = 0
    reasons: Counter = field(default_factory=Counter)


_SNAPSHOT_ROW_DDL = "CREATE OR REPLACE TEMP TABLE snapshot_rows AS SELECT * FROM ({}) WHERE false"
_SNAPSHOT_LEVEL_DDL = "CREATE OR REPLACE TEMP TABLE snapshot_quarantine AS SELECT * FROM ({}) WHERE false"


def _empty_select(table) -> str:
    return "SELECT " + ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in table.columns)


#: Windows are read in batches of about this many bytes of ``ads.jsonl`` (at least one window each):
#: every SQL statement of the reader runs once per batch instead of once per window (a small window
#: costs more in statements than in data), while a batch's lines stay well inside memory.
DEFAULT_BATCH_BYTES = 256 * 1024 * 1024


def ingest_window(layout: DataLayout, window: str, refs: list[SnapshotRef], *,
                  max_line_bytes: int, threads: int | None = None, memory_limit: str | None = None,
                  copies: EarlierCopies | None = None, con: duckdb.DuckDBPyConnection | None = None) -> WindowReport:
    """Verify and read every snapshot of one window; replace the window's Parquet files
    (:func:`ingest_windows` for one window)."""
    return next(ingest_windows(layout, {window: refs}, max_line_bytes=max_line_bytes, threads=threads,
                               memory_limit=memory_limit, copies=copies, con=con))


def ingest_windows(layout: DataLayout, refs_by_window: dict[str, list[SnapshotRef]], *,
                   max_line_bytes: int, threads: int | None = None, memory_limit: str | None = None,
                   copies: EarlierCopies | None = None, con: duckdb.DuckDBPyConnection | None = None,
                   batch_bytes: int = DEFAULT_BATCH_BYTES) -> Iterator[WindowReport]:
    """Verify and read every snapshot of each window; replace each window's Parquet files. Yields one
    report per window, in the order of ``refs_by_window``, as soon as its files are written.

    The windows are read in batches of about ``batch_bytes`` of ``ads.jsonl`` (whole windows): the lines
    of a batch are classified by one set of statements, then each window's files are written from them.
    ``copies``: finds copies of earlier crawls among every snapshot of the data folder (all windows);
    one made for a run of many windows reads each manifest once. Made here from ``discover`` when
    not given. ``con``: an in-memory connection (:func:`store.memory_connection`) to work in; without it
    one is opened here with ``threads`` and ``memory_limit`` and closed at the end. Every table it
    leaves is a TEMP table the next batch replaces."""
    busy = {w: refs for w, refs in refs_by_window.items() if refs}
    if copies is None and busy:
        copies = EarlierCopies(layout, discover(layout).snapshots + [r for refs in busy.values() for r in refs])
    own = con is None and bool(busy)
    if own:  # spills inside the data folder; with a key, encrypted
        con = memory_connection(layout.tmp, threads=threads, memory_limit=memory_limit)
    try:
        for batch in _batches(refs_by_window, batch_bytes):
            reports = _ingest_batch(con, layout, batch, max_line_bytes, copies) if any(batch.values()) else {}
            for window, refs in batch.items():
                if not refs:
                    for kind in WINDOW_KINDS:
                        with contextlib.suppress(FileNotFoundError):
                            layout.window_file(kind, window).unlink()
                yield reports.get(window) or WindowReport(window)
    finally:
        if own:
            con.close()


def _batches(refs_by_window: dict[str, list[SnapshotRef]], batch_bytes: int) -> Iterator[dict[str, list[SnapshotRef]]]:
    """Consecutive windows grouped up to ``batch_bytes`` of ads files (a window is never split)."""
    batch: dict[str, list[SnapshotRef]] = {}
    size = 0
    for window, refs in refs_by_window.items():
        window_bytes = sum(_size(ref.ads_path) for ref in refs)
        if batch and size + window_bytes > batch_bytes:
            yield batch
            batch, size = {}, 0
        batch[window] = refs
        size += window_bytes
    if batch:
        yield batch


def _size(path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _ingest_batch(con: duckdb.DuckDBPyConnection, layout: DataLayout, batch: dict[str, list[SnapshotRef]],
                  max_line_bytes: int, copies: EarlierCopies) -> dict[str, WindowReport]:
    reports = {window: WindowReport(window) for window, refs in batch.items() if refs}
    con.execute(LINES_DDL)
    con.execute(_SNAPSHOT_ROW_DDL.format(_empty_select(SNAPSHOTS)))
    con.execute(_SNAPSHOT_LEVEL_DDL.format(_empty_select(QUARANTINE)))
    verified = {}
    for window, report in reports.items():
        for ref in sorted(batch[window], key=lambda r: (r.site, r.snapshot_id)):
            if not ref.is_complete:
                report.snapshots_incomplete.append(ref.name)
                _snapshot_row(con, ref, "incomplete", "no manifest.json yet: the crawl is still being written")
                continue
            try:
                snap = verify(ref, layout)
            except SnapshotRejected as exc:
                _quarantine_snapshot(con, report, layout, ref, str(exc), "snapshot does not match its manifest")
                continue
            original = copies.of(snap)
            if original is not None:
                _quarantine_snapshot(con, report, layout, ref, copies.reason(snap, original),
                                     "snapshot is a copy of an earlier one")
                continue
            text, bad = decode_ads_file(snap.ads_bytes)
            add_lines(con, SnapshotText(window, ref.site, ref.snapshot_id, relative(layout, ref.ads_path), text, bad))
            del text
            # what the snapshot row needs, not the file's bytes (a batch holds many files)
            verified[(ref.site, ref.snapshot_id)] = (window, snap.manifest, snap.manifest_sha256, snap.ads_sha256,
                                                     len(snap.ads_bytes))
            report.snapshots_loaded.append(ref.name)
    classify_lines(con, max_line_bytes)
    counts = line_counts(con)
    for key, (window, m, manifest_sha256, ads_sha256, ads_bytes) in verified.items():
        n, loaded, quarantined = counts.get(key, (0, 0, 0))
        con.execute(
            "INSERT INTO snapshot_rows BY NAME SELECT ? AS \"window\", ? AS site, ? AS snapshot_id, 'loaded' AS status,"
            " TRY_CAST(? AS TIMESTAMPTZ) AS started_at, TRY_CAST(? AS TIMESTAMPTZ) AS finished_at,"
            " TRY_CAST(? AS BIGINT) AS manifest_ads, ? AS manifest_sha256, ? AS ads_sha256, ? AS ads_bytes,"
            " ? AS n_lines, ? AS n_loaded, ? AS n_quarantined",
            [window, key[0], key[1], _text(m.get("started_at")), _text(m.get("finished_at")), _text(m.get("ads")),
             manifest_sha256, ads_sha256, ads_bytes, n, loaded, quarantined])
    # Each window's three files. The reader's big statements are bound and run once for the batch (into
    # two TEMP tables); each window's COPY is then a plain filtered read of them (binding the observation
    # SELECT cost ~10 ms a time, more than writing a small window).
    con.execute(f"CREATE OR REPLACE TEMP TABLE batch_observations AS {OBSERVATIONS_SQL}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE batch_quarantine AS "
                f"SELECT * FROM snapshot_quarantine UNION ALL BY NAME ({QUARANTINED_LINES_SQL})")
    for window in reports:
        where = '"window" = ' + sql_text(window)
        write_parquet_atomically(con, f"SELECT * FROM batch_observations WHERE {where} ORDER BY site, snapshot_id, line_no",
                                 layout.window_file(OBSERVATIONS_KIND, window))
        write_parquet_atomically(con, f"SELECT * FROM batch_quarantine WHERE {where} "
                                      "ORDER BY line_no IS NOT NULL, site, snapshot_id, line_no",
                                 layout.window_file(QUARANTINE_KIND, window))
        write_parquet_atomically(con, f"SELECT * FROM snapshot_rows WHERE {where} ORDER BY site, snapshot_id",
                                 layout.window_file(SNAPSHOTS_KIND, window))
    for window, n in con.execute(
            'SELECT "window", count(*) FROM classified WHERE reason IS NULL GROUP BY ALL').fetchall():
        reports[window].n_observations = n
    for window, reason, n in con.execute(
            f'SELECT "window", {reason_group_sql()}, count(*) FROM classified WHERE reason IS NOT NULL GROUP BY ALL').fetchall():
        reports[window].reasons[reason] += n
        reports[window].n_quarantined_lines += n
    return reports


def _text(value) -> str | None:
    """A manifest value as text DuckDB can take: lone surrogates (a JSON "\\ud800") replaced, cut short."""
    return None if value is None else str(value)[:200].encode("utf-8", "replace").decode("utf-8")


def _quarantine_snapshot(con: duckdb.DuckDBPyConnection, report: WindowReport, layout: DataLayout, ref: SnapshotRef,
                         reason: str, kind: str) -> None:
    """The whole snapshot set aside: a snapshots row and a snapshot-level quarantine row with the reason."""
    report.snapshots_quarantined[ref.name] = reason
    report.reasons[kind] += 1
    _snapshot_row(con, ref, "quarantined", reason)
    con.execute("INSERT INTO snapshot_quarantine BY NAME SELECT ? AS \"window\", 'snapshot' AS level, ? AS site,"
                " ? AS snapshot_id, ? AS source_file, ? AS reason",
                [ref.window, ref.site, ref.snapshot_id, relative(layout, ref.folder), reason])


def _snapshot_row(con: duckdb.DuckDBPyConnection, ref: SnapshotRef, status: str, reason: str) -> None:
    con.execute("INSERT INTO snapshot_rows BY NAME SELECT ? AS \"window\", ? AS site, ? AS snapshot_id, ? AS status, ? AS reason",
                [ref.window, ref.site, ref.snapshot_id, status, reason])
