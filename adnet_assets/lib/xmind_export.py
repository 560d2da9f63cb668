"""XMind export: one mind map per network, readable by current XMind (2020+) and by XMind 8.

``write_network_map(con, "N-3", target)`` writes one ``.xmind`` file; ``write_network_maps(con, folder)``
writes ``network_<id>.xmind`` for every row of ``networks`` (characters outside ``A-Za-z0-9._-`` in the
id become ``_``).

The file
  An ``.xmind`` file is a zip. Current XMind reads ``content.json`` (with ``metadata.json`` and
  ``manifest.json``) and refuses a zip holding only ``content.xml``; XMind 8 reads ``content.xml`` (with
  ``META-INF/manifest.xml``). Each file therefore carries BOTH forms of the same map, built from one
  in-memory model, so topic, sheet and relationship ids are identical in both. Entries, in order:
  ``content.json``, ``metadata.json`` (``{}``, as XMind's own JS SDK writes), ``manifest.json``,
  ``content.xml``, ``META-INF/manifest.xml`` and, with a picture, ``resources/<sha>.png`` (referenced
  from JSON as ``xap:resources/<sha>.png``) and the same bytes as ``attachments/<sha>.png`` (referenced
  from XML as ``<xhtml:img xhtml:src="xap:attachments/<sha>.png" svg:width=… svg:height=…/>``).

The map
  Sheet "Network N-x": the root topic is the network ("N-3: 31 ads, 31 phones, 6 owners"), with branches
  Owners (each owner with its member phones), Phones (with owner names), Ads (name and city), Addresses
  and Series groups (with their member phones); empty branches are left out, branches with many topics
  start folded. Every member topic has a plain-text note: its ``network_members.explanation`` and the
  ``links`` rows between it and other members (kind, strength, weight, evidence; at most 20, then
  "… and N more"). Relationships show what a tree cannot: phone rotation (``links.kind='rotation'``
  between member phones) and shared flats (member owners with ``owner_address`` links to the same
  private member address (an address ``addresses`` marks generic or non-private is skipped; one not in
  ``addresses`` is kept); one line per pair of consecutive owners). Series are shown by the Series
  groups branch, not as relationships. Rotation lines are not capped (a big network can have 100+).
  Sheet "Summary and travel": the network summary (score, dates, cities, strongest evidence), travel
  flows from ``network_travel`` (at most 40), movement from ``network_movement`` and, if given, a PNG
  picture as the root topic's image (scaled to at most 600 px wide). ``series_groups``, ``network_travel``,
  ``network_movement``, ``owners``, ``ads`` and ``addresses`` may be missing.

Scale
  ``write_network_maps`` reads what the maps show (members, the links between them, names, series,
  travel, movement, billing, red flags) with one set-based query per table for a batch of networks
  (``BATCH_MEMBERS`` member rows), never a query per network: the work grows with the networks' sizes,
  not with the number of networks times the size of the tables. PNG pictures are stored in the zip as
  they are (they are compressed already).

Safety and determinism
  Names, ad fields and evidence are attacker-controlled: every string goes through
  ``safe_text.strip_controls`` (C0/C1 controls, lone surrogates, U+FFFE/U+FFFF removed, CR normalised)
  and is cut to a sane length. Markup such as ``<b>`` stays literal text (escaped in XML, plain in JSON).
  The XML is parsed back before writing, so an invalid map is never written. Ids are the first 26
  characters of the lowercase base32 SHA-256 of network id + role + member key; XML timestamps are the
  network's ``last_seen``; zip entries carry a fixed date; so the same database gives a byte-identical
  file. The zip is written through ``store.atomic_file`` (temp file beside the target, renamed on
  success); nothing is written to the system temp folder.

What xmind-sdk does, and Known limits of xmind-sdk
  ``xmind-sdk`` (import ``xmind``) builds the legacy ``content.xml`` here: its DOM classes give the
  XMind 8 workbook, sheets, topics, plain notes, folding and sheet-level relationships. Its limits:
  it only writes ``content.xml``, which current XMind refuses (we add the JSON form and both
  manifests ourselves); ``xmind.save`` writes a copy of the whole map into a fresh folder in the
  system temp dir and never removes it (sensitive data left behind), and its zip is not atomic, so we
  never call it and zip the DOM from memory; it writes control characters unescaped (invalid XML) and
  fails on lone surrogates, so text is cleaned first; it assigns random, clock-based ids and
  timestamps, which we overwrite; the workbook-level ``createRelationship`` raises (it calls a missing
  ``addRelationships``), so relationships are made on the sheet; it has no API for images, so the
  ``xhtml:img`` element is added through the DOM; its notes are plain text only (so are ours; no
  ``realHTML`` in the JSON form either). The files are checked with the independent reader
  ``xmindparser`` and ``xml.etree``, not by opening them in the XMind applications.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import duckdb

from adnet_assets.lib.network_batches import network_batches
from adnet_assets.lib.red_flags import DISCLAIMER
from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file
from adnet_assets.lib.workers import Workers

if TYPE_CHECKING:  # xmind-sdk is imported where a map is written (loading the definitions stays light)
    from xmind.core.topic import TopicElement
    from xmind.core.workbook import WorkbookDocument

__all__ = ["XmindReport", "map_file_name", "write_network_map", "write_network_maps"]

MAX_TITLE = 200
MAX_EVIDENCE = 400
MAX_EXPLANATION = 2000
MAX_NOTE_LINKS = 20
MAX_FLOWS = 40
MAX_COUNTERPARTS = 5           # billing counterparts shown per network (most controller-like first)
FOLD_OVER = 12
MAX_PICTURE_BYTES = 20_000_000
_IMAGE_MAX_WIDTH = 600
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_STRUCTURE = "org.xmind.ui.map.unbalanced"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MAP_VERSION = b"adnet xmind map 2"  # change when the file layout changes: maps written before are rewritten
_SOURCE_KEY = b"adnet-source "


@dataclass(frozen=True)
class XmindReport:
    path: Path
    n_topics: int
    n_relationships: int
    n_sheets: int


@dataclass(frozen=True)
class _Image:
    name: str
    data: bytes
    width: int
    height: int


@dataclass
class _Topic:
    id: str
    title: str
    note: str = ""
    children: list[_Topic] = field(default_factory=list)
    image: _Image | None = None

    @property
    def size(self) -> int:
        return 1 + sum(child.size for child in self.children)


@dataclass(frozen=True)
class _Rel:
    id: str
    end1: str
    end2: str
    title: str


@dataclass
class _Sheet:
    id: str
    title: str
    root: _Topic
    relationships: list[_Rel] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    kind: str
    a: str
    b: str
    weight: float
    evidence: str
    strength: str


def _text(value: object, limit: int = MAX_TITLE) -> str:
    """Untrusted value as clean text, cut to ``limit`` characters."""
    text = "" if value is None else strip_controls(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _xid(*parts: str) -> str:
    """A deterministic XMind-looking id: 26 lowercase base32 characters of a SHA-256."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:26]


