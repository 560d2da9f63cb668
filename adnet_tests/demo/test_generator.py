"""Tests of the synthetic market generator (adnet_assets.demo.generator)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from adnet_assets.demo.generator import (
    BILLING_HEADER,
    DIRECTORY_HEADER,
    SITES,
    STOCK_MIN_ACTORS,
    MarketSummary,
    generate_market,
)

SNAP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{4}Z$")
E164_RE = re.compile(r"^\+\d{8,15}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> MarketSummary:
    msgs: list[str] = []
    s = generate_market(tmp_path_factory.mktemp("tiny"), seed=11, scale=0.05, progress=msgs.append)
    assert any("snapshot" in m for m in msgs)
    return s


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> MarketSummary:
    return generate_market(tmp_path_factory.mktemp("full"), seed=7, scale=1.0)


@pytest.fixture(params=["tiny", "full"])
def market(request) -> MarketSummary:
    return request.getfixturevalue(request.param)


def file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def truth(m: MarketSummary, name: str):
    p = m.truth_dir / name
    return json.loads(p.read_text("utf-8")) if name.endswith(".json") else read_csv(p)


def bad_set(m: MarketSummary) -> set[tuple[str, int]]:
    return {(b["file"], b["line"]) for b in truth(m, "traps.json")["bad_lines"]}


def observations(m: MarketSummary):
    """(site, snapshot_id, record) for every good line."""
    bad = bad_set(m)
    for f in sorted((m.data_dir / "snapshots").glob("*/*/ads.jsonl")):
        rel = str(f.relative_to(m.data_dir))
        site, sid = f.parent.parent.name, f.parent.name
        for n, line in enumerate(f.read_bytes().split(b"\n")[:-1], start=1):
            if (rel, n) in bad:
                continue
            yield site, sid, json.loads(line.decode("utf-8"))


def displays(m: MarketSummary) -> dict[tuple[str, str], str]:
    return {(r["raw"], r["default_country"]): r["phone"] for r in truth(m, "displays.csv")}


def directory_rows(m: MarketSummary) -> list[dict[str, str]]:
    rows = []
    for f in sorted((m.data_dir / "directory").glob("*.csv")):
        rows.extend(read_csv(f))
    return rows


def ad_numbers(m: MarketSummary) -> dict[str, list[str]]:
    """ad_key -> E.164 numbers shown over time (in crawl order)."""
    disp = displays(m)
    out: dict[str, list[str]] = defaultdict(list)
    for site, _sid, d in observations(m):
        for raw in d["phones"]:
            out[f"{site}:{d['ad_id']}"].append(disp[(raw, d["country"])])
    return out


# ---------------------------------------------------------------------------
# determinism and file integrity
# ---------------------------------------------------------------------------


def test_deterministic_same_seed(tmp_path, tiny):
    again = generate_market(tmp_path / "again", seed=11, scale=0.05)
    assert file_hashes(again.data_dir) == file_hashes(tiny.data_dir)
    assert again.n_observations == tiny.n_observations


def test_different_seed_differs(tmp_path, tiny):
    other = generate_market(tmp_path / "other", seed=12, scale=0.05)
    a, b = file_hashes(tiny.data_dir), file_hashes(other.data_dir)
    assert a != b
    common = set(a) & set(b)
    assert any(a[k] != b[k] for k in common) or set(a) != set(b)


def test_manifests_match_files(market):
    snaps = sorted((market.data_dir / "snapshots").glob("*/*"))
    assert len(snaps) == market.n_snapshots
    for folder in snaps:
        man = json.loads((folder / "manifest.json").read_text("utf-8"))
        data = (folder / "ads.jsonl").read_bytes()
        assert man["site"] == folder.parent.name in SITES
        assert man["snapshot_id"] == folder.name
        assert man["files"]["ads.jsonl"] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        assert man["ads"] == data.count(b"\n") and data.endswith(b"\n")
        started = datetime.fromisoformat(man["started_at"].replace("Z", "+00:00"))
        finished = datetime.fromisoformat(man["finished_at"].replace("Z", "+00:00"))
        assert man["started_at"].endswith("Z") and finished > started
        assert started.strftime("%Y-%m-%dT%H%MZ") == folder.name
    assert not list(market.data_dir.rglob(".*.tmp-*")), "temp files left behind"


def test_snapshot_ids_mondays_thursdays(market):
    ids_by_site = defaultdict(list)
    for folder in (market.data_dir / "snapshots").glob("*/*"):
        sid = folder.name
        assert SNAP_RE.match(sid), sid
        dt = datetime.strptime(sid, "%Y-%m-%dT%H%MZ")
        assert dt.weekday() in (0, 3), sid
        assert 6 * 60 <= dt.hour * 60 + dt.minute <= 7 * 60 + 30, sid
        assert date(2026, 6, 1) <= dt.date() < date(2026, 8, 31)
        ids_by_site[folder.parent.name].append(sid)
    assert set(ids_by_site) == set(SITES)
    assert all(len(v) == 26 for v in ids_by_site.values())


def test_lines_valid_with_types(market):
    n = 0
    for _site, sid, d in observations(market):
        n += 1
        assert isinstance(d["ad_id"], str) and d["ad_id"]
        seen = datetime.fromisoformat(d["seen_at"].replace("Z", "+00:00"))
        assert seen.tzinfo is not None
        assert seen.strftime("%Y-%m-%d") >= sid[:10]
        assert d["country"] in ("NO", "SE", "DK", "FI")
        for k in ("url", "city", "title", "text", "name"):
            assert isinstance(d[k], str) and d[k], k
        assert isinstance(d["age"], int)
        assert isinstance(d["phones"], list) and d["phones"] and all(isinstance(p, str) for p in d["phones"])
        assert isinstance(d["images"], list)
        for im in d["images"]:
            assert set(im) == {"url", "sha256", "phash"}
            assert HEX64.match(im["sha256"]) and HEX16.match(im["phash"])
        assert isinstance(d["tour"], list)
        for t in d["tour"]:
            assert set(t) == {"city", "from", "to"}
            assert date.fromisoformat(t["from"]) <= date.fromisoformat(t["to"])
        assert isinstance(d["contact"], dict) and isinstance(d["contact"]["whatsapp"], bool)
    assert n == market.n_observations


def test_bad_lines_are_bad_and_recorded(market):
    bad = truth(market, "traps.json")["bad_lines"]
    assert len(bad) == market.n_bad_lines >= 5
    assert {b["reason"] for b in bad} == {"not_json", "truncated_json", "missing_ad_id", "phones_not_list",
                                          "invalid_utf8"}
    for b in bad:
        line = (market.data_dir / b["file"]).read_bytes().split(b"\n")[b["line"] - 1]
        if b["reason"] == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                line.decode("utf-8")
            continue
        text = line.decode("utf-8")
        if b["reason"] in ("not_json", "truncated_json"):
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
        elif b["reason"] == "missing_ad_id":
            assert "ad_id" not in json.loads(text)
        else:
            assert not isinstance(json.loads(text)["phones"], list)


def test_no_bad_lines_when_disabled(tmp_path):
    m = generate_market(tmp_path, seed=3, scale=0.05, bad_lines=False)
    assert m.n_bad_lines == 0 and truth(m, "traps.json")["bad_lines"] == []
    for f in (m.data_dir / "snapshots").glob("*/*/ads.jsonl"):
        for line in f.read_bytes().split(b"\n")[:-1]:
            d = json.loads(line.decode("utf-8"))
            assert isinstance(d["phones"], list) and d["ad_id"]


def test_counts_at_scale_one(full):
    assert 15_000 <= full.n_observations <= 25_000
    assert 2_250 <= full.n_ads <= 3_750
    assert full.n_snapshots == 52
    assert 8 <= full.n_networks <= 12


# ---------------------------------------------------------------------------
# truth files
# ---------------------------------------------------------------------------


def test_truth_files_and_columns(market):
    cols = {
        "networks.csv": ["network_id", "name", "n_ads", "n_phones", "n_owners", "cells", "joined_by"],
        "ads.csv": ["ad_key", "site", "ad_id", "network_id", "person_id"],
        "phones.csv": ["phone", "region", "network_id", "role", "owner_person_id", "listed", "series_block"],
        "persons.csv": ["person_id", "canonical_name", "address", "kind"],
        "displays.csv": ["raw", "default_country", "phone", "obfuscated"],
    }
    for name, c in cols.items():
        assert header(market.truth_dir / name) == c, name
    phones = truth(market, "phones.csv")
    assert phones and all(E164_RE.match(r["phone"]) for r in phones)
    assert all(r["role"] in ("worker", "controller", "customer", "independent") for r in phones)
    assert all(r["phone"].startswith(r["series_block"]) for r in phones)
    assert all(E164_RE.match(r["phone"]) for r in truth(market, "displays.csv"))
    persons = {r["person_id"]: r for r in truth(market, "persons.csv")}
    ads = truth(market, "ads.csv")
    nets = {r["network_id"] for r in truth(market, "networks.csv")}
    for a in ads:
        assert a["ad_key"] == f"{a['site']}:{a['ad_id']}"
        assert a["person_id"] in persons
        assert a["network_id"] == "" or a["network_id"] in nets
    for r in phones:
        assert r["owner_person_id"] == "" or r["owner_person_id"] in persons
    # the ads in the truth are exactly the ads in the data
    seen = {f"{site}:{d['ad_id']}" for site, _s, d in observations(market)}
    assert seen == {a["ad_key"] for a in ads}
    assert len(ads) == market.n_ads


def test_every_display_has_truth_and_no_collisions(market):
    disp = displays(market)
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    actor_of: dict[str, str] = {}
    for site, _sid, d in observations(market):
        a = ads[f"{site}:{d['ad_id']}"]
        actor = a["network_id"] or a["person_id"]
        for raw in d["phones"]:
            phone = disp[(raw, d["country"])]  # KeyError = display without truth
            assert actor_of.setdefault(phone, actor) == actor, f"{phone} shared by unrelated actors"
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    assert set(actor_of) <= set(phones)
    # obfuscated displays exist and are more common in networks
    rows = truth(market, "displays.csv")
    assert any(r["obfuscated"] == "true" for r in rows)


def test_directory_and_billing_headers(market):
    dfiles = sorted((market.data_dir / "directory").glob("*.csv"))
    bfiles = sorted((market.data_dir / "billing").glob("*.csv"))
    assert dfiles and bfiles
    for f in dfiles:
        assert header(f) == DIRECTORY_HEADER
    for f in bfiles:
        assert header(f) == BILLING_HEADER
        for r in read_csv(f):
            assert r["direction"] in ("in", "out") and r["kind"] in ("call", "sms", "data")
            assert datetime.fromisoformat(r["timestamp"]).tzinfo is not None
            assert r["duration_s"].isdigit()


def test_directory_numbers_resolve(market):
    disp = displays(market)
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    rows = directory_rows(market)
    assert rows
    for r in rows:
        phone = disp[(r["phone"], "NO")]
        assert phones[phone]["listed"] == "true"
    listed = {disp[(r["phone"], "NO")] for r in rows}
    assert listed == {p for p, r in phones.items() if r["listed"] == "true"}


# ---------------------------------------------------------------------------
# planted structure and traps
# ---------------------------------------------------------------------------


def test_networks_planted(market):
    nets = truth(market, "networks.csv")
    joined = {r["joined_by"] for r in nets}
    assert "name_variants_only" in joined and "shared_flat_only" in joined
    smallest = min(nets, key=lambda r: int(r["n_ads"]))
    assert int(smallest["n_ads"]) >= 4 and int(smallest["n_phones"]) >= 3 and int(smallest["n_owners"]) >= 2
    if market.n_networks >= 10:
        assert max(int(r["n_ads"]) for r in nets) >= 30


def test_id_rotation_through_three_numbers(market):
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    rotating = [k for k, nums in ad_numbers(market).items() if len(set(nums)) >= 3 and ads[k]["network_id"]]
    assert rotating
    # rotated numbers are often registered to different owners
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    nums = ad_numbers(market)
    assert any(len({phones[p]["owner_person_id"] for p in set(nums[k]) if phones[p]["owner_person_id"]}) >= 2
               for k in rotating)


def test_name_variants_network(market):
    t = truth(market, "traps.json")["name_variant_networks"][0]
    disp = displays(market)
    rows = [r for r in directory_rows(market) if disp[(r["phone"], "NO")] in set(t["phones"])]
    spellings = {r["name"] for r in rows}
    assert len(spellings) >= 4
    assert len({r["address"] for r in rows if r["name"] in t["variants"]}) == 1  # the same address
    # each cell shows its own spellings; no number shared between the cells
    cells = list(t["cells"].values())
    assert len(cells) == 2 and not set(cells[0]) & set(cells[1])
    ads = truth(market, "ads.csv")
    net_ads = {a["ad_key"] for a in ads if a["network_id"] == t["network_id"]}
    series = [r for r in truth(market, "series_groups.csv") if r["network_id"] == t["network_id"]]
    cell_of = {r["phone"]: r["cell_id"] for r in series}
    for k, nums in ad_numbers(market).items():
        if k in net_ads:
            assert len({cell_of[p] for p in nums}) == 1, "a rotation joins the cells"
    blocks = defaultdict(set)
    for r in series:
        blocks[r["cell_id"]].add(r["phone"][:-4])
    b = list(blocks.values())
    assert not b[0] & b[1], "a number series joins the cells"


def test_shared_flat_network(market):
    t = truth(market, "traps.json")["shared_flat_networks"][0]
    assert len(t["address_variants"]) >= 2
    assert len(set(t["person_ids"])) >= 2 and len(set(t["names"])) >= 2
    rows = directory_rows(market)
    found = {r["address"] for r in rows if r["address"] in t["address_variants"]}
    assert len(found) >= 2
    assert len({r["name"] for r in rows if r["address"] in t["address_variants"]}) >= 2


def test_public_places_shared_by_strangers(market):
    places = truth(market, "traps.json")["public_places"]
    kinds = {p["kind"] for p in places}
    assert {"shopping_centre", "phone_shop"} <= kinds
    rows = directory_rows(market)
    disp = displays(market)
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    for p in places:
        at = [r for r in rows if r["address"] in p["address_variants"]]
        owners = {phones[disp[(r["phone"], "NO")]]["owner_person_id"] for r in at}
        actors = {phones[disp[(r["phone"], "NO")]]["network_id"] or phones[disp[(r["phone"], "NO")]]["owner_person_id"]
                  for r in at}
        assert len(owners) >= 2 and len(actors) >= 2, p["address"]
        assert any(e["network_id"] for e in p["entries"]) and any(not e["network_id"] for e in p["entries"])


def test_homonyms(market):
    homs = [h for h in truth(market, "traps.json")["homonyms"] if h["planted"]]
    assert homs
    rows = directory_rows(market)
    for h in homs:
        assert len(set(h["person_ids"])) == 2 and len(set(h["addresses"])) == 2
        listed = [r for r in rows if r["name"] == h["name"]]
        assert len({r["address"] for r in listed}) >= 2
        persons = {r["person_id"]: r for r in truth(market, "persons.csv")}
        assert {persons[p]["canonical_name"] for p in h["person_ids"]} == {h["name"]}
        assert all(persons[p]["kind"] == "independent" for p in h["person_ids"])


def test_chance_neighbours(market):
    pairs = truth(market, "traps.json")["chance_neighbours"]
    assert pairs
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    shown = set().union(*ad_numbers(market).values())
    p = pairs[0]
    assert p["a"] in shown and p["b"] in shown
    assert 0 < int(p["b"][1:]) - int(p["a"][1:]) <= 10
    actor = lambda x: phones[x]["network_id"] or phones[x]["owner_person_id"]  # noqa: E731
    assert actor(p["a"]) != actor(p["b"])
    assert any(phones[q["a"]]["role"] == phones[q["b"]]["role"] == "independent" for q in pairs)


def test_boilerplate_and_stock_photos(market):
    t = truth(market, "traps.json")
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    texts = defaultdict(set)
    shas = defaultdict(set)
    for site, _sid, d in observations(market):
        key = f"{site}:{d['ad_id']}"
        texts[key].add(d["text"])
        for im in d["images"]:
            shas[im["sha256"]].add(key)
    bp = max(t["boilerplate_texts"], key=lambda b: len(b["ad_keys"]))
    with_text = [k for k in bp["ad_keys"] if any(bp["text"] in x for x in texts[k])]
    assert len({ads[k]["person_id"] for k in with_text}) >= 2
    st = max(t["stock_photos"], key=lambda s: len(s["ad_keys"]))
    users = shas[st["sha256"]]
    assert set(st["ad_keys"]) == users
    assert len({ads[k]["network_id"] or ads[k]["person_id"] for k in users}) >= 2
    # network photos are reused across the network's ads
    net_of_sha = defaultdict(set)
    for sha, keys in shas.items():
        if sha != st["sha256"]:
            for k in keys:
                if ads[k]["network_id"]:
                    net_of_sha[sha].add(k)
    assert any(len(v) >= 2 for v in net_of_sha.values())


@pytest.fixture(scope="module")
def tiny7(tmp_path_factory) -> MarketSummary:
    return generate_market(tmp_path_factory.mktemp("tiny7"), seed=7, scale=0.05)


@pytest.mark.parametrize("which", ["tiny", "tiny7", "full"])
def test_strangers_share_no_photo_except_stock(request, which):
    """Same photo file on two actors' ads is link evidence, so it must be planted: within one
    network, or a recorded stock photo that circulates widely enough to be recognisable as stock
    (the pipeline: more than 3 phone groups); a stock photo on two strangers' ads is a false link."""
    m = request.getfixturevalue(which)
    ads = {a["ad_key"]: a for a in truth(m, "ads.csv")}
    actor = {k: a["network_id"] or a["person_id"] for k, a in ads.items()}
    stock = {s["sha256"]: set(s["ad_keys"]) for s in truth(m, "traps.json")["stock_photos"]}
    assert stock
    shas: dict[str, set[str]] = defaultdict(set)
    for site, _sid, d in observations(m):
        for im in d["images"]:
            shas[im["sha256"]].add(f"{site}:{d['ad_id']}")
    for sha, keys in shas.items():
        actors = {actor[k] for k in keys}
        if sha in stock:
            assert keys <= stock[sha]
        else:
            assert len(actors) == 1, f"photo {sha[:16]} shown by unrelated {sorted(actors)}: {sorted(keys)}"
    for sha, keys in stock.items():
        actors = {actor[k] for k in keys}
        assert len(actors) >= STOCK_MIN_ACTORS > 3, f"stock photo {sha[:16]} shown by only {sorted(actors)}"


