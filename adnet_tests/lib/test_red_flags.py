"""Red flags: each indicator fires on its planted case and not on the near miss; evidence, sources,
missing inputs and determinism. Small hand-made tables, no demo market."""

from __future__ import annotations

import json
import string
from dataclasses import asdict

import duckdb
import pytest

from adnet_assets.lib import red_flags as RF
from adnet_assets.lib.red_flags import (
    CATEGORIES, DISCLAIMER, ENTITY_TYPES, INDICATORS, RedFlagParams, build_red_flags, indicator_rows, run_red_flags,
)
from adnet_assets.lib.store import ensure_table, transaction
from adnet_assets.schema import (
    AD_ITINERARIES, AD_OBSERVATIONS, ADS, BILLING_COUNTERPARTS, BILLING_ROAMING, NETWORK_MEMBERS, NETWORK_MOVEMENT,
    NETWORK_TRAVEL, OBSERVATION_PHONES, PHONE_STRINGS, PHONES, PHOTO_LINKS, ROTATION_LINKS, SERIES_GROUPS,
)

ALL_TABLES = (AD_OBSERVATIONS, OBSERVATION_PHONES, PHONE_STRINGS, PHONES, ADS, ROTATION_LINKS, SERIES_GROUPS,
              PHOTO_LINKS, AD_ITINERARIES, NETWORK_MEMBERS, NETWORK_TRAVEL, NETWORK_MOVEMENT, BILLING_ROAMING,
              BILLING_COUNTERPARTS)

P_MANY = "+4790000001"      # on 3 ads under 3 names in 3 cities: fires
P_TWO = "+4790000002"       # on 3 ads under 2 names (one spelled twice) in 1 city: near miss
P_LONG = "+4790000003"      # 6 names, one very long with control characters
P_PHOTO_A, P_PHOTO_B = "+4790000010", "+4790000011"
ROT3 = ("+4791000001", "+4791000002", "+4791000003")
ROT2 = ("+4792000001", "+4792000002")
SERIES = ("+4744858133", "+4744858135", "+4744858137")
WEAK = ("+4745000001", "+4745000900")
ABROAD, HOLIDAY = "+4746808754", "+4746808755"
CTL, CUSTOMER = "+79712536884", "+4799251640"


# ------------------------------------------------------------------ building the hand-made database

def make_con(tmp_path, name="t.duckdb", tables=ALL_TABLES):
    con = duckdb.connect(str(tmp_path / name))
    con.execute("SET TimeZone = 'UTC'")
    for t in tables:
        ensure_table(con, t)
    return con


def obs(con, ad_key, day, *, phones=(), name=None, city=None, title=None, text=None, contact=None,
        obfuscated=False):
    snap = f"2026-06-{day:02d}T1000Z"
    con.execute("""INSERT INTO ad_observations (ad_key, snapshot_id, seen_at, city, name, title, text, contact)
                   VALUES (?, ?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?::JSON)""",
                [ad_key, snap, f"2026-06-{day:02d} 10:00:00+00", city, name, title, text,
                 json.dumps(contact if contact is not None else {"whatsapp": False})])
    for i, p in enumerate(phones, 1):
        if table_present(con, "observation_phones"):
            con.execute("""INSERT INTO observation_phones (ad_key, snapshot_id, seen_at, city, position, raw, phone,
                           status, obfuscated) VALUES (?, ?, ?::TIMESTAMPTZ, ?, ?, ?, ?, 'valid', ?)""",
                        [ad_key, snap, f"2026-06-{day:02d} 10:00:00+00", city, i, p, p, obfuscated])


def table_present(con, name):
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0] > 0


