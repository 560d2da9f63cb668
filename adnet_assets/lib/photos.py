"""Photos shared between ads: the same file (sha256) or a near-identical one (perceptual hash).

A network re-uses its workers' photos across ads and sites while it rotates phone numbers, so
a shared photo can join ads that share no number. But photos also circulate: stock images,
pictures stolen from models' pages, placeholders. A false link is worse than a missed one, so
a photo that many otherwise unconnected ads show is ``stock`` and links nobody.

Steps (all set-based SQL in DuckDB over whole tables; no pair of photos is compared outside a block)

1. **Unnest.** Every image of every observation, kept once per (ad_key, image): ``sha256`` (64 hex
   digits of the file's bytes) and ``phash`` (16 hex digits, a 64-bit perceptual hash), each
   lower-cased and dropped when malformed. An image is identified by ``image_key`` = its sha256,
   or its phash when it has no sha256; images with neither are ignored.
2. **Near matches without all pairs (multi-index hashing).** Two phashes within ``d`` =
   ``max_phash_distance`` bits are found by splitting the 64 bits into ``m = d // (r + 1) + 1``
   bands (``r`` = ``phash_band_flips``): if every band held at least ``r + 1`` differing bits
   the hashes would differ in ``m·(r + 1) > d`` bits, so (pigeonhole) two hashes within ``d`` bits
   agree on some band up to at most ``r`` flipped bits. Each hash is joined, band by band, on its
   band value with up to ``r`` bits flipped against the other hashes' exact band values; only
   those candidates get ``bit_count(xor(a, b))`` computed and are kept when ``<= d``. With
   ``r = 0`` this is the plain "d + 1 bands, one equal" scheme. Degenerate hashes (almost all bits
   0 or 1: blank, single-colour or placeholder images) are not near-matched.
3. **Phone groups.** Ads are grouped into connected components of the graph "ad shows phone"
   (``observation_phones``; when that table is absent every ad is its own group), by min-label
   propagation in SQL with pointer jumping.
4. **Stock photos.** For each photo, the ads showing it or a near-identical copy (its
   neighbourhood) and the phone groups they fall in are counted. It is ``stock`` when they fall in
   more than ``max_components`` groups, or when it shows on more than ``max_ads_per_photo`` ads in
   more than one group. A stock photo never links, nor does any copy of it.
5. **Links.** One row per pair of ads (``ad_a < ad_b``) showing the same non-stock file or two
   near-identical non-stock photos, with the best match: the same file first, then the smallest
   Hamming distance.

**Size guard.** A non-stock photo on ``k`` ads gives ``k·(k−1)/2`` pairs. ``k`` is at most
``max_ads_per_photo`` (8: at most 28 pairs) unless every ad showing the photo is in a single
phone group; only then can ``k`` be larger, and those pairs join nothing the shared numbers do
not already join (``PhotoReport.max_ads_linked`` reports the largest ``k`` that linked).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import duckdb

from adnet_assets.lib.store import replace_table
from adnet_assets.schema import PHOTO_LINKS, PHOTOS

_HASH_BITS = 64


@dataclass(frozen=True)
class PhotoParams:
    """When two photos are the same picture, and when a picture is too common to link anyone.

    max_phash_distance 6 (of 64 bits): re-saving, resizing, recompressing or a light filter moves
    a 64-bit DCT perceptual hash by a few bits (1-4 in the demo market), while two different photos
    differ in about half their bits. Six covers re-encodings with a margin (two re-encodings of one
    original, each a few bits off, are compared with each other too) and keeps the chance that two
    unrelated random hashes meet at 4.5·10⁻¹², about two chance pairs among a million photos. Real
    hashes are less random than that, and ad photos are alike (mirror selfies, the same poses and
    bed linen), so the margin is kept small: pHash's customary "similar" threshold of 10 also
    joins crops and different shots of one scene. Crops and watermarks further than 6 bits are
    missed: a missed link is better than a false one.

    phash_band_flips 1: with ``d = 6`` plain pigeonhole needs 7 bands of only 9-10 bits, and a
    band of 9 bits is shared by chance by one pair of photos in 80 (7/2^9.1): a million photos
    give 6·10⁹ candidates. Allowing one flipped bit per band needs only 4 bands of 16 bits; each hash
    is looked up under 17 band values per band, and a chance candidate is one pair in ~960
    (4·17/2¹⁶), 12 times fewer, at the cost of 68 lookup rows per photo instead of 7. Measured
    on 300,000 random photos (2 cores): 29 s with 0 flips, 11 s with 1, 18 s with 2 (3 bands of
    21-22 bits, 254 lookups each); 900,000 photos take about a minute with 1. Exact either way:
    every pair within ``d`` bits is found (tested).

    min_phash_bits 8: a DCT hash sets about half its bits; a hash with fewer than 8 bits set, or
    fewer than 8 unset, comes from a blank or single-colour picture (placeholders, "photo coming
    soon") and would match every other one. It still matches by file (sha256) and still counts
    towards stock; it is only kept out of near matching. A random hash is this lopsided once in
    10¹⁰.

    max_components 3: the ads showing a network worker's photos fall in one or a few phone
    groups: the cell that runs her, another cell of the same network that borrowed the photo, an
    ad whose number the crawl could not read. A stock or stolen picture is shown by unrelated
    advertisers, one group each. A photo spread over four or more groups that share no number is
    more likely circulating than one actor's, so it does not link (in the demo market every
    planted stock photo spreads over 18-32 groups, every other photo over at most 3).

    max_ads_per_photo 8: a worker's photo is on a handful of ads (the demo plants 1-5); a photo
    on more than 8 ads is popular, and popularity alone makes a chance spread over two or three
    groups likely (one big group of connected ads holding most of the ads of a popular stock
    photo, plus two strangers). Such a photo links only when every ad showing it is already in
    one phone group, where its pairs add nothing the numbers do not; this also bounds the pairs
    any photo that joins groups can produce to 8·7/2 = 28.
    """

    max_phash_distance: int = 6
    phash_band_flips: int = 1
    min_phash_bits: int = 8
    max_components: int = 3
    max_ads_per_photo: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.max_phash_distance < _HASH_BITS:
            raise ValueError("max_phash_distance must be between 0 and 63")
        if not 0 <= self.phash_band_flips <= 3:
            raise ValueError("phash_band_flips must be between 0 and 3")
        if self.max_components < 1 or self.max_ads_per_photo < 2:
            raise ValueError("max_components must be >= 1 and max_ads_per_photo >= 2")

    @property
    def n_bands(self) -> int:
        return self.max_phash_distance // (self.phash_band_flips + 1) + 1


@dataclass(frozen=True)
class PhotoReport:
    n_ad_images: int        # distinct (ad, image) rows
    n_photos: int           # rows in photos
    n_stock: int            # photos marked stock
    n_hashes: int           # distinct non-degenerate phashes near-matched
    n_near_pairs: int       # phash pairs within max_phash_distance (distinct hashes)
    n_links: int            # rows in photo_links
    n_links_sha256: int
    n_links_phash: int
    max_ads_linked: int     # most ads of one photo that produced links (the size guard)


# ----------------------------------------------------------------------------- banding

def band_layout(params: PhotoParams) -> list[tuple[int, int]]:
    """(lowest bit, width) of each band: 64 bits split as evenly as possible."""
    m = params.n_bands
    widths = [_HASH_BITS // m + (1 if i < _HASH_BITS % m else 0) for i in range(m)]
    out, lo = [], 0
    for w in widths:
        out.append((lo, w))
        lo += w
    return out


def _flip_masks(width: int, flips: int) -> list[int]:
    masks = [0]
    for n in range(1, min(flips, width) + 1):
        masks += [sum(1 << b for b in bits) for bits in itertools.combinations(range(width), n)]
    return masks


def band_sql(params: PhotoParams) -> tuple[str, str]:
    """VALUES lists for the bands (band, lo, mask) and their flip masks (band, flip)."""
    layout = band_layout(params)
    bands = ", ".join(f"({i}, {lo}, {(1 << w) - 1}::UBIGINT)" for i, (lo, w) in enumerate(layout))
    flips = ", ".join(f"({i}, {f}::UBIGINT)" for i, (_lo, w) in enumerate(layout)
                      for f in _flip_masks(w, params.phash_band_flips))
    return (f"(VALUES {bands}) AS bands(band, lo, mask)", f"(VALUES {flips}) AS flips(band, flip)")


def near_pairs_sql(hashes: str, params: PhotoParams, *, all_candidates: bool = False) -> str:
    """Pairs (a < b) of distinct UBIGINT hashes ``h`` of the relation ``hashes`` within
    ``max_phash_distance`` bits, with their distance, found through the bands only.

    The distance is computed on each band hit and filtered at once, so the candidates are never
    materialised or de-duplicated; ``all_candidates`` keeps them all (to measure the blocking).
    """
    bands, flips = band_sql(params)
    keep = "" if all_candidates else f"WHERE distance <= {params.max_phash_distance}"
    return f"""
        WITH hv AS (
            SELECT DISTINCT h FROM {hashes} WHERE h IS NOT NULL
        ), exact AS (
            SELECT h, band, (h >> lo) & mask AS v FROM hv CROSS JOIN {bands}
        ), probe AS (
            SELECT e.h, e.band, xor(e.v, flips.flip) AS v FROM exact e JOIN {flips} USING (band)
        ), hits AS (
            SELECT p.h AS a, e.h AS b, bit_count(xor(p.h, e.h))::BIGINT AS distance
            FROM probe p JOIN exact e USING (band, v) WHERE p.h < e.h
        )
        SELECT DISTINCT a, b, distance FROM hits {keep}
    """


# ----------------------------------------------------------------------------- phone groups

def phone_components(con: duckdb.DuckDBPyConnection, ads_sql: str, out: str = "_adnet_phone_groups",
                     max_rounds: int = 10_000) -> str:
    """Temp table ``out``(ad_key, comp): connected components of the graph ad—phone.

    Every ad of ``ads_sql`` (a query with an ``ad_key`` column) gets the smallest ad_key of its
    component; ads with no readable number, or all ads when ``observation_phones`` is absent,
    are their own component. Min-label propagation through the phones, then pointer jumping
    (a label's own label), each round one set-based query.
    """
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}
    edges = "_adnet_phone_edges"
    if "observation_phones" in have:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {edges} AS
            SELECT DISTINCT ad_key, phone FROM observation_phones WHERE phone IS NOT NULL AND ad_key IS NOT NULL""")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {edges} (ad_key VARCHAR, phone VARCHAR)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT ad_key, ad_key AS comp FROM (SELECT ad_key FROM ({ads_sql}) UNION SELECT ad_key FROM {edges})
        WHERE ad_key IS NOT NULL""")
    for _ in range(max_rounds):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _adnet_phone_next AS
            WITH by_phone AS (
                SELECT e.phone, min(c.comp) AS m FROM {edges} e JOIN {out} c USING (ad_key) GROUP BY e.phone
            ), by_ad AS (
                SELECT e.ad_key, min(p.m) AS m FROM {edges} e JOIN by_phone p USING (phone) GROUP BY e.ad_key
            ), step AS (
                SELECT c.ad_key, least(c.comp, coalesce(a.m, c.comp)) AS comp
                FROM {out} c LEFT JOIN by_ad a USING (ad_key)
            )
            SELECT s.ad_key, least(s.comp, coalesce(j.comp, s.comp)) AS comp
            FROM step s LEFT JOIN step j ON j.ad_key = s.comp""")
        changed = con.execute(f"""SELECT count(*) FROM _adnet_phone_next n JOIN {out} c USING (ad_key)
                                  WHERE n.comp <> c.comp""").fetchone()[0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM _adnet_phone_next")
        if not changed:
            break
    else:
        raise RuntimeError(f"phone components did not converge in {max_rounds} rounds")
    con.execute("DROP TABLE IF EXISTS _adnet_phone_next")
    con.execute(f"DROP TABLE IF EXISTS {edges}")
    return out


# ----------------------------------------------------------------------------- build

_IMAGE_TYPE = '[{"url": "VARCHAR", "sha256": "VARCHAR", "phash": "VARCHAR"}]'


def ad_images_sql() -> str:
    """Distinct (ad_key, sha256, phash, h) of every observation's images, malformed hashes dropped.

    An ad shows the same images crawl after crawl: each distinct (ad, images) list is read once."""
    return f"""
        WITH lists AS (
            SELECT DISTINCT ad_key, images FROM ad_observations WHERE images IS NOT NULL AND ad_key IS NOT NULL
        ), raw AS (
            SELECT ad_key,
                   unnest(CASE WHEN json_type(images) = 'ARRAY' THEN from_json(images, '{_IMAGE_TYPE}') END) AS img
            FROM lists
        ), folded AS (
            SELECT ad_key, lower(trim(img.sha256)) AS sha256, lower(trim(img.phash)) AS phash FROM raw
        ), clean AS (
            SELECT ad_key,
                   CASE WHEN regexp_full_match(sha256, '[0-9a-f]{{64}}') THEN sha256 END AS sha256,
                   CASE WHEN regexp_full_match(phash, '[0-9a-f]{{16}}') THEN phash END AS phash
            FROM folded
        )
        SELECT DISTINCT ad_key, sha256, phash FROM clean WHERE sha256 IS NOT NULL OR phash IS NOT NULL
    """


def build_photo_links(con: duckdb.DuckDBPyConnection, params: PhotoParams = PhotoParams()) -> PhotoReport:
    """Write ``photos`` and ``photo_links`` from ``ad_observations`` (and ``observation_phones``)."""
    p = params
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ph_ad_raw AS {ad_images_sql()}")
    # one phash per file (the most common one, if a file was hashed inconsistently)
    con.execute("""CREATE OR REPLACE TEMP TABLE _ph_img AS
        WITH keyed AS (
            SELECT coalesce(sha256, phash) AS image_key, sha256 IS NOT NULL AS is_file, phash FROM _ph_ad_raw
        )
        SELECT image_key, bool_or(is_file) AS is_file, mode(phash) AS phash,
               ('0x' || mode(phash))::UBIGINT AS h
        FROM keyed GROUP BY image_key""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _ph_ad AS
        SELECT DISTINCT ad_key, coalesce(sha256, phash) AS image_key FROM _ph_ad_raw""")
    n_ad_images = con.execute("SELECT count(*) FROM _ph_ad").fetchone()[0]
    # near pairs of distinct, non-degenerate hashes
    lo_bits, hi_bits = p.min_phash_bits, _HASH_BITS - p.min_phash_bits
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ph_hash AS
        SELECT DISTINCT h FROM _ph_img WHERE h IS NOT NULL AND bit_count(h) BETWEEN {lo_bits} AND {hi_bits}""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ph_near AS {near_pairs_sql('_ph_hash', p)}")
    n_near = con.execute("SELECT count(*) FROM _ph_near").fetchone()[0]
    n_hashes = con.execute("SELECT count(*) FROM _ph_hash").fetchone()[0]
    # matches between photos: itself (same file, or same phash-only photo), near or equal phash
    con.execute("""CREATE OR REPLACE TEMP TABLE _ph_match AS
        WITH hp AS (
            SELECT a AS ha, b AS hb, distance FROM _ph_near
            UNION ALL SELECT b, a, distance FROM _ph_near
            UNION ALL SELECT h, h, 0 FROM _ph_hash
        )
        SELECT image_key AS x, image_key AS y, 0::BIGINT AS distance,
               CASE WHEN is_file THEN 'sha256' ELSE 'phash' END AS match
        FROM _ph_img
        UNION ALL
        SELECT x.image_key, y.image_key, hp.distance, 'phash'
        FROM hp JOIN _ph_img x ON x.h = hp.ha JOIN _ph_img y ON y.h = hp.hb
        WHERE x.image_key <> y.image_key""")
    ads_sql = "SELECT DISTINCT ad_key FROM _ph_ad"
    groups = phone_components(con, ads_sql, out="_ph_groups")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ph_stats AS
        WITH nb AS (
            SELECT DISTINCT m.x AS image_key, a.ad_key FROM _ph_match m JOIN _ph_ad a ON a.image_key = m.y
        )
        SELECT nb.image_key, count(DISTINCT nb.ad_key) AS n_ads, count(DISTINCT g.comp) AS n_components
        FROM nb JOIN {groups} g USING (ad_key) GROUP BY nb.image_key""")
    replace_table(con, PHOTOS, f"""
        SELECT i.image_key, i.phash, s.n_ads, s.n_components,
               (s.n_components > {p.max_components}
                OR (s.n_ads > {p.max_ads_per_photo} AND s.n_components > 1)) AS stock,
               CASE
                 WHEN s.n_components > {p.max_components} THEN
                   'stock: shown on ' || s.n_ads || ' ads in ' || s.n_components
                   || ' groups of ads that share no phone number (more than {p.max_components}): a circulating photo'
                 WHEN s.n_ads > {p.max_ads_per_photo} AND s.n_components > 1 THEN
                   'stock: shown on ' || s.n_ads || ' ads (more than {p.max_ads_per_photo}) in '
                   || s.n_components || ' groups of ads that share no phone number: too common to link groups'
                 WHEN s.n_ads = 1 THEN 'shown on one ad'
                 WHEN s.n_components = 1 THEN 'shown on ' || s.n_ads || ' ads that share phone numbers'
                 ELSE 'shown on ' || s.n_ads || ' ads in ' || s.n_components
                      || ' groups of ads that share no phone number: links them'
               END AS reason
        FROM _ph_img i JOIN _ph_stats s USING (image_key)
        ORDER BY i.image_key""")
    n_links = replace_table(con, PHOTO_LINKS, """
        WITH ok AS (SELECT image_key, n_ads FROM photos WHERE NOT stock),
        pairs AS (
            SELECT a.ad_key AS ad_a, b.ad_key AS ad_b, m.match, m.x AS image_a, m.y AS image_b, m.distance,
                   greatest(ox.n_ads, oy.n_ads) AS n_ads_with_image
            FROM _ph_match m
            JOIN ok ox ON ox.image_key = m.x
            JOIN ok oy ON oy.image_key = m.y
            JOIN _ph_ad a ON a.image_key = m.x
            JOIN _ph_ad b ON b.image_key = m.y
            WHERE a.ad_key < b.ad_key
        )
        SELECT ad_a, ad_b,
               arg_min(match, (match <> 'sha256', distance, image_a, image_b)) AS match,
               arg_min(image_a, (match <> 'sha256', distance, image_a, image_b)) AS image_a,
               arg_min(image_b, (match <> 'sha256', distance, image_a, image_b)) AS image_b,
               arg_min(distance, (match <> 'sha256', distance, image_a, image_b)) AS distance,
               arg_min(n_ads_with_image, (match <> 'sha256', distance, image_a, image_b)) AS n_ads_with_image
        FROM pairs GROUP BY ad_a, ad_b
        ORDER BY ad_a, ad_b""")
    counts = con.execute("""SELECT count(*) FILTER (stock), count(*) FROM photos""").fetchone()
    by_match = dict(con.execute("SELECT match, count(*) FROM photo_links GROUP BY match").fetchall())
    max_k = con.execute("""SELECT coalesce(max(n_ads), 0) FROM photos p
        WHERE NOT stock AND n_ads > 1""").fetchone()[0]
    for t in ("_ph_ad_raw", "_ph_img", "_ph_ad", "_ph_hash", "_ph_near", "_ph_match",
              "_ph_stats", groups):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return PhotoReport(n_ad_images=n_ad_images, n_photos=counts[1], n_stock=counts[0], n_hashes=n_hashes,
                       n_near_pairs=n_near, n_links=n_links, n_links_sha256=by_match.get("sha256", 0),
                       n_links_phash=by_match.get("phash", 0), max_ads_linked=max_k)
