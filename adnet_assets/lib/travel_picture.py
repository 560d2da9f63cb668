"""A small self-contained SVG of a network's observed travel: cities on a circle, arrows per flow.

City names and titles come from ads and are attacker-controlled: every text is stripped of
control characters (and characters XML cannot hold, and bidirectional overrides), cut to a sane
length and XML-escaped. The picture holds no script, no event attribute and no link: only the
``#arrow`` marker it defines itself.
The output depends only on the input (no randomness, no clock), so identical input gives
identical bytes.
"""

from __future__ import annotations

import base64
import math
import re

_WIDTH = 640
_HEIGHT = 520
_CX, _CY, _R = _WIDTH / 2, _HEIGHT / 2 + 16, 180
_NODE_R = 7.0
_MAX_TEXT = 60

# C0/C1 controls, DEL, surrogates and the two non-characters XML 1.0 forbids; the bidirectional
# embedding, override and isolate controls (a city ending in U+202E would draw the next label reversed).
_BAD_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def clean_text(value: object, max_len: int = _MAX_TEXT) -> str:
    """Untrusted text made safe for SVG: controls dropped, whitespace collapsed, length cut, escaped."""
    text = _BAD_CHARS.sub(" ", "" if value is None else str(value))
    text = " ".join(text.split())
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _f(x: float) -> str:
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def network_travel_svg(flows: list[tuple[str, str, int]], title: str) -> str:
    """Draw (from_city, to_city, n_moves) flows: cities by first appearance around a circle.

    Arrows get wider with n_moves and carry the count; flows both ways between two cities are
    drawn side by side. Repeated (from, to) pairs are summed; self-moves and counts < 1 are ignored.
    """
    totals: dict[tuple[str, str], int] = {}
    cities: list[str] = []
    for src, dst, n in flows:
        src, dst = str(src if src is not None else ""), str(dst if dst is not None else "")
        try:
            n = int(n)
        except (TypeError, ValueError):
            continue
        if n < 1 or src == dst:
            continue
        for c in (src, dst):
            if c not in cities:
                cities.append(c)
        totals[(src, dst)] = totals.get((src, dst), 0) + n

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{clean_text(title, 120)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" markerHeight="4" '
        'orient="auto-start-reverse" markerUnits="strokeWidth"><path d="M0,0 L10,5 L0,10 z" fill="#b03a2e"/>'
        "</marker></defs>",
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="#ffffff"/>',
        f'<text x="{_f(_WIDTH / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">'
        f"{clean_text(title, 120)}</text>",
    ]
    if not totals:
        parts.append(f'<text x="{_f(_WIDTH / 2)}" y="{_f(_HEIGHT / 2)}" text-anchor="middle" fill="#666">'
                     "no observed moves</text>")
        parts.append("</svg>")
        return "\n".join(parts)

    pos: dict[str, tuple[float, float]] = {}
    for i, c in enumerate(cities):
        angle = -math.pi / 2 + 2 * math.pi * i / len(cities)
        pos[c] = (_CX + _R * math.cos(angle), _CY + _R * math.sin(angle))

    top = max(totals.values())
    for (src, dst), n in totals.items():
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        # Offset to the right of the direction, so A→B and B→A do not overlap.
        ox, oy = (-uy * 5, ux * 5) if (dst, src) in totals else (0.0, 0.0)
        width = 1.5 + 6.5 * math.sqrt(n / top)
        gap = _NODE_R + 3
        sx, sy = x1 + ux * gap + ox, y1 + uy * gap + oy
        ex, ey = x2 - ux * (gap + 2) + ox, y2 - uy * (gap + 2) + oy
        parts.append(f'<line x1="{_f(sx)}" y1="{_f(sy)}" x2="{_f(ex)}" y2="{_f(ey)}" stroke="#b03a2e" '
                     f'stroke-opacity="0.75" stroke-width="{_f(width)}" marker-end="url(#arrow)">'
                     f"<title>{clean_text(src)} → {clean_text(dst)}: {n}</title></line>")
        mx, my = (sx + ex) / 2 + ox * 2.4, (sy + ey) / 2 + oy * 2.4
        parts.append(f'<text x="{_f(mx)}" y="{_f(my + 4)}" text-anchor="middle" fill="#222" '
                     f'stroke="#fff" stroke-width="3" paint-order="stroke">{n}</text>')

    for c in cities:
        x, y = pos[c]
        anchor = "middle" if abs(x - _CX) < 1 else ("start" if x > _CX else "end")
        lx = x + (0 if anchor == "middle" else (12 if anchor == "start" else -12))
        ly = y + (-12 if y < _CY - 1 and anchor == "middle" else (20 if anchor == "middle" else 4))
        parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(_NODE_R)}" fill="#1f4e79"/>')
        parts.append(f'<text x="{_f(lx)}" y="{_f(ly)}" text-anchor="{anchor}">{clean_text(c)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def svg_data_uri(svg: str) -> str:
    """The SVG as a data: URI, for embedding in markdown (![travel](data:...))."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
