"""links: each kind built from its evidence table, symmetric pairs once, generic addresses never link."""

import duckdb

from adnet_assets.lib.links import LinkWeights, build_links
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import ADDRESSES, DIRECTORY_MATCHES, OBSERVATION_PHONES, ROTATION_LINKS, SERIES_GROUPS, TEXT_LINKS


def _con():
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for t in (OBSERVATION_PHONES, ROTATION_LINKS, SERIES_GROUPS, DIRECTORY_MATCHES, ADDRESSES, TEXT_LINKS):
        ensure_table(con, t)
    con.execute("""INSERT INTO observation_phones (ad_key, snapshot_id, seen_at, position, raw, phone, status, obfuscated) VALUES
        ('s:1', '2026-06-01T0614Z', '2026-06-01 06:20+00', 1, '41234567', '+4741234567', 'valid', false),
        ('s:1', '2026-06-04T0614Z', '2026-06-04 06:20+00', 1, '4l234567', '+4741234567', 'valid', true),
        ('s:1', '2026-06-08T0614Z', '2026-06-08 06:20+00', 1, '41234569', '+4741234569', 'valid', false),
        ('s:2', '2026-06-01T0614Z', '2026-06-01 06:20+00', 1, 'xx', NULL, 'unparseable', false)""")
    con.execute("""INSERT INTO rotation_links (ad_key, phone_a, phone_b, n_snapshots, owners_differ) VALUES
        ('s:1', '+4741234567', '+4741234569', 3, true)""")
    con.execute("""INSERT INTO series_groups (group_id, phone, country, block, n_in_group, span, block_seen, expected_by_chance, strength, reason) VALUES
        ('S-NO-+4741234567', '+4741234567', 'NO', '+474123', 3, 5, 3, 0.0001, 'strong', 'run of 3 in a quiet block'),
        ('S-NO-+4741234567', '+4741234569', 'NO', '+474123', 3, 5, 3, 0.0001, 'strong', 'run of 3 in a quiet block'),
        ('S-NO-+4741234567', '+4741234572', 'NO', '+474123', 3, 5, 3, 0.0001, 'strong', 'run of 3 in a quiet block')""")
    con.execute("""INSERT INTO addresses (address_key, address, kind, generic, n_owners) VALUES
        ('storgata 12b 0150', 'Storgata 12 B', 'private', false, 2),
        ('torget 1 storsenteret', 'Storsenteret, Torget 1', 'shopping_centre', true, 7)""")
    con.execute("""INSERT INTO directory_matches (phone, owner_id, name, address, address_key, listing_id, visibility) VALUES
        ('+4741234567', 'O-1', 'KARI HANSEN', 'Storgata 12 B', 'storgata 12b 0150', 'directory/a.csv:2', 'public'),
        ('+4741234569', 'O-2', 'Per Olsen', 'STORGATA 12B', 'storgata 12b 0150', 'directory/a.csv:3', 'public'),
        ('+4741234572', 'O-3', 'Eva Li', 'Torget 1 (Storsenteret)', 'torget 1 storsenteret', 'directory/a.csv:4', 'public'),
        ('+4741234599', NULL, NULL, NULL, NULL, 'directory/a.csv:5', 'reserved')""")
    con.execute("""INSERT INTO text_links VALUES ('s:1', 's:2', 0.95, false), ('s:1', 's:3', 0.9, true)""")
    return con


def test_every_kind_lands_with_words_and_sources():
    con = _con()
    counts = build_links(con)
    assert counts == {"ad_phone": 2, "directory": 3, "owner_address": 2, "rotation": 1, "series": 2, "text": 1}
    rows = {(k, a, b): (w, e, s, fn) for k, a, b, w, e, s, fn in con.execute(
        "SELECT kind, a, b, weight, evidence, source, for_networks FROM links").fetchall()}
    w, e, s, _ = rows[("ad_phone", "ad:s:1", "phone:+4741234567")]
    assert e == "ad s:1 showed +4741234567 in 2 snapshot(s), 2026-06-01 to 2026-06-04 (obfuscated)"
    assert s == "observation_phones: 2026-06-01T0614Z,2026-06-04T0614Z"
    w, e, _, _ = rows[("rotation", "phone:+4741234567", "phone:+4741234569")]
    assert w == LinkWeights().rotation_owners_differ and "same ad s:1 in 3 snapshot(s)" in e and "different owners" in e
    assert rows[("series", "phone:+4741234569", "phone:+4741234572")][1].startswith("+4741234569 and +4741234572 lie 3 apart")
    assert ("directory", "phone:+4741234567", "owner:O-1") in rows
    # the shopping centre links nobody; the reserved listing has no owner and links nothing
    assert {(a, b) for k, a, b in rows if k == "owner_address"} == {
        ("owner:O-1", "address:storgata 12b 0150"), ("owner:O-2", "address:storgata 12b 0150")}
    assert not any("+4741234599" in a + b for _, a, b in rows)
    # texts: weak, kept for reading, not for networks; boilerplate pairs dropped
    (text,) = [v for k, v in rows.items() if k[0] == "text"]
    assert text[3] is False and text[0] == LinkWeights().text
    assert con.execute("SELECT count(*) FROM links WHERE a >= b AND a_type = b_type").fetchone()[0] == 0


def test_missing_evidence_tables_contribute_nothing():
    con = duckdb.connect()
    ensure_table(con, OBSERVATION_PHONES)
    assert build_links(con) == {}
    assert con.execute("SELECT count(*) FROM links").fetchone()[0] == 0
