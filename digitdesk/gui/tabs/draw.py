"""Draw tab: write on the canvas, read the number as soon as the pen lifts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QSlider, QToolButton,
                               QVBoxLayout, QWidget)

from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.canvas import DrawingCanvas
from digitdesk.gui.workers.recognition import describe_error, timed_read
from digitdesk.gui.settings import Settings
from digitdesk.gui.widgets.cards import DigitCard
from digitdesk.gui.widgets.explain_dialog import ExplainDialog
from digitdesk.gui.widgets.theme import big_font, colors, css
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.core.recognizer import Reading, Recognizer
    from digitdesk.gui.widgets.corrections import SampleCollector

PLACEHOLDER = ""  # nothing read yet: the detail line says why
DEFAULT_PEN = 18  # px; MNIST strokes are about a tenth of the digit height


class DrawTab(QWidget):
    """The canvas with its tools, and the reading of what is drawn."""

    readingShown = Signal(str)  # the text of the reading now shown ("" for none)
    status = Signal(str)  # a short message for the status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drawTab")
        self._rec: Recognizer | None = None
        self._collector: SampleCollector | None = None
        self._shown: tuple[Reading, float] | None = None  # the reading on screen
        self._seq = 0
        self.explain_dialog: ExplainDialog | None = None
        self._reader = TaskRunner("draw-reader", self)
        self._reader.finished.connect(self._on_reading)
        self._reader.failed.connect(self._on_failed)

        self.canvas = DrawingCanvas()
        self.canvas.changed.connect(self.recognize)
        self._build_actions()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(self._build_tools())
        layout.addWidget(self.canvas, 1)
        layout.addLayout(self._build_result())
        self._build_cards(layout)
        self._show_idle()

    def _build_actions(self) -> None:
        """Undo, clear and eraser, with their shortcuts while the tab has focus."""
        self.undo_action = QAction("&Undo stroke", self, shortcut=QKeySequence.StandardKey.Undo)
        self.clear_action = QAction("&Clear canvas", self)
        self.clear_action.setShortcuts([QKeySequence(Qt.Key.Key_Escape), QKeySequence(QKeySequence.StandardKey.Delete)])
        self.eraser_action = QAction("&Eraser", self, checkable=True, shortcut=QKeySequence("E"))
        self.explain_action = QAction("&Why this digit?", self, shortcut=QKeySequence("W"))
        self.explain_action.setEnabled(False)  # nothing read yet
        for action in (self.undo_action, self.clear_action, self.eraser_action, self.explain_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.undo_action.triggered.connect(self.canvas.undo)
        self.clear_action.triggered.connect(self.canvas.clear)
        self.eraser_action.toggled.connect(self.canvas.set_eraser)
        self.explain_action.triggered.connect(lambda: self.explain_digit(self._digit_to_explain()))

    def _build_tools(self) -> QHBoxLayout:
        """The row above the canvas: pen width and the eraser, undo and clear buttons."""
        self.pen_slider = QSlider(Qt.Orientation.Horizontal)
        self.pen_slider.setObjectName("penWidthSlider")
        self.pen_slider.setRange(4, 40)
        self.pen_slider.setFixedWidth(160)
        self.pen_slider.setToolTip("Pen width")
        self.pen_value = QLabel()
        self.pen_value.setMinimumWidth(self.fontMetrics().horizontalAdvance("40 px") + 4)
        self.pen_slider.valueChanged.connect(self._set_pen_width)
        self.pen_slider.setValue(DEFAULT_PEN)

        tools = QHBoxLayout()
        tools.setSpacing(6)
        tools.addWidget(QLabel("Pen width"))
        tools.addWidget(self.pen_slider)
        tools.addWidget(self.pen_value)
        tools.addSpacing(12)
        for name, action, tip in (("eraserButton", self.eraser_action, "Erase with the left button (E)"),
                                  ("undoButton", self.undo_action, "Undo the last stroke (Ctrl+Z)"),
                                  ("clearButton", self.clear_action, "Clear the canvas (Esc / Delete)")):
            button = QToolButton()
            button.setObjectName(name)
            button.setDefaultAction(action)
            button.setText(action.text().replace("&", "").replace(" stroke", "").replace(" canvas", ""))
            button.setToolTip(tip)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(72)
            tools.addWidget(button)
            setattr(self, name.replace("Button", "_button"), button)
        tools.addStretch(1)
        return tools

    def _build_result(self) -> QHBoxLayout:
        """The number read, large, and a line of detail beside it."""
        self.result_label = QLabel(PLACEHOLDER)
        self.result_label.setObjectName("resultLabel")
        self.result_label.setFont(big_font(self, 40))
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setMinimumWidth(120)
        self.result_label.setMinimumHeight(self.result_label.fontMetrics().height())
        self.detail_label = QLabel()
        self.detail_label.setObjectName("resultDetailLabel")
        self.detail_label.setWordWrap(True)
        number_row = QHBoxLayout()
        number_row.setSpacing(16)
        number_row.addWidget(self.result_label, 0, Qt.AlignmentFlag.AlignVCenter)
        number_row.addWidget(self.detail_label, 1, Qt.AlignmentFlag.AlignVCenter)
        return number_row

    def _build_cards(self, layout: QVBoxLayout) -> None:
        """A caption and a scrolling row of digit cards, one per digit read."""
        self.cards_host = QWidget()
        self.cards_layout = QHBoxLayout(self.cards_host)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.setSpacing(8)
        self.cards_layout.addStretch(1)
        self.cards: list[DigitCard] = []
        scroll = QScrollArea()
        scroll.setObjectName("digitCards")
        scroll.setWidget(self.cards_host)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        scroll.setFixedHeight(DigitCard.THUMB + 18 + scroll.horizontalScrollBar().sizeHint().height())
        self.cards_scroll = scroll
        caption = QLabel("Each digit: what the model sees (28×28) and its three best guesses; Why? (W) explains it")
        caption.setToolTip("Wrong? “This is a…” on a digit keeps it as a sample of your handwriting. "
                           "Why? (or a double-click) shows what made the model read it, and the nearest "
                           "training digits; W explains the first uncertain digit, else the first.")
        caption.setObjectName("cardsCaption")
        layout.addWidget(caption)
        layout.addWidget(scroll)

    # Public API --------------------------------------------------------------------------

    def set_recognizer(self, rec: "Recognizer | None") -> None:
        """Use ``rec`` from now on, and read what is already drawn."""
        self._rec = rec
        self.recognize()

    def set_collector(self, collector: "SampleCollector | None") -> None:
        """Where corrected digits go (no "This is a…" buttons without one)."""
        self._collector = collector
        for card in self.cards:
            card.correct_button.setVisible(collector is not None)

    def correct_digit(self, index: int, label: int) -> bool:
        """Keep digit ``index`` of the reading shown (its 28x28 crop) as a sample of ``label``."""
        kept = None if self._collector is None or self._shown is None else self._collector.keep(self._shown[0].digits, index, label)
        if kept is None:
            return False
        self.cards[index].mark_corrected(label)
        self.status.emit(kept)
        return True

    def _digit_to_explain(self) -> int:
        digits = self._shown[0].digits if self._shown else []
        return next((i for i, d in enumerate(digits) if d.uncertain), 0)

    def explain_digit(self, index: int) -> ExplainDialog | None:
        """Open "Why this digit?" (not blocking) for digit ``index`` of the reading shown; None
        (and a status message) when nothing is read."""
        digits = self._shown[0].digits if self._shown else []
        if self._rec is None or not 0 <= index < len(digits):
            self.status.emit("Nothing to explain: draw a digit first")
            return None
        if self.explain_dialog is not None:
            self.explain_dialog.close()
        self.explain_dialog = ExplainDialog(self._rec, digits[index], index + 1, self)
        self.explain_dialog.show()
        return self.explain_dialog

    def set_model_error(self, message: str) -> None:
        self._set_detail(f"No model: {message}", error=True)

    @Slot()
    def recognize(self) -> None:
        """Read the canvas on the worker thread (latest drawing wins)."""
        self._seq += 1
        if self.canvas.is_empty():
            self._reader.cancel_pending()
            self._show_idle()
            return
        if self._rec is None:
            self._set_detail("Loading the model… your drawing is read as soon as it is ready.")
            return
        # The canvas is dark ink on white: the engine need not guess the polarity or look for a sheet.
        self._reader.submit(timed_read, self._rec, self.canvas.ink_array(), False, self._reader.stopping, True,
                            tag=self._seq)

    def shutdown(self) -> None:
        if self.explain_dialog is not None:
            self.explain_dialog.shutdown()  # the window is closing: wait for its job
            self.explain_dialog.close()
        self._reader.shutdown()

    def save_state(self, settings: Settings) -> None:
        settings.set("penWidth", self.pen_slider.value())

    def restore_state(self, settings: Settings) -> None:
        self.pen_slider.setValue(settings.get("penWidth", DEFAULT_PEN))

    # Results ----------------------------------------------------------------------------

    @Slot(object, object)
    def _on_reading(self, tag: Any, result: "tuple[Reading, float]") -> None:
        if tag != self._seq:
            return  # the drawing changed since; a newer reading follows
        reading, seconds = result
        self._show_reading(reading, seconds)

    @Slot(object, object)
    def _on_failed(self, tag: Any, exc: Exception) -> None:
        if tag == self._seq:
            self._set_detail(f"Could not read the drawing: {describe_error(exc)}", error=True)
            self.status.emit("Recognition failed")

    @never_raises
    def changeEvent(self, event: QEvent) -> None:
        """Re-colour the result for a new light/dark palette."""
        if event.type() == QEvent.Type.PaletteChange and self._shown is not None:
            self._show_reading(*self._shown, announce=False)
        super().changeEvent(event)

    def _show_reading(self, reading: "Reading", seconds: float, announce: bool = True) -> None:
        self._shown = (reading, seconds)
        c = colors(self.palette())
        digits = reading.digits
        uncertain = [d for d in digits if d.uncertain]
        self.result_label.setText(reading.text if digits else PLACEHOLDER)
        color = c.amber if uncertain else self.palette().color(QPalette.ColorRole.WindowText)
        self.result_label.setStyleSheet(f"color: {css(color)};")
        self.result_label.setToolTip("Some digits are uncertain" if uncertain else "")
        if not digits:
            self._set_detail("No digits found. Write bigger or with a thicker pen.")
        elif uncertain:
            which = ", ".join(f"digit {digits.index(d) + 1} ({d.digit}? or {d.top[1][0]})" for d in uncertain)
            self._set_detail(f"{len(uncertain)} uncertain: {which}", amber=True)
        else:
            n = len(digits)
            least = min(d.confidence for d in digits)
            sure = f"{least:.0%} sure" if n == 1 else f"each at least {least:.0%} sure"
            self._set_detail(f"{n} digit{'s' if n > 1 else ''} · {sure} · {seconds * 1000:.0f} ms")
        self._set_cards(reading)
        if announce:
            shown = reading.text.replace("\n", " ")
            self.status.emit(f"Read “{shown}” in {seconds * 1000:.0f} ms" if digits else "No digits found")
            self.readingShown.emit(reading.text)

    def _set_cards(self, reading: "Reading | None") -> None:
        digits = reading.digits if reading else []
        while len(self.cards) < len(digits):
            card = DigitCard()
            card.corrected.connect(lambda label, i=len(self.cards): self.correct_digit(i, label))
            card.explainRequested.connect(lambda i=len(self.cards): self.explain_digit(i))
            card.correct_button.setVisible(self._collector is not None)
            self.cards_layout.insertWidget(len(self.cards), card)
            self.cards.append(card)
        for card, d in zip(self.cards, digits):
            card.set_digit(d.digit, d.confidence, d.top, d.input28, d.uncertain)
            card.show()
        for card in self.cards[len(digits):]:
            card.hide()
        self.explain_action.setEnabled(bool(digits))

    def _show_idle(self) -> None:
        self._shown = None
        self.result_label.setText(PLACEHOLDER)
        self.result_label.setStyleSheet(f"color: {css(colors(self.palette()).muted)};")
        if self._rec is None:
            self._set_detail("Loading the model… you can start drawing.")
        else:
            self._set_detail("Write a number on the canvas; it is read when you lift the pen.")
        self._set_cards(None)
        self.readingShown.emit("")

    def _set_detail(self, text: str, error: bool = False, amber: bool = False) -> None:
        c = colors(self.palette())
        color = c.error if error else c.amber if amber else c.muted
        self.detail_label.setStyleSheet(f"color: {css(color)};")
        self.detail_label.setText(text)

    def _set_pen_width(self, value: int) -> None:
        self.canvas.set_pen_width(value)
        self.pen_value.setText(f"{value} px")
