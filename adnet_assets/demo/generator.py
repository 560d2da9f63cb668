"""Synthetic sex-work advertising market with planted networks and traps.

``generate_market`` writes, under a data directory, what the crawlers and
extract tools would write (the *contract*)::

    snapshots/<site>/<snapshot_id>/ads.jsonl      one crawl of one site
    snapshots/<site>/<snapshot_id>/manifest.json  written last
    directory/*.csv                               phone-directory extracts
    billing/*.csv                                 billing records of recovered phones
    demo-truth/                                   the planted ground truth (never read by the pipeline)

Everything is synthetic: invented names, invented addresses, random numbers.
The output is a pure function of the arguments (same seed, same bytes).

Actors
------
* Independents (the majority): one woman, one or two ads, usually one number.
* Networks: several cells; numbers bought in runs of nearby numbers (series
  groups), ad IDs rotating through the numbers, numbers registered to a few
  owners/front persons whose names the directory spells in many ways, shared
  private flats, reused photos, tours between cities, Telegram handles.
* Traps: shopping-centre and phone-shop addresses shared by strangers,
  homonyms, chance neighbours in busy number blocks, boilerplate texts, stock
  photos, travelling independents, an independent with two ads and two numbers,
  a regular customer in the billing records, and bad lines in the crawls.

See ``demo-truth/README.md`` (written with the data) for the truth files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from adnet_assets.lib.store import atomic_file

from . import billing as B
from . import names as N
from . import phones as PH
from . import texts as T

__all__ = [
    "MarketSummary", "generate_market", "SITES", "DIRECTORY_HEADER", "BILLING_HEADER",
    "GENERATED_PARTS", "snapshot_dates",
]

MAIN_SITE = "eskorte-annonser.example"
NORDIC_SITE = "nordic-escorts.example"
SITES = (MAIN_SITE, NORDIC_SITE)
# a stock photo is shown by at least this many unrelated actors (the pipeline calls a photo stock
# when it spreads over more than 3 phone groups; see adnet_assets.lib.photos)
STOCK_MIN_ACTORS = 6
GENERATED_PARTS = ("snapshots", "directory", "billing", "demo-truth")
DIRECTORY_HEADER = ["phone", "name", "address", "postcode", "city", "listed_at"]
BILLING_HEADER = ["subscriber", "timestamp", "direction", "kind", "counterpart", "duration_s", "network", "country"]
TRUTH_MARKER = "generator.json"

#: independents at scale 1.0 (about 2,800 of the ~3,000 ads)
_INDEPENDENTS_PER_SCALE = 2250
#: networks at scale 1.0
_NETWORKS_PER_SCALE = 10

_CODENAMES = [
    "Amber", "Birch", "Coral", "Dune", "Ember", "Fjord", "Garnet", "Heath", "Iris", "Juniper",
    "Kestrel", "Lotus", "Moss", "Nimbus", "Onyx", "Pine", "Quartz", "Rowan", "Saffron", "Tundra",
    "Umber", "Violet", "Willow", "Yarrow", "Zephyr",
]

_HEAVY_KINDS = ("canonical", "upper", "swapped", "upper_swapped", "initial", "initial_nodot", "double_space",
                "transposed", "missing_letter", "extra_letter", "ascii", "ascii_oe", "comma")


@dataclass
class MarketSummary:
    data_dir: Path
    seed: int
    n_snapshots: int
    n_observations: int
    n_ads: int
    n_phones: int
    n_networks: int
    n_bad_lines: int
    truth_dir: Path


# ---------------------------------------------------------------------------
# internal model
# ---------------------------------------------------------------------------


class Person:
    __slots__ = ("id", "name", "address", "kind", "network_id", "ad_name", "age", "photos")

    def __init__(self, pid: str, name: N.PersonName | None, address: N.Address | None, kind: str,
                 network_id: str = ""):
        self.id = pid
        self.name = name
        self.address = address
        self.kind = kind
        self.network_id = network_id
        self.ad_name = ""
        self.age = 0
        self.photos: list[tuple[str, int]] = []

    @property
    def canonical(self) -> str:
        return self.name.canonical if self.name else self.ad_name


class Ad:
    __slots__ = ("site", "ad_id", "key", "network_id", "cell_id", "person_id", "name", "age", "text",
                 "text_ids", "title_idx", "imgs", "contact", "snaps", "obs_phones", "obs_city",
                 "tours", "styles", "restyle_at", "birth", "order", "url", "last_key", "last_tail", "formula")

    def __init__(self):
        self.text_ids: list[str] = []
        self.tours: list | None = None
        self.styles: dict[str, tuple[PH.Style, PH.Style]] = {}
        self.restyle_at = 10**9
        self.last_key = None
        self.last_tail = ""
        self.formula = False
        self.network_id = ""
        self.cell_id = ""


@dataclass
class Cell:
    id: str
    network_id: str
    route: list[str]
    groups: list[list[str]] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)
    owners: list[Person] = field(default_factory=list)
    workers: list[Person] = field(default_factory=list)
    ads: list[Ad] = field(default_factory=list)
    telegram: str = ""
    whatsapp: bool = False
    text_base: str = ""
    lang: str = "no"

    @property
    def phones(self) -> list[str]:
        return [p for g in self.groups for p in g] + self.loose


@dataclass
class Network:
    id: str
    name: str
    kind: str
    nordic: bool
    cells: list[Cell] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    billing: bool = False


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def snapshot_dates(start: date, weeks: int) -> list[date]:
    """Mondays and Thursdays in [start, start + 7*weeks)."""
    return [start + timedelta(days=d) for d in range(7 * weeks) if (start + timedelta(days=d)).weekday() in (0, 3)]


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def _csv_bytes(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _iso_z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------


class _Market:
    def __init__(self, seed: int, weeks: int, start: date, scale: float, bad_lines: bool,
                 progress: Callable[[str], None] | None):
        self.seed = seed
        self.rng = random.Random(seed)
        self.scale = scale
        self.start = start
        self.weeks = weeks
        self.bad_lines_enabled = bad_lines
        self.progress = progress or (lambda _m: None)
        self.dates = snapshot_dates(start, weeks)
        self.S = len(self.dates)
        if self.S == 0:
            raise ValueError("weeks must be >= 1")
        self.plan = PH.NumberPlan(random.Random(self.rng.getrandbits(64)))
        self.persons: list[Person] = []
        self.ads: list[Ad] = []
        self.networks: list[Network] = []
        self.reserved_names: set[str] = set()
        self.used_buildings: set[tuple] = set()
        self.used_flats: set[tuple] = set()
        for place in N.PUBLIC_PLACES:
            street, num = place[1].rsplit(" ", 1)
            self.used_buildings.add((street, int(num), "", place[3]))
        # phone truth: phone -> dict
        self.phone_info: dict[str, dict] = {}
        # listing rows: phone -> list of [name, address, postcode, city, listed_at, person_id]
        self.listings: dict[str, list[list[str]]] = {}
        self.displays: dict[tuple[str, str], tuple[str, bool]] = {}
        self._render_cache: dict[tuple, str] = {}
        self.stock_photos: list[tuple[str, int]] = []
        self.traps: dict = {}
        self.series_rows: list[list[str]] = []
        self.billing_nets: list[B.BillingNetwork] = []
        self._pid = 0
        self._busy: dict[str, list[tuple[str, int, int]]] = {}
        self._neighbour_plants = 0
        self._last_busy: dict[str, str] = {}
        self.special_persons: set[str] = set()
        self.independents: list[Person] = []
        self.ind_phones: dict[str, list[str]] = {}

    # ----------------------------------------------------------------- basics
    def new_person(self, name, address, kind, network_id="") -> Person:
        self._pid += 1
        p = Person(f"P{self._pid:06d}", name, address, kind, network_id)
        self.persons.append(p)
        return p

    def name(self, male: bool = False) -> N.PersonName:
        while True:
            n = N.random_name(self.rng, male=male)
            if n.canonical not in self.reserved_names:
                return n

    def address(self, city: str, *, flat_p: float = 0.45) -> N.Address:
        rng = self.rng
        for attempt in range(60):
            a = N.random_address(rng, city, flat_p=flat_p)
            if attempt < 30:
                if a.building_key in self.used_buildings:
                    continue
                self.used_buildings.add(a.building_key)
                self.used_flats.add(a.building_key + (a.flat,))
                return a
            if a.building_key + (a.flat,) not in self.used_flats:
                self.used_flats.add(a.building_key + (a.flat,))
                return a
        raise RuntimeError("address space exhausted")

    def photo(self) -> tuple[str, int]:
        return (f"{self.rng.getrandbits(256):064x}", self.rng.getrandbits(64))

    def img_instance(self, photo: tuple[str, int], exact: bool) -> tuple[str, int]:
        if exact:
            return photo
        ph = photo[1]
        for bit in self.rng.sample(range(64), self.rng.randint(1, 4)):
            ph ^= 1 << bit
        return (f"{self.rng.getrandbits(256):064x}", ph)

    def life(self, L: int, birth: int | None = None) -> tuple[int, list[int]]:
        S, rng = self.S, self.rng
        for _ in range(100):
            b = rng.randint(-(L - 1), S - 1) if birth is None else birth
            lo, hi = max(0, b), min(S - 1, b + L - 1)
            if lo <= hi:
                snaps = [s for s in range(lo, hi + 1) if s in (lo, hi) or rng.random() > 0.03]
                return b, snaps
            birth = None
        raise RuntimeError("no life")

    def set_phone(self, phone: str, region: str, network_id: str, role: str, owner: str, block: str = ""):
        self.phone_info[phone] = {"phone": phone, "region": region, "network_id": network_id, "role": role,
                                  "owner_person_id": owner, "series_block": block or PH.block_of(phone)}

    def add_listing(self, phone: str, person: Person, name_str: str, addr_line: str, postcode: str, city: str):
        rng = self.rng
        listed = self.start - timedelta(days=rng.randint(20, 900))
        self.listings.setdefault(phone, []).append(
            [name_str, addr_line, postcode, city.upper() if rng.random() < 0.5 else city, listed.isoformat(), person.id])

    def styles_for(self, ad: Ad, phones, obf_p: float) -> None:
        rng = self.rng
        for p in phones:
            if p not in ad.styles:
                s1 = PH.random_style(rng, rng.random() < obf_p)
                s2 = PH.random_style(rng, rng.random() < obf_p) if ad.restyle_at < 10**9 else s1
                ad.styles[p] = (s1, s2)

    def stops(self, n_obs: int, cities: list[str], travel: bool) -> tuple[list[str], list[tuple[int, int, str]]]:
        rng = self.rng
        if not travel or n_obs < 2 or len(cities) < 2:
            c = cities[0]
            return [c] * n_obs, [(0, n_obs - 1, c)]
        out, stops, i, k = [], [], 0, rng.randrange(len(cities))
        while i < n_obs:
            length = min(n_obs - i, rng.randint(1, 4))
            c = cities[k % len(cities)]
            if stops and stops[-1][2] == c:
                k += 1
                c = cities[k % len(cities)]
            stops.append((i, i + length - 1, c))
            out.extend([c] * length)
            i += length
            k += 1
        return out, stops

    def tours_for(self, ad: Ad, stops: list[tuple[int, int, str]]) -> None:
        if len(stops) < 2:
            return
        tours = []
        dates = self.dates
        for i in range(len(ad.snaps)):
            cur = tuple(
                (c, dates[ad.snaps[a]].isoformat(), (dates[ad.snaps[b]] + timedelta(days=2)).isoformat())
                for a, b, c in stops if b >= i
            )[:3]
            tours.append(cur)
        ad.tours = tours

    # --------------------------------------------------------------- numbers
    def setup_busy_blocks(self, n_ind: int) -> None:
        rng = self.rng
        share = {"NO": 0.8, "SE": 0.09, "DK": 0.06, "FI": 0.05}
        for region, sh in share.items():
            nb = max(3, round(10 * self.scale)) if region == "NO" else max(1, round(self.scale))
            expected = n_ind * sh * 1.15 * 0.4 / nb
            width = int(min(9000, max(300, expected * 80)))
            blocks = []
            for _ in range(nb):
                b = self.plan.fresh_block(region)
                w0 = rng.randint(0, 9999 - width)
                blocks.append((b, w0, w0 + width))
            self._busy[region] = blocks

    def busy_number(self, region: str) -> str:
        """A number sold recently in one of the busy blocks of ``region``."""
        rng = self.rng
        b, lo, hi = rng.choice(self._busy[region])
        quota = max(3, round(3 * self.scale))
        last = self._last_busy.get(region)
        if last and self._neighbour_plants < quota and rng.random() < 0.5:
            # a planted chance neighbour: a few numbers above the previous busy sale
            for d in rng.sample(range(2, 9), 7):
                cand = f"{last[:-4]}{int(last[-4:]) + d:04d}"
                if int(last[-4:]) + d <= 9999 and self.plan.take(cand):
                    self._neighbour_plants += 1
                    self._last_busy[region] = cand
                    return cand
        p = self.plan.in_block(b, lo, hi)
        self._last_busy[region] = p
        return p

    def network_run(self, region: str, k: int, *, allow_busy: bool, anchor: tuple[str, int] | None = None) -> list[str]:
        rng = self.rng
        gap = rng.choice([2, 3, 4, 6])
        if anchor is not None:
            block, last = anchor
            return self.plan.run(block, k, lo=min(9999, last + 2), hi=min(9999, last + 8 + k * gap), max_gap=gap)
        if allow_busy and region in self._busy and rng.random() < 0.3:
            b, w0, w1 = rng.choice(self._busy[region])
            if w0 > 9999 - w1:
                return self.plan.run(b, k, lo=0, hi=max(k * gap, w0 - 300), max_gap=gap)
            return self.plan.run(b, k, lo=min(9999 - k * gap, w1 + 300), hi=9999, max_gap=gap)
        block = self.plan.fresh_block(region)
        return self.plan.run(block, k, lo=0, hi=9999, max_gap=gap)

    # -------------------------------------------------------------- networks
    def build_networks(self) -> None:
        rng = self.rng
        n_net = max(4, round(_NETWORKS_PER_SCALE * self.scale))
        f = min(1.0, max(0.25, math.sqrt(self.scale)))
        specs = [
            ("big", max(12, round(48 * f)), 2, True),
            ("name_variants", max(8, round(14 * f)), 2, False),
            ("shared_flat", max(8, round(12 * f)), 2, False),
            ("small", 5, 1, False),
        ]
        for _ in range(n_net - 4):
            size = int(round(math.exp(rng.uniform(math.log(5), math.log(60)))))
            cells = 1 if size < 10 else rng.choices([1, 2, 3], weights=[4, 4, 2])[0]
            specs.append(("ordinary", size, cells, rng.random() < 0.35))
        width = 2 if n_net < 100 else (3 if n_net < 1000 else 4)
        for i, (kind, size, n_cells, nordic) in enumerate(specs):
            nid = f"N{i + 1:0{width}d}"
            cname = _CODENAMES[i % len(_CODENAMES)] + ("" if i < len(_CODENAMES) else f" {i // len(_CODENAMES) + 1}")
            net = Network(nid, f"Ring {cname}", kind, nordic)
            self.networks.append(net)
            self.build_network(net, size, n_cells)
            if (i + 1) % 50 == 0:
                self.progress(f"built {i + 1}/{len(specs)} networks")

    def build_network(self, net: Network, size: int, n_cells: int) -> None:
        rng = self.rng
        sizes = [size // n_cells + (1 if c < size % n_cells else 0) for c in range(n_cells)]
        special = net.kind in ("name_variants", "shared_flat")
        if net.kind == "name_variants":
            owner_name = self.name()
            while not N.has_diacritics(owner_name.last) or len(owner_name.last) < 5:
                owner_name = N.PersonName(owner_name.first, rng.choice([s for s in N.SURNAMES if N.has_diacritics(s) and len(s) >= 5]))
            self.reserved_names.add(owner_name.canonical)
            shared = self.new_person(owner_name, self.address(N.pick_city(rng, "NO"), flat_p=0.3), "owner", net.id)
            kinds_a = ["canonical", "double_space", "transposed", "missing_letter", "ascii"]
            kinds_b = ["upper_swapped", "initial", "comma", "ascii_oe", "initial_nodot"]
            c1 = self.build_cell(net, 0, sizes[0], shared_owner=(shared, kinds_a), allow_flat=False)
            c2 = self.build_cell(net, 1, sizes[1], shared_owner=(shared, kinds_b), allow_flat=False)
            net.cells = [c1, c2]
            net.links = ["name_variants_only"]
            variants = sorted({row[0] for c in net.cells for p in c.phones for row in self.listings.get(p, [])
                               if row[5] == shared.id})
            self.traps.setdefault("name_variant_networks", []).append({
                "network_id": net.id, "owner_person_id": shared.id, "canonical_name": shared.canonical,
                "address": shared.address.full, "variants": variants,
                "cells": {c.id: sorted({row[0] for p in c.phones for row in self.listings.get(p, []) if row[5] == shared.id})
                          for c in net.cells},
                "phones": sorted(p for c in net.cells for p in c.phones if any(r[5] == shared.id for r in self.listings.get(p, []))),
            })
            return
        if net.kind == "shared_flat":
            flat = self.address(N.pick_city(rng, "NO"), flat_p=0.0)
            flat = N.Address(flat.street, flat.number, flat.letter or rng.choice("ABC"), f"H0{rng.randint(1, 5)}0{rng.randint(1, 4)}",
                             flat.postcode, flat.city, flat.country)
            variants = N.address_variants(flat)
            va = variants[0]
            vb = variants[1]
            c1 = self.build_cell(net, 0, sizes[0], flat=(flat, [va]), allow_flat=False)
            c2 = self.build_cell(net, 1, sizes[1], flat=(flat, [vb, variants[-1]]), allow_flat=False)
            net.cells = [c1, c2]
            net.links = ["shared_flat_only"]
            flat_people = [o for c in net.cells for o in c.owners if o.address is flat]
            self.traps.setdefault("shared_flat_networks", []).append({
                "network_id": net.id, "address": flat.full,
                "address_variants": sorted({row[1] for c in net.cells for p in c.phones for row in self.listings.get(p, [])
                                            if any(row[5] == o.id for o in flat_people)}),
                "person_ids": [o.id for o in flat_people],
                "names": [o.canonical for o in flat_people],
                "cells": {c.id: [o.id for o in c.owners if o.address is flat] for c in net.cells},
            })
            return
        cells: list[Cell] = []
        for c in range(n_cells):
            anchor = None
            if c > 0 and net.kind == "big":
                g = cells[0].groups[0]
                anchor = (PH.block_of(g[-1]), int(g[-1][-4:]))
            cells.append(self.build_cell(net, c, sizes[c], anchor=anchor, allow_flat=not special,
                                         force_rotation=(net.kind in ("big", "small") and c == 0)))
        net.cells = cells
        # links between cells
        for c in range(1, n_cells):
            a, b = cells[c - 1], cells[c]
            if net.kind == "big":
                kinds = ["rotation", "series", "photo"]
            else:
                kinds = rng.sample(["rotation", "owner", "photo", "flat", "telegram", "series"], rng.randint(1, 2))
            for k in kinds:
                if self.link_cells(net, a, b, k) and k not in net.links:
                    net.links.append(k)

    def build_cell(self, net: Network, ci: int, n_ads: int, *, shared_owner=None, flat=None, allow_flat=True,
                   anchor=None, force_rotation=False) -> Cell:
        rng = self.rng
        special = net.kind in ("name_variants", "shared_flat")
        # route of cities
        n_route = rng.randint(2, 5)
        route = [N.pick_city(rng, "NO")]
        while len(route) < n_route:
            country = rng.choice(["SE", "DK", "FI"]) if (net.nordic and rng.random() < 0.45) else "NO"
            c = N.pick_city(rng, country)
            if c not in route:
                route.append(c)
        cell = Cell(f"{net.id}-{'ABCDEFGH'[ci]}", net.id, route)
        cell.lang = T.lang_for_country(rng, "NO")
        # numbers: series groups (+ a few loose numbers)
        n_ph = max(5 if special else 3, round(n_ads * rng.uniform(0.75, 1.1)))
        n_loose = 0 if (special or n_ph < 6) else rng.randint(0, max(1, n_ph // 7))
        remaining = n_ph - n_loose
        first = True
        while remaining > 0:
            k = min(remaining, rng.randint(3, 8))
            if 0 < remaining - k < 3:
                k = remaining
            region = "NO" if (first or not net.nordic or rng.random() < 0.7) else rng.choice(["SE", "DK", "FI"])
            if first and anchor is not None:
                run = self.network_run("NO", k, allow_busy=False, anchor=anchor)
            else:
                run = self.network_run(region, k, allow_busy=not special)
            first = False
            gid = f"{cell.id}-S{len(cell.groups) + 1}"
            for p in run:
                self.series_rows.append([gid, net.id, cell.id, p])
            cell.groups.append(run)
            remaining -= k
        for _ in range(n_loose):
            cell.loose.append(self.plan.random_number("NO"))
        # owners / fronts
        n_owners = rng.randint(2, max(2, min(5, 1 + n_ph // 3)))
        if shared_owner is not None:
            n_owners = max(1, n_owners - 1)
        owners: list[Person] = []
        cell_flat = None
        if allow_flat and n_owners >= 2 and rng.random() < 0.4:
            fa = self.address(rng.choice(route[:1] + N.cities_of("NO")[:3]), flat_p=0.0)
            cell_flat = N.Address(fa.street, fa.number, fa.letter or rng.choice("AB"), f"H0{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                                  fa.postcode, fa.city, fa.country)
        for k in range(n_owners):
            kind = "owner" if rng.random() < 0.6 else "front"
            if flat is not None and k == 0:
                addr, kind = flat[0], "front"
            elif cell_flat is not None and k < 2:
                addr, kind = cell_flat, "front"
            else:
                addr = self.address(N.pick_city(rng, "NO"), flat_p=0.5)
            owners.append(self.new_person(self.name(male=rng.random() < 0.4), addr, kind, net.id))
        cell.owners = list(owners)
        # listings
        listed_phones = []
        for gi, g in enumerate(cell.groups):
            for j, p in enumerate(g):
                force = (shared_owner is not None or flat is not None) and len(listed_phones) < 5
                if force or rng.random() < 0.62:
                    listed_phones.append(p)
        for p in cell.loose:
            if rng.random() < 0.2:
                listed_phones.append(p)
        so_person, so_kinds = shared_owner if shared_owner is not None else (None, [])
        so_queue = list(so_kinds)
        flat_queue = list(flat[1]) if flat is not None else []
        for idx, p in enumerate(listed_phones):
            if so_person is not None and so_queue and idx % 3 != 2:
                # the shared owner: one row per number, a distinct spelling each time
                kind = so_queue.pop(0)
                nm = N.name_variant(rng, so_person.name, kind)
                self.add_listing(p, so_person, nm, so_person.address.line, so_person.address.postcode, so_person.address.city)
                if so_person not in cell.owners:
                    cell.owners.append(so_person)
                continue
            if flat is not None and idx % 2 == 0 and flat_queue:
                o = owners[0]
                line = flat_queue[idx // 2 % len(flat_queue)]
                self.add_listing(p, o, N.random_variant(rng, o.name, ("canonical", "upper", "swapped")), line,
                                 flat[0].postcode, flat[0].city)
                continue
            pool = owners if flat is None else (owners[1:] or owners)  # never the shared owner
            o = rng.choices(pool, weights=[1.0 / (i + 1) for i in range(len(pool))])[0]
            for r in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                nm = N.random_variant(rng, o.name, _HEAVY_KINDS) if (r > 0 or rng.random() < 0.7) else o.name.canonical
                vars_ = N.address_variants(o.address)
                line = vars_[0] if rng.random() < 0.4 else rng.choice(vars_)
                self.add_listing(p, o, nm, line, o.address.postcode, o.address.city)
        for p in cell.phones:
            rows = self.listings.get(p)
            self.set_phone(p, PH.split_e164(p)[0], net.id, "worker", rows[0][5] if rows else "")
        # workers and their photos
        n_workers = max(1, round(n_ads / rng.uniform(1.6, 2.6)))
        for _ in range(n_workers):
            w = self.new_person(self.name(), None, "worker", net.id)
            w.ad_name = rng.choice(N.AD_NAMES)
            w.age = rng.randint(19, 31)
            w.photos = [self.photo() for _ in range(rng.randint(3, 8))]
            cell.workers.append(w)
        cell.telegram = T.handle(rng, cell.id.replace("-", "")) if rng.random() < 0.6 else ""
        cell.whatsapp = rng.random() < 0.7
        base_lang = cell.lang
        cell.text_base = T.fragments(rng, base_lang, rng.randint(2, 4))
        # ads
        phones = cell.phones
        primaries = phones[:]
        rng.shuffle(primaries)
        rotated = False
        for i in range(n_ads):
            w = cell.workers[i % n_workers]
            ad = Ad()
            ad.network_id, ad.cell_id, ad.person_id = net.id, cell.id, w.id
            ad.site = MAIN_SITE if rng.random() < 0.75 else NORDIC_SITE
            if force_rotation and not rotated:
                L = self.S
                ad.birth, ad.snaps = self.life(L, birth=0)
            else:
                L = rng.randint(2, 5) if rng.random() < 0.2 else rng.randint(6, 26)
                ad.birth, ad.snaps = self.life(L)
            n = len(ad.snaps)
            ad.restyle_at = rng.randint(1, n - 1) if (n >= 2 and rng.random() < 0.15) else 10**9
            primary = primaries[i % len(primaries)]
            others = [p for p in phones if p != primary]
            if len(phones) >= 3 and (rng.random() < 0.45 or (force_rotation and not rotated)):
                owner_of = {p: (self.listings[p][0][5] if p in self.listings else "") for p in phones}
                others.sort(key=lambda p: (owner_of[p] == owner_of[primary], rng.random()))
                cyc = [primary] + others[: rng.randint(2, min(4, len(others)))]
                period = rng.randint(1, 2) if (force_rotation and not rotated) else rng.randint(1, 3)
                off = rng.randint(0, 10)
                ad.obs_phones = [(cyc[((s + off) // period) % len(cyc)],) for s in ad.snaps]
                if len({t[0] for t in ad.obs_phones}) >= 3:
                    rotated = True
            else:
                r = rng.random()
                one = (primary,)
                if r < 0.2 and n >= 2:
                    j = rng.randint(1, n - 1)
                    two = (rng.choice(others),)
                    ad.obs_phones = [one if k < j else two for k in range(n)]
                elif r < 0.3:
                    pair = (primary, rng.choice(others))
                    ad.obs_phones = [pair] * n
                else:
                    ad.obs_phones = [one] * n
            travel = rng.random() < 0.55
            cities = route[:] if travel else [rng.choice(route)]
            if travel:
                rng.shuffle(cities)
            ad.obs_city, stops = self.stops(n, cities, travel)
            if travel:
                self.tours_for(ad, stops)
            ad.name, ad.age = (w.ad_name if rng.random() < 0.85 else rng.choice(N.AD_NAMES)), w.age + rng.choice([0, 0, 0, -1, 1, 2])
            # photos
            k = rng.randint(2, min(5, len(w.photos)))
            ad.imgs = [self.img_instance(ph, rng.random() < 0.65) for ph in rng.sample(w.photos, k)]
            if n_workers > 1 and rng.random() < 0.3:
                other = cell.workers[(i + 1) % n_workers]
                ad.imgs.append(self.img_instance(rng.choice(other.photos), rng.random() < 0.7))
            if rng.random() < 0.05:
                ad.imgs.append(rng.choice(self.stock_photos))
            # text
            city0 = ad.obs_city[0]
            lang = base_lang
            parts = [T.intro(rng, lang, name=ad.name, age=ad.age, city=city0), cell.text_base]
            if rng.random() < 0.25:
                bp = rng.choice(sorted(T.BOILERPLATE))
                parts.append(T.BOILERPLATE[bp])
                ad.text_ids.append(bp)
            text = " ".join(parts)
            if rng.random() < 0.03:
                text = T.formula_opener(rng, city=city0, handle=cell.telegram) + text
                ad.formula = True
            ad.text = text
            ad.title_idx = T.title_template(rng)
            contact = {"whatsapp": cell.whatsapp and rng.random() < 0.9}
            if cell.telegram and rng.random() < 0.75:
                contact["telegram"] = cell.telegram
            ad.contact = contact
            self.styles_for(ad, sorted({p for t in ad.obs_phones for p in t}), 0.15)
            cell.ads.append(ad)
            self.ads.append(ad)
        self.cover_phones(cell)
        return cell

    def inject_phone(self, ad: Ad, phone: str, obf_p: float = 0.15) -> None:
        n = len(ad.snaps)
        if n >= 2:
            j = self.rng.randint(1, n - 1)
            ad.obs_phones = list(ad.obs_phones)
            ad.obs_phones[j] = (phone,)
        else:
            ad.obs_phones = [ad.obs_phones[0] + (phone,)]
        self.styles_for(ad, [phone], obf_p)

    def cover_phones(self, cell: Cell) -> None:
        """Make sure every number of the cell is shown in at least one ad."""
        shown = {p for ad in cell.ads for t in ad.obs_phones for p in t}
        for p in cell.phones:
            if p in shown:
                continue
            ad = max(cell.ads, key=lambda a: len(a.snaps))
            self.inject_phone(ad, p)
            shown = {q for a in cell.ads for t in a.obs_phones for q in t}

    def link_cells(self, net: Network, a: Cell, b: Cell, kind: str) -> bool:
        rng = self.rng
        if kind == "rotation":
            cands = [ad for ad in b.ads if len(ad.snaps) >= 3] or b.ads
            self.inject_phone(rng.choice(cands), rng.choice(a.phones))
        elif kind == "series":
            # numbers of cell b bought right after a run of cell a, in the same block
            block = PH.block_of(a.groups[0][-1])
            last = max(int(p[-4:]) for p in a.phones + b.phones if PH.block_of(p) == block)
            if last > 9960:
                return net.kind == "big"  # (the big network's cells are anchored anyway)
            run = self.network_run("NO", 3, allow_busy=False, anchor=(block, last))
            gid = f"{b.id}-S{len(b.groups) + 1}"
            for p in run:
                self.series_rows.append([gid, net.id, b.id, p])
                self.set_phone(p, PH.split_e164(p)[0], net.id, "worker", "")
            b.groups.append(run)
            for p in run:
                self.inject_phone(rng.choice(b.ads), p)
        elif kind == "photo":
            src = rng.choice(a.workers).photos
            ad = rng.choice(b.ads)
            ad.imgs.append(self.img_instance(rng.choice(src), True))
        elif kind == "owner":
            o = rng.choice([o for o in a.owners if o.name is not None])
            p = rng.choice(b.phones)
            for _ in range(rng.randint(1, 2)):
                self.add_listing(p, o, N.random_variant(rng, o.name, _HEAVY_KINDS), rng.choice(N.address_variants(o.address)),
                                 o.address.postcode, o.address.city)
            if not self.phone_info[p]["owner_person_id"]:
                self.phone_info[p]["owner_person_id"] = o.id
            b.owners.append(o)
        elif kind == "flat":
            fa = self.address(N.pick_city(rng, "NO"), flat_p=0.0)
            flat = N.Address(fa.street, fa.number, fa.letter or "B", f"H0{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                             fa.postcode, fa.city, fa.country)
            variants = N.address_variants(flat)
            for cell, line in ((a, variants[0]), (b, rng.choice(variants[1:]))):
                front = self.new_person(self.name(male=rng.random() < 0.5), flat, "front", net.id)
                p = rng.choice(cell.phones)
                self.add_listing(p, front, N.random_variant(rng, front.name, ("canonical", "upper", "swapped")), line,
                                 flat.postcode, flat.city)
                if not self.phone_info[p]["owner_person_id"]:
                    self.phone_info[p]["owner_person_id"] = front.id
                cell.owners.append(front)
        elif kind == "telegram":
            if not a.telegram:
                a.telegram = T.handle(rng, a.id.replace("-", ""))
                for ad in a.ads[:2]:
                    ad.contact["telegram"] = a.telegram
            for ad in rng.sample(b.ads, min(2, len(b.ads))):
                ad.contact["telegram"] = a.telegram
        else:
            raise ValueError(kind)
        return True

    # ----------------------------------------------------------- independents
    def build_independents(self) -> None:
        rng = self.rng
        n = max(20, round(_INDEPENDENTS_PER_SCALE * self.scale))
        # planted homonym pairs: same name, different private addresses, nothing else in common
        n_hom = max(1, round(self.scale))
        homonym_names = []
        while len(homonym_names) < n_hom:
            nm = self.name()
            if nm.canonical not in self.reserved_names and not nm.middle:
                self.reserved_names.add(nm.canonical)
                homonym_names.append(nm)
        for i in range(n):
            if i % 5000 == 0 and i:
                self.progress(f"built {i}/{n} independents")
            special = None
            if i < 2 * n_hom:
                special = ("homonym", homonym_names[i // 2])
            elif i == 2 * n_hom:
                special = ("two_numbers", None)
            self.build_independent(special)

    def build_independent(self, special) -> None:
        rng = self.rng
        kind = special[0] if special else ""
        country = "NO" if kind else rng.choices(N.COUNTRIES, weights=[80, 9, 6, 5])[0]
        home = N.pick_city(rng, country)
        name = special[1] if kind == "homonym" else self.name()
        person = self.new_person(name, self.address(home), "independent")
        self.independents.append(person)
        if kind:
            self.special_persons.add(person.id)
        person.ad_name = name.first if rng.random() < 0.35 else rng.choice(N.AD_NAMES)
        person.age = rng.randint(19, 45)
        person.photos = [self.photo() for _ in range(rng.randint(1, 6))]
        # numbers
        n_numbers = 2 if (kind == "two_numbers" or (not kind and rng.random() < 0.15)) else 1
        numbers = []
        for _ in range(n_numbers):
            region = country if rng.random() < 0.95 else rng.choice([c for c in N.COUNTRIES if c != country])
            if not kind and rng.random() < 0.4:
                numbers.append(self.busy_number(region))
            else:
                numbers.append(self.plan.random_number(region))
        for p in numbers:
            self.set_phone(p, PH.split_e164(p)[0], "", "independent", person.id)
        self.ind_phones[person.id] = numbers
        # listing in the directory under her own name at her own address
        listed = kind in ("homonym", "two_numbers") or rng.random() < 0.3
        if listed:
            for p in numbers:
                if kind or rng.random() < 0.9:
                    for r in range(1 + (rng.random() < 0.15)):
                        nm = name.canonical if (r == 0 and rng.random() < 0.75) else N.random_variant(
                            rng, name, ("canonical", "upper", "ascii", "swapped", "upper_swapped", "comma", "lower"))
                        vars_ = N.address_variants(person.address)
                        line = vars_[0] if rng.random() < 0.7 else rng.choice(vars_)
                        self.add_listing(p, person, nm, line, person.address.postcode, person.address.city)
        # ads
        n_ads = 2 if (kind == "two_numbers" or (not kind and rng.random() < 0.28)) else 1
        mode = rng.choice(["parallel", "sequential"])
        if n_numbers == 2:
            nmode = "switch_and_second" if kind == "two_numbers" else rng.choice(["switch", "split", "both"])
        else:
            nmode = "one"
        whatsapp = rng.random() < 0.45
        telegram = T.handle(rng, person.ad_name) if rng.random() < 0.12 else ""
        sms_only = rng.random() < 0.08
        travel_person = rng.random() < 0.12
        use_bp = (not kind) and rng.random() < 0.45
        bp_id = rng.choice(sorted(T.BOILERPLATE)) if use_bp else ""
        lang = T.lang_for_country(rng, country)
        first_end = None
        for a in range(n_ads):
            ad = Ad()
            ad.person_id = person.id
            if kind == "two_numbers":
                ad.site = MAIN_SITE if a == 0 else NORDIC_SITE
                L = max(4, self.S - 2) if a == 0 else max(2, self.S // 2)
                ad.birth, ad.snaps = self.life(L, birth=0 if a == 0 else max(0, self.S // 3))
            else:
                if country == "NO":
                    ad.site = MAIN_SITE if rng.random() < 0.85 else NORDIC_SITE
                else:
                    ad.site = NORDIC_SITE if rng.random() < 0.85 else MAIN_SITE
                r = rng.random()
                L = rng.randint(1, 3) if r < 0.3 else (rng.randint(4, 10) if r < 0.7 else rng.randint(11, 40))
                if a == 1 and mode == "sequential" and first_end is not None:
                    ad.birth, ad.snaps = first_end + rng.randint(1, 4), []
                    lo, hi = max(0, ad.birth), min(self.S - 1, ad.birth + L - 1)
                    if lo > hi:
                        break
                    ad.snaps = [s for s in range(lo, hi + 1) if s in (lo, hi) or rng.random() > 0.03]
                else:
                    if a == 1:
                        ad.site = MAIN_SITE if ad.site == NORDIC_SITE else NORDIC_SITE
                    ad.birth, ad.snaps = self.life(L)
            first_end = ad.birth + L - 1
            n = len(ad.snaps)
            ad.restyle_at = rng.randint(1, n - 1) if (n >= 2 and rng.random() < 0.1) else 10**9
            # phones over time
            if nmode == "one":
                ad.obs_phones = [(numbers[0],)] * n
            elif nmode == "switch_and_second":
                if a == 0:
                    j = max(1, n // 2)
                    ad.obs_phones = [(numbers[0],) if k < j else (numbers[1],) for k in range(n)]
                else:
                    ad.obs_phones = [(numbers[1],)] * n
            elif nmode == "switch" and n >= 2:
                j = rng.randint(1, n - 1)
                ad.obs_phones = [(numbers[0],) if k < j else (numbers[1],) for k in range(n)]
            elif nmode == "split" and n_ads == 2:
                ad.obs_phones = [(numbers[a],)] * n
            elif nmode == "both" or n < 2:
                ad.obs_phones = [(numbers[0], numbers[1])] * n
            else:
                ad.obs_phones = [(numbers[a % 2],)] * n
            # cities
            if travel_person and not kind and n >= 2:
                others = [home] + rng.sample([c for c in N.CITIES if c != home], rng.randint(1, 2))
                ad.obs_city, _ = self.stops(n, others, True)
                ad.obs_city[0] = home  # the ad starts at home
                stops: list[tuple[int, int, str]] = []
                for k, c in enumerate(ad.obs_city):
                    if stops and stops[-1][2] == c:
                        stops[-1] = (stops[-1][0], k, c)
                    else:
                        stops.append((k, k, c))
                self.tours_for(ad, stops)
            else:
                ad.obs_city = [home] * n
            ad.name, ad.age = person.ad_name, person.age
            k = min(len(person.photos), rng.randint(1, 5))
            ad.imgs = [self.img_instance(ph, rng.random() < 0.75) for ph in person.photos[:k]]
            if not kind and rng.random() < 0.07:
                ad.imgs.insert(rng.randint(0, len(ad.imgs)), rng.choice(self.stock_photos))
            # text
            intro = T.intro(rng, lang, name=ad.name, age=ad.age, city=home)
            if use_bp:
                text = intro + " " + T.BOILERPLATE[bp_id]
                ad.text_ids.append(bp_id)
            else:
                text = intro + " " + T.fragments(rng, lang, rng.randint(2, 5))
            if not kind and rng.random() < 0.012:
                text = T.formula_opener(rng, city=home, handle=telegram) + text
                ad.formula = True
            ad.text = text
            ad.title_idx = T.title_template(rng)
            contact = {"whatsapp": whatsapp}
            if telegram:
                contact["telegram"] = telegram
            if sms_only:
                contact["sms_only"] = True
            ad.contact = contact
            self.styles_for(ad, sorted({p for t in ad.obs_phones for p in t}), 0.03)
            self.ads.append(ad)
        if kind == "two_numbers":
            self.traps["independent_two_numbers"] = {"person_id": person.id, "name": person.canonical,
                                                     "phones": numbers, "ads": []}

    # ------------------------------------------------------------------ traps
    def plant_public_places(self) -> None:
        """Strangers registered at the same shopping centre / phone shop."""
        rng = self.rng
        n_places = min(len(N.PUBLIC_PLACES), max(2, round(4 * math.sqrt(self.scale))))
        per_place = max(3, round(3 + 2 * math.sqrt(self.scale)))
        cands = [p for p in self.independents if p.id not in self.special_persons]
        rng.shuffle(cands)
        used: set[str] = set()
        ordinary = [net for net in self.networks if net.kind not in ("name_variants", "shared_flat")]
        out = []
        ci = 0
        for place in N.PUBLIC_PLACES[:n_places]:
            name, street, pc, city, pkind = place
            variants = N.public_place_variants(place)
            entries = []
            for _ in range(per_place):
                while ci < len(cands) and cands[ci].id in used:
                    ci += 1
                if ci >= len(cands):
                    break
                person = cands[ci]
                ci += 1
                used.add(person.id)
                phone = self.ind_phones[person.id][0]
                line = variants[0] if rng.random() < 0.6 else rng.choice(variants)
                if phone in self.listings:
                    for row in self.listings[phone]:
                        row[1], row[2], row[3] = line, pc, city.upper() if rng.random() < 0.5 else city
                else:
                    self.add_listing(phone, person, person.name.canonical, line, pc, city)
                entries.append({"phone": phone, "person_id": person.id, "name": person.canonical, "network_id": "",
                                "address_written": line})
            # one or two network numbers registered at the same place by their owners
            nets = rng.sample(ordinary, min(len(ordinary), rng.randint(1, 2)))
            for net in nets:
                cell = net.cells[0]
                phone = rng.choice(cell.phones)
                o = rng.choice(cell.owners)
                line = rng.choice(variants)
                self.add_listing(phone, o, N.random_variant(rng, o.name, _HEAVY_KINDS), line, pc, city)
                if not self.phone_info[phone]["owner_person_id"]:
                    self.phone_info[phone]["owner_person_id"] = o.id
                entries.append({"phone": phone, "person_id": o.id, "name": o.canonical, "network_id": net.id,
                                "address_written": line})
            out.append({"kind": pkind, "place": name, "address": f"{name}, {street}", "postcode": pc, "city": city,
                        "address_variants": variants, "entries": entries})
        self.traps["public_places"] = out

    # ----------------------------------------------------------------- billing
    def build_billing(self) -> None:
        rng = self.rng
        eligible = [net for net in self.networks if net.kind not in ("name_variants", "shared_flat")]
        eligible.sort(key=lambda n: (-sum(len(c.ads) for c in n.cells), n.id))
        n_bill = max(1, min(40, round(3 * self.scale)))
        days = [self.dates[0] + timedelta(days=d) for d in range((self.dates[-1] - self.dates[0]).days + 4)]
        info = []
        for net in eligible[:n_bill]:
            net.billing = True
            phones = [p for c in net.cells for p in c.phones if p.startswith("+47")]
            victims = [p for p in phones if self.phone_info[p]["owner_person_id"]
                       and self._person(self.phone_info[p]["owner_person_id"]).kind == "owner"]
            pool = victims if len(victims) >= 2 else phones
            subs_phones = rng.sample(pool, min(len(pool), rng.randint(2, 3)))
            # controllers
            controllers = []
            for k in range(2):
                region = rng.choice(["RO", "LT", "RU", "PL", "SE"]) if (k == 0 or rng.random() < 0.6) else "NO"
                cp = self.plan.random_number(region)
                person = self.new_person(self.name(male=rng.random() < 0.7), None, "controller", net.id)
                self.set_phone(cp, region, net.id, "controller", person.id)
                controllers.append((cp, rng.randint(9 * 60, 12 * 60), rng.randint(21 * 60, 23 * 60 + 30)))
            reg_person = self.new_person(self.name(male=True), self.address(N.pick_city(rng, "NO")), "customer")
            reg = self.plan.random_number("NO")
            self.set_phone(reg, "NO", "", "customer", reg_person.id)
            # customers: shared between the network's phones in part
            shared_customers = [self.plan.random_number("NO" if rng.random() < 0.93 else "SE")
                                for _ in range(rng.randint(20, 60))]
            subs = []
            for sp in subs_phones:
                own = [self.plan.random_number("NO" if rng.random() < 0.93 else "SE") for _ in range(rng.randint(60, 180))]
                customers = own + rng.sample(shared_customers, len(shared_customers) // 2)
                rng.shuffle(customers)
                length = min(len(days), rng.randint(28, 56))
                first = rng.randint(0, len(days) - length)
                d0, d1 = days[first], days[first + length - 1]
                roaming = None
                if rng.random() < 0.6 and length > 14:
                    r0 = d0 + timedelta(days=rng.randint(3, length - 11))
                    net_name, country = rng.choice(B.ROAMING_NETWORKS)
                    roaming = (r0, r0 + timedelta(days=rng.randint(3, 9)), net_name, country)
                subs.append(B.Subscriber(sp, net.id, d0, d1, rng.choice(B.HOME_NETWORKS), customers, roaming))
                for c in customers:
                    if c not in self.phone_info:
                        self.set_phone(c, PH.split_e164(c)[0], "", "customer", "")
            bn = B.BillingNetwork(net.id, subs, controllers, reg)
            self.billing_nets.append(bn)
            info.append({
                "network_id": net.id, "subscribers": [s.phone for s in subs],
                "controllers": [{"phone": c[0], "region": self.phone_info[c[0]]["region"],
                                 "times": [f"{c[1] // 60:02d}:{c[1] % 60:02d}", f"{c[2] // 60:02d}:{c[2] % 60:02d}"]}
                                for c in controllers],
                "regular_customer": {"phone": reg, "person_id": reg_person.id},
                "roaming": [{"subscriber": s.phone, "from": s.roaming[0].isoformat(), "to": s.roaming[1].isoformat(),
                             "network": s.roaming[2], "country": s.roaming[3]} for s in subs if s.roaming],
            })
        self.traps["billing"] = info
        self.traps["regular_customers"] = [
            {"phone": i["regular_customer"]["phone"], "person_id": i["regular_customer"]["person_id"],
             "network_id": i["network_id"], "subscribers": i["subscribers"]} for i in info]

    def _person(self, pid: str) -> Person:
        return self.persons[int(pid[1:]) - 1]

    # -------------------------------------------------------------- finishing
    def assign_ids(self) -> None:
        rng = self.rng
        for site in SITES:
            ads = [a for a in self.ads if a.site == site and a.snaps]
            ads.sort(key=lambda a: a.birth)  # stable: creation order breaks ties
            n = 4_810_000 if site == MAIN_SITE else 204_000
            for ad in ads:
                n += rng.randint(1, 9)
                if site == MAIN_SITE:
                    ad.ad_id = str(n)
                    ad.url = f"https://{site}/annonse/{ad.ad_id}"
                else:
                    ad.ad_id = f"NE-{n}"
                    ad.url = f"https://{site}/ad/{ad.ad_id.lower()}"
                ad.key = f"{site}:{ad.ad_id}"
        self.ads = [a for a in self.ads if a.snaps]

    def spread_stock_photos(self) -> None:
        """Make every stock photo circulate: shown by at least ``STOCK_MIN_ACTORS`` unrelated actors.

        The ads pick stock photos at random (5-7 % of them), and the number of stock photos grows
        with ``sqrt(scale)`` while the number of ads grows with ``scale``: in a small market a
        "stock" photo could land on only two strangers' ads, which is exactly what two ads of one
        actor sharing a photo look like, so the pipeline (same photo file = link) rightly joined
        the strangers. A stock photo is one that circulates among unrelated advertisers, so it is
        topped up here to ads of further actors (networks count as one actor; the special trap
        persons are left alone). Uses its own random stream, so markets in which every stock photo
        already circulates (scale 1) come out byte-identical.
        """
        rng = random.Random(f"adnet-demo-stock-photos:{self.seed}")
        actor = lambda ad: ad.network_id or ad.person_id  # noqa: E731
        by_actor: dict[str, list[Ad]] = {}
        for ad in self.ads:
            if ad.snaps and (ad.network_id or ad.person_id not in self.special_persons):
                by_actor.setdefault(actor(ad), []).append(ad)
        stock = {sha for sha, _ in self.stock_photos}
        for photo in self.stock_photos:
            users = {actor(ad) for ad in self.ads if any(sha == photo[0] for sha, _ in ad.imgs)}
            need = STOCK_MIN_ACTORS - len(users)
            if need <= 0:
                continue
            free = sorted(a for a in by_actor if a not in users)
            rng.shuffle(free)
            # prefer actors that show no stock photo yet
            free.sort(key=lambda a: any(sha in stock for ad in by_actor[a] for sha, _ in ad.imgs))
            for a in free[:need]:
                ad = rng.choice(by_actor[a])
                ad.imgs.insert(rng.randint(0, len(ad.imgs)), photo)

    def display(self, phone: str, style: PH.Style, country: str) -> str:
        key = (phone, style, country)
        raw = self._render_cache.get(key)
        if raw is None:
            raw, obf = PH.render(phone, style, country)
            self._render_cache[key] = raw
            prev = self.displays.get((raw, country))
            if prev is not None and prev[0] != phone:
                raise AssertionError(f"display {raw!r} ({country}) is ambiguous: {prev[0]} / {phone}")
            self.displays[(raw, country)] = (phone, obf)
        return raw

    def tail(self, ad: Ad, i: int) -> str:
        city = ad.obs_city[i]
        phones = ad.obs_phones[i]
        epoch = 1 if i >= ad.restyle_at else 0
        tour = ad.tours[i] if ad.tours is not None else ()
        key = (phones, city, epoch, tour)
        if key == ad.last_key:
            return ad.last_tail
        country = N.CITIES[city][0]
        d = {
            "url": ad.url, "country": country, "city": city,
            "title": T.render_title(ad.title_idx, name=ad.name, age=ad.age, city=city),
            "text": ad.text, "name": ad.name, "age": ad.age,
            "phones": [self.display(p, ad.styles[p][epoch], country) for p in phones],
            "images": [{"url": f"https://{ad.site}/media/{ad.ad_id}/{k + 1}.jpg", "sha256": sha, "phash": f"{ph:016x}"}
                       for k, (sha, ph) in enumerate(ad.imgs)],
            "tour": [{"city": c, "from": f, "to": t} for c, f, t in tour],
            "contact": ad.contact,
        }
        ad.last_key = key
        ad.last_tail = json.dumps(d, ensure_ascii=False)[1:]
        return ad.last_tail


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------

_BAD_REASONS = ("not_json", "truncated_json", "missing_ad_id", "phones_not_list", "invalid_utf8")


def _make_bad(rng: random.Random, reason: str, line: str) -> bytes:
    if reason == "not_json":
        return rng.choice([
            "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>try again</body></html>",
            "ERROR fetch failed: read timeout after 30s",
            "null, null, null",
        ]).encode("utf-8")
    if reason == "truncated_json":
        return line[: max(20, int(len(line) * rng.uniform(0.3, 0.8)))].encode("utf-8")
    d = json.loads(line)
    if reason == "missing_ad_id":
        del d["ad_id"]
        return json.dumps(d, ensure_ascii=False).encode("utf-8")
    if reason == "phones_not_list":
        d["phones"] = " / ".join(d["phones"])
        return json.dumps(d, ensure_ascii=False).encode("utf-8")
    if reason == "invalid_utf8":
        b = line.encode("utf-8")
        for ch in ("ø", "å", "æ", "ö", "ä", "é"):
            enc = ch.encode("utf-8")
            if enc in b:
                return b.replace(enc, ch.encode("latin-1"), 1)
        i = b.index(b'"text": "') + 9
        return b[:i] + b"\xff\xfe" + b[i:]
    raise ValueError(reason)


def _prepare_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    truth = data_dir / "demo-truth"
    snaps = data_dir / "snapshots"
    if snaps.exists() and any(snaps.iterdir()) and not (truth / TRUTH_MARKER).exists():
        raise FileExistsError(
            f"{snaps} holds snapshots that were not written by the demo generator; refusing to replace them")
    truth.mkdir(exist_ok=True)
    _atomic_write(truth / TRUTH_MARKER, json.dumps({"generator": "adnet_assets.demo.generator",
                                                    "status": "writing"}).encode())
    for part in ("snapshots", "directory", "billing"):
        p = data_dir / part
        if p.exists():
            shutil.rmtree(p)
    for child in sorted(truth.iterdir()):
        if child.name != TRUTH_MARKER:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def generate_market(data_dir: str | Path, *, seed: int = 7, weeks: int = 13, start: date = date(2026, 6, 1),
                    scale: float = 1.0, bad_lines: bool = True,
                    progress: Callable[[str], None] | None = None) -> MarketSummary:
    """Write a synthetic market (snapshots, directory, billing, truth) under ``data_dir``.

    Deterministic: the same arguments give byte-identical files.  Replaces the
    generated parts of an earlier demo market (snapshots/, directory/,
    billing/, demo-truth/) and leaves everything else in ``data_dir`` alone.
    """
    if scale <= 0:
        raise ValueError("scale must be > 0")
    data_dir = Path(data_dir)
    say = progress or (lambda _m: None)
    m = _Market(seed, weeks, start, scale, bad_lines, progress)
    rng = m.rng
    say(f"building actors (seed {seed}, scale {scale})")
    m.stock_photos = [m.photo() for _ in range(max(3, round(8 * math.sqrt(scale))))]
    n_ind = max(20, round(_INDEPENDENTS_PER_SCALE * scale))
    m.setup_busy_blocks(n_ind)
    m.build_networks()
    m.build_independents()
    m.plant_public_places()
    m.build_billing()
    m.assign_ids()
    m.spread_stock_photos()

    _prepare_dir(data_dir)
    truth = data_dir / "demo-truth"

    # -------------------------------------------------------------- snapshots
    by_snap: dict[tuple[str, int], list[tuple[Ad, int]]] = {}
    for ad in m.ads:
        for i, s in enumerate(ad.snaps):
            by_snap.setdefault((ad.site, s), []).append((ad, i))
    jobs = [(s, site) for s in range(m.S) for site in SITES]
    bad_plan: dict[tuple[str, int], list[str]] = {}
    if bad_lines:
        n_bad = max(5, min(40, round(8 * math.sqrt(scale))))
        reasons = list(_BAD_REASONS) + [rng.choice(_BAD_REASONS) for _ in range(n_bad - len(_BAD_REASONS))]
        for reason in reasons:
            s, site = rng.choice(jobs)
            if by_snap.get((site, s)):
                bad_plan.setdefault((site, s), []).append(reason)
    bad_records = []
    victims: set[str] = set()
    n_obs = 0
    snapshot_count = 0
    for jn, (s, site) in enumerate(jobs):
        entries = by_snap.get((site, s), [])
        if not entries:
            continue
        day = m.dates[s]
        started = datetime(day.year, day.month, day.day, 6, 0, tzinfo=timezone.utc) + timedelta(
            minutes=rng.randint(0, 90))
        sid = started.strftime("%Y-%m-%dT%H%MZ")
        snapshot_count += 1
        say(f"writing snapshot {jn + 1}/{len(jobs)} {site}/{sid} ({len(entries)} ads)")
        order = entries[:]
        rng.shuffle(order)
        gap = min(1.5, 9000.0 / max(1, len(order)))
        t = 3.0
        local = site == NORDIC_SITE
        offset_h = B.oslo_offset_hours(started.replace(tzinfo=None) + timedelta(hours=1)) if local else 0
        lines: list[str] = []
        for ad, i in order:
            t += rng.uniform(0.3, 1.7) * gap
            ts = started + timedelta(seconds=int(t))
            if local:
                ts_s = (ts + timedelta(hours=offset_h)).strftime("%Y-%m-%dT%H:%M:%S") + f"+{offset_h:02d}:00"
            else:
                ts_s = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append('{"ad_id": "' + ad.ad_id + '", "seen_at": "' + ts_s + '", ' + m.tail(ad, i))
        finished = started + timedelta(seconds=int(t) + rng.randint(5, 90))
        rel = f"snapshots/{site}/{sid}/ads.jsonl"
        reasons = bad_plan.get((site, s), [])
        if reasons:
            cands = [k for k, (ad, _i) in enumerate(order) if len(ad.snaps) >= 3 and ad.key not in victims]
            picks = rng.sample(cands, min(len(cands), len(reasons)))
            bad_at = {}
            for k, reason in zip(picks, reasons):
                bad_at[k] = _make_bad(rng, reason, lines[k])
                bad_records.append({"file": rel, "line": k + 1, "reason": reason,
                                    "ad_key": order[k][0].key})
                victims.add(order[k][0].key)
            data = b"\n".join(bad_at[k] if k in bad_at else ln.encode("utf-8") for k, ln in enumerate(lines)) + b"\n"
            n_obs += len(lines) - len(bad_at)
        else:
            data = ("\n".join(lines) + "\n").encode("utf-8")
            n_obs += len(lines)
        folder = data_dir / "snapshots" / site / sid
        _atomic_write(folder / "ads.jsonl", data)
        manifest = {
            "site": site, "snapshot_id": sid, "started_at": _iso_z(started), "finished_at": _iso_z(finished),
            "ads": len(lines),
            "files": {"ads.jsonl": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}},
        }
        _atomic_write(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        for ad, _i in order:  # release the cached JSON of ads that will not be seen again
            if _i == len(ad.snaps) - 1:
                ad.last_key, ad.last_tail = None, ""
    bad_records.sort(key=lambda r: (r["file"], r["line"]))

    # -------------------------------------------------------------- directory
    say("writing directory extracts")
    first_seen: dict[str, int] = {}
    for ad in m.ads:
        for i, t in enumerate(ad.obs_phones):
            for p in t:
                s = ad.snaps[i]
                if first_seen.get(p, 10**9) > s:
                    first_seen[p] = s
    mid = m.S // 2
    batch1, batch2 = [], []
    for phone, rows in m.listings.items():
        if phone not in first_seen:
            continue
        for row in rows:
            disp = PH.directory_display(rng, phone)
            m.displays.setdefault((disp, "NO"), (phone, False))
            out = [disp] + row[:5]
            (batch1 if first_seen[phone] <= mid else batch2).append(out)
            if first_seen[phone] <= mid and rng.random() < 0.08:  # looked up again later
                disp2 = PH.directory_display(rng, phone)
                m.displays.setdefault((disp2, "NO"), (phone, False))
                batch2.append([disp2] + row[:5])
    rng.shuffle(batch1)
    rng.shuffle(batch2)
    d1 = m.dates[mid].isoformat()
    d2 = (m.dates[-1] + timedelta(days=3)).isoformat()
    _atomic_write(data_dir / "directory" / f"lookup-{d1}.csv", _csv_bytes(DIRECTORY_HEADER, batch1))
    _atomic_write(data_dir / "directory" / f"lookup-{d2}.csv", _csv_bytes(DIRECTORY_HEADER, batch2))

    # ---------------------------------------------------------------- billing
    say("writing billing records")
    billing_files = []
    for bn in m.billing_nets:
        rows_by_sub = B.simulate(random.Random(rng.getrandbits(64)), bn)
        for sub in bn.subscribers:
            rows = rows_by_sub[sub.phone]
            name = f"{sub.phone.lstrip('+')}_{sub.first_day.isoformat()}_{sub.last_day.isoformat()}.csv"
            _atomic_write(data_dir / "billing" / name, _csv_bytes(BILLING_HEADER, rows))
            billing_files.append(name)
    (data_dir / "billing").mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ truth
    say("writing ground truth")
    summary = _write_truth(m, truth, bad_records, first_seen)
    say(f"done: {snapshot_count} snapshots, {n_obs} observations, {summary['n_ads']} ads")
    return MarketSummary(
        data_dir=data_dir, seed=seed, n_snapshots=snapshot_count, n_observations=n_obs, n_ads=summary["n_ads"],
        n_phones=summary["n_phones"], n_networks=len(m.networks), n_bad_lines=len(bad_records), truth_dir=truth,
    )


def _write_truth(m: _Market, truth: Path, bad_records: list[dict], first_seen: dict[str, int]) -> dict:
    rng = m.rng
    shown = first_seen  # phones shown in at least one ad
    # listed flags
    listed = {p for p in m.listings if p in shown}
    # networks.csv
    net_rows = []
    ads_by_net: dict[str, list[Ad]] = {}
    for ad in m.ads:
        ads_by_net.setdefault(ad.network_id, []).append(ad)
    for net in m.networks:
        phones = sorted({p for ad in ads_by_net.get(net.id, []) for t in ad.obs_phones for p in t})
        owners = sorted({r[5] for p in phones for r in m.listings.get(p, [])})
        if net.links:
            joined = "+".join(net.links) if net.kind not in ("name_variants", "shared_flat") else net.links[0]
        else:
            joined = "+".join(_evidence(m, net, ads_by_net.get(net.id, [])))
        net_rows.append([net.id, net.name, len(ads_by_net.get(net.id, [])), len(phones), len(owners),
                         len(net.cells), joined])
    _atomic_write(truth / "networks.csv", _csv_bytes(
        ["network_id", "name", "n_ads", "n_phones", "n_owners", "cells", "joined_by"], net_rows))
    # ads.csv
    ad_rows = sorted([[ad.key, ad.site, ad.ad_id, ad.network_id, ad.person_id] for ad in m.ads])
    _atomic_write(truth / "ads.csv", _csv_bytes(["ad_key", "site", "ad_id", "network_id", "person_id"], ad_rows))
    # phones.csv (every number: shown in ads, controllers, customers)
    ph_rows = []
    for p in sorted(m.phone_info):
        info = m.phone_info[p]
        if info["role"] in ("worker", "independent") and p not in shown:
            continue
        ph_rows.append([p, info["region"], info["network_id"], info["role"], info["owner_person_id"],
                        "true" if p in listed else "false", info["series_block"]])
    _atomic_write(truth / "phones.csv", _csv_bytes(
        ["phone", "region", "network_id", "role", "owner_person_id", "listed", "series_block"], ph_rows))
    # persons.csv
    per_rows = [[p.id, p.canonical, p.address.full if p.address else "", p.kind] for p in m.persons]
    _atomic_write(truth / "persons.csv", _csv_bytes(["person_id", "canonical_name", "address", "kind"], per_rows))
    # displays.csv
    disp_rows = sorted([raw, country, phone, "true" if obf else "false"]
                       for (raw, country), (phone, obf) in m.displays.items())
    _atomic_write(truth / "displays.csv", _csv_bytes(["raw", "default_country", "phone", "obfuscated"], disp_rows))
    # series_groups.csv (extra: the networks' runs of nearby numbers)
    ser_rows = [r for r in m.series_rows if r[3] in shown]
    _atomic_write(truth / "series_groups.csv", _csv_bytes(["group_id", "network_id", "cell_id", "phone"], ser_rows))

    # ------------------------------------------------------------------ traps
    traps = m.traps
    person_by_id = {p.id: p for p in m.persons}
    # homonyms: different listed people whose canonical names are identical
    by_name: dict[str, list[str]] = {}
    listed_people: dict[str, None] = {}
    for p in sorted(listed):
        for r in m.listings[p]:
            listed_people.setdefault(r[5], None)
    phones_of: dict[str, list[str]] = {}
    for q in sorted(listed):
        for pid in dict.fromkeys(r[5] for r in m.listings[q]):
            phones_of.setdefault(pid, []).append(q)
    for pid in listed_people:
        by_name.setdefault(person_by_id[pid].canonical, []).append(pid)
    homs = []
    for nm, pids in sorted(by_name.items()):
        if len(pids) < 2:
            continue
        people = [person_by_id[x] for x in pids]
        addrs = [pp.address.full if pp.address else "" for pp in people]
        if len(set(addrs)) < len(addrs):
            continue
        homs.append({"name": nm, "person_ids": pids, "addresses": addrs,
                     "kinds": [pp.kind for pp in people],
                     "phones": [phones_of.get(x, []) for x in pids],
                     "planted": nm in m.reserved_names and all(pp.kind == "independent" for pp in people)})
    homs.sort(key=lambda h: (not h["planted"], h["name"]))
    traps["homonyms"] = homs
    # chance neighbours: numbers within 10 of each other held by unrelated actors
    actor = {}
    for ad in m.ads:
        a = ad.network_id or ad.person_id
        for t in ad.obs_phones:
            for p in t:
                actor.setdefault(p, a)
    nums = sorted(actor, key=lambda p: (len(p), p))
    pairs = []
    for i, p in enumerate(nums):
        ip = int(p[1:])
        for j in range(i + 1, len(nums)):
            q = nums[j]
            if len(q) != len(p) or int(q[1:]) - ip > 10:
                break
            if actor[p] != actor[q] and PH.split_e164(p)[0] == PH.split_e164(q)[0]:
                pairs.append({"a": p, "b": q, "distance": int(q[1:]) - ip, "actor_a": actor[p], "actor_b": actor[q],
                              "series_block": PH.block_of(p)})
    traps["chance_neighbours"] = pairs
    # boilerplate texts
    bp: dict[str, list[str]] = {}
    bp_nets: dict[str, dict[str, None]] = {}
    for ad in m.ads:
        for tid in ad.text_ids:
            bp.setdefault(tid, []).append(ad.key)
            if ad.network_id:
                bp_nets.setdefault(tid, {})[ad.network_id] = None
    traps["boilerplate_texts"] = [{"text_id": k, "text": T.BOILERPLATE[k], "ad_keys": sorted(v),
                                   "networks": sorted(bp_nets.get(k, {}))}
                                  for k, v in sorted(bp.items())]
    # stock photos
    stock = {sha: ph for sha, ph in m.stock_photos}
    st: dict[str, list[str]] = {}
    for ad in m.ads:
        for sha, _ph in ad.imgs:
            if sha in stock:
                st.setdefault(sha, []).append(ad.key)
    traps["stock_photos"] = [{"sha256": sha, "phash": f"{stock[sha]:016x}", "ad_keys": sorted(set(v))}
                             for sha, v in sorted(st.items())]
    # travelling ads
    mv = []
    for ad in m.ads:
        cities = list(dict.fromkeys(ad.obs_city))
        if len(cities) > 1:
            mv.append({"ad_key": ad.key, "network_id": ad.network_id, "person_id": ad.person_id, "cities": cities})
    traps["moving_ads"] = mv
    # formula-like texts
    traps["formula_texts"] = sorted(ad.key for ad in m.ads if ad.formula)
    # the independent with two ads and two numbers
    if "independent_two_numbers" in traps:
        t2 = traps["independent_two_numbers"]
        t2["ads"] = sorted(ad.key for ad in m.ads if ad.person_id == t2["person_id"])
    # rotations (not a trap: planted network behaviour, handy for tests)
    rot = []
    for ad in m.ads:
        if ad.network_id:
            ph = list(dict.fromkeys(p for t in ad.obs_phones for p in t))
            if len(ph) >= 2 and len(ad.obs_phones) >= 2 and len({t for t in ad.obs_phones}) >= 2:
                rot.append({"ad_key": ad.key, "network_id": ad.network_id, "phones": ph})
    traps["rotations"] = rot
    traps["bad_lines"] = bad_records
    ordered = {k: traps[k] for k in (
        "public_places", "homonyms", "chance_neighbours", "boilerplate_texts", "stock_photos",
        "name_variant_networks", "shared_flat_networks", "independent_two_numbers", "moving_ads",
        "formula_texts", "regular_customers", "billing", "rotations", "bad_lines") if k in traps}
    _atomic_write(truth / "traps.json", (json.dumps(ordered, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    _atomic_write(truth / "README.md", _TRUTH_README.encode("utf-8"))
    _atomic_write(truth / TRUTH_MARKER, (json.dumps({
        "generator": "adnet_assets.demo.generator", "status": "complete", "seed": m.seed, "scale": m.scale,
        "weeks": m.weeks, "start": m.start.isoformat()}, indent=1) + "\n").encode())
    return {"n_ads": len(m.ads), "n_phones": len(shown)}


def _evidence(m: _Market, net: Network, ads: list[Ad]) -> list[str]:
    """What ties a one-cell network together, from the planted data."""
    ev = []
    if any(len({p for t in ad.obs_phones for p in t}) >= 2 for ad in ads):
        ev.append("rotation")
    shown = {p for ad in ads for t in ad.obs_phones for p in t}
    if any(sum(p in shown for p in g) >= 2 for c in net.cells for g in c.groups):
        ev.append("series")
    owner_count: dict[str, int] = {}
    for p in sorted(shown):
        for pid in {r[5] for r in m.listings.get(p, [])}:
            owner_count[pid] = owner_count.get(pid, 0) + 1
    if any(v >= 2 for v in owner_count.values()):
        ev.append("owner")
    shas: dict[str, int] = {}
    stock = {s for s, _ in m.stock_photos}
    for ad in ads:
        for sha in {s for s, _ in ad.imgs if s not in stock}:
            shas[sha] = shas.get(sha, 0) + 1
    if any(v >= 2 for v in shas.values()):
        ev.append("photo")
    handles: dict[str, int] = {}
    for ad in ads:
        h = ad.contact.get("telegram")
        if h:
            handles[h] = handles.get(h, 0) + 1
    if any(v >= 2 for v in handles.values()):
        ev.append("telegram")
    return ev


_TRUTH_README = """\
# demo-truth: the planted ground truth of the synthetic market

