"""Graph export: the evidence graph, or one network, as files analysts open in Gephi, i2 and Maltego.

``write_graph_files(con, folder)`` writes the whole evidence graph (every row of ``links``);
``write_graph_files(con, folder, network_id="N-3")`` writes one network: its members from
``network_members`` and only the links whose both ends are members.
``write_network_graph_files(con, folder, ids)`` writes the same files for many networks from one query
ordered by network (not one pass per network). Each network, and the whole graph, has four files:

* ``<stem>.gexf``     for Gephi (GEXF 1.2, undirected)
* ``<stem>.graphml``  for Gephi, yEd, Maltego
* ``<stem>.nodes.csv`` columns id,type,label,network_id,explanation     for i2 / Maltego
* ``<stem>.edges.csv`` columns source,target,kind,weight,evidence,strength

The stem is ``evidence_graph`` or ``network_<id>`` (characters outside ``A-Za-z0-9._-`` in the id become ``_``).

Graph content
  Nodes are typed keys (``phone:+4741234567``, ``ad:<site>:<id>``, ``owner:O-…``, ``address:<key>``) with
  attributes ``type``, ``label`` (the key without its type prefix), ``network_id`` (the network(s) the node is a
  member of, ``;``-joined, or ``""``) and ``explanation`` (why it is a member, ``""`` when not a member).
  Edges carry ``kind``, ``weight`` (float; NULL becomes 0.0), ``evidence``, ``source`` and ``strength``. Two
  entities may be joined by several pieces of evidence, so the graph is an undirected multigraph: one edge per
  ``links`` row, with a key counting the edges between the same two nodes (``networkx_key`` in GEXF, the edge
  ``id`` in GraphML: what networkx reads as the multigraph key). Every attribute except ``weight`` is a string
  (NULL becomes ``""``). Nodes come members first (in ``network_members`` order), then the other ends of links
  in ``links`` order; edges in ``links`` order (``a``, ``b``, ``kind``, ``source``, ``evidence``, then the other
  columns), each with ``a`` as source and ``b`` as target.

How it is written
  One DuckDB query makes every node and edge row of every file in scope, text already cleaned and escaped
  for XML (attribute values and element text) and CSV, ordered by file; Python only streams the rows into
  the files. No graph is held in memory, so the whole graph of a continent's ads costs one sort in DuckDB
  (which spills to disk) and a few megabytes of Python. Same database, same bytes (no date in the files).

Text cleaning
  XML 1.0 cannot hold most control characters or lone surrogates, so every text value (in all four files) has
  them removed: C0 controls except tab and newline, CR (``\\r\\n`` and ``\\r`` become ``\\n``), DEL and the C1
  controls, surrogates, and the non-characters U+FFFE/U+FFFF; also the bidirectional controls
  ``safe_text.strip_controls`` removes (the SQL below is that function, checked against it in the tests).
  Markup such as ``<b>`` is kept as text and escaped (``& < > "``, and tab and newline in attribute values, so
  an XML parser does not fold them into spaces).

CSV files
  UTF-8 with a byte-order mark (``utf-8-sig``), so Excel-based tools read æ, ø and å. To defuse spreadsheet
  formula injection, a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab, CR or LF is prefixed with a
  single quote ``'``. A cell that is exactly an E.164 number (``+`` and 7 to 15 digits) is exempt: it cannot carry a
  formula, and i2 and Maltego import the CSV directly, where a quote would become part of the phone's label. The
  ``id``/``source``/``target`` columns hold typed keys and are never affected. The numeric ``weight`` column is
  written as a number and not prefixed. Cells are quoted as Python's ``csv`` module quotes them (a cell holding
  ``,``, ``"``, CR or LF), rows end in CRLF.

Every file is written to a temporary file in the target folder and moved into place with ``os.replace``, so a
reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

import duckdb

from adnet_assets.lib.safe_text import strip_controls, strip_controls_sql, xml_text_sql
from adnet_assets.lib.store import atomic_file

__all__ = ["NODE_COLUMNS", "EDGE_COLUMNS", "clean_text", "clean_sql", "defuse_cell", "graph_stem",
           "write_graph_files", "write_network_graph_files"]

NODE_COLUMNS = ("id", "type", "label", "network_id", "explanation")
EDGE_COLUMNS = ("source", "target", "kind", "weight", "evidence", "strength")

# "\n" too: strip_controls turns a leading CR into LF, which must not undo the defusing.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_BATCH = 20_000


def clean_text(value: object) -> str:
    """A value as XML-1.0-safe text: NULL -> "", line ends -> \\n, control characters and surrogates removed."""
    if value is None:
        return ""
    return strip_controls(str(value))


def defuse_cell(text: str) -> str:
    """Prefix a CSV cell with ``'`` when a spreadsheet would read it as a formula (a bare E.164 number is safe)."""
    if _E164.fullmatch(text):
        return text
    return "'" + text if text.startswith(_FORMULA_START) else text


