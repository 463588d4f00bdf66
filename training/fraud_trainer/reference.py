"""The drift reference: how each feature and the score were distributed on the training window,
written beside the model as MODEL.reference.json. The engine (src/models/drift/) bins live
decisions and `replay --report` bins a replayed window on the same edges and compares the two
distributions with the population stability index.

Bins: up to 10 quantile bins of the non-missing values (edges = the deciles, as float32 like the
engine's model input, duplicates merged; a column that is its minimum on 90% of the rows or more
is split there, minimum apart from the rest), plus one bin for the missing values. A value x falls
in bin searchsorted(edges, x, side="right"), i.e. bin i holds edges[i-1] <= x < edges[i].

Also a command, to add the reference to a model trained before it existed:

    python -m fraud_trainer.reference --features FEATURES.csv --labels LABELS.csv \
        --train-from 2018-06-01 --train-to 2018-07-01 --model models/model.onnx
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone

import numpy as np

from .common import TrainerError, die, iso, log, parse_time

BINS = 10
# Floor of a bin's proportion in the PSI (an empty bin would make ln(a/e) infinite).
EPSILON = 1e-4
FORMAT = 1


def reference_path_for(model_path: str) -> str:
    """MODEL.onnx -> MODEL.reference.json."""
    base = model_path[: -len(".onnx")] if model_path.endswith(".onnx") else model_path
    return base + ".reference.json"


def column_bins(values: np.ndarray, bins: int = BINS) -> dict:
    """Quantile edges of the non-missing values and the proportion of each bin, missing apart."""
    v = np.asarray(values, dtype=np.float32)
    present = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        die("reference: no rows in the training window")
    if len(present):
        # "higher": edges are values of the data, the first of each decile, so that the bins of a
        # variable with few distinct values (a flag, a count) are those values, none empty.
        qs = np.quantile(present, np.arange(1, bins) / bins, method="higher")
        edges = np.unique(qs.astype(np.float32))
        # An edge at the minimum would leave the first bin empty by construction.
        edges = edges[edges > present.min()]
        above = present[present > present.min()]
        if len(edges) == 0 and len(above):
            # Nine deciles on the minimum (a risk ratio that is 0 for most terminals): split it
            # from the rest, so that a shift from "none" to "some" shows.
            edges = np.array([above.min()], dtype=np.float32)
        counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    else:
        edges = np.zeros(0, dtype=np.float32)
        counts = np.zeros(1, dtype=np.int64)
    return {
        "edges": [float(e) for e in edges],
        "expected": [round(float(c) / n, 8) for c in counts],
        "missing": round(float(n - len(present)) / n, 8),
    }


def build_reference(*, version: str, names: list[str], X: np.ndarray, scores: np.ndarray,
                    start: float, end: float, bins: int = BINS) -> dict:
    """The reference of a model trained on the rows X (the training window) scoring `scores`."""
    if X.shape != (len(scores), len(names)):
        die(f"reference: {X.shape} rows x features for {len(scores)} scores and {len(names)} names")
    return {
        "format": FORMAT,
        "model_version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "window": {"from": iso(start), "to": iso(end)},
        "n": int(len(scores)),
        "bins": bins,
        "epsilon": EPSILON,
        "score": column_bins(scores, bins),
        "features": [{"name": name, **column_bins(X[:, j], bins)} for j, name in enumerate(names)],
    }


def write_reference(model_path: str, ref: dict) -> str:
    """MODEL.reference.json, written to a temporary name and renamed; returns its path."""
    path = reference_path_for(os.path.abspath(model_path))
    with open(path + ".tmp", "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write MODEL.reference.json for an existing model")
    ap.add_argument("--features", required=True, help="features CSV (replay --features-out)")
    ap.add_argument("--labels", required=True, help="labels CSV (the rows kept are the labelled ones, as in training)")
    ap.add_argument("--train-from", required=True)
    ap.add_argument("--train-to", required=True)
    ap.add_argument("--model", required=True, help="MODEL.onnx, with MODEL.json beside it")
    a = ap.parse_args(argv)
    try:
        from .data import read_features, read_labels
        from .export import onnx_scores

        start, end = parse_time(a.train_from, "--train-from"), parse_time(a.train_to, "--train-to")
        with open(a.model[: -len(".onnx")] + ".json") as f:
            meta = json.load(f)
        names, X, _, ts, _ = read_features(a.features, read_labels(a.labels))
        if names != meta["features"]:
            die(f"{a.features}: feature columns differ from the model's")
        X_win = X[(ts >= start) & (ts < end)]
        with open(a.model, "rb") as f:
            scores = onnx_scores(f.read(), X_win)
        ref = build_reference(version=meta["model_version"], names=names, X=X_win, scores=scores, start=start, end=end)
        log(f"reference: {write_reference(a.model, ref)} ({ref['n']} rows)")
    except TrainerError as e:
        print(f"reference: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
