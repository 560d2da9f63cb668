"""A PNG picture of one network: its members (ads, phones, owners, addresses) and the links between them.

For the Excel workbook, the Dagster UI (as a small data URI) and beside the XMind file. Laid out with
networkx (nodes and edges added in sorted order, a fixed seed) and drawn with PIL: links and markers
at twice the size, then halved (smooth edges), text on the halved picture (FreeType smooths its own);
no matplotlib figure, legend or path-effect machinery, which cost ~0.5 s a picture. The same
database gives the same PNG bytes (no software version or date is written into the file).

Scale: ``write_network_pictures`` reads the members, links and labels of many networks in one SQL
pass per batch (never the whole ``links`` table once per network), so the work grows with the
networks' sizes, not with all the data. A network of more than ``MAX_DRAWN`` members is drawn with
``MAX_DRAWN`` of them, grown around its most linked members, and the picture says so in its title;
the counts in the title and legend are always the full ones. Each PNG carries a text chunk with the
SHA-256 of what it shows (and of the drawing's version): a picture already in the folder with the same
digest is kept, so a run that changed a few networks redraws only those.

Names, addresses and ad ids are attacker-controlled: labels are stripped of control characters,
of glyphs the font cannot draw and of format characters, cut to ~28 characters, and drawn as plain
text (a name like ``$x^2$`` stays literal text: there is no markup language in the drawing).
"""

from __future__ import annotations

import base64
import hashlib
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

from adnet_assets.lib.network_batches import network_batches
from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file, table_exists
from adnet_assets.lib.workers import Workers

if TYPE_CHECKING:  # networkx and PIL are imported where a picture is drawn: loading the
    import networkx as nx  # definitions (webserver, daemon, every `adnet` command) need not pay for them
    from PIL import ImageDraw, ImageFont

__all__ = ["clean_label", "render_network_png", "write_network_picture", "write_network_pictures",
           "png_data_uri", "picture_name", "thumbnail_png"]

FOOTNOTE = "screening aid: every link is evidence to verify, not a verdict"
FONT = "DejaVu Sans"
MAX_LABEL = 28
MAX_DRAWN = 400  # members drawn at most (a bigger network: those around its most linked; the title says so)
BATCH_MEMBERS = 50_000  # member rows read per SQL pass when drawing many networks
LAYOUT_STEPS = 50  # spring layout iterations
# a member type is labelled while the network has at most this many of it
MAX_LABELS = {"owner": 80, "address": 80, "phone": 60, "ad": 25}
# member type -> (marker, face colour, legend label); drawn in this order
NODE_STYLE = {"ad": ("s", "#7fb3e0", "ad"), "phone": ("o", "#ffd23f", "phone"),
              "owner": ("^", "#d6336c", "owner"), "address": ("D", "#2b9348", "address")}
OTHER_NODE = ("X", "#999999", "other")
# link kind -> (colour, line width in points); legend in this order
EDGE_STYLE = {"rotation": ("#e8590c", 1.6), "series": ("#f08c00", 1.4), "directory": ("#2f9e44", 1.3),
              "owner_address": ("#6741d9", 1.3), "ad_phone": ("#adb5bd", 0.8), "photo": ("#e64980", 1.3),
              "contact": ("#1c7ed6", 1.3), "text": ("#0c8599", 1.3)}
OTHER_EDGE = ("#495057", 1.0)
_TYPE_ORDER = ("owner", "address", "phone", "ad")  # rings of the fallback layout; ties of a capped picture
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_DPI = 100          # pixels per inch of the picture
_SS = 2             # drawn at twice the size, then halved: smooth lines and text
_EDGE_ALPHA = 0.85  # edges over a white ground
_DASH = (4.0, 2.5)  # a weak link: dash and gap, in line widths
_INK = "#343a40"
# the drawing's version, part of each picture's source digest: change it when the drawing changes, so
# pictures drawn before are drawn again
_DRAWING = "adnet network picture, PIL 2"
_SOURCE_KEY = b"adnet-source"
_TEXT = "#212529"


@lru_cache(maxsize=3)
def _font_path(weight: str = "normal", style: str = "normal") -> str:
    from matplotlib import font_manager

    return font_manager.findfont(font_manager.FontProperties(family=FONT, weight=weight, style=style))


@lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    from matplotlib.ft2font import FT2Font
    return frozenset(FT2Font(_font_path()).get_charmap())


@lru_cache(maxsize=32)
def _font(points: float, weight: str = "normal", style: str = "normal") -> ImageFont.FreeTypeFont:
    """The font at ``points`` for the final (not doubled) picture: text is drawn after the halving."""
    from PIL import ImageFont
    return ImageFont.truetype(_font_path(weight, style), size=max(1, round(_px(points) / _SS)))


