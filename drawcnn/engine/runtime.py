"""Numba runtime set-up, done once before any kernel is compiled.

Why it exists:

- **Cache.** Numba writes ``cache=True`` kernels next to their modules by default. Into an
  installed package that is harmful: pip does not know those files, so ``pip uninstall`` (and
  the uninstall inside ``pip install -e .``) leaves ``site-packages/drawcnn`` behind as a
  folder of ``.nbi/.nbc`` files, which Python then imports as an empty namespace package that
  hides the editable install. So the cache stays next to the modules only in a writable source
  checkout; anywhere else (site-packages, a read-only folder, a frozen app) it goes to the user
  cache folder, and leftovers an older drawcnn wrote into the installed package are removed.
- **Threading layer.** Numba's thread-safe ``tbb`` layer loads ``libtbb.so.12`` by name. The
  ``tbb`` wheel puts it in ``<venv>/lib``, where the loader never looks, so a pip venv silently
  ran on ``omp``. We load it from there first (globally), so Numba finds it.
- **One lock** serialises parallel kernel launches whatever layer loads.

:func:`describe` gives the lines ``drawcnn --version`` and the About box show.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

#: the ``drawcnn`` package folder (``.../drawcnn``)
PACKAGE_ROOT = Path(__file__).resolve().parents[1]

_TBB_NAMES = {"win32": "tbb12.dll", "darwin": "libtbb.12.dylib"}
TBB_LIBRARY = _TBB_NAMES.get(sys.platform, "libtbb.so.12")


# ------------------------------------------------------------------------------ cache dir


def user_cache_dir() -> Path:
    """``<user cache folder>/drawcnn/numba`` (``~/.cache/drawcnn/numba`` on Linux)."""
    try:
        from platformdirs import user_cache_dir as _ucd

        return Path(_ucd("drawcnn", appauthor=False)) / "numba"
    except ImportError:  # platformdirs missing: fall back to ~/.cache
        return Path.home() / ".cache" / "drawcnn" / "numba"


def _install_dirs() -> list[Path]:
    dirs = set()
    for key in ("purelib", "platlib"):
        try:
            dirs.add(Path(sysconfig.get_paths()[key]).resolve())
        except (KeyError, OSError):
            pass
    return sorted(dirs)


def is_installed_package(package_root: Path = PACKAGE_ROOT) -> bool:
    """True when ``package_root`` lies in site-packages / dist-packages (an installed copy)."""
    root = Path(package_root).resolve()
    if any(part in ("site-packages", "dist-packages") for part in root.parts):
        return True
    return any(root.is_relative_to(d) for d in _install_dirs())


def is_source_checkout(package_root: Path = PACKAGE_ROOT) -> bool:
    """A writable project checkout (``pyproject.toml`` beside the package): ``pip install -e``
    or running from the source tree. Only there do Numba's caches stay next to the modules."""
    root = Path(package_root)
    return (
        not getattr(sys, "frozen", False)
        and not is_installed_package(root)
        and (root.parent / "pyproject.toml").is_file()
        and os.access(root, os.W_OK)
    )


def cache_decision(package_root: Path = PACKAGE_ROOT, env=None) -> tuple[Path | None, str]:
    """Where Numba's cache should go: ``(None, why)`` = next to the modules (Numba's default),
    else ``(folder, why)``. Pure: creates nothing."""
    env = os.environ if env is None else env
    if env.get("NUMBA_CACHE_DIR"):
        return Path(env["NUMBA_CACHE_DIR"]), "NUMBA_CACHE_DIR is set"
    if getattr(sys, "frozen", False):
        return user_cache_dir(), "frozen app: the bundle is never written to"
    if is_source_checkout(package_root):
        return None, "source checkout"
    if is_installed_package(package_root):
        return user_cache_dir(), "installed package: never written into site-packages"
    if not os.access(package_root, os.W_OK):
        return user_cache_dir(), "package folder is read-only"
    return user_cache_dir(), "not a source checkout: kept out of the package folder"


