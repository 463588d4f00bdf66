"""The model's own trees beside the ONNX file (MODEL.trees.json), for the engine's per-feature
contributions (TreeSHAP, src/models/explain/).

ONNX keeps the trees' splits and leaf values but not how many training rows went down each
branch, which TreeSHAP needs; LightGBM's dump_model has all of it. The file holds the model as a
list of additive parts, each with a weight:

  raw score = sum over parts of weight * part's raw score   (what the contributions sum to)
  score     = sum over parts of weight * sigmoid(part's raw score)   (the ONNX graph's output)

* a LightGBM part: raw = the sum of its trees' leaf values (LightGBM's raw_score, log-odds);
  contributions are LightGBM's pred_contrib (path-dependent TreeSHAP on the training counts).
* the linear part of a blend (the logistic regression): raw = its logit; z = the input with
  NaN replaced by the training median, signed-log1p when `transform` is "slog"; contribution of
  feature j = coef[j] * (z[j] - center[j]), where center is the training mean of z, so the
  contributions are the exact Shapley values of the linear model (features independent, the
  training rows as background) and their base value is `intercept`.

One LightGBM: one part of weight 1, and the raw score is LightGBM's own, score = sigmoid(raw).
The blend (n LightGBMs averaged, then (1 - w) and w with the regression): n parts of weight
(1 - w) / n and one of weight w. Its raw score is the weighted sum of the parts' log-odds, which
is not the logit of its score (a blend of probabilities has none), but it is exact and additive.

Trees are written as LightGBM's own arrays (tree.h): internal node i has split_feature[i],
threshold[i] (compared as value <= threshold: left), missing[i] ("none" | "zero" | "nan") and
default_left[i]; a child >= 0 is an internal node, a child < 0 is the leaf ~child.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .common import die
from .ensemble import Ensemble, slog

FORMAT = "fraud-engine-trees"
FORMAT_VERSION = 1
MISSING = {"None": "none", "Zero": "zero", "NaN": "nan"}


def trees_path_for(onnx_path: str) -> str:
    """MODEL.onnx -> MODEL.trees.json (beside MODEL.json)."""
    return onnx_path[: -len(".onnx")] + ".trees.json"


def _flatten(info: dict) -> dict:
    """One tree of dump_model's tree_info -> LightGBM's arrays (internal nodes by split_index)."""
    n_leaves = int(info["num_leaves"])
    if int(info.get("num_cat", 0)) > 0:
        die(f"tree {info['tree_index']}: categorical splits are not supported by the trees export")
    root = info["tree_structure"]
    if n_leaves == 1:
        return {"num_leaves": 1, "split_feature": [], "threshold": [], "missing": [], "default_left": [],
                "left_child": [], "right_child": [], "internal_count": [],
                "leaf_value": [float(root["leaf_value"])], "leaf_count": [int(root.get("leaf_count", 0))]}
    n = n_leaves - 1
    t = {"num_leaves": n_leaves, "split_feature": [0] * n, "threshold": [0.0] * n, "missing": [""] * n,
         "default_left": [False] * n, "left_child": [0] * n, "right_child": [0] * n, "internal_count": [0] * n,
         "leaf_value": [0.0] * n_leaves, "leaf_count": [0] * n_leaves}

    def ref(node: dict) -> int:
        return int(node["split_index"]) if "split_index" in node else ~int(node["leaf_index"])

    stack = [root]
    while stack:
        node = stack.pop()
        if "leaf_index" in node:
            j = int(node["leaf_index"])
            t["leaf_value"][j] = float(node["leaf_value"])
            t["leaf_count"][j] = int(node["leaf_count"])
            continue
        if node["decision_type"] != "<=":
            die(f"tree {info['tree_index']}: decision type {node['decision_type']!r} is not supported")
        i = int(node["split_index"])
        t["split_feature"][i] = int(node["split_feature"])
        t["threshold"][i] = float(node["threshold"])
        t["missing"][i] = MISSING[node["missing_type"]]
        t["default_left"][i] = bool(node["default_left"])
        t["internal_count"][i] = int(node["internal_count"])
        t["left_child"][i], t["right_child"][i] = ref(node["left_child"]), ref(node["right_child"])
        stack += [node["left_child"], node["right_child"]]
    return t


def lightgbm_part(booster, weight: float, n_features: int) -> dict:
    dump = booster.dump_model()
    if dump.get("num_class", 1) != 1 or dump.get("num_tree_per_iteration", 1) != 1:
        die("the trees export supports binary models only")
    objective = str(dump.get("objective", ""))
    if not objective.startswith("binary"):
        die(f"the trees export supports the binary objective only, not {objective!r}")
    sigmoid = 1.0
    for token in objective.split()[1:]:
        if token.startswith("sigmoid:"):
            sigmoid = float(token.split(":", 1)[1])
    if dump.get("max_feature_idx", n_features - 1) != n_features - 1:
        die(f"the model has {dump['max_feature_idx'] + 1} features, expected {n_features}")
    return {"kind": "lightgbm", "weight": weight, "sigmoid": sigmoid, "trees": [_flatten(t) for t in dump["tree_info"]]}


def linear_part(model: Ensemble) -> dict:
    coef = model.lr.coef_.reshape(-1) / model.scale  # per z, as in export.ensemble_onnx
    return {"kind": "linear", "weight": float(model.lr_weight), "transform": model.lr_transform,
            "medians": [float(v) for v in model.medians], "center": [float(v) for v in model.mean],
            "coef": [float(v) for v in coef], "intercept": float(model.lr.intercept_[0])}


def export_trees(model, version: str, names: list[str]) -> dict:
    """A fitted LightGBM or Ensemble -> the trees document (see the module's doc)."""
    n = len(names)
    if isinstance(model, Ensemble):
        w = model.lr_weight if model.lr_weight > 0 else 0.0
        parts = [lightgbm_part(g.booster_, (1 - w) / len(model.gbms), n) for g in model.gbms]
        if w > 0:
            parts.append(linear_part(model))
    else:
        parts = [lightgbm_part(model.booster_, 1.0, n)]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "model_version": version, "features": list(names),
            "parts": parts}


