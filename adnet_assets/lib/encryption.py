"""Encryption at rest: the key from the environment, DuckDB's cipher module, encrypted Parquet, clear errors.

When ``ADNET_DB_KEY`` is set, every database file adnet writes (``adnet.duckdb``, the analysts'
copy) is a DuckDB encrypted database (AES-GCM-256; DuckDB derives the cipher key from the string),
the per-window Parquet files under ``warehouse/`` use Parquet modular encryption with a key
derived from the same string, and DuckDB's spill files are encrypted too. The key is read from
the environment only: never from a configuration file, never written anywhere by adnet.

DuckDB reads encrypted files with its built-in cipher code but writes them only with OpenSSL,
which its ``httpfs`` extension brings (``INSTALL httpfs`` once per machine). Without it, DuckDB
can still write with its built-in fallback, which DuckDB itself calls "not securely encrypted";
adnet uses that fallback only when ``ADNET_DB_ALLOW_UNSAFE_CRYPTO=1`` says so (tests, machines
where the extension cannot be installed), never silently.

This module only knows keys and DuckDB settings; opening files is ``lib/store.py``'s job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import duckdb

from adnet_assets.lib.env_keys import checked_key

KEY_ENV = "ADNET_DB_KEY"
OLD_KEY_ENV = "ADNET_DB_OLD_KEY"  # adnet encrypt: the key a folder is encrypted with now, to change it
UNSAFE_CRYPTO_ENV = "ADNET_DB_ALLOW_UNSAFE_CRYPTO"
MIN_KEY_CHARS = 32
PARQUET_KEY_NAME = "adnet_warehouse"
_PARQUET_KEY_LABEL = b"adnet warehouse parquet v1"

MAKE_KEY_HINT = (f"Make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\" and keep it in a "
                 f"password manager (lose it and the data is gone); then `export {KEY_ENV}=<that key>` in the shell "
                 f"that runs adnet.")


class FromEnv:
    """The default for a ``key`` argument: read ``ADNET_DB_KEY`` when the file is opened."""

    def __repr__(self) -> str:
        return "FROM_ENV"


FROM_ENV = FromEnv()


class KeyProblem(ValueError):
    """``ADNET_DB_KEY`` is set but unusable (empty, too short, surrounded by blanks)."""


class EncryptionMismatch(RuntimeError):
    """A file and the configured key disagree: encrypted without a key, plain with one, or the wrong key."""


class CryptoUnavailable(RuntimeError):
    """DuckDB cannot write encrypted files here: no OpenSSL (httpfs) and the unsafe fallback not allowed."""


def key_from_env(environ: os._Environ | dict | None = None) -> str | None:
    """The configured key, or None when ``ADNET_DB_KEY`` is unset. Refuses a weak or ambiguous key."""
    environ = os.environ if environ is None else environ
    if KEY_ENV not in environ:
        return None
    return check_key(environ[KEY_ENV])


def check_key(key: str) -> str:
    return checked_key(KEY_ENV, key, min_chars=MIN_KEY_CHARS, hint=MAKE_KEY_HINT, error=KeyProblem,
                       missing="is set but empty. Unset it to work without encryption, or set a real key.",
                       why_long="a short key can be guessed")


def resolve(key: str | None | FromEnv) -> str | None:
    """A ``key`` argument made concrete: FROM_ENV reads the environment, a string is checked, None is no key."""
    if isinstance(key, FromEnv):
        return key_from_env()
    return None if key is None else check_key(key)


def configured() -> bool:
    """Whether a key is configured (``ADNET_DB_KEY`` set; a bad one raises :class:`KeyProblem`)."""
    return key_from_env() is not None


def parquet_key(key: str) -> str:
    """The 256-bit Parquet key derived from the database key (base64, as ``add_parquet_key`` takes it).

    A keyed hash of a fixed label: the warehouse and the database never share the same cipher key,
    and nobody has to manage a second secret."""
    digest = hmac.new(key.encode("utf-8"), _PARQUET_KEY_LABEL, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def enable_crypto(con: duckdb.DuckDBPyConnection, *, writing: bool = True) -> str:
    """Give this connection's DuckDB a cipher module able to write; returns which one ('openssl' or 'unsafe').

    Reading needs nothing: DuckDB's built-in code decrypts. Raises :class:`CryptoUnavailable` when
    writing is asked for and neither OpenSSL (``httpfs``) nor the explicit unsafe fallback is there."""
    try:
        con.execute("LOAD httpfs")
        return "openssl"
    except duckdb.Error:
        pass
    if os.environ.get(UNSAFE_CRYPTO_ENV, "").strip().lower() in ("1", "true", "yes"):
        con.execute("SET force_mbedtls_unsafe = true")
        return "unsafe"
    if not writing:
        return "read-only"
    raise CryptoUnavailable(
        f"{KEY_ENV} is set, and DuckDB writes encrypted files only with OpenSSL, which its httpfs extension "
        f"brings; httpfs is not installed for DuckDB {duckdb.__version__} here. Install it once with: "
        f"python -c \"import duckdb; duckdb.sql('INSTALL httpfs')\" (needs network; offline, copy "
        f"httpfs.duckdb_extension into ~/.duckdb/extensions/v{duckdb.__version__}/<platform>/). "
        f"Only for tests, or where that cannot be done: {UNSAFE_CRYPTO_ENV}=1 lets DuckDB use its built-in "
        f"fallback, which DuckDB itself calls not securely encrypted.")


def register_parquet_key(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Make the warehouse key known to this connection (in memory only) under :data:`PARQUET_KEY_NAME`."""
    # PRAGMA cannot take a prepared parameter; the derived key is base64 (no quote can occur in it)
    con.execute(f"PRAGMA add_parquet_key('{PARQUET_KEY_NAME}', '{parquet_key(key)}')")


def parquet_write_option(key: str | None) -> str:
    """The COPY option that encrypts a Parquet file with the registered warehouse key ('' without a key)."""
    return f", ENCRYPTION_CONFIG {{footer_key: '{PARQUET_KEY_NAME}'}}" if key else ""


def parquet_read_option(key: str | None) -> str:
    """The read_parquet argument that decrypts with the registered warehouse key ('' without a key)."""
    return f", encryption_config = {{footer_key: '{PARQUET_KEY_NAME}'}}" if key else ""


def explain(exc: Exception, path: Path | str, key: str | None) -> EncryptionMismatch | None:
    """A DuckDB error about a key that does not fit the file, as a message that says what to do; else None."""
    text = str(exc)
    low = text.lower()
    where = str(path)
    if "without a key" in low or ("is encrypted, but" in low and "encryption_config" in low and "not set" in low):
        return EncryptionMismatch(
            f"{where} is encrypted and {KEY_ENV} is not set in this environment. Set it to the key the data "
            f"folder was encrypted with (`export {KEY_ENV}=...`), then run again.")
    if "wrong encryption key" in low or "aes tag differs" in low or "right key" in low:
        return EncryptionMismatch(
            f"{where} was encrypted with another key than the one in {KEY_ENV}. Set {KEY_ENV} to the key the data "
            f"folder was encrypted with (check for a typo or a key from another investigation), then run again.")
    if key and ("is not encrypted" in low or "not encrypted, but" in low):
        return EncryptionMismatch(
            f"{where} is not encrypted, but {KEY_ENV} is set. To encrypt the data folder in place, run "
            f"`adnet encrypt --data-dir <data folder>` (with the key set; it rewrites the database, the analysts' "
            f"copy and the warehouse files, each atomically), or unset {KEY_ENV} to keep working unencrypted.")
    return None
