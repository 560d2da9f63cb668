"""billing on a generated market: the planted controllers rank on top, the regular customer below them,
and every planted roaming period is found (billing records only: no ads, no networks)."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from adnet_assets.demo.generator import generate_market
from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import load_billing
from adnet_assets.lib.billing_counterparts import build_billing_counterparts
from adnet_assets.lib.billing_roaming import build_billing_roaming

TOP = 5


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("billing-market")
    generate_market(root, seed=7, weeks=5, scale=0.5, bad_lines=False)  # two networks with billing records
    truth = json.loads((root / "demo-truth" / "traps.json").read_text(encoding="utf-8"))["billing"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    report = load_billing(con, DataLayout.at(root))
    build_billing_counterparts(con)
    build_billing_roaming(con)
    yield con, truth, report
    con.close()


def test_billing_records_load_whole(market):
    con, truth, report = market
    assert len(truth) >= 2 and report.rows_quarantined == 0 and report.rows_loaded > 1000
    assert report.subscribers == sum(len(net["subscribers"]) for net in truth)


def test_planted_controllers_rank_in_the_top_of_their_network_and_the_regular_customer_below(market):
    con, truth, _ = market
    for net in truth:
        ranked = [r[0] for r in con.execute(
            "SELECT counterpart FROM billing_counterparts WHERE list_has_any(subscribers, ?) ORDER BY rank",
            [net["subscribers"]]).fetchall()]
        controllers = [c["phone"] for c in net["controllers"]]
        for phone in controllers:
            assert phone in ranked[:TOP], (net["network_id"], phone, ranked.index(phone) + 1)
        regular = ranked.index(net["regular_customer"]["phone"])
        assert all(regular > ranked.index(phone) for phone in controllers), net["network_id"]
        roles = dict(con.execute("SELECT counterpart, role FROM billing_counterparts").fetchall())
        assert all(roles[phone] == "controller-like" for phone in controllers)
        assert roles[net["regular_customer"]["phone"]] != "controller-like"
    # overall too: the controllers are the top of the whole ranking
    all_controllers = {c["phone"] for net in truth for c in net["controllers"]}
    top = [r[0] for r in con.execute(
        "SELECT counterpart FROM billing_counterparts ORDER BY rank LIMIT ?", [len(all_controllers)]).fetchall()]
    assert set(top) == all_controllers


def test_every_planted_roaming_period_is_found(market):
    con, truth, _ = market
    planted = [r for net in truth for r in net["roaming"]]
    assert planted
    found = {(s, c, f, t) for s, c, f, t in con.execute(
        "SELECT subscriber, country, first_day, last_day FROM billing_roaming").fetchall()}
    for r in planted:
        key = (r["subscriber"], r["country"], date.fromisoformat(r["from"]), date.fromisoformat(r["to"]))
        assert key in found, key
