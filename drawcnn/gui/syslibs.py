"""Before Qt starts on Linux: are the system libraries its platform plugin needs there?

PySide6 wheels bundle Qt but not the X11/xcb libraries of the system. When one is missing,
Qt's xcb plugin fails to load and Qt aborts the process (exit 134) naming at most one of
them (``libxcb-cursor0``), even when the missing ones are others (``libxcb-icccm4``,
``libxcb-keysyms1``). :func:`check_system_libraries` tries to load each with the dynamic
loader (``ctypes.CDLL``) first, and prints the exact install command for Debian/Ubuntu,
Fedora and Arch instead. Standard library only: it runs before anything imports Qt (QtGui
itself needs libGL, libEGL, fontconfig, ... to import).

The list is ``readelf -d`` of PySide6 6.11's ``plugins/platforms/libqxcb.so``,
``lib/libQt6XcbQpa.so.6`` and ``lib/libQt6Gui.so.6`` minus Qt's own libraries and glibc;
``tests/test_install.py`` re-reads the installed plugin and fails if it needs one not listed.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    apt: str  # Debian / Ubuntu package
    dnf: str  # Fedora / RHEL package
    pacman: str  # Arch package


def _lib(soname, apt, dnf, pacman) -> SystemLibrary:
    return SystemLibrary(soname, apt, dnf, pacman)


#: Libraries QtGui needs whatever the platform plugin (xcb, wayland, offscreen).
QTGUI_LIBRARIES = (
    _lib("libGL.so.1", "libgl1", "libglvnd-glx", "libglvnd"),
    _lib("libEGL.so.1", "libegl1", "libglvnd-egl", "libglvnd"),
    _lib("libfontconfig.so.1", "libfontconfig1", "fontconfig", "fontconfig"),
    _lib("libfreetype.so.6", "libfreetype6", "freetype", "freetype2"),
    _lib("libglib-2.0.so.0", "libglib2.0-0", "glib2", "glib2"),
    _lib("libgthread-2.0.so.0", "libglib2.0-0", "glib2", "glib2"),
    _lib("libdbus-1.so.3", "libdbus-1-3", "dbus-libs", "dbus"),
    _lib("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    _lib("libX11.so.6", "libx11-6", "libX11", "libx11"),
)

#: Libraries Qt 6's xcb platform plugin (the X11 window) needs on top.
XCB_LIBRARIES = (
    _lib("libxcb.so.1", "libxcb1", "libxcb", "libxcb"),
    _lib("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb", "libx11"),
    _lib("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    _lib("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    _lib("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    _lib("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    _lib("libxcb-image.so.0", "libxcb-image0", "xcb-util-image", "xcb-util-image"),
    _lib("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil",
         "xcb-util-renderutil"),
    _lib("libxcb-util.so.1", "libxcb-util1", "xcb-util", "xcb-util"),
    _lib("libxcb-randr.so.0", "libxcb-randr0", "libxcb", "libxcb"),
    _lib("libxcb-render.so.0", "libxcb-render0", "libxcb", "libxcb"),
    _lib("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb"),
    _lib("libxcb-shm.so.0", "libxcb-shm0", "libxcb", "libxcb"),
    _lib("libxcb-sync.so.1", "libxcb-sync1", "libxcb", "libxcb"),
    _lib("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb", "libxcb"),
    _lib("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb", "libxcb"),
)


def uses_xcb(env: Mapping[str, str] | None = None) -> bool:
    """Will Qt try the xcb (X11) plugin first? Yes when ``QT_QPA_PLATFORM`` names xcb first,
    or is unset outside a Wayland session (there Qt 6 tries its wayland plugin first)."""
    env = os.environ if env is None else env
    wanted = env.get("QT_QPA_PLATFORM", "").strip()
    if wanted:
        return wanted.split(";")[0].split(":")[0].strip() == "xcb"
    return not (env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland")


def needed_libraries(env: Mapping[str, str] | None = None) -> tuple[SystemLibrary, ...]:
    return QTGUI_LIBRARIES + (XCB_LIBRARIES if uses_xcb(env) else ())


def _load(soname: str):
    """The dynamic loader's search; in a frozen app, also the bundle folder (PyInstaller
    may have collected a library the system lacks)."""
    try:
        return ctypes.CDLL(soname)
    except OSError:
        bundle = getattr(sys, "_MEIPASS", None)
        if bundle and os.path.isfile(os.path.join(bundle, soname)):
            return ctypes.CDLL(os.path.join(bundle, soname))
        raise


def missing_libraries(
    loader: Callable[[str], object] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[SystemLibrary]:
    """The needed libraries ``loader(soname)`` cannot load (it raises ``OSError``; default:
    ``ctypes.CDLL``, the dynamic loader's own search)."""
    loader = loader or _load
    missing = []
    for lib in needed_libraries(env):
        try:
            loader(lib.soname)
        except OSError:
            missing.append(lib)
    return missing


def _unique(names) -> list[str]:
    return list(dict.fromkeys(names))


def install_commands(missing: list[SystemLibrary]) -> dict[str, str]:
    """``{"Debian/Ubuntu": "sudo apt install ...", "Fedora": ..., "Arch": ...}``."""
    return {
        "Debian/Ubuntu": "sudo apt install " + " ".join(_unique(m.apt for m in missing)),
        "Fedora/RHEL": "sudo dnf install " + " ".join(_unique(m.dnf for m in missing)),
        "Arch": "sudo pacman -S --needed " + " ".join(_unique(m.pacman for m in missing)),
    }


def all_apt_packages() -> str:
    """Every Debian/Ubuntu package the window needs (the README's list)."""
    return " ".join(_unique(m.apt for m in QTGUI_LIBRARIES + XCB_LIBRARIES))


def problem_text(missing: list[SystemLibrary], env: Mapping[str, str] | None = None) -> str:
    """What to tell the user when ``missing`` is not empty (several lines)."""
    lines = [
        "drawcnn: cannot open the window: Qt needs system libraries that are not installed:",
        "  " + ", ".join(m.soname for m in missing),
        "Install them, then start drawcnn again:",
    ]
    lines += [f"  {distro + ':':15}{cmd}" for distro, cmd in install_commands(missing).items()]
    lines.append("(Without a window, 'drawcnn --self-test', 'drawcnn predict' and "
                 "'drawcnn train' work as they are.)")
    return "\n".join(lines)


def check_system_libraries(
    loader: Callable[[str], object] | None = None,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    out=None,
    connect: Callable[[str], bool] | None = None,
) -> bool:
    """True when Qt can start here; else prints why and how to fix it and returns False.

    Only Linux is checked (Windows and macOS wheels carry everything Qt needs): the
    libraries (``loader``, default ``ctypes.CDLL``), then, for xcb, that the X display can be
    reached (``connect(display)``, default :func:`x_display_reachable`)."""
    env = os.environ if env is None else env
    out = out or sys.stderr
    if not (platform or sys.platform).startswith("linux"):
        return True
    missing = missing_libraries(loader, env)
    if missing:
        print(problem_text(missing, env), file=out)
        return False
    if not uses_xcb(env):
        return True
    display = env.get("DISPLAY")
    problem = ("no X display (DISPLAY is not set)" if not display else
               None if (connect or x_display_reachable)(display) else
               f"cannot connect to the X display {display!r}")
    if problem:
        print(f"drawcnn: cannot open the window: {problem}. Start it from a desktop session "
              "(or 'ssh -X'); without a window, 'drawcnn --self-test', 'drawcnn predict' and "
              "'drawcnn train' work.", file=out)
        return False
    return True


#: (libxcb, connection, display) of the last successful probe, held open until Qt has its own
#: connection: a bare X server (Xvfb, xvfb-run) resets itself when its last client leaves,
#: and a Qt connecting during that reset fails and aborts.
_PROBE: list = []


def x_display_reachable(display: str) -> bool:
    """Can libxcb connect to ``display``? (What Qt's xcb plugin does first; when it cannot,
    Qt aborts the process.) The connection stays open until :func:`release_display_probe`."""
    if _PROBE and _PROBE[2] == display:
        return True
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return False
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    if conn is None:
        return False
    if xcb.xcb_connection_has_error(conn) != 0:
        xcb.xcb_disconnect(conn)
        return False
    release_display_probe()
    _PROBE[:] = [xcb, conn, display]
    return True


def release_display_probe() -> None:
    """Close the probe's X connection (call once the QApplication exists)."""
    if _PROBE:
        xcb, conn, _ = _PROBE
        _PROBE.clear()
        xcb.xcb_disconnect(conn)