def stale_cache_files(package_root: Path = PACKAGE_ROOT) -> list[Path]:
    """Numba cache files (``*.nbi``/``*.nbc``) inside the package folder itself."""
    root = Path(package_root)
    return sorted(p for pattern in ("*.nbi", "*.nbc") for p in root.rglob(pattern))


def remove_stale_cache(package_root: Path = PACKAGE_ROOT) -> tuple[int, int]:
    """Delete Numba cache files an older drawcnn wrote into an installed package (they turn
    ``site-packages/drawcnn`` into a namespace package once pip uninstalls it). Returns
    ``(removed, left)``: ``left`` are files that could not be removed (read-only install)."""
    removed = left = 0
    for path in stale_cache_files(package_root):
        try:
            path.unlink()
            removed += 1
        except OSError:
            left += 1
    return removed, left


#: what :func:`_configure_cache_dir` decided: (folder or None, why, stale files removed, left)
CACHE_STATE: dict = {"dir": None, "why": "", "stale_removed": 0, "stale_left": 0}


def _configure_cache_dir() -> None:
    cache, why = cache_decision()
    if cache is None or os.environ.get("NUMBA_CACHE_DIR"):
        CACHE_STATE.update(dir=cache, why=why)
        return
    if not getattr(sys, "frozen", False):
        removed, left = remove_stale_cache()
        CACHE_STATE.update(stale_removed=removed, stale_left=left)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        # No writable user cache (e.g. no home): a temporary one. Without any writable
        # cache dir, Numba refuses cache=True kernels ("no locator available").
        try:
            cache = Path(tempfile.mkdtemp(prefix="drawcnn-numba-"))
            why += "; user cache folder not writable, using a temporary one"
        except OSError:
            CACHE_STATE.update(dir=None, why=why + "; no writable cache folder at all")
            return
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    if "numba" in sys.modules:  # imported before us: its config has read the env already
        sys.modules["numba"].config.CACHE_DIR = str(cache)
    CACHE_STATE.update(dir=cache, why=why)


# ------------------------------------------------------------------------------ TBB


def tbb_candidates() -> list[Path]:
    """Where a pip-installed TBB runtime lies: ``<prefix>/lib`` (venv or user base), or
    wherever the ``tbb`` distribution's file list puts it; a frozen app's bundle folder."""
    bases = [getattr(sys, "_MEIPASS", None), sys.prefix, sys.exec_prefix]
    try:
        import site

        bases.append(site.getuserbase())
    except (ImportError, AttributeError):
        pass
    found: list[Path] = []
    for base in filter(None, bases):
        for sub in ("", "lib", "Library/bin", "bin"):
            path = Path(base) / sub / TBB_LIBRARY
            if path.is_file() and path not in found:
                found.append(path)
    if not found:  # unusual layouts: ask the tbb distribution where it installed the library
        try:
            from importlib.metadata import PackageNotFoundError, files

            for f in files("tbb") or []:
                if f.name == TBB_LIBRARY:
                    path = Path(f.locate()).resolve()
                    if path.is_file():
                        found.append(path)
        except (ImportError, PackageNotFoundError):
            pass
    return found


#: how libtbb was made loadable: {"path": Path | None, "how": str}
TBB_STATE: dict = {"path": None, "how": "not looked for"}