def _day(value: object) -> str:
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _text(value, 10) if value is not None else "?"


def _epoch_ms(value: object) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return str(int(value.timestamp() * 1000))
    return "0"


def map_file_name(network_id: str) -> str:
    return "network_" + re.sub(r"[^A-Za-z0-9._-]", "_", network_id) + ".xmind"


@dataclass
class _Data:
    """What the maps of a batch of networks need, read with one set-based query per table (never a
    query per network): rows by network id, lookups by member key."""
    nets: dict[str, tuple] = field(default_factory=dict)
    members: dict[str, list[tuple]] = field(default_factory=dict)
    links: dict[str, list[_Link]] = field(default_factory=dict)
    owners: dict[str, tuple] = field(default_factory=dict)
    ads: dict[str, tuple] = field(default_factory=dict)
    addresses: dict[str, tuple] = field(default_factory=dict)
    series: dict[str, list[tuple]] = field(default_factory=dict)
    travel: dict[str, list[tuple]] = field(default_factory=dict)
    movement: dict[str, tuple] = field(default_factory=dict)
    counterparts: dict[str, list[tuple]] = field(default_factory=dict)
    roaming: dict[str, list[tuple]] = field(default_factory=dict)
    flags: dict[str, list[tuple]] = field(default_factory=dict)


