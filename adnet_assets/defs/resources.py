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
from adnet_assets.lib.encryption import configured as encryption_configured
from adnet_assets.lib.excel_export import MAX_TABLE_ROWS
from adnet_assets.lib.store import connect
from adnet_assets.lib.window_ingest import DEFAULT_BATCH_BYTES

DUCKDB_POOL = "adnet_duckdb"  # every step that opens the database: one at a time (dagster.yaml)


class AdnetData(dg.ConfigurableResource):
    """The data folder (snapshots in, ``adnet.duckdb`` and exports out) and database settings.

    Connections are opened per step and closed at once: nothing holds the DuckDB lock between
    steps, so sensors, the webserver and analysts' read-only clients are never blocked for long.
    """

    data_dir: str = Field(description="The investigation's data folder (the contract's <data>/).")
    default_country: str = Field(default="NO", description="Country that national numbers are read in when an ad gives none.")
    max_line_bytes: int = Field(default=DEFAULT_MAX_LINE_BYTES, description="Longer ads.jsonl lines are quarantined.")
    ingest_batch_bytes: int = Field(
        default=DEFAULT_BATCH_BYTES, description="raw_snapshots reads windows in batches of about this many bytes of "
                                                 "ads.jsonl (whole windows): fewer statements, bounded memory.")
    workbook_max_table_rows: int = Field(
        default=MAX_TABLE_ROWS, description="In adnet.xlsx, a table of more rows than this has a sheet of its rows "
                                            "about network members only (the read-me sheet says so; the database "
                                            "has every row). 0: every table whole, whatever its size.")
    lock_timeout_s: float = Field(default=600.0, description="How long a writer waits for another process's DuckDB lock.")
    duckdb_threads: int | None = Field(default=None, description="DuckDB threads per connection (default: all cores).")
    duckdb_memory_limit: str | None = Field(
        default=None, description="DuckDB memory per connection, e.g. '4GiB' (default: 75% of RAM, at most 6 GiB; "
                                  "more spills to <data>/.tmp).")

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
        """The investigation's database for one step. With ``ADNET_DB_KEY`` in the environment (never in
        this resource's configuration, which Dagster stores in plain SQLite) the file is encrypted."""
        with connect(self.layout.database, read_only=read_only, lock_timeout_s=self.lock_timeout_s,
                     threads=self.duckdb_threads, log=log, temp_dir=self.layout.tmp,
                     memory_limit=self.duckdb_memory_limit) as con:
            yield con

    @property
    def encrypted(self) -> bool:
        """Whether a database key is configured (then nothing personal goes into the UI's metadata)."""
        return encryption_configured()


class PhoneDirectory(dg.ConfigurableResource):
    """A JSON phone-directory service (see lib/directory_client.py for the protocol).

    Unconfigured (no ``base_url``), adnet reads only the CSV extracts in ``directory/``. The key
    comes from the environment only (``ADNET_DIRECTORY_API_KEY``, or the variable ``api_key_env`` names): a
    token given as configuration would be stored in plain text with every run's config in the instance.
    """

    base_url: str | None = Field(default=None, description="e.g. https://directory.example/api (env ADNET_DIRECTORY_URL)")
    api_key_env: str = Field(default="ADNET_DIRECTORY_API_KEY",
                             description="the NAME of the environment variable holding the bearer token; the token "
                                         "itself is never configuration, so it is never stored in a run's config")
    rate_per_second: float = Field(default=2.0, description="look-ups per second at most")
    max_retries: int = Field(default=5, description="retries on 429 and 5xx, with exponential backoff")
    max_age_days: float = Field(default=30.0, description="a cached answer younger than this is not asked again")
    max_lookups_per_run: int = Field(default=1000, description="numbers looked up per run at most")
    regions: list[str] = Field(default_factory=lambda: ["NO"], description="countries the service answers for")

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    def client(self):
        from adnet_assets.lib.directory_client import DirectoryClient

        import os

        return DirectoryClient(self.base_url, os.environ.get(self.api_key_env, ""), rate_per_second=self.rate_per_second,
                               max_retries=self.max_retries)