def graph_stem(network_id: str | None) -> str:
    """``evidence_graph`` or ``network_<id>`` with the id made safe for a file name."""
    if network_id is None:
        return "evidence_graph"
    return "network_" + re.sub(r"[^A-Za-z0-9._-]", "_", network_id)


# ----------------------------------------------------------------------------------------------- SQL text

def clean_sql(expr: str) -> str:
    """SQL for ``clean_text(expr)``: NULL -> '', CRLF and CR -> LF, control characters removed."""
    return strip_controls_sql(f"coalesce(CAST({expr} AS VARCHAR), '')")


def _xml_attr(expr: str) -> str:
    """Escaped for a double-quoted XML attribute value (tab and LF as references: parsers fold them)."""
    return (f"replace(replace(replace({xml_text_sql(expr)}, '\"', '&quot;'), chr(10), '&#10;'), "
            f"chr(9), '&#9;')")


def _csv_cell(expr: str) -> str:
    """``defuse_cell`` then quoted as csv.writer quotes (QUOTE_MINIMAL)."""
    defused = (f"(CASE WHEN regexp_full_match({expr}, '\\+[1-9][0-9]{{6,14}}') THEN {expr} "
               f"WHEN left({expr}, 1) IN ('=', '+', '-', '@', chr(9), chr(13), chr(10)) THEN '''' || {expr} "
               f"ELSE {expr} END)")
    return (f"(CASE WHEN regexp_matches({defused}, '[,\"\\r\\n]') "
            f"THEN '\"' || replace({defused}, '\"', '\"\"') || '\"' ELSE {defused} END)")


def _members_cte(has_members: bool, scoped: bool) -> str:
    """``mem``: the member rows in scope, cleaned, with their group ``g`` ('' for the whole graph) and order."""
    if not has_members:
        return ("mem AS (SELECT NULL::VARCHAR AS g, NULL::VARCHAR AS nid, NULL::VARCHAR AS mtype, "
                "NULL::VARCHAR AS key, NULL::BOOLEAN AS has_exp, NULL::VARCHAR AS exp, NULL::BIGINT AS ord "
                "WHERE false)")
    group = "network_id" if scoped else "''"
    where = "WHERE network_id IN (SELECT unnest($wanted::VARCHAR[]))" if scoped else ""
    # f"{member_type}:{member_key}" in Python wrote None for NULL: kept so a key means what it meant
    key = "coalesce(member_type, 'None') || ':' || coalesce(member_key, 'None')"
    return f"""mem AS (
        SELECT {group} AS g, {clean_sql('network_id')} AS nid, {clean_sql('member_type')} AS mtype,
               {clean_sql(key)} AS key, explanation IS NOT NULL AS has_exp, {clean_sql('explanation')} AS exp,
               row_number() OVER (ORDER BY network_id, member_type, member_key, explanation) AS ord
        FROM network_members {where})"""