def _preload_tbb() -> None:
    """Load TBB globally before Numba picks its threading layer, so ``CDLL("libtbb.so.12")``
    and the ``tbbpool`` extension find it."""
    mode = getattr(ctypes, "RTLD_GLOBAL", 0)
    for path in tbb_candidates():
        try:
            ctypes.CDLL(str(path), mode=mode)
        except OSError as exc:
            TBB_STATE.update(path=path, how=f"cannot load {path}: {exc}")
            continue
        where = "the app bundle" if getattr(sys, "frozen", False) else (
            "the venv" if sys.prefix != sys.base_prefix and path.is_relative_to(sys.prefix)
            else str(path.parent))
        TBB_STATE.update(path=path, how=f"{TBB_LIBRARY} from {where}")
        return
    try:
        ctypes.CDLL(TBB_LIBRARY, mode=mode)
        TBB_STATE.update(how=f"{TBB_LIBRARY} found by the system loader")
    except OSError:
        if TBB_STATE["path"] is None:
            TBB_STATE.update(how=f"tbb not found (no {TBB_LIBRARY}; pip install tbb)")


_configure_cache_dir()
_preload_tbb()

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is set and TBB is loaded)

# Thread-safe layers first; workqueue last (safe here only because of PARALLEL_LOCK).
numba.config.THREADING_LAYER_PRIORITY = ["tbb", "omp", "workqueue"]

#: Serialises launches of ``parallel=True`` kernels. Serial kernels (small batches, live
#: prediction) never take it, so the canvas keeps predicting while a training step runs.
PARALLEL_LOCK = threading.RLock()


def start_threads() -> None:
    """Make Numba choose and start its threading layer now (what the first parallel kernel
    would do), without compiling anything."""
    from numba.np.ufunc.parallel import _launch_threads

    _launch_threads()


def threading_layer(start: bool = False) -> str:
    """Name of the Numba threading layer in use ('not started' before the first parallel
    kernel, unless ``start``)."""
    if start:
        try:
            start_threads()
        except (ImportError, ValueError, RuntimeError):
            pass
    try:
        return numba.threading_layer()
    except ValueError:
        return "not started"


def _tbb_problem() -> str:
    try:
        from numba.np.ufunc import tbbpool  # noqa: F401
    except ImportError as exc:
        return str(exc).splitlines()[0]
    return "tbb loads, but another layer was chosen"


def threading_layer_report(start: bool = True) -> str:
    """Which threading layer runs the parallel kernels, and why: e.g. ``"tbb (libtbb.so.12 from
    the venv)"`` or ``"omp: tbb not found (no libtbb.so.12; pip install tbb)"``."""
    layer = threading_layer(start)
    forced = os.environ.get("NUMBA_THREADING_LAYER")
    if layer == "not started":
        return "not started yet (tries " + ", ".join(numba.config.THREADING_LAYER_PRIORITY) + ")"
    if layer == "tbb":
        return f"tbb ({TBB_STATE['how']})"
    if forced and forced.lower() not in ("default", "safe", "threadsafe"):
        return f"{layer}: set by NUMBA_THREADING_LAYER={forced}"
    how = TBB_STATE["how"]
    why = how if "not found" in how else f"tbb unusable ({_tbb_problem()})"
    if layer == "workqueue":
        return (f"workqueue: {why}, and no OpenMP runtime; parallel kernels run one at a time "
                "under a lock")
    return f"{layer}: {why}"


def cache_report() -> str:
    """Where compiled kernels are cached, and why there."""
    where = CACHE_STATE["dir"] or "next to the modules (__pycache__)"
    text = f"{where} ({CACHE_STATE['why']})"
    if CACHE_STATE["stale_removed"]:
        text += f"; removed {CACHE_STATE['stale_removed']} stale cache files from the package"
    if CACHE_STATE["stale_left"]:
        text += (f"; {CACHE_STATE['stale_left']} stale cache files left in {PACKAGE_ROOT} "
                 "(not writable): delete them before 'pip install -e'")
    return text


def describe(start: bool = True) -> list[str]:
    """``Numba`` lines for ``drawcnn --version`` and the About box."""
    return [
        f"numba {numba.__version__}, {num_threads()} threads",
        f"threading layer: {threading_layer_report(start)}",
        f"numba cache: {cache_report()}",
    ]


def num_threads() -> int:
    return numba.get_num_threads()