BATCH_MEMBERS = 50_000  # member rows read per pass when writing many maps
_IN_BATCH = "IN (SELECT unnest(?::VARCHAR[]))"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT DISTINCT table_name FROM information_schema.tables").fetchall()}


def _grouped(rows: list[tuple]) -> dict[str, list[tuple]]:
    """Rows whose first column is the network id, by network id (order kept)."""
    out: dict[str, list[tuple]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row[1:])
    return out


def _load(con: duckdb.DuckDBPyConnection, ids: list[str]) -> _Data:
    """Everything the maps of networks ``ids`` show, in one pass over each table."""
    tables, data = _tables(con), _Data()
    for row in con.execute(f"""SELECT network_id, n_ads, n_phones, n_owners, first_seen, last_seen, cities,
                                      strongest_evidence, score FROM networks WHERE network_id {_IN_BATCH}
                               ORDER BY network_id""", [ids]).fetchall():
        data.nets.setdefault(row[0], row[1:])
    if "network_members" not in tables:
        return data
    # the batch's members, as "type:key" and by type (every query below joins with this, a hash join)
    batch = f"SELECT DISTINCT network_id, member_type, member_key FROM network_members WHERE network_id {_IN_BATCH}"
    data.members = _grouped(con.execute(
        f"""SELECT network_id, member_type, member_key, explanation FROM network_members WHERE network_id {_IN_BATCH}
            ORDER BY network_id, member_type, member_key, explanation""", [ids]).fetchall())
    if "links" in tables:
        for nid, rows in _grouped(con.execute(f"""
                WITH m AS (SELECT DISTINCT network_id, member_type || ':' || member_key AS k FROM ({batch}))
                SELECT ma.network_id, l.kind, l.a, l.b, l.weight, l.evidence, l.strength
                FROM links l JOIN m ma ON l.a = ma.k JOIN m mb ON l.b = mb.k AND mb.network_id = ma.network_id
                ORDER BY ma.network_id, l.a, l.b, l.kind, l.evidence, l.weight, l.strength""", [ids]).fetchall()).items():
            data.links[nid] = [_Link(_text(k), _text(a, 500), _text(b, 500), float(w or 0.0), _text(e, MAX_EVIDENCE),
                                     _text(st)) for k, a, b, w, e, st in rows]
    for attr, table, columns, mtype in (("owners", "owners", "owner_id, name", "owner"),
                                        ("ads", "ads", "ad_key, last_name, last_city", "ad"),
                                        ("addresses", "addresses", "address_key, address, kind, generic", "address")):
        if table in tables:
            key = columns.split(",")[0].strip()
            rows = con.execute(f"""SELECT {columns} FROM {table} WHERE {key} IN (SELECT member_key FROM ({batch})
                                   WHERE member_type = '{mtype}') ORDER BY ALL""", [ids]).fetchall()
            setattr(data, attr, {_text(row[0]): row[1:] for row in rows})
    phones = f"SELECT DISTINCT network_id, member_key FROM ({batch}) WHERE member_type = 'phone'"
    if "series_groups" in tables:
        data.series = _grouped(con.execute(
            f"""SELECT m.network_id, s.group_id, s.phone, s.strength, s.n_in_group FROM series_groups s
                JOIN ({phones}) m ON s.phone = m.member_key ORDER BY ALL""", [ids]).fetchall())
    if "network_travel" in tables:
        data.travel = _grouped(con.execute(
            f"""SELECT network_id, from_city, to_city, n_moves, n_ads, first_move, last_move FROM network_travel
                WHERE network_id {_IN_BATCH}
                ORDER BY network_id, n_moves DESC, from_city, to_city, n_ads, first_move, last_move""",
            [ids]).fetchall())
    if "network_movement" in tables:
        for nid, rows in _grouped(con.execute(
                f"""SELECT network_id, n_ads, n_ads_moved, share_moved, n_moves, n_cities FROM network_movement
                    WHERE network_id {_IN_BATCH} ORDER BY ALL""", [ids]).fetchall()).items():
            data.movement[nid] = rows[0]
    if "billing_counterparts" in tables:
        data.counterparts = _grouped(con.execute(
            f"""SELECT nid, counterpart, rank, role, score, reason
                FROM (SELECT unnest(list_distinct(subscriber_networks)) AS nid, * FROM billing_counterparts)
                WHERE nid {_IN_BATCH}
                QUALIFY row_number() OVER (PARTITION BY nid ORDER BY rank, counterpart, role, score, reason) <= ?
                ORDER BY nid, rank, counterpart, role, score, reason""", [ids, MAX_COUNTERPARTS]).fetchall())
    if "billing_roaming" in tables:
        data.roaming = _grouped(con.execute(
            f"""SELECT m.network_id, r.subscriber, r.country, r.period_no, r.description FROM billing_roaming r
                JOIN ({phones}) m ON r.subscriber = m.member_key
                ORDER BY m.network_id, r.first_day, r.subscriber, r.country, r.period_no""", [ids]).fetchall())
    if "red_flags" in tables:
        data.flags = _grouped(con.execute(
            f"""SELECT entity_key, flag, category, evidence, source FROM red_flags
                WHERE entity_type = 'network' AND entity_key {_IN_BATCH} ORDER BY entity_key, flag""",
            [ids]).fetchall())
    return data