def _graph_sql(has_members: bool, scoped: bool) -> str:
    """One row per node and edge line of every file in scope, in file order: (g, part, sect, ord, gexf,
    graphml, csv). ``g`` is '' (the whole graph) or the network id; ``part`` 0 for nodes, 1 for edges."""
    c = clean_sql
    if scoped:  # the links whose both (cleaned) ends are members of the same network
        scoped_links = """mk AS (SELECT DISTINCT g, key FROM mem),
        se AS (SELECT ma.g, lk.* FROM lk JOIN mk ma ON lk.a = ma.key JOIN mk mb ON lk.b = mb.key AND mb.g = ma.g)"""
    else:
        scoped_links = "se AS (SELECT '' AS g, lk.* FROM lk)"
    label = "CASE WHEN contains(key, ':') THEN substr(key, strpos(key, ':') + 1) ELSE key END"
    prefix = "CASE WHEN contains(key, ':') THEN split_part(key, ':', 1) ELSE '' END"
    return f"""
    WITH {_members_cte(has_members, scoped)},
    lk AS (
        SELECT {c('kind')} AS kind, {c('a')} AS a, {c('b')} AS b, coalesce(CAST(weight AS DOUBLE), 0.0) AS w,
               {c('evidence')} AS ev, {c('a_type')} AS a_type, {c('b_type')} AS b_type, {c('source')} AS src,
               {c('strength')} AS st,
               row_number() OVER (ORDER BY a, b, kind, source, evidence, weight, strength, a_type, b_type) AS lo
        FROM links),
    {scoped_links},
    mnode AS (SELECT g, key, arg_max(mtype, ord) AS typ, min(ord) AS first FROM mem GROUP BY g, key),
    mnid AS (SELECT g, key, string_agg(nid, ';' ORDER BY f) AS nids
             FROM (SELECT g, key, nid, min(ord) AS f FROM mem GROUP BY g, key, nid) GROUP BY g, key),
    mexp AS (SELECT g, key, string_agg(exp, ' | ' ORDER BY f) AS exps
             FROM (SELECT g, key, exp, min(ord) AS f FROM mem WHERE has_exp GROUP BY g, key, exp) GROUP BY g, key),
    ends AS (SELECT g, a AS key, a_type AS typ, 2 * lo AS pos FROM se
             UNION ALL SELECT g, b AS key, b_type AS typ, 2 * lo + 1 AS pos FROM se),
    lnode AS (SELECT g, key, arg_min(typ, pos) AS typ, min(pos) AS first
              FROM ends ANTI JOIN mnode USING (g, key) GROUP BY g, key),
    nodes AS (
        SELECT g, 0 AS sect, first, key, typ, coalesce(nids, '') AS nids, coalesce(exps, '') AS exps
        FROM mnode LEFT JOIN mnid USING (g, key) LEFT JOIN mexp USING (g, key)
        UNION ALL SELECT g, 1 AS sect, first, key, typ, '' AS nids, '' AS exps FROM lnode),
    nrow AS (
        SELECT g, sect, first, key, coalesce(nullif(typ, ''), {prefix}) AS typ, {label} AS label, nids, exps
        FROM nodes),
    erow AS (
        SELECT g, lo, a, b, kind, CAST(w AS VARCHAR) AS w, ev, src, st,
               row_number() OVER (PARTITION BY g ORDER BY lo) - 1 AS eid,
               row_number() OVER (PARTITION BY g, least(a, b), greatest(a, b) ORDER BY lo) - 1 AS k
        FROM se)
    SELECT g, 0 AS part, sect, first AS ord,
           '<node id="' || {_xml_attr('key')} || '" label="' || {_xml_attr('label')} || '"><attvalues>'
             || '<attvalue for="0" value="' || {_xml_attr('typ')} || '"/>'
             || '<attvalue for="1" value="' || {_xml_attr('nids')} || '"/>'
             || '<attvalue for="2" value="' || {_xml_attr('exps')} || '"/></attvalues></node>' || chr(10) AS gexf,
           '<node id="' || {_xml_attr('key')} || '"><data key="d0">' || {xml_text_sql('typ')} || '</data>'
             || '<data key="d1">' || {xml_text_sql('label')} || '</data><data key="d2">' || {xml_text_sql('nids')}
             || '</data><data key="d3">' || {xml_text_sql('exps')} || '</data></node>' || chr(10) AS graphml,
           concat_ws(',', {_csv_cell('key')}, {_csv_cell('typ')}, {_csv_cell('label')}, {_csv_cell('nids')},
                     {_csv_cell('exps')}) || chr(13) || chr(10) AS csv
    FROM nrow
    UNION ALL
    SELECT g, 1 AS part, 0 AS sect, lo AS ord,
           '<edge id="' || eid || '" source="' || {_xml_attr('a')} || '" target="' || {_xml_attr('b')}
             || '" weight="' || w || '"><attvalues>'
             || '<attvalue for="3" value="' || {_xml_attr('kind')} || '"/>'
             || '<attvalue for="4" value="' || {_xml_attr('ev')} || '"/>'
             || '<attvalue for="5" value="' || {_xml_attr('src')} || '"/>'
             || '<attvalue for="6" value="' || {_xml_attr('st')} || '"/>'
             || '<attvalue for="7" value="' || k || '"/></attvalues></edge>' || chr(10),
           '<edge source="' || {_xml_attr('a')} || '" target="' || {_xml_attr('b')} || '" id="' || k || '">'
             || '<data key="d4">' || {xml_text_sql('kind')} || '</data><data key="d5">' || w || '</data>'
             || '<data key="d6">' || {xml_text_sql('ev')} || '</data><data key="d7">' || {xml_text_sql('src')}
             || '</data><data key="d8">' || {xml_text_sql('st')} || '</data></edge>' || chr(10),
           concat_ws(',', {_csv_cell('a')}, {_csv_cell('b')}, {_csv_cell('kind')}, w, {_csv_cell('ev')},
                     {_csv_cell('st')}) || chr(13) || chr(10)
    FROM erow
    ORDER BY g, part, sect, ord"""


