"""FollowTheMoney export: the evidence graph, or one network, as FtM entities (JSON lines) for OCCRP Aleph.

``write_ftm_entities(con, target)`` writes every entity of the evidence graph: both ends of every ``links``
row, every network member, the networks, and one link entity per ``links`` row and per ``network_members`` row.
``write_ftm_entities(con, target, network_id="N-3")`` writes one network: its members, the links whose both ends
are members, and the network itself. Load the file with ``alephclient write-entities`` or ``ftm`` tools.
``write_all_ftm_entities(con, target, {network_id: path})`` writes the whole graph and every network's file
(the same bytes as the calls one by one) reading each table once, and makes each entity a network file repeats
from the whole graph once: entities are gathered as recipes (schema and the values they are made from) and a
recipe's JSON line is made once. followthemoney is imported only when entities are made.

Speed: an entity is not an ``EntityProxy`` but an ``_Entity``, which adds values exactly as the proxy's
``add`` does (followthemoney's sanitising and per-type cleaning, size cap, no repeats; a test compares the
two value by value), on plain lists, and cleans each phone, date, country, URL, name and address value once
per run: making proxies and parsing the same numbers again with ``phonenumbers`` were most of the time.

Mapping (FtM 4.x schemata)

| adnet                  | FtM schema     | properties                                                                      |
|------------------------|----------------|---------------------------------------------------------------------------------|
| owner (`owners`)       | `Person`       | `name`; every other spelling in `variants` as `alias`; `address` = text of each private (not generic) address; `addressEntity` -> the `Address` of each `owner_address` link in the file; `phone` = numbers a `directory` link in the file registers to the owner; `summary` = owner id and counts; `notes` = how the spellings were joined (`resolution`) |
| address (`addresses`)  | `Address`      | `full` = the address, then every spelling variant; `postalCode`; `city`; `keywords` = kind (`private`, `phone_shop`, …) and `generic` when generic; `summary` = key, generic or private, counts; `description` = reason |
| phone number           | `UserAccount`  | `username` and `phone` = the E.164 number; `service` = `telephone`; `owner` -> the `Person` a `directory` link in the file registers it to; `country`; `retrievedAt` = first and last seen; `summary` = type, status, ads, dates, cities |
| ad (`ads`)             | `UserAccount`  | `username` = ad key `<site>:<ad_id>`; `service` = site; `name` = last advertised name (literal text); `phone` = the ad's numbers; `country`; `sourceUrl` = latest http(s) URL on the ad's own site; `retrievedAt` = first and last seen; `summary` = ad id, snapshots, dates, cities |
| network (`networks`)   | `Organization` | `name` = `adnet network <id>`; `summary` = counts, dates, cities, score; `description` = strongest evidence |
| `links` row            | `UnknownLink`  | `subject` = a, `object` = b; `role` = kind; `status` = strength; `summary` = kind, strength, weight, whether networks use it; `description` = evidence; `recordId` = source |
| `network_members` row  | `UnknownLink`  | `subject` = the member, `object` = the network; `role` = `network member`; `summary` = seed, or the link it joined by (via, kind, weight); `description` = explanation |

Why these schemata
  FtM has no phone schema: numbers are ``phone`` values, which Aleph pivots on ("same phone number"), but a
  rotation or series link needs an entity at both ends. So each number is a ``UserAccount`` (a subscription on
  the telephone network, its ``owner`` the subscriber the directory names), and the numbers also appear as
  ``phone`` values on ads and owners. An ad is a profile on a site (id, display name, contact numbers, URL), which
  is what ``UserAccount`` models; the document schemata are files (``fileName`` required, ingested as uploads).
  Network members are not ``Membership``: its member must be a legal entity (ads, phones and addresses are not),
  and a person a number is registered to is not thereby a member of an organisation (straw owners, the workers
  themselves). Links are ``UnknownLink`` because the evidence (shared phone, photo, Telegram contact, number
  series) is not an association, ownership or identity claim; FtM link schemata have no number field, so the
  weight is written into ``summary``. A generic address (phone shop, shopping centre) is never a person's
  ``address`` value, so Aleph's cross-referencing does not match strangers registered at the same shop.

Ids are ``sha1(dataset + key)`` (followthemoney ``make_id`` with the dataset as key prefix), the key being the
typed key (``phone:+4741234567``, ``ad:<site>:<id>``, ``owner:O-…``, ``address:<key>``), ``network:<id>``, or
``json.dumps(["link", kind, a, b], ensure_ascii=False)`` or ``json.dumps(["member", network_id, typed key],
ensure_ascii=False)``; two ``links`` rows with the same kind and ends become one entity. Entities are written
nodes first (networks, people, addresses, phones, ads), then links, each sorted, one ``to_dict()`` JSON
object per line (UTF-8, keys sorted), so a re-run on the same data writes the same bytes. Every text goes
through ``strip_controls``; markup in ads stays literal text. Values FtM rejects are left out (a number that
``phonenumbers`` calls only "possible" keeps its ``username`` but gets no ``phone`` value).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from hashlib import sha1
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb

from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import atomic_file
from adnet_assets.lib.workers import Workers

__all__ = ["FtmReport", "write_all_ftm_entities", "write_ftm_entities"]

NODE_TYPES = ("owner", "address", "phone", "ad")
TABLE = {"owner": ("owners", "owner_id", ("owner_id", "name", "n_phones", "n_listings", "variants",
                                          "address_keys", "resolution")),
         "address": ("addresses", "address_key", ("address_key", "address", "variants", "postcode", "city",
                                                  "kind", "generic", "reason", "n_owners", "n_phones")),
         "phone": ("phones", "phone", ("phone", "country", "n_ads", "first_seen", "last_seen", "status",
                                       "number_type", "cities")),
         "ad": ("ads", "ad_key", ("ad_key", "site", "ad_id", "first_seen", "last_seen", "n_snapshots",
                                  "phones", "country", "last_city", "last_name"))}
NETWORK_COLS = ("network_id", "n_ads", "n_phones", "n_owners", "n_addresses", "first_seen", "last_seen",
                "cities", "strongest_evidence", "score")
LINK_COLS = ("kind", "a", "b", "weight", "evidence", "source", "strength", "for_networks")
MEMBER_COLS = ("network_id", "member_type", "member_key", "explanation", "via", "link_kind", "weight")
PHONE_SERVICE = "telephone"
MEMBER_ROLE = "network member"


@dataclass(frozen=True)
class FtmReport:
    path: Path
    n_entities: int
    counts: dict[str, int]   # FtM schema -> number of entities
    by_type: dict[str, int]  # adnet type (network, owner, address, phone, ad, link, member) -> number of entities


def _text(value: Any) -> str | None:
    """A value as clean text (dates in UTC ISO form, floats short); None when empty."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, float):
        return f"{value:g}"
    text = strip_controls(str(value)).strip()
    return text or None