def derive_ads_and_phones(con):
    """ads and phones from the observations, as the pipeline would (only the columns the flags read)."""
    con.execute("""INSERT INTO ads (ad_key, phones, last_name, last_city, any_obfuscated, n_phones)
        SELECT o.ad_key,
               coalesce((SELECT list(DISTINCT phone ORDER BY phone) FROM observation_phones p WHERE p.ad_key = o.ad_key),
                        []::VARCHAR[]),
               arg_max(o.name, o.seen_at), arg_max(o.city, o.seen_at),
               coalesce((SELECT bool_or(obfuscated) FROM observation_phones p WHERE p.ad_key = o.ad_key), false), 0
        FROM ad_observations o GROUP BY o.ad_key""")
    con.execute("""INSERT INTO phones (phone, n_observations, ever_obfuscated, n_obfuscated)
        SELECT phone, count(*), bool_or(obfuscated), count(*) FILTER (WHERE obfuscated)
        FROM observation_phones GROUP BY phone""")


def rotation(con, ad_key, numbers):
    numbers = sorted(numbers)
    for i, a in enumerate(numbers):
        for b in numbers[i + 1:]:
            con.execute("INSERT INTO rotation_links (ad_key, phone_a, phone_b, n_switches, together) "
                        "VALUES (?, ?, ?, 1, false)", [ad_key, a, b])


def stays(con, ad_key, cities):
    prev = None
    for i, city in enumerate(cities, 1):
        con.execute("""INSERT INTO ad_itineraries (ad_key, stay_no, city, city_key, arrived, "left", n_snapshots,
                       moved_from, moved_from_key) VALUES (?, ?, ?, lower(?), ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, 1, ?, lower(?))""",
                    [ad_key, i, city, city, f"2026-06-{i:02d} 10:00:00+00", f"2026-06-{i:02d} 12:00:00+00", prev, prev])
        prev = city


def member(con, network_id, member_type, key):
    con.execute("INSERT INTO network_members (network_id, member_type, member_key) VALUES (?, ?, ?)",
                [network_id, member_type, key])


def flow(con, network_id, a, b, n):
    con.execute("""INSERT INTO network_travel (network_id, from_city, to_city, from_city_key, to_city_key, n_moves, n_ads)
                   VALUES (?, ?, ?, lower(?), lower(?), ?, 1)""", [network_id, a, b, a, b, n])


def plant(con):
    """Every indicator's planted case and its near miss (in one transaction: a file database commits slowly)."""
    con.execute("BEGIN TRANSACTION")
    _plant(con)
    con.execute("COMMIT")


