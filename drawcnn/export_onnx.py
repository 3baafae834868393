"""Export a network to ONNX, to run it elsewhere (onnxruntime, OpenCV, ...) or view it in Netron.

>>> from drawcnn.export_onnx import export_onnx
>>> export_onnx(net, "deep.onnx")        # what ``drawcnn export`` and File > Export call

The model is built with the ``onnx`` package (the ``onnx`` extra: ``pip install
drawcnn[onnx]``) from standard operators only: one float32 input ``image`` of shape
(N, C, H, W) (N is a dynamic batch; (N, 1, 28, 28) for the shipped networks), then per layer
Conv, Relu, MaxPool, AveragePool, Flatten, Gemm (dense), and a final Softmax giving the output
``probabilities`` (N, classes). Dropout is left out: at inference it is the identity. Node and
weight names follow the engine's layer names (conv1, conv1.W, ...). The architecture, the
training record and the drawcnn version go into the model's ``metadata_props``.

Qt-free: imports only the engine's data classes and, lazily, ``onnx``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import clean_stale_temps, write_atomic
from .engine.models import AvgPool, Conv, Dense, Dropout, Flatten, MaxPool, ReLU
from .errors import ExportError

#: ONNX operator set and IR version written: opset 17 / IR 8 load in onnxruntime >= 1.14,
#: Netron, OpenCV's dnn module and every current converter.
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
BATCH_DIM = "N"

INPUT_DOC = ("float32 (N, 1, 28, 28) in [0, 1]: a bright digit on a dark background, prepared "
             "like MNIST (ink scaled into a 20x20 box, centre of mass at the centre of 28x28)")


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ExportError(
            "ONNX export needs the onnx package: pip install 'drawcnn[onnx]'"
        ) from None
    return onnx, helper, numpy_helper


def training_summary(metadata: dict) -> str:
    """One line on how the network was trained, from its weights file's metadata."""
    if metadata.get("untrained"):
        return "untrained (freshly initialised)"
    tr = metadata.get("training") or {}
    if not tr:
        return "no training record"
    stages, epochs, stage = 0, 0, tr
    while isinstance(stage, dict) and stage:
        stages += 1
        epochs += int(stage.get("epochs_completed") or 0)
        stage = stage.get("previous_training")
    parts = []
    if tr.get("test_accuracy") is not None:
        parts.append(f"test accuracy {float(tr['test_accuracy']):.2%}")
    if epochs:
        parts.append(f"{epochs} epochs" + (f" in {stages} stages" if stages > 1 else ""))
    if tr.get("dataset"):
        parts.append(f"on {tr['dataset']}")
    if tr.get("optimizer"):
        parts.append(("last stage " if stages > 1 else "") + str(tr["optimizer"]))
    return ", ".join(parts) or "training record without details"


def build_model(net):
    """The ``onnx.ModelProto`` for ``net`` (any backend), shapes inferred and checked."""
    onnx, helper, numpy_helper = _onnx()
    from onnx import TensorProto

    arch = net.arch
    params = net.get_params()
    c, h, w = arch.input_shape
    nodes, inits = [], []
    current = INPUT_NAME

    for name, spec in zip(arch.layer_names(), arch.layers):
        if isinstance(spec, Dropout):  # identity at inference
            continue
        if isinstance(spec, Conv):
            inits += [numpy_helper.from_array(params[f"{name}.W"], f"{name}.W"),
                      numpy_helper.from_array(params[f"{name}.b"], f"{name}.b")]
            node = helper.make_node(
                "Conv", [current, f"{name}.W", f"{name}.b"], [name], name=name,
                kernel_shape=[spec.kernel, spec.kernel], strides=[spec.stride, spec.stride],
                pads=[spec.pad] * 4)
        elif isinstance(spec, ReLU):
            node = helper.make_node("Relu", [current], [name], name=name)
        elif isinstance(spec, (MaxPool, AvgPool)):
            stride = spec.stride or spec.size
            node = helper.make_node(
                "MaxPool" if isinstance(spec, MaxPool) else "AveragePool", [current], [name],
                name=name, kernel_shape=[spec.size, spec.size], strides=[stride, stride])
        elif isinstance(spec, Flatten):
            node = helper.make_node("Flatten", [current], [name], name=name, axis=1)
        elif isinstance(spec, Dense):
            # engine: y = x @ W + b with W (in, out): Gemm without transposes
            inits += [numpy_helper.from_array(params[f"{name}.W"], f"{name}.W"),
                      numpy_helper.from_array(params[f"{name}.b"], f"{name}.b")]
            node = helper.make_node("Gemm", [current, f"{name}.W", f"{name}.b"], [name],
                                    name=name)
        else:
            raise ExportError(f"{arch.name}: layer {name} ({type(spec).__name__}) has no "
                              "ONNX counterpart here")
        nodes.append(node)
        current = name
    nodes.append(helper.make_node("Softmax", [current], [OUTPUT_NAME], name="softmax", axis=1))

    graph = helper.make_graph(
        nodes, arch.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [BATCH_DIM, c, h, w],
                                       doc_string=INPUT_DOC)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT,
                                       [BATCH_DIM, arch.num_classes],
                                       doc_string="class probabilities; rows sum to 1")],
        initializer=inits,
        doc_string=arch.description,
    )
    model = helper.make_model(
        graph, producer_name="drawcnn", producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=f"drawcnn {arch.name}: {arch.description}",
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    meta = net.metadata or {}
    props = {
        "architecture": arch.name,
        "architecture_description": arch.description,
        "architecture_spec": json.dumps(arch.to_dict()),
        "training_summary": training_summary(meta),
        "training": json.dumps(meta.get("training"), default=str),
        "parameters": str(arch.param_count()),
        "input": INPUT_DOC,
        "classes": ",".join(str(k) for k in range(arch.num_classes)),
        "drawcnn_version": __version__,
    }
    reading = meta.get("reading") if isinstance(meta.get("reading"), dict) else {}
    if "min_confidence" in reading:
        # the model gives probabilities only: drawcnn's feature-space "not a digit" score
        # (reading.score, net.stats) is not exported; the softmax threshold is the fallback
        props["not_a_digit"] = json.dumps({
            "min_confidence": reading["min_confidence"],
            "note": "probabilities only; decline a reading whose top probability is under "
                    "min_confidence (drawcnn itself also uses a feature-space score that is "
                    "not part of this model)"})
    if meta.get("source"):
        props["source_weights"] = Path(str(meta["source"])).name
    helper.set_model_props(model, props)

    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"{arch.name}: the exported model fails onnx.checker: {exc}") from exc
    return model


def export_onnx(net, path) -> Path:
    """Write ``net`` as an ONNX model to ``path`` (atomically); returns the path.

    Raises :class:`~drawcnn.errors.ExportError` (a ``DrawCNNError``) when onnx is not installed
    or the file cannot be written."""
    path = Path(path)
    data = build_model(net).SerializeToString()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path.parent, path.name)  # orphans of exports killed mid-write
        write_atomic(path, lambda fh: fh.write(data))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def compare_with_onnxruntime(net, path, x: np.ndarray) -> float:
    """Max |engine probabilities - onnxruntime probabilities| on batch ``x`` (``--verify``)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError("--verify needs onnxruntime: pip install onnxruntime") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x, dtype=np.float32)
    (theirs,) = session.run([OUTPUT_NAME], {INPUT_NAME: x})
    return float(np.max(np.abs(theirs - net.predict(x))))
