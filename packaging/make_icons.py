"""Render packaging/icons/drawcnn.svg to the PNG sizes the desktop and PyInstaller need.

    python packaging/make_icons.py          # writes packaging/icons/drawcnn-<N>.png,
                                            # drawcnn/assets/drawcnn.{png,svg} (256 px)

Uses PySide6's QSvgRenderer (part of PySide6-Essentials); no display needed (offscreen).
Run it again after editing the SVG and commit the PNGs: the build does not re-render them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SVG = HERE / "icons" / "drawcnn.svg"
SIZES = (16, 32, 48, 64, 128, 256)
ASSETS = ROOT / "drawcnn" / "assets"


def png_path(size: int) -> Path:
    return HERE / "icons" / f"drawcnn-{size}.png"


def render(size: int):
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise RuntimeError(f"QSvgRenderer cannot read {SVG}")
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return img


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    for size in SIZES:
        out = png_path(size)
        if not render(size).save(str(out), "PNG"):
            raise RuntimeError(f"could not write {out}")
        print(f"wrote {out.relative_to(ROOT)}")
    shutil.copyfile(png_path(256), ASSETS / "drawcnn.png")
    shutil.copyfile(SVG, ASSETS / "drawcnn.svg")
    print(f"copied 256 px PNG and SVG to {ASSETS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
