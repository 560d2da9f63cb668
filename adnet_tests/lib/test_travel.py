"""Observed travel (ad_itineraries, network_travel), announced tours (ad_tours) and the travel SVG."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import duckdb
import pytest

from adnet_assets.lib.store import ensure_table
from adnet_assets.lib.travel import build_travel, network_flows
from adnet_assets.lib.travel_picture import network_travel_svg, svg_data_uri
from adnet_assets.schema import AD_OBSERVATIONS, NETWORK_MEMBERS


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    ensure_table(c, AD_OBSERVATIONS)
    yield c
    c.close()


def add(con, ad_key: str, cities: list, *, start_day: int = 1, tour=None) -> None:
    """One observation per snapshot, a day apart."""
    for i, city in enumerate(cities):
        day = start_day + i
        con.execute(
            "INSERT INTO ad_observations (ad_key, snapshot_id, seen_at, city, tour) VALUES (?, ?, ?::TIMESTAMPTZ, ?, ?)",
            [ad_key, f"2026-05-{day:02d}T1000Z", f"2026-05-{day:02d} 10:00:00+00", city,
             None if tour is None else json.dumps(tour)])


def stays(con, ad_key):
    return con.execute("""SELECT stay_no, city, n_snapshots, moved_from, arrived::VARCHAR, "left"::VARCHAR
                          FROM ad_itineraries WHERE ad_key = ? ORDER BY stay_no""", [ad_key]).fetchall()


def test_stays_and_moves(con):
    add(con, "s:1", ["Oslo", "Oslo", "Bergen", None, "  Bergen ", "Oslo"])
    add(con, "s:2", ["Tromsø", "TROMSO", " tromso", ""])
    add(con, "s:3", ["Oslo", "Oslo"])
    report = build_travel(con)
    assert stays(con, "s:1") == [
        (1, "Oslo", 2, None, "2026-05-01 10:00:00+00", "2026-05-02 10:00:00+00"),
        (2, "Bergen", 2, "Oslo", "2026-05-03 10:00:00+00", "2026-05-05 10:00:00+00"),
        (3, "Oslo", 1, "Bergen", "2026-05-06 10:00:00+00", "2026-05-06 10:00:00+00"),
    ]
    s2 = stays(con, "s:2")
    assert [(r[0], r[1], r[2], r[3]) for r in s2] == [(1, "Tromsø", 3, None)]
    assert con.execute("SELECT DISTINCT city_key FROM ad_itineraries WHERE ad_key = 's:2'").fetchall() == [("tromso",)]
    assert [(r[0], r[2], r[3]) for r in stays(con, "s:3")] == [(1, 2, None)]
    assert (report.n_ads, report.n_ads_moved, report.n_moves, report.n_stays) == (3, 1, 2, 5)
    # no network_members: an empty network_travel, every ad counted as in no network
    assert report.networks_found is False
    assert con.execute("SELECT count(*) FROM network_travel").fetchone()[0] == 0
    assert report.no_network.n_ads == 3 and report.no_network.n_moved == 1


def test_variant_spellings_do_not_make_moves(con):
    add(con, "s:1", ["Tromsø", "Oslo", "TROMSO", "tromso"])
    build_travel(con)
    assert [(r[0], r[1], r[2], r[3]) for r in stays(con, "s:1")] == [
        (1, "Tromsø", 1, None), (2, "Oslo", 1, "Tromsø"), (3, "TROMSO", 2, "Oslo")]


def test_network_travel(con):
    add(con, "s:a", ["Oslo", "Bergen"])
    add(con, "s:b", ["OSLO", "bergen", "Oslo"], start_day=3)
    add(con, "s:c", ["Oslo", "Bergen"])          # moves, but in no network
    add(con, "s:d", ["Trondheim"])               # in the network, never moves
    add(con, "s:e", ["Oslo"])                    # in no network, never moves
    ensure_table(con, NETWORK_MEMBERS)
    con.executemany("INSERT INTO network_members (network_id, member_type, member_key) VALUES (?, ?, ?)",
                    [("n1", "ad", "s:a"), ("n1", "ad", "s:b"), ("n1", "ad", "s:d"), ("n1", "phone", "+4790000000")])
    report = build_travel(con)
    rows = con.execute("""SELECT network_id, from_city, to_city, n_moves, n_ads, first_move::VARCHAR, last_move::VARCHAR
                          FROM network_travel ORDER BY ALL""").fetchall()
    assert rows == [
        ("n1", "Bergen", "Oslo", 1, 1, "2026-05-05 10:00:00+00", "2026-05-05 10:00:00+00"),
        ("n1", "Oslo", "Bergen", 2, 2, "2026-05-02 10:00:00+00", "2026-05-04 10:00:00+00"),
    ]
    assert report.n_flows == 2
    assert report.by_network["n1"].n_ads == 3 and report.by_network["n1"].n_moved == 2
    assert report.by_network["n1"].share == pytest.approx(2 / 3)
    assert (report.no_network.n_ads, report.no_network.n_moved) == (2, 1)
    assert network_flows(con, "n1") == [("Oslo", "Bergen", 2), ("Bergen", "Oslo", 1)]
    # how often the network's ads move: 2 of its 3 ads, 3 moves, over 3 cities
    assert con.execute("SELECT * FROM network_movement").fetchall() == [("n1", 3, 2, pytest.approx(2 / 3), 3, 3)]


def test_tours(con):
    tour = [{"city": "Bergen", "from": "2026-06-01", "to": "2026-06-03"},
            {"city": "Stavanger", "from": "2026-13-45", "to": "2026-06-10"},    # bad date -> NULL
            {"from": "2026-06-01"},                                              # no city: skipped
            {"city": "  ", "from": "2026-06-01"},                                # blank city: skipped
            {"city": 42},                                                        # not a string: skipped
            "Trondheim"]                                                         # not an object: skipped
    add(con, "s:1", ["Oslo", "Oslo"], tour=tour)        # announced twice: one row
    add(con, "s:2", ["Oslo"], tour={"city": "Bergen"})  # not a list: nothing
    con.execute("INSERT INTO ad_observations (ad_key, snapshot_id, seen_at, city) VALUES ('s:3', 'x', now(), 'Oslo')")
    report = build_travel(con)
    rows = con.execute("""SELECT ad_key, city, city_key, from_date::VARCHAR, to_date::VARCHAR, first_announced::VARCHAR
                          FROM ad_tours ORDER BY ALL""").fetchall()
    assert rows == [
        ("s:1", "Bergen", "bergen", "2026-06-01", "2026-06-03", "2026-05-01 10:00:00+00"),
        ("s:1", "Stavanger", "stavanger", None, "2026-06-10", "2026-05-01 10:00:00+00"),
    ]
    assert report.n_tour_stops == 2
    # announcements are not moves
    assert report.n_moves == 0


def test_rebuild_replaces_and_missing_observations(con):
    add(con, "s:1", ["Oslo", "Bergen"])
    build_travel(con)
    build_travel(con)
    assert con.execute("SELECT count(*) FROM ad_itineraries").fetchone()[0] == 2
    empty = duckdb.connect()
    report = build_travel(empty)
    assert report.n_stays == 0
    assert empty.execute("SELECT count(*) FROM ad_itineraries").fetchone()[0] == 0


def test_svg_escapes_is_xml_and_deterministic():
    flows = [("Oslo", "<script>alert('x')</script>", 3), ("<script>alert('x')</script>", "Oslo", 1),
             ("Bergen & \"Co\"\x00\x07", "Oslo", 10)]
    svg = network_travel_svg(flows, "Network <b>&</b> \x1b[31m")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp;" in svg and "&quot;" in svg
    assert "\x00" not in svg and "\x07" not in svg and "\x1b" not in svg
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<script>alert('x')</script>" in texts and "10" in texts
    assert network_travel_svg(list(flows), "Network <b>&</b> \x1b[31m") == svg
    # widths grow with n_moves
    widths = {ln.find("{http://www.w3.org/2000/svg}title").text: float(ln.get("stroke-width"))
              for ln in root.iter("{http://www.w3.org/2000/svg}line")}
    assert widths['Bergen & "Co" → Oslo: 10'] > widths["Oslo → <script>alert('x')</script>: 3"]
    uri = svg_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == svg


def test_svg_without_flows_is_valid():
    svg = network_travel_svg([], "empty")
    ET.fromstring(svg)
    assert "no observed moves" in svg
