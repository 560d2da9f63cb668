"""DuckDB helpers the forget steps share: quoting a name, Python values as views (the request's
numbers ``_fg_phones`` and name keys ``_fg_keys``), a name key computed in SQL, and ``confirm``:
the rows an RE2 prefilter let through, kept when ``Needles.search`` confirms them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import duckdb
import pandas as pd

from adnet_assets.lib.forget.needles import Needles
from adnet_assets.lib.forget.request import Request
from adnet_assets.lib.store import quote_ident as quote  # noqa: F401  (the steps import it from here)

# ``request.name_key`` in SQL, over a column already folded (``name_norm``)
KEY_SQL = "array_to_string(list_sort(list_filter(string_split(coalesce({col}, ''), ' '), lambda w: w <> '')), ' ')"


def register_strings(con: duckdb.DuckDBPyConnection, name: str, column: str, values: Iterable[str]) -> None:
    """``values`` as the view ``name`` of one string column."""
    con.register(name, pd.DataFrame({column: pd.array(list(values), dtype="string")}))


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[None]:
    """``frame`` as the view ``name`` for the block."""
    con.register(name, frame)
    try:
        yield
    finally:
        con.unregister(name)


@contextlib.contextmanager
def target_views(con: duckdb.DuckDBPyConnection, request: Request) -> Iterator[None]:
    """The request's numbers (``_fg_phones``: phone) and name keys (``_fg_keys``: key) as views for the block."""
    register_strings(con, "_fg_phones", "phone", request.phones)
    register_strings(con, "_fg_keys", "key", request.keys)
    try:
        yield
    finally:
        for view in ("_fg_phones", "_fg_keys"):
            with contextlib.suppress(Exception):
                con.unregister(view)


def confirm(con: duckdb.DuckDBPyConnection, needles: Needles, select_sql: str, table: str) -> int:
    """Run ``select_sql`` (key columns, then the text last: rows the prefilter let through), keep the rows
    whose text ``needles.search`` confirms, and put their keys in the temp table ``table``."""
    cur = con.execute(select_sql)
    names = [d[0] for d in cur.description][:-1]
    rows = [r[:-1] for r in cur.fetchall() if r[-1] is not None and needles.search(r[-1])]
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame({n: [] for n in names})
    for name in names:
        frame[name] = frame[name].astype("Int64" if name in ("line_no", "rid") else "string")
    with registered(con, "_fg_confirmed", frame):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _fg_confirmed")
    return len(rows)