def _px(points: float) -> float:
    """Points (1/72 inch) as pixels of the doubled drawing."""
    return points * _DPI / 72.0 * _SS


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


# ---------------------------------------------------------------- reading: one SQL pass per batch of networks

def _names(con: duckdb.DuckDBPyConnection, table: str, key_col: str, val_col: str, member_type: str,
           where: str, params: list) -> dict:
    if not table_exists(con, table):
        return {}
    # a hash semi-join with the batch's members: never a scan of the table per network
    return dict(con.execute(
        f'SELECT "{key_col}", min("{val_col}") FROM "{table}" WHERE "{key_col}" IN (SELECT member_key FROM '
        f"network_members WHERE member_type = '{member_type}' {where}) AND \"{val_col}\" IS NOT NULL GROUP BY 1",
        params).fetchall())


def _load_many(con: duckdb.DuckDBPyConnection, ids: list[str] | None) -> dict[str, tuple]:
    """{network_id: (members, links, labels)} for ``ids`` (None: every network) in one pass over each table."""
    out: dict[str, tuple] = {}
    if not table_exists(con, "network_members"):
        return out
    where = "" if ids is None else "AND network_id IN (SELECT unnest(?::VARCHAR[]))"
    params = [] if ids is None else [ids]
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for nid, mtype, mkey in con.execute(
            f"""SELECT DISTINCT network_id, member_type, member_key FROM network_members
                WHERE member_type IS NOT NULL AND member_key IS NOT NULL {where} ORDER BY ALL""", params).fetchall():
        members[nid].append((mtype, mkey))
    links: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    if members and table_exists(con, "links"):
        for nid, kind, a, b, strength in con.execute(f"""
                WITH m AS (SELECT DISTINCT network_id, member_type || ':' || member_key AS k FROM network_members
                           WHERE member_type IS NOT NULL AND member_key IS NOT NULL {where})
                SELECT DISTINCT ma.network_id, l.kind, least(l.a, l.b), greatest(l.a, l.b),
                       coalesce(l.strength, 'strong')
                FROM links l JOIN m ma ON l.a = ma.k JOIN m mb ON l.b = mb.k AND mb.network_id = ma.network_id
                WHERE l.a <> l.b ORDER BY ALL""", params).fetchall():
            links[nid].append((kind, a, b, strength))
    names = {"owner": _names(con, "owners", "owner_id", "name", "owner", where, params),
             "address": _names(con, "addresses", "address_key", "address", "address", where, params),
             "ad": _names(con, "ads", "ad_key", "ad_id", "ad", where, params)} if members else {}
    for nid, rows in members.items():
        labels = {f"{t}:{k}": clean_label(names.get(t, {}).get(k) or (k.rsplit(":", 1)[-1] if t == "ad" else k))
                  for t, k in rows}  # ads by their id on the site; others by name, or by key
        out[nid] = (rows, links.get(nid, []), labels)
    return out


def _load(con: duckdb.DuckDBPyConnection, network_id: str):
    """(members, links, labels) of one network; ValueError if it is unknown."""
    found = _load_many(con, [network_id]).get(network_id)
    if found is not None:
        return found
    if table_exists(con, "networks") and con.execute(
            "SELECT count(*) FROM networks WHERE network_id = ?", [network_id]).fetchall()[0][0] > 0:
        return [], [], {}
    raise ValueError(f"unknown network {network_id!r}")


# ---------------------------------------------------------------- layout

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
        # 50 steps (each O(n^2)) settle a network of a few hundred members about as well as 150 did,
        # and _spread opens up what is left crowded
        return _spread(nx.spring_layout(graph, seed=7, iterations=LAYOUT_STEPS, weight=None))
    except ImportError:  # networkx wants scipy for >= 500 nodes: fall back to rings by member type
        rings: dict[str, list[str]] = defaultdict(list)
        for node in graph.nodes:
            rings[node.split(":", 1)[0]].append(node)
        order = {t: i for i, t in enumerate(_TYPE_ORDER)}
        shells = [rings[t] for t in sorted(rings, key=lambda t: (order.get(t, -1), t))]
        return {k: (float(x), float(y)) for k, (x, y) in nx.shell_layout(graph, shells).items()}