# ------------------------------------------------------------------------------------------------ writing

_GEXF_HEAD = """<?xml version='1.0' encoding='utf-8'?>
<gexf xmlns="http://www.gexf.net/1.2draft" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.gexf.net/1.2draft http://www.gexf.net/1.2draft/gexf.xsd" version="1.2">
<meta><creator>adnet</creator></meta>
<graph defaultedgetype="undirected" mode="static" name="">
<attributes mode="static" class="node">
<attribute id="0" title="type" type="string"/>
<attribute id="1" title="network_id" type="string"/>
<attribute id="2" title="explanation" type="string"/>
</attributes>
<attributes mode="static" class="edge">
<attribute id="3" title="kind" type="string"/>
<attribute id="4" title="evidence" type="string"/>
<attribute id="5" title="source" type="string"/>
<attribute id="6" title="strength" type="string"/>
<attribute id="7" title="networkx_key" type="long"/>
</attributes>
<nodes>
"""
_GEXF_MID = "</nodes>\n<edges>\n"
_GEXF_TAIL = "</edges>\n</graph>\n</gexf>\n"
_GRAPHML_HEAD = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
<key id="d0" for="node" attr.name="type" attr.type="string"/>
<key id="d1" for="node" attr.name="label" attr.type="string"/>
<key id="d2" for="node" attr.name="network_id" attr.type="string"/>
<key id="d3" for="node" attr.name="explanation" attr.type="string"/>
<key id="d4" for="edge" attr.name="kind" attr.type="string"/>
<key id="d5" for="edge" attr.name="weight" attr.type="double"/>
<key id="d6" for="edge" attr.name="evidence" attr.type="string"/>
<key id="d7" for="edge" attr.name="source" attr.type="string"/>
<key id="d8" for="edge" attr.name="strength" attr.type="string"/>
<graph edgedefault="undirected">
"""
_GRAPHML_TAIL = "</graph>\n</graphml>\n"


def _paths(folder: Path, network_id: str | None) -> dict[str, Path]:
    stem = graph_stem(network_id)
    return {"gexf": folder / f"{stem}.gexf", "graphml": folder / f"{stem}.graphml",
            "nodes_csv": folder / f"{stem}.nodes.csv", "edges_csv": folder / f"{stem}.edges.csv"}


class _Files:
    """The four files of one graph, open on temporary paths; ``close`` finishes them and moves them in place."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self._stack = contextlib.ExitStack()
        handles: dict[str, IO[str]] = {}
        for name, path in paths.items():
            tmp = self._stack.enter_context(atomic_file(path))
            encoding = "utf-8-sig" if name.endswith("_csv") else "utf-8"
            handles[name] = self._stack.enter_context(open(tmp, "w", encoding=encoding, newline=""))
        self.gexf, self.graphml = handles["gexf"], handles["graphml"]
        self.nodes_csv, self.edges_csv = handles["nodes_csv"], handles["edges_csv"]
        self.gexf.write(_GEXF_HEAD)
        self.graphml.write(_GRAPHML_HEAD)
        self.nodes_csv.write(",".join(NODE_COLUMNS) + "\r\n")
        self.edges_csv.write(",".join(EDGE_COLUMNS) + "\r\n")
        self.in_edges = False

    def write(self, part: int, gexf: list[str], graphml: list[str], csv_lines: list[str]) -> None:
        if part == 1 and not self.in_edges:
            self.gexf.write(_GEXF_MID)
            self.in_edges = True
        self.gexf.write("".join(gexf))
        self.graphml.write("".join(graphml))
        (self.edges_csv if part == 1 else self.nodes_csv).write("".join(csv_lines))

    def close(self) -> None:
        if not self.in_edges:
            self.gexf.write(_GEXF_MID)
        self.gexf.write(_GEXF_TAIL)
        self.graphml.write(_GRAPHML_TAIL)
        self._stack.close()  # closes the handles, then fsyncs and renames each file into place

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)  # removes the temporary files


