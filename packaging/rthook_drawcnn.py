"""PyInstaller runtime hook: runs inside the frozen app before drawcnn is imported.

Numba's ``tbb`` threading layer loads the TBB runtime by name (``CDLL("libtbb.so.12")``) and
its ``tbbpool`` extension links to it without an rpath. A plain interpreter finds it in
``<prefix>/lib``; the frozen app would not, and would silently fall back to a slower or less
thread-safe layer. Load it once from the bundle, globally, so both lookups find it.
"""

import ctypes
import os
import sys

_names = {"win32": "tbb12.dll", "darwin": "libtbb.12.dylib"}
_path = os.path.join(getattr(sys, "_MEIPASS", ""), _names.get(sys.platform, "libtbb.so.12"))
if os.path.isfile(_path):
    try:
        ctypes.CDLL(_path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
    except OSError:
        pass  # Numba reports which threading layer it ends up with (drawcnn --self-test)
