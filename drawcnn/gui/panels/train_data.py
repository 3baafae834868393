"""The train dialog's data section: which dataset, is it on disk, download it or point at it.

A missing dataset is never a dead end: the panel says where it looked, offers a download with a
progress bar (cancellable; a clear message when offline) or a folder that holds the files.
"My drawings" shows how many labelled drawings exist and how they are mixed with MNIST.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...training import DATASET_CHOICES, MIN_DRAWINGS, TrainConfig
from ..workers import DownloadWorker, start_worker


class DataPanel(QWidget):
    #: How long closing waits for a cancelled download to stop; one that cannot (blocked on
    #: the network) ends with the process.
    stop_wait_ms = 5000
    changed = Signal()

    def __init__(self, store_getter, errors, parent=None):
        super().__init__(parent)
        self.setObjectName("train_data")
        self.store_getter = store_getter
        self.errors = errors  # reporting.ErrorReporter: the GUI's one error path
        self.data_dir: str | None = None
        self.ask_folder = self._ask_folder  # hook (tests)
        self.download_worker: DownloadWorker | None = None
        self.download_thread = None
        self._ready = False
        self.box = QComboBox()
        for key, title in DATASET_CHOICES.items():
            self.box.addItem(title, key)
        self.box.currentIndexChanged.connect(self.refresh)
        self.subset = QSpinBox(minimum=0, maximum=60000, value=0, singleStep=1000)
        self.subset.setSpecialValueText("all")
        self.subset.setToolTip("Train on the first N images only (quicker; 0 = all)")
        self.share = QDoubleSpinBox(minimum=0.1, maximum=0.8, value=0.35, singleStep=0.05,
                                    decimals=2)
        self.share.setToolTip("Expected share of your drawings in each batch: they are "
                              "repeated (oversampled) so the network learns them without "
                              "forgetting MNIST")
        self.status = QLabel()
        self.status.setObjectName("data_status")
        self.status.setWordWrap(True)
        self.download_btn = QPushButton("Download")
        self.folder_btn = QPushButton("Choose folder…")
        self.stop_btn = QPushButton("Stop download")
        self.bar = QProgressBar()
        self.bar.setObjectName("download_progress")
        self.download_btn.clicked.connect(self.download)
        self.folder_btn.clicked.connect(self.choose_folder)
        self.stop_btn.clicked.connect(self.stop_download)
        row = QHBoxLayout()
        row.addWidget(self.download_btn)
        row.addWidget(self.folder_btn)
        row.addWidget(self.stop_btn)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Dataset", self.box)
        form.addRow("Images", self.subset)
        self.share_label = QLabel("Drawings share")
        form.addRow(self.share_label, self.share)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addLayout(row)
        lay.addWidget(self.bar)
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def key(self) -> str:
        return self.box.currentData()

    def ready(self) -> bool:
        return self._ready and self.download_thread is None

    def set_dataset(self, key: str) -> None:
        self.box.setCurrentIndex(self.box.findData(key))

    def fill(self, cfg: TrainConfig) -> None:
        cfg.dataset, cfg.subset, cfg.data_dir = self.key, self.subset.value(), self.data_dir
        cfg.drawings_share = self.share.value()

    def refresh(self, *_) -> None:
        from ...data import dataset_status

        key = self.key
        cfg = TrainConfig(dataset=key)
        lines, ok, missing = [], True, False
        if cfg.uses_drawings:
            store = self.store_getter()
            n = len(store) if store is not None else 0
            ok = n >= MIN_DRAWINGS
            lines.append(f"{n} labelled drawings; 20% are held out for a before/after score."
                         if ok else f"{n} labelled drawings: teach at least {MIN_DRAWINGS} "
                         "(Model → Teach this drawing…) to train on them.")
        base = cfg.base_dataset
        if base:
            st = dataset_status(base, self.data_dir)
            if st.complete:
                lines.insert(0, f"{base}: found in {st.directory}")
            else:
                ok, missing = False, True
                lines.insert(0, f"<b>{base} is not on this computer.</b> Download it (about "
                             f"12-30 MB, into {st.download_to}) or choose a folder that holds "
                             "its four files.")
        self._ready = ok
        self.status.setText("<br>".join(lines))
        self.status.setToolTip("")
        self.download_btn.setVisible(missing)
        self.folder_btn.setVisible(bool(base))
        self.stop_btn.setVisible(self.download_thread is not None)
        self.bar.setVisible(self.download_thread is not None)
        self.subset.setEnabled(bool(base))
        mixed = bool(base) and cfg.uses_drawings
        self.share.setVisible(mixed)
        self.share_label.setVisible(mixed)
        self.changed.emit()

    # ------------------------------------------------------------------ folder / download
    def _ask_folder(self) -> str | None:
        path = QFileDialog.getExistingDirectory(self, "Folder holding the dataset files")
        return path or None

    def choose_folder(self, folder=None) -> bool:
        from ...data import dataset_status

        folder = folder or self.ask_folder()
        if not folder:
            return False
        base = TrainConfig(dataset=self.key).base_dataset or "mnist"
        st = dataset_status(base, folder)
        if not st.complete:
            self.errors.report("Dataset not found in that folder", str(st))
            return False
        self.data_dir = str(folder)
        self.refresh()
        return True

    def download(self) -> None:
        base = TrainConfig(dataset=self.key).base_dataset
        if not base or self.download_thread is not None:
            return
        self.download_worker = DownloadWorker(base, self.data_dir)
        self.download_worker.progress.connect(self._on_download_progress)
        self.download_worker.finished.connect(self._on_downloaded)
        self.download_worker.errored.connect(self._on_download_failed)
        self.bar.setRange(0, 0)
        self.download_thread = start_worker(self.download_worker)
        self.status.setText(f"Downloading {base}…")
        self.refresh()
        self.status.setText(f"Downloading {base}…")

    def stop_download(self) -> None:
        if self.download_worker is not None:
            self.download_worker.cancel()

    def _on_download_progress(self, done: int, total: int) -> None:
        scale = 1024  # keep the values inside an int32 progress bar
        self.bar.setRange(0, max(1, total // scale))
        self.bar.setValue(done // scale)
        self.bar.setFormat(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")

    def _end_download(self) -> None:
        if self.download_thread is not None:
            self.download_thread.wait(self.stop_wait_ms)
        self.download_thread = self.download_worker = None

    def _on_downloaded(self, folder: str) -> None:
        self._end_download()
        self.refresh()

    def _on_download_failed(self, message: str) -> None:
        self._end_download()
        self.refresh()
        self.status.setText(self.status.text() + "<br><b>Download failed</b> (see the message; "
                            "a partial download resumes next time).")
        self.errors.report("Download failed", message)

    def shutdown(self) -> None:
        if self.download_worker is not None:
            self.download_worker.cancel()
        self._end_download()
