"""Review and decline thresholds, read off validation scores.

A transaction is declined when score >= decline, sent to review when review <= score < decline:
  decline = the cut with the highest recall among those whose flagged transactions are fraud
            with precision >= DECLINE_PRECISION (the highest such cut when several catch as many
            frauds), and that catches at least DECLINE_MIN_FRAUDS frauds, so one lucky top score
            does not set it; when no cut reaches that precision, the score of the top
            DECLINE_FALLBACK_RATE of transactions.
  review  = the cut that sends the next REVIEW_RATE of transactions, after the declined ones, to
            review (an investigation team's daily capacity: the handbook's card-precision-top-k
            idea).
"""
from __future__ import annotations

import math

import numpy as np

DECLINE_PRECISION = 0.8
DECLINE_MIN_FRAUDS = 5
DECLINE_FALLBACK_RATE = 0.001
REVIEW_RATE = 0.01

THRESHOLD_RULE = (f"decline: highest-recall validation cut with precision >= {DECLINE_PRECISION} "
                  f"(>= {DECLINE_MIN_FRAUDS} frauds), else top {DECLINE_FALLBACK_RATE:.1%}; "
                  f"review: the next {REVIEW_RATE:.0%} of validation transactions below decline")


def choose_thresholds(y: np.ndarray, s: np.ndarray) -> tuple[dict, dict]:
    """Returns (thresholds {review, decline}, what they do on these scores)."""
    n = len(s)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order].astype(np.float64)
    tp = np.cumsum(y[order])
    flagged = np.arange(1, n + 1)
    # Only the last index of a run of equal scores is a real cut (score >= t flags the whole run).
    cut = np.append(s_sorted[1:] != s_sorted[:-1], True)
    prec = tp / flagged
    ok = np.flatnonzero(cut & (prec >= DECLINE_PRECISION) & (tp >= DECLINE_MIN_FRAUDS))
    if ok.size:
        # Most frauds caught; among equal counts the first (highest) cut, i.e. best precision.
        best = ok[np.argmax(tp[ok])]
        decline = float(s_sorted[best])
        decline_by = f"precision>={DECLINE_PRECISION}"
    else:
        decline = float(s_sorted[max(1, math.ceil(DECLINE_FALLBACK_RATE * n)) - 1])
        decline_by = f"top {DECLINE_FALLBACK_RATE:.1%} (no cut reached precision {DECLINE_PRECISION})"
    n_declined = int((s_sorted >= decline).sum())
    review = min(float(s_sorted[min(n, n_declined + max(1, math.ceil(REVIEW_RATE * n))) - 1]), decline)

    def band(lo: float, hi: float) -> dict:
        m = (s >= lo) & (s < hi)
        k, caught, frauds = int(m.sum()), int(y[m].sum()), int(y.sum())
        return {
            "rate": round(k / n, 6),
            "precision": round(caught / k, 4) if k else None,
            "recall": round(caught / frauds, 4) if frauds else None,
            # Share of the legitimate transactions in the band: for decline, the false-decline rate.
            "legit_rate": round((k - caught) / (n - frauds), 6) if n > frauds else None,
        }

    # What each action does on these scores: declined = score >= decline; reviewed = the band below.
    return ({"review": review, "decline": decline},
            {"decline_rule": decline_by, "review": band(review, decline), "decline": band(decline, math.inf)})
