"""``drawcnn export``: write a network as a standard ONNX model (onnxruntime, Netron, ...)."""

from __future__ import annotations

from .common import fail


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a network as an ONNX model (needs: pip install 'drawcnn[onnx]')",
        description="Write a trained network as a standard ONNX model: input 'image' "
        "float32 (N,1,28,28) in [0,1], output 'probabilities' (N,10). The architecture and "
        "its training record go into the model's metadata.",
    )
    p.add_argument("--weights", help="weights file (default: the shipped default network)")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--verify", action="store_true",
                   help="run the exported model in onnxruntime and compare its probabilities "
                   "with the engine's")
    p.set_defaults(func=export_command)


def export_command(args) -> int:
    import numpy as np

    from ..engine import load_network
    from ..errors import WeightsError
    from ..export_onnx import OPSET, compare_with_onnxruntime, export_onnx, training_summary
    from ..shipped import default_weights_path

    weights = args.weights or default_weights_path()
    if weights is None:
        raise WeightsError("no --weights given and no shipped weights found")
    net = load_network(weights)
    path = export_onnx(net, args.onnx)
    c, h, w = net.arch.input_shape
    print(f"wrote {path}: {net.arch.name}, {net.param_count():,} parameters, opset {OPSET}; "
          f"input 'image' (N,{c},{h},{w}) -> output 'probabilities' "
          f"(N,{net.arch.num_classes}); {training_summary(net.metadata)}")
    if args.verify:
        x = np.random.default_rng(0).random((64, c, h, w), dtype=np.float32)
        diff = compare_with_onnxruntime(net, path, x)
        print(f"onnxruntime vs engine, batch 64: max difference {diff:.2e}")
        if not diff <= 1e-5:
            return fail(f"onnxruntime disagrees with the engine (max difference {diff:.2e})",
                        1)
    return 0
