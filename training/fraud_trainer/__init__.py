"""The fraud model's trainer: LightGBM (or a LightGBM + logistic regression blend) fitted on the
engine's own feature vectors, exported to ONNX + metadata. Run it with `python training/train.py`
or `python -m fraud_trainer` from training/; the options are in cli.py."""