def _plant(con):
    # one phone, many names (and cities): fires
    obs(con, "s:a1", 1, phones=[P_MANY], name="Anna", city="Oslo")
    obs(con, "s:a2", 1, phones=[P_MANY], name="Bella", city="Bergen")
    obs(con, "s:a3", 2, phones=[P_MANY], name="Cara", city="Trondheim")
    # near miss: two names ("Dina" and "DINA " fold to one), one city
    obs(con, "s:b1", 1, phones=[P_TWO], name="Dina", city="Oslo")
    obs(con, "s:b2", 1, phones=[P_TWO], name="DINA ", city="oslo")
    obs(con, "s:b3", 2, phones=[P_TWO], name="Eva", city="Oslo")
    # attacker-controlled names: six, one long with control characters
    long_name = "Zara\x07" + "x" * 100
    for i, nm in enumerate(["Fay", "Gina", "Hope", "Iris", "Jade", long_name]):
        obs(con, f"s:c{i}", 3, phones=[P_LONG], name=nm, city="Oslo")
    # obscured number: one disguised observation
    obs(con, "s:o1", 1, phones=["+4790000004"], name="Kim", city="Oslo", obfuscated=True)
    obs(con, "s:o1", 2, phones=["+4790000004"], name="Kim", city="Oslo")
    # photos: reused under another number (fires) / same number on two sites (near miss)
    obs(con, "s:p1", 1, phones=[P_PHOTO_A], name="Lea", city="Oslo")
    obs(con, "t:p2", 1, phones=[P_PHOTO_B], name="Mia", city="Oslo")
    obs(con, "s:p3", 1, phones=["+4790000012"], name="Nia", city="Oslo")
    obs(con, "t:p4", 1, phones=["+4790000012"], name="Nia", city="Oslo")
    con.execute("INSERT INTO photo_links (ad_a, ad_b, match, distance) VALUES ('s:p1', 't:p2', 'sha256', 0), "
                "('s:p3', 't:p4', 'sha256', 0)")
    # Telegram: one handle under three names (fires); one handle on two ads of one name (near miss)
    for ad, nm in (("s:h1", "Olga"), ("s:h2", "Pia"), ("s:h3", "Rita")):
        obs(con, ad, 1, name=nm, city="Oslo", contact={"whatsapp": False, "telegram": "@Ring_Boss"})
    obs(con, "s:h4", 2, name="Rita", city="Oslo", contact={"telegram": "https://t.me/ring_boss"})
    obs(con, "s:h5", 1, name="Sol", city="Oslo", contact={"telegram": "@sol1"})
    obs(con, "t:h6", 1, name="Sol", city="Oslo", contact={"telegram": "@sol1"})
    # payments
    obs(con, "s:m1", 1, name="Tia", city="Oslo", text="Depositum på Vipps før avtalen.")
    obs(con, "s:m1", 2, name="Tia", city="Oslo", text="Ring meg.")
    obs(con, "s:m2", 1, name="Una", city="Oslo", title="Ekte PayPal-jente", text="Pre-pay only, BTC ok")
    obs(con, "s:m3", 1, name="Vera", city="Oslo",
        text="Revolution in town! swishy dress, Kun avtaler på forhånd, gavekortsalg? no: depositorium")
    # travel: three stays in two cities (fires), two stays (near miss), "new in town" wording without moves
    obs(con, "s:t1", 1, name="Wenche", city="Oslo")
    stays(con, "s:t1", ["Oslo", "Bergen", "Oslo"])
    obs(con, "s:t2", 1, name="Xena", city="Oslo")
    stays(con, "s:t2", ["Oslo", "Bergen"])
    obs(con, "s:t3", 1, name="Yda", city="Oslo", title="NEW IN TOWN!!", text="Ny i byen, just arrived, new in town")
    stays(con, "s:t3", ["Oslo"])
    # rotation: three numbers on one ad (fires), two on another (near miss)
    for i, p in enumerate(ROT3, 1):
        obs(con, "s:r1", i, phones=[p], name="Zoe", city="Oslo")
    rotation(con, "s:r1", ROT3)
    for i, p in enumerate(ROT2, 1):
        obs(con, "s:r2", i, phones=[p], name="Ada", city="Oslo")
    rotation(con, "s:r2", ROT2)
    # series: a strong group (fires), a weak one (near miss)
    for p in SERIES:
        con.execute("INSERT INTO series_groups (group_id, phone, block, n_in_group, span, expected_by_chance, strength) "
                    "VALUES ('S-NO-+4744858133', ?, '+474485', 3, 4, 0.0001, 'strong')", [p])
    for p in WEAK:
        con.execute("INSERT INTO series_groups (group_id, phone, block, n_in_group, span, expected_by_chance, strength) "
                    "VALUES ('S-NO-+4745000001', ?, '+474500', 2, 899, 0.5, 'weak')", [p])
    # billing: four days abroad (fires), one day (near miss); a foreign controller and a customer
    obs(con, "s:x1", 17, phones=[ABROAD], name="Bo", city="Oslo")
    con.execute("""INSERT INTO billing_roaming (subscriber, home_country, country, period_no, first_day, last_day, n_days,
                   span_days, n_events) VALUES (?, 'NO', 'PL', 1, DATE '2026-06-16', DATE '2026-06-19', 4, 4, 40),
                   (?, 'NO', 'SE', 1, DATE '2026-06-20', DATE '2026-06-20', 1, 1, 3)""", [ABROAD, HOLIDAY])
    con.execute("""INSERT INTO billing_counterparts (counterpart, n_subscribers, score, rank, role, reason, subscribers,
                   country, foreign_number) VALUES
                   (?, 2, 0.81, 1, 'controller-like', 'texts 2 of 2 recovered phones at regular times', ?, 'RU', true),
                   (?, 1, 0.12, 2, 'customer-like', 'evening calls', ?, 'NO', false)""",
                [CTL, [ABROAD, SERIES[0]], CUSTOMER, [HOLIDAY]])
    # networks: N-1 has the planted evidence, N-2 the near misses
    for p in (P_MANY, *SERIES, ABROAD):
        member(con, "N-1", "phone", p)
    for a in ("s:r1", "s:a1", "s:t1"):
        member(con, "N-1", "ad", a)
    for p in (P_TWO, WEAK[0], HOLIDAY):
        member(con, "N-2", "phone", p)
    member(con, "N-2", "ad", "s:r2")
    flow(con, "N-1", "Oslo", "Bergen", 3)
    flow(con, "N-1", "Bergen", "Trondheim", 2)
    flow(con, "N-1", "Trondheim", "Oslo", 1)
    flow(con, "N-2", "Oslo", "Bergen", 5)
    flow(con, "N-2", "Bergen", "Oslo", 4)
    derive_ads_and_phones(con)