def _drawn(members: list[tuple[str, str]], links: list[tuple[str, str, str, str]]) -> set[str]:
    """The nodes a picture draws: all, or ``MAX_DRAWN`` of them grown around the most linked member
    (the most linked neighbour of those chosen next, so the picture shows a connected core with its
    links, owners and addresses, rather than scattered dots); a new core when one is used up."""
    import heapq

    nodes = {f"{t}:{k}" for t, k in members}
    if len(nodes) <= MAX_DRAWN:
        return nodes
    degree: Counter = Counter()
    around: dict[str, set[str]] = defaultdict(set)
    for _, a, b, _ in links:
        degree[a] += 1
        degree[b] += 1
        around[a].add(b)
        around[b].add(a)
    order = {t: i for i, t in enumerate(_TYPE_ORDER)}

    def rank(v: str) -> tuple[int, int, str]:
        return -degree[v], order.get(v.split(":", 1)[0], 9), v

    cores = iter(sorted(nodes, key=rank))
    chosen: set[str] = set()
    heap: list[tuple[int, int, str]] = []
    while len(chosen) < MAX_DRAWN:
        if not heap:
            heap.append(rank(next(v for v in cores if v not in chosen)))
        node = heapq.heappop(heap)[2]
        if node not in chosen:
            chosen.add(node)
            for other in around[node] - chosen:
                heapq.heappush(heap, rank(other))
    return chosen


# ---------------------------------------------------------------- drawing

