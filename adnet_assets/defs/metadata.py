"""What a data engineer sees of a table in the Dagster UI: row count, column schema, a safe preview."""

from __future__ import annotations

import dataclasses
import re

import dagster as dg
import duckdb

from adnet_assets.schema import Table

_PREVIEW_ROWS = 10
_PREVIEW_CHARS = 48
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def safe_cell(value: object) -> str:
    """Ad content is attacker-controlled: shown as inert text, never as markup or links."""
    if value is None:
        return ""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(value))
    if len(text) > _PREVIEW_CHARS:
        text = text[: _PREVIEW_CHARS - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in table.columns])


def markdown_table(header: list[str], rows: list[tuple]) -> str:
    head = "| " + " | ".join(safe_cell(h) for h in header) + " |"
    rule = "|" + "---|" * len(header)
    body = ["| " + " | ".join(safe_cell(v) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def table_metadata(con: duckdb.DuckDBPyConnection, table: Table, *, preview_columns: list[str] | None = None,
                   order_by: str | None = None) -> dict[str, object]:
    cols = preview_columns or table.column_names[:8]
    quoted = ", ".join(f'"{c}"' for c in cols)
    order = f" ORDER BY {order_by}" if order_by else ""
    rows = con.execute(f'SELECT {quoted} FROM "{table.name}"{order} LIMIT {_PREVIEW_ROWS}').fetchall()
    n = con.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
    return {
        "dagster/row_count": dg.MetadataValue.int(int(n)),
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": dg.MetadataValue.text(table.name),
        "grain": dg.MetadataValue.text(table.grain),
        "preview": dg.MetadataValue.md(markdown_table(cols, rows)),
    }


def build_table(context, adnet, build, table: Table, *, preview_columns: list[str], order_by: str,
                extra=None) -> dg.MaterializeResult:
    """The body of most table assets: build in one transaction, then report the table.

    ``build(con)`` writes the table and may return a dict of extra metadata (anything else it
    returns is ignored); ``extra(con)`` may add more, read after the commit.
    """
    from adnet_assets.lib.store import transaction

    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            built = build(con)
        metadata = table_metadata(con, table, preview_columns=preview_columns, order_by=order_by)
        if isinstance(built, dict):
            metadata.update(built)
        if extra is not None:
            metadata.update(extra(con))
    return dg.MaterializeResult(metadata=metadata)


def check_query(con, failing_sql: str, what: str, columns: list[str]) -> dg.AssetCheckResult:
    """Pass when the query of failing rows is empty; show a sample of them when not."""
    n = con.execute(f"SELECT count(*) FROM ({failing_sql})").fetchone()[0]
    sample = con.execute(f"SELECT * FROM ({failing_sql}) LIMIT 5").fetchall() if n else []
    return dg.AssetCheckResult(
        passed=n == 0,
        metadata={"failing_rows": n, "rule": what,
                  **({"sample": dg.MetadataValue.md(markdown_table(columns, sample))} if n else {})},
    )


def report_metadata(report) -> dict:
    """A lib report dataclass as metadata: numbers as numbers, the rest as text."""
    out = {}
    for f in dataclasses.fields(report):
        value = getattr(report, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if value in (None, [], {}, ()):
                continue
            out[f.name] = dg.MetadataValue.text(str(value)[:2000])
        else:
            out[f.name] = value
    return out
