"""Encryption at rest: the database, its analysts' copy, the warehouse Parquet files and DuckDB's spill
files hold no plaintext with ADNET_DB_KEY set; a missing or wrong key, or a plain file, is said clearly.

All data here is synthetic. DuckDB writes encrypted files with OpenSSL (its httpfs extension) when it
can load it; on machines without it the tests allow DuckDB's built-in fallback explicitly
(ADNET_DB_ALLOW_UNSAFE_CRYPTO=1), which encrypts with the same cipher."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adnet_assets.defs import metadata as defs_metadata
from adnet_assets.layout import DataLayout
from adnet_assets.lib import encryption
from adnet_assets.lib.encryption import (
    KEY_ENV, UNSAFE_CRYPTO_ENV, CryptoUnavailable, EncryptionMismatch, KeyProblem, check_key,
)
from adnet_assets.lib.publish import open_instructions, publish_copy
from adnet_assets.lib.store import (
    DatabaseLocked, connect, encrypt_data_folder, encrypt_database, memory_connection, read_parquet_sql,
    write_parquet_atomically,
)
from adnet_assets.lib.warehouse_sync import sync_window_tables
from adnet_assets.schema import OWNERS, Table, Column

KEY = "test-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # synthetic, for these tests only
OTHER_KEY = "another-test-key-9876543210-zyxwvutsrqponmlk"
PHONE = "+4799887766"          # synthetic numbers and names, never a real person's
NAME = "Testine Krypteringsen"


@pytest.fixture
def keyed(monkeypatch):
    """ADNET_DB_KEY set (and DuckDB's fallback cipher allowed where httpfs is not installed)."""
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(UNSAFE_CRYPTO_ENV, "1")
    return KEY


@pytest.fixture
def unkeyed(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(UNSAFE_CRYPTO_ENV, "1")


def fill(con: duckdb.DuckDBPyConnection) -> None:
    """A few tables with a known phone and name, large enough to be written in many blocks."""
    con.execute("CREATE TABLE people AS SELECT ? AS phone, ? AS name, range AS n FROM range(50000)", [PHONE, NAME])
    con.execute("CREATE TABLE _private AS SELECT ? AS phone", [PHONE])
    con.execute("CREATE VIEW named AS SELECT DISTINCT name FROM people")
    con.execute("CREATE TABLE empty_one (x INTEGER)")


def assert_no_plaintext(path: Path) -> None:
    data = path.read_bytes()
    assert PHONE.encode() not in data and PHONE[1:].encode() not in data, f"{path} holds the phone in plaintext"
    assert NAME.encode() not in data, f"{path} holds the name in plaintext"


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1").fetchall()]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


# ------------------------------------------------------------------------------------------ the key

@pytest.mark.parametrize("value, words", [
    ("", "empty"), ("short-key", "at least 32"), (f" {KEY}", "blank"), (f"{KEY}\n", "blank")])
def test_an_empty_short_or_padded_key_is_refused_with_how_to_make_one(tmp_path, monkeypatch, value, words):
    monkeypatch.setenv(KEY_ENV, value)
    with pytest.raises(KeyProblem, match=words) as refused:
        encryption.key_from_env()
    assert "secrets.token_urlsafe(32)" in str(refused.value) and KEY_ENV in str(refused.value)
    with pytest.raises(KeyProblem):  # and nothing opens a database with it
        with connect(tmp_path / "never.duckdb"):
            pass
    assert not (tmp_path / "never.duckdb").exists()


def test_no_key_means_plain_files_and_the_key_is_read_from_the_environment_only(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert encryption.key_from_env() is None and not encryption.configured()
    assert encryption.key_from_env({KEY_ENV: KEY}) == KEY == check_key(KEY)
    # the Parquet key is derived, 256 bits, and differs from key to key
    assert encryption.parquet_key(KEY) != encryption.parquet_key(OTHER_KEY)
    assert len(__import__("base64").b64decode(encryption.parquet_key(KEY))) == 32


# ----------------------------------------------------------------------------------------- database

def test_an_encrypted_database_holds_no_plaintext_and_keeps_its_catalog_name(tmp_path, keyed):
    path = tmp_path / "data" / "adnet.duckdb"
    with connect(path) as con:
        fill(con)
        assert con.execute("SELECT current_database()").fetchone()[0] == "adnet"  # as with a plain file
        assert con.execute("SELECT encrypted FROM duckdb_databases() WHERE database_name = 'adnet'").fetchone()[0]
        assert con.execute("SELECT current_setting('temp_file_encryption')").fetchone()[0] is True
        assert Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]) == path.parent / ".tmp"
    assert_no_plaintext(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [".tmp", "adnet.duckdb"]  # no .wal, no spill left
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*), min(phone), min(name) FROM people").fetchone() == (50000, PHONE, NAME)


def test_opening_without_the_key_or_with_another_key_says_what_to_do(tmp_path, keyed, monkeypatch):
    path = tmp_path / "blocked-folder" / "adnet.duckdb"  # a path with "lock" in it is not a lock error
    with connect(path) as con:
        fill(con)
    monkeypatch.delenv(KEY_ENV)
    started = time.monotonic()
    with pytest.raises(EncryptionMismatch, match=f"encrypted and {KEY_ENV} is not set") as missing:
        with connect(path, read_only=True, lock_timeout_s=60):
            pass
    assert time.monotonic() - started < 30  # failed at once, did not wait as for a lock
    assert str(path) in str(missing.value)
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with pytest.raises(EncryptionMismatch, match="encrypted with another key") as wrong:
        with connect(path, read_only=True):
            pass
    assert str(path) in str(wrong.value)
    with pytest.raises(duckdb.Error):  # nor does DuckDB open it behind adnet's back
        duckdb.connect(str(path), read_only=True)


def test_a_plain_database_with_a_key_set_points_to_the_migration(tmp_path, unkeyed, monkeypatch):
    path = tmp_path / "adnet.duckdb"
    with connect(path) as con:
        fill(con)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(EncryptionMismatch, match="is not encrypted") as plain:
        with connect(path):
            pass
    assert "adnet encrypt" in str(plain.value)


def test_migration_encrypts_a_plain_database_with_every_table_and_view(tmp_path, unkeyed, monkeypatch):
    path = tmp_path / "adnet.duckdb"
    with connect(path) as con:
        fill(con)
        before = counts(con)
        view = con.execute("SELECT * FROM named").fetchall()
    logged = []
    got = encrypt_database(path, KEY, log=logged.append)
    assert {k.split(".")[-1]: v for k, v in got.items()} == before
    assert_no_plaintext(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp", "adnet.duckdb"]  # no temporary file left
    monkeypatch.setenv(KEY_ENV, KEY)
    with connect(path, read_only=True) as con:
        assert counts(con) == before
        assert con.execute("SELECT * FROM named").fetchall() == view
    # again: already encrypted with this key, left as it is
    stat = path.stat()
    encrypt_database(path, KEY, log=logged.append)
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and "already encrypted" in logged[-1]
    # a new key needs the current one
    with pytest.raises(EncryptionMismatch, match="already encrypted, with another key"):
        encrypt_database(path, OTHER_KEY)
    encrypt_database(path, OTHER_KEY, current_key=KEY)
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with connect(path, read_only=True) as con:
        assert counts(con) == before


def test_the_lock_wait_still_works_with_a_key(tmp_path, keyed):
    path = tmp_path / "adnet.duckdb"
    with connect(path) as con:
        fill(con)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time, duckdb
        con = duckdb.connect()
        con.execute("SET force_mbedtls_unsafe = true")
        con.execute("ATTACH ? AS adnet (ENCRYPTION_KEY ?)", [sys.argv[1], sys.argv[2]])
        print("holding", flush=True)
        time.sleep(float(sys.argv[3]))
        con.close()
    """), str(path), KEY, "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DatabaseLocked, match="another process holds the DuckDB lock"):
            with connect(path, lock_timeout_s=0.5):
                pass
        waits = []
        with connect(path, lock_timeout_s=60, log=waits.append) as con:
            assert con.execute("SELECT count(*) FROM people").fetchone()[0] == 50000
        assert waits and "locked by another process" in waits[0]
    finally:
        holder.wait(timeout=60)


def test_spill_files_go_to_the_data_folder_and_are_encrypted(tmp_path, keyed):
    path = tmp_path / "data" / "adnet.duckdb"
    spill = path.parent / ".tmp"
    seen = {"files": 0, "plaintext": 0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for f in spill.glob("duckdb_temp*") if spill.is_dir() else []:
                try:
                    with open(f, "rb") as handle:
                        data = handle.read(1 << 20)  # every spilled block holds the name when unencrypted
                except OSError:
                    continue
                seen["files"] += 1
                seen["plaintext"] += NAME.encode() in data
            time.sleep(0.1)

    with connect(path, threads=1) as con:
        con.execute("CREATE TABLE big AS SELECT ? || md5(range::VARCHAR) AS s FROM range(400000)", [NAME])
        con.execute("SET memory_limit = '32MB'; SET preserve_insertion_order = false")
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            con.execute("CREATE TABLE sorted AS SELECT * FROM big ORDER BY s")
        finally:
            stop.set()
            watcher.join()
    assert seen["files"] > 0, "the sort did not spill: the test proves nothing"
    assert seen["plaintext"] == 0
    assert not list(Path.cwd().glob(".tmp/duckdb_temp*"))


def test_without_httpfs_writing_needs_the_explicit_fallback(tmp_path, monkeypatch):
    con = duckdb.connect()
    try:
        con.execute("LOAD httpfs")
        pytest.skip("httpfs is installed here: DuckDB writes with OpenSSL, the fallback is never needed")
    except duckdb.Error:
        pass
    finally:
        con.close()
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(UNSAFE_CRYPTO_ENV, raising=False)
    with pytest.raises(CryptoUnavailable, match="INSTALL httpfs"):
        with connect(tmp_path / "adnet.duckdb"):
            pass
    assert not (tmp_path / "adnet.duckdb").exists()


# ----------------------------------------------------------------------------------- analysts' copy

def test_the_analysts_copy_is_encrypted_with_the_same_key(tmp_path, keyed, monkeypatch):
    layout = DataLayout.at(tmp_path / "data")
    with connect(layout.database) as con:
        fill(con)
        publish_copy(con, layout.analyst_database)
    assert_no_plaintext(layout.analyst_database)
    with connect(layout.analyst_database, read_only=True) as copy:
        assert counts(copy) == {"empty_one": 0, "people": 50000}  # private tables dropped
        assert copy.execute("SELECT * FROM named").fetchall() == [(NAME,)]
    # what the UI tells analysts (the 'open it' metadata), run word for word
    told = open_instructions(layout.analyst_database, encrypted=True)
    assert f"ENCRYPTION_KEY getenv('{KEY_ENV}'), READ_ONLY" in told
    snippet = told.split("Python:")[1].split("```")[1]
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - our own instruction text
    assert scope["con"].execute("SELECT count(*) FROM people").fetchone()[0] == 50000
    scope["con"].close()
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(EncryptionMismatch, match="not set"):
        with connect(layout.analyst_database, read_only=True):
            pass


# ---------------------------------------------------------------------------------------- warehouse

WAREHOUSE_TABLE = Table("people_rows", "one row", "synthetic rows for the warehouse tests", (
    Column("window", "VARCHAR", "the window"), Column("phone", "VARCHAR", "a phone"),
    Column("name", "VARCHAR", "a name")))


def write_window(layout: DataLayout, window: str) -> Path:
    target = layout.window_file("people", window)
    with memory_connection(layout.tmp) as con:
        write_parquet_atomically(
            con, f"SELECT '{window}' AS \"window\", '{PHONE}' AS phone, '{NAME}' AS name FROM range(1000)", target)
    return target


def test_warehouse_parquet_files_are_encrypted_and_read_back_with_the_key(tmp_path, keyed, monkeypatch):
    layout = DataLayout.at(tmp_path / "data")
    files = [write_window(layout, w) for w in ("2026-06-01", "2026-06-04")]
    for f in files:
        assert_no_plaintext(f)
    plain = duckdb.connect()
    with pytest.raises(duckdb.Error, match="encrypt"):
        plain.execute(f"SELECT count(*) FROM read_parquet('{files[0]}')").fetchall()
    plain.close()
    with connect(layout.database) as con:
        assert con.execute(f"SELECT count(*) FROM {read_parquet_sql(files)}").fetchone()[0] == 2000
        report = sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})
        assert report.loaded == {"people_rows": ["2026-06-01", "2026-06-04"]}
        assert con.execute("SELECT count(*), min(phone) FROM people_rows").fetchone() == (2000, PHONE)
    # the warehouse read without the key: the fix, not a Parquet error
    monkeypatch.delenv(KEY_ENV)
    with connect(tmp_path / "plain.duckdb") as con:
        with pytest.raises(EncryptionMismatch, match=f"{KEY_ENV} is not set") as missing:
            sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})
        assert "window=" in str(missing.value)
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with connect(tmp_path / "other.duckdb") as con:
        with pytest.raises(EncryptionMismatch, match="another key"):
            sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})


def test_migrating_a_data_folder_encrypts_database_copy_and_warehouse(tmp_path, unkeyed, monkeypatch):
    layout = DataLayout.at(tmp_path / "data")
    files = [write_window(layout, w) for w in ("2026-06-01", "2026-06-04")]
    with connect(layout.database) as con:
        fill(con)
        sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})
        publish_copy(con, layout.analyst_database)
        before = counts(con)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(EncryptionMismatch, match="adnet encrypt"):  # the plain warehouse, read with a key
        with connect(tmp_path / "fresh.duckdb") as con:
            sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})
    done = encrypt_data_folder(layout, KEY)
    assert done["warehouse_files"] == 2 and "analyst_copy" in done
    for path in [layout.database, layout.analyst_database, *files]:
        assert_no_plaintext(path)
    with connect(layout.database) as con:
        assert counts(con) == before
        sync_window_tables(con, layout, {"people": WAREHOUSE_TABLE})  # the rewritten files reload, same rows
        assert con.execute("SELECT count(*) FROM people_rows").fetchone()[0] == 2000
    leftovers = [p for p in layout.root.rglob("*") if p.name.startswith(".") and p.name != ".tmp"]
    assert leftovers == []
    assert encrypt_data_folder(layout, KEY)["warehouse_files"] == 2  # again: nothing to do, nothing broken


# ------------------------------------------------------------------------------------------- the UI

def test_the_ui_shows_no_rows_of_an_encrypted_database(tmp_path, keyed, monkeypatch):
    with connect(tmp_path / "adnet.duckdb") as con:
        con.execute("CREATE TABLE owners AS SELECT 'O-1' AS owner_id, ? AS name, 1 AS n_phones, 1 AS n_listings, "
                    "['x'] AS variants, ['y'] AS address_keys, 'seed' AS resolution", [NAME])
        hidden = defs_metadata.table_metadata(con, OWNERS, preview_columns=["owner_id", "name"], order_by="owner_id")
        failing = defs_metadata.check_query(con, "SELECT name FROM owners", "no owner", ["name"])
        monkeypatch.delenv(KEY_ENV)
        shown = defs_metadata.table_metadata(con, OWNERS, preview_columns=["owner_id", "name"], order_by="owner_id")
    assert hidden["dagster/row_count"] == dg.MetadataValue.int(1)
    assert "encrypted" in hidden["preview"].value and NAME not in str(hidden)
    assert not failing.passed and NAME not in str(failing.metadata)
    assert "Krypteringsen" in shown["preview"].value  # without a key the preview is there, as before


@dataclasses.dataclass
class FakeReport:
    rows_loaded: int = 3
    files: list = dataclasses.field(default_factory=lambda: [f"billing/{PHONE[1:]}_2026-06-01_2026-06-30.csv"])
    homonym_splits: list = dataclasses.field(default_factory=lambda: [NAME])
    service: str = f"asked about {PHONE}"
    complete: bool = True


def test_report_metadata_keeps_numbers_and_hides_text_of_an_encrypted_database(keyed, monkeypatch):
    hidden = defs_metadata.report_metadata(FakeReport())
    assert hidden["rows_loaded"] == 3 and hidden["complete"].value == "True"
    assert hidden["files"].value.startswith("1 ") and hidden["homonym_splits"].value.startswith("1 ")
    assert PHONE[1:] not in str(hidden) and NAME not in str(hidden)
    monkeypatch.delenv(KEY_ENV)
    assert NAME in defs_metadata.report_metadata(FakeReport())["homonym_splits"].value
