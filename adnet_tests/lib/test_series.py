"""series_groups: runs of close numbers, their strength against chance, corroboration; the demo market."""

from __future__ import annotations

import csv
import json
import random
import shutil

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adnet_assets.lib.rotation import build_rotation_links
from adnet_assets.lib.series import SeriesParams, build_series_groups, corroborate
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import DIRECTORY_MATCHES, PHONES, ROTATION_LINKS, SERIES_GROUPS

DENSITY_ONLY = SeriesParams(corroborate=False)


def _con(phones: list[str] | list[tuple[str, str | None]]) -> duckdb.DuckDBPyConnection:
    """A database with ``phones`` holding the given numbers (Norwegian unless a country is given)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    ensure_table(con, PHONES)
    rows = [p if isinstance(p, tuple) else (p, "NO") for p in phones]
    if rows:
        con.executemany("INSERT INTO phones (phone, country) VALUES (?, ?)", rows)
    return con


def _groups(con) -> dict[str, dict]:
    """group_id -> the group's row (shared columns) and its sorted phones."""
    cols = SERIES_GROUPS.column_names
    out: dict[str, dict] = {}
    for row in con.execute(f"SELECT {', '.join(cols)} FROM series_groups ORDER BY phone").fetchall():
        r = dict(zip(cols, row))
        g = out.setdefault(r["group_id"], {**r, "phones": []})
        g["phones"].append(r["phone"])
    return out


def _busy_block(block: str, n: int, keep_clear: list[int], seed: int = 1) -> list[str]:
    """``n`` seen numbers at random in ``block``, none within 15 of the positions in ``keep_clear``."""
    rng = random.Random(seed)
    out: set[int] = set()
    while len(out) < n:
        x = rng.randrange(10_000)
        if all(abs(x - k) > 15 for k in keep_clear):
            out.add(x)
    return [f"{block}{x:04d}" for x in sorted(out)]


def _rotation(con, rows: list[tuple[str, str, str]]) -> None:
    ensure_table(con, ROTATION_LINKS)
    con.executemany("INSERT INTO rotation_links (ad_key, phone_a, phone_b, n_snapshots) VALUES (?, ?, ?, 2)", rows)


# ------------------------------------------------------------------ hand-made


def test_a_run_of_three_in_an_empty_block_is_strong():
    con = _con(["+4741230100", "+4741230104", "+4741230110", "+4798765432"])
    report = build_series_groups(con, DENSITY_ONLY)
    (g,) = _groups(con).values()
    assert g["group_id"] == "S-NO-+4741230100"
    assert g["phones"] == ["+4741230100", "+4741230104", "+4741230110"]
    assert (g["country"], g["block"], g["n_in_group"], g["span"], g["block_seen"]) == ("NO", "+474123", 3, 10, 3)
    assert g["strength"] == "strong" and g["expected_by_chance"] < 1e-4
    assert g["reason"].startswith("strong: 3 numbers within 10 (+4741230100 to +4741230110)")
    assert "+474123" in g["reason"]
    assert (report.n_groups, report.n_strong, report.n_phones, report.n_skipped) == (1, 1, 3, 0)


def test_a_lone_close_pair_in_a_busy_block_is_weak_and_rotation_makes_it_strong():
    pair = ["+4745605000", "+4745605003"]
    con = _con(pair + _busy_block("+474560", 300, [5000, 5003]))
    build_series_groups(con, DENSITY_ONLY)
    g = _groups(con)["S-NO-+4745605000"]
    assert g["phones"] == pair and g["block_seen"] == 302
    assert g["strength"] == "weak" and g["expected_by_chance"] > 1
    assert "busy range" in g["reason"] and "needs other evidence" in g["reason"]

    _rotation(con, [("s:9", *pair)])
    assert corroborate(con) == 1
    g = _groups(con)["S-NO-+4745605000"]
    assert g["strength"] == "strong"
    assert g["reason"].startswith("strong (corroborated): weak by density (")
    assert "in +474560, 302 number(s) seen) but both joined by other evidence: +4745605000 and +4745605003 on ad s:9" in g["reason"]
    # the build corroborates by itself when rotation_links is there
    build_series_groups(con)
    assert _groups(con)["S-NO-+4745605000"]["strength"] == "strong"


