#!/usr/bin/env python3
"""Fit the fraud model on the engine's own feature vectors and export it to ONNX + metadata.

    python train.py --features FEATURES.csv --labels LABELS.csv \
        --train-from 2018-04-01 --train-to 2018-05-01 [--delay-days 7] [--valid-days 7] \
        [--params JSON|blend | --no-select] [--only-features a,b,...] \
        --out models/model.onnx [--version V] [--n-jobs 2] [--seed 42]

FEATURES.csv (written by `replay --features-out`): `auth_id`, then one column per feature in
the engine's order (src/features/names.ts). An empty cell (or NaN/null) is a missing value.
No feature is computed here: the columns are used as they are, in the order they come.

LABELS.csv: `auth_id` (or `transaction_id`), `tx_datetime` (ISO 8601, UTC when no offset is
given) and `tx_fraud` (0/1); other columns are ignored. The simulator's transactions CSV works
as it is (joined on auth_id == transaction_id, compared as strings).

Protocol (the handbook's hold-out with delay, Le Borgne et al. ch. 5):

    train_from                      valid_start - delay   valid_start            train_to
    |------ selection-train -----------|------ delay -------|----- validation -----|

  * every hyper-parameter combination of a small grid is fitted on selection-train and scored
    on validation by average precision; the delay gap stands for the labels (chargebacks) that
    are not yet known when a model is trained, exactly as in production;
  * the best combination is refitted on the whole window [train_from, train_to);
  * review/decline thresholds are read off the selection model's validation scores.
Deploy the result for transactions after train_to + delay (train_to itself must be chosen so
that its labels are known, i.e. train_to <= today - delay).

Fixed hyper-parameters (--params '{"num_leaves": 31, ...}', or --no-select for DEFAULT_PARAMS):
no grid. With a validation period (--valid-days > 0) one model is fitted on selection-train
for the validation figures and thresholds, then the whole window is refitted, as above. With
--valid-days 0 (the handbook's protocol: train on one week, no inner validation) the whole
window is fitted at once; the validation figures and thresholds then come from out-of-fold
scores (the window cut into up to 7 blocks of whole days, each scored by a model fitted on the
other blocks): no delay gap, so somewhat optimistic, and marked as such in MODEL.json.

--params blend (BLEND_PARAMS) is an ensemble: 5 LightGBMs with different seeds, feature and row
sub-sampling, averaged, blended with a logistic regression on imputed, signed-log, standardized
features (weight 0.2). It is exported as ONE ONNX graph with the same input and output as a
single LightGBM, and verified against the Python ensemble like any model. The ensemble keys
(seeds, lr_weight, lr_transform, lr_c) can be given in any --params JSON.

--only-features keeps the named columns and blanks the others (all missing) before fitting, so
the model cannot use them while its input stays the engine's full feature vector (the engine
loads it as any other model): e.g. the handbook's 15 features against all of ours.

Outputs MODEL.onnx (input `features` float32 [N, F]; outputs `label` int64 [N] and
`probabilities` float32 [N, 2]; the engine reads probabilities[:, 1], the fraud probability)
and MODEL.json beside it (see write_metadata), then prints a short summary.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import math
import os
import sys
import time
from datetime import datetime, timezone
from typing import NoReturn

import numpy as np

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
OUTPUT_COLUMN = 1  # probabilities[:, 1] = P(fraud)
MAX_MODEL_BYTES = 2 * 1024 * 1024

# Small grid. n_estimators is not fitted separately: one fit with the largest value is scored
# at each smaller iteration count (predict(num_iteration=k)), which is the same model.
GRID = {
    "num_leaves": [15, 31],
    "learning_rate": [0.05, 0.1],
    "min_child_samples": [20, 100],
    # scale_pos_weight: none = 1, sqrt = sqrt(neg/pos), balanced = neg/pos (= is_unbalance)
    "imbalance": ["none", "sqrt", "balanced"],
}
N_ESTIMATORS = [100, 200, 300]

# Fixed hyper-parameters of --no-select, chosen once by this trainer's own selection (the grid
# above, validation by average precision) with a one-week selection-train period, the size of
# the handbook's training set, on the default simulation before 2018-08-01 (docs/model.md):
#   fraud-engine train --input sim-default.csv --train-from 2018-07-11 --train-to 2018-08-01 ...
#   (selection-train 07-11..07-18, delay 07-18..07-25, validation 07-25..08-01: AP 0.766).
DEFAULT_PARAMS = {
    "num_leaves": 15,
    "learning_rate": 0.05,
    "n_estimators": 100,
    "min_child_samples": 100,
    "imbalance": "none",
}
# Keys --params accepts (type, check); the grid's keys plus a few LightGBM regularisers.
PARAM_TYPES = {
    "num_leaves": (int, lambda v: v >= 2),
    "learning_rate": (float, lambda v: v > 0),
    "n_estimators": (int, lambda v: v >= 1),
    "min_child_samples": (int, lambda v: v >= 1),
    "imbalance": (str, lambda v: v in ("none", "sqrt", "balanced")),
    "max_depth": (int, lambda v: v == -1 or v >= 1),
    "colsample_bytree": (float, lambda v: 0 < v <= 1),
    "reg_lambda": (float, lambda v: v >= 0),
    # Row sub-sampling (LightGBM bagging, every iteration when < 1).
    "subsample": (float, lambda v: 0 < v <= 1),
    # Ensemble keys (fixed hyper-parameters only; see Ensemble): `seeds` LightGBMs with seeds
    # seed, seed+1, ... averaged, and a logistic regression blended in with weight `lr_weight`.
    "seeds": (int, lambda v: 1 <= v <= 20),
    "lr_weight": (float, lambda v: 0 <= v < 1),
    "lr_transform": (str, lambda v: v in ("none", "slog")),
    "lr_c": (float, lambda v: v > 0),
}
LGBM_EXTRA_KEYS = ("max_depth", "colsample_bytree", "reg_lambda", "subsample")
ENSEMBLE_KEYS = ("seeds", "lr_weight", "lr_transform", "lr_c")

# The blend recipe (--params blend): 5 LightGBMs (DEFAULT_PARAMS with half the features per tree
# and 80% of the rows per iteration, seeds 42..46) averaged, then 0.8 x that + 0.2 x a logistic
# regression on median-imputed, signed-log1p, standardized features. Chosen once on 8 weeks
# before the handbook's test week (the protocol shifted back 2..9 weeks: train one week, 7-day
# delay, test one week with known-compromised cards removed), by mean AUC ROC + mean average
# precision, among {1 LightGBM, 1 LightGBM with colsample 0.5, this 5-seed bag} x {plain, slog
# logistic regression} x LR weight {0.2, 0.3, 0.4, 0.5} (docs/model.md, section 3).
BLEND_PARAMS = {
    **DEFAULT_PARAMS,
    "colsample_bytree": 0.5,
    "subsample": 0.8,
    "seeds": 5,
    "lr_weight": 0.2,
    "lr_transform": "slog",
    "lr_c": 1.0,
}
PRESETS = {"default": DEFAULT_PARAMS, "blend": BLEND_PARAMS}
OOF_MAX_FOLDS = 7

# Threshold rule (on the selection model's validation scores; a transaction is declined when
# score >= decline, sent to review when review <= score < decline):
#   decline = the cut with the highest recall among those whose flagged transactions are fraud
#             with precision >= 0.8 (the highest such cut when several catch as many frauds), and
#             that catches at least DECLINE_MIN_FRAUDS frauds, so one lucky top score does not set
#             it; when no cut reaches that precision, the score of the top 0.1% of transactions.
#   review  = the cut that sends the next 1% of transactions, after the declined ones, to
#             review (an investigation team's daily capacity: the handbook's card-precision-
#             top-k idea).
DECLINE_PRECISION = 0.8
DECLINE_MIN_FRAUDS = 5
DECLINE_FALLBACK_RATE = 0.001
REVIEW_RATE = 0.01

MISSING = {"", "nan", "NaN", "NAN", "null", "NULL", "None", "NA"}


def die(msg: str) -> NoReturn:
    print(f"train.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- input
def parse_time(text: str, what: str) -> float:
    """ISO 8601 date or date-time -> epoch seconds; no offset means UTC."""
    s = text.strip()
    try:
        if len(s) == 10:
            dt = datetime.strptime(s, "%Y-%m-%d")
        else:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        die(f"{what}: not an ISO 8601 date/time: {text!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def parse_value(cell: str) -> float:
    c = cell.strip()
    if c in MISSING:
        return math.nan
    if c in ("true", "True", "TRUE"):
        return 1.0
    if c in ("false", "False", "FALSE"):
        return 0.0
    return float(c)


def read_labels(path: str) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is None:
            die(f"{path}: empty file")
        header = [h.strip() for h in header]
        id_col = "auth_id" if "auth_id" in header else "transaction_id" if "transaction_id" in header else None
        if id_col is None:
            die(f"{path}: needs an 'auth_id' or 'transaction_id' column (header: {','.join(header)})")
        for need in ("tx_datetime", "tx_fraud"):
            if need not in header:
                die(f"{path}: missing column '{need}' (header: {','.join(header)})")
        i_id, i_dt, i_y = header.index(id_col), header.index("tx_datetime"), header.index("tx_fraud")
        for line_no, row in enumerate(r, start=2):
            if not row:
                continue
            try:
                y_text = row[i_y].strip()
                y = 1 if y_text in ("1", "true", "True", "1.0") else 0 if y_text in ("0", "false", "False", "0.0") else None
                if y is None:
                    die(f"{path}:{line_no}: tx_fraud must be 0 or 1, got {y_text!r}")
                out[row[i_id].strip()] = (parse_time(row[i_dt], f"{path}:{line_no} tx_datetime"), y)
            except IndexError:
                die(f"{path}:{line_no}: expected {len(header)} columns, got {len(row)}")
    return out


def read_features(path: str, labels: dict[str, tuple[float, int]]):
    """Returns (feature_names, X float32 [n, F], y int8 [n], ts float64 [n], n_unlabelled)."""
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is None:
            die(f"{path}: empty file")
        header = [h.strip() for h in header]
        if not header or header[0] != "auth_id":
            die(f"{path}: the first column must be 'auth_id' (got {header[0] if header else 'nothing'!r})")
        names = header[1:]
        if not names:
            die(f"{path}: no feature columns after auth_id")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            die(f"{path}: duplicate feature columns: {', '.join(dup)}")
        width = len(header)
        rows: list[list[float]] = []
        ys: list[int] = []
        tss: list[float] = []
        seen: set[str] = set()
        unlabelled = duplicates = 0
        for line_no, row in enumerate(r, start=2):
            if not row:
                continue
            if len(row) != width:
                die(f"{path}:{line_no}: expected {width} columns, got {len(row)}")
            aid = row[0].strip()
            lab = labels.get(aid)
            if lab is None:
                unlabelled += 1
                continue
            if aid in seen:
                duplicates += 1
                continue
            seen.add(aid)
            try:
                rows.append([parse_value(c) for c in row[1:]])
            except ValueError as e:
                die(f"{path}:{line_no}: {e}")
            tss.append(lab[0])
            ys.append(lab[1])
    if duplicates:
        log(f"warning: {duplicates} duplicate auth_id rows in {path} ignored (first one kept)")
    X = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(names))
    return names, X, np.asarray(ys, dtype=np.int8), np.asarray(tss, dtype=np.float64), unlabelled


# ---------------------------------------------------------------- model
def scale_pos_weight(mode: str, y: np.ndarray) -> float:
    pos = int(y.sum())
    neg = int(len(y) - pos)
    if mode == "none" or pos == 0:
        return 1.0
    ratio = neg / pos
    return math.sqrt(ratio) if mode == "sqrt" else ratio


def make_model(params: dict, n_estimators: int, y: np.ndarray, seed: int, n_jobs: int):
    import lightgbm as lgb

    return lgb.LGBMClassifier(
        objective="binary",
        n_estimators=n_estimators,
        num_leaves=params["num_leaves"],
        learning_rate=params["learning_rate"],
        min_child_samples=params["min_child_samples"],
        scale_pos_weight=scale_pos_weight(params["imbalance"], y),
        **{k: params[k] for k in LGBM_EXTRA_KEYS if k in params},
        **({"subsample_freq": 1} if params.get("subsample", 1.0) < 1 else {}),
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        n_jobs=n_jobs,
        verbose=-1,
    )


def is_ensemble(params: dict) -> bool:
    return params.get("seeds", 1) > 1 or params.get("lr_weight", 0.0) > 0


def slog(Z: np.ndarray) -> np.ndarray:
    """Signed log1p: sign(z) * log(1 + |z|), for the logistic regression's heavy-tailed inputs."""
    return np.sign(Z) * np.log1p(np.abs(Z))


