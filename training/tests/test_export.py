"""ONNX export: the graph the engine loads scores as the Python model does (|diff| < 1e-5)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from fraud_trainer.common import INPUT_NAME, OUTPUT_NAME
from fraud_trainer.ensemble import Ensemble, fit_model
from fraud_trainer.export import export_onnx, framework, onnx_scores, verify_onnx
from fraud_trainer.params import BLEND_PARAMS, DEFAULT_PARAMS, parse_params

TOL = 1e-5
NAMES = [f"f{i}" for i in range(6)]


def export(model, version="test-1"):
    return export_onnx(model, len(NAMES), version, NAMES).SerializeToString()


def run_all(data: bytes, X: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {INPUT_NAME: X})))


def test_lightgbm_export_matches_predict_proba(train_set, probe_set):
    X, y = train_set
    model = fit_model({**DEFAULT_PARAMS, "n_estimators": 40}, y, X, seed=42, n_jobs=1)
    data = export(model)
    want = model.predict_proba(probe_set)[:, 1]
    got = onnx_scores(data, probe_set)
    assert got.shape == want.shape
    assert np.max(np.abs(got.astype(np.float64) - want)) < TOL
    assert verify_onnx(data, model, probe_set) < TOL
    assert np.ptp(want) > 0.5  # the model learned something: the comparison is not between constants


def test_export_keeps_the_serving_contract(train_set, probe_set):
    X, y = train_set
    model = fit_model({**DEFAULT_PARAMS, "n_estimators": 10}, y, X, seed=42, n_jobs=1)
    onx = export_onnx(model, len(NAMES), "v-7", NAMES)
    onnx.checker.check_model(onx)
    assert [i.name for i in onx.graph.input] == [INPUT_NAME]
    assert [o.name for o in onx.graph.output] == ["label", OUTPUT_NAME]
    for value in list(onx.graph.input) + list(onx.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "N"
    assert {p.key: p.value for p in onx.metadata_props} == {"model_version": "v-7", "features": ",".join(NAMES)}
    assert framework(model, onx).startswith("lightgbm ")
    out = run_all(onx.SerializeToString(), probe_set)
    assert out[OUTPUT_NAME].shape == (len(probe_set), 2)
    np.testing.assert_allclose(out[OUTPUT_NAME].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(out["label"], out[OUTPUT_NAME].argmax(axis=1))


def test_export_is_deterministic(train_set):
    X, y = train_set
    params = {**DEFAULT_PARAMS, "n_estimators": 20}
    a = export(fit_model(params, y, X, seed=42, n_jobs=1))
    b = export(fit_model(params, y, X, seed=42, n_jobs=2))
    assert a == b


@pytest.fixture(scope="module")
def blend(train_set):
    X, y = train_set
    X = X.copy()
    X[:, 5] = np.nan  # a column with no value at all: its median is taken as 0
    params = parse_params("blend")
    assert params == BLEND_PARAMS
    return fit_model(params, y, X, seed=42, n_jobs=1)


def test_blend_is_five_lightgbms_and_a_logistic_regression(blend, probe_set):
    assert isinstance(blend, Ensemble)
    assert len(blend.gbms) == 5 and [m.random_state for m in blend.gbms] == [42, 43, 44, 45, 46]
    assert blend.lr_weight == 0.2 and blend.lr_transform == "slog"
    assert blend.medians[5] == 0.0
    gbm = np.mean([m.predict_proba(probe_set)[:, 1] for m in blend.gbms], axis=0)
    lr = blend.lr.predict_proba(blend._lr_input(probe_set))[:, 1]
    np.testing.assert_allclose(blend.predict_proba(probe_set)[:, 1], 0.8 * gbm + 0.2 * lr, rtol=0, atol=1e-12)


def test_blend_exports_as_one_graph_matching_the_python_ensemble(blend, probe_set):
    onx = export_onnx(blend, len(NAMES), "blend-1", NAMES)
    assert [i.name for i in onx.graph.input] == [INPUT_NAME]
    assert [o.name for o in onx.graph.output] == ["label", OUTPUT_NAME]
    prefixes = {n.name.split("_")[0] for n in onx.graph.node if n.name[:1] == "g" and n.name[1:2].isdigit()}
    assert prefixes == {"g0", "g1", "g2", "g3", "g4"}
    assert {"lr_impute", "lr_slog", "lr_p1", "blend"} <= {n.name for n in onx.graph.node}
    assert framework(blend, onx).startswith("ensemble: 5 x lightgbm ")
    assert "+ 0.2 x logistic regression" in framework(blend, onx)
    data = onx.SerializeToString()
    want = blend.predict_proba(probe_set)[:, 1]
    got = onnx_scores(data, probe_set).astype(np.float64)
    assert np.max(np.abs(got - want)) < TOL
    assert verify_onnx(data, blend, probe_set) < TOL


@pytest.mark.parametrize("params", [
    {"preset": "blend", "seeds": 2, "n_estimators": 20, "lr_transform": "none"},  # plain logistic regression
    {"preset": "blend", "seeds": 3, "n_estimators": 20, "lr_weight": 0},  # seed bag only
    {"seeds": 1, "n_estimators": 20, "lr_weight": 0.5, "lr_c": 0.1},  # one LightGBM + regression
], ids=["lr-plain", "bag-only", "one-gbm-lr"])
def test_other_ensembles_match_too(params, train_set, probe_set):
    import json

    X, y = train_set
    model = fit_model(parse_params(json.dumps(params)), y, X, seed=7, n_jobs=1)
    assert isinstance(model, Ensemble)
    assert verify_onnx(export(model), model, probe_set) < TOL