Written by `adnet_assets.demo.generator.generate_market`. The pipeline never reads this folder.
All people, names, addresses and numbers are invented.

* `networks.csv`  network_id,name,n_ads,n_phones,n_owners,cells,joined_by
  (joined_by: for networks of several cells, what joins the cells, e.g. `rotation+series+photo`,
  `name_variants_only`, `shared_flat_only`; for one-cell networks, the evidence inside the cell)
* `ads.csv`       ad_key,site,ad_id,network_id,person_id (network_id empty for independents)
* `phones.csv`    phone,region,network_id,role,owner_person_id,listed,series_block
  (role: worker / independent / controller / customer; series_block = E.164 prefix of the 10,000-number block)
* `persons.csv`   person_id,canonical_name,address,kind
  (kind: independent / owner / front / worker / controller / customer)
* `displays.csv`  raw,default_country,phone,obfuscated (every displayed string, ads and directory)
* `series_groups.csv` group_id,network_id,cell_id,phone (the networks' runs of nearby numbers)
* `traps.json`    every trap instance: public_places, homonyms, chance_neighbours, boilerplate_texts,
  stock_photos, name_variant_networks, shared_flat_networks, independent_two_numbers, moving_ads,
  formula_texts, regular_customers, billing, rotations, bad_lines
"""
