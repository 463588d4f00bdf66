#!/usr/bin/env python3
"""Fit the fraud model and export it to ONNX + metadata: the fraud_trainer package's command line
(training/fraud_trainer/cli.py), at the path the engine's `train` command and the tests call."""
import sys

from fraud_trainer.cli import main

if __name__ == "__main__":
    sys.exit(main())
