"""The CSV reader's edge cases: missing cells, column order, extra and missing columns, CRLF, quotes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fraud_trainer.common import TrainerError
from fraud_trainer.data import blank_features, parse_value, read_features, read_labels

LABELS = "auth_id,tx_datetime,tx_fraud\na1,2018-04-01T10:00:00Z,0\na2,2018-04-01T11:00:00Z,1\na3,2018-04-02,0\n"


def write(tmp_path, name: str, text: str, newline: str = "\n") -> str:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", newline).encode())
    return str(p)


@pytest.fixture
def labels(tmp_path):
    return read_labels(write(tmp_path, "labels.csv", LABELS))


def test_labels(labels):
    assert labels == {"a1": (1522576800.0, 0), "a2": (1522580400.0, 1), "a3": (1522627200.0, 0)}


def test_empty_cells_and_missing_words_are_nan(tmp_path, labels):
    path = write(tmp_path, "f.csv", "auth_id,x,y,z\na1,,1.5,null\na2,NaN, 2 ,true\na3,None,NA,FALSE\n")
    names, X, y, ts, unlabelled = read_features(path, labels)
    assert names == ["x", "y", "z"] and X.dtype == np.float32 and X.shape == (3, 3)
    assert np.isnan(X[:, 0]).all()
    assert X[0, 1] == 1.5 and math.isnan(X[0, 2])
    assert X[1, 1] == 2.0 and X[1, 2] == 1.0
    assert math.isnan(X[2, 1]) and X[2, 2] == 0.0
    assert list(y) == [0, 1, 0] and ts[0] == labels["a1"][0] and unlabelled == 0


def test_feature_columns_follow_the_header_not_a_fixed_order(tmp_path, labels):
    # The trainer has no feature list of its own: the header's order is the model's input order
    # (MODEL.json records it and the engine refuses a mismatch at load).
    a = read_features(write(tmp_path, "a.csv", "auth_id,x,y\na1,1,10\na2,2,20\n"), labels)
    b = read_features(write(tmp_path, "b.csv", "auth_id,y,x\na1,10,1\na2,20,2\n"), labels)
    assert a[0] == ["x", "y"] and b[0] == ["y", "x"]
    np.testing.assert_array_equal(a[1], b[1][:, ::-1])


def test_label_columns_in_any_order_extra_columns_ignored(tmp_path):
    path = write(tmp_path, "l.csv", "tx_fraud,customer_id,tx_datetime,transaction_id,unknown\n"
                                    "1,c9,2018-04-01 10:00:00,t1,zzz\n0,c9,2018-04-01T12:00:00+02:00,t2,\n")
    assert read_labels(path) == {"t1": (1522576800.0, 1), "t2": (1522576800.0, 0)}


def test_unknown_feature_column_is_a_feature_and_only_features_names_unknowns(tmp_path, labels):
    names, X, *_ = read_features(write(tmp_path, "f.csv", "auth_id,x,not_an_engine_feature\na1,1,2\n"), labels)
    assert names == ["x", "not_an_engine_feature"]
    with pytest.raises(TrainerError, match="--only-features: unknown feature.s. nope"):
        blank_features(names, X, "x,nope")
    assert blank_features(names, X, " not_an_engine_feature , x,x") == ["x", "not_an_engine_feature"]
    used = blank_features(names, X, "x")
    assert used == ["x"] and X[0, 0] == 1 and math.isnan(X[0, 1])


@pytest.mark.parametrize("header, missing", [
    ("auth_id,tx_datetime", "'tx_fraud'"),
    ("transaction_id,tx_fraud", "'tx_datetime'"),
    ("id,tx_datetime,tx_fraud", "'auth_id' or 'transaction_id'"),
])
def test_missing_label_column_is_named(tmp_path, header, missing):
    with pytest.raises(TrainerError, match=f"l.csv: (missing column |needs an ){missing}"):
        read_labels(write(tmp_path, "l.csv", header + "\n"))


def test_features_need_auth_id_first_and_some_features(tmp_path, labels):
    with pytest.raises(TrainerError, match="first column must be 'auth_id' .got 'x'"):
        read_features(write(tmp_path, "f.csv", "x,auth_id\n"), labels)
    with pytest.raises(TrainerError, match="no feature columns after auth_id"):
        read_features(write(tmp_path, "f.csv", "auth_id\n"), labels)
    with pytest.raises(TrainerError, match="duplicate feature columns: x"):
        read_features(write(tmp_path, "f.csv", "auth_id,x,y,x\n"), labels)


@pytest.mark.parametrize("reader", ["labels", "features"])
def test_empty_file(tmp_path, reader):
    path = write(tmp_path, "e.csv", "")
    with pytest.raises(TrainerError, match="e.csv: empty file"):
        read_labels(path) if reader == "labels" else read_features(path, {})


def test_crlf_line_endings(tmp_path, labels):
    assert read_labels(write(tmp_path, "l.csv", LABELS, newline="\r\n")) == labels
    names, X, y, *_ = read_features(write(tmp_path, "f.csv", "auth_id,x,y\na1,1,\na2,2,3\n", newline="\r\n"), labels)
    assert names == ["x", "y"] and X[0, 0] == 1 and math.isnan(X[0, 1]) and X[1, 1] == 3


def test_quoted_fields(tmp_path):
    lab = read_labels(write(tmp_path, "l.csv", '"auth_id","tx_datetime","tx_fraud"\n"a,1","2018-04-01",1\n"b""2",2018-04-01,"0"\n'))
    assert set(lab) == {"a,1", 'b"2'}
    names, X, y, *_ = read_features(write(tmp_path, "f.csv", '"auth_id","x"\n"a,1","1.5"\n"b""2",""\n'), lab)
    assert names == ["x"] and X[0, 0] == 1.5 and math.isnan(X[1, 0]) and list(y) == [1, 0]


def test_blank_lines_duplicates_and_unlabelled_rows(tmp_path, labels, capsys):
    path = write(tmp_path, "f.csv", "auth_id,x\n\na1,1\nzz,5\na1,9\n\na2,2\n")
    names, X, y, ts, unlabelled = read_features(path, labels)
    assert X[:, 0].tolist() == [1, 2] and unlabelled == 1
    assert "1 duplicate auth_id rows" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("auth_id,x,y\na1,1\n", r"f.csv:2: expected 3 columns, got 2"),
    ("auth_id,x\na1,1\na2,abc\n", r"f.csv:3: could not convert string to float: 'abc'"),
])
def test_bad_feature_rows_name_the_line(tmp_path, labels, text, message):
    with pytest.raises(TrainerError, match=message):
        read_features(write(tmp_path, "f.csv", text), labels)


@pytest.mark.parametrize("row, message", [
    ("a1,2018-04-01,yes", r"l.csv:2: tx_fraud must be 0 or 1, got 'yes'"),
    ("a1,01/04/2018,1", r"l.csv:2 tx_datetime: not an ISO 8601 date/time: '01/04/2018'"),
    ("a1,2018-04-01", r"l.csv:2: expected 3 columns, got 2"),
])
def test_bad_label_rows_name_the_line(tmp_path, row, message):
    with pytest.raises(TrainerError, match=message):
        read_labels(write(tmp_path, "l.csv", "auth_id,tx_datetime,tx_fraud\n" + row + "\n"))


def test_parse_value():
    assert parse_value(" 1e3 ") == 1000.0 and parse_value("True") == 1.0 and parse_value("false") == 0.0
    assert math.isnan(parse_value("  ")) and math.isnan(parse_value("nan"))
    with pytest.raises(ValueError):
        parse_value("1,5")
