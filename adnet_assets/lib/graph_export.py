"""Graph export: the evidence graph, or one network, as files analysts open in Gephi, i2 and Maltego.

``write_graph_files(con, folder)`` writes the whole evidence graph (every row of ``links``);
``write_graph_files(con, folder, network_id="N-3")`` writes one network: its members from
``network_members`` and only the links whose both ends are members.
``write_network_graph_files(con, folder, ids)`` writes the same files for many networks, reading
``network_members`` and ``links`` once (not once per network). Each network, and the whole graph,
has four files:

* ``<stem>.gexf``     for Gephi (networkx ``write_gexf``)
* ``<stem>.graphml``  for Gephi, yEd, Maltego (networkx ``write_graphml``)
* ``<stem>.nodes.csv`` columns id,type,label,network_id,explanation     for i2 / Maltego
* ``<stem>.edges.csv`` columns source,target,kind,weight,evidence,strength

The stem is ``evidence_graph`` or ``network_<id>`` (characters outside ``A-Za-z0-9._-`` in the id become ``_``).

Graph content
  Nodes are typed keys (``phone:+4741234567``, ``ad:<site>:<id>``, ``owner:O-…``, ``address:<key>``) with
  attributes ``type``, ``label`` (the key without its type prefix), ``network_id`` (the network(s) the node is a
  member of, ``;``-joined, or ``""``) and ``explanation`` (why it is a member, ``""`` when not a member).
  Edges carry ``kind``, ``weight`` (float; NULL becomes 0.0), ``evidence``, ``source`` and ``strength``. Two
  entities may be joined by several pieces of evidence, so the graph is an undirected multigraph: one edge per
  ``links`` row. Every attribute except ``weight`` is a string (NULL becomes ``""``).

Text cleaning
  XML 1.0 cannot hold most control characters or lone surrogates, so every text value (in all four files) has
  them removed: C0 controls except tab and newline, CR (``\\r\\n`` and ``\\r`` become ``\\n``), DEL and the C1
  controls, surrogates, and the non-characters U+FFFE/U+FFFF. Markup such as ``<b>`` is kept as text; the XML
  writers escape it.

CSV files
  UTF-8 with a byte-order mark (``utf-8-sig``), so Excel-based tools read æ, ø and å. To defuse spreadsheet
  formula injection, a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab, CR or LF is prefixed with a
  single quote ``'``. A cell that is exactly an E.164 number (``+`` and 7 to 15 digits) is exempt: it cannot carry a
  formula, and i2 and Maltego import the CSV directly, where a quote would become part of the phone's label. The
  ``id``/``source``/``target`` columns hold typed keys and are never affected. The numeric ``weight`` column is
  written as a number and not prefixed.

Every file is written to a temporary file in the target folder and moved into place with ``os.replace``, so a
reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb

from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file

if TYPE_CHECKING:  # networkx is imported where a graph is built: loading the definitions stays light
    import networkx as nx

__all__ = ["NODE_COLUMNS", "EDGE_COLUMNS", "clean_text", "defuse_cell", "build_graph", "graph_stem",
           "write_graph_files", "write_network_graph_files"]

NODE_COLUMNS = ("id", "type", "label", "network_id", "explanation")
EDGE_COLUMNS = ("source", "target", "kind", "weight", "evidence", "strength")

# "\n" too: strip_controls turns a leading CR into LF, which must not undo the defusing.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


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


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                       [name]).fetchone()[0] > 0


def _split_key(key: str) -> tuple[str, str]:
    """(type, label) of a typed key: ``phone:+47…`` -> (``phone``, ``+47…``)."""
    kind, sep, rest = key.partition(":")
    return (kind, rest) if sep else ("", key)


def _float(value: object) -> float:
    return 0.0 if value is None else float(value)


def build_graph(con: duckdb.DuckDBPyConnection, network_id: str | None = None) -> nx.MultiGraph:
    """The evidence graph (or one network's subgraph) as a cleaned, string-attributed networkx MultiGraph.

    Raises ValueError when ``network_id`` is given but ``network_members`` is missing or has no such network.
    """
    return _build(con, network_id)[0]


_Members = dict[str, dict[str, list[str]]]
_MEMBER_SQL = """SELECT network_id, member_type, member_key, explanation FROM network_members
                 {where} ORDER BY network_id, member_type, member_key"""
_LINK_SQL = """SELECT kind, a, b, weight, evidence, a_type, b_type, source, strength FROM links
               ORDER BY a, b, kind, source, evidence"""


def _collect_members(rows, members: _Members, member_types: dict[str, str]) -> None:
    """Add ``network_members`` rows (network_id, member_type, member_key, explanation) to the member maps."""
    for nid, mtype, mkey, explanation in rows:
        key = clean_text(f"{mtype}:{mkey}")
        info = members.setdefault(key, {"network_id": [], "explanation": []})
        if clean_text(nid) not in info["network_id"]:
            info["network_id"].append(clean_text(nid))
        if explanation is not None and clean_text(explanation) not in info["explanation"]:
            info["explanation"].append(clean_text(explanation))
        member_types[key] = clean_text(mtype)


def _clean_links(con: duckdb.DuckDBPyConnection, batch: int = 50_000):
    """Every ``links`` row in ``links`` order, cleaned once: (kind, a, b, weight, evidence, a_type, b_type,
    source, strength), streamed in batches."""
    cursor = con.execute(_LINK_SQL)
    while rows := cursor.fetchmany(batch):
        for kind, a, b, weight, evidence, a_type, b_type, source, strength in rows:
            yield (clean_text(kind), clean_text(a), clean_text(b), _float(weight), clean_text(evidence),
                   clean_text(a_type), clean_text(b_type), clean_text(source), clean_text(strength))


def _graph(members: _Members, member_types: dict[str, str], links) -> tuple[nx.MultiGraph, list[list[object]]]:
    """The graph and its edge CSV rows from member maps and cleaned link rows (already in scope)."""
    import networkx as nx

    graph = nx.MultiGraph()
    edge_rows: list[list[object]] = []
    empty: dict[str, list[str]] = {"network_id": [], "explanation": []}

    def add_node(key: str, node_type: str) -> None:
        if key in graph:
            return
        prefix, label = _split_key(key)
        info = members.get(key, empty)
        graph.add_node(key, type=node_type or prefix, label=label,
                       network_id=";".join(info["network_id"]), explanation=" | ".join(info["explanation"]))

    for key in members:  # members first, so isolated members still appear
        add_node(key, member_types.get(key, ""))
    for kind, a, b, weight, evidence, a_type, b_type, source, strength in links:
        add_node(a, a_type)
        add_node(b, b_type)
        graph.add_edge(a, b, kind=kind, weight=weight, evidence=evidence, source=source, strength=strength)
        edge_rows.append([a, b, kind, weight, evidence, strength])
    return graph, edge_rows


def _build(con: duckdb.DuckDBPyConnection, network_id: str | None) -> tuple[nx.MultiGraph, list[list[object]]]:
    """The graph and its edge CSV rows, in ``links`` order with ``a`` as source and ``b`` as target."""
    has_members = _has_table(con, "network_members")
    members: _Members = {}
    member_types: dict[str, str] = {}
    if has_members:
        if network_id is None:
            rows = con.execute(_MEMBER_SQL.format(where="")).fetchall()
        else:
            rows = con.execute(_MEMBER_SQL.format(where="WHERE network_id = ?"), [network_id]).fetchall()
        _collect_members(rows, members, member_types)
    if network_id is not None and not members:
        raise ValueError(f"network {network_id!r} has no members"
                         + ("" if has_members else " (no network_members table)"))
    links = _clean_links(con)
    if network_id is not None:
        links = (row for row in links if row[1] in members and row[2] in members)
    return _graph(members, member_types, links)


def _write_atomically(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Run ``write`` on a binary temp file beside ``target``, then rename it into place."""
    with atomic_file(target) as tmp, open(tmp, "wb") as handle:
        write(handle)


def _csv_writer(header: tuple[str, ...], rows: list[list[object]]) -> Callable[[IO[bytes]], None]:
    def write(handle: IO[bytes]) -> None:
        with open(handle.fileno(), "w", encoding="utf-8-sig", newline="", closefd=False) as text:
            writer = csv.writer(text)
            writer.writerow(header)
            for row in rows:
                writer.writerow([cell if isinstance(cell, float) else defuse_cell(cell) for cell in row])
    return write


def _write_files(graph: nx.MultiGraph, edge_rows: list[list[object]], folder: Path,
                 network_id: str | None) -> dict[str, Path]:
    import networkx as nx

    stem = graph_stem(network_id)
    paths = {"gexf": folder / f"{stem}.gexf", "graphml": folder / f"{stem}.graphml",
             "nodes_csv": folder / f"{stem}.nodes.csv", "edges_csv": folder / f"{stem}.edges.csv"}

    _write_atomically(paths["gexf"], lambda h: nx.write_gexf(graph, h, encoding="utf-8"))
    _write_atomically(paths["graphml"], lambda h: nx.write_graphml(graph, h, encoding="utf-8"))

    node_rows = [[key, d["type"], d["label"], d["network_id"], d["explanation"]]
                 for key, d in graph.nodes(data=True)]
    _write_atomically(paths["nodes_csv"], _csv_writer(NODE_COLUMNS, node_rows))
    _write_atomically(paths["edges_csv"], _csv_writer(EDGE_COLUMNS, edge_rows))
    return paths


def write_graph_files(con: duckdb.DuckDBPyConnection, folder: Path, *,
                      network_id: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.gexf``, ``.graphml``, ``.nodes.csv`` and ``.edges.csv`` into ``folder``.

    Returns ``{"gexf": …, "graphml": …, "nodes_csv": …, "edges_csv": …}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    graph, edge_rows = _build(con, network_id)
    return _write_files(graph, edge_rows, folder, network_id)


def write_network_graph_files(con: duckdb.DuckDBPyConnection, folder: Path, network_ids: list[str], *,
                              progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, Path]]:
    """The files of each network in ``network_ids`` (as ``write_graph_files(con, folder, network_id=…)``
    writes them, the same bytes), reading ``network_members`` and ``links`` once for all of them instead
    of once per network: ``{network_id: {"gexf": …, …}}``. ``progress(done, total)`` after each network.

    Raises ValueError when a network has no members (before writing anything)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not network_ids:
        return {}
    wanted = list(dict.fromkeys(network_ids))
    has_members = _has_table(con, "network_members")
    by_network: dict[str, tuple[_Members, dict[str, str]]] = {nid: ({}, {}) for nid in wanted}
    if has_members:
        rows = con.execute(_MEMBER_SQL.format(where="WHERE network_id IN (SELECT unnest(?::VARCHAR[]))"),
                           [wanted]).fetchall()
        for nid, *rest in rows:
            _collect_members([(nid, *rest)], *by_network[nid])
    for nid in wanted:
        if not by_network[nid][0]:
            raise ValueError(f"network {nid!r} has no members"
                             + ("" if has_members else " (no network_members table)"))
    networks_of: dict[str, list[str]] = defaultdict(list)  # member key -> the wanted networks holding it
    for nid in wanted:
        for key in by_network[nid][0]:
            networks_of[key].append(nid)
    links: dict[str, list[tuple]] = {nid: [] for nid in wanted}
    for row in _clean_links(con):  # one pass over links, in links order: each network keeps that order
        in_a = networks_of.get(row[1])
        if in_a:
            in_b = networks_of.get(row[2])
            if in_b:
                for nid in in_a:
                    if nid in in_b:
                        links[nid].append(row)
    written: dict[str, dict[str, Path]] = {}
    for nid in wanted:
        graph, edge_rows = _graph(*by_network[nid], links.pop(nid))
        written[nid] = _write_files(graph, edge_rows, folder, nid)
        if progress is not None:
            progress(len(written), len(wanted))
    return written
