"""The command line end to end on a small synthetic set: files, metadata, errors, the shim."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import synthetic
from fraud_trainer import cli, protocol

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = 1522540800  # 2018-04-01T00:00:00Z
DAYS = 21


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    """features.csv and labels.csv: 4000 transactions over 21 days from 2018-04-01, plus one unlabelled row."""
    d = tmp_path_factory.mktemp("data")
    X, y = synthetic(4000, seed=3, fraud_rate=0.08)
    ts = START + np.sort(np.random.default_rng(3).random(len(y))) * DAYS * 86400
    cell = lambda v: "" if np.isnan(v) else repr(float(v))
    with open(d / "features.csv", "w") as f:
        f.write("auth_id," + ",".join(f"f{i}" for i in range(X.shape[1])) + "\n")
        for i, row in enumerate(X):
            f.write(f"a{i}," + ",".join(cell(v) for v in row) + "\n")
        f.write("unlabelled," + ",".join("1" for _ in range(X.shape[1])) + "\n")
    with open(d / "labels.csv", "w") as f:
        f.write("transaction_id,tx_datetime,tx_fraud\n")
        for i, (t, label) in enumerate(zip(ts, y)):
            f.write(f"a{i},{protocol.iso(float(t))},{label}\n")
    return str(d / "features.csv"), str(d / "labels.csv")


def train(csvs, out, *options):
    features, labels = csvs
    return cli.main(["--features", features, "--labels", labels, "--train-from", "2018-04-01",
                     "--train-to", "2018-04-22", "--out", str(out), "--n-jobs", "1", *options])


def test_fixed_params_delayed_holdout(csvs, tmp_path, capsys):
    options = ["--params", '{"n_estimators": 20}', "--delay-days", "3", "--valid-days", "5", "--version", "v1"]
    assert train(csvs, tmp_path / "a" / "m.onnx", *options) == 0
    out, err = capsys.readouterr()
    assert out.startswith("model v1: ") and "validation (delayed hold-out): AUC" in out
    assert "warning: 1 feature rows have no label" in err
    meta = json.loads((tmp_path / "a" / "m.json").read_text())
    assert meta["model_version"] == "v1" and meta["features"] == meta["used_features"] == [f"f{i}" for i in range(6)]
    assert (meta["input_name"], meta["output_name"], meta["output_column"]) == ("features", "probabilities", 1)
    assert meta["train_window"] == {"from": "2018-04-01T00:00:00Z", "to": "2018-04-22T00:00:00Z"}
    assert meta["hyperparameters"]["n_estimators"] == 20 and meta["hyperparameters"]["num_leaves"] == 15
    assert meta["selection"]["method"] == "fixed" and meta["selection"]["source"] == '--params {"n_estimators": 20}'
    assert meta["selection"]["selection_train"]["to"] == "2018-04-14T00:00:00Z"
    assert meta["validation"]["auc_roc"] > 0.7 and meta["onnx_vs_lightgbm_max_abs_diff"] < 1e-5
    assert meta["thresholds"]["review"] <= meta["thresholds"]["decline"]
    assert meta["framework"].startswith("lightgbm ") and meta["delay_days"] == 3.0
    assert not [p for p in os.listdir(tmp_path / "a") if p.endswith(".tmp")]
    # The trees beside the model, for the engine's contributions.
    trees = json.loads((tmp_path / "a" / "m.trees.json").read_text())
    assert trees["model_version"] == "v1" and trees["features"] == meta["features"]
    assert [p["kind"] for p in trees["parts"]] == ["lightgbm"] and len(trees["parts"][0]["trees"]) == 20
    # The same inputs give the same bytes.
    assert train(csvs, tmp_path / "b" / "m.onnx", *options) == 0
    assert (tmp_path / "a" / "m.onnx").read_bytes() == (tmp_path / "b" / "m.onnx").read_bytes()
    assert (tmp_path / "a" / "m.trees.json").read_bytes() == (tmp_path / "b" / "m.trees.json").read_bytes()


def test_blend_out_of_fold_default_version(csvs, tmp_path, capsys):
    assert train(csvs, tmp_path / "m.onnx", "--valid-days", "0", "--params", '{"preset":"blend","seeds":2,"n_estimators":10}',
                 "--only-features", "f0,f1,f3") == 0
    meta = json.loads((tmp_path / "m.json").read_text())
    assert re.fullmatch(r"lgbm-2018-04-22-[0-9a-f]{8}", meta["model_version"])
    assert meta["used_features"] == ["f0", "f1", "f3"] and len(meta["features"]) == 6
    assert meta["framework"].startswith("ensemble: 2 x lightgbm") and meta["hyperparameters"]["lr_weight"] == 0.2
    assert meta["selection"]["validation"] == "out-of-fold" and len(meta["selection"]["folds"]) == 7
    assert meta["onnx_vs_lightgbm_max_abs_diff"] < 1e-5
    assert "no inner validation (out-of-fold)" in capsys.readouterr().out
    trees = json.loads((tmp_path / "m.trees.json").read_text())
    assert trees["model_version"] == meta["model_version"]
    assert [p["kind"] for p in trees["parts"]] == ["lightgbm", "lightgbm", "linear"]


def test_grid_selection(csvs, tmp_path, monkeypatch, capsys):
    # The real grid (24 settings x 300 trees) is for real data; two settings show the mechanics.
    monkeypatch.setattr(protocol, "GRID", {"num_leaves": [4, 8], "learning_rate": [0.1], "min_child_samples": [20],
                                           "imbalance": ["none"]})
    monkeypatch.setattr(protocol, "N_ESTIMATORS", [5, 10])
    assert train(csvs, tmp_path / "m.onnx") == 0
    meta = json.loads((tmp_path / "m.json").read_text())
    sel = meta["selection"]
    assert sel["method"] == "grid" and sel["grid_size"] == 4 and len(sel["top"]) == 4
    aps = [r["average_precision"] for r in sel["top"]]
    assert aps == sorted(aps, reverse=True)
    best = sel["top"][0]
    assert {k: meta["hyperparameters"][k] for k in ("num_leaves", "n_estimators")} == \
        {k: best[k] for k in ("num_leaves", "n_estimators")}
    assert capsys.readouterr().out.splitlines()[2].startswith("  chosen: ")


@pytest.mark.parametrize("options, message", [
    (["--out", "m.bin"], "--out must end with .onnx"),
    (["--valid-days", "0"], "--valid-days 0 needs fixed hyper-parameters"),
    (["--valid-days", "15", "--no-select"], r"window too short: 15 validation days \+ 7 delay days"),
    (["--params", '{"num_leaves": 1}'], "--params: bad value for 'num_leaves': 1"),
    (["--params", '{"leaves": 8}'], "--params: unknown key 'leaves'"),
    (["--no-select", "--delay-days", "5", "--only-features", "f0,zz"], "--only-features: unknown feature.s. zz"),
])
def test_errors_exit_2_with_a_message(csvs, tmp_path, capsys, options, message):
    out = [] if "--out" in options else ["--out", str(tmp_path / "m.onnx")]
    features, labels = csvs
    code = cli.main(["--features", features, "--labels", labels, "--train-from", "2018-04-01",
                     "--train-to", "2018-04-22", *out, *options])
    assert code == 2
    assert re.search(r"^train\.py: error: " + message, capsys.readouterr().err, re.M)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_missing_label_column_through_the_command_line(csvs, tmp_path, capsys):
    bad = tmp_path / "labels.csv"
    bad.write_text("auth_id,tx_datetime\na0,2018-04-01\n")
    code = cli.main(["--features", csvs[0], "--labels", str(bad), "--train-from", "2018-04-01",
                     "--train-to", "2018-04-22", "--out", str(tmp_path / "m.onnx")])
    assert code == 2
    assert f"train.py: error: {bad}: missing column 'tx_fraud'" in capsys.readouterr().err


@pytest.mark.parametrize("command, cwd", [
    ([os.path.join(TRAINING, "train.py")], "/"),  # what src/commands/train.ts runs
    (["-m", "fraud_trainer"], TRAINING),
])
def test_entry_points(command, cwd):
    r = subprocess.run([sys.executable, *command, "--help"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Fit the fraud model on the engine's own feature vectors" in r.stdout and "--only-features" in r.stdout
    r = subprocess.run([sys.executable, *command, "--features", "x"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "the following arguments are required: --labels" in r.stderr


def test_source_kept_in_metadata(csvs, tmp_path):
    source = {"kind": "audit", "from": "2018-04-01T00:00:00Z", "rows": 4000, "excluded": {"degraded": 2}}
    assert train(csvs, tmp_path / "m.onnx", "--valid-days", "0", "--params", '{"n_estimators":5}',
                 "--source", json.dumps(source)) == 0
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["training"]["source"] == source
    assert meta["training"]["n"] == 4000
    # Without --source, no source key; a source that is not a JSON object is refused.
    assert train(csvs, tmp_path / "n.onnx", "--valid-days", "0", "--params", '{"n_estimators":5}') == 0
    assert "source" not in json.loads((tmp_path / "n.json").read_text())["training"]
    assert train(csvs, tmp_path / "x.onnx", "--valid-days", "0", "--params", '{"n_estimators":5}',
                 "--source", "[1]") == 2
    assert train(csvs, tmp_path / "y.onnx", "--valid-days", "0", "--params", '{"n_estimators":5}',
                 "--source", "{not json") == 2