def _note(explanation: str, links: list[_Link]) -> str:
    lines = [explanation] if explanation else []
    ordered = sorted(links, key=lambda x: (-x.weight, x.kind, x.a, x.b, x.evidence))
    if ordered:
        lines.append(f"Evidence ({len(ordered)} link(s) within the network):")
    for link in ordered[:MAX_NOTE_LINKS]:
        lines.append(f"- {link.kind}, {link.strength or 'no strength'}, weight {link.weight:g}: {link.evidence}")
    if len(ordered) > MAX_NOTE_LINKS:
        lines.append(f"… and {len(ordered) - MAX_NOTE_LINKS} more")
    return "\n".join(lines)


def _with(base: str, extras: list[str]) -> str:
    return base + (" – " + ", ".join(extras) if extras else "")


def _branch(nid: str, title: str, children: list[_Topic]) -> list[_Topic]:
    return [_Topic(_xid(nid, "branch", title), title, children=children)] if children else []


def _network_sheet(data: _Data, key: str, nid: str, net: tuple) -> _Sheet:
    """The map sheet of network ``key`` (its raw id; ``nid`` is the clean id shown and hashed)."""
    n_ads, n_phones, n_owners, strongest = net[0], net[1], net[2], net[6]
    members: dict[str, dict[str, str]] = {}
    for mtype, mkey, explanation in data.members.get(key, []):
        members.setdefault(_text(mtype), {}).setdefault(_text(mkey, 500), _text(explanation, MAX_EXPLANATION))
    links = data.links.get(key, [])
    touching: dict[str, list[_Link]] = {}
    for link in links:
        touching.setdefault(link.a, []).append(link)
        if link.b != link.a:
            touching.setdefault(link.b, []).append(link)

    def member(mtype: str, key: str, title: str, children: list[_Topic] | None = None) -> _Topic:
        note = _note(members[mtype][key], touching.get(f"{mtype}:{key}", []))
        return _Topic(_xid(nid, mtype, key), _text(title), note, children or [])

    owner_names = {k: _text(v[0]) for k, v in data.owners.items()}
    owner_phones: dict[str, list[_Link]] = {}
    phone_owners: dict[str, list[str]] = {}
    for link in links:
        if link.kind == "directory" and link.a.startswith("phone:") and link.b.startswith("owner:"):
            owner_phones.setdefault(link.b[6:], []).append(link)
            phone_owners.setdefault(link.a[6:], []).append(link.b[6:])

    owners = [member("owner", o, f"{owner_names[o]} ({o})" if owner_names.get(o) else o,
                     [_Topic(_xid(nid, "owner_phone", o, ln.a), ln.a[6:], _note("", [ln]))
                      for ln in sorted(owner_phones.get(o, []), key=lambda x: x.a)])
              for o in members.get("owner", {})]
    phones = [member("phone", p, _with(p, [owner_names.get(o) or o for o in sorted(set(phone_owners.get(p, [])))]))
              for p in members.get("phone", {})]
    ad_info = data.ads
    ads = [member("ad", a, _with(a, [_text(v) for v in ad_info.get(a, ()) if v])) for a in members.get("ad", {})]
    addr_info = data.addresses
    addresses = [member("address", k, f"{_text(addr_info[k][0])} ({k})" if k in addr_info and addr_info[k][0] else k)
                 for k in members.get("address", {})]
    branches = (_branch(nid, "Owners", owners) + _branch(nid, "Phones", phones) + _branch(nid, "Ads", ads)
                + _branch(nid, "Addresses", addresses)
                + _branch(nid, "Series groups", _series_topics(data.series.get(key, []), nid, set(members.get("phone", {})))))
    title = f"{nid}: {n_ads or 0} ads, {n_phones or 0} phones, {n_owners or 0} owners"
    root = _Topic(_xid(nid, "root"), _text(title), _text(strongest, MAX_EXPLANATION), branches)
    rels = _rotation_rels(nid, links) + _flat_rels(nid, links, set(members.get("owner", {})), addr_info)
    return _Sheet(_xid(nid, "sheet", "network"), _text(f"Network {nid}"), root, rels)


