"""What goes into the PyInstaller bundle: the data the spec uses, kept importable for tests.

``drawcnn.spec`` imports this module; ``tests/test_packaging.py`` checks the same values
(every path exists, the other Qt bindings and big unused packages are excluded, Numba's
threading layers are hidden imports) without running PyInstaller. Nothing here imports
PyInstaller, Qt or Numba.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent

NAME = "drawcnn"
ENTRY = PACKAGING / "drawcnn_main.py"
RUNTIME_HOOKS = [PACKAGING / "rthook_drawcnn.py"]
ICON_SVG = PACKAGING / "icons" / "drawcnn.svg"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
ICON_PNG = PACKAGING / "icons" / "drawcnn-256.png"  # PyInstaller turns it into .ico / .icns
DESKTOP_FILE = PACKAGING / "drawcnn.desktop"
WEIGHTS_SRC = ROOT / "weights"
ASSETS_SRC = ROOT / "drawcnn" / "assets"

#: drawcnn ships as .py source files, not inside the PYZ archive. Numba's ``cache=True`` needs
#: a function's source file to exist on disk (``inspect.getfile`` -> ``os.path.exists``); from
#: the PYZ it would see a relative, non-existent path and ignore ``NUMBA_CACHE_DIR``.
MODULE_COLLECTION_MODE = {"drawcnn": "py"}

#: Numba picks a threading layer at run time by importing one of these extension modules.
NUMBA_THREADING_LAYERS = [
    "numba.np.ufunc.tbbpool",
    "numba.np.ufunc.omppool",
    "numba.np.ufunc.workqueue",
]

#: Imported by name at run time, so PyInstaller's import scan cannot see them (the spec also
#: adds every drawcnn submodule with collect_submodules).
HIDDEN_IMPORTS = NUMBA_THREADING_LAYERS + [
    "platformdirs",
    "PIL.Image",
]

OTHER_QT_BINDINGS = ["PyQt5", "PyQt6", "PySide2", "shiboken2", "sip"]

#: PySide6 modules drawcnn and pyqtgraph do not use. pyqtgraph imports QtOpenGL at import
#: time, so QtOpenGL and QtOpenGLWidgets stay; QtSvg stays for the SVG icon engine.
UNUSED_QT_MODULES = [
    f"PySide6.{m}"
    for m in (
        "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
        "QtBluetooth", "QtCharts", "QtConcurrent", "QtDataVisualization", "QtDesigner",
        "QtGraphs", "QtGraphsWidgets", "QtHelp", "QtHttpServer", "QtLocation", "QtMultimedia",
        "QtMultimediaWidgets", "QtNetworkAuth", "QtNfc", "QtPdf",
        "QtPdfWidgets", "QtPositioning", "QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2",
        "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors",
        "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtTest",
        "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore", "QtWebEngineQuick",
        "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
    )
]

#: Packages that may be installed beside drawcnn but must not be dragged in. Numba tries
#: scipy, yaml and cffi inside try/except; torch is ``drawcnn bench``'s optional comparison.
UNUSED_PACKAGES = [
    "torch", "torchvision", "scipy", "matplotlib", "pandas", "tkinter", "_tkinter",
    "IPython", "jupyter_client", "ipykernel", "notebook", "pytest", "_pytest", "pytestqt",
    "setuptools", "pkg_resources", "pip", "numba_cuda", "cupy", "OpenGL",
    "pyqtgraph.opengl", "pyqtgraph.examples", "pyqtgraph.jupyter", "numpy.f2py", "yaml", "cffi",
    "pycparser",
]

EXCLUDES = OTHER_QT_BINDINGS + UNUSED_QT_MODULES + UNUSED_PACKAGES

#: Excluded modules that do get imported when running from source, each inside try/except
#: by the importer, so the frozen app works without them (checked by the tests).
OPTIONAL_EXCLUDED_IMPORTS = {
    "scipy": "numba/__init__.py: optional version check",
    "PySide6.QtTest": "pyqtgraph/Qt/__init__.py: optional",
    "torch": "drawcnn/cli/bench.py, bench_layers.py: optional PyTorch comparison",
    "yaml": "numba/core/config.py: optional .numba_config.yaml support",
}


def datas() -> list[tuple[str, str]]:
    """(source, folder in the bundle): the shipped weights and the icons.

    ``drawcnn.shipped.weights_dir()`` looks in ``sys._MEIPASS/drawcnn/weights`` when frozen.
    """
    out = [(str(p), "drawcnn/weights") for p in sorted(WEIGHTS_SRC.glob("*.npz"))]
    out += [(str(p), "drawcnn/assets") for p in sorted(ASSETS_SRC.glob("*.png"))]
    out += [(str(p), "drawcnn/assets") for p in sorted(ASSETS_SRC.glob("*.svg"))]
    return out


def _tbb_library_names() -> tuple[str, ...]:
    if sys.platform == "win32":
        return ("tbb12.dll",)
    if sys.platform == "darwin":
        return ("libtbb.12.dylib",)
    return ("libtbb.so.12",)


def tbb_binaries() -> list[tuple[str, str]]:
    """The TBB runtime from the ``tbb`` wheel, put at the top of the bundle.

    The wheel installs it outside site-packages (``<prefix>/lib``), where a plain interpreter
    finds it but a frozen app does not; without it Numba falls back to ``omp``/``workqueue``.
    Empty when the ``tbb`` package is not installed.
    """
    try:
        files = metadata.files("tbb") or []
    except metadata.PackageNotFoundError:
        return []
    wanted = _tbb_library_names()
    found = []
    for f in files:
        if Path(str(f)).name in wanted:
            path = Path(f.locate()).resolve()
            if path.is_file():
                found.append((str(path), "."))
    return found


def make_world_readable(folder: Path) -> int:
    """chmod a+r every file (a+rx every folder) under ``folder``; returns how many changed.

    PyInstaller keeps each collected file's mode, and ``drawcnn train`` writes weights with
    mkstemp's 0600: installed system-wide, other users could not read the shipped networks.
    """
    import stat

    changed = 0
    for p in [Path(folder), *Path(folder).rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        want = mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if p.is_dir():
            want |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        if want != mode:
            p.chmod(want)
            changed += 1
    return changed


def referenced_paths() -> list[Path]:
    """Every file the spec needs to exist (tests check them)."""
    return [ENTRY, *RUNTIME_HOOKS, ICON_SVG, ICON_PNG, DESKTOP_FILE] + [
        Path(src) for src, _ in datas() + tbb_binaries()
    ]
