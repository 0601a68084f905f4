"""Data tab: explore any data source (MNIST, a Kaggle CSV, an image folder, my samples): samples
of each digit, class distribution, pixel intensities, mean images, and paged browsing with labels.

Loading and the statistics (core ``explore``) run on a worker thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QScrollArea, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from digitdesk.core.data import Split
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.gallery import DigitGallery
from digitdesk.gui.widgets.qimage import array_to_pixmap
from digitdesk.gui.widgets.plots import DataCharts
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.workers.threads import TaskRunner

SOURCES = {"mnist-train": "MNIST training set", "mnist-test": "MNIST test set", "csv": "Kaggle CSV",
           "folder": "Folder of labelled images", "samples": "My samples"}
PER_CLASS = 10  # samples per digit in the overview grid
PAGE = 120  # digits per page when browsing
GRID_SCALE = 1.5


@dataclass
class Exploration:
    """A loaded data source and its statistics (plain data, made on a worker thread)."""

    source: str
    split: Split
    summary: dict
    counts: np.ndarray | None
    means: np.ndarray | None
    hist: tuple[np.ndarray, np.ndarray]
    grid: np.ndarray | None
    skipped: list[str] = field(default_factory=list)


def explore_source(source: str, path: str | None = None, samples_root: str | None = None,
                   download: bool = True) -> Exploration:
    """Load ``source`` and compute what the Data tab shows (MNIST is downloaded if it is not on
    this machine, unless ``download`` is false)."""
    from digitdesk.core import explore
    from digitdesk.core.data import load_kaggle_csv, load_image_folder, load_mnist
    from digitdesk.core.errors import DataError
    from digitdesk.core.samples import SampleStore

    skipped: list[str] = []
    if source in ("mnist-train", "mnist-test"):
        ds = load_mnist(download=download)
        split = ds.train if source == "mnist-train" else ds.test
        name = SOURCES[source]
    elif source in ("csv", "folder"):
        if not path:
            raise DataError(f"choose a {SOURCES[source].lower()} first")
        split = load_kaggle_csv(path) if source == "csv" else load_image_folder(path, skip_bad=True)
        name = f"{SOURCES[source]} {path}"
    elif source == "samples":
        store = SampleStore(samples_root)
        split = store.load()
        skipped = list(store.skipped)
        name = f"your samples ({store.root})"
    else:
        raise DataError(f"unknown data source {source!r}")
    labelled = split.labels is not None and len(split) > 0
    return Exploration(
        source=name, split=split, summary=explore.summary(split),
        counts=explore.class_counts(split) if labelled else None,
        means=explore.mean_images(split) if labelled else None,
        hist=explore.intensity_histogram(split, bins=32),
        grid=explore.sample_grid(split, PER_CLASS) if labelled else None, skipped=skipped)


def summary_text(e: Exploration) -> str:
    """``60,000 images · smallest 5 (5,421) · largest 1 (6,742) · …``."""
    s = e.summary
    parts = [f"<b>{s['count']:,} images</b>"]
    if e.counts is not None:
        parts.append(f"fewest: {s['smallest_class']} ({e.counts[s['smallest_class']]:,})")
        parts.append(f"most: {s['largest_class']} ({e.counts[s['largest_class']]:,})")
        if s.get("missing_classes"):
            parts.append(f"no images of {', '.join(map(str, s['missing_classes']))}")
    elif not s["labelled"]:
        parts.append("no labels")
    parts.append(f"mean pixel {s['mean_intensity']:.1f}")
    parts.append(f"ink {s['ink_fraction']:.1%} of pixels")
    if s["blank_images"]:
        parts.append(f"{s['blank_images']} blank")
    if e.skipped:
        parts.append(f"{len(e.skipped)} unreadable files skipped")
    return " · ".join(parts)


class DataTab(QWidget):
    """Choose a source, then look at it."""

    loaded = Signal(object)  # the Exploration now shown
    status = Signal(str)  # a short message for the status bar

    def __init__(self, samples_root: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dataTab")
        self.samples_root = samples_root
        self.exploration: Exploration | None = None
        self._order = np.zeros(0, np.int64)  # indices browsed (all, or one digit)
        self._page = 0
        self._seq = 0
        self._loader = TaskRunner("data-loader", self)
        self._loader.finished.connect(self._on_loaded)
        self._loader.failed.connect(self._on_failed)

        self.summary_label = QLabel("Choose a data source.")
        self.summary_label.setObjectName("dataSummaryLabel")
        self.summary_label.setWordWrap(True)
        self.banner = MessageBanner()
        self.banner.setObjectName("dataErrorLabel")
        self.views = QTabWidget()
        self.views.setObjectName("dataViews")
        self.views.addTab(self._build_overview(), "Overview")
        self.views.addTab(self._build_browser(), "Browse")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(self._build_source_row())
        layout.addWidget(self.banner)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.views, 1)
        self._source_changed()

    def _build_source_row(self) -> QHBoxLayout:
        """Which data set: the source, a path for files and folders, browse and load."""
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("dataSourceCombo")
        for key, text in SOURCES.items():
            self.source_combo.addItem(text, key)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("dataTabPathEdit")
        self.path_edit.setPlaceholderText("train.csv, or a folder with sub-folders 0 … 9")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("dataLoadButton")
        self.load_button.clicked.connect(lambda: self.load())
        top = QHBoxLayout()
        top.addWidget(QLabel("Source"))
        top.addWidget(self.source_combo)
        top.addWidget(self.path_edit, 4)
        top.addWidget(self.browse_button)
        top.addWidget(self.load_button)
        top.addStretch(1)
        return top

    def _build_overview(self) -> QScrollArea:
        """Random samples of each digit beside the charts (class counts, pixels, mean digits)."""
        self.grid_image = QLabel()
        self.grid_image.setObjectName("sampleGrid")
        self.grid_image.setFixedSize(round(28 * PER_CLASS * GRID_SCALE), round(280 * GRID_SCALE))
        grid_rows = QGridLayout()
        grid_rows.setSpacing(0)
        for d in range(10):
            label = QLabel(str(d))
            label.setFixedHeight(round(28 * GRID_SCALE))
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid_rows.addWidget(label, d, 0)
        grid_rows.addWidget(self.grid_image, 0, 1, 10, 1)
        grid_box = QVBoxLayout()
        grid_box.addWidget(QLabel("Random samples of each digit"))
        grid_box.addLayout(grid_rows)
        grid_box.addStretch(1)
        self.charts = DataCharts()
        overview_page = QWidget()
        row = QHBoxLayout(overview_page)
        row.addLayout(grid_box)
        row.addWidget(self.charts, 1)
        overview = QScrollArea()
        overview.setWidget(overview_page)
        overview.setWidgetResizable(True)
        overview.setFrameShape(QFrame.Shape.NoFrame)
        return overview

    def _build_browser(self) -> QWidget:
        """Pages of samples, all digits or one, with previous and next."""
        self.digit_filter = QComboBox()
        self.digit_filter.setObjectName("browseDigitCombo")
        self.digit_filter.addItem("All digits", -1)
        for d in range(10):
            self.digit_filter.addItem(f"Only {d}s", d)
        self.digit_filter.currentIndexChanged.connect(self._filter_changed)
        self.prev_button = QPushButton("◀ Previous")
        self.prev_button.clicked.connect(lambda: self.show_page(self._page - 1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.setObjectName("nextPageButton")
        self.next_button.clicked.connect(lambda: self.show_page(self._page + 1))
        self.page_label = QLabel()
        self.page_label.setObjectName("pageLabel")
        nav = QHBoxLayout()
        for w in (self.digit_filter, self.prev_button, self.page_label, self.next_button):
            nav.addWidget(w)
        nav.addStretch(1)
        self.gallery = DigitGallery(40)
        self.gallery.setObjectName("browseGallery")
        browse = QWidget()
        col = QVBoxLayout(browse)
        col.addLayout(nav)
        col.addWidget(self.gallery, 1)
        return browse

    # Loading ---------------------------------------------------------------------------------

    def load(self, source: str | None = None, path: str | None = None, download: bool = True) -> None:
        """Load a source in the background (default: the one chosen); ``loaded`` follows."""
        if source is not None:
            self.source_combo.setCurrentIndex(self.source_combo.findData(source))
        if path is not None:
            self.path_edit.setText(path)
        self._seq += 1
        key = self.source_combo.currentData()
        self.banner.clear_message()
        self.summary_label.setText(f"Loading {SOURCES[key]}…")
        self._loader.submit(explore_source, key, self.path_edit.text().strip() or None, self.samples_root,
                            download, tag=self._seq)

    def refresh_if_samples(self) -> None:
        """Reload when showing my samples (they changed)."""
        if self.exploration is not None and self.source_combo.currentData() == "samples":
            self.load()

    @never_raises
    def showEvent(self, event) -> None:
        """Load the chosen source the first time the tab is shown (MNIST only if it is on this
        machine: downloading waits for the Load button)."""
        super().showEvent(event)
        if self.exploration is None and not self._loader.busy and not self.banner.isVisible():
            self.load(download=False)

    def shutdown(self) -> None:
        self._loader.shutdown()

    @Slot(object, object)
    def _on_loaded(self, tag: Any, e: Exploration) -> None:
        if tag != self._seq:
            return
        self.exploration = e
        self.summary_label.setText(f"{e.source}: {summary_text(e)}")
        if e.grid is not None:
            self.grid_image.setPixmap(array_to_pixmap(e.grid).scaled(self.grid_image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.FastTransformation))
        else:
            self.grid_image.clear()
        self.charts.show_data(e.counts, e.hist, e.means)
        self._filter_changed()
        self.status.emit(f"Loaded {e.summary['count']:,} images")
        self.loaded.emit(e)

    @Slot(object, object)
    def _on_failed(self, tag: Any, exc: Exception) -> None:
        if tag == self._seq:
            self.summary_label.setText("")
            hint = " Press Load to download it (about 11 MB)." if "MNIST not found" in str(exc) else ""
            self.banner.show_error(f"Could not load the data: {describe_error(exc)}{hint}")

    # Browsing ---------------------------------------------------------------------------------

    def _filter_changed(self) -> None:
        e = self.exploration
        if e is None:
            return
        digit = self.digit_filter.currentData()
        n = len(e.split)
        if digit < 0 or e.split.labels is None:
            self._order = np.arange(n)
        else:
            self._order = np.flatnonzero(e.split.labels == digit)
        self.show_page(0)

    def pages(self) -> int:
        return max(1, math.ceil(len(self._order) / PAGE))

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based) of the browsed digits."""
        e = self.exploration
        if e is None:
            return
        self._page = min(max(0, page), self.pages() - 1)
        idx = self._order[self._page * PAGE:(self._page + 1) * PAGE]
        labels = e.split.labels
        captions = [f"{labels[i]}  #{i}" if labels is not None else f"#{i}" for i in idx]
        details = [f"Image #{i} of {e.source}" + (f": labelled {labels[i]}" if labels is not None else "")
                   for i in idx]
        self.gallery.set_digits(e.split.images[idx], captions, details)
        self.page_label.setText(f"Page {self._page + 1} of {self.pages()} ({len(self._order):,} images)")
        self.prev_button.setEnabled(self._page > 0)
        self.next_button.setEnabled(self._page < self.pages() - 1)

    def _source_changed(self) -> None:
        needs_path = self.source_combo.currentData() in ("csv", "folder")
        self.path_edit.setVisible(needs_path)
        self.browse_button.setVisible(needs_path)

    def _browse(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.source_combo.currentData() == "csv":
            path, _ = QFileDialog.getOpenFileName(self, "Kaggle CSV", "", "CSV files (*.csv *.csv.gz);;All files (*)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder with sub-folders 0 … 9 of digit images")
        if path:
            self.path_edit.setText(path)
            self.load()