class Ensemble:
    """P(fraud) = (1 - lr_weight) * mean of `seeds` LightGBMs + lr_weight * logistic regression.

    The logistic regression sees the features median-imputed (medians of the training rows; a
    column with no value at all gets 0), then signed-log1p when lr_transform is "slog", then
    standardized. export_onnx builds the same computation as one ONNX graph.
    """

    def __init__(self, params: dict, seed: int, n_jobs: int):
        self.params, self.seed, self.n_jobs = params, seed, n_jobs
        self.n_seeds = params.get("seeds", 1)
        self.lr_weight = params.get("lr_weight", 0.0)
        self.lr_transform = params.get("lr_transform", "none")
        self.lr_c = params.get("lr_c", 1.0)

    def _lr_input(self, X: np.ndarray) -> np.ndarray:
        Z = np.where(np.isnan(X), self.medians, X).astype(np.float64)
        if self.lr_transform == "slog":
            Z = slog(Z)
        return (Z - self.mean) / self.scale

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Ensemble":
        self.gbms = [make_model(self.params, self.params["n_estimators"], y, self.seed + i, self.n_jobs).fit(X, y)
                     for i in range(self.n_seeds)]
        if self.lr_weight > 0:
            from sklearn.linear_model import LogisticRegression

            with np.errstate(all="ignore"):
                med = np.nanmedian(X.astype(np.float64), axis=0)
            self.medians = np.where(np.isnan(med), 0.0, med)
            Z = np.where(np.isnan(X), self.medians, X).astype(np.float64)
            if self.lr_transform == "slog":
                Z = slog(Z)
            self.mean = Z.mean(axis=0)
            sd = Z.std(axis=0)
            self.scale = np.where(sd > 0, sd, 1.0)
            self.lr = LogisticRegression(C=self.lr_c, max_iter=2000).fit(self._lr_input(X), y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.mean([m.predict_proba(X)[:, 1] for m in self.gbms], axis=0)
        if self.lr_weight > 0:
            p = (1 - self.lr_weight) * p + self.lr_weight * self.lr.predict_proba(self._lr_input(X))[:, 1]
        return np.column_stack([1 - p, p])


def fit_model(params: dict, y: np.ndarray, X: np.ndarray, seed: int, n_jobs: int):
    """Fixed hyper-parameters: one LightGBM, or an Ensemble when the params ask for one."""
    if is_ensemble(params):
        return Ensemble(params, seed, n_jobs).fit(X, y)
    return make_model(params, params["n_estimators"], y, seed, n_jobs).fit(X, y)


def metrics(y: np.ndarray, s: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "auc_roc": round(float(roc_auc_score(y, s)), 6),
        "average_precision": round(float(average_precision_score(y, s)), 6),
        "n": int(len(y)),
        "frauds": int(y.sum()),
    }


def choose_thresholds(y: np.ndarray, s: np.ndarray) -> tuple[dict, dict]:
    """The rule is described at DECLINE_PRECISION above. Returns (thresholds, what they do on validation)."""
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
        }

    # What each action does on validation: declined = score >= decline; reviewed = the band below.
    return ({"review": review, "decline": decline},
            {"decline_rule": decline_by, "review": band(review, decline), "decline": band(decline, math.inf)})