def _series_topics(series: list[tuple], nid: str, phones: set[str]) -> list[_Topic]:
    if not phones:
        return []
    groups: dict[str, list[tuple]] = {}
    for gid, phone, strength, n in series:
        groups.setdefault(_text(gid), []).append((_text(phone), _text(strength), n))
    topics = []
    for gid, rows in groups.items():
        nums = sorted({r[0] for r in rows})
        title = f"{gid} ({rows[0][1] or 'no strength'}, {len(nums)} of {rows[0][2] or len(nums)} numbers here)"
        note = f"Series group {gid}: {rows[0][1]}; member phones: {', '.join(nums)}"
        topics.append(_Topic(_xid(nid, "series", gid), _text(title), _text(note, MAX_EXPLANATION),
                             [_Topic(_xid(nid, "series_phone", gid, p), p) for p in nums]))
    return topics


def _rotation_rels(nid: str, links: list[_Link]) -> list[_Rel]:
    rels: dict[tuple[str, str], _Rel] = {}
    for link in links:
        if link.kind != "rotation" or not (link.a.startswith("phone:") and link.b.startswith("phone:")):
            continue
        pair = tuple(sorted((link.a, link.b)))
        if pair in rels or pair[0] == pair[1]:
            continue
        brief = link.evidence.split(": ", 1)[-1]
        rels[pair] = _Rel(_xid(nid, "rel", "rotation", *pair), _xid(nid, "phone", pair[0][6:]),
                          _xid(nid, "phone", pair[1][6:]), _text("rotation: " + brief, 100))
    return list(rels.values())


def _flat_rels(nid: str, links: list[_Link], owners: set[str], addr_info: dict) -> list[_Rel]:
    flats: dict[str, set[str]] = {}
    for link in links:
        if link.kind == "owner_address" and link.a.startswith("owner:") and link.b.startswith("address:"):
            flats.setdefault(link.b[8:], set()).add(link.a[6:])
    rels = []
    for key, who in sorted(flats.items()):
        info = addr_info.get(key)
        if info and (info[2] is True or (info[1] and info[1] != "private")):
            continue  # generic or non-private address: sharing it says nothing
        label = _text(info[0]) if info and info[0] else key
        chain = sorted(o for o in who if o in owners)
        for o1, o2 in zip(chain, chain[1:]):
            rels.append(_Rel(_xid(nid, "rel", "flat", key, o1, o2), _xid(nid, "owner", o1), _xid(nid, "owner", o2),
                             _text(f"same flat: {label}", 100)))
    return rels