def _rgb(colour: str, alpha: float = 1.0) -> tuple[int, int, int]:
    """A #rrggbb colour laid over white with ``alpha``."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb)  # type: ignore[return-value]


def _line(draw: ImageDraw.ImageDraw, p: tuple[float, float], q: tuple[float, float], fill, width: float,
          dashed: bool) -> None:
    w = max(1, round(width))
    if not dashed:
        draw.line([p, q], fill=fill, width=w)
        return
    length = math.hypot(q[0] - p[0], q[1] - p[1])
    if length == 0:
        return
    on, off = _DASH[0] * width, _DASH[1] * width
    ux, uy = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    t = 0.0
    while t < length:
        end = min(t + on, length)
        draw.line([(p[0] + ux * t, p[1] + uy * t), (p[0] + ux * end, p[1] + uy * end)], fill=fill, width=w)
        t = end + off


def _marker(draw: ImageDraw.ImageDraw, marker: str, x: float, y: float, size: float, fill, edge: float) -> None:
    """A matplotlib-like marker of ``size`` pixels across, centred on (x, y)."""
    r = size / 2
    outline, width = _rgb(_INK), max(1, round(edge))
    if marker == "o":
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=outline, width=width)
        return
    shapes = {"s": [(-r, -r), (r, -r), (r, r), (-r, r)],
              "^": [(0, -r), (r, r), (-r, r)],
              "D": [(0, -r * 1.25), (r * 1.1, 0), (0, r * 1.25), (-r * 1.1, 0)]}
    if marker in shapes:
        points = shapes[marker]
    else:  # a filled X
        a, b = r, r * 0.35
        points = [(-a, -a + b), (-a + b, -a), (0, -b), (a - b, -a), (a, -a + b), (b, 0), (a, a - b),
                  (a - b, a), (0, b), (-a + b, a), (-a, a - b), (-b, 0)]
    draw.polygon([(x + dx, y + dy) for dx, dy in points], fill=fill, outline=outline, width=width)


def _counts_title(network_id: str, counts: Counter, n_members: int, n_drawn: int) -> str:
    parts = [f"{counts[t]} {t}{'' if counts[t] == 1 else 'es' if t == 'address' else 's'}"
             for t in ("ad", "phone", "owner", "address") if counts[t] or t != "address"]
    title = f"{clean_label(network_id, 40)}: {', '.join(parts)}"
    if n_drawn < n_members:
        title += f" (drawn: {n_drawn:,} of {n_members:,} members, around the most linked)"
    return title


def _draw(network_id: str, members: list[tuple[str, str]], links: list[tuple[str, str, str, str]],
          labels: dict[str, str]) -> bytes:
    import networkx as nx
    from PIL import Image, ImageDraw

    counts = Counter(mtype for mtype, _ in members)
    keep = _drawn(members, links)
    links = [link for link in links if link[1] in keep and link[2] in keep]
    graph = nx.Graph()
    graph.add_nodes_from(sorted(keep))
    graph.add_edges_from(sorted({(a, b) for _, a, b, _ in links}))
    pos = _layout(graph)

    n = len(keep)
    side, legend_w = min(14.0, max(6.0, 3.5 + 0.75 * math.sqrt(n))), 2.4
    fig_w, fig_h = side + legend_w, side + 0.6
    width, height = round(fig_w * _DPI), round(fig_h * _DPI)
    big_w, big_h = width * _SS, height * _SS
    image = Image.new("RGB", (big_w, big_h), "white")
    draw = ImageDraw.Draw(image)
    ax_w, ax_h = side / fig_w - 0.01, side / fig_h - 0.06  # the plot box, as fractions of the picture

    def at(x: float, y: float) -> tuple[float, float]:
        return ((0.01 + (x + 1.12) / 2.24 * ax_w) * big_w, big_h - (0.05 + (y + 1.1) / 2.2 * ax_h) * big_h)

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
                (at(xa + nx_ * off, ya + ny_ * off), at(xb + nx_ * off, yb + ny_ * off)))
    for (style, strength), segs in sorted(segments.items()):
        colour, line_w = EDGE_STYLE.get(style, OTHER_EDGE)
        fill = _rgb(colour, _EDGE_ALPHA)
        for p, q in segs:
            _line(draw, p, q, fill, _px(line_w), strength != "strong")

    # nodes, by type (matplotlib's scatter sizes: an area in points squared)
    node_size = max(22.0, 90.0 - 0.25 * n)
    types_present = sorted(counts, key=lambda t: (list(NODE_STYLE).index(t) if t in NODE_STYLE else 99, t))
    for mtype in types_present:
        marker, colour, _ = NODE_STYLE.get(mtype, OTHER_NODE)
        across = _px(math.sqrt(node_size * (1.4 if mtype in ("owner", "address") else 1.0)))
        for node in sorted(v for v in keep if v.split(":", 1)[0] == mtype):
            _marker(draw, marker, *at(*pos[node]), across, _rgb(colour), _px(0.6))

    # text is drawn after the halving (the font smooths its own edges; a quarter of the pixels)
    texts: list[tuple[tuple[float, float], str, dict]] = []  # (position in the doubled drawing, text, style)
    _legend(draw, texts, (side / fig_w + 0.005) * big_w, 0.07 * big_h, types_present, counts,
            [k for k in [*EDGE_STYLE, "other"] if k in {s for s, _ in segments}])

    # labels: owners and addresses as a rule, phones and ads while there are not too many
    drawn = Counter(node.split(":", 1)[0] for node in keep)  # the same as counts unless capped
    show = {t for t, cap in MAX_LABELS.items() if drawn[t] <= cap}
    halo = max(1, round(_px(1.1) / _SS))
    for node in sorted(keep):
        if node.split(":", 1)[0] in show and labels.get(node):
            bold = node.startswith(("owner:", "address:"))
            x, y = pos[node]  # near the left/right edge the label runs inwards so it is not cut off
            anchor, dx = ("la", -0.02) if x < -0.6 else ("ra", 0.02) if x > 0.6 else ("ma", 0.0)
            texts.append((at(x + dx, y - 0.022), labels[node], {
                "fill": _rgb(_TEXT), "anchor": anchor, "stroke_width": halo, "stroke_fill": "white",
                "font": _font(7.5 if bold else 6.5, "bold" if bold else "normal")}))
    texts.append(((0.01 * big_w, 0.015 * big_h), _counts_title(network_id, counts, len(members), n),
                  {"fill": "black", "anchor": "la", "font": _font(14, "bold")}))
    texts.append(((0.01 * big_w, (1 - 0.012) * big_h), FOOTNOTE,
                  {"fill": _rgb("#495057"), "anchor": "ld", "font": _font(9, style="italic")}))

    small = image.reduce(_SS)
    draw = ImageDraw.Draw(small)
    for (x, y), text, style in texts:
        draw.text((x / _SS, y / _SS), text, **style)
    # a 64-colour palette PNG: under half the size of RGB, the same look for a line drawing, and no
    # software version or date in the file; a text chunk holds the digest of what it shows
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(_SOURCE_KEY.decode("ascii"), _source(network_id, members, links, labels))
    out = io.BytesIO()
    small.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        out, format="PNG", compress_level=3, pnginfo=info)  # 6 costs three times the time for 15% less
    return out.getvalue()


def _source(network_id: str, members: list, links: list, labels: dict[str, str]) -> str:
    """The SHA-256 of everything a picture shows and of the drawing's version: same digest, same picture.
    (A digest of a whole network: it tells nothing about a member to whoever holds the file.)"""
    text = repr((_DRAWING, MAX_DRAWN, LAYOUT_STEPS, network_id, members, links, sorted(labels.items())))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _drawn_from(path: Path) -> str | None:
    """The source digest written in a picture drawn earlier (None if there is none or no such file)."""
    try:
        with open(path, "rb") as png:
            head = png.read(4096)  # the text chunk comes before the image data
    except OSError:
        return None
    at = head.find(_SOURCE_KEY + b"\x00")
    return head[at + len(_SOURCE_KEY) + 1: at + len(_SOURCE_KEY) + 65].decode("ascii", "replace") if at >= 0 else None


def _legend(draw: ImageDraw.ImageDraw, texts: list, x0: float, y: float, types_present: list[str],
            counts: Counter, kinds: list[str]) -> None:
    """Two blocks right of the plot: the member types (with counts) and the link kinds drawn; their
    texts are added to ``texts`` (drawn after the halving)."""
    row, title, item = _px(15.5), {"fill": "black", "anchor": "la", "font": _font(10)}, \
        {"fill": "black", "anchor": "lm", "font": _font(9)}
    handle_x, text_x = x0 + _px(14), x0 + _px(34)
    texts.append(((x0 + _px(4), y), "members", title))
    y += row * 1.15
    for mtype in types_present:
        marker, colour, name = NODE_STYLE.get(mtype, OTHER_NODE)
        _marker(draw, marker, handle_x, y + row / 2, _px(8), _rgb(colour), _px(0.6))
        texts.append(((text_x, y + row / 2), f"{name} ({counts[mtype]})", item))
        y += row
    y += row * 0.9
    texts.append(((x0 + _px(4), y), "links", title))
    y += row * 1.15
    entries = [(EDGE_STYLE.get(k, OTHER_EDGE)[0], _px(2.2), False, k.replace("_", " ")) for k in kinds]
    entries += [(_INK, _px(1.4), False, "strong"), (_INK, _px(1.4), True, "weak")]
    for colour, line_w, dashed, name in entries:
        mid = y + row / 2
        _line(draw, (handle_x - _px(10), mid), (handle_x + _px(10), mid), _rgb(colour), line_w, dashed)
        texts.append(((text_x, mid), name, item))
        y += row


def render_network_png(con: duckdb.DuckDBPyConnection, network_id: str) -> bytes:
    """The network's picture as PNG bytes; ValueError if the network is unknown."""
    return _draw(network_id, *_load(con, network_id))