@pytest.fixture
def con(tmp_path):
    c = make_con(tmp_path)
    plant(c)
    yield c
    c.close()


def run(con, params=RedFlagParams()):
    """run_red_flags inside a transaction, as the asset runs it."""
    with transaction(con):
        return run_red_flags(con, params)


def build(con):
    with transaction(con):
        return build_red_flags(con)


def flagged(con, entity_type, flag):
    return {r[0] for r in con.execute("SELECT entity_key FROM red_flags WHERE entity_type = ? AND flag = ?",
                                      [entity_type, flag]).fetchall()}


def evidence(con, entity_type, flag, key):
    rows = con.execute("SELECT evidence, value FROM red_flags WHERE entity_type = ? AND flag = ? AND entity_key = ?",
                       [entity_type, flag, key]).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


# ------------------------------------------------------------------ the registry

def test_registry_lists_a_source_for_every_indicator():
    keys = [i.key for i in INDICATORS]
    assert len(keys) == len(set(keys))
    for ind in INDICATORS:
        assert ind.source.strip() and ind.description.strip() and ind.threshold.strip(), ind.flag
        assert ind.category in CATEGORIES
        assert ind.entity_types and set(ind.entity_types) <= set(ENTITY_TYPES)
        assert ind.flag == ind.flag.lower() and set(ind.flag) <= set(string.ascii_lowercase + "_")
        assert "CMM" in ind.source or "Ibanez" in ind.source or "Kejriwal" in ind.source
    rows = indicator_rows()
    assert len(rows) == len(INDICATORS)
    assert all("{" not in r["threshold"] for r in rows)
    assert any("≥ 3 distinct names" in r["threshold"] for r in rows)
    assert DISCLAIMER.startswith("Screening signals, not verdicts")
    # the brief's indicators are all there
    assert {"phone:one_phone_many_names", "phone:one_phone_many_cities", "phone:obscured_number",
            "phone:rotating_number", "phone:number_in_series", "phone:run_from_abroad", "phone:controlled_by",
            "ad:rotating_numbers", "ad:observed_travel", "ad:reused_photo", "ad:obscured_number",
            "ad:third_party_contact", "ad:payment_hint", "ad:shared_contact_number", "network:many_women_one_number",
            "network:phones_in_series", "network:id_rotation", "network:travel_circuit",
            "network:foreign_control"} <= set(keys)
    assert RF.RED_FLAGS.column_names[:5] == ["entity_type", "entity_key", "flag", "category", "evidence"]  # the columns first


def test_params_are_checked():
    with pytest.raises(ValueError):
        RedFlagParams(min_names=0)
    with pytest.raises(ValueError):
        RedFlagParams(min_stays=2.5)
    assert asdict(RedFlagParams())["min_names"] == 3


# ------------------------------------------------------------------ each indicator: planted case and near miss

