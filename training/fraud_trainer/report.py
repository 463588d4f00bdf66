"""MODEL.json (the metadata the engine checks at load), writing the model, and the summary."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import numpy as np

from .common import INPUT_NAME, MAX_MODEL_BYTES, OUTPUT_COLUMN, OUTPUT_NAME, iso, log
from .models import scale_pos_weight
from .params import ENSEMBLE_KEYS, LGBM_EXTRA_KEYS
from .thresholds import THRESHOLD_RULE

SUMMARY_KEYS = ("num_leaves", "learning_rate", "n_estimators", "min_child_samples", "imbalance",
                *LGBM_EXTRA_KEYS, *ENSEMBLE_KEYS)


def hyperparameters(params: dict, y_win: np.ndarray, seed: int) -> dict:
    return {
        "num_leaves": params["num_leaves"],
        "learning_rate": params["learning_rate"],
        "n_estimators": params["n_estimators"],
        "min_child_samples": params["min_child_samples"],
        "imbalance": params["imbalance"],
        **{k: params[k] for k in LGBM_EXTRA_KEYS + ENSEMBLE_KEYS if k in params},
        "scale_pos_weight": round(scale_pos_weight(params["imbalance"], y_win), 6),
        "objective": "binary",
        "seed": seed,
    }


def metadata(*, version: str, framework: str, names: list[str], used: list[str], start: float, end: float,
             delay_days: float, hyper: dict, validation: dict, thresholds: dict, at_thresholds: dict,
             selection: dict, training: dict, diff: float) -> dict:
    return {
        "model_version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "framework": framework,
        "features": names,
        # The features the model may use (the others are blanked at training): see --only-features.
        "used_features": used,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "output_column": OUTPUT_COLUMN,
        "train_window": {"from": iso(start), "to": iso(end)},
        "delay_days": delay_days,
        "hyperparameters": hyper,
        "validation": validation,
        "thresholds": thresholds,
        # Extra keys, for people: how the thresholds behave on validation and how selection went.
        "threshold_rule": THRESHOLD_RULE,
        "at_thresholds": at_thresholds,
        "selection": selection,
        "training": training,
        "onnx_vs_lightgbm_max_abs_diff": diff,
    }


def write_model(out: str, data: bytes, meta: dict) -> str:
    """MODEL.onnx and MODEL.json beside it, each written to a temporary name and then renamed,
    so that a reader never sees half a model. Returns the metadata's path."""
    out = os.path.abspath(out)
    meta_path = out[: -len(".onnx")] + ".json"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)
    os.replace(meta_path + ".tmp", meta_path)
    return meta_path


def print_summary(meta: dict, out: str, meta_path: str, size: int, *, chosen: bool, oof: bool,
                  valid_days: float, seconds: float) -> None:
    hyper, validation, training = meta["hyperparameters"], meta["validation"], meta["training"]
    thresholds, at = meta["thresholds"], meta["at_thresholds"]
    window = meta["train_window"]
    legit = at["decline"].get("legit_rate")
    fdr = "n/a" if legit is None else f"{legit:.3%}"
    print(f"model {meta['model_version']}: {out} ({size / 1024:.0f} KiB) + {os.path.basename(meta_path)}")
    print(f"  window {window['from']} .. {window['to']}: {training['n']} tx, {training['frauds']} frauds; "
          + (f"delay {meta['delay_days']:g}d, validation {valid_days:g}d" if not oof else "no inner validation (out-of-fold)"))
    print(f"  {'chosen' if chosen else 'fixed'}: {json.dumps({k: hyper[k] for k in SUMMARY_KEYS if k in hyper})}")
    print(f"  validation ({'out-of-fold' if oof else 'delayed hold-out'}): AUC {validation['auc_roc']:.4f}, "
          f"AP {validation['average_precision']:.4f} "
          f"(n={validation['n']}, frauds={validation['frauds']})")
    print(f"  thresholds: review {thresholds['review']:.4f} (rate {at['review']['rate']:.2%}, "
          f"precision {at['review']['precision']}), decline {thresholds['decline']:.4f} "
          f"(rate {at['decline']['rate']:.2%}, precision {at['decline']['precision']}, "
          f"false-decline rate {fdr}; "
          f"{at['decline_rule']})")
    print(f"  onnx: input '{INPUT_NAME}' [N,{len(meta['features'])}], P(fraud) = '{OUTPUT_NAME}'[:, {OUTPUT_COLUMN}]; "
          f"max |onnx - lightgbm| = {meta['onnx_vs_lightgbm_max_abs_diff']:.2g}; {seconds:.1f}s")
    if size > MAX_MODEL_BYTES:
        log(f"warning: the model is {size / 1048576:.1f} MiB, over the {MAX_MODEL_BYTES // 1048576} MiB budget "
            f"for a committed model")
