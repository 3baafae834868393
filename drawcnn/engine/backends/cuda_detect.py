"""Finding a usable CUDA GPU: ``create_backend()`` is how a CUDA backend is made.

It imports numba.cuda (NVIDIA's numba-cuda if installed, else the deprecated copy inside
numba), checks the driver and the device, then compiles and launches a probe kernel, and
raises BackendUnavailable with a sentence saying what is missing. Under
NUMBA_ENABLE_CUDASIM=1 the same code runs in Numba's simulator (kernels as Python threads:
correct, very slow; tests use tiny shapes).
"""

from __future__ import annotations

import numpy as np

from ...errors import BackendUnavailable
from .cuda import CudaBackend

_INSTALL_HINT = 'install the CUDA extra: pip install "drawcnn[cuda]"'


def _import_cuda():
    try:
        import numba.cuda as cuda
    except Exception as exc:  # ImportError, or a broken numba-cuda install
        raise BackendUnavailable(f"numba.cuda cannot be imported ({type(exc).__name__}: "
                                 f"{exc}); {_INSTALL_HINT}") from exc
    return cuda


def _driver_reason(cuda) -> str | None:
    """None when a driver, a device and NVVM are there, else why not."""
    try:
        if cuda.is_available():
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"CUDA initialisation failed ({type(exc).__name__}: {exc})"
    err = cuda.cuda_error() if hasattr(cuda, "cuda_error") else None
    if err:
        text = " ".join(str(err).split())
        low = text.lower()
        if "cannot be found" in low or "not found" in low or "no such file" in low:
            return f"no NVIDIA driver found ({text})"
        return f"the NVIDIA driver failed to initialise ({text})"
    try:
        n_dev = len(cuda.list_devices())
    except Exception as exc:  # pragma: no cover
        return f"cannot list CUDA devices ({type(exc).__name__}: {exc})"
    if n_dev == 0:
        return "no CUDA GPU found (the NVIDIA driver loaded but reports no device)"
    return ("NVVM, the CUDA compiler library, was not found: install the CUDA toolkit or "
            "pip install \"numba-cuda[cu12]\"")  # pragma: no cover - needs a GPU


def _device_name(cuda, simulator: bool) -> str:
    if simulator:
        return "the Numba CUDA simulator"
    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        return f"{name} (compute capability {dev.compute_capability[0]}."\
               f"{dev.compute_capability[1]})"
    except Exception:  # pragma: no cover
        return "a CUDA GPU"


def create_backend() -> CudaBackend:
    """A working CUDA backend, or BackendUnavailable saying why there is none."""
    cuda = _import_cuda()
    try:
        from . import cuda_gemm as G
        from . import cuda_kernels as K
    except BackendUnavailable:
        raise
    except Exception as exc:
        raise BackendUnavailable(f"the CUDA kernels cannot be loaded ({type(exc).__name__}: "
                                 f"{exc})") from exc
    if not K.SIMULATOR:
        reason = _driver_reason(cuda)
        if reason is not None:
            raise BackendUnavailable(reason)
    try:  # compile + launch one tiny kernel: catches missing NVVM/libdevice, old drivers
        out = cuda.device_array(32, dtype=np.float32)
        K.probe[1, 32](out)
        got = out.copy_to_host()
    except Exception as exc:
        msg = " ".join(str(exc).split())[:300]
        raise BackendUnavailable(f"a CUDA kernel failed to compile or launch "
                                 f"({type(exc).__name__}: {msg})") from exc
    if not np.array_equal(got, 2 * np.arange(32, dtype=np.float32)):
        raise BackendUnavailable("the CUDA probe kernel returned wrong results")
    return CudaBackend(cuda, K, G, _device_name(cuda, K.SIMULATOR))
