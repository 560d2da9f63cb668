"""Graph export: the evidence graph, or one network, as files analysts open in Gephi, i2 and Maltego.

``write_graph_files(con, folder)`` writes the whole evidence graph (every row of ``links``);
``write_graph_files(con, folder, network_id="N-3")`` writes one network: its members from
``network_members`` and only the links whose both ends are members. Each call writes four files:

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
from collections.abc import Callable
from pathlib import Path
from typing import IO

import duckdb
import networkx as nx

from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file

__all__ = ["NODE_COLUMNS", "EDGE_COLUMNS", "clean_text", "defuse_cell", "build_graph", "graph_stem",
           "write_graph_files"]

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


def _build(con: duckdb.DuckDBPyConnection, network_id: str | None) -> tuple[nx.MultiGraph, list[list[object]]]:
    """The graph and its edge CSV rows, in ``links`` order with ``a`` as source and ``b`` as target."""
    has_members = _has_table(con, "network_members")
    members: dict[str, dict[str, list[str]]] = {}
    member_types: dict[str, str] = {}
    if has_members:
        sql = """SELECT network_id, member_type, member_key, explanation FROM network_members
                 {where} ORDER BY network_id, member_type, member_key"""
        if network_id is None:
            rows = con.execute(sql.format(where="")).fetchall()
        else:
            rows = con.execute(sql.format(where="WHERE network_id = ?"), [network_id]).fetchall()
        for nid, mtype, mkey, explanation in rows:
            key = clean_text(f"{mtype}:{mkey}")
            info = members.setdefault(key, {"network_id": [], "explanation": []})
            if clean_text(nid) not in info["network_id"]:
                info["network_id"].append(clean_text(nid))
            if explanation is not None and clean_text(explanation) not in info["explanation"]:
                info["explanation"].append(clean_text(explanation))
            member_types[key] = clean_text(mtype)
    if network_id is not None and not members:
        raise ValueError(f"network {network_id!r} has no members"
                         + ("" if has_members else " (no network_members table)"))

    link_rows = con.execute("""SELECT kind, a, b, weight, evidence, a_type, b_type, source, strength FROM links
                               ORDER BY a, b, kind, source, evidence""").fetchall()

    graph = nx.MultiGraph()
    edge_rows: list[list[object]] = []

    def add_node(key: str, node_type: str | None) -> None:
        if key in graph:
            return
        prefix, label = _split_key(key)
        info = members.get(key, {"network_id": [], "explanation": []})
        graph.add_node(key, type=clean_text(node_type) or prefix, label=label,
                       network_id=";".join(info["network_id"]), explanation=" | ".join(info["explanation"]))

    for key in members:  # members first, so isolated members still appear
        add_node(key, member_types.get(key))
    for kind, a, b, weight, evidence, a_type, b_type, source, strength in link_rows:
        a, b = clean_text(a), clean_text(b)
        if network_id is not None and (a not in members or b not in members):
            continue
        add_node(a, a_type)
        add_node(b, b_type)
        attrs = {"kind": clean_text(kind), "weight": _float(weight), "evidence": clean_text(evidence),
                 "source": clean_text(source), "strength": clean_text(strength)}
        graph.add_edge(a, b, **attrs)
        edge_rows.append([a, b, attrs["kind"], attrs["weight"], attrs["evidence"], attrs["strength"]])
    return graph, edge_rows


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


def write_graph_files(con: duckdb.DuckDBPyConnection, folder: Path, *,
                      network_id: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.gexf``, ``.graphml``, ``.nodes.csv`` and ``.edges.csv`` into ``folder``.

    Returns ``{"gexf": …, "graphml": …, "nodes_csv": …, "edges_csv": …}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    graph, edge_rows = _build(con, network_id)
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
