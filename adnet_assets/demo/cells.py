"""One cell of a planted network: its numbers, owners, workers and ads.

``build_cell`` draws a cell's route of cities, its numbers (runs of nearby numbers bought together
plus a few loose ones), the owners and front persons the numbers are registered to (with the many
spellings a directory uses, a shared owner or a shared flat for the special networks), its
workers and their photos, and its ads: ad IDs rotating through the numbers, tours, reused photos,
a shared text base and Telegram handle. ``inject_phone`` shows one more number in an ad, and
``cover_phones`` makes sure every number of a cell is shown somewhere.
"""

from __future__ import annotations

from . import names as N
from . import phones as PH
from . import texts as T
from .market import Market
from .model import HEAVY_KINDS, MAIN_SITE, NORDIC_SITE, Ad, Cell, Network, Person


def build_cell(m: Market, net: Network, ci: int, n_ads: int, *, shared_owner=None, flat=None, allow_flat=True,
               anchor=None, force_rotation=False) -> Cell:
    """Build cell ``ci`` of ``net`` with ``n_ads`` ads (see the module docstring)."""
    rng = m.rng
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
            run = m.network_run("NO", k, allow_busy=False, anchor=anchor)
        else:
            run = m.network_run(region, k, allow_busy=not special)
        first = False
        gid = f"{cell.id}-S{len(cell.groups) + 1}"
        for p in run:
            m.series_rows.append([gid, net.id, cell.id, p])
        cell.groups.append(run)
        remaining -= k
    for _ in range(n_loose):
        cell.loose.append(m.plan.random_number("NO"))
    # owners / fronts
    n_owners = rng.randint(2, max(2, min(5, 1 + n_ph // 3)))
    if shared_owner is not None:
        n_owners = max(1, n_owners - 1)
    owners: list[Person] = []
    cell_flat = None
    if allow_flat and n_owners >= 2 and rng.random() < 0.4:
        fa = m.address(rng.choice(route[:1] + N.cities_of("NO")[:3]), flat_p=0.0)
        cell_flat = N.Address(fa.street, fa.number, fa.letter or rng.choice("AB"), f"H0{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                              fa.postcode, fa.city, fa.country)
    for k in range(n_owners):
        kind = "owner" if rng.random() < 0.6 else "front"
        if flat is not None and k == 0:
            addr, kind = flat[0], "front"
        elif cell_flat is not None and k < 2:
            addr, kind = cell_flat, "front"
        else:
            addr = m.address(N.pick_city(rng, "NO"), flat_p=0.5)
        owners.append(m.new_person(m.name(male=rng.random() < 0.4), addr, kind, net.id))
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
            m.add_listing(p, so_person, nm, so_person.address.line, so_person.address.postcode, so_person.address.city)
            if so_person not in cell.owners:
                cell.owners.append(so_person)
            continue
        if flat is not None and idx % 2 == 0 and flat_queue:
            o = owners[0]
            line = flat_queue[idx // 2 % len(flat_queue)]
            m.add_listing(p, o, N.random_variant(rng, o.name, ("canonical", "upper", "swapped")), line,
                             flat[0].postcode, flat[0].city)
            continue
        pool = owners if flat is None else (owners[1:] or owners)  # never the shared owner
        o = rng.choices(pool, weights=[1.0 / (i + 1) for i in range(len(pool))])[0]
        for r in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
            nm = N.random_variant(rng, o.name, HEAVY_KINDS) if (r > 0 or rng.random() < 0.7) else o.name.canonical
            vars_ = N.address_variants(o.address)
            line = vars_[0] if rng.random() < 0.4 else rng.choice(vars_)
            m.add_listing(p, o, nm, line, o.address.postcode, o.address.city)
    for p in cell.phones:
        rows = m.listings.get(p)
        m.set_phone(p, PH.split_e164(p)[0], net.id, "worker", rows[0][5] if rows else "")
    # workers and their photos
    n_workers = max(1, round(n_ads / rng.uniform(1.6, 2.6)))
    for _ in range(n_workers):
        w = m.new_person(m.name(), None, "worker", net.id)
        w.ad_name = rng.choice(N.AD_NAMES)
        w.age = rng.randint(19, 31)
        w.photos = [m.photo() for _ in range(rng.randint(3, 8))]
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
            L = m.S
            ad.birth, ad.snaps = m.life(L, birth=0)
        else:
            L = rng.randint(2, 5) if rng.random() < 0.2 else rng.randint(6, 26)
            ad.birth, ad.snaps = m.life(L)
        n = len(ad.snaps)
        ad.restyle_at = rng.randint(1, n - 1) if (n >= 2 and rng.random() < 0.15) else 10**9
        primary = primaries[i % len(primaries)]
        others = [p for p in phones if p != primary]
        if len(phones) >= 3 and (rng.random() < 0.45 or (force_rotation and not rotated)):
            owner_of = {p: (m.listings[p][0][5] if p in m.listings else "") for p in phones}
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
        ad.obs_city, stops = m.stops(n, cities, travel)
        if travel:
            m.tours_for(ad, stops)
        ad.name, ad.age = (w.ad_name if rng.random() < 0.85 else rng.choice(N.AD_NAMES)), w.age + rng.choice([0, 0, 0, -1, 1, 2])
        # photos
        k = rng.randint(2, min(5, len(w.photos)))
        ad.imgs = [m.img_instance(ph, rng.random() < 0.65) for ph in rng.sample(w.photos, k)]
        if n_workers > 1 and rng.random() < 0.3:
            other = cell.workers[(i + 1) % n_workers]
            ad.imgs.append(m.img_instance(rng.choice(other.photos), rng.random() < 0.7))
        if rng.random() < 0.05:
            ad.imgs.append(rng.choice(m.stock_photos))
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
        m.styles_for(ad, sorted({p for t in ad.obs_phones for p in t}), 0.15)
        cell.ads.append(ad)
        m.ads.append(ad)
    cover_phones(m, cell)
    return cell


def inject_phone(m: Market, ad: Ad, phone: str, obf_p: float = 0.15) -> None:
    """Show ``phone`` in ``ad`` (instead of its number in one later sighting, or beside it)."""
    n = len(ad.snaps)
    if n >= 2:
        j = m.rng.randint(1, n - 1)
        ad.obs_phones = list(ad.obs_phones)
        ad.obs_phones[j] = (phone,)
    else:
        ad.obs_phones = [ad.obs_phones[0] + (phone,)]
    m.styles_for(ad, [phone], obf_p)


def cover_phones(m: Market, cell: Cell) -> None:
    """Make sure every number of the cell is shown in at least one ad."""
    shown = {p for ad in cell.ads for t in ad.obs_phones for p in t}
    for p in cell.phones:
        if p in shown:
            continue
        ad = max(cell.ads, key=lambda a: len(a.snaps))
        inject_phone(m, ad, p)
        shown = {q for a in cell.ads for t in a.obs_phones for q in t}
