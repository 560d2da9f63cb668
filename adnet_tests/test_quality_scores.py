"""The quality benchmark's arithmetic (the benchmark itself is a command, not a test)."""

from adnet_assets.bench.quality import pair_scores


def test_pairwise_scores_count_pairs_in_the_same_cluster():
    truth = {"a": "N1", "b": "N1", "c": "N1", "d": "N2", "e": "N2"}
    perfect = pair_scores(truth, dict(truth), set("abcdefg"))
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0) and perfect.planted_pairs == 4
    # c missed, d and e merged into N1's network, f (an independent) wrongly added
    detected = {"a": "X", "b": "X", "d": "X", "e": "X", "f": "X"}
    s = pair_scores(truth, detected, set("abcdefg"))
    assert s.detected_pairs == 10 and s.planted_pairs == 4
    assert s.precision == 2 / 10 and s.recall == 2 / 4
    nothing = pair_scores(truth, {}, set("abcdefg"))
    assert nothing.precision == 1.0 and nothing.recall == 0.0 and nothing.f1 == 0.0
