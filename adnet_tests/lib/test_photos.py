"""photos: same file or near-identical phash links ads; stock photos never link; banding finds every near pair."""

from __future__ import annotations

import csv
import json
import random

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adnet_assets.lib.photos import PhotoParams, band_layout, build_photo_links, near_pairs_sql, phone_components
from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import AD_OBSERVATIONS, OBSERVATION_PHONES

SITE = "s"


def _sha(n: int) -> str:
    return f"{n:064x}"


def _ph(h: int) -> str:
    return f"{h:016x}"


def _flip(h: int, bits) -> int:
    for b in bits:
        h ^= 1 << b
    return h


def _con(ads: dict[str, list[dict]], phones: dict[str, list[str]] | None = None) -> duckdb.DuckDBPyConnection:
    """ads: ad_key -> images; phones: ad_key -> E.164 numbers (None: no observation_phones table)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    ensure_table(con, AD_OBSERVATIONS)
    if ads:
        con.executemany(
            "INSERT INTO ad_observations (ad_key, snapshot_id, seen_at, images) "
            "VALUES (?, '2026-06-01T0614Z', '2026-06-01 06:20+00', ?)",
            [[k, json.dumps(v)] for k, v in ads.items()])
    if phones is not None:
        ensure_table(con, OBSERVATION_PHONES)
        con.executemany(
            "INSERT INTO observation_phones (ad_key, snapshot_id, position, raw, phone, status) "
            "VALUES (?, '2026-06-01T0614Z', 1, ?, ?, 'valid')",
            [[k, p, p] for k, ps in phones.items() for p in ps])
    return con


def _links(con) -> dict[tuple[str, str], tuple]:
    return {(a, b): (m, d, n) for a, b, m, d, n in con.execute(
        "SELECT ad_a, ad_b, match, distance, n_ads_with_image FROM photo_links").fetchall()}


RNG = random.Random(1)
BASE = [RNG.getrandbits(64) | (1 << 40) for _ in range(20)]  # random, never degenerate
BASE = [h if 16 <= h.bit_count() <= 48 else h ^ 0x00FF00FF00FF00FF for h in BASE]


def test_same_file_links_two_ads():
    con = _con({"s:1": [{"url": "u1", "sha256": _sha(1), "phash": _ph(BASE[0])}],
                "s:2": [{"url": "u2", "sha256": _sha(1).upper(), "phash": _ph(BASE[0])}],
                "s:3": [{"url": "u3", "sha256": _sha(3), "phash": _ph(BASE[1])}]})
    report = build_photo_links(con)
    assert _links(con) == {("s:1", "s:2"): ("sha256", 0, 2)}
    assert report.n_links == report.n_links_sha256 == 1
    row = con.execute("SELECT image_a, image_b FROM photo_links").fetchone()
    assert row == (_sha(1), _sha(1))
    assert con.execute("SELECT count(*), count(*) FILTER (stock) FROM photos").fetchone() == (2, 0)


def test_near_phash_links_with_distance_and_far_one_does_not():
    near = _flip(BASE[0], [1, 30, 63])
    far = _flip(BASE[0], range(0, 60, 3))  # 20 bits
    con = _con({"s:1": [{"url": "u", "sha256": _sha(1), "phash": _ph(BASE[0])}],
                "s:2": [{"url": "u", "sha256": _sha(2), "phash": _ph(near)}],
                "s:3": [{"url": "u", "sha256": _sha(3), "phash": _ph(far)}],
                "s:4": [{"url": "u", "phash": _ph(far)}]})  # phash only: the image key is the phash
    build_photo_links(con)
    links = _links(con)
    assert links[("s:1", "s:2")] == ("phash", 3, 2)
    # s:3 and s:4 show the same picture (equal phash, one without a file hash): distance 0, linked;
    # neither is within 6 bits of s:1/s:2
    assert links[("s:3", "s:4")] == ("phash", 0, 2)
    assert set(links) == {("s:1", "s:2"), ("s:3", "s:4")}
    img = con.execute("SELECT image_a, image_b FROM photo_links WHERE ad_a = 's:3'").fetchone()
    assert img == (_sha(3), _ph(far))


def test_best_match_per_pair_prefers_the_same_file():
    near = _flip(BASE[2], [5])
    con = _con({"s:1": [{"url": "u", "sha256": _sha(1), "phash": _ph(BASE[2])},
                        {"url": "u", "sha256": _sha(9), "phash": _ph(BASE[3])}],
                "s:2": [{"url": "u", "sha256": _sha(2), "phash": _ph(near)},
                        {"url": "u", "sha256": _sha(9), "phash": _ph(BASE[3])}]})
    build_photo_links(con)
    assert _links(con) == {("s:1", "s:2"): ("sha256", 0, 2)}


def test_stock_photo_on_30_unrelated_ads_links_nobody():
    stock = {"url": "u", "sha256": _sha(77), "phash": _ph(BASE[4])}
    ads = {f"s:{i:02d}": [stock, {"url": "u", "sha256": _sha(100 + i), "phash": _ph(BASE[5] ^ (i << 50))}]
           for i in range(30)}
    # a re-encoded copy of the stock photo on two more ads does not link them either
    copy = {"url": "u", "sha256": _sha(78), "phash": _ph(_flip(BASE[4], [7, 8]))}
    ads["s:90"], ads["s:91"] = [copy], [copy]
    for phones in ({k: [f"+47400000{i:02d}"] for i, k in enumerate(ads)}, None):
        con = _con(ads, phones)
        report = build_photo_links(con)
        assert report.n_links == 0 and _links(con) == {}
        rows = dict(con.execute(
            "SELECT image_key, (stock, n_ads, n_components) FROM photos WHERE n_ads > 1").fetchall())
        assert rows[_sha(77)] == (True, 32, 32)
        assert rows[_sha(78)] == (True, 32, 32)
        reason = con.execute("SELECT reason FROM photos WHERE image_key = ?", [_sha(77)]).fetchone()[0]
        assert reason.startswith("stock: shown on 32 ads in 32 groups")


def test_photo_of_one_phone_group_links_even_on_many_ads():
    photo = {"url": "u", "sha256": _sha(5), "phash": _ph(BASE[6])}
    # three ads of one group: a-b share a number, b-c share another (a chain)
    con = _con({"s:a": [photo], "s:b": [photo], "s:c": [photo]},
               {"s:a": ["+4741000001"], "s:b": ["+4741000001", "+4741000002"], "s:c": ["+4741000002"]})
    build_photo_links(con)
    assert set(_links(con)) == {("s:a", "s:b"), ("s:a", "s:c"), ("s:b", "s:c")}
    assert con.execute("SELECT stock, n_components FROM photos").fetchone() == (False, 1)
    # twelve ads, one group: not stock (the pairs add nothing the number does not)
    ads = {f"s:{i:02d}": [photo] for i in range(12)}
    con = _con(ads, {k: ["+4741000009"] for k in ads})
    build_photo_links(con)
    assert len(_links(con)) == 66
    # twelve ads over two groups: too common to join groups
    con = _con(ads, {k: ["+4741000009" if i < 10 else "+4741000010"] for i, k in enumerate(ads)})
    build_photo_links(con)
    assert _links(con) == {}
    assert con.execute("SELECT stock, n_components FROM photos").fetchone() == (True, 2)


def test_few_groups_link_more_do_not():
    photo = {"url": "u", "sha256": _sha(6), "phash": _ph(BASE[7])}
    for n_ads, linked in ((3, True), (4, False)):
        ads = {f"s:{i}": [photo] for i in range(n_ads)}
        con = _con(ads, {k: [f"+474200000{i}"] for i, k in enumerate(ads)})
        build_photo_links(con)
        assert bool(_links(con)) is linked
        assert con.execute("SELECT n_components, stock FROM photos").fetchone() == (n_ads, not linked)


def test_degenerate_and_malformed_hashes():
    con = _con({"s:1": [{"url": "u", "sha256": _sha(1), "phash": "0000000000000000"}],
                "s:2": [{"url": "u", "sha256": _sha(2), "phash": "0000000000000001"}],
                "s:3": [{"url": "u", "sha256": "not-a-hash", "phash": "xyz"}, {"url": "u"}, "junk", 5],
                "s:4": {"url": "not a list"},
                "s:5": [{"url": "u", "sha256": None, "phash": f"  {_ph(BASE[8]).upper()} "}],
                "s:6": [{"url": "u", "phash": _ph(_flip(BASE[8], [0]))}]})
    build_photo_links(con)
    # blank pictures do not near-match; the phash-only pair with a sloppy hex spelling does
    assert _links(con) == {("s:5", "s:6"): ("phash", 1, 2)}
    assert con.execute("SELECT count(*) FROM photos").fetchone()[0] == 4


def test_phone_components_chain_and_isolated():
    con = _con({}, {"s:a": ["+1"], "s:b": ["+1", "+2"], "s:c": ["+2", "+3"], "s:d": ["+3"], "s:e": ["+9"]})
    con.execute("CREATE TABLE ads_here AS SELECT * FROM (VALUES ('s:a'), ('s:x')) t(ad_key)")
    out = phone_components(con, "SELECT ad_key FROM ads_here")
    comp = dict(con.execute(f"SELECT ad_key, comp FROM {out}").fetchall())
    assert comp == {"s:a": "s:a", "s:b": "s:a", "s:c": "s:a", "s:d": "s:a", "s:e": "s:e", "s:x": "s:x"}


# ------------------------------------------------------------------ banding

def _near(params: PhotoParams, hashes: list[int]) -> dict[tuple[int, int], int]:
    con = duckdb.connect()
    con.execute("CREATE TABLE hs (h UBIGINT)")
    con.executemany("INSERT INTO hs VALUES (?)", [[h] for h in hashes])
    return {(a, b): d for a, b, d in con.execute(near_pairs_sql("hs", params)).fetchall()
            if d <= params.max_phash_distance}


@pytest.mark.parametrize("d,r", [(0, 0), (3, 0), (6, 0), (6, 1), (6, 2), (10, 1)])
def test_band_layout_covers_64_bits(d, r):
    layout = band_layout(PhotoParams(max_phash_distance=d, phash_band_flips=r))
    assert sum(w for _, w in layout) == 64 and layout[0][0] == 0
    assert len(layout) * (r + 1) > d  # the pigeonhole argument


@settings(max_examples=25, deadline=None)
@given(d=st.integers(0, 10), r=st.integers(0, 2),
       cases=st.lists(st.tuples(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 63), max_size=10)),
                      min_size=1, max_size=30))
def test_banding_finds_every_pair_within_distance(d, r, cases):
    """Random 64-bit hashes and copies with at most d bits flipped: every such pair is found."""
    params = PhotoParams(max_phash_distance=d, phash_band_flips=r)
    hashes, want = [], set()
    for h, bits in cases:
        g = _flip(h, set(bits[:d]))
        hashes += [h, g]
        if g != h:
            want.add((min(h, g), max(h, g)))
    found = _near(params, hashes)
    assert want <= set(found)
    # and what is found is right: the true distance, within d
    for (a, b), dist in found.items():
        assert a < b and dist == (a ^ b).bit_count() <= d


def test_banding_equals_brute_force_on_clustered_hashes():
    rng = random.Random(5)
    centres = [rng.getrandbits(64) for _ in range(40)]
    hashes = sorted({_flip(c, rng.sample(range(64), rng.randint(0, 5))) for c in centres for _ in range(6)})
    params = PhotoParams()
    brute = {(a, b): (a ^ b).bit_count() for i, a in enumerate(hashes) for b in hashes[i + 1:]
             if (a ^ b).bit_count() <= params.max_phash_distance}
    assert _near(params, hashes) == brute


# ------------------------------------------------------------------ demo market

def test_demo_market_stock_photos_and_precision(demo_market):
    root = demo_market.root
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_market.database}' AS src (READ_ONLY)")
    for t in ("ad_observations", "observation_phones"):
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM src.{t}")
    con.execute("DETACH src")
    report = build_photo_links(con)
    traps = json.loads((root / "demo-truth" / "traps.json").read_text())
    with open(root / "demo-truth" / "ads.csv", newline="") as f:
        truth = {r["ad_key"]: r for r in csv.DictReader(f)}
    stock = {s["sha256"]: set(s["ad_keys"]) for s in traps["stock_photos"]}
    assert stock
    marked = dict(con.execute("SELECT image_key, stock FROM photos").fetchall())
    assert all(marked[sha] for sha in stock), "every planted stock photo is marked stock"
    images = {r for row in con.execute("SELECT image_a, image_b FROM photo_links").fetchall() for r in row}
    assert not images & set(stock), "no link rests on a stock photo"
    pairs = con.execute("SELECT ad_a, ad_b, match, distance FROM photo_links").fetchall()
    assert len(pairs) == report.n_links > 100
    wrong = [p for p in pairs
             if not ((truth[p[0]]["network_id"] and truth[p[0]]["network_id"] == truth[p[1]]["network_id"])
                     or truth[p[0]]["person_id"] == truth[p[1]]["person_id"])]
    precision = 1 - len(wrong) / len(pairs)
    con.execute("CREATE TABLE hs AS SELECT DISTINCT ('0x' || phash)::UBIGINT AS h FROM photos WHERE phash IS NOT NULL")
    all_cand = near_pairs_sql("hs", PhotoParams(), all_candidates=True)
    n_cand = con.execute(f"SELECT count(*) FROM ({all_cand})").fetchone()[0]
    print(f"photo_links: {len(pairs)} pairs ({report.n_links_sha256} same file, {report.n_links_phash} phash), "
          f"precision {precision:.4f}; {report.n_stock} stock photos of {report.n_photos}; {n_cand} phash "
          f"candidates from the bands for {report.n_hashes} hashes, {report.n_near_pairs} within distance; "
          f"exceptions: {wrong}")
    assert precision >= 0.99, wrong
    assert con.execute("SELECT count(*) FROM photo_links WHERE ad_a >= ad_b").fetchone()[0] == 0
