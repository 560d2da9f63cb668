"""A PNG picture of one network: its members (ads, phones, owners, addresses) and the links between them.

For the Excel workbook, the Dagster UI (as a small data URI) and beside the XMind file. Drawn with
matplotlib's object API on the Agg canvas (never pyplot: no global figure state, safe in threads)
and laid out with networkx from nodes and edges added in sorted order with a fixed seed, so the
same database gives the same PNG bytes (no software version or date is written into the file).

Names, addresses and ad ids are attacker-controlled: labels are stripped of control characters,
of glyphs the font cannot draw and of format characters, cut to ~28 characters, and drawn with
mathtext off (a name like ``$x^2$`` stays literal text).
"""

from __future__ import annotations

import base64
import io
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file, table_exists

if TYPE_CHECKING:  # matplotlib, networkx and PIL are imported where a picture is drawn: loading the
    import networkx as nx  # definitions (webserver, daemon, every `adnet` command) need not pay ~2 s for them

__all__ = ["clean_label", "render_network_png", "write_network_picture", "write_network_pictures",
           "png_data_uri", "picture_name", "thumbnail_png"]

FOOTNOTE = "screening aid: every link is evidence to verify, not a verdict"
FONT = "DejaVu Sans"
MAX_LABEL = 28
# a member type is labelled while the network has at most this many of it
MAX_LABELS = {"owner": 80, "address": 80, "phone": 60, "ad": 25}
# member type -> (marker, face colour, legend label); drawn in this order
NODE_STYLE = {"ad": ("s", "#7fb3e0", "ad"), "phone": ("o", "#ffd23f", "phone"),
              "owner": ("^", "#d6336c", "owner"), "address": ("D", "#2b9348", "address")}
OTHER_NODE = ("X", "#999999", "other")
# link kind -> (colour, line width); legend in this order
EDGE_STYLE = {"rotation": ("#e8590c", 1.6), "series": ("#f08c00", 1.4), "directory": ("#2f9e44", 1.3),
              "owner_address": ("#6741d9", 1.3), "ad_phone": ("#adb5bd", 0.8), "photo": ("#e64980", 1.3),
              "contact": ("#1c7ed6", 1.3), "text": ("#0c8599", 1.3)}
OTHER_EDGE = ("#495057", 1.0)
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


@lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font
    return frozenset(FT2Font(font_manager.findfont(FONT)).get_charmap())


def clean_label(value: object, max_len: int = MAX_LABEL) -> str:
    """Untrusted text as a one-line label the font can draw, cut to ``max_len`` with an ellipsis."""
    text = strip_controls("" if value is None else str(value))
    chars = _font_chars()
    text = "".join(" " if c.isspace() else "" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")
                   else c if ord(c) in chars else "" if unicodedata.category(c)[0] == "M" else "?" for c in text)
    text = " ".join(text.split())
    return text if len(text) <= max_len else text[: max_len - 1].rstrip() + "…"


def picture_name(network_id: str) -> str:
    return f"network_{_UNSAFE_FILE_CHARS.sub('_', str(network_id))}.png"


