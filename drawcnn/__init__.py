"""drawcnn: draw a digit, watch a Numba CNN see it."""

__version__ = "0.1.0"