def test_moving_ads_and_formula_texts(market):
    t = truth(market, "traps.json")
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    cities = defaultdict(set)
    starts = set()
    for site, _sid, d in observations(market):
        cities[f"{site}:{d['ad_id']}"].add(d["city"])
        if d["text"][:1] in "=+@":
            starts.add(f"{site}:{d['ad_id']}")
    moving = [k for k, c in cities.items() if len(c) > 1]
    assert any(ads[k]["network_id"] == "" for k in moving)
    assert any(ads[k]["network_id"] for k in moving)
    assert {m["ad_key"] for m in t["moving_ads"]} == set(moving)
    assert set(t["formula_texts"]) == starts


def test_independent_with_two_ads_two_numbers(market):
    t = truth(market, "traps.json")["independent_two_numbers"]
    ads = [a for a in truth(market, "ads.csv") if a["person_id"] == t["person_id"]]
    assert len(ads) == 2 and all(a["network_id"] == "" for a in ads)
    nums = ad_numbers(market)
    shown = set().union(*(nums[a["ad_key"]] for a in ads))
    assert shown == set(t["phones"]) and len(shown) == 2


def test_billing_patterns(market):
    t = truth(market, "traps.json")
    files = {}
    for f in sorted((market.data_dir / "billing").glob("*.csv")):
        rows = read_csv(f)
        files[rows[0]["subscriber"]] = rows
    assert t["billing"]
    for b in t["billing"]:
        subs = [files[s] for s in b["subscribers"]]
        for c in b["controllers"]:
            for rows in subs:
                crow = [r for r in rows if r["counterpart"] == c["phone"]]
                days = {r["timestamp"][:10] for r in crow}
                sms = sum(r["kind"] == "sms" for r in crow)
                assert sms > 0.6 * len(crow)
                span = {r["timestamp"][:10] for r in rows}
                assert len(days) >= 0.8 * len(span)  # daily
        reg = b["regular_customer"]["phone"]
        assert sum(any(r["counterpart"] == reg for r in rows) for rows in subs) >= 2
        reg_hours = [int(r["timestamp"][11:13]) for rows in subs for r in rows if r["counterpart"] == reg]
        assert reg_hours and min(reg_hours) >= 18
    assert any(r["country"] != "NO" for rows in files.values() for r in rows)