def test_phone_indicators(con):
    report = run(con)
    assert report.skipped == {}
    assert flagged(con, "phone", "one_phone_many_names") == {P_MANY, P_LONG}
    assert flagged(con, "phone", "one_phone_many_cities") == {P_MANY}
    assert flagged(con, "phone", "obscured_number") == {"+4790000004"}
    assert flagged(con, "phone", "rotating_number") == set(ROT3)
    assert flagged(con, "phone", "number_in_series") == set(SERIES)
    assert flagged(con, "phone", "run_from_abroad") == {ABROAD}
    assert flagged(con, "phone", "controlled_by") == {ABROAD, SERIES[0]}
    assert flagged(con, "phone", "controller_like_number") == {CTL}


def test_ad_indicators(con):
    run(con)
    assert flagged(con, "ad", "shared_contact_number") == {"s:a1", "s:a2", "s:a3"} | {f"s:c{i}" for i in range(6)}
    assert flagged(con, "ad", "rotating_numbers") == {"s:r1"}
    assert flagged(con, "ad", "observed_travel") == {"s:t1"}
    assert flagged(con, "ad", "reused_photo") == {"s:p1", "t:p2"}
    assert flagged(con, "ad", "obscured_number") == {"s:o1"}
    assert flagged(con, "ad", "third_party_contact") == {"s:h1", "s:h2", "s:h3", "s:h4"}
    assert flagged(con, "ad", "payment_hint") == {"s:m1", "s:m2"}


def test_network_indicators(con):
    run(con)
    for flag in ("many_women_one_number", "phones_in_series", "id_rotation", "travel_circuit", "foreign_control"):
        assert flagged(con, "network", flag) == {"N-1"}, flag


def test_categories_and_sources_are_written(con):
    run(con)
    by_key = {i.key: i for i in INDICATORS}
    for entity_type, flag, category, source, note in con.execute(
            "SELECT DISTINCT entity_type, flag, category, source, note FROM red_flags").fetchall():
        ind = by_key[f"{entity_type}:{flag}"]
        assert (category, source, note) == (ind.category, ind.source, ind.note)
    assert con.execute("SELECT count(*) FROM red_flags WHERE flag = 'payment_hint' AND category = 'financial'"
                       ).fetchone()[0] == 2


# ------------------------------------------------------------------ evidence

def test_evidence_carries_the_numbers(con):
    run(con)
    text, value = evidence(con, "phone", "one_phone_many_names", P_MANY)
    assert text == f"{P_MANY} is shown on 3 ads under 3 names (Anna, Bella, Cara) in 3 cities" and value == 3
    text, value = evidence(con, "phone", "one_phone_many_cities", P_MANY)
    assert text == f"{P_MANY} is shown on 3 ads in 3 cities (Bergen, Oslo, Trondheim) under 3 names" and value == 3
    text, value = evidence(con, "ad", "rotating_numbers", "s:r1")
    assert text == f"ad s:r1 switched between 3 numbers over its life ({', '.join(ROT3)})" and value == 3
    text, value = evidence(con, "ad", "observed_travel", "s:t1")
    assert text.startswith("ad s:t1 was seen in 2 cities over 3 stays, moving 2 times: Oslo → Bergen → Oslo (2026-06-01")
    assert value == 2
    text, _ = evidence(con, "ad", "reused_photo", "s:p1")
    assert text == "ad s:p1 shares photos with 1 other ad showing none of its numbers (t:p2); 1 of them under another name"
    text, value = evidence(con, "ad", "third_party_contact", "s:h4")
    assert text == "ad s:h4 gives the Telegram contact @ring_boss, which 4 ads under 3 names give (Olga, Pia, Rita)"
    assert value == 3
    text, value = evidence(con, "ad", "obscured_number", "s:o1")
    assert text == "ad s:o1 wrote a number in disguise in 1 of 2 snapshots showing a number" and value == 1
    text, _ = evidence(con, "phone", "run_from_abroad", ABROAD)
    assert text == (f"{ABROAD} (a NO number) was on foreign networks on 4 days, 40 events: PL 2026-06-16 to 2026-06-19 "
                    "(4 days); ads showing it were seen on 1 day meanwhile (in Oslo)")
    text, value = evidence(con, "phone", "controlled_by", ABROAD)
    assert text == f"{ABROAD} was in regular contact with 1 controller-like number in the billing records: {CTL} (RU, rank 1, score 0.81)"
    assert value == pytest.approx(0.81)
    text, value = evidence(con, "network", "many_women_one_number", "N-1")
    assert text.startswith("N-1: 1 of its 5 phones are each shown on ads under 3 or more names; the most: "
                           f"{P_MANY} on 3 ads under 3 names (Anna, Bella, Cara)")
    text, value = evidence(con, "network", "phones_in_series", "N-1")
    assert text.startswith("N-1: 3 of its 5 phones lie in 1 strong series group") and value == 3
    text, value = evidence(con, "network", "travel_circuit", "N-1")
    assert text.startswith("N-1's ads moved 6 times between 3 cities (Bergen, Oslo, Trondheim); busiest: Oslo → Bergen (3)")
    assert value == 3
    text, value = evidence(con, "network", "foreign_control", "N-1")
    assert f"{ABROAD} in PL" in text and f"{CTL} (RU)" in text and value == 2


