"""The data folder of one investigation: every path the platform reads or writes.

One folder holds a whole investigation (``../shared/data-contract.md``). Its location is
configuration, so the same code runs the embedded demo, a test's temporary folder and a
newsroom's real case. Nothing else in the package spells these paths.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "ADNET_DATA_DIR"
DEFAULT_DATA_DIR = "data"
# Where the per-window Parquet files live when not in <data>/warehouse: a folder (a path, or a
# file:// URL), e.g. a volume every step's process or pod mounts. Object-store URLs (s3://...) are
# refused with the way to go instead (see warehouse_root).
WAREHOUSE_ENV = "ADNET_WAREHOUSE_URL"

SITE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}\Z")  # \Z: a trailing newline is not a name
SNAPSHOT_ID_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2})([0-9]{2})Z\Z")  # ASCII digits only
ADS_FILE = "ads.jsonl"
MANIFEST_FILE = "manifest.json"


class WarehouseLocationError(ValueError):
    """``$ADNET_WAREHOUSE_URL`` names a place the warehouse cannot be."""


def warehouse_root(root: Path, url: str | None = None) -> Path:
    """The warehouse folder: ``url`` (default ``$ADNET_WAREHOUSE_URL``) as a path or ``file://`` URL,
    relative paths taken from the data folder; else ``<root>/warehouse``."""
    from urllib.parse import unquote, urlparse

    raw = (os.environ.get(WAREHOUSE_ENV, "") if url is None else url).strip()
    if not raw:
        return root / "warehouse"
    parsed = urlparse(raw)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise WarehouseLocationError(f"{WAREHOUSE_ENV}={raw!r}: a file:// URL names this machine's files "
                                         f"(file:///path/to/warehouse); mount the other machine's folder instead")
        return Path(unquote(parsed.path)).expanduser().resolve()
    if len(parsed.scheme) > 1:  # s3://, gs://, az://, https:// (a one-letter scheme is a Windows drive)
        raise WarehouseLocationError(
            f"{WAREHOUSE_ENV}={raw!r}: adnet writes the warehouse as files it renames into place, which object "
            f"stores cannot do: mount the bucket as a folder every step's process sees (a shared volume, "
            f"s3fs) and give its path, or unset {WAREHOUSE_ENV} (<data>/warehouse)")
    path = Path(raw).expanduser()
    return (path if path.is_absolute() else root / path).resolve()


def default_data_dir() -> Path:
    """The data folder from ``$ADNET_DATA_DIR``, else ``./data``; always absolute."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser().resolve()


@dataclass(frozen=True)
class DataLayout:
    """Paths inside one data folder. Inputs are written by scrapers and analysts; outputs by us."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> "DataLayout":
        return cls(Path(root).expanduser().resolve())

    # inputs (the contract)
    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def directory(self) -> Path:
        return self.root / "directory"

    @property
    def billing(self) -> Path:
        return self.root / "billing"

    @property
    def aliases(self) -> Path:
        return self.root / "aliases.csv"

    # outputs
    @property
    def database(self) -> Path:
        return self.root / "adnet.duckdb"

    @property
    def analyst_database(self) -> Path:
        """The analysts' copy, published at the end of each run: open this one, never locked by runs."""
        return self.root / "analyst" / "adnet.duckdb"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def shared_exports(self) -> Path:
        """The pseudonymised exports for partners (``adnet share``): keyed hashes instead of people."""
        return self.root / "shared"

    @property
    def warehouse(self) -> Path:
        """Per-partition Parquet files written by the partitioned ingest (no DuckDB lock needed):
        ``<data>/warehouse``, or the folder ``$ADNET_WAREHOUSE_URL`` names (:func:`warehouse_root`)."""
        return warehouse_root(self.root)

    @property
    def tmp(self) -> Path:
        """DuckDB's spill files (encrypted when a key is set): inside the data folder, never the system temp."""
        return self.root / ".tmp"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance of this investigation: runs, sensor cursors, schedules."""
        return self.root / ".dagster"

    def window_file(self, kind: str, window: str) -> Path:
        """The Parquet file holding one partition window's rows of one kind."""
        return self.warehouse / kind / f"window={window}.parquet"

    def window_files(self, kind: str) -> list[Path]:
        folder = self.warehouse / kind
        return sorted(folder.glob("window=*.parquet")) if folder.is_dir() else []