def _summary_sheet(data: _Data, key: str, nid: str, net: tuple, image: _Image | None) -> _Sheet:
    first, last, cities, strongest, score = net[3], net[4], net[5], net[6], net[7]
    score_text = f"{score:.2f}" if isinstance(score, (int, float)) else "?"
    city_text = ", ".join(_text(c) for c in (cities or []))
    lines = [f"Network {nid}", f"Score {score_text}", f"Seen {_day(first)} to {_day(last)}",
             f"Cities: {city_text or 'none'}", f"Strongest evidence: {_text(strongest, MAX_EXPLANATION)}"]
    children = [_Topic(_xid(nid, "summary", "cities"), _text(f"Cities: {city_text or 'none'}"))]
    if strongest:
        children.append(_Topic(_xid(nid, "summary", "strongest"), "Strongest evidence: " + _text(strongest, 100),
                               _text(strongest, MAX_EXPLANATION)))
    children += (_branch(nid, "Travel", _travel_topics(data.travel.get(key, []), nid))
                 + _branch(nid, "Movement", _movement_topics(data.movement.get(key), nid)))
    children += _branch(nid, "Billing records", _billing_topics(data.counterparts.get(key, []),
                                                                data.roaming.get(key, []), nid))
    flags = _branch(nid, "Red flags (screening signals, not verdicts)", _flag_topics(data.flags.get(key, []), nid))
    if flags:
        flags[0].note = DISCLAIMER
    children += flags
    root = _Topic(_xid(nid, "summary", "root"), _text(f"{nid}: score {score_text}, {_day(first)} to {_day(last)}"),
                  "\n".join(lines), children, image)
    return _Sheet(_xid(nid, "sheet", "summary"), "Summary and travel", root)


def _travel_topics(rows: list[tuple], nid: str) -> list[_Topic]:
    topics = [_Topic(_xid(nid, "travel", str(i)), _text(f"{_text(a)} → {_text(b)}: {m} moves by {n} ads, "
                                                         f"{_day(f)} to {_day(t)}"))
              for i, (a, b, m, n, f, t) in enumerate(rows[:MAX_FLOWS])]
    if len(rows) > MAX_FLOWS:
        topics.append(_Topic(_xid(nid, "travel", "more"), f"… and {len(rows) - MAX_FLOWS} more flows"))
    return topics


def _movement_topics(row: tuple | None, nid: str) -> list[_Topic]:
    if not row:
        return []
    n_ads, moved, share, n_moves, n_cities = row
    share_text = f" ({share:.0%})" if isinstance(share, (int, float)) else ""
    return [_Topic(_xid(nid, "movement", "ads"), f"{moved} of {n_ads} ads moved{share_text}"),
            _Topic(_xid(nid, "movement", "moves"), f"{n_moves} moves between {n_cities} cities")]


def _billing_topics(counterparts: list[tuple], roaming: list[tuple], nid: str) -> list[_Topic]:
    """Who the network's recovered phones talked to most like a controller, and where they were run from."""
    topics = [_Topic(_xid(nid, "billing", cp), _text(f"{cp}: {role}, rank {rank} (score {score:.2f})"),
                     _text(reason, MAX_EXPLANATION)) for cp, rank, role, score, reason in counterparts]
    topics += [_Topic(_xid(nid, "roaming", sub, country, str(no)), _text(description, 200))
               for sub, country, no, description in roaming]
    return topics


def _flag_topics(rows: list[tuple], nid: str) -> list[_Topic]:
    return [_Topic(_xid(nid, "flag", flag), _text(f"{flag} ({category})"),
                   _text(f"{evidence}\nSource: {source}", MAX_EXPLANATION)) for flag, category, evidence, source in rows]


