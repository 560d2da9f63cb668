"""The market under construction: its state and the basic draws every builder shares.

``Market`` holds the random stream (``rng``, seeded once: the order of draws is the output), the
calendar of snapshots, the number plan, every person, ad and network built so far, the truth of
every number (``phone_info``), the directory listings, the rendered displays and the recorded
traps. Its methods are the small shared draws: a new person, an unused name or address, a photo
and its re-encoded copies, an ad's life (the snapshots it is seen in), listings, display styles,
the cities an ad moves through and its tours, and the numbers: busy blocks where independents buy
(with planted chance neighbours) and the runs of nearby numbers networks buy.

The builders live in their own modules (``networks``, ``cells``, ``independents``, ``traps``,
``recovered``) as functions of a ``Market``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Callable

from . import billing as B
from . import names as N
from . import phones as PH
from .model import Ad, Network, Person


def snapshot_dates(start: date, weeks: int) -> list[date]:
    """Mondays and Thursdays in [start, start + 7*weeks)."""
    return [start + timedelta(days=d) for d in range(7 * weeks) if (start + timedelta(days=d)).weekday() in (0, 3)]


class Market:
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
        self.render_cache: dict[tuple, str] = {}
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

    def styles_for(self, ad: Ad, phones, obf_p: float, rng: random.Random | None = None) -> None:
        """How ``ad`` writes each of ``phones`` it has no style for yet (drawn from ``rng``, default ``self.rng``)."""
        rng = self.rng if rng is None else rng
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

    def person(self, pid: str) -> Person:
        return self.persons[int(pid[1:]) - 1]

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