def test_one_joined_pair_does_not_tie_in_its_chance_neighbours():
    trio = ["+4745605000", "+4745605003", "+4745605007"]
    con = _con(trio + _busy_block("+474560", 300, [5000, 5003, 5007]))
    _rotation(con, [("s:9", trio[0], trio[1])])
    report = build_series_groups(con)
    g = _groups(con)["S-NO-+4745605000"]
    assert g["n_in_group"] == 3 and g["strength"] == "weak"
    assert "2 of its 3 numbers are joined by other evidence" in g["reason"]
    assert report.n_corroborated == 0
    # once every number is joined (a chain of evidence is enough), the group is strong
    con.execute("DELETE FROM series_groups")
    _rotation(con, [("s:10", trio[1], trio[2])])
    assert build_series_groups(con).n_corroborated == 1
    assert "all 3 joined by other evidence" in _groups(con)["S-NO-+4745605000"]["reason"]


def test_the_same_owner_corroborates_but_an_unknown_owner_does_not():
    pair = ["+4745605000", "+4745605003"]
    con = _con(pair + _busy_block("+474560", 300, [5000, 5003]))
    ensure_table(con, DIRECTORY_MATCHES)
    con.execute("""INSERT INTO directory_matches (phone, owner_id, listing_id) VALUES
        ('+4745605000', NULL, 'd:1'), ('+4745605003', NULL, 'd:2')""")
    build_series_groups(con)
    assert _groups(con)["S-NO-+4745605000"]["strength"] == "weak"
    con.execute("INSERT INTO directory_matches (phone, owner_id, listing_id) VALUES "
                "('+4745605000', 'O-7', 'd:3'), ('+4745605003', 'O-7', 'd:4')")
    build_series_groups(con)
    g = _groups(con)["S-NO-+4745605000"]
    assert g["strength"] == "strong" and "registered to owner O-7" in g["reason"]


def test_numbers_across_a_block_boundary_do_not_group():
    # ...9999 and ...0000 are neighbours in the series but lie in different 10,000-blocks, which
    # operators allocate separately: the chance model is per block, so they never chain.
    con = _con(["+4741239998", "+4741239999", "+4741240000", "+4741240001"])
    build_series_groups(con, DENSITY_ONLY)
    groups = _groups(con)
    assert {k: g["phones"] for k, g in groups.items()} == {
        "S-NO-+4741239998": ["+4741239998", "+4741239999"],
        "S-NO-+4741240000": ["+4741240000", "+4741240001"]}
    assert {g["block"] for g in groups.values()} == {"+474123", "+474124"}


def test_numbers_of_different_countries_never_group():
    # Svalbard (SJ) shares Norway's calling code +47: same digits, different country
    con = _con([("+4741230100", "NO"), ("+4741230101", "SJ"), ("+4741230102", "NO"), ("+4741230104", "SJ")])
    build_series_groups(con, DENSITY_ONLY)
    groups = _groups(con)
    assert {k: (g["country"], g["phones"]) for k, g in groups.items()} == {
        "S-NO-+4741230100": ("NO", ["+4741230100", "+4741230102"]),
        "S-SJ-+4741230101": ("SJ", ["+4741230101", "+4741230104"])}
    assert all(g["block_seen"] == 2 for g in groups.values())


def test_a_gap_over_max_gap_splits():
    nums = ["+4741230100", "+4741230105", "+4741230120"]
    con = _con(nums)
    build_series_groups(con, DENSITY_ONLY)
    assert {k: g["phones"] for k, g in _groups(con).items()} == {"S-NO-+4741230100": nums[:2]}
    build_series_groups(con, SeriesParams(max_gap=20, corroborate=False))
    assert {k: g["phones"] for k, g in _groups(con).items()} == {"S-NO-+4741230100": nums}


