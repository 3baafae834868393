#!/usr/bin/env bash
# Build the one-folder app from packaging/drawcnn.spec -> dist/drawcnn/ (Linux and macOS;
# on Windows run the same `python -m PyInstaller ...` line, see packaging/README.md).
#
#   packaging/build.sh            build (installs PyInstaller first if it is missing)
#   packaging/build.sh --check    build, then run the built app's --self-test offscreen
#
# PYTHON (default python), DRAWCNN_DIST (default dist) and DRAWCNN_WORK (default build)
# override the interpreter and the output folders. On a busy machine: nice -n 19 packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
DIST="${DRAWCNN_DIST:-dist}"
WORK="${DRAWCNN_WORK:-build}"

if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller not found: installing it (pip install 'pyinstaller>=6')"
    "$PY" -m pip install "pyinstaller>=6"
fi
if ! compgen -G "weights/*.npz" >/dev/null; then
    echo "warning: no weights/*.npz: the app will start with an untrained network" \
         "and --self-test will fail" >&2
fi

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/drawcnn.spec
echo "built $DIST/drawcnn in $(( $(date +%s) - start )) s ($(du -sh "$DIST/drawcnn" | cut -f1))"

if [[ "${1:-}" == "--check" ]]; then
    exe="$DIST/drawcnn/drawcnn"
    [[ -x "$exe" ]] || exe="$DIST/drawcnn/drawcnn.exe"
    QT_QPA_PLATFORM=offscreen "$exe" --self-test
fi