def billing_files(m: MarketSummary) -> dict[str, list[dict[str, str]]]:
    """Recovered phone -> its billing rows."""
    out = {}
    for f in sorted((m.data_dir / "billing").glob("*.csv")):
        rows = read_csv(f)
        out[rows[0]["subscriber"]] = rows
    return out


def test_controller_shown_in_its_own_networks_ads(market):
    """A controller's number is also a booking number on one or two ads of its own network: in the
    billing records of that network's recovered phones and in those ads, and nowhere else."""
    t = truth(market, "traps.json")
    planted = t["billing_in_ads"]["controller_in_network_ads"]
    net, phone = planted["network_id"], planted["controller_phone"]
    bill = next(b for b in t["billing"] if b["network_id"] == net)
    assert phone in {c["phone"] for c in bill["controllers"]}
    assert planted["subscribers"] == bill["subscribers"]
    files = billing_files(market)
    for sub in bill["subscribers"]:
        assert sum(r["counterpart"] == phone for r in files[sub]) >= 20, sub  # talks to every recovered phone
    assert 1 <= len(planted["ad_keys"]) <= 2
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    nums = ad_numbers(market)
    for key in planted["ad_keys"]:
        assert ads[key]["network_id"] == net
        assert phone in nums[key] and len(set(nums[key])) >= 2  # a second number beside the ad's own
    showing = {k for k, v in nums.items() if phone in v}
    assert showing == set(planted["ad_keys"])
    row = next(r for r in truth(market, "phones.csv") if r["phone"] == phone)
    assert row["role"] == "controller" and row["network_id"] == net


def test_regular_customer_shown_in_an_independents_ad(market):
    """A network's regular customer is also a friend's booking number on one independent's ad: in the
    billing records of that network's recovered phones and in her ad, and nowhere else; his truth
    stays a customer of no network, hers an independent."""
    t = truth(market, "traps.json")
    planted = t["billing_in_ads"]["customer_in_independent_ad"]
    phone, net = planted["customer_phone"], planted["regular_customer_of"]
    bill = next(b for b in t["billing"] if b["network_id"] == net)
    assert bill["regular_customer"] == {"phone": phone, "person_id": planted["customer_person_id"]}
    files = billing_files(market)
    assert sum(any(r["counterpart"] == phone for r in files[s]) for s in bill["subscribers"]) >= 2
    ads = {a["ad_key"]: a for a in truth(market, "ads.csv")}
    ad = ads[planted["ad_key"]]
    assert ad["network_id"] == "" and ad["person_id"] == planted["independent_person_id"]
    nums = ad_numbers(market)
    assert phone in nums[ad["ad_key"]] and set(planted["independent_phones"]) < set(nums[ad["ad_key"]])
    assert {k for k, v in nums.items() if phone in v} == {ad["ad_key"]}
    # she is an ordinary independent: no other ad, no network, no other trap role
    assert [a["ad_key"] for a in ads.values() if a["person_id"] == ad["person_id"]] == [ad["ad_key"]]
    persons = {r["person_id"]: r for r in truth(market, "persons.csv")}
    assert persons[ad["person_id"]]["kind"] == "independent"
    assert persons[planted["customer_person_id"]]["kind"] == "customer"
    phones = {r["phone"]: r for r in truth(market, "phones.csv")}
    assert phones[phone]["role"] == "customer" and phones[phone]["network_id"] == ""
    assert phones[phone]["owner_person_id"] == planted["customer_person_id"]
    for p in planted["independent_phones"]:
        assert phones[p]["role"] == "independent" and phones[p]["network_id"] == ""