def test_a_pair_alone_is_strong_only_when_adjacent_in_an_empty_stretch():
    con = _con(["+4741230100", "+4741230101", "+4749990100", "+4749990105"])
    build_series_groups(con, DENSITY_ONLY)
    groups = _groups(con)
    assert groups["S-NO-+4741230100"]["strength"] == "strong"
    assert groups["S-NO-+4749990100"]["strength"] == "weak"
    assert "a pair alone needs" in groups["S-NO-+4749990100"]["reason"]


def test_two_batches_near_a_busy_range_are_cut_apart_but_not_in_an_empty_block():
    a = [f"+474560{x:04d}" for x in range(2000, 2005)]
    b = [f"+474560{x:04d}" for x in range(2014, 2019)]  # 10 above a's last number
    around = [f"+474560{x:04d}" for x in range(1560, 2000, 80)] + [f"+474560{x:04d}" for x in range(2060, 2500, 80)]
    con = _con(a + b + around)
    report = build_series_groups(con, DENSITY_ONLY)
    groups = _groups(con)
    assert report.n_cuts == 1
    assert groups["S-NO-+4745602000"]["phones"] == a and groups["S-NO-+4745602014"]["phones"] == b
    assert "cut from its neighbours at a gap of 10" in groups["S-NO-+4745602014"]["reason"]
    assert all(groups[k]["strength"] == "strong" for k in ("S-NO-+4745602000", "S-NO-+4745602014"))
    # alone in their block, ten numbers apart is no coincidence: one group
    con = _con(a + b)
    assert build_series_groups(con, DENSITY_ONLY).n_cuts == 0
    assert _groups(con)["S-NO-+4745602000"]["n_in_group"] == 10


def test_phones_without_a_usable_country_are_skipped_and_rebuilds_replace():
    con = _con([("+4741230100", "NO"), ("+4741230101", None), ("+4741230102", "SE"), ("+4741230103", "NO")])
    report = build_series_groups(con, DENSITY_ONLY)
    assert report.n_skipped == 2  # no country; a Swedish region on a +47 number
    assert {k: g["phones"] for k, g in _groups(con).items()} == {"S-NO-+4741230100": ["+4741230100", "+4741230103"]}
    first = con.execute("SELECT * FROM series_groups ORDER BY phone").fetchall()
    build_series_groups(con, DENSITY_ONLY)
    assert con.execute("SELECT * FROM series_groups ORDER BY phone").fetchall() == first
    with pytest.raises(ValueError):
        SeriesParams(max_gap=0)


def test_empty_phones_give_an_empty_table():
    con = _con([])
    report = build_series_groups(con)
    assert (report.n_groups, report.n_phones, report.expected_chance_groups) == (0, 0, 0.0)
    assert con.execute("SELECT count(*) FROM series_groups").fetchall()[0][0] == 0


# ------------------------------------------------------------------ demo market


def _pairs_in_groups(rows) -> set[tuple[str, str]]:
    by_group: dict[str, list[str]] = {}
    for gid, phone in rows:
        by_group.setdefault(gid, []).append(phone)
    return {(a, b) for ps in by_group.values() for a in ps for b in ps if a < b}


