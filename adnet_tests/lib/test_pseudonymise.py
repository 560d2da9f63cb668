"""Pseudonymisation for shared exports: keyed hashes, the registry, text scrubbing, the shared tables."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re

import duckdb
import pytest

from adnet_assets.lib import excel_export, ftm_export, graph_export, network_picture, xmind_export
from adnet_assets.lib import pseudonymise as ps
from adnet_assets.lib.pseudonymise import (EXPORT_TABLES, EXTRA_SOURCES, KEY_ENV, REGISTRY, WITHHELD, Pseudonymiser,
                                           PseudonymCollision, PseudonymKeyError, TextScrubber,
                                           build_pseudonymised_tables, key_fingerprint, key_from_env)
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import TABLES

KEY = b"a test key, not a real one: 0123456789"
OTHER_KEY = b"another test key, not real either 42"
PSEUDONYM = re.compile(r"(?:phone|person|name|address|ad|adname|photo|contact|block)-[0-9a-f]{12}")


# ------------------------------------------------------------------ the hash and the key

def test_pseudonym_is_hmac_sha256_of_kind_and_value_stable_per_key_and_different_across_keys():
    p = Pseudonymiser(KEY)
    expected = hmac.new(KEY, b"phone:+4741234567", hashlib.sha256).hexdigest()[:12]
    assert p.pseudonym("phone", "+4741234567") == f"phone-{expected}"
    assert Pseudonymiser(KEY).pseudonym("phone", "+4741234567") == p.pseudonym("phone", "+4741234567")
    assert Pseudonymiser(OTHER_KEY).pseudonym("phone", "+4741234567") != p.pseudonym("phone", "+4741234567")
    # the kind is part of the message: an owner id and an ad id that are equal strings stay unlinkable
    assert p.pseudonym("person", "X-1")[7:] != p.pseudonym("ad", "X-1")[3:]
    assert p.pseudonym("phone", None) is None
    assert KEY.decode() not in repr(p) and p.fingerprint in repr(p)
    with pytest.raises(ValueError, match="unknown identifier kind"):
        p.pseudonym("city", "Oslo")


def test_names_hash_one_spelling_however_it_is_spaced_or_composed_but_each_spelling_apart():
    p = Pseudonymiser(KEY)
    composed = "Bjørn Ødegård"
    decomposed = "Bjørn Ødega\u030ard"  # å written as a + combining ring (NFC composes it)
    assert p.pseudonym("name", composed) == p.pseudonym("name", " Bjørn\u00a0 Ødegård ")
    assert decomposed != composed and p.pseudonym("name", composed) == p.pseudonym("name", decomposed)
    assert p.pseudonym("name", composed) != p.pseudonym("name", "BJØRN ØDEGÅRD")  # another spelling
    assert p.pseudonym("name", composed) != p.pseudonym("name", "Ødegård, Bjørn")


def test_key_from_env_refuses_a_missing_short_or_padded_key_and_says_how_to_make_one():
    for environ, words in (({}, "not set"), ({KEY_ENV: ""}, "not set"), ({KEY_ENV: "short"}, "5 characters"),
                           ({KEY_ENV: " " + "x" * 20}, "blank")):
        with pytest.raises(PseudonymKeyError) as err:
            key_from_env(environ)
        assert KEY_ENV in str(err.value) and words in str(err.value)
        assert "secrets.token_hex(32)" in str(err.value)
    assert key_from_env({KEY_ENV: "k" * 16}) == b"k" * 16


def test_fingerprint_names_the_key_without_revealing_it():
    fp = key_fingerprint(KEY)
    assert re.fullmatch(r"[0-9a-f]{8}", fp) and fp == key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
    assert fp == hmac.new(KEY, b"adnet key id", hashlib.sha256).hexdigest()[:8]


# ------------------------------------------------------------------ the registry

def test_every_column_of_every_table_an_export_reads_is_classified():
    """A new column in one of these tables fails here until the registry says how to share it."""
    missing = {t: sorted(set(TABLES[t].column_names) - set(REGISTRY[t])) for t in EXPORT_TABLES}
    assert {t: cols for t, cols in missing.items() if cols} == {}
    stale = {t: sorted(set(REGISTRY[t]) - set(TABLES[t].column_names)) for t in EXPORT_TABLES}
    assert {t: cols for t, cols in stale.items() if cols} == {}
    assert set(excel_export.ANALYST_TABLES) <= set(REGISTRY)
    for registry in (REGISTRY, EXTRA_SOURCES):
        for table, rules in registry.items():
            for col, rule in rules.items():
                if rule.via:
                    assert rule.via in rules or rule.via in TABLES[table].column_names, (table, col)


def test_the_writers_read_no_table_the_registry_does_not_know():
    for module in (network_picture, xmind_export, excel_export, graph_export, ftm_export):
        source = inspect.getsource(module)
        named = {t for t in TABLES if re.search(rf"(?<![\w.]){t}(?!\w)", source)}
        assert named <= set(REGISTRY), (module.__name__, sorted(named - set(REGISTRY)))


# ------------------------------------------------------------------ text scrubbing

P = Pseudonymiser(KEY)
PHONE = "+4741234567"
SE_PHONE = "+46701234567"


@pytest.fixture(scope="module")
def scrubber() -> TextScrubber:
    literals = {form: P.pseudonym(kind, value) for kind, form, value in [
        ("name", "Bjørn Ødegård", "Bjørn Ødegård"), ("name", "ÅSE ÆRØ-LIE", "ÅSE ÆRØ-LIE"), ("name", "Ola Berg", "Ola Berg"),
        ("address", "Storgata 12 B, H0201", "storgata 12b, 0150"), ("address", "storgata 12b, 0150", "storgata 12b, 0150"),
        ("person", "O-505aabed2e2a", "O-505aabed2e2a"), ("ad", "eskorte.example:4810156", "eskorte.example:4810156"),
        ("contact", "@n03b345", "n03b345")]}
    numbers = {PHONE: P.pseudonym("phone", PHONE), SE_PHONE: P.pseudonym("phone", SE_PHONE)}
    adnames = {"Sofia": P.pseudonym("adname", "Sofia"),
               "Anastasia Ring 41 23 4…": P.pseudonym("adname", "Anastasia Ring 41 23 45 67")}
    return TextScrubber(literals, numbers, plus_only={"+474123": P.pseudonym("block", "+474123")}, ad_names=adnames)


@pytest.mark.parametrize("written", ["+4741234567", "4741234567", "004741234567", "0047 41234567", "0047-41234567",
                                     "41234567", "412 34 567", "41 23 45 67", "412.34.567", "+47 412 34 567"])
def test_numbers_are_found_in_every_common_form(scrubber, written):
    out = scrubber.scrub(f"ring {written} i dag")
    assert out == f"ring {P.pseudonym('phone', PHONE)} i dag"


def test_numbers_next_to_other_digits_dates_and_file_names(scrubber):
    pseudo = P.pseudonym("phone", PHONE)
    assert scrubber.scrub("billing/4741234567_2026-06-22_2026-08-02.csv") == f"billing/{pseudo}_2026-06-22_2026-08-02.csv"
    assert scrubber.scrub(f"lie 2 apart in series group S-NO-{PHONE} (5 numbers)") == \
        f"lie 2 apart in series group S-NO-{pseudo} (5 numbers)"
    assert scrubber.scrub(f"({PHONE} to +4741234599)") == f"({pseudo} to {ps.NUMBER_MASK})"  # unknown: masked
    assert scrubber.scrub(f"{PHONE} 5 numbers") == f"{pseudo} 5 numbers"
    assert scrubber.scrub("0701234567 (SE)") == f"{P.pseudonym('phone', SE_PHONE)} (SE)"     # trunk 0
    assert scrubber.scrub("in block +474123 (5 seen)") == f"in block {P.pseudonym('block', '+474123')} (5 seen)"
    for kept in ("2026-06-01 to 2026-08-27", "seen 2026-06-22 23:27:18", "snapshot 2026-06-29T0712Z",
                 "score 0.3813482056534253, 5.9e-13 expected", "ads 1 234", "sha 85b1fa70d71abcc44f885c2fd8c",
                 "block 474123 without its plus"):
        assert scrubber.scrub(kept) == kept
    assert scrubber.scrub("call 98 76 54 32 now") == f"call {ps.NUMBER_MASK} now"  # unknown number: masked
    assert scrubber.scrub("see https://eskorte.example/ad/4810156?x=1 now") == f"see {ps.URL_MASK} now"


def test_names_addresses_and_keys_with_norwegian_letters_at_word_boundaries(scrubber):
    text = ('owner O-505aabed2e2a registered at Storgata 12 B, H0201 as "BJØRN ØDEGÅRD" and "Åse Ærø-Lie"; '
            "address:storgata 12b, 0150; ad eskorte.example:4810156 (Telegram @n03b345); Olav and Ola Berg.")
    out = scrubber.scrub(text)
    assert out == (f"owner {P.pseudonym('person', 'O-505aabed2e2a')} registered at "
                   f"{P.pseudonym('address', 'storgata 12b, 0150')} as \"{P.pseudonym('name', 'Bjørn Ødegård')}\" and "
                   f"\"{P.pseudonym('name', 'ÅSE ÆRØ-LIE')}\"; address:{P.pseudonym('address', 'storgata 12b, 0150')}; "
                   f"ad {P.pseudonym('ad', 'eskorte.example:4810156')} (Telegram {P.pseudonym('contact', 'n03b345')}); "
                   f"Olav and {P.pseudonym('name', 'Ola Berg')}.")
    assert scrubber.scrub("Bjørn Ødegårdsen") == "Bjørn Ødegårdsen"  # a longer word is another name
    assert scrubber.scrub("nothing to see, Oslo → Bergen") == "nothing to see, Oslo → Bergen"


def test_advertised_names_are_replaced_only_where_asked_whole_or_cut(scrubber):
    text = "on 3 ads under 3 names (Anastasia Ring 41 23 4…, Sofia, Tina)"
    assert scrubber.scrub(text) == text.replace("41 23 4…", "41 23 4…")  # no ad names outside red flags
    assert scrubber.scrub(text, ad_names=True) == (
        f"on 3 ads under 3 names ({P.pseudonym('adname', 'Anastasia Ring 41 23 45 67')}, "
        f"{P.pseudonym('adname', 'Sofia')}, Tina)")


# ------------------------------------------------------------------ the shared tables

def _insert(con, table: str, rows: list[dict]) -> None:
    ensure_table(con, TABLES[table])
    for row in rows:
        cols = ", ".join(f'"{c}"' for c in row)
        con.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" for _ in row)})', list(row.values()))


@pytest.fixture
def source(tmp_path):
    """A hand-made database (fake people) with the tables the exports read, and one column too many."""
    path = tmp_path / "adnet.duckdb"
    ad1, ad2 = "eskorte.example:4810156", "eskorte.example:4810157"
    with duckdb.connect(str(path)) as con:
        _insert(con, "ads", [{"ad_key": ad1, "site": "eskorte.example", "ad_id": "4810156", "phones": [PHONE, SE_PHONE],
                              "last_name": " Sofia  ", "last_city": "Tromsø"}])
        _insert(con, "ad_observations", [{"ad_key": ad1, "site": "eskorte.example", "ad_id": "4810156",
                                          "url": "https://eskorte.example/ad/4810156", "title": "Ring 412 34 567",
                                          "text": "fire en to tre fire fem seks sju", "name": "Sofia",
                                          "phones_raw": ["412 34 567"], "images": '[{"url": "https://x.example/1.jpg"}]',
                                          "contact": '{"telegram": "@N03b345"}', "raw_line": '{"ad_id": "4810156"}',
                                          "city": "Tromsø"}])
        _insert(con, "phones", [{"phone": PHONE, "raw_forms": ["412 34 567"], "cities": ["Tromsø", f"ring {PHONE}"]},
                                {"phone": SE_PHONE, "cities": []}])
        _insert(con, "owners", [{"owner_id": "O-505aabed2e2a", "name": "Bjørn Ødegård",
                                 "variants": ["Bjørn Ødegård", "ØDEGÅRD BJØRN"], "address_keys": ["storgata 12b, 0150"],
                                 "resolution": "joined 'ØDEGÅRD BJØRN' by the same private address"}])
        _insert(con, "addresses", [{"address_key": "storgata 12b, 0150", "address": "Storgata 12 B, H0201",
                                    "variants": ["Storgata 12 B, H0201"], "postcode": "0150", "city": "OSLO"}])
        _insert(con, "directory_matches", [{"phone": PHONE, "owner_id": "O-505aabed2e2a", "name": "ØDEGÅRD BJØRN",
                                            "address": "Storgata 12 B, H0201", "address_key": "storgata 12b, 0150",
                                            "postcode": "0150", "listing_id": f"dir-api:{PHONE}:0"}])
        _insert(con, "links", [
            {"kind": "rotation", "a": f"phone:{SE_PHONE}", "b": f"phone:{PHONE}", "a_type": "phone", "b_type": "phone",
             "evidence": f"{PHONE} and {SE_PHONE}: same ad {ad1}"},
            {"kind": "ad_phone", "a": f"ad:{ad1}", "b": f"phone:{PHONE}", "a_type": "ad", "b_type": "phone",
             "evidence": f"ad {ad1} showed {PHONE}"},
            {"kind": "directory", "a": f"phone:{PHONE}", "b": "owner:O-505aabed2e2a", "a_type": "phone",
             "b_type": "owner", "evidence": 'registered to owner O-505aabed2e2a as "ØDEGÅRD BJØRN"'},
            {"kind": "photo", "a": f"ad:{ad1}", "b": f"ad:{ad2}", "a_type": "ad", "b_type": "ad",
             "source": "photo_links: " + "ab" * 32}])
        _insert(con, "rotation_links", [{"ad_key": ad1, "phone_a": SE_PHONE, "phone_b": PHONE,
                                         "n_snapshots_a": 1, "n_snapshots_b": 2}])
        _insert(con, "network_members", [
            {"network_id": "N-1", "member_type": "owner", "member_key": "O-505aabed2e2a", "via": f"phone:{PHONE}",
             "explanation": "registered to owner O-505aabed2e2a (Bjørn Ødegård)"},
            {"network_id": "N-1", "member_type": "address", "member_key": "storgata 12b, 0150",
             "explanation": "owner registered at STORGATA 12 B, H0201"}])
        _insert(con, "red_flags", [{"entity_type": "phone", "entity_key": PHONE, "flag": "one_phone_many_names",
                                    "evidence": f"{PHONE} is shown on 3 ads under 3 names (Lea, Sofia, Tina)"},
                                   {"entity_type": "network", "entity_key": "N-1", "flag": "id_rotation",
                                    "evidence": f"N-1: rotation on ad {ad1}"}])
        _insert(con, "photos", [{"image_key": "ab" * 32, "phash": "d1930537665561ef"}])
        _insert(con, "ad_observations", [])
        _insert(con, "directory_listings", [{"phone": "+4799988877", "name": "Lea Hansen", "address": "Fjellvei 3"}])
        _insert(con, "quarantine", [{"level": "billing", "source_file": "billing/4741234567_2026.csv",
                                     "reason": "counterpart '0047 911 22 333' unreadable", "raw_line": "x"}])
        con.execute('ALTER TABLE "owners" ADD COLUMN "birth_date" VARCHAR')
        con.execute("UPDATE owners SET birth_date = '1990-01-02'")
    return path


def _build(path, key=KEY):
    con = duckdb.connect()
    report = build_pseudonymised_tables(path, key, con)
    return con, report


def test_shared_tables_hash_identifiers_keep_types_and_withhold_ad_text(source):
    con, report = _build(source)
    p = Pseudonymiser(KEY)
    ad = p.pseudonym("ad", "eskorte.example:4810156")
    phone, se_phone = p.pseudonym("phone", PHONE), p.pseudonym("phone", SE_PHONE)
    person, address = p.pseudonym("person", "O-505aabed2e2a"), p.pseudonym("address", "storgata 12b, 0150")

    assert con.execute("SELECT ad_key, ad_id, phones, last_name, last_city FROM ads").fetchall() == [
        (ad, ad, [phone, se_phone], p.pseudonym("adname", "Sofia"), "Tromsø")]
    assert con.execute("""SELECT url, title, text, name, phones_raw, images, contact, raw_line, city
                          FROM ad_observations""").fetchall() == [
        (WITHHELD, WITHHELD, WITHHELD, p.pseudonym("adname", "Sofia"), None, None, None, WITHHELD, "Tromsø")]
    assert con.execute("SELECT phone, raw_forms, cities FROM phones ORDER BY phone = ? DESC", [phone]).fetchall() == [
        (phone, None, ["Tromsø", f"ring {phone}"]), (se_phone, None, [])]
    assert con.execute("SELECT owner_id, name, variants, address_keys, resolution FROM owners").fetchall() == [
        (person, p.pseudonym("name", "Bjørn Ødegård"), [p.pseudonym("name", "Bjørn Ødegård"),
                                                        p.pseudonym("name", "ØDEGÅRD BJØRN")], [address],
         f"joined '{p.pseudonym('name', 'ØDEGÅRD BJØRN')}' by the same private address")]
    assert con.execute("SELECT address_key, address, variants, postcode, city FROM addresses").fetchall() == [
        (address, address, None, WITHHELD, "OSLO")]
    assert con.execute("SELECT address, address_key, postcode, listing_id FROM directory_matches").fetchall() == [
        (address, address, WITHHELD, f"dir-api:{phone}:0")]
    assert con.execute("SELECT member_key, via, explanation FROM network_members ORDER BY member_type").fetchall() == [
        (address, None, f"owner registered at {address}"),
        (person, f"phone:{phone}", f"registered to owner {person} ({p.pseudonym('name', 'Bjørn Ødegård')})")]
    flags = con.execute("SELECT entity_key, evidence FROM red_flags ORDER BY entity_type").fetchall()
    assert flags == [("N-1", f"N-1: rotation on ad {ad}"),
                     (phone, f"{phone} is shown on 3 ads under 3 names (Lea, {p.pseudonym('adname', 'Sofia')}, Tina)")]
    assert con.execute("SELECT source_file, reason, raw_line FROM quarantine").fetchall() == [
        (f"billing/{phone}_2026.csv", f"counterpart '{ps.NUMBER_MASK}' unreadable", WITHHELD)]
    assert con.execute("SELECT source FROM links WHERE kind = 'photo'").fetchall() == [
        (f"photo_links: {p.pseudonym('photo', 'ab' * 32)}",)]
    assert report.left_out == {"owners": ["birth_date"]}
    assert "birth_date" not in [r[0] for r in con.execute("DESCRIBE owners").fetchall()]
    assert report.key_id == key_fingerprint(KEY)


def test_typed_keys_keep_their_type_and_symmetric_pairs_stay_ordered(source):
    con, _ = _build(source)
    rows = con.execute("SELECT kind, a, b, a_type, b_type FROM links ORDER BY kind").fetchall()
    for kind, a, b, a_type, b_type in rows:
        assert a.split(":")[0] == a_type and b.split(":")[0] == b_type
        assert PSEUDONYM.fullmatch(a.split(":", 1)[1]) and PSEUDONYM.fullmatch(b.split(":", 1)[1])
        if a_type == b_type:
            assert a < b, kind
    assert [r[3:] for r in rows if r[0] == "directory"] == [("phone", "owner")]
    assert rows[[r[0] for r in rows].index("directory")][2].startswith("owner:person-")
    (a, b, na, nb), = con.execute("SELECT phone_a, phone_b, n_snapshots_a, n_snapshots_b FROM rotation_links").fetchall()
    p = Pseudonymiser(KEY)
    assert a < b and {a: na, b: nb} == {p.pseudonym("phone", SE_PHONE): 1, p.pseudonym("phone", PHONE): 2}


def test_no_original_identifier_nor_the_key_is_left_in_the_shared_copy(source):
    con, _ = _build(source)
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert sorted(tables) == sorted(t for t in REGISTRY if t in {
        "ads", "ad_observations", "phones", "owners", "addresses", "directory_matches", "links", "rotation_links",
        "network_members", "red_flags", "quarantine"})  # no work table, no source catalog
    assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchall() == [(1,)]
    everything = " ".join(str(v) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall() for v in row)
    for secret in (PHONE, "41234567", "412 34 567", SE_PHONE, "4810156", "Bjørn", "ØDEGÅRD", "Storgata",
                   "storgata", "O-505aabed2e2a", "https://", "n03b345", "N03b345", "Sofia", "0150", "ab" * 32,
                   "911 22 333", KEY.decode(), key_fingerprint(KEY)):
        assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", everything), secret


def test_another_key_gives_unlinkable_pseudonyms_and_the_same_key_the_same(source):
    first, _ = _build(source)
    again, _ = _build(source)
    other, _ = _build(source, OTHER_KEY)
    query = "SELECT a, b, evidence FROM links ORDER BY kind"
    assert first.execute(query).fetchall() == again.execute(query).fetchall()
    mine = {v for row in first.execute(query).fetchall() for v in PSEUDONYM.findall(" ".join(filter(None, row)))}
    theirs = {v for row in other.execute(query).fetchall() for v in PSEUDONYM.findall(" ".join(filter(None, row)))}
    assert mine and theirs and not mine & theirs


def test_a_pseudonym_shared_by_two_identifiers_stops_the_build(source, monkeypatch):
    monkeypatch.setattr(ps, "HEX", 0)  # every pseudonym of a kind is "<kind>-": two phones must collide
    con = duckdb.connect()
    with pytest.raises(PseudonymCollision, match="make a new key"):
        build_pseudonymised_tables(source, KEY, con)
    assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'adnet%'").fetchall() \
        == [(0,)]


def test_sql_and_python_hash_the_same_canonical_names(tmp_path):
    """The tables are hashed in SQL, ``Pseudonymiser`` in Python: an analyst's look-up must find the row."""
    names = [" Kari\u00a0\u2003Hansen\t", "Kari\x07 Hansen", "Åse Ødega\u030ard", "\u3000Li  Wei\u3000",
             "ØDEGÅRD,\nBJØRN", "Anne-Marie O'Neil"]
    path = tmp_path / "adnet.duckdb"
    with duckdb.connect(str(path)) as con:
        _insert(con, "owners", [{"owner_id": f"O-{i}", "name": name} for i, name in enumerate(names)])
        _insert(con, "ads", [{"ad_key": f"x.example:{i}", "last_name": name} for i, name in enumerate(names)])
    con, _ = _build(path)
    p = Pseudonymiser(KEY)
    got = dict(con.execute("SELECT owner_id, name FROM owners").fetchall())
    assert got == {p.pseudonym("person", f"O-{i}"): p.pseudonym("name", name) for i, name in enumerate(names)}
    got = dict(con.execute("SELECT ad_key, last_name FROM ads").fetchall())
    assert got == {p.pseudonym("ad", f"x.example:{i}"): p.pseudonym("adname", name) for i, name in enumerate(names)}
    assert p.pseudonym("name", names[0]) == p.pseudonym("name", "Kari Hansen") == p.pseudonym("name", names[1])