def _join(*parts: str | None, sep: str = "; ") -> str | None:
    return sep.join(p for p in parts if p) or None


def _n(value: Any, label: str) -> str | None:
    """``"<value> <label>"``, or None when the value is NULL."""
    return None if value is None else f"{_text(value)} {label}"


def _seen(row: dict[str, Any]) -> str | None:
    span = _join(*((_text(row.get(c)) or "")[:10] for c in ("first_seen", "last_seen")), sep=" to ")
    return span and f"seen {span}"


def _weight(row: dict[str, Any]) -> str | None:
    return None if row.get("weight") is None else f"weight {_text(float(row['weight']))}"


def _cities(values: list[Any] | None) -> str | None:
    text = ", ".join(filter(None, map(_text, values or [])))
    return text and f"cities: {text}"


def _add(proxy: _Entity, prop: str, values: Any) -> None:
    """Add cleaned value(s), cut to the property type's maximum length."""
    proxy.add_texts(prop, values)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
        [table]).fetchall()}


def _rows(con: duckdb.DuckDBPyConnection, table: str, cols: tuple[str, ...], where: str = "",
          params: list[Any] | None = None, needs: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts; a missing column reads as NULL, a missing table (or needed column) as no rows."""
    have = _columns(con, table)
    if not have or not set(needs) <= have:
        return []
    select = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in cols)
    rows = con.execute(f'SELECT {select} FROM "{table}" {where}', params or []).fetchall()
    return [dict(zip(cols, row)) for row in rows]


def _fetch_links(con: duckdb.DuckDBPyConnection, network_id: str | None) -> list[dict[str, Any]]:
    order = "ORDER BY ALL"  # every selected column, left to right: some may be NULL stand-ins
    if network_id is None:
        return _rows(con, "links", LINK_COLS, f"WHERE a IS NOT NULL AND b IS NOT NULL {order}", needs=("a", "b"))
    members = "SELECT member_type || ':' || member_key FROM network_members WHERE network_id = ?"
    return _rows(con, "links", LINK_COLS, f"WHERE a IN ({members}) AND b IN ({members}) {order}",
                 [network_id, network_id], needs=("a", "b"))


def _fetch_by_key(con: duckdb.DuckDBPyConnection, kind: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    table, key_col, cols = TABLE[kind]
    rows = _rows(con, table, cols, f'WHERE "{key_col}" IN (SELECT unnest(?::VARCHAR[]))', [keys], needs=(key_col,))
    return {row[key_col]: row for row in rows}


# An ad's page is on its own site: http(s), the host the site or one of its subdomains, no user part, no
# space or backslash (which browsers read as '/', so "https://evil.example\@site" goes to evil.example).
_OWN_PAGE = r"^https?://([a-z0-9.-]+)(:[0-9]{1,5})?([/?#][^\s\\]*)?$"


def _fetch_ad_pages(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """ad_key -> (latest URL of the ad's page on its own site, sorted cities) from ``ad_observations``.

    The URL is ad content: one pointing anywhere but the ad's site would be a link an attacker chose,
    offered to the analyst in Aleph, so it is left out."""
    if not {"ad_key", "url", "city", "seen_at"} <= _columns(con, "ad_observations"):
        return {}
    rows = con.execute(f"""
        WITH o AS (
          SELECT ad_key, url, city, seen_at, lower(split_part(ad_key, ':', 1)) AS site,
                 regexp_extract(lower(url), '{_OWN_PAGE}', 1) AS host  -- '' when the URL is not of that form
          FROM ad_observations WHERE ad_key IN (SELECT unnest(?::VARCHAR[])))
        SELECT ad_key,
               list(url ORDER BY seen_at DESC NULLS LAST, url DESC)
                   FILTER (WHERE host <> '' AND (host = site OR host LIKE '%.' || site))[1],
               list(DISTINCT city ORDER BY city) FILTER (WHERE city IS NOT NULL)
        FROM o GROUP BY ad_key""", [keys]).fetchall()
    return {key: (url, cities or []) for key, url, cities in rows}


def _split(typed: str) -> tuple[str, str] | None:
    kind, sep, value = typed.partition(":")
    return (kind, value) if sep and kind in NODE_TYPES and value else None


class _Builder:
    """Entities by id, in insertion order, as recipes: the schema and the fills (function, arguments) that
    make the entity. Adding an id twice keeps the first schema and appends the fills (merging). An
    entity is a function of its recipe alone, so ``_Renderer`` turns a recipe into its JSON line once,
    whichever file (the whole graph or a network) holds it."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.entities: dict[str, tuple[str, list[tuple[Any, tuple]]]] = {}
        self.types: Counter[str] = Counter()

    def id_of(self, key: str) -> str:
        return _entity_id(self.dataset, key)

    def make(self, schema: str, key: str, adnet_type: str, fill: Any, *args: Any) -> None:
        entity_id = self.id_of(key)
        if entity_id not in self.entities:
            self.entities[entity_id] = (schema, [])
            self.types[adnet_type] += 1
        self.entities[entity_id][1].append((fill, args))

    def link(self, key: list[str], subject: str, obj: str, adnet_type: str, fill: Any, *args: Any) -> None:
        text = json.dumps(key, ensure_ascii=False)
        self.make("UnknownLink", text, adnet_type, _fill_ends, self.id_of(subject), self.id_of(obj))
        self.make("UnknownLink", text, adnet_type, fill, *args)


class _Entity:
    """An entity being made, without ``EntityProxy``: what ``EntityProxy.add`` does for the values this module
    adds (``string_list`` sanitising, the property type's ``clean_text``, the per-entity size cap of
    ``total_size`` types, no value twice, values in the order added), on plain lists, and ``to_dict`` as the
    proxy's. The cleaning of a phone, date, country, URL, name or address value by its type is done once
    per run (``_clean``): parsing numbers with ``phonenumbers`` was most of the export's time."""

    __slots__ = ("id", "schema", "_props", "_size")

    def __init__(self, schema: Any, entity_id: str) -> None:
        self.id = entity_id
        self.schema = schema
        self._props: dict[str, list[str]] = {}
        self._size = 0

    def add(self, name: str, values: Any) -> None:
        """``EntityProxy.add(name, values)``."""
        ftm = _ftm()
        prop = self._prop(name)
        for value in ftm.string_list(values, sanitize=True):
            self._put(prop, value)

    def add_texts(self, name: str, values: Any) -> None:
        """Each value as ``_text`` makes it, cut to the type's maximum length, then ``add`` (one call)."""
        sanitize = _ftm().sanitize_text
        prop = self._prop(name)
        limit = prop.type.max_length
        for value in values if isinstance(values, (list, tuple)) else (values,):
            text = _text(value)
            if text:
                text = sanitize(text[:limit])  # what string_list(…, sanitize=True) does to one str
                if text:
                    self._put(prop, text)

    def _prop(self, name: str) -> Any:
        prop = self.schema.properties[name]
        if prop.stub:
            raise _ftm().InvalidData(f"Stub property ({self.schema}): {prop}")
        return prop

    def _put(self, prop: Any, value: str) -> None:
        """``EntityProxy.unsafe_add`` of a sanitised value: clean it by type, cap the size, no repeats."""
        kind = prop.type
        if kind.name in _PASS_THROUGH:
            cleaned: str | None = value
        elif kind.name == "entity":  # raises on a reference to the entity itself, as the proxy does
            cleaned = kind.clean_text(value, format=prop.format, proxy=self)
        else:
            cleaned = _clean(kind, prop.format, value)
        if cleaned is None:
            return
        if kind.total_size is not None and self._size + len(cleaned) > kind.total_size:
            return
        self._size += len(cleaned)
        have = self._props.setdefault(prop.name, [])
        if cleaned not in have:
            have.append(cleaned)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "schema": self.schema.name, "properties": {p: list(v) for p, v in self._props.items()}}


_PASS_THROUGH = frozenset({"string", "text", "html"})  # types whose clean_text returns the (sanitised) text


@lru_cache(maxsize=1 << 18)
def _clean(kind: Any, fmt: str | None, value: str) -> str | None:
    """``kind.clean_text`` of a sanitised value (none of these types looks at the entity)."""
    return kind.clean_text(value, format=fmt)


@lru_cache(maxsize=1 << 18)
def _entity_id(dataset: str, key: str) -> str:
    """followthemoney's ``make_entity_id(_text(key), key_prefix=dataset)`` ("" for an empty key), without its
    generic conversions: the prefix and the key are text, stripped and UTF-8 encoded, as its key_bytes does."""
    text = (_text(key) or "").strip()
    if not text:
        return ""
    digest = sha1(dataset.strip().encode("utf-8")) if dataset else sha1()
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _ftm() -> SimpleNamespace:
    """followthemoney's parts this module uses, imported once, when entities are first made (~3 s)."""
    from followthemoney import model
    from followthemoney.exc import InvalidData
    from followthemoney.util import sanitize_text
    from followthemoney.value import string_list

    return SimpleNamespace(model=model, InvalidData=InvalidData, sanitize_text=sanitize_text, string_list=string_list)


class _Renderer:
    """Recipes to JSON lines (the entity's ``to_dict()``, keys sorted), remembering the lines of the entities
    ``keep`` names (those a network file repeats from the whole graph)."""

    def __init__(self) -> None:
        self.keep: set[str] = set()
        self.lines: dict[tuple[str, str], str] = {}

    def line(self, dataset: str, entity_id: str, schema: str, fills: list[tuple[Any, tuple]]) -> str:
        recipe = None
        if entity_id in self.keep:  # the fills' arguments are plain values: repr is exact
            recipe = (entity_id, dataset + schema + repr(fills))
            cached = self.lines.get(recipe)
            if cached is not None:
                return cached
        found = _ftm().model.get(schema)
        if found is None or found.abstract:
            raise ValueError(f"{schema!r} is not a FollowTheMoney schema entities can be made of")
        entity = _Entity(found, entity_id)
        for fill, args in fills:
            fill(entity, *args)
        text = json.dumps(entity.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
        if recipe is not None:
            self.lines[recipe] = text
        return text


def _fill_ends(proxy: _Entity, subject: str, obj: str) -> None:
    proxy.add("subject", subject)
    proxy.add("object", obj)


def _add_network(b: _Builder, network_id: str, row: dict[str, Any]) -> None:
    b.make("Organization", f"network:{network_id}", "network", _fill_network, network_id, row)


def _fill_network(proxy: _Entity, network_id: str, row: dict[str, Any]) -> None:
    _add(proxy, "name", f"adnet network {network_id}")
    counts = _join(*(_n(row.get(f"n_{t}"), t) for t in ("ads", "phones", "owners", "addresses")), sep=", ")
    _add(proxy, "summary", _join(counts, _seen(row), _cities(row.get("cities")),
                                 row.get("score") is not None and f"score {_text(float(row['score']))}" or None))
    _add(proxy, "description", row.get("strongest_evidence"))


def _add_owner(b: _Builder, owner_id: str, row: dict[str, Any], addresses: dict[str, dict[str, Any]],
               phones: list[str], address_keys: list[str]) -> None:
    private = []
    for key in sorted(row.get("address_keys") or []):
        address = addresses.get(key)
        if address and not address.get("generic"):
            private.append(address.get("address") or key)
    b.make("Person", f"owner:{owner_id}", "owner", _fill_owner, owner_id, row, private,
           [b.id_of(f"address:{k}") for k in address_keys], phones)


def _fill_owner(proxy: _Entity, owner_id: str, row: dict[str, Any], private_addresses: list[str],
                address_ids: list[str], phones: list[str]) -> None:
    name = _text(row.get("name")) or owner_id
    _add(proxy, "name", name)
    _add(proxy, "alias", sorted(v for v in map(_text, row.get("variants") or []) if v and v != name))
    for address in private_addresses:
        _add(proxy, "address", address)
    _add(proxy, "addressEntity", address_ids)
    _add(proxy, "phone", phones)
    counts = _join(_n(row.get("n_phones"), "phone(s)"), _n(row.get("n_listings"), "directory listing(s)"), sep=", ")
    _add(proxy, "summary", _join(f"adnet owner {owner_id}", counts, sep=": "))
    _add(proxy, "notes", row.get("resolution"))


def _add_address(b: _Builder, key: str, row: dict[str, Any]) -> None:
    b.make("Address", f"address:{key}", "address", _fill_address, key, row)


def _fill_address(proxy: _Entity, key: str, row: dict[str, Any]) -> None:
    _add(proxy, "full", [row.get("address") or key, *sorted(filter(None, map(_text, row.get("variants") or [])))])
    _add(proxy, "postalCode", row.get("postcode"))
    _add(proxy, "city", row.get("city"))
    _add(proxy, "keywords", [row.get("kind"), "generic" if row.get("generic") else None])
    kind = _join("generic" if row.get("generic") else None, _text(row.get("kind")), sep=" ")
    counts = _join(_n(row.get("n_owners"), "owner(s)"), _n(row.get("n_phones"), "phone(s)"), sep=", ")
    _add(proxy, "summary", _join(f"adnet address {key}", kind and f"{kind} address", counts))
    _add(proxy, "description", row.get("reason"))


def _add_phone(b: _Builder, phone: str, row: dict[str, Any], owners: list[str]) -> None:
    b.make("UserAccount", f"phone:{phone}", "phone", _fill_phone, phone, row, [b.id_of(f"owner:{o}") for o in owners])


def _fill_phone(proxy: _Entity, phone: str, row: dict[str, Any], owner_ids: list[str]) -> None:
    _add(proxy, "username", phone)
    _add(proxy, "phone", phone)
    _add(proxy, "service", PHONE_SERVICE)
    _add(proxy, "owner", owner_ids)
    _add(proxy, "country", row.get("country"))
    _add(proxy, "retrievedAt", [row.get("first_seen"), row.get("last_seen")])
    kind = _join(_text(row.get("number_type")), _text(row.get("status")), sep=", ")
    _add(proxy, "summary", _join(f"phone number {phone}", kind, _n(row.get("n_ads"), "ad(s)"), _seen(row),
                                 _cities(row.get("cities"))))


def _add_ad(b: _Builder, ad_key: str, row: dict[str, Any], page: tuple[str | None, list[str]]) -> None:
    b.make("UserAccount", f"ad:{ad_key}", "ad", _fill_ad, ad_key, row, page)


def _fill_ad(proxy: _Entity, ad_key: str, row: dict[str, Any], page: tuple[str | None, list[str]]) -> None:
    site, _, ad_id = ad_key.partition(":")
    _add(proxy, "username", ad_key)
    _add(proxy, "service", row.get("site") or site)
    _add(proxy, "name", row.get("last_name"))
    _add(proxy, "phone", sorted(row.get("phones") or []))
    _add(proxy, "country", row.get("country"))
    url, cities = page
    _add(proxy, "sourceUrl", url)
    _add(proxy, "retrievedAt", [row.get("first_seen"), row.get("last_seen")])
    _add(proxy, "summary", _join(f"ad {_text(row.get('ad_id')) or ad_id} on {_text(row.get('site')) or site}",
                                 _seen(row), _n(row.get("n_snapshots"), "snapshot(s)"),
                                 _cities(cities or [row.get("last_city")])))


def _add_link(b: _Builder, row: dict[str, Any]) -> None:
    kind = _text(row["kind"]) or "link"
    b.link(["link", kind, row["a"], row["b"]], row["a"], row["b"], "link", _fill_link, kind, row)


def _fill_link(proxy: _Entity, kind: str, row: dict[str, Any]) -> None:
    _add(proxy, "role", kind)
    _add(proxy, "status", row.get("strength"))
    flag = row.get("for_networks")
    used = None if flag is None else ("used" if flag else "not used") + " to build networks"
    _add(proxy, "summary", _join(kind, _text(row.get("strength")), _weight(row), used, sep=", "))
    _add(proxy, "description", row.get("evidence"))
    _add(proxy, "recordId", row.get("source"))


def _add_member(b: _Builder, row: dict[str, Any]) -> None:
    typed = f"{row['member_type']}:{row['member_key']}"
    b.link(["member", row["network_id"], typed], typed, f"network:{row['network_id']}", "member", _fill_member, row)


def _fill_member(proxy: _Entity, row: dict[str, Any]) -> None:
    _add(proxy, "role", MEMBER_ROLE)
    how = _join(_text(row.get("link_kind")), _weight(row), sep=", ")
    _add(proxy, "summary", f"joined via {_text(row['via'])}" + (f" ({how})" if how else "")
         if row.get("via") else "seed of the network")
    _add(proxy, "description", row.get("explanation"))


def _where(network_id: str | None) -> tuple[str, list[Any]]:
    return ("", []) if network_id is None else ("WHERE network_id = ?", [network_id])


def _in_scope(members: list[dict], links: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """(members, links, keys by node type): members of a node type with an id and key, links between nodes."""
    members = [m for m in members if m["network_id"] and m["member_key"] and m["member_type"] in NODE_TYPES]
    links = [r for r in links if _split(r["a"]) and _split(r["b"])]
    nodes: dict[str, set[str]] = defaultdict(set)
    for kind, value in [_split(r[end]) for r in links for end in ("a", "b")]:  # type: ignore[misc]
        nodes[kind].add(value)
    for m in members:
        nodes[m["member_type"]].add(m["member_key"])
    return members, links, {kind: sorted(nodes[kind]) for kind in NODE_TYPES}


def _gather(con: duckdb.DuckDBPyConnection, network_id: str | None) -> tuple[list[dict], list[dict], dict]:
    """(members, links, keys by node type) in scope: all, or one network's members and the links between them."""
    where, params = _where(network_id)
    members = _rows(con, "network_members", MEMBER_COLS, f"{where} ORDER BY ALL", params,
                    needs=("network_id", "member_type", "member_key"))
    if network_id is not None and not _in_scope(members, [])[0]:
        raise ValueError(f"network {network_id!r} has no members")
    return _in_scope(members, _fetch_links(con, network_id))


def _gather_networks(con: duckdb.DuckDBPyConnection,
                     network_ids: list[str]) -> dict[str, tuple[list[dict], list[dict], dict]]:
    """``_gather`` of each network, the same rows in the same order, from one query over ``network_members``
    and one over ``links`` (not one of each per network)."""
    wanted = "(SELECT unnest(?::VARCHAR[]))"
    member_rows = _rows(con, "network_members", MEMBER_COLS, f"WHERE network_id IN {wanted} ORDER BY ALL",
                        [network_ids], needs=("network_id", "member_type", "member_key"))
    members: dict[str, list[dict]] = defaultdict(list)
    for m in member_rows:
        members[m["network_id"]].append(m)
    links: dict[str, list[dict]] = defaultdict(list)
    have = _columns(con, "links")
    if {"a", "b"} <= have and member_rows:
        # the links whose both ends are members of one network, ordered as _fetch_links orders them
        select = ", ".join(f'l."{c}"' if c in have else f'NULL AS "{c}"' for c in LINK_COLS)
        rows = con.execute(f"""
            WITH m AS (SELECT DISTINCT network_id, member_type || ':' || member_key AS k FROM network_members
                       WHERE network_id IN {wanted})
            SELECT ma.network_id, {select} FROM links l
            JOIN m ma ON l.a = ma.k JOIN m mb ON l.b = mb.k AND mb.network_id = ma.network_id
            ORDER BY ALL""", [network_ids]).fetchall()
        for nid, *values in rows:
            links[nid].append(dict(zip(LINK_COLS, values)))
    out = {}
    for nid in network_ids:
        scope = _in_scope(members.get(nid, []), links.get(nid, []))
        if not scope[0]:
            raise ValueError(f"network {nid!r} has no members")
        out[nid] = scope
    return out


@dataclass
class _Lookups:
    """The rows entities are made from: by node type and key, ads' pages, networks by id."""
    rows: dict[str, dict[str, dict[str, Any]]]
    pages: dict[str, tuple[str | None, list[str]]]
    networks: dict[str, dict[str, Any]]


def _lookups(con: duckdb.DuckDBPyConnection, keys: dict[str, list[str]], network_id: str | None) -> _Lookups:
    rows = {kind: _fetch_by_key(con, kind, keys[kind]) for kind in ("owner", "phone", "ad")}
    owner_addresses = {k for r in rows["owner"].values() for k in r.get("address_keys") or []}
    rows["address"] = _fetch_by_key(con, "address", sorted(set(keys["address"]) | owner_addresses))
    networks = {r["network_id"]: r for r in _rows(con, "networks", NETWORK_COLS, *_where(network_id),
                                                  needs=("network_id",))}
    return _Lookups(rows, _fetch_ad_pages(con, keys["ad"]), networks)


def _build(scope: tuple[list[dict], list[dict], dict], data: _Lookups, dataset: str,
           network_id: str | None) -> _Builder:
    members, links, keys = scope
    rows = data.rows
    ends: dict[tuple[str, str], list[str]] = defaultdict(list)  # (kind, typed key of one end) -> other ends
    for r in links:
        if r["kind"] in ("directory", "owner_address"):
            ends[(r["kind"], r["a"])].append(_split(r["b"])[1])  # type: ignore[index]
            ends[(r["kind"], r["b"])].append(_split(r["a"])[1])  # type: ignore[index]

    b = _Builder(dataset)
    networks = data.networks if network_id is None else {
        nid: row for nid, row in data.networks.items() if nid == network_id}
    for nid in sorted(set(networks) | {m["network_id"] for m in members}):
        _add_network(b, nid, networks.get(nid, {}))
    for owner in keys["owner"]:
        _add_owner(b, owner, rows["owner"].get(owner, {}), rows["address"],
                   sorted(ends[("directory", f"owner:{owner}")]), sorted(ends[("owner_address", f"owner:{owner}")]))
    for key in keys["address"]:
        _add_address(b, key, rows["address"].get(key, {}))
    for phone in keys["phone"]:
        _add_phone(b, phone, rows["phone"].get(phone, {}), sorted(ends[("directory", f"phone:{phone}")]))
    for ad_key in keys["ad"]:
        _add_ad(b, ad_key, rows["ad"].get(ad_key, {}), data.pages.get(ad_key, (None, [])))
    for row in links:
        _add_link(b, row)
    for row in members:
        _add_member(b, row)
    return b


#: A file of more entities than this has its lines made by ``Workers`` processes, in chunks of this many.
PARALLEL_CHUNK = 20_000


def _render_chunk(chunk: tuple[str, list[tuple[str, str, list[tuple[Any, tuple]]]]]) -> list[str]:
    """The JSON lines of a chunk of (entity_id, schema, fills) of one dataset, for ``Workers``."""
    dataset, items = chunk
    renderer = _Renderer()
    return [renderer.line(dataset, entity_id, schema, fills) for entity_id, schema, fills in items]


def _lines(b: _Builder, renderer: _Renderer, pool: Workers | None) -> Iterator[tuple[str, str]]:
    """(schema, JSON line) of each entity, in order. With a ``pool`` and many entities, chunks of them are
    made by worker processes (an entity's line depends on its recipe alone), and the lines of the entities
    a network file repeats are remembered here as ``renderer.line`` would remember them."""
    items = [(entity_id, schema, fills) for entity_id, (schema, fills) in b.entities.items()]
    if pool is None or len(items) <= PARALLEL_CHUNK:
        for entity_id, schema, fills in items:
            yield schema, renderer.line(b.dataset, entity_id, schema, fills)
        return
    chunks = [(b.dataset, items[i:i + PARALLEL_CHUNK]) for i in range(0, len(items), PARALLEL_CHUNK)]
    for (_, chunk), lines in zip(chunks, pool.map(_render_chunk, chunks)):
        for (entity_id, schema, fills), text in zip(chunk, lines):
            if entity_id in renderer.keep:
                renderer.lines[(entity_id, b.dataset + schema + repr(fills))] = text
            yield schema, text


def _write(b: _Builder, target: Path, renderer: _Renderer, pool: Workers | None = None) -> FtmReport:
    counts: Counter[str] = Counter()
    with atomic_file(target) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for schema, text in _lines(b, renderer, pool):
            handle.write(text)
            counts[schema] += 1
    return FtmReport(path=target, n_entities=len(b.entities), counts=dict(sorted(counts.items())),
                     by_type=dict(sorted(b.types.items())))


def write_ftm_entities(con: duckdb.DuckDBPyConnection, target: Path, *, network_id: str | None = None,
                       dataset: str = "adnet") -> FtmReport:
    """Write the evidence graph (or one network) as FtM JSON lines to ``target``, atomically.

    Raises ValueError when ``network_id`` is given and ``network_members`` has no such network.
    """
    scope = _gather(con, network_id)
    b = _build(scope, _lookups(con, scope[2], network_id), dataset, network_id)
    return _write(b, Path(target), _Renderer())


def write_all_ftm_entities(con: duckdb.DuckDBPyConnection, target: Path, network_targets: dict[str, Path], *,
                           dataset: str = "adnet", progress: Callable[[int, int], None] | None = None,
                           workers: int | None = None) -> tuple[FtmReport, dict[str, FtmReport]]:
    """The evidence graph to ``target`` and each network of ``network_targets`` ({network_id: path}) to its
    file: the same bytes as ``write_ftm_entities`` writes for each, with each table read once and each
    entity a network file repeats from the whole graph made once. ``progress(done, total)`` after each
    network file. Raises ValueError (before writing anything) when a network has no members. The whole
    graph's lines are made by ``workers`` processes when it has more than ``PARALLEL_CHUNK`` entities
    (default: ``ADNET_WORKERS`` or every core; see ``lib/workers.py``)."""
    scope = _gather(con, None)
    data = _lookups(con, scope[2], None)
    whole = _build(scope, data, dataset, None)
    ids = list(network_targets)
    builders = {nid: _build(s, data, dataset, nid) for nid, s in _gather_networks(con, ids).items()}
    renderer = _Renderer()
    renderer.keep = {entity_id for nb in builders.values() for entity_id in nb.entities}
    with Workers(workers, min_items=2) as pool:
        report = _write(whole, Path(target), renderer, pool)
    reports: dict[str, FtmReport] = {}
    for nid in ids:
        reports[nid] = _write(builders.pop(nid), Path(network_targets[nid]), renderer)
        if progress is not None:
            progress(len(reports), len(ids))
    return report, reports
