"""texts: near-duplicate ad texts by shingles, MinHash and LSH; boilerplate flagged or left out."""

from __future__ import annotations

import csv
import json
import random

import duckdb

from adnet_assets.lib.store import ensure_table
from adnet_assets.lib.texts import TextParams, build_text_links, words_sql
from adnet_assets.schema import AD_OBSERVATIONS

RNG = random.Random(3)
VOCAB = [f"ord{i}" for i in range(5000)]


def _words(n: int, rng: random.Random = RNG) -> list[str]:
    return rng.sample(VOCAB, n)


def _con(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """rows: (ad_key, title, text) or (ad_key, title, text, seen_at)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    ensure_table(con, AD_OBSERVATIONS)
    con.executemany(
        "INSERT INTO ad_observations (ad_key, snapshot_id, seen_at, title, text) VALUES (?, ?, ?, ?, ?)",
        [[r[0], (r[3] if len(r) > 3 else "2026-06-01")[:10] + "T0614Z",
          (r[3] if len(r) > 3 else "2026-06-01") + " 06:20+00", r[1], r[2]] for r in rows])
    return con


def _links(con) -> dict[tuple[str, str], tuple[float, bool]]:
    return {(a, b): (s, f) for a, b, s, f in con.execute(
        "SELECT ad_a, ad_b, similarity, shared_boilerplate FROM text_links").fetchall()}


def test_identical_texts_similarity_one():
    text = " ".join(_words(30))
    con = _con([("s:1", "Title here", text), ("s:2", "Title here", text), ("s:3", None, " ".join(_words(30)))])
    report = build_text_links(con)
    assert _links(con) == {("s:1", "s:2"): (1.0, False)}
    assert report.n_links == 1 and report.n_shared_boilerplate == 0


def test_one_word_changed_in_sixty_is_high():
    words = _words(60)
    changed = words[:30] + ["endret"] + words[31:]
    con = _con([("s:1", None, " ".join(words)), ("s:2", None, " ".join(changed))])
    build_text_links(con)
    ((pair, (sim, flag)),) = _links(con).items()
    assert pair == ("s:1", "s:2") and flag is False
    assert abs(sim - 55 / 61) < 1e-9  # three shingles of 58 broken on each side


def test_rewritten_text_is_not_linked():
    words = _words(60)
    rewritten = words[:20] + _words(12) + words[32:]  # a sentence rewritten
    con = _con([("s:1", None, " ".join(words)), ("s:2", None, " ".join(rewritten))])
    build_text_links(con)
    assert _links(con) == {}


def test_short_texts_are_not_compared():
    con = _con([("s:1", "Ring meg", "Ny i byen"), ("s:2", "Ring meg", "Ny i byen")])
    report = build_text_links(con)
    assert report.n_compared == 0 and _links(con) == {}


def test_latest_text_of_each_ad_counts():
    a, b = " ".join(_words(30)), " ".join(_words(30))
    con = _con([("s:1", None, a, "2026-06-01"), ("s:1", None, b, "2026-06-04"), ("s:2", None, a, "2026-06-04")])
    build_text_links(con)
    assert _links(con) == {}
    con = _con([("s:1", None, b, "2026-06-01"), ("s:1", None, a, "2026-06-04"), ("s:2", None, a, "2026-06-04")])
    build_text_links(con)
    assert set(_links(con)) == {("s:1", "s:2")}


def test_boilerplate_shared_by_40_ads_is_flagged_or_left_out():
    """A long template paragraph plus a few words of each ad's own: alike by Jaccard, not evidence."""
    template = " ".join(_words(120))
    rows = [(f"s:{i:02d}", None, " ".join(_words(10)) + " " + template) for i in range(40)]
    # two ads of one writer: the same own text (distinctive) and the template
    own = " ".join(_words(14))
    rows += [("s:w1", None, own + " " + template), ("s:w2", None, own + " " + template)]
    # two ads sharing the template and a few words of their own, alike enough to be LSH candidates
    half = _words(8)
    rows += [("s:h1", None, " ".join(half + _words(5)) + " " + template),
             ("s:h2", None, " ".join(half + _words(5)) + " " + template)]
    con = _con(rows)
    # without boilerplate detection every pair of the 44 ads is a near-duplicate
    build_text_links(con, TextParams(boilerplate_min_ads=10**6))
    links = _links(con)
    assert len(links) == 44 * 43 // 2 and not any(f for _, f in links.values())
    # with it (and a blocking that makes every shared-shingle pair a candidate, to see the flag)
    for params in (TextParams(), TextParams(bands=64, rows=1)):
        report = build_text_links(con, params)
        links = _links(con)
        assert links[("s:w1", "s:w2")][1] is False  # the writer's own text links
        assert all(flag for pair, (_, flag) in links.items() if pair != ("s:w1", "s:w2"))
        assert report.n_boilerplate_shingles >= 118
    assert links[("s:h1", "s:h2")][1] is True  # found by the wide blocking, marked as boilerplate


def test_lsh_finds_close_pairs_and_few_far_ones():
    """The S-curve of 16 bands x 4 rows: pairs at Jaccard 0.82 all found, pairs at 0.29 rarely."""
    rows = []
    for tag, shared in (("near", 36), ("far", 18)):  # 40 words each: J = s / (80 - s)
        for i in range(150):
            own = [f"{tag}x{i}s{j}" for j in range(shared)]
            rows += [(f"{tag}:{i}:{side}", None, " ".join(own + [f"{tag}x{i}{side}{j}" for j in range(40 - shared)]))
                     for side in "ab"]
    con = _con(rows)
    build_text_links(con, TextParams(shingle_words=1, min_similarity=0.01))
    found = dict(con.execute("SELECT split_part(ad_a, ':', 1), count(*) FROM text_links "
                             "WHERE split_part(ad_a, ':', 2) = split_part(ad_b, ':', 2) GROUP BY 1").fetchall())
    assert con.execute("SELECT count(*) FROM text_links WHERE split_part(ad_a, ':', 2) <> split_part(ad_b, ':', 2) "
                       "OR split_part(ad_a, ':', 1) <> split_part(ad_b, ':', 1)").fetchone()[0] == 0
    assert found["near"] == 150  # theory: 0.9996 each
    assert 3 <= found.get("far", 0) <= 35  # theory: 1 - (1 - 0.29^4)^16 = 0.11, i.e. ~17 of 150


def test_norwegian_letters_markup_and_entities():
    con = duckdb.connect()
    raw = "<b>SØT</b><br>jente &amp; ærlig&nbsp;h&aring;per 😘 p&#229; Tromsø, 25 år!"
    got = con.execute(f"SELECT {words_sql('?')}", [raw]).fetchone()[0]
    assert got == ["søt", "jente", "ærlig", "håper", "på", "tromsø", "25", "år"]
    # decomposed å (a + combining ring) is the same word as the composed one; ø is not o
    assert con.execute(f"SELECT {words_sql('?')}", ["ha\u030aper sot"]).fetchone()[0] == ["håper", "sot"]
    base = ("Hei kjære, jeg er en søt og blid jente fra Bergen som håper å møte deg. "
            "Diskret leilighet i sentrum, ærlig og trygg. Ring meg på kvelden, ikke skjult nummer.")
    marked = ("<p><b>HEI KJÆRE</b>, jeg er en s&oslash;t og blid jente fra Bergen som h&aring;per å møte deg.</p>"
              "<br/>Diskret leilighet i sentrum,   &aelig;rlig og trygg!! 😘 "
              "Ring meg på kvelden, ikke skjult nummer.")
    ascii_ = base.replace("ø", "o").replace("å", "a").replace("æ", "ae")
    con = _con([("s:1", None, base), ("s:2", None, marked), ("s:3", None, ascii_)])
    build_text_links(con)
    links = _links(con)
    assert links[("s:1", "s:2")] == (1.0, False)
    assert ("s:1", "s:3") not in links  # letters are kept, not folded: "søt" is not "sot"


def test_demo_market_boilerplate_marked(demo_market):
    root = demo_market.root
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_market.database}' AS src (READ_ONLY)")
    con.execute("CREATE TABLE ad_observations AS SELECT * FROM src.ad_observations")
    con.execute("DETACH src")
    report = build_text_links(con)
    traps = json.loads((root / "demo-truth" / "traps.json").read_text())
    with open(root / "demo-truth" / "ads.csv", newline="") as f:
        truth = {r["ad_key"]: r for r in csv.DictReader(f)}
    bp: dict[str, set[str]] = {}
    for t in traps["boilerplate_texts"]:
        for k in t["ad_keys"]:
            bp.setdefault(k, set()).add(t["text_id"])
    assert bp

    def same_actor(a, b):
        return ((truth[a]["network_id"] and truth[a]["network_id"] == truth[b]["network_id"])
                or truth[a]["person_id"] == truth[b]["person_id"])

    rows = con.execute("SELECT ad_a, ad_b, similarity, shared_boilerplate FROM text_links").fetchall()
    unmarked_strangers = [r for r in rows if bp.get(r[0], set()) & bp.get(r[1], set())
                          and not same_actor(r[0], r[1]) and not r[3]]
    assert not unmarked_strangers, "pairs of strangers sharing a template are marked or left out"
    kept = [r for r in rows if not r[3]]
    wrong = [r for r in kept if not same_actor(r[0], r[1])]
    print(f"text_links: {len(rows)} pairs, {report.n_shared_boilerplate} marked shared_boilerplate, "
          f"{len(kept)} unmarked of which {len(wrong)} between different actors; {report.n_candidates} LSH "
          f"candidates for {report.n_compared} ads compared; {report.n_boilerplate_shingles} boilerplate shingles")
    assert not wrong
