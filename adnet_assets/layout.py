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

SITE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}\Z")  # \Z: a trailing newline is not a name
SNAPSHOT_ID_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2})([0-9]{2})Z\Z")  # ASCII digits only
ADS_FILE = "ads.jsonl"
MANIFEST_FILE = "manifest.json"


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
        """Per-partition Parquet files written by the partitioned ingest (no DuckDB lock needed)."""
        return self.root / "warehouse"

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
