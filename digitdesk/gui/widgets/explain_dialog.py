"""The "Why this digit?" dialog: for one digit read on the Draw or Image tab, the 28x28 input
the model saw, a heatmap of why it was read as it was and one for the runner-up, and the five
nearest training digits of each. The work is :mod:`digitdesk.core.explain` and
:mod:`digitdesk.core.neighbours`, on a :class:`TaskRunner` the dialog owns: the heatmaps first
(TensorFlow is imported then, not before), then the neighbours (building the index of training
digits on first use, with progress and Stop)."""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from digitdesk.core.errors import Cancelled
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.widgets.gallery import DigitGallery, digit_pixmap
from digitdesk.gui.widgets.qimage import array_to_pixmap
from digitdesk.gui.widgets.theme import big_font, colors, css
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.core.recognizer import DigitResult, Recognizer

VIEW = 224  # the input and the heatmaps are shown 8x
THUMB = 72  # a neighbour


def _explainer(rec: "Recognizer"):
    from digitdesk.core.errors import ModelError
    from digitdesk.core.explain import explainer_for

    if rec.runtime == "keras":
        return explainer_for(rec.path, rec.model)
    if rec.path is None or not rec.trainable:
        raise ModelError(f"{rec.path or 'this model'}: a LiteRT (.tflite) model reads digits but cannot explain "
                         "them; open the .keras model it was made from")
    return explainer_for(rec.path)


def explain_job(rec: "Recognizer", input28: np.ndarray, digits: tuple[int, int]) -> dict:
    """On the worker thread: the explanation of ``input28`` for ``digits`` and its two heatmaps."""
    e = _explainer(rec).explain(input28, digits)
    return {"explanation": e, "heatmaps": e.heatmaps(8)}


def neighbours_job(rec: "Recognizer", input28: np.ndarray, digits: tuple[int, int], limit: int | None,
                   should_stop, on_progress) -> dict | None:
    """On the worker thread: the nearest training digits of each of ``digits`` (building the
    index on first use); None once stopped on request (nothing is kept of a stopped build)."""
    import time

    from digitdesk.core.neighbours import build_index, neighbours_of, training_digits

    explainer = _explainer(rec)
    explainer.embedding_model()  # a model without a penultimate layer: said before MNIST is read
    split = training_digits(limit)
    try:
        index = build_index(explainer, split.images, split.labels, should_stop, on_progress)
    except Cancelled:
        return None
    t0 = time.perf_counter()
    found = neighbours_of(explainer, index, input28, digits)
    return {"found": found, "images": {d: index.images[[n.index for n in f]] for d, f in found.items()},
            "size": len(index), "from_cache": index.from_cache, "index_seconds": index.seconds,
            "query_seconds": time.perf_counter() - t0}


def _picture(size: int) -> QLabel:
    label = QLabel()
    label.setFixedSize(size, size)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: #111; border-radius: 4px;")
    return label