def png_data_uri(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def _lookup(con: duckdb.DuckDBPyConnection, table: str, key_col: str, val_col: str, keys: list[str]) -> dict:
    if not keys or not table_exists(con, table):
        return {}
    # a hash semi-join: list_contains would compare every row of the table with every key of the network
    return dict(con.execute(f'SELECT "{key_col}", min("{val_col}") FROM "{table}" WHERE "{key_col}" IN '
                            f'(SELECT unnest(?::VARCHAR[])) AND "{val_col}" IS NOT NULL GROUP BY 1', [keys]).fetchall())


def _load(con: duckdb.DuckDBPyConnection, network_id: str):
    members: list[tuple[str, str]] = []
    if table_exists(con, "network_members"):
        members = con.execute("""SELECT DISTINCT member_type, member_key FROM network_members
                                 WHERE network_id = ? AND member_type IS NOT NULL AND member_key IS NOT NULL
                                 ORDER BY 1, 2""", [network_id]).fetchall()
    known = bool(members) or (table_exists(con, "networks") and con.execute(
        "SELECT count(*) FROM networks WHERE network_id = ?", [network_id]).fetchall()[0][0] > 0)
    if not known:
        raise ValueError(f"unknown network {network_id!r}")
    links: list[tuple[str, str, str, str]] = []
    if members and table_exists(con, "links"):
        links = con.execute("""
            WITH m AS (SELECT DISTINCT member_type || ':' || member_key AS k FROM network_members
                       WHERE network_id = ?)
            SELECT DISTINCT l.kind, least(l.a, l.b), greatest(l.a, l.b), coalesce(l.strength, 'strong')
            FROM links l JOIN m ma ON l.a = ma.k JOIN m mb ON l.b = mb.k
            WHERE l.a <> l.b ORDER BY ALL""", [network_id]).fetchall()
    by_type: dict[str, list[str]] = defaultdict(list)
    for mtype, mkey in members:
        by_type[mtype].append(mkey)
    names = {"owner": _lookup(con, "owners", "owner_id", "name", by_type["owner"]),
             "address": _lookup(con, "addresses", "address_key", "address", by_type["address"]),
             "ad": _lookup(con, "ads", "ad_key", "ad_id", by_type["ad"])}
    labels = {f"{t}:{k}": clean_label(names.get(t, {}).get(k) or (k.rsplit(":", 1)[-1] if t == "ad" else k))
              for t, k in members}  # ads by their id on the site; others by name, or by key
    return members, links, labels


def _spread(pos: dict, alpha: float = 0.3) -> dict[str, tuple[float, float]]:
    """Each axis to [-1, 1], mixed with its rank order: dense cores open up, the layout fills the box."""
    nodes = sorted(pos)
    out = {node: [0.0, 0.0] for node in nodes}
    for d in (0, 1):
        lo, hi = min(pos[v][d] for v in nodes), max(pos[v][d] for v in nodes)
        for rank, node in enumerate(sorted(nodes, key=lambda v: (float(pos[v][d]), v))):
            share = (pos[node][d] - lo) / ((hi - lo) or 1.0)
            out[node][d] = 2.0 * (alpha * share + (1 - alpha) * rank / max(1, len(nodes) - 1)) - 1.0
    return {node: (float(x), float(y)) for node, (x, y) in out.items()}


def _layout(graph: nx.Graph) -> dict[str, tuple[float, float]]:
    import networkx as nx

    if graph.number_of_nodes() <= 1:
        return {node: (0.0, 0.0) for node in graph.nodes}
    try:
        steps = 150 if len(graph) <= 120 else max(50, 18000 // len(graph))  # each step costs O(n^2)
        return _spread(nx.spring_layout(graph, seed=7, iterations=steps, weight=None))
    except ImportError:  # networkx wants scipy for >= 500 nodes: fall back to rings by member type
        rings: dict[str, list[str]] = defaultdict(list)
        for node in graph.nodes:
            rings[node.split(":", 1)[0]].append(node)
        order = {t: i for i, t in enumerate(("owner", "address", "phone", "ad"))}
        shells = [rings[t] for t in sorted(rings, key=lambda t: (order.get(t, -1), t))]
        return {k: (float(x), float(y)) for k, (x, y) in nx.shell_layout(graph, shells).items()}


def render_network_png(con: duckdb.DuckDBPyConnection, network_id: str) -> bytes:
    """The network's picture as PNG bytes; ValueError if the network is unknown."""
    import networkx as nx
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patheffects import withStroke
    from PIL import Image

    members, links, labels = _load(con, network_id)
    counts = Counter(mtype for mtype, _ in members)
    graph = nx.Graph()
    graph.add_nodes_from(sorted(labels))
    graph.add_edges_from(sorted({(a, b) for _, a, b, _ in links}))
    pos = _layout(graph)

    n = len(labels)
    side = min(14.0, max(6.0, 3.5 + 0.75 * math.sqrt(n)))
    legend_w = 2.4
    fig = Figure(figsize=(side + legend_w, side + 0.6), dpi=100, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.05, side / (side + legend_w) - 0.01, side / (side + 0.6) - 0.06))
    ax.set_axis_off()
    ax.set_xlim(-1.12, 1.12)
    ax.set_ylim(-1.1, 1.1)

    # edges: one line per (pair, kind); several kinds between one pair sit side by side
    per_pair: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for kind, a, b, strength in links:  # one line per kind: strong if any of its rows is strong
        if per_pair[(a, b)].get(kind) != "strong":
            per_pair[(a, b)][kind] = "strong" if strength == "strong" else "weak"
    segments: dict[tuple[str, str], list] = defaultdict(list)
    gap = 0.012
    for (a, b), strongest in per_pair.items():
        (xa, ya), (xb, yb) = pos[a], pos[b]
        length = math.hypot(xb - xa, yb - ya) or 1.0
        nx_, ny_ = -(yb - ya) / length, (xb - xa) / length
        for i, kind in enumerate(sorted(strongest)):
            off = (i - (len(strongest) - 1) / 2) * gap
            style = kind if kind in EDGE_STYLE else "other"
            segments[(style, strongest[kind])].append(
                [(xa + nx_ * off, ya + ny_ * off), (xb + nx_ * off, yb + ny_ * off)])
    for (style, strength), segs in sorted(segments.items()):
        colour, width = EDGE_STYLE.get(style, OTHER_EDGE)
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=width, alpha=0.85, zorder=1,
                                         linestyles="solid" if strength == "strong" else (0, (4, 2.5))))

    # nodes, by type
    node_size = max(22.0, 90.0 - 0.25 * n)
    types_present = sorted(counts, key=lambda t: (list(NODE_STYLE).index(t) if t in NODE_STYLE else 99, t))
    for mtype in types_present:
        marker, colour, _ = NODE_STYLE.get(mtype, OTHER_NODE)
        keys = [f"{mtype}:{k}" for t, k in members if t == mtype]
        ax.scatter([pos[k][0] for k in keys], [pos[k][1] for k in keys], s=node_size * (1.4 if mtype in (
            "owner", "address") else 1.0), marker=marker, c=colour, edgecolors="#343a40", linewidths=0.6, zorder=2)

    # labels: owners and addresses as a rule, phones and ads while there are not too many
    show = {t for t, cap in MAX_LABELS.items() if counts[t] <= cap}
    halo = [withStroke(linewidth=2.2, foreground="white")]
    for node in sorted(labels):
        if node.split(":", 1)[0] in show and labels[node]:
            bold = node.startswith(("owner:", "address:"))
            x, y = pos[node]  # near the left/right edge the label runs inwards so it is not cut off
            ha, dx = ("left", -0.02) if x < -0.6 else ("right", 0.02) if x > 0.6 else ("center", 0.0)
            ax.text(x + dx, y - 0.022, labels[node], fontsize=7.5 if bold else 6.5, fontfamily=FONT,
                    fontweight="bold" if bold else "normal", ha=ha, va="top", zorder=3,
                    color="#212529", path_effects=halo, parse_math=False, usetex=False, clip_on=False)

    parts = [f"{counts[t]} {t}{'' if counts[t] == 1 else 'es' if t == 'address' else 's'}"
             for t in ("ad", "phone", "owner", "address") if counts[t] or t != "address"]
    fig.suptitle(f"{clean_label(network_id, 40)}: {', '.join(parts)}", x=0.01, ha="left", y=0.985,
                 fontsize=14, fontweight="bold", fontfamily=FONT, parse_math=False, usetex=False)
    fig.text(0.01, 0.012, FOOTNOTE, fontsize=9, style="italic", color="#495057", fontfamily=FONT,
             parse_math=False, usetex=False)

    node_handles = [Line2D([], [], marker=NODE_STYLE.get(t, OTHER_NODE)[0], linestyle="none", markersize=8,
                           markerfacecolor=NODE_STYLE.get(t, OTHER_NODE)[1], markeredgecolor="#343a40",
                           label=f"{NODE_STYLE.get(t, OTHER_NODE)[2]} ({counts[t]})") for t in types_present]
    kinds_present = {k for k, _ in segments}
    edge_handles = [Line2D([], [], color=EDGE_STYLE.get(k, OTHER_EDGE)[0], linewidth=2.2, label=k.replace("_", " "))
                    for k in [*EDGE_STYLE, "other"] if k in kinds_present]
    edge_handles += [Line2D([], [], color="#343a40", linewidth=1.4, label="strong"),
                     Line2D([], [], color="#343a40", linewidth=1.4, linestyle=(0, (4, 2.5)), label="weak")]
    x0 = side / (side + legend_w) + 0.005
    for title, handles, top in (("members", node_handles, 0.93),
                                ("links", edge_handles, 0.93 - (0.55 + 0.21 * len(node_handles)) / (side + 0.6))):
        fig.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(x0, top), frameon=False,
                   fontsize=9, title_fontsize=10, alignment="left")

    # draw on the Agg canvas and encode with PIL as a 64-colour palette PNG: under half the size of
    # RGBA, the same look for a line drawing, and no software version or date in the file
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        out, format="PNG", compress_level=6)
    return out.getvalue()


