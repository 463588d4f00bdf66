"""Shared synthetic data: small, seeded, with missing values, so each test fits in a second."""
from __future__ import annotations

import numpy as np
import pytest


def synthetic(n: int, n_features: int = 6, seed: int = 0, fraud_rate: float = 0.1):
    """(X float32 [n, F] with about 10% NaN and heavy-tailed, signed columns; y int8 [n]).
    Frauds differ on the first three features, with overlap."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < fraud_rate).astype(np.int8)
    X = rng.normal(size=(n, n_features))
    X[:, 0] += 1.5 * y  # shifted
    X[:, 1] = np.exp(X[:, 1] + 1.2 * y) * 100  # amounts: heavy tail, positive
    X[:, 2] = np.where(rng.random(n) < 0.3 + 0.4 * y, 1.0, 0.0)  # a flag
    X[:, 3] = -np.exp(X[:, 3]) * 10  # negative, heavy tail (exercises the signed log)
    X[rng.random((n, n_features)) < 0.1] = np.nan
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def train_set():
    return synthetic(3000, seed=1)


@pytest.fixture(scope="session")
def probe_set():
    """Rows to score: fresh ones, an all-missing row, and extreme values."""
    X, _ = synthetic(500, seed=2)
    extreme = np.array([[1e6, 1e9, 1.0, -1e9, -1e6, 0.0]], dtype=np.float32)
    return np.vstack([X, np.full((1, X.shape[1]), np.nan, dtype=np.float32), extreme])