def _read_png(path: Path) -> _Image:
    data = Path(path).read_bytes()
    if len(data) > MAX_PICTURE_BYTES or data[:8] != _PNG_MAGIC or data[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG picture (or larger than {MAX_PICTURE_BYTES} bytes)")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if width <= 0 or height <= 0:
        raise ValueError(f"{path}: PNG without a size")
    scale = min(1.0, _IMAGE_MAX_WIDTH / width)
    name = hashlib.sha256(data).hexdigest()[:26] + ".png"
    return _Image(name, data, max(1, round(width * scale)), max(1, round(height * scale)))


def _topic_json(topic: _Topic, root: bool = False) -> dict:
    out: dict = {"id": topic.id, "class": "topic", "title": topic.title}
    if root:
        out["structureClass"] = _STRUCTURE
    if topic.image:
        out["image"] = {"src": f"xap:resources/{topic.image.name}", "width": topic.image.width,
                        "height": topic.image.height}
    if topic.note:
        out["notes"] = {"plain": {"content": topic.note}}
    if len(topic.children) > FOLD_OVER and not root:
        out["branch"] = "folded"
    if topic.children:
        out["children"] = {"attached": [_topic_json(child) for child in topic.children]}
    return out


def _content_json(sheets: list[_Sheet]) -> bytes:
    doc = []
    for sheet in sheets:
        item = {"id": sheet.id, "class": "sheet", "title": sheet.title, "rootTopic": _topic_json(sheet.root, True)}
        if sheet.relationships:
            item["relationships"] = [{"id": r.id, "end1Id": r.end1, "end2Id": r.end2, "title": r.title}
                                     for r in sheet.relationships]
        doc.append(item)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _fill_xml_topic(wb: WorkbookDocument, element: TopicElement, topic: _Topic, root: bool = False) -> None:
    from xmind.core.topic import TopicElement

    element.setAttribute("id", topic.id)
    if root:
        element.setAttribute("structure-class", _STRUCTURE)
    element.setTitle(topic.title)
    if topic.image:  # xmind-sdk has no image API: add XMind 8's xhtml:img through the DOM
        img = wb.getOwnerDocument().createElement("xhtml:img")
        img.setAttribute("svg:height", str(topic.image.height))
        img.setAttribute("svg:width", str(topic.image.width))
        img.setAttribute("xhtml:src", f"xap:attachments/{topic.image.name}")
        element.getImplementation().appendChild(img)
    if topic.note:
        element.setPlainNotes(topic.note)
    if len(topic.children) > FOLD_OVER and not root:
        element.setFolded()
    for child in topic.children:
        sub = TopicElement(None, wb)
        element.addSubTopic(sub)
        _fill_xml_topic(wb, sub, child)


def _content_xml(sheets: list[_Sheet], stamp: str) -> bytes:
    from xmind.core.workbook import WorkbookDocument

    wb = WorkbookDocument()
    for i, sheet in enumerate(sheets):
        element = wb.getPrimarySheet() if i == 0 else wb.createSheet()
        if i:
            wb.addSheet(element)
        element.setAttribute("id", sheet.id)
        _fill_xml_topic(wb, element.getRootTopic(), sheet.root, root=True)
        element.setTitle(sheet.title)
        for rel in sheet.relationships:  # sheet-level: the workbook-level createRelationship raises
            rel_el = element.createRelationship(rel.end1, rel.end2, rel.title)
            rel_el.setAttribute("id", rel.id)
            element.addRelationship(rel_el)
    doc = wb.getOwnerDocument()
    for node in doc.getElementsByTagName("*"):  # xmind-sdk stamps the clock: make it deterministic
        if node.hasAttribute("timestamp"):
            node.setAttribute("timestamp", stamp)
    data = doc.toxml(encoding="UTF-8")
    ElementTree.fromstring(data)  # never write a map XMind 8 cannot parse
    return data


def _manifest_xml(image: _Image | None) -> bytes:
    entries = [("content.xml", "text/xml"), ("META-INF/", ""), ("META-INF/manifest.xml", "text/xml")]
    if image:
        entries += [("attachments/", ""), (f"attachments/{image.name}", "image/png")]
    body = "".join(f'<file-entry full-path="{p}" media-type="{t}"/>' for p, t in entries)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
            f'<manifest xmlns="urn:xmind:xmap:xmlns:manifest:1.0">{body}</manifest>').encode("utf-8")


def _zip(path: Path, entries: list[tuple[str, bytes]], comment: bytes = b"") -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = comment
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            # a PNG is compressed already: stored as it is (deflating it again costs time and saves nothing)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=None if name.endswith(".png") else 9)


def write_network_map(con: duckdb.DuckDBPyConnection, network_id: str, target: Path, *,
                      picture_png: Path | None = None) -> XmindReport:
    """Write one network as an ``.xmind`` file holding both the JSON and the XML form of the map.

    Raises ValueError when the network is not in ``networks`` or the picture is not a PNG.
    """
    return _write_map(_load(con, [network_id]), network_id, Path(target), picture_png)


