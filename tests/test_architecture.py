"""The shape of the code base: one error root, a Qt-free core, declared import contracts."""

import subprocess
import sys
from pathlib import Path

import drawcnn.errors as errors

ROOT = Path(__file__).resolve().parents[1]


def test_every_error_is_a_drawcnn_error():
    public = [v for v in vars(errors).values() if isinstance(v, type)
              and issubclass(v, Exception) and v.__module__ == errors.__name__]
    assert len(public) >= 10
    for cls in public:
        assert issubclass(cls, errors.DrawCNNError), cls
    assert issubclass(errors.DataError, errors.DrawCNNError)
    assert issubclass(errors.WeightsError, errors.DrawCNNError)


def test_core_imports_with_qt_absent():
    """reading, training and the error root import when PySide6/pyqtgraph cannot be found."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):\n"
        "            raise ImportError('Qt is absent here: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import drawcnn.errors, drawcnn.reading, drawcnn.training, drawcnn.engine, drawcnn.data\n"
        "assert not any(m.split('.')[0] in ('PySide6', 'pyqtgraph') for m in sys.modules)\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


def test_import_contracts_hold():
    res = subprocess.run([sys.executable, "-m", "importlinter.cli"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    if "No module named" in res.stderr:
        res = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "broken" not in res.stdout.split("Contracts:")[-1].replace("0 broken", "")