def test_names_in_evidence_are_cut_and_few(con):
    run(con)
    text, value = evidence(con, "phone", "one_phone_many_names", P_LONG)
    assert value == 6
    assert text == f"{P_LONG} is shown on 6 ads under 6 names (Fay, Gina, Hope, Iris, Jade, …) in 1 city"
    # the long name is cut where it is listed (shared_contact_number lists the same names)
    run(con, RedFlagParams(max_listed=6))
    text, _ = evidence(con, "phone", "one_phone_many_names", P_LONG)
    assert "Zara" + "x" * 25 + "…)" in text and "\x07" not in text and "x" * 27 not in text


def test_new_in_town_wording_alone_gives_no_travel_flag(con):
    run(con)
    assert "s:t3" not in flagged(con, "ad", "observed_travel")
    assert con.execute("SELECT count(*) FROM red_flags WHERE entity_key = 's:t3'").fetchone()[0] == 0


def test_payment_words_match_whole_words_only(con):
    run(con)
    text, value = evidence(con, "ad", "payment_hint", "s:m1")
    assert text == "ad s:m1's title or text mentions Vipps, deposit (in 1 of 2 snapshots)" and value == 2
    text, value = evidence(con, "ad", "payment_hint", "s:m2")
    assert text == "ad s:m2's title or text mentions PayPal, crypto, prepayment (in 1 of 1 snapshot)" and value == 3
    # "Revolution", "swishy", "på forhånd", "gavekortsalg" and "depositorium" are not payment hints
    assert "s:m3" not in flagged(con, "ad", "payment_hint")


@pytest.mark.parametrize("text,words", [
    ("Betaling med MobilePay eller Swish", ["MobilePay", "Swish"]),
    ("mobile pay ok", ["MobilePay"]),
    ("Förskottsbetalning krävs", ["prepayment"]),
    ("forskudd kreves", ["prepayment"]),
    ("Gift cards and bitcoin", ["crypto", "gift card"]),
    ("western union", ["money transfer"]),
    ("revolut.", ["Revolut"]),
    ("REVOLUTIONARY paypalish vippsen", []),
])
def test_payment_hint_words(tmp_path, text, words):
    con = make_con(tmp_path, tables=(AD_OBSERVATIONS,))
    obs(con, "s:1", 1, name="A", text=text)
    run(con)
    rows = con.execute("SELECT evidence FROM red_flags WHERE flag = 'payment_hint'").fetchall()
    if not words:
        assert rows == []
    else:
        assert rows == [(f"ad s:1's title or text mentions {', '.join(words)} (in 1 of 1 snapshot)",)]


# ------------------------------------------------------------------ missing inputs, fallbacks, determinism