def lightgbm_onnx(model, n_features: int, version: str):
    """One LightGBM -> ONNX (outputs `label` int64 [N], `probabilities` float32 [N, 2])."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    onx = convert_lightgbm(
        model,
        name=f"fraud-{version}",
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        zipmap=False,  # a plain [N, 2] tensor, not a list of maps
    )
    names_out = [o.name for o in onx.graph.output]
    if OUTPUT_NAME not in names_out:
        die(f"converter produced outputs {names_out}, expected '{OUTPUT_NAME}'")
    return onx


def ensemble_onnx(model: Ensemble, n_features: int, version: str):
    """The Ensemble as one ONNX graph on the same input: each LightGBM's converted graph (names
    prefixed g0_, g1_, ...), their probabilities averaged, the logistic regression written with
    plain ONNX operators (IsNaN/Where imputation, signed log1p, standardization, MatMul,
    Sigmoid), and the weighted sum of the two [N, 2] probability tensors as `probabilities`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, opsets, ir = [], [], {}, 4
    gbm_outputs = []
    for i, gbm in enumerate(model.gbms):
        g = lightgbm_onnx(gbm, n_features, f"{version}-g{i}")
        ir = max(ir, g.ir_version)
        for o in g.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
        rename = lambda n, p=f"g{i}_": n if n in ("", INPUT_NAME) else p + n
        for init in g.graph.initializer:
            init.name = rename(init.name)
            inits.append(init)
        for node in g.graph.node:
            node.name = rename(node.name)
            node.input[:] = [rename(n) for n in node.input]
            node.output[:] = [rename(n) for n in node.output]
            nodes.append(node)
        gbm_outputs.append(rename(OUTPUT_NAME))

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    w = model.lr_weight
    nodes.append(helper.make_node("Sum", gbm_outputs, ["gbm_sum"], name="gbm_sum"))
    nodes.append(helper.make_node("Mul", ["gbm_sum", const("gbm_w", (1 - w) / len(gbm_outputs))], ["gbm_part"], name="gbm_part"))
    final_in = "gbm_part"
    if w > 0:
        nodes.append(helper.make_node("IsNaN", [INPUT_NAME], ["lr_nan"], name="lr_nan"))
        nodes.append(helper.make_node("Where", ["lr_nan", const("lr_median", model.medians[None, :]), INPUT_NAME],
                                      ["lr_imputed"], name="lr_impute"))
        z = "lr_imputed"
        if model.lr_transform == "slog":
            nodes += [helper.make_node("Abs", [z], ["lr_abs"], name="lr_abs"),
                      helper.make_node("Add", ["lr_abs", const("one", 1.0)], ["lr_abs1"], name="lr_abs1"),
                      helper.make_node("Log", ["lr_abs1"], ["lr_log"], name="lr_log"),
                      helper.make_node("Sign", [z], ["lr_sign"], name="lr_sign"),
                      helper.make_node("Mul", ["lr_sign", "lr_log"], ["lr_slog"], name="lr_slog")]
            z = "lr_slog"
        coef = model.lr.coef_.reshape(-1) / model.scale  # (z - mean) / scale . coef  ==  z . (coef / scale) - mean . (coef / scale)
        bias = float(model.lr.intercept_[0]) - float(np.dot(model.mean, coef))
        nodes += [helper.make_node("MatMul", [z, const("lr_coef", coef[:, None])], ["lr_dot"], name="lr_dot"),
                  helper.make_node("Add", ["lr_dot", const("lr_bias", [bias])], ["lr_logit"], name="lr_logit"),
                  helper.make_node("Sigmoid", ["lr_logit"], ["lr_p1"], name="lr_p1"),
                  helper.make_node("Sub", [const("one_", [[1.0]]), "lr_p1"], ["lr_p0"], name="lr_p0"),
                  helper.make_node("Concat", ["lr_p0", "lr_p1"], ["lr_proba"], axis=1, name="lr_proba"),
                  helper.make_node("Mul", ["lr_proba", const("lr_w", w)], ["lr_part"], name="lr_part"),
                  helper.make_node("Add", ["gbm_part", "lr_part"], ["blend"], name="blend")]
        final_in = "blend"
    nodes += [helper.make_node("Identity", [final_in], [OUTPUT_NAME], name="probabilities"),
              helper.make_node("ArgMax", [OUTPUT_NAME], ["label"], axis=1, keepdims=0, name="label")]
    graph = helper.make_graph(
        nodes, f"fraud-{version}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None, 2])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
                             ir_version=ir, producer_name="fraud-engine train.py")


