"""The training protocol (the handbook's hold-out with delay, Le Borgne et al. ch. 5):

    train_from                      valid_start - delay   valid_start            train_to
    |------ selection-train -----------|------ delay -------|----- validation -----|

  * without fixed hyper-parameters, every combination of params.GRID is fitted on
    selection-train and scored on validation by average precision; the delay gap stands for
    the labels (chargebacks) not yet known when a model is trained, exactly as in production;
  * with fixed ones, one model is fitted on selection-train for the validation figures;
  * with --valid-days 0 (fixed hyper-parameters only) there is no inner validation: the
    validation figures come from out-of-fold scores over blocks of whole days of the window;
  * either way the caller then refits the chosen parameters on the whole window, and reads
    the thresholds off the validation scores returned here.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .common import die, iso, log
from .ensemble import fit_model
from .models import make_model, metrics
from .params import GRID, N_ESTIMATORS

OOF_MAX_FOLDS = 7
DAY = 86400


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    valid_days: float
    delay_days: float

    @property
    def oof(self) -> bool:
        return self.valid_days == 0

    @property
    def valid_start(self) -> float:
        return self.end - self.valid_days * DAY

    @property
    def sel_end(self) -> float:
        return self.valid_start - self.delay_days * DAY


def plan_window(start: float, end: float, valid_days: float, delay_days: float, fixed: bool) -> Window:
    """Checks the periods the options make; `fixed`: hyper-parameters given (no selection)."""
    if delay_days < 0 or valid_days < 0:
        die("--valid-days and --delay-days must be >= 0")
    w = Window(start, end, valid_days, delay_days)
    if w.oof and not fixed:
        die("--valid-days 0 needs fixed hyper-parameters (--params or --no-select): selection needs a validation period")
    if not w.oof and w.sel_end <= start:
        hint = " (with fixed hyper-parameters, --valid-days 0 fits the whole window without an inner validation)" \
            if fixed else " (or fix the hyper-parameters: --no-select --valid-days 0)"
        die(f"window too short: {valid_days:g} validation days + {delay_days:g} delay days leave no "
            f"selection-train period after {iso(start)}{hint}")
    return w


def day_blocks(start: float, end: float) -> list[tuple[float, float]]:
    """The window cut into up to OOF_MAX_FOLDS contiguous blocks of whole days."""
    n_days = max(1, math.ceil((end - start) / DAY))
    k = min(OOF_MAX_FOLDS, n_days)
    edges = [start + round(i * n_days / k) * DAY for i in range(k)] + [end]
    return [(edges[i], edges[i + 1]) for i in range(k)]


@dataclass
class Validated:
    """What fit_and_validate found: the parameters to refit, and the scores to judge them by."""
    params: dict  # n_estimators included
    in_win: np.ndarray  # the training window's rows
    y_val: np.ndarray
    s_val: np.ndarray
    X_val: np.ndarray
    validation: dict
    selection: dict


def fit_and_validate(X, y, ts, w: Window, fixed: dict | None, source: str, seed: int, n_jobs: int) -> Validated:
    """`fixed`: the hyper-parameters, or None to select them on the grid; `source`: how they were given."""
    in_win = (ts >= w.start) & (ts < w.end)
    checks = [("training window", in_win)]
    if not w.oof:
        sel = (ts >= w.start) & (ts < w.sel_end)
        val = (ts >= w.valid_start) & (ts < w.end)
        checks += [("selection-train period", sel), ("validation period", val)]
    for what, m in checks:
        pos = int(y[m].sum())
        if pos == 0 or pos == int(m.sum()):
            die(f"the {what} has {int(m.sum())} labelled transactions of which {pos} frauds: "
                f"both classes are needed (check the dates, --delay-days and --valid-days)")
    X_win, y_win = X[in_win], y[in_win]
    head = (f"{X.shape[1]} features; window {iso(w.start)} .. {iso(w.end)}: {int(in_win.sum())} tx, "
            f"{int(y_win.sum())} frauds; ")
    if w.oof:
        return _out_of_fold(fixed, source, X_win, y_win, ts[in_win], in_win, w, seed, n_jobs, head)

    X_sel, y_sel, X_val, y_val = X[sel], y[sel], X[val], y[val]
    log(head + f"selection-train {int(sel.sum())} tx, validation {int(val.sum())} tx ({int(y_val.sum())} frauds)")
    period = {
        "selection_train": {"from": iso(w.start), "to": iso(w.sel_end), "n": int(sel.sum()), "frauds": int(y_sel.sum())},
        "validation_window": {"from": iso(w.valid_start), "to": iso(w.end)},
    }
    if fixed is None:
        params, results = grid_search(X_sel, y_sel, X_val, y_val, seed, n_jobs)
        selection = {"method": "grid", **period, "grid_size": len(results), "top": results[:5]}
    else:
        params = fixed
        selection = {"method": "fixed", "source": source, **period}
    s_val = fit_model(params, y_sel, X_sel, seed, n_jobs).predict_proba(X_val)[:, 1]
    validation = {**metrics(y_val, s_val), "method": "delayed hold-out: a model fitted on selection-train, "
                  "scored on the validation period after the delay"}
    return Validated(params, in_win, y_val, s_val, X_val, validation, selection)


def grid_search(X_sel, y_sel, X_val, y_val, seed: int, n_jobs: int) -> tuple[dict, list[dict]]:
    """Every GRID combination scored on validation; returns (the best parameters, n_estimators
    included; every result, best first). Ties go to the simpler model."""
    results = []
    keys = list(GRID)
    for combo in itertools.product(*(GRID[k] for k in keys)):
        params = dict(zip(keys, combo))
        m = make_model(params, max(N_ESTIMATORS), y_sel, seed, n_jobs).fit(X_sel, y_sel)
        for k in N_ESTIMATORS:
            s = m.predict_proba(X_val, num_iteration=k)[:, 1]
            results.append({**params, "n_estimators": k, **metrics(y_val, s)})
    results.sort(key=lambda r: (-r["average_precision"], r["n_estimators"], r["num_leaves"], -r["min_child_samples"]))
    best = results[0]
    return {**{k: best[k] for k in keys}, "n_estimators": best["n_estimators"]}, results


def _out_of_fold(params, source, X_win, y_win, ts_win, in_win, w: Window, seed, n_jobs, head) -> Validated:
    """Fixed hyper-parameters, no inner validation: each block of days scored by a model fitted on the others."""
    s_oof = np.full(len(y_win), np.nan)
    blocks = day_blocks(w.start, w.end)
    for lo, hi in blocks:
        held = (ts_win >= lo) & (ts_win < hi)
        if not held.any():
            continue
        rest = ~held
        if int(y_win[rest].sum()) == 0:
            die(f"out-of-fold: no fraud outside {iso(lo)} .. {iso(hi)}")
        m = fit_model(params, y_win[rest], X_win[rest], seed, n_jobs)
        s_oof[held] = m.predict_proba(X_win[held])[:, 1]
    log(head + f"fixed hyper-parameters, no inner validation; out-of-fold scores over {len(blocks)} blocks of days")
    validation = {**metrics(y_win, s_oof), "method": f"out-of-fold over {len(blocks)} blocks of whole days of the "
                  f"training window (no delay gap: optimistic)"}
    selection = {"method": "fixed", "source": source, "validation": "out-of-fold",
                 "folds": [[iso(lo), iso(hi)] for lo, hi in blocks]}
    return Validated(params, in_win, y_win, s_oof, X_win, validation, selection)
