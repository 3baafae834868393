"""Layers: small classes wrapping a backend's kernel pair with forward(x) / backward(dout).

A layer reads its parameters from the network's shared ``params`` dict (so optimizers and
weight loading update them in place) and writes gradients into ``grads``. It keeps the
cache for backward on ``self`` only in training mode, so an eval-mode forward (live
prediction) never disturbs a training step's state.
"""

from __future__ import annotations

import numpy as np

from . import models


class Layer:
    kind = "layer"
    param_keys: tuple[str, ...] = ()

    def __init__(self, name: str, spec, backend, params: dict, grads: dict):
        self.name = name
        self.spec = spec
        self.backend = backend
        self.params = params
        self.grads = grads
        self.need_dx = True  # False for the first layer: nothing upstream needs dx
        self._cache = None

    def forward(self, x, train: bool = False):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def _p(self, which: str):
        return self.params[f"{self.name}.{which}"]


class Conv2D(Layer):
    kind = "Conv2D"
    param_keys = ("W", "b")

    def forward(self, x, train=False, relu=False):
        """With ``relu`` the output is relu(conv(x)): the ReLU layer that follows fused in
        (``Network.forward``; that layer then only ``adopt``s the output)."""
        out, cache = self.backend.conv2d_forward(x, self._p("W"), self._p("b"),
                                                 self.spec.stride, self.spec.pad, relu)
        if train:
            self._cache = cache
        return out

    def backward(self, dout, relu_out=None):
        """With ``relu_out`` (the fused output), ``dout`` is the gradient of relu(conv(x))."""
        dx, dW, db = self.backend.conv2d_backward(dout, self._cache, self._p("W"),
                                                  self.spec.stride, self.spec.pad, self.need_dx,
                                                  relu_out)
        self.grads[f"{self.name}.W"] = dW
        self.grads[f"{self.name}.b"] = db
        self._cache = None
        return dx


class ReLULayer(Layer):
    kind = "ReLU"

    def forward(self, x, train=False):
        out = self.backend.relu_forward(x)
        if train:
            self._cache = out
        return out

    def adopt(self, out, train=False):
        """Take ``out`` = relu(x), computed by the layer before (fused), as this layer's
        output: backward then runs as if forward had computed it."""
        if train:
            self._cache = out
        return out

    def backward(self, dout):
        dx = self.backend.relu_backward(dout, self._cache)
        self._cache = None
        return dx

    def release(self):
        """Hand the kept output to the fused convolution's backward (which applies this
        layer's backward itself) and forget it."""
        out, self._cache = self._cache, None
        return out


class _Pool(Layer):
    def _stride(self):
        return self.spec.stride or self.spec.size


class MaxPool2D(_Pool):
    kind = "MaxPool2D"

    def forward(self, x, train=False):
        # inference keeps no argmax: nothing will call backward
        out, cache = self.backend.maxpool_forward(x, self.spec.size, self._stride(),
                                                  need_argmax=train)
        if train:
            self._cache = cache
        return out

    def backward(self, dout):
        dx = self.backend.maxpool_backward(dout, self._cache, self.spec.size, self._stride())
        self._cache = None
        return dx


class AvgPool2D(_Pool):
    kind = "AvgPool2D"

    def forward(self, x, train=False):
        out, cache = self.backend.avgpool_forward(x, self.spec.size, self._stride())
        if train:
            self._cache = cache
        return out

    def backward(self, dout):
        dx = self.backend.avgpool_backward(dout, self._cache, self.spec.size, self._stride())
        self._cache = None
        return dx


class FlattenLayer(Layer):
    kind = "Flatten"

    def forward(self, x, train=False):
        if train:
            self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._cache)


class DenseLayer(Layer):
    kind = "Dense"
    param_keys = ("W", "b")

    def forward(self, x, train=False):
        if train:
            self._cache = x
        return self.backend.dense_forward(x, self._p("W"), self._p("b"))

    def backward(self, dout):
        dx, dW, db = self.backend.dense_backward(dout, self._cache, self._p("W"), self.need_dx)
        self.grads[f"{self.name}.W"] = dW
        self.grads[f"{self.name}.b"] = db
        self._cache = None
        return dx


class DropoutLayer(Layer):
    """Inverted dropout: scales kept units by 1/(1-rate) in training, identity in eval."""

    kind = "Dropout"

    def __init__(self, *args, rng: np.random.Generator | None = None, **kw):
        super().__init__(*args, **kw)
        self.rng = rng or np.random.default_rng(0)

    def forward(self, x, train=False):
        rate = self.spec.rate
        if not train or rate == 0.0:
            if train:
                self._cache = None
            return x
        keep = (self.rng.random(x.shape, dtype=np.float32) >= rate).astype(np.float32)
        mask = self.backend.asarray(keep / np.float32(1.0 - rate))
        self._cache = mask
        return self.backend.dropout_apply(x, mask)

    def backward(self, dout):
        if self._cache is None:
            return dout
        dx = self.backend.dropout_apply(dout, self._cache)
        self._cache = None
        return dx


_LAYER_CLASSES = {
    models.Conv: Conv2D,
    models.ReLU: ReLULayer,
    models.MaxPool: MaxPool2D,
    models.AvgPool: AvgPool2D,
    models.Flatten: FlattenLayer,
    models.Dense: DenseLayer,
    models.Dropout: DropoutLayer,
}


def make_layer(name, spec, backend, params, grads, rng) -> Layer:
    cls = _LAYER_CLASSES[type(spec)]
    if cls is DropoutLayer:
        return cls(name, spec, backend, params, grads, rng=rng)
    return cls(name, spec, backend, params, grads)