def write_trees(path: str, doc: dict) -> None:
    """Written to a temporary name, then renamed (a reader never sees half a file). Compact: a
    few hundred trees of arrays; repr round-trips every double exactly."""
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)


# --- reading the document back, in Python: the exporter's own check and the tests' reference ---

def _leaf(t: dict, x: np.ndarray) -> int:
    """LightGBM's NumericalDecision down one tree; the leaf index."""
    node = 0
    while node >= 0:
        v = float(x[t["split_feature"][node]])
        missing = t["missing"][node]
        if np.isnan(v) and missing != "nan":
            v = 0.0
        if (missing == "zero" and -1e-35 <= v <= 1e-35) or (missing == "nan" and np.isnan(v)):
            node = t["left_child"][node] if t["default_left"][node] else t["right_child"][node]
        else:
            node = t["left_child"][node] if v <= t["threshold"][node] else t["right_child"][node]
    return ~node


def _linear_z(p: dict, X: np.ndarray) -> np.ndarray:
    Z = np.where(np.isnan(X), np.asarray(p["medians"])[None, :], X).astype(np.float64)
    return slog(Z) if p["transform"] == "slog" else Z


def part_raw_scores(doc: dict, X: np.ndarray) -> np.ndarray:
    """[parts, N]: each part's raw score of each row, read from the document alone."""
    out = np.zeros((len(doc["parts"]), len(X)))
    for k, p in enumerate(doc["parts"]):
        if p["kind"] == "lightgbm":
            for i, x in enumerate(X):
                out[k, i] = sum(t["leaf_value"][_leaf(t, x) if t["num_leaves"] > 1 else 0] for t in p["trees"])
        else:
            out[k] = (_linear_z(p, X) - np.asarray(p["center"])) @ np.asarray(p["coef"]) + p["intercept"]
    return out


def document_scores(doc: dict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(raw score, score) of each row, from the document alone."""
    raw = part_raw_scores(doc, X)
    w = np.array([p["weight"] for p in doc["parts"]])[:, None]
    s = np.array([p.get("sigmoid", 1.0) for p in doc["parts"]])[:, None]
    return (w * raw).sum(axis=0), (w / (1 + np.exp(-s * raw))).sum(axis=0)


def reference_contributions(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contributions [N, F], base [N]) by LightGBM's own pred_contrib for every LightGBM, plus
    the linear part's exact terms, weighted as in export_trees; contributions + base = raw."""
    X = X.astype(np.float32)
    n, f = X.shape
    if isinstance(model, Ensemble):
        w = model.lr_weight if model.lr_weight > 0 else 0.0
        parts = [((1 - w) / len(model.gbms), g) for g in model.gbms]
    else:
        w, parts = 0.0, [(1.0, model)]
    contrib, base = np.zeros((n, f)), np.zeros(n)
    for weight, gbm in parts:
        c = gbm.booster_.predict(X, pred_contrib=True)
        contrib += weight * c[:, :f]
        base += weight * c[:, f]
    if w > 0:
        p = linear_part(model)
        contrib += w * (_linear_z(p, X) - np.asarray(p["center"])) * np.asarray(p["coef"])
        base += w * p["intercept"]
    return contrib, base


def verify_trees(doc: dict, model, X: np.ndarray) -> float:
    """The largest difference between the document's score and the Python model's probability."""
    if not len(X):
        return 0.0
    _, score = document_scores(doc, X.astype(np.float32))
    return float(np.max(np.abs(score - model.predict_proba(X)[:, 1])))
