"""Fit the fraud model on the engine's own feature vectors and export it to ONNX + metadata.

    python training/train.py --features FEATURES.csv --labels LABELS.csv \
        --train-from 2018-04-01 --train-to 2018-05-01 [--delay-days 7] [--valid-days 7] \
        [--params JSON|blend | --no-select] [--only-features a,b,...] \
        --out models/model.onnx [--version V] [--n-jobs 2] [--seed 42] [--source JSON]

(or `python -m fraud_trainer ...` from training/). The input files are described in data.py,
the protocol (selection-train, delay, validation; out of fold with --valid-days 0) in
protocol.py, the hyper-parameters and the `blend` ensemble in params.py, the thresholds in
thresholds.py. Deploy the result for transactions after train_to + delay (train_to itself must
be chosen so that its labels are known, i.e. train_to <= today - delay).

--only-features keeps the named columns and blanks the others (all missing) before fitting, so
the model cannot use them while its input stays the engine's full feature vector (the engine
loads it as any other model): e.g. the handbook's 15 features against all of ours.

Outputs MODEL.onnx (input `features` float32 [N, F]; outputs `label` int64 [N] and
`probabilities` float32 [N, 2]; the engine reads probabilities[:, 1], the fraud probability)
and MODEL.json beside it (report.metadata), MODEL.trees.json (trees.py: the trees and the
linear part, for the engine's per-feature contributions) and MODEL.reference.json (the training
window's distribution of each feature and of the score, for drift: reference.py), then prints a
short summary. --source (a JSON object: where the rows came from, e.g. the audit trail's window,
cut-off and counts, given by `fraud-engine train`) is kept as MODEL.json's training.source.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np

from .common import TrainerError, die, iso, log, parse_time
from .data import blank_features, read_features, read_labels
from .ensemble import fit_model
from .export import export_onnx, framework, onnx_scores, verify_onnx
from .params import DEFAULT_PARAMS, parse_params
from .protocol import fit_and_validate, plan_window
from .reference import build_reference, write_reference
from .report import hyperparameters, metadata, print_summary, write_model
from .thresholds import choose_thresholds
from .trees import export_trees, trees_path_for, verify_trees, write_trees


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", required=True, help="features CSV: auth_id, then the engine's feature columns")
    ap.add_argument("--labels", required=True, help="labels CSV: auth_id|transaction_id, tx_datetime, tx_fraud")
    ap.add_argument("--train-from", required=True, help="window start, inclusive (ISO date or date-time, UTC)")
    ap.add_argument("--train-to", required=True, help="window end, exclusive")
    ap.add_argument("--delay-days", type=float, default=7, help="label delay between selection-train and validation (default 7)")
    ap.add_argument("--valid-days", type=float, default=7,
                    help="validation period at the end of the window (default 7); 0 (fixed parameters only): "
                         "fit the whole window, validate out of fold")
    fx = ap.add_mutually_exclusive_group()
    fx.add_argument("--params", help="fixed hyper-parameters, no selection: a preset name (default, blend) or JSON "
                                     "(missing keys from DEFAULT_PARAMS, or from the preset named by a \"preset\" key)")
    fx.add_argument("--no-select", action="store_true", help="fixed hyper-parameters DEFAULT_PARAMS, no selection")
    ap.add_argument("--only-features", help="comma-separated feature names the model may use; the others are blanked")
    ap.add_argument("--out", required=True, help="MODEL.onnx; MODEL.json is written beside it")
    ap.add_argument("--version", help="model version (default lgbm-<train_to>-<hash of the model>)")
    ap.add_argument("--n-jobs", type=int, default=2, help="LightGBM threads (default 2)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--source", help="JSON object: where the rows came from, kept as training.source in MODEL.json")
    return ap


def parse_source(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        source = json.loads(text)
    except ValueError as e:
        die(f"--source: not JSON: {e}")
    if not isinstance(source, dict):
        die("--source: must be a JSON object")
    return source


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        train(a)
    except TrainerError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    return 0


def train(a: argparse.Namespace) -> None:
    if not a.out.endswith(".onnx"):
        die("--out must end with .onnx (the metadata goes to the same name with .json)")
    t0 = time.time()
    start, end = parse_time(a.train_from, "--train-from"), parse_time(a.train_to, "--train-to")
    if end <= start:
        die("--train-to must be after --train-from")
    fixed = parse_params(a.params) if a.params else dict(DEFAULT_PARAMS) if a.no_select else None
    data_source = parse_source(a.source)
    window = plan_window(start, end, a.valid_days, a.delay_days, fixed is not None)

    labels = read_labels(a.labels)
    names, X, y, ts, unlabelled = read_features(a.features, labels)
    if unlabelled:
        log(f"warning: {unlabelled} feature rows have no label and are ignored")
    used = blank_features(names, X, a.only_features) if a.only_features else names

    source = f"--params {a.params}" if a.params else "--no-select (DEFAULT_PARAMS)"
    v = fit_and_validate(X, y, ts, window, fixed, source, a.seed, a.n_jobs)
    thresholds, at_thresholds = choose_thresholds(v.y_val.astype(np.int64), v.s_val)
    X_win, y_win = X[v.in_win], y[v.in_win]
    final = fit_model(v.params, y_win, X_win, a.seed, a.n_jobs)  # refit on the whole window

    # The default version names the model by a hash of its graph exported as "pending".
    onx = export_onnx(final, len(names), a.version or "pending", names)
    version = a.version or f"lgbm-{iso(end)[:10]}-{hashlib.sha256(onx.SerializeToString()).hexdigest()[:8]}"
    if not a.version:
        onx = export_onnx(final, len(names), version, names)
    data = onx.SerializeToString()
    probe = np.vstack([v.X_val[: min(len(v.X_val), 5000)], v.X_val[v.y_val == 1][:500],  # frauds: the high scores
                       np.full((1, len(names)), np.nan, dtype=np.float32)])  # all missing
    diff = verify_onnx(data, final, probe)
    if diff > 1e-5:
        die(f"ONNX scores differ from LightGBM's by up to {diff:.3g}: conversion problem, model not written")

    trees = export_trees(final, version, names)
    trees_diff = verify_trees(trees, final, probe)
    if trees_diff > 1e-7:
        die(f"the exported trees score differently from the model by up to {trees_diff:.3g}: export problem, model not written")

    meta = metadata(version=version, framework=framework(final, onx), names=names, used=used, start=start, end=end,
                    delay_days=a.delay_days, hyper=hyperparameters(v.params, y_win, a.seed), validation=v.validation,
                    thresholds=thresholds, at_thresholds=at_thresholds, selection=v.selection,
                    training={"n": int(v.in_win.sum()), "frauds": int(y_win.sum()),
                              **({"source": data_source} if data_source is not None else {})}, diff=diff)
    meta_path = write_model(a.out, data, meta)
    write_trees(trees_path_for(a.out), trees)  # the engine checks that its model_version is the model's
    # The drift reference: the training window's distributions of each feature and of the score.
    ref = build_reference(version=version, names=names, X=X_win, scores=onnx_scores(data, X_win), start=start, end=end)
    log(f"drift reference: {write_reference(a.out, ref)}")
    print_summary(meta, a.out, meta_path, len(data), chosen=fixed is None, oof=window.oof,
                  valid_days=a.valid_days, seconds=time.time() - t0)
