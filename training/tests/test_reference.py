"""The drift reference written beside the model: quantile bins, a missing bin, proportions that
sum to 1, the score binned as the ONNX graph scores it; and the command that adds it to an old model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fraud_trainer.common import TrainerError
from fraud_trainer.export import onnx_scores
from fraud_trainer.reference import build_reference, column_bins, main, reference_path_for
from test_cli import csvs, train  # noqa: F401  (the module's fixture and helper)


def test_reference_path_sits_beside_the_model():
    assert reference_path_for("models/model.onnx") == "models/model.reference.json"
    assert reference_path_for("m") == "m.reference.json"


def test_column_bins_are_deciles_with_a_missing_bin():
    v = np.concatenate([np.arange(1000, dtype=np.float32), np.full(250, np.nan, dtype=np.float32)])
    b = column_bins(v)
    assert b["edges"] == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0]
    # 1250 rows: 100 per bin of the 1000 present values, 250 missing.
    assert b["expected"] == [0.08] * 10 and b["missing"] == 0.2
    assert sum(b["expected"]) + b["missing"] == pytest.approx(1.0)


def test_column_bins_merge_ties_and_keep_the_first_bin_occupied():
    flag = np.array([0.0] * 70 + [1.0] * 30, dtype=np.float32)
    assert column_bins(flag) == {"edges": [1.0], "expected": [0.7, 0.3], "missing": 0.0}
    assert column_bins(np.full(10, np.nan, dtype=np.float32)) == {"edges": [], "expected": [0.0], "missing": 1.0}
    assert column_bins(np.full(10, 3.0, dtype=np.float32)) == {"edges": [], "expected": [1.0], "missing": 0.0}
    # Mostly zero (all deciles at the minimum): zero apart from the rest.
    risk = np.array([0.0] * 95 + [0.25, 0.5, 0.5, 1.0, 1.0], dtype=np.float32)
    assert column_bins(risk) == {"edges": [0.25], "expected": [0.95, 0.05], "missing": 0.0}


def test_build_reference_refuses_misshapen_input():
    with pytest.raises(TrainerError, match="rows x features"):
        build_reference(version="v", names=["a", "b"], X=np.zeros((3, 2), np.float32), scores=np.zeros(4),
                        start=0, end=1)


def test_training_writes_the_reference_beside_the_model(csvs, tmp_path):  # noqa: F811
    out = tmp_path / "m.onnx"
    assert train(csvs, out, "--params", '{"n_estimators": 20}', "--version", "v-ref") == 0
    ref = json.loads((tmp_path / "m.reference.json").read_text())
    meta = json.loads((tmp_path / "m.json").read_text())
    assert ref["model_version"] == "v-ref" and ref["window"] == meta["train_window"]
    assert ref["n"] == meta["training"]["n"] and ref["bins"] == 10 and ref["epsilon"] > 0
    assert [f["name"] for f in ref["features"]] == meta["features"]
    for col in [ref["score"], *ref["features"]]:
        assert len(col["expected"]) == len(col["edges"]) + 1
        assert col["edges"] == sorted(set(col["edges"]))
        assert sum(col["expected"]) + col["missing"] == pytest.approx(1.0, abs=1e-6)
    # The synthetic features have about 10% missing values; the score is never missing.
    assert all(0.05 < f["missing"] < 0.15 for f in ref["features"]) and ref["score"]["missing"] == 0
    # 20 small trees give a few dozen distinct scores: most deciles apart, none empty.
    assert len(ref["score"]["edges"]) >= 5 and min(ref["score"]["expected"]) > 0

    # The command that adds a reference to an existing model writes the same bins.
    (tmp_path / "m.reference.json").unlink()
    features, labels = csvs
    assert main(["--features", features, "--labels", labels, "--train-from", "2018-04-01", "--train-to",
                 "2018-04-22", "--model", str(out)]) == 0
    again = json.loads((tmp_path / "m.reference.json").read_text())
    assert {k: v for k, v in again.items() if k != "created_at"} == {k: v for k, v in ref.items() if k != "created_at"}


def test_score_bins_are_those_of_the_onnx_scores(csvs, tmp_path):  # noqa: F811
    out = tmp_path / "m.onnx"
    assert train(csvs, out, "--params", '{"n_estimators": 10}', "--version", "v2") == 0
    from fraud_trainer.data import read_features, read_labels

    features, labels = csvs
    names, X, _, ts, _ = read_features(features, read_labels(labels))
    ref = json.loads((tmp_path / "m.reference.json").read_text())
    win = X[(ts >= 1522540800) & (ts < 1522540800 + 21 * 86400)]
    scores = onnx_scores(out.read_bytes(), win)
    assert ref["score"] == column_bins(scores)
