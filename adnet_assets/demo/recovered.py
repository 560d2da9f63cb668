"""Network phones recovered by their legal owners: who they talked to, and their billing files.

``build_billing`` picks, in the largest networks, two or three Norwegian numbers registered to
real owners, the network's two controllers (often foreign numbers), a regular customer (the trap)
and the customers, and records them in ``Market.traps``. ``write_billing`` simulates the events
(``billing.simulate``) and writes one ``billing/<number>_<from>_<to>.csv`` per recovered phone.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from . import billing as B
from . import names as N
from . import phones as PH
from .files import atomic_write, csv_bytes
from .market import Market
from .model import BILLING_HEADER


def build_billing(m: Market) -> None:
    """Plan the recovered phones of the largest networks (``m.billing_nets``, ``m.traps['billing']``)."""
    rng = m.rng
    eligible = [net for net in m.networks if net.kind not in ("name_variants", "shared_flat")]
    eligible.sort(key=lambda n: (-sum(len(c.ads) for c in n.cells), n.id))
    n_bill = max(1, min(40, round(3 * m.scale)))
    days = [m.dates[0] + timedelta(days=d) for d in range((m.dates[-1] - m.dates[0]).days + 4)]
    info = []
    for net in eligible[:n_bill]:
        net.billing = True
        phones = [p for c in net.cells for p in c.phones if p.startswith("+47")]
        victims = [p for p in phones if m.phone_info[p]["owner_person_id"]
                   and m.person(m.phone_info[p]["owner_person_id"]).kind == "owner"]
        pool = victims if len(victims) >= 2 else phones
        subs_phones = rng.sample(pool, min(len(pool), rng.randint(2, 3)))
        # controllers
        controllers = []
        for k in range(2):
            region = rng.choice(["RO", "LT", "RU", "PL", "SE"]) if (k == 0 or rng.random() < 0.6) else "NO"
            cp = m.plan.random_number(region)
            person = m.new_person(m.name(male=rng.random() < 0.7), None, "controller", net.id)
            m.set_phone(cp, region, net.id, "controller", person.id)
            controllers.append((cp, rng.randint(9 * 60, 12 * 60), rng.randint(21 * 60, 23 * 60 + 30)))
        reg_person = m.new_person(m.name(male=True), m.address(N.pick_city(rng, "NO")), "customer")
        reg = m.plan.random_number("NO")
        m.set_phone(reg, "NO", "", "customer", reg_person.id)
        # customers: shared between the network's phones in part
        shared_customers = [m.plan.random_number("NO" if rng.random() < 0.93 else "SE")
                            for _ in range(rng.randint(20, 60))]
        subs = []
        for sp in subs_phones:
            own = [m.plan.random_number("NO" if rng.random() < 0.93 else "SE") for _ in range(rng.randint(60, 180))]
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
                if c not in m.phone_info:
                    m.set_phone(c, PH.split_e164(c)[0], "", "customer", "")
        bn = B.BillingNetwork(net.id, subs, controllers, reg)
        m.billing_nets.append(bn)
        info.append({
            "network_id": net.id, "subscribers": [s.phone for s in subs],
            "controllers": [{"phone": c[0], "region": m.phone_info[c[0]]["region"],
                             "times": [f"{c[1] // 60:02d}:{c[1] % 60:02d}", f"{c[2] // 60:02d}:{c[2] % 60:02d}"]}
                            for c in controllers],
            "regular_customer": {"phone": reg, "person_id": reg_person.id},
            "roaming": [{"subscriber": s.phone, "from": s.roaming[0].isoformat(), "to": s.roaming[1].isoformat(),
                         "network": s.roaming[2], "country": s.roaming[3]} for s in subs if s.roaming],
        })
    m.traps["billing"] = info
    m.traps["regular_customers"] = [
        {"phone": i["regular_customer"]["phone"], "person_id": i["regular_customer"]["person_id"],
         "network_id": i["network_id"], "subscribers": i["subscribers"]} for i in info]


def write_billing(m: Market, data_dir: Path) -> None:
    """One CSV per recovered phone; the events of each network from one stream drawn from ``m.rng``."""
    for bn in m.billing_nets:
        rows_by_sub = B.simulate(random.Random(m.rng.getrandbits(64)), bn)
        for sub in bn.subscribers:
            rows = rows_by_sub[sub.phone]
            name = f"{sub.phone.lstrip('+')}_{sub.first_day.isoformat()}_{sub.last_day.isoformat()}.csv"
            atomic_write(data_dir / "billing" / name, csv_bytes(BILLING_HEADER, rows))
    (data_dir / "billing").mkdir(parents=True, exist_ok=True)