def _stream(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object], groups: list[str],
            open_files: Callable[[str], _Files], done: Callable[[str, _Files], None]) -> None:
    """Run ``sql`` and stream its rows into the files of each group, in order; groups without rows get
    files with no nodes or edges (headers only)."""
    pending = list(groups)
    current: tuple[str, _Files] | None = None
    try:
        # on ``con`` itself (not a cursor, which would not see its temporary tables or search path);
        # read to the end, so no result stays open
        result = con.execute(sql, params)
        while rows := result.fetchmany(_BATCH):
            start = 0
            while start < len(rows):
                g, part = rows[start][0], rows[start][1]
                end = start
                while end < len(rows) and rows[end][0] == g and rows[end][1] == part:
                    end += 1
                if current is None or current[0] != g:
                    if current is not None:
                        current[1].close()
                        done(*current)
                    while pending and pending[0] != g:  # a group with no rows at all
                        files = open_files(pending[0])
                        files.close()
                        done(pending.pop(0), files)
                    if pending:
                        pending.pop(0)
                    current = (g, open_files(g))
                chunk = rows[start:end]
                current[1].write(part, [r[4] for r in chunk], [r[5] for r in chunk], [r[6] for r in chunk])
                start = end
        if current is not None:
            current[1].close()
            done(*current)
            current = None
        for g in pending:
            files = open_files(g)
            files.close()
            done(g, files)
    except BaseException:
        if current is not None:
            current[1].abort()
        raise


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                       [name]).fetchone()[0] > 0


def _check_members(con: duckdb.DuckDBPyConnection, network_ids: list[str], has_members: bool) -> None:
    """ValueError naming the first network (in the order given) with no members."""
    if not has_members:
        raise ValueError(f"network {network_ids[0]!r} has no members (no network_members table)")
    found = {r[0] for r in con.execute(
        "SELECT DISTINCT network_id FROM network_members WHERE network_id IN (SELECT unnest(?::VARCHAR[]))",
        [network_ids]).fetchall()}
    for nid in network_ids:
        if nid not in found:
            raise ValueError(f"network {nid!r} has no members")


def write_graph_files(con: duckdb.DuckDBPyConnection, folder: Path, *,
                      network_id: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.gexf``, ``.graphml``, ``.nodes.csv`` and ``.edges.csv`` into ``folder``.

    Returns ``{"gexf": …, "graphml": …, "nodes_csv": …, "edges_csv": …}``. Raises ValueError when
    ``network_id`` is given but ``network_members`` is missing or has no such network.
    """
    if network_id is not None:
        return write_network_graph_files(con, folder, [network_id])[network_id]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = _paths(folder, None)
    _stream(con, _graph_sql(_has_table(con, "network_members"), scoped=False), {}, [""],
            lambda g: _Files(paths), lambda g, files: None)
    return paths


def write_network_graph_files(con: duckdb.DuckDBPyConnection, folder: Path, network_ids: list[str], *,
                              progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, Path]]:
    """The files of each network in ``network_ids`` (what ``write_graph_files(con, folder, network_id=…)``
    writes, the same bytes) from one query ordered by network: ``{network_id: {"gexf": …, …}}``.
    ``progress(done, total)`` after each network.

    Raises ValueError when a network has no members (before writing anything)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not network_ids:
        return {}
    wanted = list(dict.fromkeys(network_ids))
    has_members = _has_table(con, "network_members")
    _check_members(con, wanted, has_members)
    order = sorted(wanted)  # the query's order (ORDER BY g): VARCHAR sorts by code point, as Python does
    written: dict[str, dict[str, Path]] = {}

    def done(nid: str, files: _Files) -> None:
        written[nid] = files.paths
        if progress is not None:
            progress(len(written), len(wanted))

    _stream(con, _graph_sql(has_members, scoped=True), {"wanted": wanted}, order,
            lambda nid: _Files(_paths(folder, nid)), done)
    return {nid: written[nid] for nid in wanted}