def test_missing_tables_are_skipped_and_reported(tmp_path):
    con = make_con(tmp_path, tables=(AD_OBSERVATIONS,))
    obs(con, "s:m1", 1, name="Tia", text="Vipps")
    report = run(con)
    assert set(report.counts) == {"ad:third_party_contact", "ad:payment_hint"}
    assert report.counts["ad:payment_hint"] == 1 and report.n_rows == 1
    assert report.skipped["phone:run_from_abroad"] == "needs billing_roaming.subscriber and billing_roaming.n_days"
    assert report.skipped["ad:observed_travel"].startswith("needs ad_itineraries")
    assert "observation_phones with ad_observations, or ads" in report.skipped["phone:one_phone_many_names"]
    assert "network_members.member_type" in report.skipped["network:foreign_control"]
    assert len(report.skipped) + len(report.counts) == len(INDICATORS)
    # nothing at all: the table exists, empty
    empty = make_con(tmp_path, name="empty.duckdb", tables=())
    report = run(empty)
    assert report.n_rows == 0 and len(report.skipped) == len(INDICATORS)
    assert empty.execute("SELECT count(*) FROM red_flags").fetchone()[0] == 0
    assert not [r for r in empty.execute("SELECT table_name FROM information_schema.tables").fetchall()
                if r[0].startswith("_adnet_rf")]


def test_foreign_control_with_roaming_only(con):
    con.execute("DROP TABLE billing_counterparts")
    report = run(con)
    assert "network:foreign_control" not in report.skipped
    assert "phone:controlled_by" in report.skipped
    text, value = evidence(con, "network", "foreign_control", "N-1")
    assert text == f"N-1: 1 of its phones was run from abroad for 3 or more days ({ABROAD} in PL)" and value == 1


def test_names_from_ads_table_when_no_observation_phones(tmp_path):
    con = make_con(tmp_path, tables=(ADS,))
    for ad, nm in (("s:1", "Anna"), ("s:2", "Bella"), ("s:3", "Cara"), ("s:4", "Anna")):
        con.execute("INSERT INTO ads (ad_key, phones, last_name, last_city) VALUES (?, ?, ?, 'Oslo')",
                    [ad, [P_MANY], nm])
    report = run(con)
    assert report.counts["phone:one_phone_many_names"] == 1
    assert evidence(con, "phone", "one_phone_many_names", P_MANY)[0] == \
        f"{P_MANY} is shown on 4 ads under 3 names (Anna, Bella, Cara) in 1 city"
    assert flagged(con, "ad", "shared_contact_number") == {"s:1", "s:2", "s:3", "s:4"}


def test_thresholds_move_with_params(con):
    run(con, RedFlagParams(min_names=2, min_rotating_numbers=2, min_stays=2))
    assert P_TWO in flagged(con, "phone", "one_phone_many_names")
    assert "s:r2" in flagged(con, "ad", "rotating_numbers")
    assert "s:t2" in flagged(con, "ad", "observed_travel")
    assert {"s:h5", "t:h6"}.isdisjoint(flagged(con, "ad", "third_party_contact"))  # one name


def test_output_is_deterministic_and_replaced(tmp_path, con):
    n = build(con)
    first = con.execute("SELECT * FROM red_flags").fetchall()
    assert build(con) == n == len(first)
    assert con.execute("SELECT * FROM red_flags").fetchall() == first      # replaced, not appended
    assert first == sorted(first, key=lambda r: (r[0], r[1], r[2], r[3]))
    assert con.execute("SELECT count(*) FROM (SELECT DISTINCT entity_type, entity_key, flag FROM red_flags)"
                       ).fetchone()[0] == n
    # the same rows inserted in another order give the same table
    other = make_con(tmp_path, name="other.duckdb")
    plant(other)
    for t in ALL_TABLES:
        other.execute(f'CREATE OR REPLACE TABLE "{t.name}" AS SELECT * FROM "{t.name}" ORDER BY random()')
    build(other)
    assert other.execute("SELECT * FROM red_flags").fetchall() == first
    assert {r[0] for r in first} == {"ad", "phone", "network"}
