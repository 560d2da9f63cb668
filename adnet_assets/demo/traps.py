"""Traps planted across actors: shared public addresses, stock photos, billing numbers in ads.

``plant_public_places`` registers independents (and one or two network numbers) at the same
shopping centre or phone shop; ``spread_stock_photos`` makes every stock photo circulate among
enough unrelated actors to be recognisable as stock; ``plant_billing_in_ads`` shows two numbers
of the billing records in ads: a network's controller as a booking number on that network's own
ads (a strong billing link inside the network) and a network's regular customer as a friend's
booking number on an unrelated independent's ad (a weak billing link that must never merge her
into the network). (The other traps are planted where the actors are built, or found in the
finished data when the truth is written: see ``truth``.)
"""

from __future__ import annotations

import math
import random

from . import names as N
from .market import Market
from .model import HEAVY_KINDS, STOCK_MIN_ACTORS, Ad, Person


def plant_public_places(m: Market) -> None:
    """Strangers registered at the same shopping centre / phone shop."""
    rng = m.rng
    n_places = min(len(N.PUBLIC_PLACES), max(2, round(4 * math.sqrt(m.scale))))
    per_place = max(3, round(3 + 2 * math.sqrt(m.scale)))
    cands = [p for p in m.independents if p.id not in m.special_persons]
    rng.shuffle(cands)
    used: set[str] = set()
    ordinary = [net for net in m.networks if net.kind not in ("name_variants", "shared_flat")]
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
            phone = m.ind_phones[person.id][0]
            line = variants[0] if rng.random() < 0.6 else rng.choice(variants)
            if phone in m.listings:
                for row in m.listings[phone]:
                    row[1], row[2], row[3] = line, pc, city.upper() if rng.random() < 0.5 else city
            else:
                m.add_listing(phone, person, person.name.canonical, line, pc, city)
            entries.append({"phone": phone, "person_id": person.id, "name": person.canonical, "network_id": "",
                            "address_written": line})
        # one or two network numbers registered at the same place by their owners
        nets = rng.sample(ordinary, min(len(ordinary), rng.randint(1, 2)))
        for net in nets:
            cell = net.cells[0]
            phone = rng.choice(cell.phones)
            o = rng.choice(cell.owners)
            line = rng.choice(variants)
            m.add_listing(phone, o, N.random_variant(rng, o.name, HEAVY_KINDS), line, pc, city)
            if not m.phone_info[phone]["owner_person_id"]:
                m.phone_info[phone]["owner_person_id"] = o.id
            entries.append({"phone": phone, "person_id": o.id, "name": o.canonical, "network_id": net.id,
                            "address_written": line})
        out.append({"kind": pkind, "place": name, "address": f"{name}, {street}", "postcode": pc, "city": city,
                    "address_variants": variants, "entries": entries})
    m.traps["public_places"] = out


def spread_stock_photos(m: Market) -> None:
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
    rng = random.Random(f"adnet-demo-stock-photos:{m.seed}")
    actor = lambda ad: ad.network_id or ad.person_id  # noqa: E731
    by_actor: dict[str, list[Ad]] = {}
    for ad in m.ads:
        if ad.snaps and (ad.network_id or ad.person_id not in m.special_persons):
            by_actor.setdefault(actor(ad), []).append(ad)
    stock = {sha for sha, _ in m.stock_photos}
    for photo in m.stock_photos:
        users = {actor(ad) for ad in m.ads if any(sha == photo[0] for sha, _ in ad.imgs)}
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


def plant_billing_in_ads(m: Market) -> None:
    """Show a controller and a regular customer of the billing records in ads; record both in
    ``m.traps['billing_in_ads']``.

    a. In one network with billing records, one of its controllers' numbers is added as a second
       contact number (a booking number) to one or two of that network's ads, in every sighting.
       The pipeline sees a number shown in ads that is controller-like in the billing records of
       the network's recovered phones: a strong billing link, inside the network it belongs to.
    b. One network's regular customer (many contacts with several of its phones, but at irregular
       evening times: customer-like) is added as a second contact number to the one ad of an
       ordinary independent with one number (a friend who takes her bookings). The billing link
       between her ad's number and the network's recovered phones is weak and must never merge her
       into the network.

    Runs after ``assign_ids`` (the ads have their keys) and draws from its own random stream, so
    everything else in the market is the same as without it. Numbers keep their truth: the
    controller is a phone of its network (``phones.csv``), the customer a customer of no network
    whose number one independent shows.
    """
    if not m.billing_nets:
        return
    rng = random.Random(f"adnet-demo-billing-in-ads:{m.seed}")
    ads_of: dict[str, list[Ad]] = {}
    for ad in m.ads:
        ads_of.setdefault(ad.network_id or ad.person_id, []).append(ad)

    def show(ad: Ad, phone: str, obf_p: float) -> None:
        ad.obs_phones = [t if phone in t else t + (phone,) for t in ad.obs_phones]
        m.styles_for(ad, [phone], obf_p, rng)

    out: dict = {}
    # a. a controller's number on its own network's ads
    bn = rng.choice(m.billing_nets)
    controller = rng.choice(bn.controllers)[0]
    net_ads = sorted(ads_of.get(bn.network_id, []), key=lambda a: a.key)
    chosen = sorted(rng.sample(net_ads, min(len(net_ads), rng.randint(1, 2))), key=lambda a: a.key)
    for ad in chosen:
        show(ad, controller, 0.15)
    if chosen:
        out["controller_in_network_ads"] = {
            "network_id": bn.network_id, "controller_phone": controller,
            "subscribers": [s.phone for s in bn.subscribers], "ad_keys": [ad.key for ad in chosen],
            "expected": "strong billing links between the controller and the network's recovered phones, "
                        "inside the network"}
    # b. a regular customer's number on an unrelated independent's ad
    bn = rng.choice(m.billing_nets)
    customer = bn.regular_customer
    at_places = {e["person_id"] for p in m.traps.get("public_places", []) for e in p["entries"]}

    def ordinary(p: Person, min_snaps: int) -> bool:
        # one number, one ad seen at least min_snaps times (a bad line never hides every sighting of an
        # ad seen 3 times), no other trap role
        ads = ads_of.get(p.id, [])
        return (p.id not in m.special_persons and p.id not in at_places and len(m.ind_phones[p.id]) == 1
                and len(ads) == 1 and len(ads[0].snaps) >= min_snaps
                and {q for t in ads[0].obs_phones for q in t} == set(m.ind_phones[p.id]))

    cands = [p for p in m.independents if ordinary(p, 3)] or [p for p in m.independents if ordinary(p, 1)]
    if cands:
        person = rng.choice(cands)
        ad = ads_of[person.id][0]
        show(ad, customer, 0.03)
        out["customer_in_independent_ad"] = {
            "customer_phone": customer, "customer_person_id": m.phone_info[customer]["owner_person_id"],
            "regular_customer_of": bn.network_id, "subscribers": [s.phone for s in bn.subscribers],
            "independent_person_id": person.id, "independent_phones": list(m.ind_phones[person.id]),
            "ad_key": ad.key,
            "expected": "weak billing links only (for_networks false); the independent stays out of every network"}
    m.traps["billing_in_ads"] = out
