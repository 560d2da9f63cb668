"""The demo truth: what was planted, written to ``demo-truth/`` (the pipeline never reads it).

``write_truth`` writes the truth tables (networks, ads, phones, persons, displays, series groups),
``traps.json`` and a README describing them, and finally marks the truth complete. ``find_traps``
adds the traps that are found in the finished data rather than planted one by one (homonyms,
chance neighbours, boilerplate texts, stock photos, moving ads, formula texts, rotations).
``evidence`` says what ties a one-cell network together.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import phones as PH
from . import texts as T
from .files import atomic_write, csv_bytes
from .market import Market
from .model import TRUTH_MARKER, Ad, Network

#: the order of the keys of traps.json
TRAP_KEYS = (
    "public_places", "homonyms", "chance_neighbours", "boilerplate_texts", "stock_photos",
    "name_variant_networks", "shared_flat_networks", "independent_two_numbers", "moving_ads",
    "formula_texts", "regular_customers", "billing", "billing_in_ads", "rotations", "bad_lines")


def write_truth(m: Market, truth: Path, bad_records: list[dict], first_seen: dict[str, int]) -> dict:
    """Write every truth file; returns the counts of ads and shown numbers."""
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
            joined = "+".join(evidence(m, net, ads_by_net.get(net.id, [])))
        net_rows.append([net.id, net.name, len(ads_by_net.get(net.id, [])), len(phones), len(owners),
                         len(net.cells), joined])
    atomic_write(truth / "networks.csv", csv_bytes(
        ["network_id", "name", "n_ads", "n_phones", "n_owners", "cells", "joined_by"], net_rows))
    # ads.csv
    ad_rows = sorted([[ad.key, ad.site, ad.ad_id, ad.network_id, ad.person_id] for ad in m.ads])
    atomic_write(truth / "ads.csv", csv_bytes(["ad_key", "site", "ad_id", "network_id", "person_id"], ad_rows))
    # phones.csv (every number: shown in ads, controllers, customers)
    ph_rows = []
    for p in sorted(m.phone_info):
        info = m.phone_info[p]
        if info["role"] in ("worker", "independent") and p not in shown:
            continue
        ph_rows.append([p, info["region"], info["network_id"], info["role"], info["owner_person_id"],
                        "true" if p in listed else "false", info["series_block"]])
    atomic_write(truth / "phones.csv", csv_bytes(
        ["phone", "region", "network_id", "role", "owner_person_id", "listed", "series_block"], ph_rows))
    # persons.csv
    per_rows = [[p.id, p.canonical, p.address.full if p.address else "", p.kind] for p in m.persons]
    atomic_write(truth / "persons.csv", csv_bytes(["person_id", "canonical_name", "address", "kind"], per_rows))
    # displays.csv
    disp_rows = sorted([raw, country, phone, "true" if obf else "false"]
                       for (raw, country), (phone, obf) in m.displays.items())
    atomic_write(truth / "displays.csv", csv_bytes(["raw", "default_country", "phone", "obfuscated"], disp_rows))
    # series_groups.csv (extra: the networks' runs of nearby numbers)
    ser_rows = [r for r in m.series_rows if r[3] in shown]
    atomic_write(truth / "series_groups.csv", csv_bytes(["group_id", "network_id", "cell_id", "phone"], ser_rows))

    find_traps(m, listed)
    traps = m.traps
    traps["bad_lines"] = bad_records
    ordered = {k: traps[k] for k in TRAP_KEYS if k in traps}
    atomic_write(truth / "traps.json", (json.dumps(ordered, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    atomic_write(truth / "README.md", TRUTH_README.encode("utf-8"))
    atomic_write(truth / TRUTH_MARKER, (json.dumps({
        "generator": "adnet_assets.demo.generator", "status": "complete", "seed": m.seed, "scale": m.scale,
        "weeks": m.weeks, "start": m.start.isoformat()}, indent=1) + "\n").encode())
    return {"n_ads": len(m.ads), "n_phones": len(shown)}


def find_traps(m: Market, listed: set[str]) -> None:
    """Add to ``m.traps`` the traps found in the finished data (``listed``: listed numbers shown in ads)."""
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


def evidence(m: Market, net: Network, ads: list[Ad]) -> list[str]:
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


TRUTH_README = """\
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
  formula_texts, regular_customers, billing, billing_in_ads, rotations, bad_lines
  (billing_in_ads: `controller_in_network_ads`, a network's controller shown as a second number on
  that network's ads, so a strong billing link lands inside the network; `customer_in_independent_ad`,
  a network's regular customer shown as a second number on one independent's ad, a weak billing
  link that must never join her to the network. The controller's `phones.csv` row keeps its
  network; the customer's keeps role customer and no network: the independent's ad shows a number
  that is not hers)
"""
