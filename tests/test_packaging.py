"""Packaging: the PyInstaller spec, desktop file and icons — and the built app, launched.

Two tiers:
- always (seconds, no PyInstaller): the spec's inputs exist and exclude what they should,
  drawcnn imports nothing the bundle leaves out, the .desktop file validates, the icons have
  the right sizes, and the frozen-app cache rule of ``engine/runtime.py`` holds.
- ``-m packaging`` with ``DRAWCNN_BUILD_BUNDLE=1`` (minutes): build the bundle with
  PyInstaller into a temporary folder, then launch it offscreen: ``--self-test`` must pass
  (twice: the second start loads Numba's cache from the user cache dir), from a copy made
  read-only too, and the window must start and keep running without a traceback.
  ``DRAWCNN_BUNDLE=dist/drawcnn`` launches an existing build instead of building one.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cfg = _load("drawcnn_bundle_config", PACKAGING / "bundle_config.py")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="uses XDG_CACHE_HOME to place the user cache dir")


# ---------------------------------------------------------------- always: spec and inputs


def test_every_path_the_spec_uses_exists():
    missing = [str(p) for p in cfg.referenced_paths() if not Path(p).is_file()]
    assert not missing


def test_spec_wires_the_config_into_pyinstaller():
    tree = ast.parse((PACKAGING / "drawcnn.spec").read_text(encoding="utf-8"))
    calls = {
        node.func.id: {kw.arg: ast.unparse(kw.value) for kw in node.keywords}
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    analysis = calls["Analysis"]
    assert analysis["excludes"] == "cfg.EXCLUDES"
    assert analysis["datas"] == "cfg.datas()"
    assert analysis["binaries"] == "cfg.tbb_binaries()"
    assert analysis["module_collection_mode"] == "cfg.MODULE_COLLECTION_MODE"
    assert "cfg.RUNTIME_HOOKS" in analysis["runtime_hooks"]
    assert "cfg.HIDDEN_IMPORTS" in ast.unparse(tree) and "collect_submodules" in ast.unparse(tree)
    assert calls["EXE"]["console"] == "False"
    assert calls["EXE"]["exclude_binaries"] == "True"  # one-folder build
    assert calls["COLLECT"]["name"] == "cfg.NAME"


def test_weights_and_icons_go_where_the_app_looks():
    from drawcnn import shipped

    dests = {Path(src).name: dest for src, dest in cfg.datas()}
    for npz in (ROOT / "weights").glob("*.npz"):
        assert dests[npz.name] == "drawcnn/weights"
    assert dests["drawcnn.png"] == dests["drawcnn.svg"] == "drawcnn/assets"
    # shipped.weights_dir() looks in sys._MEIPASS/drawcnn/weights when frozen
    assert '"drawcnn" / "weights"' in Path(shipped.__file__).read_text(encoding="utf-8")


def test_drawcnn_ships_as_source_so_numba_can_cache():
    assert cfg.MODULE_COLLECTION_MODE["drawcnn"] == "py"


def test_excludes_other_qt_bindings_and_big_unused_packages():
    ex = set(cfg.EXCLUDES)
    assert {"PyQt5", "PyQt6", "PySide2"} <= ex
    assert {"torch", "scipy", "matplotlib", "tkinter", "IPython"} <= ex
    for prefix in ("PySide6.QtWebEngine", "PySide6.Qt3D", "PySide6.QtMultimedia",
                   "PySide6.QtQuick", "PySide6.QtQml"):
        assert any(m.startswith(prefix) for m in ex), prefix
    for needed in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
                   "numba", "llvmlite", "numpy", "pyqtgraph", "PIL", "platformdirs"):
        assert needed not in ex


def test_numba_threading_layers_are_hidden_imports():
    for layer in ("tbbpool", "omppool", "workqueue"):
        assert f"numba.np.ufunc.{layer}" in cfg.HIDDEN_IMPORTS


def test_tbb_runtime_is_bundled_when_installed():
    try:
        from importlib.metadata import PackageNotFoundError, version

        version("tbb")
    except PackageNotFoundError:
        pytest.skip("tbb not installed")
    assert cfg.tbb_binaries(), "the tbb package is installed but its runtime was not found"


def _unguarded_imports(path: Path):
    """Top-level module names imported outside any try/except in one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for child in node.body:
                guarded.update(id(n) for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def test_drawcnn_imports_nothing_the_bundle_excludes():
    """A new ``from PySide6 import QtQml`` (say) would build fine and crash when frozen."""
    excluded = set(cfg.EXCLUDES)
    bad = []
    for path in sorted((ROOT / "drawcnn").rglob("*.py")):
        if path.name in ("bench.py", "bench_layers.py"):  # torch: the optional comparison
            continue
        for name in _unguarded_imports(path):
            parts = name.split(".")
            if any(".".join(parts[: i + 1]) in excluded for i in range(len(parts))):
                bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert not bad


_IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import drawcnn
for m in pkgutil.walk_packages(drawcnn.__path__, "drawcnn."):
    if m.name != "drawcnn.__main__":
        try:
            importlib.import_module(m.name)
        except ImportError:
            pass  # e.g. the CUDA backend without numba-cuda: not this test's business
from PySide6.QtWidgets import QApplication
from drawcnn.gui import create_window
w = create_window()
w.show()
for _ in range(10):
    QApplication.processEvents()
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.gui
def test_running_app_imports_nothing_the_bundle_excludes(tmp_path):
    """Import every drawcnn module and open the window: what gets imported must be bundled.

    pyqtgraph importing ``PySide6.QtOpenGL`` unguarded, say, would build fine and then stop
    the frozen app with ModuleNotFoundError. Known optional imports are listed in the config.
    """
    import json

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "XDG_CONFIG_HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", _IMPORT_EVERYTHING], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    modules = json.loads(res.stdout.strip().splitlines()[-1])
    excluded = set(cfg.EXCLUDES) - set(cfg.OPTIONAL_EXCLUDED_IMPORTS)
    bad = [m for m in modules
           if any(m == e or m.startswith(e + ".") for e in excluded)]
    assert not bad