def write_network_picture(con: duckdb.DuckDBPyConnection, network_id: str, target: Path) -> Path:
    return _write(render_network_png(con, network_id), target)


def _write(png: bytes, target: Path) -> Path:
    with atomic_file(target := Path(target)) as tmp:
        tmp.write_bytes(png)
    return target


def write_network_pictures(con: duckdb.DuckDBPyConnection, folder: Path, *,
                           progress: Callable[[int, int], None] | None = None,
                           workers: int | None = None) -> dict[str, Path]:
    """``network_<id>.png`` in ``folder`` for every row of ``networks``; {network_id: path}.
    ``progress(done, total)`` is called after each picture. Members, links and labels are read in a
    few set-based passes (one per ``BATCH_MEMBERS`` member rows), not per network. A picture already in
    ``folder`` that was drawn from the same rows (its source digest says so) is kept, not drawn again:
    a new partition redraws only the networks it changed. Many pictures to draw are drawn by ``workers``
    processes (default: ``ADNET_WORKERS`` or every core; see ``workers``)."""
    if not table_exists(con, "networks"):
        return {}
    ids = [r[0] for r in con.execute(
        "SELECT DISTINCT network_id FROM networks WHERE network_id IS NOT NULL ORDER BY 1").fetchall()]
    written: dict[str, Path] = {}
    used: set[str] = set()
    done = 0
    with Workers(workers) as pool:
        for batch in network_batches(con, ids, BATCH_MEMBERS):
            loaded = _load_many(con, batch)
            jobs, targets = [], []
            for network_id in batch:
                name = picture_name(network_id)
                stem, i = name[:-4], 2
                while name in used:  # two ids that differ only in unsafe characters
                    name, i = f"{stem}_{i}.png", i + 1
                used.add(name)
                members, links, labels = loaded.get(network_id, ([], [], {}))
                written[network_id] = target = Path(folder) / name
                if _drawn_from(target) != _source(network_id, members, links, labels):
                    jobs.append((network_id, members, links, labels))
                    targets.append(target)
                else:  # drawn by an earlier run from the same rows: the same bytes
                    done += 1
            for png, target in zip(pool.map(_draw_job, jobs), targets):
                _write(png, target)
                done += 1
                if progress is not None:
                    progress(done, len(ids))
    return written


def _draw_job(job: tuple) -> bytes:
    """``_draw`` of one (network_id, members, links, labels), for ``Workers``."""
    return _draw(*job)


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