def write_network_picture(con: duckdb.DuckDBPyConnection, network_id: str, target: Path) -> Path:
    png = render_network_png(con, network_id)
    with atomic_file(target := Path(target)) as tmp:
        tmp.write_bytes(png)
    return target


def write_network_pictures(con: duckdb.DuckDBPyConnection, folder: Path, *,
                           progress: Callable[[int, int], None] | None = None) -> dict[str, Path]:
    """``network_<id>.png`` in ``folder`` for every row of ``networks``; {network_id: path}.
    ``progress(done, total)`` is called after each picture."""
    if not table_exists(con, "networks"):
        return {}
    ids = [r[0] for r in con.execute(
        "SELECT DISTINCT network_id FROM networks WHERE network_id IS NOT NULL ORDER BY 1").fetchall()]
    written: dict[str, Path] = {}
    used: set[str] = set()
    for network_id in ids:
        name = picture_name(network_id)
        stem, i = name[:-4], 2
        while name in used:  # two ids that differ only in unsafe characters
            name, i = f"{stem}_{i}.png", i + 1
        used.add(name)
        written[network_id] = write_network_picture(con, network_id, Path(folder) / name)
        if progress is not None:
            progress(len(written), len(ids))
    return written


def thumbnail_png(png_bytes: bytes, max_side: int = 520) -> bytes:
    """A smaller copy of a picture, for the UI's metadata (the full one is in the exports folder)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes))
    image.load()
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        out, format="PNG", compress_level=6)
    return out.getvalue()
