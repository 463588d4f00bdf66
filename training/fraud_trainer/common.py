"""What every part of the trainer shares: the ONNX contract, errors, logging, time."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import NoReturn

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
OUTPUT_COLUMN = 1  # probabilities[:, 1] = P(fraud)
MAX_MODEL_BYTES = 2 * 1024 * 1024


class TrainerError(Exception):
    """A problem with the input or the options; the command line prints it and exits 2."""


def die(msg: str) -> NoReturn:
    raise TrainerError(msg)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_time(text: str, what: str) -> float:
    """ISO 8601 date or date-time -> epoch seconds; no offset means UTC."""
    s = text.strip()
    try:
        if len(s) == 10:
            dt = datetime.strptime(s, "%Y-%m-%d")
        else:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        die(f"{what}: not an ISO 8601 date/time: {text!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")