def _written_from(path: Path) -> bytes | None:
    """The source digest in the zip comment of a map written earlier (None if none or no such file)."""
    try:
        with open(path, "rb") as archive:
            archive.seek(0, 2)
            archive.seek(max(0, archive.tell() - 256))
            tail = archive.read()
    except OSError:
        return None
    at = tail.rfind(_SOURCE_KEY)
    return tail[at:at + len(_SOURCE_KEY) + 64] if at >= 0 else None


def _write_map(data: _Data, network_id: str, target: Path, picture_png: Path | None, *,
               reuse: bool = False) -> XmindReport:
    """Write one map (``reuse``: keep a file at ``target`` written from the same map and picture)."""
    net = data.nets.get(network_id)
    if net is None:
        raise ValueError(f"network {network_id!r} is not in the networks table")
    nid = _text(network_id)
    image = _read_png(picture_png) if picture_png is not None else None
    sheets = [_network_sheet(data, network_id, nid, net), _summary_sheet(data, network_id, nid, net, image)]
    manifest = {"file-entries": {"content.json": {}, "metadata.json": {}}}
    content = _content_json(sheets)
    report = XmindReport(target, sum(s.root.size for s in sheets), sum(len(s.relationships) for s in sheets),
                         len(sheets))
    # the zip comment: a digest of the whole map (the JSON form, the XML's timestamp and the picture's
    # name, itself a digest of its bytes) and of this writer's version
    source = _SOURCE_KEY + hashlib.sha256(b"\x1f".join(
        [_MAP_VERSION, content, _epoch_ms(net[4]).encode("ascii"), (image.name if image else "").encode("ascii")])
    ).hexdigest().encode("ascii")
    if reuse and _written_from(target) == source:
        return report  # written by an earlier run from the same rows: the same bytes
    entries = [("content.json", content), ("metadata.json", b"{}")]
    if image:
        manifest["file-entries"][f"resources/{image.name}"] = {}
    entries += [("manifest.json", json.dumps(manifest, separators=(",", ":")).encode("utf-8")),
                ("content.xml", _content_xml(sheets, _epoch_ms(net[4]))),
                ("META-INF/manifest.xml", _manifest_xml(image))]
    if image:
        entries += [(f"resources/{image.name}", image.data), (f"attachments/{image.name}", image.data)]
    with atomic_file(target) as tmp:
        _zip(tmp, entries, source)
    return report


def write_network_maps(con: duckdb.DuckDBPyConnection, folder: Path, *,
                       pictures: Mapping[str, Path] | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       workers: int | None = None) -> dict[str, Path]:
    """Write ``network_<id>.xmind`` into ``folder`` for every network; ``pictures`` maps ids to PNGs;
    ``progress(done, total)`` is called after each map. The networks' rows are read in a few set-based
    passes (one per ``BATCH_MEMBERS`` member rows), not per network. A map already in ``folder`` written
    from the same map and picture (the digest in its zip comment says so) is kept, not written again.
    Many maps are written by ``workers`` processes (default: ``ADNET_WORKERS`` or every core)."""
    folder = Path(folder)
    paths: dict[str, Path] = {}
    used: set[str] = set()
    ids = [row[0] for row in con.execute("SELECT DISTINCT network_id FROM networks ORDER BY network_id").fetchall()]
    with Workers(workers) as pool:
        for batch in network_batches(con, ids, BATCH_MEMBERS):
            data = _load(con, batch)
            jobs = []
            for nid in batch:
                name = map_file_name(_text(nid, 1000))
                if name in used:  # two ids that only differ in unsafe characters
                    name = name[:-6] + "_" + _xid(_text(nid, 1000))[:8] + ".xmind"
                used.add(name)
                jobs.append((data, nid, folder / name, (pictures or {}).get(nid)))
            for nid, path in zip(batch, pool.map(_write_map_job, jobs)):
                paths[nid] = path
                if progress is not None:
                    progress(len(paths), len(ids))
    return paths


def _write_map_job(job: tuple) -> Path:
    """``_write_map`` of one (batch data, network_id, target, picture), for ``Workers`` (a chunk of
    jobs is pickled as one, so the batch's data goes to a worker once per chunk, not once per map)."""
    data, nid, target, picture = job
    return _write_map(data, nid, target, picture, reuse=True).path
