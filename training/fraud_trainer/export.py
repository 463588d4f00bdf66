"""ONNX export: one LightGBM through onnxmltools, an Ensemble as one graph, and the check of
the exported graph against the Python model.

Every graph has input `features` float32 [N, F] (NaN = missing) and outputs `label` int64 [N]
and `probabilities` float32 [N, 2]; the engine reads probabilities[:, 1], the fraud probability.
"""
from __future__ import annotations

import numpy as np

from .common import INPUT_NAME, OUTPUT_COLUMN, OUTPUT_NAME, die
from .ensemble import Ensemble


def lightgbm_onnx(model, n_features: int, version: str):
    """One LightGBM -> ONNX (outputs `label` int64 [N], `probabilities` float32 [N, 2])."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    onx = convert_lightgbm(
        model,
        name=f"fraud-{version}",
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        zipmap=False,  # a plain [N, 2] tensor, not a list of maps
    )
    names_out = [o.name for o in onx.graph.output]
    if OUTPUT_NAME not in names_out:
        die(f"converter produced outputs {names_out}, expected '{OUTPUT_NAME}'")
    return onx


def ensemble_onnx(model: Ensemble, n_features: int, version: str):
    """The Ensemble as one ONNX graph on the same input: each LightGBM's converted graph (names
    prefixed g0_, g1_, ...), their probabilities averaged, the logistic regression written with
    plain ONNX operators (IsNaN/Where imputation, signed log1p, standardization, MatMul,
    Sigmoid), and the weighted sum of the two [N, 2] probability tensors as `probabilities`."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, opsets, ir = [], [], {}, 4
    gbm_outputs = []
    for i, gbm in enumerate(model.gbms):
        g = lightgbm_onnx(gbm, n_features, f"{version}-g{i}")
        ir = max(ir, g.ir_version)
        for o in g.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
        rename = lambda n, p=f"g{i}_": n if n in ("", INPUT_NAME) else p + n
        for init in g.graph.initializer:
            init.name = rename(init.name)
            inits.append(init)
        for node in g.graph.node:
            node.name = rename(node.name)
            node.input[:] = [rename(n) for n in node.input]
            node.output[:] = [rename(n) for n in node.output]
            nodes.append(node)
        gbm_outputs.append(rename(OUTPUT_NAME))

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    w = model.lr_weight
    nodes.append(helper.make_node("Sum", gbm_outputs, ["gbm_sum"], name="gbm_sum"))
    nodes.append(helper.make_node("Mul", ["gbm_sum", const("gbm_w", (1 - w) / len(gbm_outputs))], ["gbm_part"], name="gbm_part"))
    final_in = "gbm_part"
    if w > 0:
        nodes.append(helper.make_node("IsNaN", [INPUT_NAME], ["lr_nan"], name="lr_nan"))
        nodes.append(helper.make_node("Where", ["lr_nan", const("lr_median", model.medians[None, :]), INPUT_NAME],
                                      ["lr_imputed"], name="lr_impute"))
        z = "lr_imputed"
        if model.lr_transform == "slog":
            nodes += [helper.make_node("Abs", [z], ["lr_abs"], name="lr_abs"),
                      helper.make_node("Add", ["lr_abs", const("one", 1.0)], ["lr_abs1"], name="lr_abs1"),
                      helper.make_node("Log", ["lr_abs1"], ["lr_log"], name="lr_log"),
                      helper.make_node("Sign", [z], ["lr_sign"], name="lr_sign"),
                      helper.make_node("Mul", ["lr_sign", "lr_log"], ["lr_slog"], name="lr_slog")]
            z = "lr_slog"
        coef = model.lr.coef_.reshape(-1) / model.scale  # (z - mean) / scale . coef  ==  z . (coef / scale) - mean . (coef / scale)
        bias = float(model.lr.intercept_[0]) - float(np.dot(model.mean, coef))
        nodes += [helper.make_node("MatMul", [z, const("lr_coef", coef[:, None])], ["lr_dot"], name="lr_dot"),
                  helper.make_node("Add", ["lr_dot", const("lr_bias", [bias])], ["lr_logit"], name="lr_logit"),
                  helper.make_node("Sigmoid", ["lr_logit"], ["lr_p1"], name="lr_p1"),
                  helper.make_node("Sub", [const("one_", [[1.0]]), "lr_p1"], ["lr_p0"], name="lr_p0"),
                  helper.make_node("Concat", ["lr_p0", "lr_p1"], ["lr_proba"], axis=1, name="lr_proba"),
                  helper.make_node("Mul", ["lr_proba", const("lr_w", w)], ["lr_part"], name="lr_part"),
                  helper.make_node("Add", ["gbm_part", "lr_part"], ["blend"], name="blend")]
        final_in = "blend"
    nodes += [helper.make_node("Identity", [final_in], [OUTPUT_NAME], name="probabilities"),
              helper.make_node("ArgMax", [OUTPUT_NAME], ["label"], axis=1, keepdims=0, name="label")]
    graph = helper.make_graph(
        nodes, f"fraud-{version}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None, 2])],
        initializer=inits,
    )
    # producer_name predates the package; kept so that a retrained model is byte for byte the same.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
                             ir_version=ir, producer_name="fraud-engine train.py")


def export_onnx(model, n_features: int, version: str, names: list[str]):
    """A fitted LightGBM or Ensemble -> a checked ONNX ModelProto, with version and feature names."""
    import onnx

    onx = ensemble_onnx(model, n_features, version) if isinstance(model, Ensemble) else lightgbm_onnx(model, n_features, version)
    # The converter declares `label` as [1] and leaves the batch dimension unnamed; name it so
    # the runtime does not warn on every batch and the shapes read well.
    for value in list(onx.graph.input) + list(onx.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) >= 1:
            dims[0].Clear()
            dims[0].dim_param = "N"
    for key, value in (("model_version", version), ("features", ",".join(names))):
        p = onx.metadata_props.add()
        p.key, p.value = key, value
    onx.doc_string = f"Fraud model {version}: input '{INPUT_NAME}' float32 [N,{n_features}], " \
                     f"P(fraud) = {OUTPUT_NAME}[:, {OUTPUT_COLUMN}]"
    onnx.checker.check_model(onx)
    return onx


def onnx_scores(data: bytes, X: np.ndarray) -> np.ndarray:
    """P(fraud) of each row of X by onnxruntime (one thread), float32."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    return sess.run([OUTPUT_NAME], {INPUT_NAME: X})[0][:, OUTPUT_COLUMN]


def verify_onnx(data: bytes, model, X: np.ndarray) -> float:
    """Scores X with onnxruntime and the Python model; returns the largest difference."""
    got = onnx_scores(data, X)
    want = model.predict_proba(X)[:, 1]  # LightGBM's, or the Ensemble's (float64)
    return float(np.max(np.abs(got.astype(np.float64) - want))) if len(X) else 0.0


def framework(model, onx) -> str:
    """The metadata's `framework`: what made the model and the graph's opsets."""
    import lightgbm
    import sklearn

    if isinstance(model, Ensemble):
        lr = f" + {model.lr_weight:g} x logistic regression (scikit-learn {sklearn.__version__})" if model.lr_weight > 0 else ""
        head = f"ensemble: {model.n_seeds} x lightgbm {lightgbm.__version__} (onnxmltools){lr}, one onnx graph, opset "
    else:
        head = f"lightgbm {lightgbm.__version__} -> onnxmltools, onnx opset "
    return head + ",".join(f"{o.domain or 'ai.onnx'}={o.version}" for o in onx.opset_import)
