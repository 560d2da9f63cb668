"""Addresses: one key per building entrance across the directory's spellings; generic places never link."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adnet_assets.lib.addresses import (AddressParams, build_addresses, normalise_address, parse_address,
                                        resolve_place_prefixes)
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import ADDRESSES, DIRECTORY_LISTINGS


def listings_db(rows) -> duckdb.DuckDBPyConnection:
    """A database holding directory_listings: rows of (phone, name, address, postcode, city[, visibility])."""
    con = duckdb.connect()
    ensure_table(con, DIRECTORY_LISTINGS)
    for i, row in enumerate(rows):
        phone, name, address, postcode, city, *rest = row
        visibility = rest[0] if rest else "public"
        con.execute("""INSERT INTO directory_listings (listing_id, source, source_file, line_no, phone_raw, phone,
                       name, address, postcode, city, listed_at, visibility) VALUES (?, 'csv', 'directory/t.csv', ?, ?, ?, ?, ?, ?, ?, '2025-01-01', ?)""",
                    [f"directory/t.csv:{i + 2}", i + 2, phone, phone, name, address, postcode, city, visibility])
    return con


@pytest.mark.parametrize("spellings", [
    # one flat: case, spacing, letter, street abbreviation, unit written four ways or left out
    ["Storgata 12 B, H0201", "STORGATA 12B", "Storgata 12b", "Storgata  12 B", "Storgt. 12 B", "storgata 12 b, h0201",
     "Storgata 12B H0201", "Storgata 12B, leil. 201", "Storgate 12 B, Leilighet H0201", "Storgata 12 B (H0201)"],
    # shopping centre written around its street address
    ["Storsenteret, Torget 1", "Torget 1 (Storsenteret)", "STORSENTERET TORGET 1", "Torget 1, Storsenteret",
     "storsenteret, torget 1", "Torget 1"],
    # vei / veien / v. / vn., diacritics and their transliteration
    ["Bjørkeveien 3", "Bjoerkeveien 3", "BJØRKEVEIEN 3", "Bjørkevn. 3", "Bjørkev. 3", "Bjørkevei 3"],
    ["Dronningens gate 43 D", "Dronningens gt. 43d", "DRONNINGENS GATE 43D", "Dronningens gata 43 d"],
    ["Åsveien 8", "Aasveien 8", "ÅSVEIEN 8"],
    ["Postboks 123", "PB 123", "Boks 123", "Postbox 123", "P.b. 123"],
])
def test_spellings_of_one_place_share_a_key(spellings):
    keys = {normalise_address(s, "0150", "Oslo") for s in spellings}
    assert len(keys) == 1, keys


def test_different_places_differ():
    assert normalise_address("Storgata 12 B", "0150") != normalise_address("Storgata 12 A", "0150")
    assert normalise_address("Storgata 12", "0150") != normalise_address("Storgata 21", "0150")
    assert normalise_address("Storgata 12", "0150") != normalise_address("Storgata 12", "5003")
    assert normalise_address("Storgata 12", None, "Oslo") != normalise_address("Storgata 12", None, "Bergen")
    assert normalise_address("Parkveien 5", "0350") != normalise_address("Parkgata 5", "0350")
    assert normalise_address(None) is None and normalise_address("  ") is None


def test_key_form_and_unit_kept_apart():
    p = parse_address("Storgata 12 B, H0201", "0150", "OSLO")
    assert (p.key, p.street, p.number, p.letter, p.unit, p.postcode) == ("storgata 12b, 0150", "storgata", "12", "b", "h0201", "0150")
    assert parse_address("Storgata 12B, leil. 201", "0150").unit == "h0201"
    assert parse_address("STORGATA 12B", "0150").unit == ""
    assert parse_address("Kyrkogatan 96, lgh 1501", "215 48", "MALMÖ").unit == "lgh1501"
    assert parse_address("Vestergade 12, 2. tv", "1050").unit == "2tv"
    assert parse_address("Satamakatu 119, as. 23", "00137").unit == "as23"
    # a postcode written inside the address is used when the column is empty
    assert normalise_address("Storgata 1, 0150 Oslo") == normalise_address("Storgata 1", "0150")
    # words before the street that are not a place name stay part of the street
    assert normalise_address("Karl Johans gate 5", "0154") == "karl johans gata 5, 0154"


@settings(max_examples=60, deadline=None)
@given(street=st.sampled_from(["Storgata", "Kirkegata", "Parkveien", "Bjørkeveien", "Møllergata", "Søndre gate"]),
       number=st.integers(1, 250), letter=st.sampled_from(["", "A", "B", "c"]),
       unit=st.sampled_from(["", "H0101", "H0302"]), upper=st.booleans(), spaces=st.integers(1, 3))
def test_case_spacing_and_unit_never_change_the_key(street, number, letter, unit, upper, spaces):
    base = normalise_address(f"{street} {number}{letter}", "0150")
    written = f"{street}{' ' * spaces}{number}{' ' if letter and spaces > 1 else ''}{letter}" + (f", {unit}" if unit else "")
    assert normalise_address(written.upper() if upper else written, "0150") == base


def test_kinds_and_generic():
    rows = [
        # strangers at a shopping centre, written around the street address
        ("+4741000001", "Eva Li", "Storsenteret, Torget 1", "0154", "Oslo"),
        ("+4741000002", "Per Olsen", "Torget 1 (Storsenteret)", "0154", "OSLO"),
        # phone shops
        ("+4741000003", "Ida Berg", "Telebutikken, Kirkegata 5", "0153", "Oslo"),
        ("+4741000004", "Ola Dahl", "MOBILXPRESS GRØNLAND TØYENGATA 8", "0190", "Oslo"),
        ("+4741000005", "Siv Moe", "Tøyengata 8 (MobilXpress Grønland)", "0190", "Oslo"),
        # post office box, care-of, company
        ("+4741000006", "Tor Lie", "Postboks 77", "0101", "Oslo"),
        ("+4741000007", "Liv Hagen", "c/o Hansen, Parkveien 9", "0350", "Oslo"),
        ("+4741000008", "Jan Vik", "Vik Transport AS, Havnegata 3", "5003", "Bergen"),
        # a private flat, written three ways, with a family
        ("+4741000009", "Kari Hansen", "Storgata 12 B, H0201", "0150", "Oslo"),
        ("+4741000010", "Knut Hansen", "STORGATA 12B", "0150", "OSLO"),
        ("+4741000011", "KARI HANSEN", "Storgt. 12 b", "0150", "Oslo"),
        # five unrelated people at one door without a place name: a mail drop
        ("+4741000012", "Anna Berg", "Fjellveien 2", "5003", "Bergen"),
        ("+4741000013", "Olga Petrova", "Fjellveien 2", "5003", "Bergen"),
        ("+4741000014", "Mihai Popescu", "Fjellveien 2", "5003", "Bergen"),
        ("+4741000015", "Grace Okafor", "Fjellveien 2", "5003", "Bergen"),
        ("+4741000016", "Lucía García", "Fjellveien 2", "5003", "Bergen"),
        # "Senterveien" is a street, not a centre
        ("+4741000017", "Tone Lund", "Senterveien 3", "1000", "Oslo"),
        # reserved listings carry no address and are not read
        ("+4741000018", None, None, None, None, "reserved"),
    ]
    con = listings_db(rows)
    assert build_addresses(con) == 9
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT address_key, kind, generic, n_owners, n_phones, address, variants, reason FROM addresses").fetchall()}
    assert got["torget 1, 0154"][:4] == ("shopping_centre", True, 2, 2)
    assert "shopping centre" in got["torget 1, 0154"][6] and "storsenteret" in got["torget 1, 0154"][6]
    assert got["kirkegata 5, 0153"][:2] == ("phone_shop", True)
    assert got["toyengata 8, 0190"][:2] == ("phone_shop", True)
    assert sorted(got["toyengata 8, 0190"][5]) == ["MOBILXPRESS GRØNLAND TØYENGATA 8", "Tøyengata 8 (MobilXpress Grønland)"]
    assert got["postboks 77, 0101"][:2] == ("po_box", True)
    assert got["parkvei 9, 0350"][:2] == ("business", True) and "c/o" in got["parkvei 9, 0350"][6]
    assert got["havnegata 3, 5003"][:2] == ("business", True)
    flat = got["storgata 12b, 0150"]
    assert flat[:4] == ("private", False, 2, 3)          # 2 folded names ("kari hansen", "knut hansen"), 3 phones
    assert flat[4] == "Storgata 12 B, H0201" or flat[4] in flat[5]
    assert got["fjellvei 2, 5003"][:3] == ("shared_by_many", True, 5)
    assert "5 unrelated names" in got["fjellvei 2, 5003"][6]
    assert got["sentervei 3, 1000"][:2] == ("private", False)
    # the threshold is a parameter: six unrelated names would be needed
    build_addresses(con, AddressParams(max_owners_private=5))
    assert con.execute("SELECT kind FROM addresses WHERE address_key = 'fjellvei 2, 5003'").fetchone()[0] == "private"
    assert [c[0] for c in con.execute("DESCRIBE addresses").fetchall()] == ADDRESSES.column_names


def test_a_household_sharing_a_surname_is_not_shared_by_many():
    con = listings_db([(f"+47410000{i:02d}", f"{first} Hansen", "Nygata 3", "0160", "Oslo")
                       for i, first in enumerate(["Kari", "Knut", "Ola", "Per", "Siv", "Tor"])])
    build_addresses(con)
    assert con.execute("SELECT kind, n_owners FROM addresses").fetchall() == [("private", 6)]


def test_a_place_name_before_the_street_is_recognised_from_another_spelling():
    spellings = ["Ring & Surf, Markens gate 30", "RING & SURF MARKENS GATE 30", "Markens gate 30 (Ring & Surf)",
                 "Nedre Storgata 5", "Storgata 5"]
    parts = resolve_place_prefixes([parse_address(s, "4611") for s in spellings])
    assert [p.key for p in parts] == ["markens gata 30, 4611"] * 3 + ["nedre storgata 5, 4611", "storgata 5, 4611"]
    assert parts[1].place == "ring surf"
