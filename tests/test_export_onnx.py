"""ONNX export: the shipped networks run in onnxruntime with the engine's probabilities.

Every export passes ``onnx.checker`` (full check); the graph uses standard operators only,
one input ``image`` (N,1,28,28) with a symbolic batch and one output ``probabilities``
(N,10); metadata carries the architecture and the training record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from drawcnn.engine import build_network, load_network
from drawcnn.engine.models import (
    Architecture,
    AvgPool,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    ReLU,
)
from drawcnn.errors import DrawCNNError, ExportError
from drawcnn.export_onnx import export_onnx

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["simple", "lenet", "deep"]
STANDARD_OPS = {"Conv", "Relu", "MaxPool", "AveragePool", "Flatten", "Gemm", "Softmax"}


def _inputs(n: int) -> np.ndarray:
    """Drawn digits (the self-test's strokes, MNIST-preprocessed), a blank image and noise."""
    from drawcnn.data import strokes_to_mnist
    from drawcnn.selftest import SAMPLES

    rng = np.random.default_rng(n)
    drawn = [strokes_to_mnist(s, 400)[None] for _, s in SAMPLES]
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    x[: min(n, len(drawn))] = np.stack(drawn)[: min(n, len(drawn))]
    if n > len(drawn):
        x[len(drawn)] = 0.0
        x[len(drawn) + 1:] *= rng.random((n - len(drawn) - 1, 1, 1, 1), dtype=np.float32)
    return x


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probs,) = session.run(["probabilities"], {"image": x})
    return probs


@pytest.fixture(scope="module", params=SHIPPED)
def exported(request, tmp_path_factory):
    net = load_network(ROOT / "weights" / f"{request.param}.npz")
    path = export_onnx(net, tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx")
    return net, path


@pytest.mark.parametrize("batch", [1, 64])
def test_onnxruntime_matches_the_engine(exported, batch):
    net, path = exported
    x = _inputs(batch)
    theirs, ours = _run(path, x), net.predict(x)
    assert theirs.shape == ours.shape == (batch, 10)
    diff = float(np.max(np.abs(theirs - ours)))
    print(f"{net.arch.name} batch {batch}: max |onnxruntime - engine| = {diff:.2e}")
    assert diff <= 1e-5
    assert np.array_equal(theirs.argmax(1), ours.argmax(1))
    np.testing.assert_allclose(theirs.sum(1), 1.0, atol=1e-5)


def test_the_drawn_digits_are_recognised_by_onnxruntime(exported):
    from drawcnn.selftest import SAMPLES

    _, path = exported
    labels = [label for label, _ in SAMPLES]
    assert list(_run(path, _inputs(len(labels))).argmax(1)) == labels


def test_model_is_a_standard_checked_onnx_graph(exported):
    net, path = exported
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path))
    graph = model.graph
    assert [i.name for i in graph.input] == ["image"]
    assert [o.name for o in graph.output] == ["probabilities"]
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].HasField("dim_value")  # dynamic batch
    assert [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    out_dims = graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == dims[0].dim_param and out_dims[1].dim_value == 10
    ops = [n.op_type for n in graph.node]
    assert set(ops) <= STANDARD_OPS and ops[-1] == "Softmax"
    assert {d.domain for d in model.opset_import} == {""}  # the standard operator set only
    assert "Dropout" not in ops
    n_layers = sum(1 for s in net.arch.layers if not isinstance(s, Dropout))
    assert len(ops) == n_layers + 1
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    params = net.get_params()
    assert set(weights) == set(params)
    for key, value in params.items():
        assert np.array_equal(weights[key], value)


def test_metadata_holds_architecture_and_training(exported):
    net, path = exported
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["architecture"] == net.arch.name
    assert json.loads(props["architecture_spec"]) == net.arch.to_dict()
    training = json.loads(props["training"])
    assert training["test_accuracy"] == net.metadata["training"]["test_accuracy"]
    assert f"{training['test_accuracy']:.2%}" in props["training_summary"]
    assert props["drawcnn_version"]
    assert props["source_weights"] == f"{net.arch.name}.npz"
    # probabilities only: the softmax "not a digit" threshold travels along as a note
    assert json.loads(props["not_a_digit"])["min_confidence"] == pytest.approx(
        net.metadata["reading"]["min_confidence"])


def test_every_layer_kind_and_stride_exports_exactly(tmp_path):
    """Average pooling, strided and padded convolutions, overlapping max pooling, dropout."""
    arch = Architecture(
        "mixed",
        (Conv(4, 3, stride=2, pad=1), ReLU(), AvgPool(2), Conv(6, 2, pad=1), ReLU(),
         MaxPool(3, stride=2), Flatten(), Dense(12), ReLU(), Dropout(0.3), Dense(10)),
        description="test network",
    )
    net = build_network(arch, seed=3)
    path = export_onnx(net, tmp_path / "mixed.onnx")
    onnx.checker.check_model(str(path), full_check=True)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"AveragePool", "MaxPool", "Conv", "Gemm"} <= ops
    for batch in (1, 64):
        x = _inputs(batch)
        assert float(np.max(np.abs(_run(path, x) - net.predict(x)))) <= 1e-5
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["training_summary"] == "no training record"


def test_without_onnx_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an environment without onnx sees
    net = build_network("lenet")
    with pytest.raises(ExportError, match=r"pip install 'drawcnn\[onnx\]'") as info:
        export_onnx(net, tmp_path / "x.onnx")
    assert isinstance(info.value, DrawCNNError)
    assert not (tmp_path / "x.onnx").exists()


def test_unwritable_destination_is_an_export_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExportError, match="cannot write"):
        export_onnx(build_network("lenet"), blocker / "x.onnx")


def test_export_command(tmp_path):
    """``drawcnn export`` as a user runs it (its own process)."""
    out = tmp_path / "sub" / "lenet.onnx"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run(
        [sys.executable, "-m", "drawcnn", "export", "--weights",
         str(ROOT / "weights" / "lenet.npz"), "--onnx", str(out), "--verify"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    onnx.checker.check_model(str(out), full_check=True)
    assert "lenet" in res.stdout and "max difference" in res.stdout
    assert not list(out.parent.glob(".*.tmp"))  # written atomically


def test_export_command_reports_a_bad_weights_file(tmp_path, capsys):
    from drawcnn.cli import main

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["export", "--weights", str(bad), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "truncated or corrupted" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_export_is_a_drawcnn_command():
    from drawcnn.cli import build_parser

    args = build_parser().parse_args(["export", "--onnx", "x.onnx"])
    assert args.command == "export" and args.weights is None and not args.verify
