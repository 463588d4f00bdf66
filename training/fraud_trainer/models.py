"""One LightGBM classifier, and the figures every model is judged by."""
from __future__ import annotations

import math

import numpy as np

from .params import LGBM_EXTRA_KEYS


def scale_pos_weight(mode: str, y: np.ndarray) -> float:
    pos = int(y.sum())
    neg = int(len(y) - pos)
    if mode == "none" or pos == 0:
        return 1.0
    ratio = neg / pos
    return math.sqrt(ratio) if mode == "sqrt" else ratio


def make_model(params: dict, n_estimators: int, y: np.ndarray, seed: int, n_jobs: int):
    """An unfitted, deterministic LGBMClassifier (y only sets the class weighting)."""
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


def metrics(y: np.ndarray, s: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "auc_roc": round(float(roc_auc_score(y, s)), 6),
        "average_precision": round(float(average_precision_score(y, s)), 6),
        "n": int(len(y)),
        "frauds": int(y.sum()),
    }
