"""Small widgets shared by the tabs: probability bars, digit cards, a message banner."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.corrections import correction_menu
from digitdesk.gui.widgets.qimage import array_to_pixmap
from digitdesk.gui.widgets.theme import big_font, colors, css

UNCERTAIN_TEXT = "uncertain"


def digit_text(digit: int, uncertain: bool) -> str:
    """How a digit read is written everywhere: ``7``, or ``7?`` when uncertain."""
    return f"{digit}?" if uncertain else str(digit)


class ProbabilityBars(QWidget):
    """Horizontal bars: ``7 ███████░ 98.1%`` for each (digit, probability)."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._top: list[tuple[int, float]] = []
        self._uncertain = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, top: list[tuple[int, float]], uncertain: bool = False) -> None:
        self._top, self._uncertain = list(top), uncertain
        self.updateGeometry()
        self.update()

    def values(self) -> list[tuple[int, float]]:
        return list(self._top)

    def sizeHint(self) -> QSize:
        return QSize(120, self.ROW * max(3, len(self._top)))

    def minimumSizeHint(self) -> QSize:
        return QSize(104, self.ROW * max(3, len(self._top)))

    @never_raises
    def paintEvent(self, _event) -> None:
        """Draw one labelled bar per candidate digit."""
        c = colors(self.palette())
        fm = self.fontMetrics()
        digit_w = fm.horizontalAdvance("0") + 8
        pct_w = fm.horizontalAdvance("100.0%") + 6
        with QPainter(self) as p:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            for i, (digit, prob) in enumerate(self._top):
                y = i * self.ROW
                bar = QRectF(digit_w, y + 4, max(10, self.width() - digit_w - pct_w), self.ROW - 8)
                color = c.amber if (self._uncertain and i == 0) else c.accent
                if i > 0:
                    color = QColor(color)
                    color.setAlphaF(0.55)
                p.setPen(self.palette().color(QPalette.ColorRole.WindowText) if i == 0 else c.muted)
                p.drawText(QRectF(0, y, digit_w, self.ROW), Qt.AlignmentFlag.AlignVCenter, str(digit))
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(c.track)
                p.drawRoundedRect(bar, 3, 3)
                p.setBrush(color)
                p.drawRoundedRect(QRectF(bar.x(), bar.y(), max(2.0, bar.width() * float(prob)), bar.height()), 3, 3)
                p.setPen(self.palette().color(QPalette.ColorRole.WindowText) if i == 0 else c.muted)
                p.drawText(QRectF(self.width() - pct_w, y, pct_w, self.ROW),
                           Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{prob:.1%}")


class DigitCard(QFrame):
    """One recognized digit: the digit, what the model saw (28x28), its top-3 bars and a
    "This is a…" button to correct it."""

    THUMB = 84  # 28 x 3, nearest neighbour so pixels stay visible
    corrected = Signal(int)  # the person says this digit is that one
    explainRequested = Signal()  # "Why this digit?" (the Why? button or a double-click)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._digit: int | None = None
        self.setObjectName("digitCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.digit_label = QLabel()
        self.digit_label.setObjectName("digitCardDigit")
        self.digit_label.setFont(big_font(self, 24))
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.digit_label.setMinimumWidth(52)
        self.status_label = QLabel()
        self.status_label.setObjectName("digitCardStatus")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb = QLabel()
        self.thumb.setFixedSize(self.THUMB, self.THUMB)
        self.thumb.setToolTip("What the model sees: the 28×28 input")
        self.bars = ProbabilityBars()
        self.correct_button = QToolButton()
        self.correct_button.setObjectName("correctButton")
        self.correct_button.setText("This is a… ▾")
        self.correct_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.correct_button.setToolTip("Wrong? Say which digit it is; the 28×28 crop is kept in your samples "
                                       "for fine-tuning (the digit keys pick in the menu)")
        self.correct_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.correct_button.setAutoRaise(True)
        self.correct_menu = correction_menu(self, self.corrected.emit)
        self.correct_button.setMenu(self.correct_menu)
        self.why_button = QToolButton()
        self.why_button.setObjectName("whyButton")
        self.why_button.setText("Why?")
        self.why_button.setToolTip("Why this digit? Heatmaps of what made the model read it, and the nearest "
                                   "training digits (or double-click the card)")
        self.why_button.setAutoRaise(True)
        self.why_button.clicked.connect(self.explainRequested)
        left = QVBoxLayout()
        left.setSpacing(0)
        left.addWidget(self.digit_label)
        left.addWidget(self.status_label)
        left.addStretch(1)
        left.addWidget(self.why_button, 0, Qt.AlignmentFlag.AlignHCenter)
        right = QVBoxLayout()
        right.setSpacing(0)
        right.addWidget(self.bars)
        right.addStretch(1)
        right.addWidget(self.correct_button, 0, Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 8, 8, 8)
        row.setSpacing(8)
        row.addLayout(left)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(right, 1)
        self.setMinimumWidth(272)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_digit(self, digit: int, confidence: float, top: list[tuple[int, float]],
                  input28: np.ndarray | None, uncertain: bool) -> None:
        """Show one digit result (plain data from a DigitResult)."""
        c = colors(self.palette())
        self._digit = digit
        self.digit_label.setText(digit_text(digit, uncertain))
        self.status_label.setText(UNCERTAIN_TEXT if uncertain else f"{confidence:.0%} sure")
        color = c.amber if uncertain else self.palette().color(QPalette.ColorRole.WindowText)
        self.digit_label.setStyleSheet(f"color: {css(color)};")
        self.status_label.setStyleSheet(f"color: {css(c.amber if uncertain else c.muted)};")
        self.setProperty("uncertain", uncertain)
        self.setStyleSheet(
            f"#digitCard {{ background: {css(c.amber_bg)}; border: 1px solid {css(c.amber)};"
            " border-radius: 6px; }" if uncertain else "#digitCard { border-radius: 6px; }"
        )
        if input28 is not None:
            pm = array_to_pixmap(np.ascontiguousarray(input28, np.uint8))
            self.thumb.setPixmap(pm.scaled(self.THUMB, self.THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation))
        self.bars.set_values(top, uncertain)
        self.setToolTip(f"{digit}: {confidence:.1%}" + (" — uncertain, check it" if uncertain else ""))
        self.correct_button.setText("This is a… ▾")

    @never_raises
    def mouseDoubleClickEvent(self, event) -> None:
        """A double-click on the card asks why this digit was read as it was."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.explainRequested.emit()
        super().mouseDoubleClickEvent(event)

    def mark_corrected(self, label: int) -> None:
        """Show that this digit was kept as a sample labelled ``label``."""
        self.correct_button.setText(f"Saved as {label} ✓")
        self.status_label.setText("your sample")


class MessageBanner(QLabel):
    """A coloured line for errors and notices inside a tab; hidden when empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setContentsMargins(10, 6, 10, 6)
        self.hide()

    def show_error(self, text: str) -> None:
        c = colors(self.palette())
        self.setStyleSheet(f"QLabel {{ color: {css(c.error)}; background: {css(c.error_bg)};"
                           f" border: 1px solid {css(c.error)}; border-radius: 4px; }}")
        self.setText(text)
        self.show()

    def clear_message(self) -> None:
        self.setText("")
        self.hide()
