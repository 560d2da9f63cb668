"""billing_counterparts: a controller outranks a frequent customer who calls at irregular evening times."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import COLUMNS, BillingParams, load_billing
from adnet_assets.lib.billing_counterparts import billing_links_sql, build_billing_counterparts
from adnet_assets.lib.store import ensure_table, replace_table
from adnet_assets.schema import LINKS, NETWORK_MEMBERS, PHONES

SUBS = ["+4741000001", "+4741000002", "+4741000003"]
CONTROLLER = "+79001234567"       # Russian: texts every phone at about 10:30 and 22:10
REGULAR = "+4790000001"           # the trap: calls all phones often, at any evening time
ADS_CUSTOMER = "+4790000002"      # a customer whose number is also in ads
START = date(2026, 6, 1)


def _stamp(day: date, minute: int, second: int = 0) -> str:
    t = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute, seconds=second)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"


def _scenario(layout: DataLayout, subs=SUBS, days: int = 40, seed: int = 3) -> None:
    rng = random.Random(seed)
    customers = [f"+479{rng.randint(1000000, 9999999)}" for _ in range(60)]
    layout.billing.mkdir(parents=True, exist_ok=True)
    for sub in subs:
        rows = []
        for d in range(days):
            day = START + timedelta(days=d)
            for base in (10 * 60 + 30, 22 * 60 + 10):       # the controller's check-ins
                m = base + rng.randint(-8, 8)
                rows.append([sub, _stamp(day, m), "in", "sms", CONTROLLER, "0"])
                rows.append([sub, _stamp(day, m + 2), "out", "sms", CONTROLLER, "0"])
            if rng.random() < 0.45:                           # the regular customer: evening calls, any time
                rows.append([sub, _stamp(day, rng.randint(18 * 60, 23 * 60 + 50)), "in", "call", REGULAR,
                             str(rng.randint(60, 600))])
            for _ in range(rng.randint(3, 8)):                 # ordinary customers
                kind = rng.choice(["call", "sms"])
                rows.append([sub, _stamp(day, rng.randint(17 * 60, 26 * 60 - 1) % 1440), rng.choice(["in", "out"]),
                             kind, rng.choice(customers[:20]) if rng.random() < 0.5 else rng.choice(customers),
                             str(rng.randint(30, 300)) if kind == "call" else "0"])
            if d % 9 == 0:
                rows.append([sub, _stamp(day, 20 * 60 + rng.randint(0, 200)), "in", "sms", ADS_CUSTOMER, "0"])
            rows.append([sub, _stamp(day, 12 * 60), "out", "data", "", "1200"])
        lines = [",".join(COLUMNS)] + [",".join(r + ["Telenor", "NO"]) for r in rows]
        (layout.billing / f"{sub.lstrip('+')}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def con(tmp_path) -> duckdb.DuckDBPyConnection:
    layout = DataLayout.at(tmp_path)
    _scenario(layout)
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    load_billing(c, layout)
    return c


def _row(con, counterpart: str) -> dict:
    cur = con.execute("SELECT * FROM billing_counterparts WHERE counterpart = ?", [counterpart])
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


def test_controller_outranks_the_frequent_irregular_evening_customer_without_phones_or_networks(con):
    n = build_billing_counterparts(con)
    assert n == con.execute("SELECT count(DISTINCT counterpart) FROM billing_events "
                            "WHERE counterpart IS NOT NULL AND kind <> 'data'").fetchone()[0]
    ctrl, reg = _row(con, CONTROLLER), _row(con, REGULAR)
    assert ctrl["rank"] == 1 and ctrl["role"] == "controller-like"
    assert reg["rank"] > ctrl["rank"] and reg["role"] == "customer-like"
    assert reg["score"] < BillingParams().controller_score < ctrl["score"]
    # every other number ranks below the controller, and no ordinary customer is called controller-like
    assert con.execute("SELECT count(*) FROM billing_counterparts WHERE role = 'controller-like'").fetchone()[0] == 1
    # features a reader can check
    assert (ctrl["n_subscribers"], ctrl["n_group_subscribers"], ctrl["group_size"]) == (3, 3, 3)
    assert ctrl["best_group"] == "all recovered phones" and ctrl["subscriber_networks"] == []
    assert ctrl["n_days"] == 40 and ctrl["n_days_possible"] == 40
    assert ctrl["sms_share"] == 1.0 and ctrl["regularity"] > 0.9 and ctrl["country"] == "RU" and ctrl["foreign_number"]
    assert ctrl["n_contacts"] == 3 * 40 * 2  # an SMS and its answer two minutes later are one contact
    assert reg["sms_share"] == 0.0 and reg["evening_share"] == 1.0 and reg["regularity"] < 0.6
    assert not ctrl["in_ads"] and ctrl["network_ids"] == []
    # the reason, in words
    assert ctrl["reason"].startswith("texts 3 of 3 recovered phones on 40 of 40 days")
    assert "100% SMS, at regular times (10:3" in ctrl["reason"] and ", 22:1" in ctrl["reason"]
    assert ctrl["reason"].endswith("Russian number: controller-like")
    assert reg["reason"].startswith("calls 3 of 3 recovered phones")
    assert "at irregular evening/night times" in reg["reason"] and reg["reason"].endswith(": customer-like")
    # ranks are 1..n without gaps
    ranks = [r[0] for r in con.execute("SELECT rank FROM billing_counterparts ORDER BY rank").fetchall()]
    assert ranks == list(range(1, n + 1))


def test_networks_and_ads_show_in_features_and_links(con):
    ensure_table(con, PHONES)
    con.execute("INSERT INTO phones (phone, country, n_ads) VALUES (?, 'NO', 2), (?, 'RU', 1)", [ADS_CUSTOMER, CONTROLLER])
    ensure_table(con, NETWORK_MEMBERS)
    con.executemany("INSERT INTO network_members (network_id, member_type, member_key) VALUES (?, 'phone', ?)",
                    [["N-7", SUBS[0]], ["N-7", SUBS[1]], ["N-9", SUBS[2]], ["N-7", CONTROLLER]])
    build_billing_counterparts(con)
    ctrl, reg, ads = _row(con, CONTROLLER), _row(con, REGULAR), _row(con, ADS_CUSTOMER)
    assert ctrl["subscriber_networks"] == ["N-7", "N-9"]
    assert (ctrl["best_group"], ctrl["n_group_subscribers"], ctrl["group_size"]) == ("N-7", 2, 2)
    assert ctrl["in_ads"] and ctrl["n_ads"] == 1 and ctrl["network_ids"] == ["N-7"]
    assert "texts 2 of 2 recovered phones of N-7 (3 in all)" in ctrl["reason"]
    assert "itself shown in 1 ad, itself a phone of N-7: controller-like" in ctrl["reason"]
    assert ads["in_ads"] and ads["role"] == "customer-like" and ads["rank"] > ctrl["rank"] and reg["rank"] > ctrl["rank"]

    links = con.execute(f"SELECT * FROM ({billing_links_sql()}) ORDER BY a, b").fetchall()
    cols = ["kind", "a", "b", "weight", "evidence", "a_type", "b_type", "source", "strength", "for_networks"]
    links = [dict(zip(cols, r)) for r in links]
    assert len(links) == 6  # the controller and the customer in ads, each with the three phones
    assert all(lk["kind"] == "billing" and lk["a"] < lk["b"] and lk["a_type"] == lk["b_type"] == "phone" for lk in links)
    assert all(lk["a"].startswith("phone:+") and lk["b"].startswith("phone:+") for lk in links)
    strong = [lk for lk in links if f"phone:{CONTROLLER}" in (lk["a"], lk["b"])]
    weak = [lk for lk in links if f"phone:{ADS_CUSTOMER}" in (lk["a"], lk["b"])]
    assert len(strong) == len(weak) == 3
    assert all(lk["strength"] == "strong" and lk["for_networks"] and lk["weight"] == 0.7 for lk in strong)
    assert all(lk["strength"] == "weak" and lk["for_networks"] is False and lk["weight"] == 0.1 for lk in weak)
    assert all("not used to build networks" in lk["evidence"] for lk in weak)
    one = next(lk for lk in strong if f"phone:{SUBS[0]}" in (lk["a"], lk["b"]))
    assert one["source"] == f"billing_events: billing/{SUBS[0].lstrip('+')}.csv"
    assert one["evidence"].startswith(f"{CONTROLLER} is in the billing records of recovered phone {SUBS[0]}: ")
    assert "on 40 day(s), 2026-06-01 to 2026-07-10" in one["evidence"] and "controller-like (score" in one["evidence"]
    # the rows fit the links table as lib/links.py builds it
    replace_table(con, LINKS, f"SELECT * FROM ({billing_links_sql()}) AS t({', '.join(cols)})")
    assert con.execute("SELECT count(*) FROM links WHERE kind = 'billing'").fetchone()[0] == 6


def test_a_single_recovered_phone_ranks_its_controller_first(tmp_path):
    layout = DataLayout.at(tmp_path)
    _scenario(layout, subs=SUBS[:1], days=30, seed=5)
    con = duckdb.connect()
    load_billing(con, layout)
    build_billing_counterparts(con)
    ctrl, reg = _row(con, CONTROLLER), _row(con, REGULAR)
    assert ctrl["rank"] == 1 and ctrl["role"] == "controller-like" and reg["rank"] > 1
    assert ctrl["presence"] == pytest.approx(1.0)  # one phone: sharing phones says nothing, days alone count
    assert ctrl["reason"].startswith("texts 1 of 1 recovered phone on 30 of 30 days")


def test_no_events_gives_an_empty_table(tmp_path):
    con = duckdb.connect()
    load_billing(con, DataLayout.at(tmp_path))
    assert build_billing_counterparts(con) == 0
    assert con.execute(f"SELECT count(*) FROM ({billing_links_sql()})").fetchone()[0] == 0
