"""Networks taken a batch at a time by their member rows: the per-network exports (pictures, XMind maps)
read all networks of a batch in one SQL pass, so the work grows with the networks' sizes, never with a
query per network, and a batch stays small in memory."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from adnet_assets.lib.store import table_exists


def network_batches(con: duckdb.DuckDBPyConnection, ids: list[str], max_members: int) -> Iterator[list[str]]:
    """``ids`` in order, in runs that end once they reach ``max_members`` member rows of ``network_members``."""
    sizes = dict(con.execute("SELECT network_id, count(*) FROM network_members GROUP BY 1").fetchall()
                 ) if table_exists(con, "network_members") else {}
    batch, rows = [], 0
    for nid in ids:
        batch.append(nid)
        rows += sizes.get(nid, 0)
        if rows >= max_members:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch
