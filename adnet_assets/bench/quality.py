"""Measured detection quality: demo markets with several seeds, the whole pipeline, and the
networks compared with the planted truth. A benchmark to run and report, never a timed test.

    adnet quality --seeds 7 11 13

Pairwise scores: two phones (or ads) are a *pair* when they are in the same network. Precision is
the share of detected pairs that are planted pairs, recall the share of planted pairs detected.
Phones and ads outside every network are singletons. A planted network is *found* when one
detected network holds at least half of its phones and is mostly made of them; a detected network
is *false* when most of its phones belong to no planted network.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from adnet_assets.layout import DataLayout
from adnet_assets.lib.store import connect


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    detected_pairs: int
    planted_pairs: int


@dataclass(frozen=True)
class Quality:
    seed: int | None
    phones: PairScores
    ads: PairScores
    planted: int
    planted_found: int
    detected: int
    false_networks: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_scores(truth: dict[str, str], detected: dict[str, str], universe: set[str]) -> PairScores:
    """Pairwise precision/recall over ``universe``; items missing from a mapping are singletons."""
    cells: Counter = Counter()
    det_sizes: Counter = Counter()
    truth_sizes: Counter = Counter()
    for item in universe:
        t, d = truth.get(item), detected.get(item)
        if t is not None:
            truth_sizes[t] += 1
        if d is not None:
            det_sizes[d] += 1
        if t is not None and d is not None:
            cells[(t, d)] += 1
    tp = sum(_pairs(n) for n in cells.values())
    predicted = sum(_pairs(n) for n in det_sizes.values())
    planted = sum(_pairs(n) for n in truth_sizes.values())
    precision = tp / predicted if predicted else 1.0
    recall = tp / planted if planted else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, predicted, planted)


def _truth(path: Path, key: str) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row[key]: row["network_id"] for row in csv.DictReader(fh) if row.get("network_id")}


def evaluate(layout: DataLayout, seed: int | None = None) -> Quality:
    truth_dir = layout.root / "demo-truth"
    phone_truth = _truth(truth_dir / "phones.csv", "phone")
    ad_truth = _truth(truth_dir / "ads.csv", "ad_key")
    with connect(layout.database, read_only=True, lock_timeout_s=60) as con:
        phones = {r[0] for r in con.execute("SELECT phone FROM phones").fetchall()}
        ads = {r[0] for r in con.execute("SELECT ad_key FROM ads").fetchall()}
        members = con.execute("SELECT network_id, member_type, member_key FROM network_members").fetchall()
    det_phones = {k: n for n, t, k in members if t == "phone"}
    det_ads = {k: n for n, t, k in members if t == "ad"}
    planted_sizes = Counter(phone_truth[p] for p in phones if p in phone_truth)
    by_detected: dict[str, Counter] = defaultdict(Counter)
    for p, n in det_phones.items():
        by_detected[n][phone_truth.get(p)] += 1
    found = set()
    false_networks = 0
    for n, counts in by_detected.items():
        top, top_n = counts.most_common(1)[0]
        total = sum(counts.values())
        if top is None or top_n * 2 <= total:
            false_networks += 1 if (counts.get(None, 0) * 2 > total) else 0
            continue
        if top_n * 2 >= planted_sizes.get(top, 0):
            found.add(top)
    return Quality(seed, pair_scores(phone_truth, det_phones, phones), pair_scores(ad_truth, det_ads, ads),
                   len(planted_sizes), len(found), len(by_detected), false_networks)


def run_quality(seeds: list[int], workdir: Path, scale: float = 1.0, echo=print) -> list[Quality]:
    from adnet_assets.demo.generator import generate_market
    from adnet_assets.runner import run_all

    results = []
    for seed in seeds:
        layout = DataLayout.at(workdir / f"seed-{seed}")
        echo(f"seed {seed}: generating the market and running the pipeline in {layout.root}")
        generate_market(layout.root, seed=seed, scale=scale)
        outcome = run_all(layout, tags={"adnet/benchmark": "quality"})
        if not outcome.success:
            raise RuntimeError(f"seed {seed}: the run failed: {outcome.failures}")
        results.append(evaluate(layout, seed))
    return results


def format_table(results: list[Quality]) -> str:
    head = ("seed", "phone P", "phone R", "phone F1", "ad P", "ad R", "ad F1", "planted found", "detected", "false")
    rows = [head] + [(
        str(q.seed), f"{q.phones.precision:.3f}", f"{q.phones.recall:.3f}", f"{q.phones.f1:.3f}",
        f"{q.ads.precision:.3f}", f"{q.ads.recall:.3f}", f"{q.ads.f1:.3f}",
        f"{q.planted_found}/{q.planted}", str(q.detected), str(q.false_networks)) for q in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)