def export_onnx(model, n_features: int, version: str, names: list[str]):
    import onnx

    onx = ensemble_onnx(model, n_features, version) if isinstance(model, Ensemble) else lightgbm_onnx(model, n_features, version)
    # The converter declares `label` as [1] and leaves the batch dimension unnamed; name it so
    # the runtime does not warn on every batch and the shapes read well.
    for value in list(onx.graph.input) + list(onx.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) >= 1:
            dims[0].Clear()
            dims[0].dim_param = "N"
    for key, value in (("model_version", version), ("features", ",".join(names))):
        p = onx.metadata_props.add()
        p.key, p.value = key, value
    onx.doc_string = f"Fraud model {version}: input '{INPUT_NAME}' float32 [N,{n_features}], " \
                     f"P(fraud) = {OUTPUT_NAME}[:, {OUTPUT_COLUMN}]"
    onnx.checker.check_model(onx)
    return onx


def verify_onnx(data: bytes, model, X: np.ndarray) -> float:
    """Scores X with onnxruntime and LightGBM; returns the largest difference."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: X})[0][:, OUTPUT_COLUMN]
    want = model.predict_proba(X)[:, 1]  # LightGBM's, or the Ensemble's (float64)
    return float(np.max(np.abs(got.astype(np.float64) - want))) if len(X) else 0.0


def parse_params(text: str) -> dict:
    """--params NAME|JSON -> a full parameter dict: a preset (PRESETS: default, blend), or a JSON
    object whose keys override DEFAULT_PARAMS (or the preset named by its "preset" key)."""
    if text.strip() in PRESETS:
        return dict(PRESETS[text.strip()])
    try:
        given = json.loads(text)
    except json.JSONDecodeError as e:
        die(f"--params: not JSON: {e}")
    if not isinstance(given, dict):
        die("--params: expected a JSON object, e.g. '{\"num_leaves\": 31, \"n_estimators\": 200}'")
    base = given.pop("preset", "default")
    if base not in PRESETS:
        die(f"--params: unknown preset {base!r} (known: {', '.join(PRESETS)})")
    params = dict(PRESETS[base])
    for k, v in given.items():
        if k not in PARAM_TYPES:
            die(f"--params: unknown key {k!r} (known: {', '.join(PARAM_TYPES)})")
        typ, ok = PARAM_TYPES[k]
        if typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, typ) or isinstance(v, bool) or not ok(v):
            die(f"--params: bad value for {k!r}: {v!r}")
        params[k] = v
    return params


def day_blocks(start: float, end: float) -> list[tuple[float, float]]:
    """The window cut into up to OOF_MAX_FOLDS contiguous blocks of whole days."""
    n_days = max(1, math.ceil((end - start) / 86400))
    k = min(OOF_MAX_FOLDS, n_days)
    edges = [start + round(i * n_days / k) * 86400 for i in range(k)] + [end]
    return [(edges[i], edges[i + 1]) for i in range(k)]


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
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
    a = ap.parse_args(argv)

    if not a.out.endswith(".onnx"):
        die("--out must end with .onnx (the metadata goes to the same name with .json)")
    t0 = time.time()
    start, end = parse_time(a.train_from, "--train-from"), parse_time(a.train_to, "--train-to")
    if end <= start:
        die("--train-to must be after --train-from")
    fixed = parse_params(a.params) if a.params else dict(DEFAULT_PARAMS) if a.no_select else None
    if a.delay_days < 0 or a.valid_days < 0:
        die("--valid-days and --delay-days must be >= 0")
    oof = a.valid_days == 0
    if oof and fixed is None:
        die("--valid-days 0 needs fixed hyper-parameters (--params or --no-select): selection needs a validation period")
    valid_start = end - a.valid_days * 86400
    sel_end = valid_start - a.delay_days * 86400
    if not oof and sel_end <= start:
        hint = " (with fixed hyper-parameters, --valid-days 0 fits the whole window without an inner validation)" \
            if fixed is not None else " (or fix the hyper-parameters: --no-select --valid-days 0)"
        die(f"window too short: {a.valid_days:g} validation days + {a.delay_days:g} delay days leave no "
            f"selection-train period after {iso(start)}{hint}")

    labels = read_labels(a.labels)
    names, X, y, ts, unlabelled = read_features(a.features, labels)
    if unlabelled:
        log(f"warning: {unlabelled} feature rows have no label and are ignored")
    used = names
    if a.only_features:
        used = [n.strip() for n in a.only_features.split(",") if n.strip()]
        unknown = [n for n in used if n not in names]
        if unknown or not used:
            die(f"--only-features: unknown feature(s) {', '.join(unknown) or '(none given)'} (known: {', '.join(names)})")
        blank = [i for i, n in enumerate(names) if n not in used]
        X[:, blank] = np.nan
        used = [n for n in names if n in used]  # the engine's order
        log(f"using {len(used)} of {len(names)} features; blanked: {', '.join(names[i] for i in blank)}")
    in_win = (ts >= start) & (ts < end)
    checks = [("training window", in_win)]
    if not oof:
        sel = (ts >= start) & (ts < sel_end)
        val = (ts >= valid_start) & (ts < end)
        checks += [("selection-train period", sel), ("validation period", val)]
    for what, m in checks:
        pos = int(y[m].sum())
        if pos == 0 or pos == int(m.sum()):
            die(f"the {what} has {int(m.sum())} labelled transactions of which {pos} frauds: "
                f"both classes are needed (check the dates, --delay-days and --valid-days)")
    X_win, y_win = X[in_win], y[in_win]

    if oof:
        # ---- fixed hyper-parameters, no inner validation: out-of-fold scores over the window
        params, n_est = fixed, fixed["n_estimators"]
        ts_win = ts[in_win]
        s_oof = np.full(len(y_win), np.nan)
        blocks = day_blocks(start, end)
        for lo, hi in blocks:
            held = (ts_win >= lo) & (ts_win < hi)
            if not held.any():
                continue
            rest = ~held
            if int(y_win[rest].sum()) == 0:
                die(f"out-of-fold: no fraud outside {iso(lo)} .. {iso(hi)}")
            m = fit_model(params, y_win[rest], X_win[rest], a.seed, a.n_jobs)
            s_oof[held] = m.predict_proba(X_win[held])[:, 1]
        y_val, s_val, X_val = y_win, s_oof, X_win
        log(f"{len(names)} features; window {iso(start)} .. {iso(end)}: {int(in_win.sum())} tx, {int(y_win.sum())} frauds; "
            f"fixed hyper-parameters, no inner validation; out-of-fold scores over {len(blocks)} blocks of days")
        validation = {**metrics(y_val, s_val), "method": f"out-of-fold over {len(blocks)} blocks of whole days of the "
                      f"training window (no delay gap: optimistic)"}
        selection = {"method": "fixed", "source": f"--params {a.params}" if a.params else "--no-select (DEFAULT_PARAMS)",
                     "validation": "out-of-fold", "folds": [[iso(lo), iso(hi)] for lo, hi in blocks]}
    else:
        X_sel, y_sel, X_val, y_val = X[sel], y[sel], X[val], y[val]
        log(f"{len(names)} features; window {iso(start)} .. {iso(end)}: {int(in_win.sum())} tx, {int(y_win.sum())} frauds; "
            f"selection-train {int(sel.sum())} tx, validation {int(val.sum())} tx ({int(y_val.sum())} frauds)")
        period = {
            "selection_train": {"from": iso(start), "to": iso(sel_end), "n": int(sel.sum()), "frauds": int(y_sel.sum())},
            "validation_window": {"from": iso(valid_start), "to": iso(end)},
        }
        if fixed is None:
            # ---- hyper-parameter selection on validation
            results = []
            keys = list(GRID)
            for combo in itertools.product(*(GRID[k] for k in keys)):
                params = dict(zip(keys, combo))
                m = make_model(params, max(N_ESTIMATORS), y_sel, a.seed, a.n_jobs).fit(X_sel, y_sel)
                for k in N_ESTIMATORS:
                    s = m.predict_proba(X_val, num_iteration=k)[:, 1]
                    results.append({**params, "n_estimators": k, **metrics(y_val, s)})
            # Best average precision; ties go to the simpler model.
            results.sort(key=lambda r: (-r["average_precision"], r["n_estimators"], r["num_leaves"], -r["min_child_samples"]))
            best = results[0]
            params = {k: best[k] for k in keys}
            n_est = best["n_estimators"]
            selection = {"method": "grid", **period, "grid_size": len(results), "top": results[:5]}
        else:
            params, n_est = fixed, fixed["n_estimators"]
            selection = {"method": "fixed", "source": f"--params {a.params}" if a.params else "--no-select (DEFAULT_PARAMS)", **period}

        sel_model = fit_model({**params, "n_estimators": n_est}, y_sel, X_sel, a.seed, a.n_jobs)
        s_val = sel_model.predict_proba(X_val)[:, 1]
        validation = {**metrics(y_val, s_val), "method": "delayed hold-out: a model fitted on selection-train, "
                      "scored on the validation period after the delay"}
    thresholds, at_thresholds = choose_thresholds(y_val.astype(np.int64), s_val)

    # ---- refit on the whole window
    final = fit_model({**params, "n_estimators": n_est}, y_win, X_win, a.seed, a.n_jobs)
    hyper = {
        "num_leaves": params["num_leaves"],
        "learning_rate": params["learning_rate"],
        "n_estimators": n_est,
        "min_child_samples": params["min_child_samples"],
        "imbalance": params["imbalance"],
        **{k: params[k] for k in LGBM_EXTRA_KEYS + ENSEMBLE_KEYS if k in params},
        "scale_pos_weight": round(scale_pos_weight(params["imbalance"], y_win), 6),
        "objective": "binary",
        "seed": a.seed,
    }

    # ---- export + verify
    import lightgbm
    import sklearn

    version = a.version
    onx = export_onnx(final, len(names), version or "pending", names)
    if not version:
        digest = hashlib.sha256(onx.SerializeToString()).hexdigest()[:8]
        version = f"lgbm-{iso(end)[:10]}-{digest}"
        onx = export_onnx(final, len(names), version, names)
    data = onx.SerializeToString()
    probe = np.vstack([X_val[: min(len(X_val), 5000)], X_val[y_val == 1][:500],  # frauds: the high scores
                       np.full((1, len(names)), np.nan, dtype=np.float32)])  # all missing
    diff = verify_onnx(data, final, probe)
    if diff > 1e-5:
        die(f"ONNX scores differ from LightGBM's by up to {diff:.3g}: conversion problem, model not written")

    meta = {
        "model_version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "framework": (f"ensemble: {final.n_seeds} x lightgbm {lightgbm.__version__} (onnxmltools)"
                      + (f" + {final.lr_weight:g} x logistic regression (scikit-learn {sklearn.__version__})" if final.lr_weight > 0 else "")
                      + ", one onnx graph, opset " if isinstance(final, Ensemble) else
                      f"lightgbm {lightgbm.__version__} -> onnxmltools, onnx opset ")
                     + ",".join(f"{o.domain or 'ai.onnx'}={o.version}" for o in onx.opset_import),
        "features": names,
        # The features the model may use (the others are blanked at training): see --only-features.
        "used_features": used,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "output_column": OUTPUT_COLUMN,
        "train_window": {"from": iso(start), "to": iso(end)},
        "delay_days": a.delay_days,
        "hyperparameters": hyper,
        "validation": validation,
        "thresholds": thresholds,
        # Extra keys, for people: how the thresholds behave on validation and how selection went.
        "threshold_rule": (f"decline: highest-recall validation cut with precision >= {DECLINE_PRECISION} "
                           f"(>= {DECLINE_MIN_FRAUDS} frauds), else top {DECLINE_FALLBACK_RATE:.1%}; "
                           f"review: the next {REVIEW_RATE:.0%} of validation transactions below decline"),
        "at_thresholds": at_thresholds,
        "selection": selection,
        "training": {"n": int(in_win.sum()), "frauds": int(y_win.sum())},
        "onnx_vs_lightgbm_max_abs_diff": diff,
    }

    out = os.path.abspath(a.out)
    meta_path = out[: -len(".onnx")] + ".json"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # Write both to temporary names, then rename: a reader never sees half a model.
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)
    os.replace(meta_path + ".tmp", meta_path)

    size = len(data)
    print(f"model {version}: {a.out} ({size / 1024:.0f} KiB) + {os.path.basename(meta_path)}")
    print(f"  window {iso(start)} .. {iso(end)}: {meta['training']['n']} tx, {meta['training']['frauds']} frauds; "
          + (f"delay {a.delay_days:g}d, validation {a.valid_days:g}d" if not oof else "no inner validation (out-of-fold)"))
    print(f"  {'chosen' if fixed is None else 'fixed'}: {json.dumps({k: hyper[k] for k in ('num_leaves', 'learning_rate', 'n_estimators', 'min_child_samples', 'imbalance', *LGBM_EXTRA_KEYS, *ENSEMBLE_KEYS) if k in hyper})}")
    print(f"  validation ({'out-of-fold' if oof else 'delayed hold-out'}): AUC {validation['auc_roc']:.4f}, "
          f"AP {validation['average_precision']:.4f} "
          f"(n={validation['n']}, frauds={validation['frauds']})")
    print(f"  thresholds: review {thresholds['review']:.4f} (rate {at_thresholds['review']['rate']:.2%}, "
          f"precision {at_thresholds['review']['precision']}), decline {thresholds['decline']:.4f} "
          f"(rate {at_thresholds['decline']['rate']:.2%}, precision {at_thresholds['decline']['precision']}; "
          f"{at_thresholds['decline_rule']})")
    print(f"  onnx: input '{INPUT_NAME}' [N,{len(names)}], P(fraud) = '{OUTPUT_NAME}'[:, {OUTPUT_COLUMN}]; "
          f"max |onnx - lightgbm| = {diff:.2g}; {time.time() - t0:.1f}s")
    if size > MAX_MODEL_BYTES:
        log(f"warning: the model is {size / 1048576:.1f} MiB, over the {MAX_MODEL_BYTES // 1048576} MiB budget "
            f"for a committed model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