def test_billing_numbers_in_ads_change_nothing_else(tmp_path, tiny, monkeypatch):
    """The two planted numbers are drawn from their own random stream: without them the market is
    the same except the lines of the planted ads (and the truth describing them)."""
    import adnet_assets.demo.generator as G

    monkeypatch.setattr(G, "plant_billing_in_ads", lambda m: None)
    plain = generate_market(tmp_path / "plain", seed=11, scale=0.05)
    planted = truth(tiny, "traps.json")["billing_in_ads"]
    keys = set(planted["controller_in_network_ads"]["ad_keys"]) | {planted["customer_in_independent_ad"]["ad_key"]}
    a, b = file_hashes(plain.data_dir), file_hashes(tiny.data_dir)
    assert set(a) == set(b)
    differ = {k for k in a if a[k] != b[k]}
    allowed = {"demo-truth/displays.csv", "demo-truth/networks.csv", "demo-truth/traps.json", "demo-truth/README.md"}
    bad = {(r["file"], r["line"]): r["ad_key"] for r in truth(tiny, "traps.json")["bad_lines"]}
    changed_ads = set()
    for rel in sorted(differ - allowed):
        assert rel.startswith("snapshots/") and rel.endswith(("/ads.jsonl", "/manifest.json")), rel
        if rel.endswith("/manifest.json"):
            continue
        site = rel.split("/")[1]
        old = (plain.data_dir / rel).read_bytes().split(b"\n")
        new = (tiny.data_dir / rel).read_bytes().split(b"\n")
        assert len(old) == len(new)
        for n, (x, y) in enumerate(zip(old, new), start=1):
            if x != y:
                changed_ads.add(bad.get((rel, n)) or f"{site}:{json.loads(y.decode('utf-8'))['ad_id']}")
    assert changed_ads == keys
    assert plain.n_observations == tiny.n_observations and plain.n_ads == tiny.n_ads


# ---------------------------------------------------------------------------
# the data folder
# ---------------------------------------------------------------------------


def test_replaces_generated_parts_only(tmp_path):
    first = generate_market(tmp_path, seed=1, scale=0.05)
    (tmp_path / "adnet.duckdb").write_bytes(b"db")
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "x.csv").write_text("a\n")
    (tmp_path / "aliases.csv").write_text("kind,a,b,decision\n")
    old = {p.name for p in (tmp_path / "snapshots").glob("*/*")}
    second = generate_market(tmp_path, seed=2, scale=0.05, start=date(2026, 9, 7), weeks=2)
    new = {p.name for p in (tmp_path / "snapshots").glob("*/*")}
    assert new and not (old & new)
    assert second.n_snapshots == 8
    assert (tmp_path / "adnet.duckdb").read_bytes() == b"db"
    assert (tmp_path / "exports" / "x.csv").exists() and (tmp_path / "aliases.csv").exists()
    assert first.truth_dir == second.truth_dir


def test_refuses_to_clobber_real_snapshots(tmp_path):
    (tmp_path / "snapshots" / "real.example" / "2026-06-01T0600Z").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        generate_market(tmp_path, scale=0.05)
