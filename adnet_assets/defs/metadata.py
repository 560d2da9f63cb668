"""What a data engineer sees of a table in the Dagster UI: row count, column schema, a safe preview
(none when the database is encrypted: the UI's metadata is stored in plain SQLite)."""

from __future__ import annotations

import dataclasses
import re

import dagster as dg
import duckdb

from adnet_assets.lib.encryption import KEY_ENV, configured as encryption_configured
from adnet_assets.schema import Table

_PREVIEW_ROWS = 10
_PREVIEW_CHARS = 48
# Every ASCII punctuation character but '&' and ';' (which only appear in the entities written just
# before): markup, table cells ('|'), links and images ('[', ']', '(', ')', '!'), and what GitHub-flavoured
# markdown, which the UI renders, turns into a link without any markup: 'http:', 'www.', 'name@host'.
_MD_SPECIAL = re.compile(r"([!-%'-/:<-@\[-`{-~])")
PREVIEWS_OFF = (f"Previews are off because the database is encrypted ({KEY_ENV} is set): the UI keeps its "
                "metadata in plain SQLite under .dagster, where rows would undo the encryption.")


def safe_cell(value: object) -> str:
    """Ad content is attacker-controlled: shown as inert text, never as markup or links (not even the
    links GitHub-flavoured markdown makes of a bare ``http://…``, ``www.…`` or ``name@host``)."""
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


def previews_allowed() -> bool:
    """Rows may be shown in the UI only when the database is not encrypted: Dagster keeps metadata in
    plain SQLite under ``<data>/.dagster``, where a preview would undo the encryption."""
    return not encryption_configured()


def table_metadata(con: duckdb.DuckDBPyConnection, table: Table, *, preview_columns: list[str] | None = None,
                   order_by: str | None = None) -> dict[str, object]:
    """Row count, column schema and, unless the database is encrypted, a preview of the first rows."""
    n = con.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(int(n)),
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": dg.MetadataValue.text(table.name),
        "grain": dg.MetadataValue.text(table.grain),
    }
    if not previews_allowed():
        metadata["preview"] = dg.MetadataValue.md(PREVIEWS_OFF)
        return metadata
    cols = preview_columns or table.column_names[:8]
    quoted = ", ".join(f'"{c}"' for c in cols)
    order = f" ORDER BY {order_by}" if order_by else ""
    rows = con.execute(f'SELECT {quoted} FROM "{table.name}"{order} LIMIT {_PREVIEW_ROWS}').fetchall()
    metadata["preview"] = dg.MetadataValue.md(markdown_table(cols, rows))
    return metadata


def build_table(context, adnet, build, table: Table, *, preview_columns: list[str], order_by: str,
                extra=None, checks=()) -> dg.MaterializeResult:
    """The body of most table assets: build in one transaction, then report the table.

    ``build(con)`` writes the table and may return a dict of extra metadata (anything else it
    returns is ignored); ``extra(con)`` may add more, read after the commit. ``checks``: the
    asset's checks (defs/checks.py), run after the commit on the same connection.
    """
    from adnet_assets.defs.checks import results
    from adnet_assets.lib.store import transaction

    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            built = build(con)
        metadata = table_metadata(con, table, preview_columns=preview_columns, order_by=order_by)
        if isinstance(built, dict):
            metadata.update(built)
        if extra is not None:
            metadata.update(extra(con))
        check_results = results(checks, adnet, con)
    return dg.MaterializeResult(metadata=metadata, check_results=check_results)


def check_query(con, failing_sql: str, what: str, columns: list[str]) -> dg.AssetCheckResult:
    """Pass when the query of failing rows is empty; show a sample of them when not."""
    n = con.execute(f"SELECT count(*) FROM ({failing_sql})").fetchone()[0]
    sample = {}
    if n and previews_allowed():
        rows = con.execute(f"SELECT * FROM ({failing_sql}) LIMIT 5").fetchall()
        sample = {"sample": dg.MetadataValue.md(markdown_table(columns, rows))}
    elif n:
        sample = {"sample": dg.MetadataValue.md(PREVIEWS_OFF + " Query the failing rows in the database.")}
    return dg.AssetCheckResult(passed=n == 0, metadata={"failing_rows": n, "rule": what, **sample})


def report_metadata(report) -> dict:
    """A lib report dataclass as metadata: numbers as numbers, the rest as text.

    When the database is encrypted, text is not shown (a report's lists name files, people and
    numbers: a billing file is named after its phone); a collection shows how many it holds."""
    out = {}
    shown = previews_allowed()
    for f in dataclasses.fields(report):
        value = getattr(report, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if value in (None, [], {}, ()):
                continue
            if shown or isinstance(value, bool):
                out[f.name] = dg.MetadataValue.text(str(value)[:2000])
            elif isinstance(value, (list, tuple, set, frozenset, dict)):
                out[f.name] = dg.MetadataValue.text(f"{len(value)} (not shown: the database is encrypted)")
            else:
                out[f.name] = dg.MetadataValue.text("not shown: the database is encrypted")
        else:
            out[f.name] = value
    return out
