"""The planted networks: how many, of which kind and size, and what links their cells.

``build_networks`` plans the networks of a market (a big one of several cells, one tied only by
an owner's name spelled many ways, one tied only by a shared flat, a small one, and ordinary ones
of random size) and builds each from cells (``cells.build_cell``). ``link_cells`` plants the
evidence between two cells of one network: a number rotated into the other cell's ad, numbers
bought in the same series, a reused photo, a shared owner, a shared flat or a Telegram handle.
The special networks record their truth in ``Market.traps``.
"""

from __future__ import annotations

import math

from . import names as N
from . import phones as PH
from . import texts as T
from .cells import build_cell, inject_phone
from .market import Market
from .model import CODENAMES, HEAVY_KINDS, NETWORKS_PER_SCALE, Cell, Network


def build_networks(m: Market) -> None:
    """Plan and build every planted network of the market (``m.networks``)."""
    rng = m.rng
    n_net = max(4, round(NETWORKS_PER_SCALE * m.scale))
    f = min(1.0, max(0.25, math.sqrt(m.scale)))
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
        cname = CODENAMES[i % len(CODENAMES)] + ("" if i < len(CODENAMES) else f" {i // len(CODENAMES) + 1}")
        net = Network(nid, f"Ring {cname}", kind, nordic)
        m.networks.append(net)
        build_network(m, net, size, n_cells)
        if (i + 1) % 50 == 0:
            m.progress(f"built {i + 1}/{len(specs)} networks")


def build_network(m: Market, net: Network, size: int, n_cells: int) -> None:
    """Build ``net``'s cells (``size`` ads in all) and plant the evidence between them."""
    rng = m.rng
    sizes = [size // n_cells + (1 if c < size % n_cells else 0) for c in range(n_cells)]
    special = net.kind in ("name_variants", "shared_flat")
    if net.kind == "name_variants":
        owner_name = m.name()
        while not N.has_diacritics(owner_name.last) or len(owner_name.last) < 5:
            owner_name = N.PersonName(owner_name.first, rng.choice([s for s in N.SURNAMES if N.has_diacritics(s) and len(s) >= 5]))
        m.reserved_names.add(owner_name.canonical)
        shared = m.new_person(owner_name, m.address(N.pick_city(rng, "NO"), flat_p=0.3), "owner", net.id)
        kinds_a = ["canonical", "double_space", "transposed", "missing_letter", "ascii"]
        kinds_b = ["upper_swapped", "initial", "comma", "ascii_oe", "initial_nodot"]
        c1 = build_cell(m, net, 0, sizes[0], shared_owner=(shared, kinds_a), allow_flat=False)
        c2 = build_cell(m, net, 1, sizes[1], shared_owner=(shared, kinds_b), allow_flat=False)
        net.cells = [c1, c2]
        net.links = ["name_variants_only"]
        variants = sorted({row[0] for c in net.cells for p in c.phones for row in m.listings.get(p, [])
                           if row[5] == shared.id})
        m.traps.setdefault("name_variant_networks", []).append({
            "network_id": net.id, "owner_person_id": shared.id, "canonical_name": shared.canonical,
            "address": shared.address.full, "variants": variants,
            "cells": {c.id: sorted({row[0] for p in c.phones for row in m.listings.get(p, []) if row[5] == shared.id})
                      for c in net.cells},
            "phones": sorted(p for c in net.cells for p in c.phones if any(r[5] == shared.id for r in m.listings.get(p, []))),
        })
        return
    if net.kind == "shared_flat":
        flat = m.address(N.pick_city(rng, "NO"), flat_p=0.0)
        flat = N.Address(flat.street, flat.number, flat.letter or rng.choice("ABC"), f"H0{rng.randint(1, 5)}0{rng.randint(1, 4)}",
                         flat.postcode, flat.city, flat.country)
        variants = N.address_variants(flat)
        va = variants[0]
        vb = variants[1]
        c1 = build_cell(m, net, 0, sizes[0], flat=(flat, [va]), allow_flat=False)
        c2 = build_cell(m, net, 1, sizes[1], flat=(flat, [vb, variants[-1]]), allow_flat=False)
        net.cells = [c1, c2]
        net.links = ["shared_flat_only"]
        flat_people = [o for c in net.cells for o in c.owners if o.address is flat]
        m.traps.setdefault("shared_flat_networks", []).append({
            "network_id": net.id, "address": flat.full,
            "address_variants": sorted({row[1] for c in net.cells for p in c.phones for row in m.listings.get(p, [])
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
        cells.append(build_cell(m, net, c, sizes[c], anchor=anchor, allow_flat=not special,
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
            if link_cells(m, net, a, b, k) and k not in net.links:
                net.links.append(k)


def link_cells(m: Market, net: Network, a: Cell, b: Cell, kind: str) -> bool:
    """Plant one ``kind`` of evidence between cells ``a`` and ``b``; False when it could not be planted."""
    rng = m.rng
    if kind == "rotation":
        cands = [ad for ad in b.ads if len(ad.snaps) >= 3] or b.ads
        inject_phone(m, rng.choice(cands), rng.choice(a.phones))
    elif kind == "series":
        # numbers of cell b bought right after a run of cell a, in the same block
        block = PH.block_of(a.groups[0][-1])
        last = max(int(p[-4:]) for p in a.phones + b.phones if PH.block_of(p) == block)
        if last > 9960:
            return net.kind == "big"  # (the big network's cells are anchored anyway)
        run = m.network_run("NO", 3, allow_busy=False, anchor=(block, last))
        gid = f"{b.id}-S{len(b.groups) + 1}"
        for p in run:
            m.series_rows.append([gid, net.id, b.id, p])
            m.set_phone(p, PH.split_e164(p)[0], net.id, "worker", "")
        b.groups.append(run)
        for p in run:
            inject_phone(m, rng.choice(b.ads), p)
    elif kind == "photo":
        src = rng.choice(a.workers).photos
        ad = rng.choice(b.ads)
        ad.imgs.append(m.img_instance(rng.choice(src), True))
    elif kind == "owner":
        o = rng.choice([o for o in a.owners if o.name is not None])
        p = rng.choice(b.phones)
        for _ in range(rng.randint(1, 2)):
            m.add_listing(p, o, N.random_variant(rng, o.name, HEAVY_KINDS), rng.choice(N.address_variants(o.address)),
                             o.address.postcode, o.address.city)
        if not m.phone_info[p]["owner_person_id"]:
            m.phone_info[p]["owner_person_id"] = o.id
        b.owners.append(o)
    elif kind == "flat":
        fa = m.address(N.pick_city(rng, "NO"), flat_p=0.0)
        flat = N.Address(fa.street, fa.number, fa.letter or "B", f"H0{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                         fa.postcode, fa.city, fa.country)
        variants = N.address_variants(flat)
        for cell, line in ((a, variants[0]), (b, rng.choice(variants[1:]))):
            front = m.new_person(m.name(male=rng.random() < 0.5), flat, "front", net.id)
            p = rng.choice(cell.phones)
            m.add_listing(p, front, N.random_variant(rng, front.name, ("canonical", "upper", "swapped")), line,
                             flat.postcode, flat.city)
            if not m.phone_info[p]["owner_person_id"]:
                m.phone_info[p]["owner_person_id"] = front.id
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
