#!/usr/bin/env python3
"""The Python side of test/integration/terminal-age-parity.test.ts: terminal_known_fraud_age as
the offline measurement of docs/model.md §2.2 computed it (docs/model/ap-2026-12/age.py, the
definition the feature was chosen with), for the transactions of a CSV.

    python terminal_age_reference.py IN.csv OUT.json

IN.csv: `ts,terminal,fraud` (epoch seconds, an integer terminal id, 0/1), one row per
transaction. OUT.json: the ages in days, in the rows' order, null where missing.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "model", "ap-2026-12"))

from age import fraud_age  # noqa: E402


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    data = np.loadtxt(src, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    age = fraud_age(data[:, 0], data[:, 1], data[:, 2])
    with open(out, "w") as f:
        json.dump([None if np.isnan(a) else float(a) for a in age], f)


if __name__ == "__main__":
    main()
