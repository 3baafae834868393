"""The op suite (tests/ops_suite.py) on the CUDA backend: tiny shapes only (the simulator
runs every CUDA thread as a Python thread)."""

import pytest

from tests.ops_suite import *  # noqa: F403  (the suite's tests, fixtures and parametrisation)

pytestmark = pytest.mark.cuda

BACKENDS = ["cuda"]
BIG = False
