"""Near-duplicate ad texts: WEAK evidence, kept for reading and excluded from networks by default.

Run over real markets, this method finds the same texts copied Europe-wide: the same "new in
town, real photos, discreet flat" paragraphs turn up in the ads of unrelated advertisers in many
countries, copied from each other, from agencies and from templates, and translated back and
forth. Two ads with near-identical texts may be one writer, or two strangers who copied the same
paragraph. So ``text_links`` never proves a connection by itself: ``links`` gives it a low weight
and leaves it out of networks, and pairs whose likeness is boilerplate are flagged
``shared_boilerplate`` (and dropped there).

Steps (set-based SQL in DuckDB over whole tables; no pair of texts is compared outside a block)

1. **One text per ad**: title and text of the ad's latest observation (``seen_at``, then
   ``snapshot_id``), NFC-normalised, HTML tags removed, the usual entities decoded (``&amp;``,
   ``&nbsp;``, ``&aring;``/``&#229;``, ``&oslash;``, ``&aelig;``...), lower-cased. Words are runs of
   Unicode letters, marks and digits, so "søt", "ærlig" and "håper" stay whole words, while
   punctuation, emojis and folded whitespace disappear.
2. **Shingles**: every run of ``shingle_words`` consecutive words, kept once per ad.
3. **Boilerplate**: a shingle found in more than ``boilerplate_min_ads`` ads. The *distinctive*
   shingles of an ad are the others.
4. **Blocking: MinHash and LSH over distinctive shingles.** For each of ``bands × rows`` seeds,
   the minimum of ``hash(shingle, seed)`` over the ad's distinctive shingles; ads agreeing on all
   ``rows`` minima of some band are candidates. Two ads with distinctive Jaccard ``J`` become
   candidates with probability ``1 − (1 − J^rows)^bands``. Because equal minima mean a shared
   distinctive shingle and no such shingle is in more than ``boilerplate_min_ads`` ads, no LSH
   bucket holds more ads than that: candidates grow linearly with the ads, however many ads
   copy a template (blocking on all shingles would make every pair of a template's thousand
   copies a candidate).
5. **Similarity**: for the candidates only, the exact Jaccard similarity of the full shingle sets
   (``similarity``) and of the distinctive ones; pairs with ``similarity >= min_similarity`` are
   kept. ``shared_boilerplate`` is true unless the distinctive parts alone are as similar
   (``>= min_similarity``) and share at least ``min_shingles`` shingles: i.e. the pair's likeness
   is mostly boilerplate, or the distinctive text they share is too short to mean anything.

The MinHash signature only chooses which pairs to compare; the exact Jaccard of the candidates
replaces the estimate (64 minima estimate J=0.8 with a standard error of 0.05, so pairs at 0.7
would pass three times in a hundred). Pairs similar only through boilerplate are, by this
blocking, often not candidates at all: those are "not linked", the rest "marked".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from adnet_assets.lib.store import replace_table
from adnet_assets.schema import TEXT_LINKS


@dataclass(frozen=True)
class TextParams:
    """What counts as one text copied, and what counts as a paragraph everyone copies.

    shingle_words 3: ad texts are short (30-80 words with the title). Single words would make
    any two texts in one language alike; shingles of 5+ words leave a short ad with few shingles
    and let one edited word break five of them. With 3, one changed word breaks at most three
    shingles: a 60-word text with one word changed keeps a Jaccard of 55/61 = 0.90, with two
    0.81, with three 0.73.

    min_similarity 0.8: "the same text with at most two words edited" for a 60-word ad (see
    above), a rewritten sentence already falls below. Near-duplicate detection of web pages uses
    0.8-0.9; lower thresholds mostly add texts that share a template paragraph and differ in the
    rest, which is exactly the boilerplate we cannot tell from a network's own copy.

    bands 16 × rows 4 (64 minima): the LSH S-curve ``1 − (1 − J⁴)¹⁶`` turns at about
    (1/16)^(1/4) = 0.5. A pair at the threshold J = 0.8 is a candidate with probability 0.9998, at
    J = 0.7 with 0.988; unrelated texts (J ≈ 0.1) with 0.0016, so blocking misses almost nothing
    worth keeping and compares few pairs. More rows per band would sharpen the curve but risk
    missing 0.8 pairs (8 bands × 8 rows: 0.77 at J=0.8).

    boilerplate_min_ads 20: a shingle that more than 20 ads share is circulating. The demo market
    plants 14 template paragraphs, each copied by 75-117 ads of unrelated advertisers and
    networks; a worker's ads (one to a few ads, re-posted) stay far below. A network that posts
    one text on more than 20 ads loses the text link between them: a missed weak link, and
    those ads are nearly always joined by numbers or photos. The threshold also bounds every LSH
    bucket to 20 ads (190 pairs), see the module docstring.

    min_shingles 8: an ad needs 8 distinctive shingles (about 10 words of its own) to be compared,
    and a pair must share 8 distinctive shingles to be more than boilerplate. Two texts sharing
    only "hei jeg heter anna 25 år" plus a template say nothing about who wrote them.
    """

    shingle_words: int = 3
    min_similarity: float = 0.8
    bands: int = 16
    rows: int = 4
    boilerplate_min_ads: int = 20
    min_shingles: int = 8

    def __post_init__(self) -> None:
        if self.shingle_words < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("shingle_words, bands and rows must be >= 1")
        if not 0.0 < self.min_similarity <= 1.0:
            raise ValueError("min_similarity must be in (0, 1]")
        if self.boilerplate_min_ads < 2 or self.min_shingles < 1:
            raise ValueError("boilerplate_min_ads must be >= 2 and min_shingles >= 1")

    @property
    def n_hashes(self) -> int:
        return self.bands * self.rows


@dataclass(frozen=True)
class TextReport:
    n_ads: int                 # ads with a text
    n_compared: int            # ads with at least min_shingles distinctive shingles
    n_boilerplate_shingles: int
    n_candidates: int          # pairs from LSH
    n_links: int               # rows in text_links
    n_shared_boilerplate: int  # of which flagged


# HTML entities worth decoding in Nordic ad texts; any other entity becomes a space
_ENTITIES = {
    "&nbsp;": " ", "&amp;": "&", "&quot;": '"', "&apos;": "'", "&#39;": "'", "&lt;": "<", "&gt;": ">",
    "&aring;": "å", "&Aring;": "Å", "&oslash;": "ø", "&Oslash;": "Ø", "&aelig;": "æ", "&AElig;": "Æ",
    "&auml;": "ä", "&Auml;": "Ä", "&ouml;": "ö", "&Ouml;": "Ö", "&uuml;": "ü", "&Uuml;": "Ü",
    "&eacute;": "é", "&Eacute;": "É",
    "&#229;": "å", "&#197;": "Å", "&#248;": "ø", "&#216;": "Ø", "&#230;": "æ", "&#198;": "Æ",
    "&#228;": "ä", "&#196;": "Ä", "&#246;": "ö", "&#214;": "Ö", "&#252;": "ü", "&#233;": "é",
    "&#xe5;": "å", "&#xf8;": "ø", "&#xe6;": "æ", "&#xe4;": "ä", "&#xf6;": "ö",
}


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def normalise_sql(expr: str) -> str:
    """SQL expression: ``expr`` with markup removed, entities decoded, NFC, lower case."""
    out = f"regexp_replace(nfc_normalize({expr}), '</?[A-Za-z!][^<>]*>', ' ', 'g')"
    for ent, ch in _ENTITIES.items():
        out = f"replace({out}, {_sql_str(ent)}, {_sql_str(ch)})"
    out = f"regexp_replace({out}, '&#?[A-Za-z0-9]+;', ' ', 'g')"
    return f"lower({out})"


def words_sql(expr: str) -> str:
    """SQL expression: the list of words (runs of Unicode letters, marks, digits) of ``expr``."""
    return f"regexp_extract_all({normalise_sql(expr)}, '[\\p{{L}}\\p{{M}}\\p{{N}}]+')"


def latest_texts_sql() -> str:
    """One row per ad: the words of title + text of its latest observation."""
    return f"""
        WITH latest AS (
            SELECT ad_key,
                   arg_max(coalesce(title, '') || ' ' || coalesce(text, ''), (seen_at, snapshot_id)) AS body
            FROM ad_observations WHERE ad_key IS NOT NULL GROUP BY ad_key
        )
        SELECT ad_key, {words_sql('body')} AS words FROM latest
    """


def build_text_links(con: duckdb.DuckDBPyConnection, params: TextParams = TextParams()) -> TextReport:
    """Write ``text_links`` from ``ad_observations``."""
    p = params
    k = p.shingle_words
    con.execute(f"CREATE OR REPLACE TEMP TABLE _tx_words AS {latest_texts_sql()}")
    n_ads = con.execute("SELECT count(*) FROM _tx_words WHERE len(words) > 0").fetchone()[0]
    # distinct shingles of each ad, as 64-bit hashes (a collision among a few million shingles: ~1e-7)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tx_sh AS
        SELECT DISTINCT ad_key, hash(shingle) AS sid FROM (
            SELECT ad_key, unnest(CASE WHEN len(words) >= {k}
                THEN list_transform(range(1, len(words) - {k} + 2),
                                    lambda i: array_to_string(words[i:i + {k - 1}], ' '))
                ELSE [array_to_string(words, ' ')] END) AS shingle
            FROM _tx_words WHERE len(words) > 0)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tx_bp AS
        SELECT sid FROM _tx_sh GROUP BY sid HAVING count(*) > {p.boilerplate_min_ads}""")
    n_bp = con.execute("SELECT count(*) FROM _tx_bp").fetchone()[0]
    con.execute("""CREATE OR REPLACE TEMP TABLE _tx_ad AS
        SELECT s.ad_key, s.sid, b.sid IS NOT NULL AS boiler FROM _tx_sh s LEFT JOIN _tx_bp b USING (sid)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _tx_size AS
        SELECT ad_key, count(*) AS n, count(*) FILTER (NOT boiler) AS n_own FROM _tx_ad GROUP BY ad_key""")
    # MinHash over distinctive shingles of the ads with enough of them, then LSH bands
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tx_band AS
        WITH own AS (
            SELECT a.ad_key, a.sid FROM _tx_ad a JOIN _tx_size z USING (ad_key)
            WHERE NOT a.boiler AND z.n_own >= {p.min_shingles}
        ), sig AS (
            SELECT own.ad_key, seed, min(hash(own.sid, seed)) AS m
            FROM own CROSS JOIN range({p.n_hashes}) AS seeds(seed)
            GROUP BY own.ad_key, seed
        )
        SELECT ad_key, seed // {p.rows} AS band, hash(list(m ORDER BY seed)) AS bucket
        FROM sig GROUP BY ad_key, band""")
    n_compared = con.execute("SELECT count(DISTINCT ad_key) FROM _tx_band").fetchone()[0]
    con.execute("""CREATE OR REPLACE TEMP TABLE _tx_cand AS
        SELECT DISTINCT x.ad_key AS ad_a, y.ad_key AS ad_b
        FROM _tx_band x JOIN _tx_band y ON x.band = y.band AND x.bucket = y.bucket AND x.ad_key < y.ad_key""")
    n_cand = con.execute("SELECT count(*) FROM _tx_cand").fetchone()[0]
    # The candidate pairs' shingles first, then the match on the other ad: written as one join, the
    # planner (without statistics inside a transaction) may join the shingles to themselves first,
    # which grows with the square of the ads sharing boilerplate (16 minutes at 1M observations).
    con.execute("""CREATE OR REPLACE TEMP TABLE _tx_cand_sh AS
        SELECT c.ad_a, c.ad_b, x.sid, x.boiler FROM _tx_cand c JOIN _tx_ad x ON x.ad_key = c.ad_a""")
    n_links = replace_table(con, TEXT_LINKS, f"""
        WITH inter AS (
            SELECT c.ad_a, c.ad_b, count(*) AS n_both, count(*) FILTER (NOT c.boiler) AS n_both_own
            FROM _tx_cand_sh c
            JOIN _tx_ad y ON y.ad_key = c.ad_b AND y.sid = c.sid
            GROUP BY c.ad_a, c.ad_b
        ), scored AS (
            SELECT i.ad_a, i.ad_b, i.n_both_own,
                   i.n_both / (za.n + zb.n - i.n_both) AS similarity,
                   i.n_both_own / greatest(za.n_own + zb.n_own - i.n_both_own, 1) AS own_similarity
            FROM inter i JOIN _tx_size za ON za.ad_key = i.ad_a JOIN _tx_size zb ON zb.ad_key = i.ad_b
        )
        SELECT ad_a, ad_b, similarity,
               NOT (own_similarity >= {p.min_similarity} AND n_both_own >= {p.min_shingles}) AS shared_boilerplate
        FROM scored WHERE similarity >= {p.min_similarity}
        ORDER BY ad_a, ad_b""")
    n_flag = con.execute("SELECT count(*) FROM text_links WHERE shared_boilerplate").fetchone()[0]
    for t in ("_tx_words", "_tx_sh", "_tx_bp", "_tx_ad", "_tx_size", "_tx_band", "_tx_cand", "_tx_cand_sh"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return TextReport(n_ads=n_ads, n_compared=n_compared, n_boilerplate_shingles=n_bp, n_candidates=n_cand,
                      n_links=n_links, n_shared_boilerplate=n_flag)
