"""The trees export: the document alone scores as the model does, and LightGBM's own pred_contrib
(plus the linear terms) sums with its base to the document's raw score."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fraud_trainer.common import TrainerError
from fraud_trainer.ensemble import fit_model
from fraud_trainer.params import BLEND_PARAMS, DEFAULT_PARAMS
from fraud_trainer.trees import (FORMAT, document_scores, export_trees, part_raw_scores, reference_contributions,
                                 trees_path_for, verify_trees, write_trees)

NAMES = [f"f{i}" for i in range(6)]


@pytest.fixture(scope="module")
def lgbm(train_set):
    X, y = train_set
    return fit_model({**DEFAULT_PARAMS, "n_estimators": 30}, y, X, seed=42, n_jobs=1)


@pytest.fixture(scope="module")
def blend(train_set):
    X, y = train_set
    return fit_model({**BLEND_PARAMS, "n_estimators": 20, "seeds": 2}, y, X, seed=42, n_jobs=1)


def test_one_lightgbm_document_scores_as_lightgbm(lgbm, probe_set):
    doc = export_trees(lgbm, "v1", NAMES)
    assert (doc["format"], doc["model_version"], doc["features"]) == (FORMAT, "v1", NAMES)
    assert [(p["kind"], p["weight"]) for p in doc["parts"]] == [("lightgbm", 1.0)]
    assert len(doc["parts"][0]["trees"]) == 30
    raw, score = document_scores(doc, probe_set)
    np.testing.assert_allclose(raw, lgbm.booster_.predict(probe_set, raw_score=True), rtol=0, atol=1e-9)
    np.testing.assert_allclose(score, lgbm.predict_proba(probe_set)[:, 1], rtol=0, atol=1e-9)
    assert verify_trees(doc, lgbm, probe_set) < 1e-9
    assert np.ptp(score) > 0.5  # not a comparison between constants


def test_missing_values_follow_lightgbm_default_directions(lgbm, train_set):
    """Rows with NaN in the model's split features: the NaN branches are taken as LightGBM does."""
    X, _ = train_set
    doc = export_trees(lgbm, "v1", NAMES)
    tree_missing = {m for t in doc["parts"][0]["trees"] for m in t["missing"]}
    assert "nan" in tree_missing
    rows = np.repeat(X[:50], 6, axis=0)
    for j in range(6):
        rows[j::6, j] = np.nan
    raw, _ = document_scores(doc, rows)
    np.testing.assert_allclose(raw, lgbm.booster_.predict(rows, raw_score=True), rtol=0, atol=1e-9)


def test_zero_as_missing_is_exported(train_set, probe_set):
    """A LightGBM whose missing type is Zero (zero_as_missing): zero and NaN take the default branch."""
    import lightgbm as lgb

    X, y = train_set
    X = np.where(np.isnan(X), 0.0, X).astype(np.float32)
    m = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, zero_as_missing=True, deterministic=True,
                           force_col_wise=True, n_jobs=1, verbose=-1).fit(X, y)
    doc = export_trees(m, "z", NAMES)
    assert "zero" in {mt for t in doc["parts"][0]["trees"] for mt in t["missing"]}
    rows = np.vstack([probe_set, np.zeros((1, 6), dtype=np.float32), X[:100]])
    raw, _ = document_scores(doc, rows)
    np.testing.assert_allclose(raw, m.booster_.predict(rows, raw_score=True), rtol=0, atol=1e-9)


def test_blend_document_scores_as_the_ensemble(blend, probe_set):
    doc = export_trees(blend, "b1", NAMES)
    kinds = [(p["kind"], p["weight"]) for p in doc["parts"]]
    assert kinds == [("lightgbm", pytest.approx(0.4)), ("lightgbm", pytest.approx(0.4)), ("linear", 0.2)]
    assert doc["parts"][2]["transform"] == "slog"
    _, score = document_scores(doc, probe_set)
    np.testing.assert_allclose(score, blend.predict_proba(probe_set)[:, 1], rtol=0, atol=1e-9)
    # Each LightGBM part's raw score is its own LightGBM's.
    parts = part_raw_scores(doc, probe_set)
    for k, g in enumerate(blend.gbms):
        np.testing.assert_allclose(parts[k], g.booster_.predict(probe_set, raw_score=True), rtol=0, atol=1e-9)


@pytest.mark.parametrize("which", ["lgbm", "blend"])
def test_contributions_sum_to_the_raw_score(which, request, probe_set):
    model = request.getfixturevalue(which)
    doc = export_trees(model, "v", NAMES)
    contrib, base = reference_contributions(model, probe_set)
    raw, _ = document_scores(doc, probe_set)
    assert contrib.shape == (len(probe_set), len(NAMES))
    np.testing.assert_allclose(contrib.sum(axis=1) + base, raw, rtol=0, atol=1e-9)
    assert np.all(base == base[0])  # the base value is the model's, not the row's
    assert np.max(np.abs(contrib)) > 0.1


def test_base_value_is_the_count_weighted_mean_leaf(lgbm, probe_set):
    """TreeSHAP's base value, from the exported counts, is LightGBM's expected value."""
    doc = export_trees(lgbm, "v", NAMES)
    expected = sum(
        sum(c * v for c, v in zip(t["leaf_count"], t["leaf_value"])) / (t["internal_count"][0] if t["num_leaves"] > 1 else 1)
        for t in doc["parts"][0]["trees"])
    _, base = reference_contributions(lgbm, probe_set[:1])
    assert base[0] == pytest.approx(expected, abs=1e-9)


def test_written_file_round_trips(lgbm, tmp_path):
    doc = export_trees(lgbm, "v", NAMES)
    path = trees_path_for(str(tmp_path / "m.onnx"))
    assert path.endswith("m.trees.json")
    write_trees(path, doc)
    assert json.loads(open(path).read()) == doc
    assert not (tmp_path / "m.trees.json.tmp").exists()


def test_multiclass_is_refused(train_set):
    import lightgbm as lgb

    X, y = train_set
    m = lgb.LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1, n_jobs=1).fit(X, (y + (X[:, 2] > 0)).astype(int))
    with pytest.raises(TrainerError, match="binary"):
        export_trees(m, "v", NAMES)
