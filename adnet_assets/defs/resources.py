"""The one resource every asset, check and sensor takes: where the investigation lives and how to reach its database."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import dagster as dg
import duckdb
from pydantic import Field, field_validator

from adnet_assets.layout import DataLayout
from adnet_assets.lib.snapshot_lines import DEFAULT_MAX_LINE_BYTES
from adnet_assets.lib.store import connect

DUCKDB_POOL = "adnet_duckdb"  # every step that opens the database: one at a time (dagster.yaml)


class AdnetData(dg.ConfigurableResource):
    """The data folder (snapshots in, ``adnet.duckdb`` and exports out) and database settings.

    Connections are opened per step and closed at once: nothing holds the DuckDB lock between
    steps, so sensors, the webserver and analysts' read-only clients are never blocked for long.
    """

    data_dir: str = Field(description="The investigation's data folder (the contract's <data>/).")
    default_country: str = Field(default="NO", description="Country that national numbers are read in when an ad gives none.")
    max_line_bytes: int = Field(default=DEFAULT_MAX_LINE_BYTES, description="Longer ads.jsonl lines are quarantined.")
    lock_timeout_s: float = Field(default=600.0, description="How long a writer waits for another process's DuckDB lock.")
    duckdb_threads: int | None = Field(default=None, description="DuckDB threads per connection (default: all cores).")

    @field_validator("default_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"default_country must be an ISO 3166 alpha-2 code such as NO, got {value!r}")
        return value.upper()

    @property
    def layout(self) -> DataLayout:
        return DataLayout.at(self.data_dir)

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False, log=None) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.layout.database, read_only=read_only, lock_timeout_s=self.lock_timeout_s,
                     threads=self.duckdb_threads, log=log) as con:
            yield con
