"""rotation_links: pairs of numbers one ad showed, with counts, switches, together and owners."""

from __future__ import annotations

import duckdb
import pytest

from adnet_assets.lib.rotation import RotationParams, build_rotation_links, skipped_ads
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import DIRECTORY_MATCHES, OBSERVATION_PHONES, ROTATION_LINKS

A, B, C, D = "+4741111111", "+4742222222", "+4743333333", "+4744444444"


def _snap(i: int) -> str:
    return f"2026-06-{i:02d}T0600Z"


def _con(rows: list[tuple[str, int, str | None]]) -> duckdb.DuckDBPyConnection:
    """observation_phones from (ad_key, snapshot day, phone) rows."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    ensure_table(con, OBSERVATION_PHONES)
    for pos, (ad, day, phone) in enumerate(rows):
        con.execute("""INSERT INTO observation_phones (ad_key, snapshot_id, seen_at, position, raw, phone, status, obfuscated)
                       VALUES (?, ?, ?, ?, ?, ?, ?, false)""",
                    [ad, _snap(day), f"2026-06-{day:02d} 06:10:00+00", pos + 1, phone or "xx",
                     phone, "valid" if phone else "unparseable"])
    return con


def _links(con) -> dict[tuple[str, str, str], dict]:
    cols = ROTATION_LINKS.column_names
    return {(r["ad_key"], r["phone_a"], r["phone_b"]): r for r in (
        dict(zip(cols, row)) for row in con.execute(f"SELECT {', '.join(cols)} FROM rotation_links").fetchall())}


def test_an_ad_cycling_three_numbers_gives_three_pairs_with_counts_and_switches():
    # s:1 shows A, B, C, A, B, C over six snapshots (inserted out of order: order comes from snapshot ids)
    cycle = {1: A, 2: B, 3: C, 4: A, 5: B, 6: C}
    con = _con([("s:1", d, cycle[d]) for d in (4, 1, 6, 2, 5, 3)])
    assert build_rotation_links(con) == 3
    links = _links(con)
    assert set(links) == {("s:1", A, B), ("s:1", A, C), ("s:1", B, C)}
    ab = links[("s:1", A, B)]
    assert (ab["n_snapshots"], ab["n_snapshots_a"], ab["n_snapshots_b"]) == (4, 2, 2)
    assert ab["n_switches"] == 3  # A, B, A, B
    assert ab["together"] is False
    assert ab["snapshot_ids"] == [_snap(1), _snap(2), _snap(4), _snap(5)]
    assert ab["first_seen"].day == 1 and ab["last_seen"].day == 5
    ac = links[("s:1", A, C)]
    assert (ac["n_snapshots"], ac["n_switches"], ac["snapshot_ids"]) == (4, 3, [_snap(1), _snap(3), _snap(4), _snap(6)])
    bc = links[("s:1", B, C)]
    assert (bc["n_snapshots"], bc["n_switches"]) == (4, 3)
    assert all(r["owners_differ"] is None for r in links.values())  # no directory_matches table


def test_switches_count_changes_only_and_two_numbers_at_once_are_together():
    con = _con([
        # s:1: A, A, B, B, A -> two switches
        ("s:1", 1, A), ("s:1", 2, A), ("s:1", 3, B), ("s:1", 4, B), ("s:1", 5, A),
        # s:2 shows C and D together throughout, then D alone
        ("s:2", 1, C), ("s:2", 1, D), ("s:2", 2, C), ("s:2", 2, D), ("s:2", 3, D),
        # s:3: A, then A and B together (a hand-over), then B: one switch
        ("s:3", 1, A), ("s:3", 2, A), ("s:3", 2, B), ("s:3", 3, B),
    ])
    build_rotation_links(con)
    links = _links(con)
    assert links[("s:1", A, B)]["n_switches"] == 2 and links[("s:1", A, B)]["together"] is False
    cd = links[("s:2", C, D)]
    assert cd["together"] is True and cd["n_switches"] == 0
    assert (cd["n_snapshots"], cd["n_snapshots_a"], cd["n_snapshots_b"]) == (3, 2, 3)
    h = links[("s:3", A, B)]
    assert h["together"] is True and h["n_switches"] == 1 and h["n_snapshots"] == 3


def test_pairs_stay_within_one_ad_and_null_phones_are_skipped():
    con = _con([
        ("s:1", 1, A), ("s:1", 2, None), ("s:1", 3, B),
        ("s:2", 1, C), ("s:2", 2, None),          # one readable number: no pair
        ("s:3", 1, None),                          # nothing readable
        ("s:4", 1, A), ("s:4", 1, A),              # the same number twice on one page
    ])
    assert build_rotation_links(con) == 1
    (row,) = _links(con).values()
    assert (row["ad_key"], row["phone_a"], row["phone_b"]) == ("s:1", A, B)
    assert row["n_snapshots"] == 2 and row["n_switches"] == 1  # the unreadable snapshot is not a switch
    assert con.execute("SELECT count(*) FROM rotation_links WHERE phone_a IS NULL OR phone_b IS NULL "
                       "OR phone_a >= phone_b").fetchall()[0][0] == 0


def test_owners_differ_from_directory_matches():
    con = _con([("s:1", 1, A), ("s:1", 2, B), ("s:1", 3, C), ("s:1", 4, D)])
    ensure_table(con, DIRECTORY_MATCHES)
    con.execute(f"""INSERT INTO directory_matches (phone, owner_id, listing_id, visibility) VALUES
        ('{A}', 'O-1', 'd:2', 'public'), ('{B}', 'O-2', 'd:3', 'public'),
        ('{C}', 'O-1', 'd:4', 'public'), ('{C}', 'O-3', 'd:5', 'public'),
        ('{D}', NULL, 'd:6', 'reserved')""")
    build_rotation_links(con)
    links = _links(con)
    assert links[("s:1", A, B)]["owners_differ"] is True    # O-1 vs O-2
    assert links[("s:1", A, C)]["owners_differ"] is False   # both registered to O-1
    assert links[("s:1", B, C)]["owners_differ"] is True    # O-2 vs {O-1, O-3}: no owner in common
    assert links[("s:1", A, D)]["owners_differ"] is None    # D's listing is reserved: owner unknown


def test_ads_with_too_many_numbers_are_skipped_and_reported():
    many = [f"+47900000{i:02d}" for i in range(6)]
    con = _con([("agg:1", 1, p) for p in many] + [("s:1", 1, A), ("s:1", 2, B)])
    said = []
    n = build_rotation_links(con, RotationParams(max_phones_per_ad=5), log=said.append)
    assert n == 1 and {k[0] for k in _links(con)} == {"s:1"}
    assert skipped_ads(con, RotationParams(max_phones_per_ad=5)) == [("agg:1", 6)]
    assert "1 ad(s) with more than 5 numbers skipped" in said[0] and "agg:1 with 6" in said[0]
    # with the default bound the six-number ad is an ordinary ad: 15 pairs
    assert build_rotation_links(con) == 16
    with pytest.raises(ValueError):
        RotationParams(max_phones_per_ad=1)


def test_rebuilding_replaces_rows():
    con = _con([("s:1", 1, A), ("s:1", 2, B)])
    assert build_rotation_links(con) == 1
    assert build_rotation_links(con) == 1
    con.execute(f"DELETE FROM observation_phones WHERE phone = '{B}'")
    assert build_rotation_links(con) == 0
