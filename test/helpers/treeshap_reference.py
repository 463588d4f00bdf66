#!/usr/bin/env python3
"""The Python side of test/integration/treeshap-parity.test.ts: fits a model on a features CSV as
train.py does (fraud_trainer.ensemble.fit_model), writes its trees file with the trainer's own
exporter (fraud_trainer.trees), and LightGBM's pred_contrib (plus the blend's linear terms, see
trees.reference_contributions) of the rows, with LightGBM's raw scores and probabilities.

    python treeshap_reference.py --features F.csv --labels L.csv --params default|blend|JSON
        --version V --out-dir DIR [--rows N]

DIR/model.trees.json and DIR/reference.json: {features, rows (null = missing), contrib [N][F],
base [N], raw [N], proba [N], raw_parts [parts][N]}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training"))

from fraud_trainer.data import read_features, read_labels  # noqa: E402
from fraud_trainer.ensemble import Ensemble, fit_model  # noqa: E402
from fraud_trainer.params import parse_params  # noqa: E402
from fraud_trainer.trees import export_trees, reference_contributions, write_trees  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--params", default="default")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--rows", type=int, default=3000)
    a = ap.parse_args()

    names, X, y, _, _ = read_features(a.features, read_labels(a.labels))
    params = parse_params(a.params)  # a preset (default, blend) or JSON, as train.py --params
    model = fit_model(params, y, X, seed=42, n_jobs=1)
    write_trees(os.path.join(a.out_dir, "model.trees.json"), export_trees(model, a.version, names))

    # The rows to explain: the training rows (every leaf reached), an all-missing row, and rows
    # with each feature missing in turn (the default branches).
    rows = X[: a.rows].astype(np.float32)
    holes = np.repeat(rows[:10], len(names), axis=0)
    for j in range(len(names)):
        holes[j :: len(names), j] = np.nan
    rows = np.vstack([rows, np.full((1, len(names)), np.nan, dtype=np.float32), holes])

    contrib, base = reference_contributions(model, rows)
    gbms = model.gbms if isinstance(model, Ensemble) else [model]
    raw_parts = [g.booster_.predict(rows, raw_score=True) for g in gbms]
    if isinstance(model, Ensemble) and model.lr_weight > 0:
        raw_parts.append(model.lr.decision_function(model._lr_input(rows)))
    weights = [p["weight"] for p in export_trees(model, a.version, names)["parts"]]
    raw = sum(w * r for w, r in zip(weights, raw_parts))
    cell = lambda v: None if np.isnan(v) else float(v)  # float32 -> the same double, exactly
    with open(os.path.join(a.out_dir, "reference.json"), "w") as f:
        json.dump({"features": names, "rows": [[cell(v) for v in r] for r in rows], "contrib": contrib.tolist(),
                   "base": base.tolist(), "raw": np.asarray(raw).tolist(), "proba": model.predict_proba(rows)[:, 1].tolist(),
                   "raw_parts": [np.asarray(r).tolist() for r in raw_parts]}, f)


if __name__ == "__main__":
    main()
