"""The independents: one woman, one or two ads, usually one number of her own.

``build_independents`` makes the majority of the market, including the planted special persons:
homonym pairs (same name, different private addresses, nothing else in common) and the
independent with two ads and two numbers. Independents buy numbers in busy blocks (where chance
neighbours are planted), may be listed in the directory under their own name, may travel, and
may use boilerplate texts and stock photos.
"""

from __future__ import annotations

from . import names as N
from . import phones as PH
from . import texts as T
from .market import Market
from .model import INDEPENDENTS_PER_SCALE, MAIN_SITE, NORDIC_SITE, Ad


def build_independents(m: Market) -> None:
    """All independents; the first ones are the homonym pairs and the one with two numbers."""
    rng = m.rng
    n = max(20, round(INDEPENDENTS_PER_SCALE * m.scale))
    # planted homonym pairs: same name, different private addresses, nothing else in common
    n_hom = max(1, round(m.scale))
    homonym_names = []
    while len(homonym_names) < n_hom:
        nm = m.name()
        if nm.canonical not in m.reserved_names and not nm.middle:
            m.reserved_names.add(nm.canonical)
            homonym_names.append(nm)
    for i in range(n):
        if i % 5000 == 0 and i:
            m.progress(f"built {i}/{n} independents")
        special = None
        if i < 2 * n_hom:
            special = ("homonym", homonym_names[i // 2])
        elif i == 2 * n_hom:
            special = ("two_numbers", None)
        build_independent(m, special)


def build_independent(m: Market, special) -> None:
    """One independent, her numbers, listings and ads; ``special`` is None or (kind, name)."""
    rng = m.rng
    kind = special[0] if special else ""
    country = "NO" if kind else rng.choices(N.COUNTRIES, weights=[80, 9, 6, 5])[0]
    home = N.pick_city(rng, country)
    name = special[1] if kind == "homonym" else m.name()
    person = m.new_person(name, m.address(home), "independent")
    m.independents.append(person)
    if kind:
        m.special_persons.add(person.id)
    person.ad_name = name.first if rng.random() < 0.35 else rng.choice(N.AD_NAMES)
    person.age = rng.randint(19, 45)
    person.photos = [m.photo() for _ in range(rng.randint(1, 6))]
    # numbers
    n_numbers = 2 if (kind == "two_numbers" or (not kind and rng.random() < 0.15)) else 1
    numbers = []
    for _ in range(n_numbers):
        region = country if rng.random() < 0.95 else rng.choice([c for c in N.COUNTRIES if c != country])
        if not kind and rng.random() < 0.4:
            numbers.append(m.busy_number(region))
        else:
            numbers.append(m.plan.random_number(region))
    for p in numbers:
        m.set_phone(p, PH.split_e164(p)[0], "", "independent", person.id)
    m.ind_phones[person.id] = numbers
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
                    m.add_listing(p, person, nm, line, person.address.postcode, person.address.city)
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
            L = max(4, m.S - 2) if a == 0 else max(2, m.S // 2)
            ad.birth, ad.snaps = m.life(L, birth=0 if a == 0 else max(0, m.S // 3))
        else:
            if country == "NO":
                ad.site = MAIN_SITE if rng.random() < 0.85 else NORDIC_SITE
            else:
                ad.site = NORDIC_SITE if rng.random() < 0.85 else MAIN_SITE
            r = rng.random()
            L = rng.randint(1, 3) if r < 0.3 else (rng.randint(4, 10) if r < 0.7 else rng.randint(11, 40))
            if a == 1 and mode == "sequential" and first_end is not None:
                ad.birth, ad.snaps = first_end + rng.randint(1, 4), []
                lo, hi = max(0, ad.birth), min(m.S - 1, ad.birth + L - 1)
                if lo > hi:
                    break
                ad.snaps = [s for s in range(lo, hi + 1) if s in (lo, hi) or rng.random() > 0.03]
            else:
                if a == 1:
                    ad.site = MAIN_SITE if ad.site == NORDIC_SITE else NORDIC_SITE
                ad.birth, ad.snaps = m.life(L)
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
            ad.obs_city, _ = m.stops(n, others, True)
            ad.obs_city[0] = home  # the ad starts at home
            stops: list[tuple[int, int, str]] = []
            for k, c in enumerate(ad.obs_city):
                if stops and stops[-1][2] == c:
                    stops[-1] = (stops[-1][0], k, c)
                else:
                    stops.append((k, k, c))
            m.tours_for(ad, stops)
        else:
            ad.obs_city = [home] * n
        ad.name, ad.age = person.ad_name, person.age
        k = min(len(person.photos), rng.randint(1, 5))
        ad.imgs = [m.img_instance(ph, rng.random() < 0.75) for ph in person.photos[:k]]
        if not kind and rng.random() < 0.07:
            ad.imgs.insert(rng.randint(0, len(ad.imgs)), rng.choice(m.stock_photos))
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
        m.styles_for(ad, sorted({p for t in ad.obs_phones for p in t}), 0.03)
        m.ads.append(ad)
    if kind == "two_numbers":
        m.traps["independent_two_numbers"] = {"person_id": person.id, "name": person.canonical,
                                                 "phones": numbers, "ads": []}
