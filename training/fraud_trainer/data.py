"""The trainer's input: the engine's features CSV and the labels CSV.

FEATURES.csv (written by `replay --features-out`): `auth_id`, then one column per feature in
the engine's order (src/features/names.ts). An empty cell (or NaN/null) is a missing value.
No feature is computed here: the columns are used as they are, in the order they come.

LABELS.csv: `auth_id` (or `transaction_id`), `tx_datetime` (ISO 8601, UTC when no offset is
given) and `tx_fraud` (0/1), in any order; other columns are ignored. The simulator's
transactions CSV works as it is (joined on auth_id == transaction_id, compared as strings).

Both are read with the csv module: quoted fields, and LF or CRLF line endings.
"""
from __future__ import annotations

import csv
import math
from typing import Iterator

import numpy as np

from .common import die, log, parse_time

MISSING = {"", "nan", "NaN", "NAN", "null", "NULL", "None", "NA"}


def parse_value(cell: str) -> float:
    c = cell.strip()
    if c in MISSING:
        return math.nan
    if c in ("true", "True", "TRUE"):
        return 1.0
    if c in ("false", "False", "FALSE"):
        return 0.0
    return float(c)


def parse_label(cell: str) -> int | None:
    t = cell.strip()
    return 1 if t in ("1", "true", "True", "1.0") else 0 if t in ("0", "false", "False", "0.0") else None


def read_csv(f, path: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header with its names stripped, then (line number, row) for every non-empty row)."""
    r = csv.reader(f)
    header = next(r, None)
    if header is None:
        die(f"{path}: empty file")
    rows = ((line_no, row) for line_no, row in enumerate(r, start=2) if row)
    return [h.strip() for h in header], rows


def read_labels(path: str) -> dict[str, tuple[float, int]]:
    """auth_id -> (epoch seconds, 0|1)."""
    out: dict[str, tuple[float, int]] = {}
    with open(path, newline="") as f:
        header, rows = read_csv(f, path)
        id_col = "auth_id" if "auth_id" in header else "transaction_id" if "transaction_id" in header else None
        if id_col is None:
            die(f"{path}: needs an 'auth_id' or 'transaction_id' column (header: {','.join(header)})")
        for need in ("tx_datetime", "tx_fraud"):
            if need not in header:
                die(f"{path}: missing column '{need}' (header: {','.join(header)})")
        i_id, i_dt, i_y = header.index(id_col), header.index("tx_datetime"), header.index("tx_fraud")
        for line_no, row in rows:
            try:
                y = parse_label(row[i_y])
                if y is None:
                    die(f"{path}:{line_no}: tx_fraud must be 0 or 1, got {row[i_y].strip()!r}")
                out[row[i_id].strip()] = (parse_time(row[i_dt], f"{path}:{line_no} tx_datetime"), y)
            except IndexError:
                die(f"{path}:{line_no}: expected {len(header)} columns, got {len(row)}")
    return out


def read_features(path: str, labels: dict[str, tuple[float, int]]):
    """Returns (feature_names, X float32 [n, F], y int8 [n], ts float64 [n], n_unlabelled).

    Only the labelled rows are kept, each auth_id once (the first)."""
    with open(path, newline="") as f:
        header, rows_in = read_csv(f, path)
        if not header or header[0] != "auth_id":
            die(f"{path}: the first column must be 'auth_id' (got {header[0] if header else 'nothing'!r})")
        names = header[1:]
        if not names:
            die(f"{path}: no feature columns after auth_id")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            die(f"{path}: duplicate feature columns: {', '.join(dup)}")
        width = len(header)
        rows: list[list[float]] = []
        ys: list[int] = []
        tss: list[float] = []
        seen: set[str] = set()
        unlabelled = duplicates = 0
        for line_no, row in rows_in:
            if len(row) != width:
                die(f"{path}:{line_no}: expected {width} columns, got {len(row)}")
            aid = row[0].strip()
            lab = labels.get(aid)
            if lab is None:
                unlabelled += 1
                continue
            if aid in seen:
                duplicates += 1
                continue
            seen.add(aid)
            try:
                rows.append([parse_value(c) for c in row[1:]])
            except ValueError as e:
                die(f"{path}:{line_no}: {e}")
            tss.append(lab[0])
            ys.append(lab[1])
    if duplicates:
        log(f"warning: {duplicates} duplicate auth_id rows in {path} ignored (first one kept)")
    X = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(names))
    return names, X, np.asarray(ys, dtype=np.int8), np.asarray(tss, dtype=np.float64), unlabelled


def blank_features(names: list[str], X: np.ndarray, only: str) -> list[str]:
    """--only-features: the named columns stay, the others become all missing (in place).
    Returns the kept names in the engine's order."""
    used = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in used if n not in names]
    if unknown or not used:
        die(f"--only-features: unknown feature(s) {', '.join(unknown) or '(none given)'} (known: {', '.join(names)})")
    blank = [i for i, n in enumerate(names) if n not in used]
    X[:, blank] = np.nan
    used = [n for n in names if n in used]  # the engine's order
    log(f"using {len(used)} of {len(names)} features; blanked: {', '.join(names[i] for i in blank)}")
    return used

