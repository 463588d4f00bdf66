"""choose_thresholds on constructed scores, where the answer is known by hand."""
from __future__ import annotations

import numpy as np
import pytest

from fraud_trainer.thresholds import choose_thresholds


def ranked(n: int, fraud_ranks: list[int]):
    """Scores 1 - rank/n for ranks 0..n-1 (all distinct, rank 0 highest), shuffled; frauds at fraud_ranks."""
    s = 1 - np.arange(n) / n
    y = np.zeros(n, dtype=np.int64)
    y[fraud_ranks] = 1
    p = np.random.default_rng(0).permutation(n)
    return y[p], s[p]


def test_decline_is_the_highest_recall_cut_with_precision_08():
    # Flagging the top k: k=8 -> 8/8, k=9 -> 8/9, k=10 -> 9/10, k=11 -> 9/11, k=12 -> 10/12 = 0.833,
    # k=14 -> 10/14, k=15 -> 11/15 = 0.733 and below 0.8 from then on: the cut is k = 12.
    frauds = [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 14, 100, 500]
    y, s = ranked(1000, frauds)
    (thr, at) = choose_thresholds(y, s)
    assert thr["decline"] == pytest.approx(1 - 11 / 1000)
    assert at["decline_rule"] == "precision>=0.8"
    # 2 of the 987 legitimate transactions declined: the false-decline rate
    assert at["decline"] == {"rate": 0.012, "precision": round(10 / 12, 4), "recall": round(10 / 13, 4),
                             "legit_rate": round(2 / 987, 6)}
    # review: the next 1% (10 transactions, ranks 12..21) below decline
    assert thr["review"] == pytest.approx(1 - 21 / 1000)
    assert at["review"] == {"rate": 0.01, "precision": 0.1, "recall": round(1 / 13, 4), "legit_rate": round(9 / 987, 6)}


def test_a_cut_needs_five_frauds():
    # The top 4 are frauds (precision 1) but 4 < DECLINE_MIN_FRAUDS and nothing later reaches 0.8:
    # the fallback, the top 0.1% (3 of 2500 transactions, ceil(2.5)).
    y, s = ranked(2500, [0, 1, 2, 3, 50, 60])
    thr, at = choose_thresholds(y, s)
    assert at["decline_rule"] == "top 0.1% (no cut reached precision 0.8)"
    assert thr["decline"] == pytest.approx(1 - 2 / 2500)
    assert at["decline"]["rate"] == round(3 / 2500, 6) and at["decline"]["precision"] == 1.0
    assert thr["review"] == pytest.approx(1 - (3 + 25 - 1) / 2500)  # ceil(1% of 2500) = 25 more


def test_ties_are_not_split():
    # 7 transactions share the top score, 5 of them frauds: flagging "score >= t" takes all 7
    # (precision 5/7 < 0.8) even though the first 5 in sorted order would be 5/5.
    n = 1000
    s = np.linspace(0.5, 0.0, n)
    s[:7] = 0.95
    y = np.zeros(n, dtype=np.int64)
    y[:5] = 1
    thr, at = choose_thresholds(y, s)
    assert at["decline_rule"].startswith("top 0.1%")
    assert thr["decline"] == 0.95
    assert at["decline"] == {"rate": 0.007, "precision": round(5 / 7, 4), "recall": 1.0, "legit_rate": round(2 / 995, 6)}
    # With a sixth fraud among them, 6/7 >= 0.8: the tie is a valid cut, and it is taken whole.
    y[5] = 1
    thr, at = choose_thresholds(y, s)
    assert at["decline_rule"] == "precision>=0.8" and thr["decline"] == 0.95
    assert at["decline"]["rate"] == 0.007


def test_among_equal_recall_the_highest_cut_wins():
    # Frauds at ranks 0..4 then a legit run: every cut from k=5 to k=6 catches 5 (5/5, 5/6 both >= 0.8);
    # the highest, k = 5, is the one with the best precision.
    y, s = ranked(1000, [0, 1, 2, 3, 4])
    thr, at = choose_thresholds(y, s)
    assert thr["decline"] == pytest.approx(1 - 4 / 1000)
    assert at["decline"]["precision"] == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_invariants_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    y = (rng.random(n) < 0.05).astype(np.int64)
    s = np.round(rng.random(n) * 0.5 + 0.5 * y * rng.random(n), 3)  # ties on purpose
    thr, at = choose_thresholds(y, s)
    assert thr["review"] <= thr["decline"]
    assert thr["decline"] in s and thr["review"] in s
    declined = s >= thr["decline"]
    assert at["decline"]["rate"] == round(declined.mean(), 6)
    assert at["review"]["rate"] == round(((s >= thr["review"]) & ~declined).mean(), 6)