class ExplainDialog(QDialog):
    """Why digit ``number`` (1-based, a :class:`DigitResult` of ``rec``'s reading) was read as it was."""

    explained = Signal()  # the heatmaps are shown
    neighboursShown = Signal()  # the nearest training digits are shown
    _progress = Signal(int, int)  # digits indexed, digits in all (emitted on the worker thread)

    def __init__(self, rec: "Recognizer", digit: "DigitResult", number: int, parent: QWidget | None = None,
                 index_limit: int | None = None):
        super().__init__(parent)
        self.setObjectName("explainDialog")
        self.setWindowTitle(f"Why {digit.digit}? — digit {number}")
        self.rec, self.number, self.index_limit = rec, number, index_limit
        self.input28 = np.array(digit.input28, np.uint8)
        self.top = [(int(d), float(p)) for d, p in digit.top]
        self.digits = (self.top[0][0], self.top[1][0])
        self.explanation = None
        self.neighbours: dict | None = None
        self._stop = threading.Event()
        self._closing = False  # closed while a job that could not stop at once still ran
        self._runner = TaskRunner("explain", self)
        self._runner.finished.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._progress.connect(self._on_progress)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_header())
        layout.addLayout(self._build_pictures())
        layout.addWidget(self.legend)
        self.banner = MessageBanner()
        self.banner.setObjectName("explainError")
        layout.addWidget(self.banner)
        layout.addLayout(self._build_neighbours())
        layout.addLayout(self._build_status())
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel)
        self.start()

    def _build_header(self) -> QLabel:
        (d, p), (r, q) = self.top[0], self.top[1]
        from digitdesk.core.explain import percent

        self.header = QLabel(f"Read as <b>{d}</b> ({html.escape(percent(p))}) · runner-up <b>{r}</b> "
                             f"({html.escape(percent(q))})")
        self.header.setObjectName("explainHeader")
        self.header.setFont(big_font(self, 13, bold=False))
        return self.header

    def _build_pictures(self) -> QGridLayout:
        """The input beside the two heatmaps, each with its caption above."""
        from digitdesk.core.explain import percent

        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        self.input_view, self.top_view, self.second_view = _picture(VIEW), _picture(VIEW), _picture(VIEW)
        self.input_view.setPixmap(digit_pixmap(self.input28, VIEW))
        self.input_view.setToolTip("The 28×28 input the digit was read from, as the model saw it")
        (d, p), (r, q) = self.top[0], self.top[1]
        self.top_caption = QLabel(f"Why {d}? ({percent(p)})")
        self.second_caption = QLabel(f"Why not {r}? ({percent(q)})")
        for col, (caption, view) in enumerate([(QLabel("What the model saw"), self.input_view),
                                               (self.top_caption, self.top_view),
                                               (self.second_caption, self.second_view)]):
            caption.setFont(big_font(self, 11))
            grid.addWidget(caption, 0, col)
            grid.addWidget(view, 1, col)
        self.top_view.setObjectName("whyHeatmap")
        self.second_view.setObjectName("whyNotHeatmap")
        for view in (self.top_view, self.second_view):
            view.setText("…")
        self.legend = QLabel("<span style='color:#e24a33'>■</span> ink that speaks for the digit &nbsp;&nbsp; "
                             "<span style='color:#3478e2'>■</span> ink that speaks against it<br>"
                             "Integrated gradients from a blank input, on the 28×28 input read; each map on its "
                             "own scale (hover for its totals).")
        self.legend.setObjectName("explainLegend")
        self.legend.setWordWrap(True)
        self.legend.setContentsMargins(0, 6, 0, 6)
        self.legend.setStyleSheet(f"color: {css(colors(self.palette()).muted)};")
        return grid

    def _build_neighbours(self) -> QGridLayout:
        """Two rows of five training digits, each with its caption on the left: of the digit
        read, and of the runner-up."""
        box = QGridLayout()
        box.setHorizontalSpacing(14)
        box.setColumnStretch(2, 1)
        self.galleries: dict[int, DigitGallery] = {}
        self.gallery_captions: dict[int, QLabel] = {}
        for row, (d, kind) in enumerate(zip(self.digits, ("the digit read", "the runner-up"))):
            caption = QLabel(f"<b>Nearest training {d}s</b><br>({kind})")
            caption.setFont(big_font(self, 11, bold=False))
            caption.setFixedWidth(VIEW)
            gallery = DigitGallery(THUMB)
            gallery.setObjectName(f"neighbours{d}")
            gallery.setFixedHeight(gallery.gridSize().height() + 2 * gallery.frameWidth() + 2)
            gallery.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            gallery.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            gallery.setFixedWidth(5 * gallery.gridSize().width() + 2 * gallery.frameWidth() + 14)
            self.galleries[d], self.gallery_captions[d] = gallery, caption
            box.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignVCenter)
            box.addWidget(gallery, row, 1)
        return box

    def _build_status(self) -> QVBoxLayout:
        self.status_label = QLabel()
        self.status_label.setObjectName("explainStatus")
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("explainProgress")
        self.progress.setTextVisible(False)
        self.retry_button = QPushButton("Find nearest digits")
        self.retry_button.setObjectName("explainRetryButton")
        self.retry_button.setToolTip("Look up the nearest training digits again (builds the index if needed)")
        self.retry_button.clicked.connect(self.find_neighbours)
        self.retry_button.hide()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("explainStopButton")
        self.stop_button.setToolTip("Stop building the index of training digits (Esc); the heatmaps stay")
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("explainCloseButton")
        self.close_button.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.close_button)
        box = QVBoxLayout()
        box.addWidget(self.status_label)
        box.addWidget(self.progress)
        box.addLayout(row)
        return box

    # Work -----------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def start(self) -> None:
        """Compute the heatmaps (then the neighbours) on the worker thread."""
        self._busy("Explaining… (the first explanation loads TensorFlow and the model: a few seconds)")
        self.stop_button.setEnabled(False)  # the heatmaps take a fraction of a second once loaded
        self._runner.submit(explain_job, self.rec, self.input28, self.digits, tag="explain")

    @Slot()
    def find_neighbours(self) -> None:
        """Look up the nearest training digits (building the index of them on first use)."""
        if self.busy:
            return
        self._stop.clear()
        self.banner.clear_message()
        self._busy("Finding the nearest training digits…")
        self.stop_button.setEnabled(True)
        self._runner.submit(neighbours_job, self.rec, self.input28, self.digits, self.index_limit,
                            self._should_stop, self._progress.emit, tag="neighbours")

    def _should_stop(self) -> bool:
        return self._stop.is_set() or self._runner.stopping()

    @Slot()
    def stop(self) -> None:
        """Stop building the index at its next batch (nothing of it is kept)."""
        if self.busy:
            self._stop.set()
            self.stop_button.setEnabled(False)
            self.status_label.setText("Stopping…")

    @Slot()
    def cancel(self) -> None:
        """Esc: stop the work if there is some, else close."""
        if self.busy and self.stop_button.isEnabled():
            self.stop()
        else:
            self.reject()

    def _busy(self, text: str) -> None:
        self.status_label.setText(text)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.retry_button.hide()
        self.stop_button.show()

    def _idle(self, text: str, retry: bool = False) -> None:
        self.status_label.setText(text)
        self.progress.hide()
        self.stop_button.hide()
        self.retry_button.setVisible(retry)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if not self.busy or self._stop.is_set():
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status_label.setText(f"Building the index of {total:,} training digits (once per model): "
                                  f"{done:,} done… Stop (Esc) keeps the heatmaps.")

    @Slot(object, object)
    def _on_done(self, tag: Any, result: Any) -> None:
        if self._closed_job_ended():
            return
        if tag == "explain":
            self._show_explanation(result)
            self.find_neighbours()
        elif result is None:
            self._idle("Stopped: the nearest training digits were not looked up, and nothing of the index was "
                       "kept. The heatmaps above are complete.", retry=True)
        else:
            self._show_neighbours(result)

    @Slot(object, object)
    def _on_failed(self, tag: Any, exc: Exception) -> None:
        if self._closed_job_ended():
            return
        if tag == "explain":
            self.banner.show_error(f"Could not explain this digit: {describe_error(exc)}")
            for view in (self.top_view, self.second_view):
                view.setText("")
            self._idle("Nothing was changed.")
        else:
            self.banner.show_error(f"No nearest training digits: {describe_error(exc)}")
            self._idle("The heatmaps above are complete.", retry=True)

    def _show_explanation(self, result: dict) -> None:
        from digitdesk.core.explain import percent

        e = self.explanation = result["explanation"]
        for view, rgb in zip((self.top_view, self.second_view), result["heatmaps"]):
            pm = array_to_pixmap(np.ascontiguousarray(rgb[..., ::-1]))
            view.setPixmap(pm.scaled(VIEW, VIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation))
        for view, a in ((self.top_view, e.top), (self.second_view, e.runner_up)):
            view.setToolTip(f"p({a.digit}) = {percent(a.probability)} here, {percent(a.baseline_probability)} for a "
                            f"blank input; the ink adds {a.pixels.sum():+.3f} to it "
                            f"({a.pixels[a.pixels > 0].sum():+.3f} for, {a.pixels[a.pixels < 0].sum():+.3f} against)")
        self.explained.emit()

    def _show_neighbours(self, result: dict) -> None:
        self.neighbours = result
        for d, found in result["found"].items():
            images = result["images"][d]
            self.galleries[d].set_digits(images, [f"{n.similarity:.2f}" for n in found],
                                         [f"Training digit #{n.index} (a {n.label}), cosine similarity "
                                          f"{n.similarity:.3f} of the penultimate features" for n in found])
        how = (f"read in {result['index_seconds']:.1f} s" if result["from_cache"]
               else f"built in {result['index_seconds']:.1f} s, kept for next time")
        self._idle(f"Nearest of {result['size']:,} MNIST training digits by the model's penultimate layer "
                   f"(cosine similarity under each; click one to enlarge). Index {how}; "
                   f"look-up {result['query_seconds'] * 1000:.0f} ms.")
        self.neighboursShown.emit()

    def shutdown(self) -> None:
        """Stop the work (the index at its next batch) and the thread, waiting for a job that
        cannot stop at once (the window closing, the app quitting)."""
        self._stop.set()
        self._runner.shutdown()

    def done(self, result: int) -> None:
        """Closing stops the work without waiting for it: a job that cannot stop at once (the
        first explanation of a session, while TensorFlow loads) ends on its own thread behind the
        hidden dialog, which then stops its thread; if the app quits first, it waits."""
        self._release()
        super().done(result)

    @never_raises
    def closeEvent(self, event) -> None:
        """Closed by its title bar, or never shown (``done`` is not called then): as ``done``."""
        self._release()
        super().closeEvent(event)

    def _release(self) -> None:
        self._stop.set()
        self._runner.cancel_pending()
        if not self._runner.busy:
            self._runner.shutdown()
        elif not self._closing:
            self._closing = True
            QCoreApplication.instance().aboutToQuit.connect(self.shutdown)

    def _closed_job_ended(self) -> bool:
        """After a close that left a job running: stop the thread, show nothing (True)."""
        if not self._closing:
            return False
        self._runner.shutdown()
        return True