def test_demo_market_series_and_rotation(demo_market, tmp_path):
    db = tmp_path / "adnet.duckdb"
    shutil.copy(demo_market.database, db)
    truth = demo_market.root / "demo-truth"
    with open(truth / "series_groups.csv", newline="") as f:
        planted_rows = list(csv.DictReader(f))
    with open(truth / "phones.csv", newline="") as f:
        network_of = {r["phone"]: r["network_id"] for r in csv.DictReader(f) if r["network_id"]}
    traps = json.loads((truth / "traps.json").read_text())
    planted = _pairs_in_groups((r["group_id"], r["phone"]) for r in planted_rows)
    chance_pairs = {(min(t["a"], t["b"]), max(t["a"], t["b"])) for t in traps["chance_neighbours"]}

    con = duckdb.connect(str(db))
    try:
        # rotation: every planted rotating ad is there, with its switches
        n_links = build_rotation_links(con)
        rot_ads = {a for (a,) in con.execute("SELECT DISTINCT ad_key FROM rotation_links").fetchall()}
        assert {r["ad_key"] for r in traps["rotations"]} <= rot_ads
        for r in traps["rotations"]:
            phones = sorted(set(r["phones"]))
            got = con.execute("SELECT phone_a, phone_b, n_switches, together FROM rotation_links WHERE ad_key = ?",
                              [r["ad_key"]]).fetchall()
            assert {(a, b) for a, b, _, _ in got} == {(a, b) for a in phones for b in phones if a < b}
            assert any(s > 0 or t for _, _, s, t in got)

        # series by density alone: no chance-neighbour trap pair ends in a strong group
        density = build_series_groups(con, DENSITY_ONLY)
        strong_density = _pairs_in_groups(con.execute(
            "SELECT group_id, phone FROM series_groups WHERE strength = 'strong'").fetchall())
        assert not (strong_density & chance_pairs), sorted(strong_density & chance_pairs)[:5]

        # with corroboration (rotation links exist now)
        report = build_series_groups(con)
        strong = _pairs_in_groups(con.execute(
            "SELECT group_id, phone FROM series_groups WHERE strength = 'strong'").fetchall())
        same_network = {(a, b) for a, b in strong if network_of.get(a) and network_of.get(a) == network_of.get(b)}
        precision = len(same_network) / len(strong)
        recall = len(strong & planted) / len(planted)
        print(f"\ndemo market (seed 7): {n_links} rotation links from {len(rot_ads)} ads; "
              f"series groups {report.n_groups} ({report.n_strong} strong, {density.n_strong} by density alone, "
              f"{report.n_corroborated} corroborated, {report.n_cuts} cut(s)), "
              f"{report.expected_chance_groups:.1f} groups expected by chance over {report.n_blocks} blocks; "
              f"strong series pairs: precision {precision:.3f} ({len(strong)} pairs), "
              f"recall {recall:.3f} of {len(planted)} planted pairs")
        assert precision >= 0.95
        assert recall >= 0.9
        assert report.n_strong >= density.n_strong
        # every strong group says why in words
        assert con.execute("SELECT count(*) FROM series_groups WHERE reason IS NULL OR reason = ''").fetchall()[0][0] == 0
    finally:
        con.close()


# ------------------------------------------------------------------ properties


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["NO", "SJ"]), st.sampled_from(["+474123", "+474124", "+479990"]),
                          st.integers(0, 9999) | st.integers(9950, 9999) | st.integers(0, 60)),
                min_size=0, max_size=40, unique_by=lambda t: (t[1], t[2])))
def test_groups_are_chains_within_one_country_and_block(numbers):
    p = SeriesParams(corroborate=False)
    con = _con([(f"{block}{x:04d}", country) for country, block, x in numbers])
    report = build_series_groups(con, p)
    groups = _groups(con)
    assert report.n_groups == len(groups) and report.n_phones == sum(len(g["phones"]) for g in groups.values())
    country_of = {f"{b}{x:04d}": c for c, b, x in numbers}
    member = {}
    for gid, g in groups.items():
        phones = g["phones"]  # sorted: same block, same length, so string order is series order
        assert len(phones) == g["n_in_group"] >= 2 and gid == f"S-{g['country']}-{phones[0]}"
        assert {country_of[x] for x in phones} == {g["country"]} and {x[:-4] for x in phones} == {g["block"]}
        assert all(0 < int(b[-4:]) - int(a[-4:]) <= p.max_gap for a, b in zip(phones, phones[1:]))
        assert g["span"] == int(phones[-1][-4:]) - int(phones[0][-4:])
        assert g["strength"] in ("strong", "weak") and g["reason"].startswith(g["strength"])
        assert g["expected_by_chance"] >= 0
        member.update({x: gid for x in phones})
    # maximal: close neighbours of one country and block share a group unless a cut says otherwise
    by_series: dict[tuple[str, str], list[int]] = {}
    for c, b, x in numbers:
        by_series.setdefault((c, b), []).append(x)
    for (c, b), xs in by_series.items():
        xs.sort()
        for lo, hi in zip(xs, xs[1:]):
            if hi - lo <= p.max_gap:
                a, z = f"{b}{lo:04d}", f"{b}{hi:04d}"
                assert a in member and z in member
                assert member[a] == member[z] or "cut from its neighbours" in groups[member[z]]["reason"]
