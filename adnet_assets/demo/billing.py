"""Synthetic billing records (call/SMS/data events) of recovered network phones.

For a few network phones "taken back by their legal owners" we write what the
operator's billing shows for the weeks the network used them:

* many customers: irregular contacts, mostly in the evening and at night;
* the network's controllers: a couple of numbers (often foreign) that talk to
  all of the network's phones every day at regular times, mostly by SMS;
* one regular customer who calls several of the network's phones often but at
  irregular evening times (a trap: many phones, but not a controller pattern);
* data sessions;
* roaming periods, where the carrying network is foreign (RO, LT, RU, ...).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

HOME_NETWORKS = ["Telenor", "Telia", "Ice"]
ROAMING_NETWORKS = [("Orange RO", "RO"), ("Vodafone RO", "RO"), ("MTS", "RU"), ("Beeline", "RU"),
                    ("Telia LT", "LT"), ("Bitė", "LT"), ("Play", "PL"), ("Tele2 LV", "LV")]


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def oslo_offset_hours(local: datetime) -> int:
    """UTC offset of Europe/Oslo (EU summer-time rule) for a local wall-clock time."""
    start = datetime.combine(_last_sunday(local.year, 3), datetime.min.time()) + timedelta(hours=2)
    end = datetime.combine(_last_sunday(local.year, 10), datetime.min.time()) + timedelta(hours=3)
    return 2 if start <= local < end else 1


def fmt_local(local: datetime) -> str:
    return f"{local:%Y-%m-%dT%H:%M:%S}+{oslo_offset_hours(local):02d}:00"


@dataclass
class Subscriber:
    phone: str
    network_id: str
    first_day: date
    last_day: date  # inclusive
    home_network: str
    customers: list[str]
    roaming: tuple[date, date, str, str] | None = None  # from, to (inclusive), network, country


@dataclass
class BillingNetwork:
    network_id: str
    subscribers: list[Subscriber]
    #: (phone, morning minute-of-day, evening minute-of-day)
    controllers: list[tuple[str, int, int]]
    regular_customer: str


def simulate(rng: random.Random, net: BillingNetwork) -> dict[str, list[list[str]]]:
    """Rows (as lists of strings, header excluded) per subscriber phone."""
    out: dict[str, list[list[str]]] = {}
    for sub in net.subscribers:
        events: list[tuple[datetime, str, str, str, int]] = []
        cum, acc = [], 0.0
        for k in range(len(sub.customers)):
            acc += 1.0 / (k + 1) ** 0.8
            cum.append(acc)
        day = sub.first_day
        while day <= sub.last_day:
            roaming = sub.roaming is not None and sub.roaming[0] <= day <= sub.roaming[1]
            midnight = datetime.combine(day, datetime.min.time())
            # --- customers: irregular, evening-heavy
            n = _poisson(rng, 2.0 if roaming else 11.0)
            for _ in range(n):
                if rng.random() < 0.75:
                    minute = rng.randint(17 * 60, 26 * 60)  # 17:00 .. 02:00 next day
                else:
                    minute = rng.randint(9 * 60, 17 * 60)
                t = midnight + timedelta(minutes=minute, seconds=rng.randint(0, 59))
                cust = rng.choices(sub.customers, cum_weights=cum)[0]
                direction = "in" if rng.random() < 0.68 else "out"
                if rng.random() < 0.55:
                    events.append((t, direction, "call", cust, int(rng.lognormvariate(4.4, 0.8))))
                else:
                    events.append((t, direction, "sms", cust, 0))
                    if rng.random() < 0.5:  # an answer a few minutes later
                        t2 = t + timedelta(seconds=rng.randint(40, 600))
                        events.append((t2, "out" if direction == "in" else "in", "sms", cust, 0))
            # --- controllers: every day, regular times, SMS-heavy
            for phone, morning, evening in net.controllers:
                for base in (morning, evening):
                    if rng.random() < 0.04:
                        continue
                    t = midnight + timedelta(minutes=base + rng.randint(-6, 6), seconds=rng.randint(0, 59))
                    events.append((t, "in", "sms", phone, 0))
                    t2 = t + timedelta(seconds=rng.randint(30, 420))
                    events.append((t2, "out", "sms", phone, 0))
                    if rng.random() < 0.25:
                        t3 = t2 + timedelta(seconds=rng.randint(60, 900))
                        events.append((t3, "out" if rng.random() < 0.5 else "in", "call", phone, rng.randint(20, 140)))
            # --- the regular customer: often, irregular, evening, calls
            if not roaming and rng.random() < 0.38:
                for _ in range(rng.choice([1, 1, 1, 2])):
                    t = midnight + timedelta(minutes=rng.randint(18 * 60, 23 * 60 + 50), seconds=rng.randint(0, 59))
                    if rng.random() < 0.8:
                        events.append((t, "out" if rng.random() < 0.15 else "in", "call",
                                       net.regular_customer, rng.randint(45, 900)))
                    else:
                        events.append((t, "in", "sms", net.regular_customer, 0))
            # --- data sessions
            for _ in range(rng.randint(2, 7)):
                t = midnight + timedelta(minutes=rng.randint(7 * 60, 25 * 60), seconds=rng.randint(0, 59))
                events.append((t, "out", "data", "", rng.randint(30, 2400)))
            day += timedelta(days=1)
        events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
        rows = []
        for t, direction, kind, counterpart, dur in events:
            roaming = sub.roaming is not None and sub.roaming[0] <= t.date() <= sub.roaming[1]
            network, country = (sub.roaming[2], sub.roaming[3]) if roaming else (sub.home_network, "NO")
            rows.append([sub.phone, fmt_local(t), direction, kind, counterpart, str(dur), network, country])
        out[sub.phone] = rows
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth; lam is small
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
