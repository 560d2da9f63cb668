"""The audit trail: who looked numbers up, exported, shared or forgot, when, and on what scope.

adnet holds data about people who may be victims. Every action that sends data out of the
database (a directory look-up sends numbers to a service; an export writes files people carry
away) or removes data about a person leaves one row in ``audit_log``. A row says what the action
covered in counts and folders, never the numbers, names or addresses themselves: the trail must
not become a second copy of what it audits, nor undo a ``forget``.

Rows are appended inside the caller's transaction and never rewritten by a run.
"""

from __future__ import annotations

import getpass
import os
import socket

import duckdb

from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import AUDIT_LOG

ACTOR_ENV = "ADNET_ACTOR"
ACTIONS = ("directory_lookup", "export", "shared_export", "forget")


def current_actor() -> str:
    """The person to name: ``$ADNET_ACTOR`` (set it per analyst on shared machines), else the OS user."""
    actor = os.environ.get(ACTOR_ENV, "").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def record(con: duckdb.DuckDBPyConnection, action: str, scope: str, *, run_id: str | None = None,
           actor: str | None = None) -> None:
    """Append one audit row (``action`` is one of ``ACTIONS``; ``scope`` holds no personal data)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    ensure_table(con, AUDIT_LOG)
    cols = ", ".join(f'"{c}"' for c in AUDIT_LOG.column_names)
    con.execute(f'INSERT INTO "{AUDIT_LOG.name}" ({cols}) VALUES (now(), ?, ?, ?, ?, ?)',
                [actor or current_actor(), action, scope, run_id, socket.gethostname()])