# ---------------------------------------------------------------- always: desktop file, icons


def test_desktop_file():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(cfg.DESKTOP_FILE, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Categories"] == "Education;Science;Qt;"
    assert entry["Icon"] == "drawcnn" and entry["Exec"].split()[0] == "drawcnn"
    assert entry["Terminal"] == "false"
    validator = shutil.which("desktop-file-validate")
    if validator:
        res = subprocess.run([validator, str(cfg.DESKTOP_FILE)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("size", cfg.ICON_SIZES)
def test_icon_png_sizes(size):
    assert _png_size(PACKAGING / "icons" / f"drawcnn-{size}.png") == (size, size)


def test_window_icon_assets_match_the_packaging_icon():
    assets = ROOT / "drawcnn" / "assets"
    assert _png_size(assets / "drawcnn.png") == (256, 256)
    assert (assets / "drawcnn.png").read_bytes() == cfg.ICON_PNG.read_bytes()
    assert (assets / "drawcnn.svg").read_bytes() == cfg.ICON_SVG.read_bytes()
    import xml.etree.ElementTree as ET

    root = ET.parse(cfg.ICON_SVG).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"


# ---------------------------------------------------------------- always: frozen-app behaviour


def test_self_test_report_option_is_split_off():
    entry = _load("drawcnn_frozen_main", cfg.ENTRY)
    assert entry._take_report_path(["--self-test", "--self-test-report", "r.txt"]) == (
        ["--self-test"], "r.txt")
    assert entry._take_report_path(["--self-test-report=a b.txt", "--self-test"]) == (
        ["--self-test"], "a b.txt")
    assert entry._take_report_path(["--weights", "x.npz"]) == (["--weights", "x.npz"], None)


@linux_only
def test_frozen_app_puts_numba_cache_in_user_cache_dir(tmp_path):
    """engine/runtime.py: when sys.frozen, NUMBA_CACHE_DIR -> <user cache>/drawcnn/numba."""
    code = (
        "import sys, os; sys.frozen = True\n"
        "import drawcnn.engine.runtime, numba\n"
        "print(os.environ['NUMBA_CACHE_DIR']); print(numba.config.CACHE_DIR)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1] == str(tmp_path / "drawcnn" / "numba")
    assert Path(out[0]).is_dir()


@linux_only
def test_frozen_app_without_writable_user_cache_uses_a_temp_dir(tmp_path):
    """No writable home: Numba would refuse ``cache=True`` kernels, so use a temp cache dir."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    code = (
        "import sys, os, tempfile; sys.frozen = True\n"
        "import drawcnn.engine.runtime\n"
        "d = os.environ.get('NUMBA_CACHE_DIR', '')\n"
        "print(d.startswith(tempfile.gettempdir()) and os.path.isdir(d))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(blocker / "cache"), HOME=str(blocker), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "True", res.stdout + res.stderr


# ---------------------------------------------------------------- opt-in: build and launch


def _bundle_wanted() -> bool:
    return os.environ.get("DRAWCNN_BUILD_BUNDLE") == "1" or bool(os.environ.get("DRAWCNN_BUNDLE"))


needs_bundle = pytest.mark.skipif(
    not _bundle_wanted(),
    reason="set DRAWCNN_BUILD_BUNDLE=1 to build the PyInstaller bundle (minutes), "
    "or DRAWCNN_BUNDLE=dist/drawcnn to launch an existing build",
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The built one-folder app (built here, into a temporary folder, unless given)."""
    given = os.environ.get("DRAWCNN_BUNDLE")
    if given:
        folder = Path(given).resolve()
        assert folder.is_dir(), given
        return folder
    pytest.importorskip("PyInstaller", reason="pip install -e '.[package]'")
    if not any((ROOT / "weights").glob("*.npz")):
        pytest.skip("no shipped weights in weights/: the built app's --self-test would fail")
    out = tmp_path_factory.mktemp("bundle")
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"),
         str(PACKAGING / "drawcnn.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-6000:]
    print(f"built in {time.perf_counter() - t0:.0f} s")
    return out / "dist" / "drawcnn"


def _exe(folder: Path) -> Path:
    exe = folder / ("drawcnn.exe" if sys.platform == "win32" else "drawcnn")
    assert exe.is_file(), exe
    return exe


def _env(cache_home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "PYTHONHOME")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(cache_home),
               LOCALAPPDATA=str(cache_home), HOME=os.environ.get("HOME", str(cache_home)))
    return env


def _self_test(exe: Path, env: dict, cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run([str(exe), "--self-test"], env=env, cwd=cwd, capture_output=True,
                         text=True, timeout=600)
    wall = time.perf_counter() - t0
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "self-test passed" in out and "Traceback" not in out, out
    return wall, out


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.packaging
@needs_bundle
def test_built_app_self_test_and_numba_cache(bundle, tmp_path):
    """Self-test passes; the second start loads compiled kernels from the user cache dir."""
    before = _snapshot(bundle)
    env = _env(tmp_path / "cache")
    first, out = _self_test(_exe(bundle), env, tmp_path)
    cache = tmp_path / "cache" / "drawcnn" / "numba"
    if sys.platform.startswith("linux"):
        assert list(cache.rglob("*.nbi")), f"no Numba cache index in {cache}"
        assert list(cache.rglob("*.nbc")), f"no Numba cache data in {cache}"
    if cfg.tbb_binaries():
        assert "threading layer tbb" in out, out
    second, _ = _self_test(_exe(bundle), env, tmp_path)
    print(f"self-test wall time: first {first:.1f} s, second {second:.1f} s")
    assert second < first, (first, second)
    assert _snapshot(bundle) == before, "the app wrote into its own install folder"


@pytest.mark.packaging
@needs_bundle
def test_built_app_runs_from_a_read_only_copy(bundle, tmp_path):
    copy = tmp_path / "ro" / "drawcnn"
    shutil.copytree(bundle, copy, symlinks=True)
    for p in [copy, *copy.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        _self_test(_exe(copy), _env(tmp_path / "cache"), tmp_path)
    finally:
        for p in [copy, *copy.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.mark.packaging
@needs_bundle
def test_built_app_window_starts(bundle, tmp_path):
    """No arguments: the GUI. Offscreen it must keep running without a traceback, and (Linux)
    its background warm-up must run the network: Numba's cache appears in the user cache dir.
    """
    env = _env(tmp_path / "cache")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # do not touch the user's settings
    cache = tmp_path / "cache" / "drawcnn" / "numba"
    want_cache = sys.platform.startswith("linux")
    min_s = float(os.environ.get("DRAWCNN_GUI_SECONDS", "8"))
    proc = subprocess.Popen([str(_exe(bundle))], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    try:
        while proc.poll() is None:
            elapsed = time.perf_counter() - t0
            warmed = not want_cache or any(cache.rglob("*.nbi"))
            if elapsed >= min_s and warmed or elapsed > 300:
                break
            time.sleep(0.5)
        else:
            out, err = proc.communicate()
            pytest.fail(f"the app exited early with code {proc.returncode}:\n{out}\n{err}")
    finally:
        if proc.poll() is None:
            proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "cannot start the app" not in err, err
    assert warmed, f"after {elapsed:.0f} s the window had compiled no kernels into {cache}"
