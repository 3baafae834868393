"""The train dialog's right-hand side: live curves and first-layer filters while a run goes,
then the test accuracy, the comparison on the user's drawings and a clickable confusion
matrix once it has finished."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from .panels.confusion import ConfusionView
from .panels.training_curves import FilterView, TrainingCurves

PLACEHOLDER = ("<i>When training finishes: the test accuracy, and a confusion matrix you can "
               "click to see which images were mistaken for which digit.</i>")


def fmt_time(seconds: float) -> str:
    s = int(max(0, seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def first_conv(net):
    """The first convolution's weights (host NumPy), or None for a network without one."""
    for key, w in net.params.items():
        if key.endswith(".W") and len(w.shape) == 4:
            return net.backend.to_host(w)
    return None


def result_text(res) -> str:
    """The finished run in a few lines (HTML): test accuracy, drawings before/after, speed."""
    h, s = res.history, res.summary
    lines = [f"<b>Test accuracy: {res.test.accuracy:.2%}</b> ({s['test_images']:,} images)"]
    if h.best_val_accuracy is not None:
        lines.append(f"Best validation accuracy {h.best_val_accuracy:.2%} (epoch "
                     f"{h.best_epoch}); those weights are kept.")
    if res.drawings_before is not None:
        lines.append(f"<b>Your held-out drawings</b>: {res.drawings_before:.0%} before → "
                     f"<b>{res.drawings_after:.0%}</b> after ({s['drawings_holdout']} "
                     "drawings the training never saw)")
    lines.append(f"{s['train_images']:,} training images, {s['epochs']} epochs in "
                 f"{fmt_time(h.duration)} ({s['images_per_s'] or 0:,.0f} images/s, "
                 f"{s['backend']})")
    lines.append("<i>Use this network</i> to draw with it now; <i>Save…</i> to keep it.")
    return "<br><br>".join(lines)


class TrainView(QWidget):
    """Curves and filters on top; the summary and the confusion matrix below."""

    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.curves = TrainingCurves()
        self.filters = FilterView()
        self.filters.set_before(first_conv(net), f"the current {net.arch.name}")
        self.filters.clear_after()
        top = QWidget()
        tl = QHBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.curves, 3)
        tl.addWidget(self.filters, 2)
        self.summary = QLabel(PLACEHOLDER)
        self.summary.setObjectName("train_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.summary.setMinimumWidth(220)
        self.confusion = ConfusionView()
        self.confusion.setVisible(False)
        bottom = QWidget()
        bl = QHBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.summary, 1)
        bl.addWidget(self.confusion, 3)
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        self.split = split
        self._sizes(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def _sizes(self, result: bool) -> None:
        """Until a result exists the curves and filters get the room (no empty half)."""
        self.split.setSizes([330, 400] if result else [700, 40])

    def reset(self, epochs: int) -> None:
        self._sizes(False)
        self.curves.reset(epochs)
        self.confusion.setVisible(False)
        self.summary.setText(PLACEHOLDER)
        self.filters.clear_after()

    def preview(self, net, source: str) -> None:
        """The filters a run would start from (``net``: the current or a freshly built one,
        ``source`` says which)."""
        self.filters.set_before(first_conv(net), source)
        self.filters.clear_after()

    def add_batch(self, info) -> None:
        self.curves.add_batch(info)
        self.filters.set_filters(info.filters, "live, while training", label="Learning")

    def add_epoch(self, info) -> None:
        self.curves.add_epoch(info)

    def show_result(self, res) -> None:
        self._sizes(True)
        self.summary.setText(result_text(res))
        self.confusion.setVisible(True)
        self.confusion.set_result(res.test.confusion, res.test.predictions, res.x_test,
                                  res.y_test, res.class_names)
        self.filters.set_filters(first_conv(res.net), "after training", label="After")
