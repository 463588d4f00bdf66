"""The seed-bagged LightGBM + logistic regression blend, and fit_model, which picks it or
one LightGBM from the hyper-parameters."""
from __future__ import annotations

import warnings

import numpy as np

from .models import make_model
from .params import is_ensemble


def slog(Z: np.ndarray) -> np.ndarray:
    """Signed log1p: sign(z) * log(1 + |z|), for the logistic regression's heavy-tailed inputs."""
    return np.sign(Z) * np.log1p(np.abs(Z))


class Ensemble:
    """P(fraud) = (1 - lr_weight) * mean of `seeds` LightGBMs + lr_weight * logistic regression.

    The logistic regression sees the features median-imputed (medians of the training rows; a
    column with no value at all gets 0), then signed-log1p when lr_transform is "slog", then
    standardized. export.ensemble_onnx builds the same computation as one ONNX graph.
    """

    def __init__(self, params: dict, seed: int, n_jobs: int):
        self.params, self.seed, self.n_jobs = params, seed, n_jobs
        self.n_seeds = params.get("seeds", 1)
        self.lr_weight = params.get("lr_weight", 0.0)
        self.lr_transform = params.get("lr_transform", "none")
        self.lr_c = params.get("lr_c", 1.0)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """Imputed, then signed-log1p when asked: the logistic regression's input before scaling."""
        Z = np.where(np.isnan(X), self.medians, X).astype(np.float64)
        return slog(Z) if self.lr_transform == "slog" else Z

    def _lr_input(self, X: np.ndarray) -> np.ndarray:
        return (self._transform(X) - self.mean) / self.scale

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Ensemble":
        self.gbms = [make_model(self.params, self.params["n_estimators"], y, self.seed + i, self.n_jobs).fit(X, y)
                     for i in range(self.n_seeds)]
        if self.lr_weight > 0:
            from sklearn.linear_model import LogisticRegression

            with warnings.catch_warnings():  # a column with no value at all: "All-NaN slice", then 0 below
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(X.astype(np.float64), axis=0)
            self.medians = np.where(np.isnan(med), 0.0, med)
            Z = self._transform(X)
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
