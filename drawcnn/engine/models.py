"""Architectures as data: small frozen dataclasses, shape inference, and the checks that a
spec from a file is one the engine can run.

Hyperparameters live here, apart from parameters (which are a flat ``{"conv1.W": array}``
dict built by ``init_params``). A spec round-trips through JSON so a weights file carries
the architecture it was trained with. The shipped networks' specs are in ``presets.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..errors import ArchitectureError
from .shapes import conv_out_size, pool_out_size


@dataclass(frozen=True)
class Conv:
    filters: int
    kernel: int
    stride: int = 1
    pad: int = 0


@dataclass(frozen=True)
class ReLU:
    pass


@dataclass(frozen=True)
class MaxPool:
    size: int = 2
    stride: int = 0  # 0 means "same as size"


@dataclass(frozen=True)
class AvgPool:
    size: int = 2
    stride: int = 0


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True)
class Dense:
    units: int


@dataclass(frozen=True)
class Dropout:
    rate: float = 0.5


LAYER_TYPES = {cls.__name__: cls for cls in (Conv, ReLU, MaxPool, AvgPool, Flatten, Dense, Dropout)}
_PREFIX = {
    "Conv": "conv",
    "ReLU": "relu",
    "MaxPool": "pool",
    "AvgPool": "avgpool",
    "Flatten": "flatten",
    "Dense": "fc",
    "Dropout": "dropout",
}


@dataclass(frozen=True)
class Architecture:
    """An ordered list of layer specs for (C,H,W) inputs and ``num_classes`` outputs."""

    name: str
    layers: tuple
    input_shape: tuple = (1, 28, 28)
    num_classes: int = 10
    description: str = ""

    # -- naming and shapes
    def layer_names(self) -> list[str]:
        """conv1, relu1, pool1, ..., flatten, fc1, ...: numbered per kind, in order."""
        counts: dict[str, int] = {}
        names = []
        for spec in self.layers:
            prefix = _PREFIX[type(spec).__name__]
            counts[prefix] = counts.get(prefix, 0) + 1
            names.append(prefix if prefix == "flatten" else f"{prefix}{counts[prefix]}")
        return names

    def output_shapes(self) -> list[tuple]:
        """Per-layer output shape (without the batch axis); raises ArchitectureError."""
        shape = tuple(self.input_shape)
        shapes = []
        for name, spec in zip(self.layer_names(), self.layers):
            shape = _next_shape(name, spec, shape)
            shapes.append(shape)
        if shapes and shapes[-1] != (self.num_classes,):
            raise ArchitectureError(
                f"{self.name}: the last layer gives {shapes[-1]}, expected ({self.num_classes},)"
            )
        return shapes

    def param_shapes(self) -> dict[str, tuple]:
        """``{"conv1.W": (F,C,k,k), "conv1.b": (F,), "fc1.W": (in,out), ...}`` in order."""
        shape = tuple(self.input_shape)
        out: dict[str, tuple] = {}
        for name, spec in zip(self.layer_names(), self.layers):
            if isinstance(spec, Conv):
                out[f"{name}.W"] = (spec.filters, shape[0], spec.kernel, spec.kernel)
                out[f"{name}.b"] = (spec.filters,)
            elif isinstance(spec, Dense):
                out[f"{name}.W"] = (int(np.prod(shape)), spec.units)
                out[f"{name}.b"] = (spec.units,)
            shape = _next_shape(name, spec, shape)
        return out

    def param_count(self) -> int:
        return int(sum(np.prod(s) for s in self.param_shapes().values()))

    def flops_per_image(self) -> int:
        """Multiply-adds x2 of one forward pass (conv and dense layers)."""
        shape = tuple(self.input_shape)
        total = 0
        for name, spec in zip(self.layer_names(), self.layers):
            nxt = _next_shape(name, spec, shape)
            if isinstance(spec, Conv):
                total += 2 * int(np.prod(nxt)) * shape[0] * spec.kernel**2
            elif isinstance(spec, Dense):
                total += 2 * int(np.prod(shape)) * spec.units
            shape = nxt
        return total

    # -- (de)serialisation
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "description": self.description,
            "layers": [{"type": type(s).__name__, **asdict(s)} for s in self.layers],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Architecture:
        try:
            layers = []
            for item in d["layers"]:
                item = dict(item)
                kind = LAYER_TYPES[item.pop("type")]
                allowed = {f.name for f in fields(kind)}
                unknown = set(item) - allowed
                if unknown:
                    raise ArchitectureError(f"unknown fields {sorted(unknown)} for {kind.__name__}")
                layers.append(kind(**item))
            arch = cls(
                name=str(d["name"]),
                layers=tuple(layers),
                input_shape=tuple(_strict_int(v) for v in d.get("input_shape", (1, 28, 28))),
                num_classes=_strict_int(d.get("num_classes", 10)),
                description=str(d.get("description", "")),
            )
        except ArchitectureError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ArchitectureError(f"malformed architecture spec: {exc!r}") from exc
        validate_runnable(arch)
        return arch


def _strict_int(v) -> int:
    if type(v) is not int:  # 10.5, "10", True or None are no sizes
        raise TypeError(f"expected an integer, got {v!r:.40}")
    return v


#: What a spec from a file may ask of the engine (the shipped "deep" needs 38 MFLOP, 164 k
#: activation values and 0.87 M parameters per image): far more than any sensible digit
#: network, far less than a hostile file would make one prediction cost.
LIMITS = {"layers": 64, "flops": 2_000_000_000, "activations": 8_000_000,
          "params": 50_000_000, "num_classes": 1000}
_INT_RANGES = {"filters": (1, 4096), "kernel": (1, 1024), "stride": (0, 1024),
               "pad": (0, 1024), "size": (1, 1024), "units": (1, 1 << 16)}


def validate_runnable(arch: Architecture) -> None:
    """Check a spec (typically read from a file) is one the engine can run: field types and
    ranges, a 1x28x28 input, the shape chain, and a cap on the work per image."""
    if tuple(arch.input_shape) != (1, 28, 28):
        raise ArchitectureError(f"input shape {tuple(arch.input_shape)} is not supported "
                                "(the engine reads 1x28x28 images)")
    if not 2 <= arch.num_classes <= LIMITS["num_classes"]:
        raise ArchitectureError(f"num_classes {arch.num_classes} out of range 2-"
                                f"{LIMITS['num_classes']}")
    if not 1 <= len(arch.layers) <= LIMITS["layers"]:
        raise ArchitectureError(f"{len(arch.layers)} layers (1-{LIMITS['layers']} supported)")
    for name, spec in zip(arch.layer_names(), arch.layers):
        for f in fields(spec):
            v = getattr(spec, f.name)
            if f.name == "rate":
                ok = type(v) in (int, float) and 0.0 <= v < 1.0
            else:
                lo, hi = _INT_RANGES[f.name]
                lo = 1 if (f.name == "stride" and isinstance(spec, Conv)) else lo
                ok = type(v) is int and lo <= v <= hi
            if not ok:
                raise ArchitectureError(f"{name}: {f.name}={v!r} is not a valid value")
    if not isinstance(arch.layers[-1], Dense):
        raise ArchitectureError("the last layer must be a Dense layer giving the class scores")
    shapes = arch.output_shapes()
    acts = sum(int(np.prod(s)) for s in shapes)
    for what, value in (("activations", acts), ("flops", arch.flops_per_image()),
                        ("params", arch.param_count())):
        if value > LIMITS[what]:
            raise ArchitectureError(f"the network needs {value:,} {what} per image; at most "
                                    f"{LIMITS[what]:,} are supported")


def _next_shape(name: str, spec, shape: tuple) -> tuple:
    if isinstance(spec, Conv):
        if len(shape) != 3:
            raise ArchitectureError(f"{name}: convolution needs (C,H,W) input, got {shape}")
        c, h, w = shape
        valid = spec.filters >= 1 and spec.kernel >= 1 and spec.stride >= 1 and spec.pad >= 0
        oh = conv_out_size(h, spec.kernel, spec.stride, spec.pad) if valid else 0
        ow = conv_out_size(w, spec.kernel, spec.stride, spec.pad) if valid else 0
        if oh < 1 or ow < 1:
            raise ArchitectureError(f"{name}: {spec} does not fit input {shape}")
        return (spec.filters, oh, ow)
    if isinstance(spec, (MaxPool, AvgPool)):
        if len(shape) != 3:
            raise ArchitectureError(f"{name}: pooling needs (C,H,W) input, got {shape}")
        c, h, w = shape
        stride = spec.stride or spec.size
        if spec.size < 1 or h < spec.size or w < spec.size:
            raise ArchitectureError(f"{name}: window {spec.size} does not fit input {shape}")
        return (c, pool_out_size(h, spec.size, stride), pool_out_size(w, spec.size, stride))
    if isinstance(spec, Flatten):
        return (int(np.prod(shape)),)
    if isinstance(spec, Dense):
        if len(shape) != 1:
            raise ArchitectureError(
                f"{name}: dense layer needs a flat input (add Flatten), got {shape}"
            )
        return (spec.units,)
    if isinstance(spec, (ReLU, Dropout)):
        if isinstance(spec, Dropout) and not 0.0 <= spec.rate < 1.0:
            raise ArchitectureError(f"{name}: dropout rate must be in [0, 1), got {spec.rate}")
        return shape
    raise ArchitectureError(f"{name}: unknown layer spec {spec!r}")


def init_params(arch: Architecture, seed: int | np.random.Generator = 0) -> dict[str, np.ndarray]:
    """He-normal weights (fan-in, suits ReLU), zero biases; float32; seeded explicitly."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    params = {}
    for key, shape in arch.param_shapes().items():
        if key.endswith(".b"):
            params[key] = np.zeros(shape, dtype=np.float32)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            std = np.sqrt(2.0 / fan_in)
            params[key] = (rng.standard_normal(shape) * std).astype(np.float32)
    return params
