"""Matplotlib inside Qt (``Figure`` + ``FigureCanvasQTAgg``, never pyplot): the live training
curves, the confusion-matrix heat map and the Data tab's charts.

Matplotlib is imported when a plot is first shown or given data, not at start-up. Live curves
keep persistent ``Line2D`` artists: data arrives per batch, a QTimer redraws a few times a
second with ``set_data`` and a blit (``draw_idle`` when the whole figure must be drawn).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.theme import colors, is_dark

REDRAW_MS = 250  # live plots redraw at most 4 times a second


def _hex(color) -> str:
    return color.name()


class MplWidget(QWidget):
    """A QWidget holding a matplotlib Figure, created on first use."""

    def __init__(self, figsize: tuple[float, float] = (6, 3), parent: QWidget | None = None):
        super().__init__(parent)
        self._figsize = figsize
        self._fig = None
        self._canvas = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def figure(self):
        """The Figure (built, with its canvas, on first access)."""
        if self._fig is None:
            from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
            from matplotlib.figure import Figure

            self._fig = Figure(figsize=self._figsize, dpi=self.logicalDpiX() or 96, layout="constrained")
            self._canvas = FigureCanvasQTAgg(self._fig)
            self._canvas.setParent(self)
            self.layout().addWidget(self._canvas)
            self._style()
            self.build(self._fig)
            self._canvas.mpl_connect("draw_event", lambda _e: self.after_draw())
            self._canvas.mpl_connect("resize_event", lambda _e: self._fig.set_layout_engine("constrained"))
        return self._fig

    @property
    def canvas(self):
        self.figure  # noqa: B018  (builds it)
        return self._canvas

    @never_raises
    def showEvent(self, event) -> None:
        """Build the figure when it is first shown. A plot that cannot be built (QtSvg missing
        from a bundle) is reported to sys.excepthook (:func:`never_raises`)."""
        super().showEvent(event)
        self.figure  # noqa: B018

    def build(self, fig) -> None:
        """Create axes and artists (subclasses)."""

    def after_draw(self) -> None:
        """After a full draw: freeze the layout until the next resize (laying out the tick
        labels costs as much as drawing them)."""
        self._fig.set_layout_engine("none")

    def _style(self) -> None:
        pal = self.palette()
        self._bg = _hex(pal.color(QPalette.ColorRole.Window))
        self._fg = _hex(pal.color(QPalette.ColorRole.WindowText))
        self._accent = _hex(colors(pal).accent)
        self._second = "#f5a623" if is_dark(pal) else "#d9480f"
        self._fig.set_facecolor(self._bg)

    def style_axes(self, ax, title: str = "") -> None:
        """Colours of the window's palette on one Axes."""
        ax.set_facecolor(self._bg)
        for spine in ax.spines.values():
            spine.set_color(self._fg)
            spine.set_alpha(0.35)
        ax.tick_params(colors=self._fg, labelsize=8)
        ax.xaxis.label.set_color(self._fg)
        ax.yaxis.label.set_color(self._fg)
        if title:
            ax.set_title(title, color=self._fg, fontsize=9, loc="left")

    def redraw(self) -> None:
        self.canvas.draw_idle()


class LivePlot(MplWidget):
    """Training loss and accuracy per batch (smoothed) with validation per epoch.

    The axes have fixed ranges, so a run never redraws the whole figure (about 35 ms, several
    times that while training competes for the GIL): loss on a log scale, accuracy on a logit
    scale (10%, 50%, 90%, 99%, 99.9%: each step is ten times fewer mistakes), epochs known at
    Start. The curves are animated artists blitted over a cached background (about 1 ms).
    The layout is computed at the first draw after a resize and then frozen.
    """

    LOSS_RANGE = (0.005, 3.0)  # cross-entropy of 10 classes starts near ln(10) = 2.3
    ACCURACY_TICKS = (0.1, 0.5, 0.9, 0.99, 0.999)

    def __init__(self, parent: QWidget | None = None):
        super().__init__((7.5, 2.8), parent)
        self._history = None
        self._drawn = -1
        self._epochs = 1
        self._background = None
        self.redraws = 0  # full figure draws
        self.blits = 0  # curve-only updates
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.refresh)

    def build(self, fig) -> None:
        from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

        self.ax_loss, self.ax_acc = fig.subplots(1, 2)
        style = dict(lw=1.4, animated=True)
        (self.loss_line,) = self.ax_loss.plot([], [], color=self._accent, label="training (smoothed)", **style)
        (self.val_loss_line,) = self.ax_loss.plot([], [], "o-", color=self._second, ms=4, label="validation", **style)
        (self.acc_line,) = self.ax_acc.plot([], [], color=self._accent, label="training (smoothed)", **style)
        (self.val_acc_line,) = self.ax_acc.plot([], [], "o-", color=self._second, ms=4, label="validation", **style)
        self.lines = (self.loss_line, self.val_loss_line, self.acc_line, self.val_acc_line)
        for ax, title in ((self.ax_loss, "Loss (log scale)"), (self.ax_acc, "Accuracy")):
            self.style_axes(ax, title)
            ax.set_xlabel("epoch", fontsize=8)
            ax.grid(True, alpha=0.15, color=self._fg)
            ax.set_xlim(0, self._epochs)
        self.ax_loss.set_yscale("log", nonpositive="clip")
        self.ax_loss.set_ylim(*self.LOSS_RANGE)
        self.ax_loss.yaxis.set_major_locator(LogLocator(10))
        self.ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        self.ax_loss.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
        self.ax_acc.set_yscale("logit", nonpositive="clip")
        self.ax_acc.set_ylim(self.ACCURACY_TICKS[0], self.ACCURACY_TICKS[-1])
        self.ax_acc.yaxis.set_major_locator(FixedLocator(self.ACCURACY_TICKS))
        self.ax_acc.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:g}%"))
        self.ax_acc.yaxis.set_minor_locator(NullLocator())
        legend = self.ax_acc.legend(loc="lower right", fontsize=8, frameon=False)
        for text in legend.get_texts():
            text.set_color(self._fg)

    def after_draw(self) -> None:
        """After a full draw: freeze the layout, keep the background, draw the curves on it."""
        super().after_draw()
        self._background = self._canvas.copy_from_bbox(self._fig.bbox)
        for line in self.lines:
            self._fig.draw_artist(line)
        self.redraws += 1

    def set_epochs(self, epochs: int) -> None:
        """Size the epoch axis for the next run (redrawn now, while nothing trains)."""
        self._epochs = max(1, epochs)
        if self._fig is not None and not self.timer.isActive():
            for ax in (self.ax_loss, self.ax_acc):
                ax.set_xlim(0, self._epochs)
            self._background = None
            self._canvas.draw_idle()

    def watch(self, history, epochs: int = 1) -> None:
        """Follow a TrainHistory of a run of ``epochs``: draw the empty axes now (before the run
        competes for the CPU), then blit the curves on the timer while it changes."""
        self.figure  # noqa: B018  (builds it)
        self._history, self._drawn = history, -1
        xlim = (0, max(1, epochs))
        if self.ax_loss.get_xlim() != xlim:
            for ax in (self.ax_loss, self.ax_acc):
                ax.set_xlim(*xlim)
            self._background = None
        if self._background is None and self.isVisible():
            self._set_lines()
            self._canvas.draw()  # now, before the run competes for the CPU
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        """Stop the timer after one last update."""
        self.timer.stop()
        self.refresh()

    def refresh(self) -> None:
        """Push new data into the curves and blit them (a full draw only without a background)."""
        h = self._history
        if h is None or h.version == self._drawn:
            return
        self._drawn = h.version
        self._set_lines()
        if self._background is None:
            self._canvas.draw_idle()
        elif self.isVisible():
            self._canvas.restore_region(self._background)
            for line in self.lines:
                self._fig.draw_artist(line)
            self._canvas.blit(self._fig.bbox)
            self.blits += 1

    def _set_lines(self) -> dict:
        c = self._history.curves()
        self.loss_line.set_data(c["x"], c["loss"])
        self.acc_line.set_data(c["x"], c["accuracy"])
        self.val_loss_line.set_data(c["val_x"], c["val_loss"])
        self.val_acc_line.set_data(c["val_x"], c["val_accuracy"])
        return c

    def point_count(self) -> int:
        """How many per-batch points the training curve holds (0 before any data)."""
        return 0 if self._fig is None else len(self.loss_line.get_xdata())


class ConfusionPlot(MplWidget):
    """The confusion matrix as a heat map (log colour scale) with the counts written in. The axes
    and the 100 cell labels are made once; a new matrix only updates them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__((4.2, 3.9), parent)
        self.matrix: np.ndarray | None = None

    def build(self, fig) -> None:
        ax = self.ax = fig.add_subplot()
        self.style_axes(ax, "Confusion matrix")
        cmap = "cividis" if is_dark(self.palette()) else "Blues"
        self.image = ax.imshow(np.zeros((10, 10)), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted digit", fontsize=8, color=self._fg)
        ax.set_ylabel("true digit", fontsize=8, color=self._fg)
        ax.tick_params(length=0)
        self.cells = [[ax.text(p, t, "", ha="center", va="center", fontsize=7, visible=False) for p in range(10)]
                      for t in range(10)]
        for row in self.cells:
            for text in row:
                text.set_in_layout(False)  # the layout only needs the axes' labels

    def set_matrix(self, confusion: np.ndarray) -> None:
        self.figure  # noqa: B018  (builds it)
        self.matrix = np.asarray(confusion)
        shown = np.log10(1 + self.matrix)
        top = max(1e-9, float(shown.max()))
        self.image.set_data(shown)
        self.image.set_clim(0, top)
        dark = is_dark(self.palette())
        for t in range(10):
            for p in range(10):
                v, text = int(self.matrix[t, p]), self.cells[t][p]
                text.set_visible(v > 0)
                if v:
                    light = (shown[t, p] > top * 0.6) != dark
                    text.set_text(str(v))
                    text.set_fontsize(7 if v < 1000 else 6)
                    text.set_color("white" if light else "black")
                    text.set_fontweight("bold" if t != p else "normal")
        self.redraw()


class DataCharts(MplWidget):
    """Class distribution, pixel intensity histogram and the mean image of each digit."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__((6.5, 4.6), parent)
        self.counts: np.ndarray | None = None

    def build(self, fig) -> None:
        grid = fig.add_gridspec(2, 2, height_ratios=[1.3, 1])
        self.ax_counts = fig.add_subplot(grid[0, 0])
        self.ax_hist = fig.add_subplot(grid[0, 1])
        self.ax_means = fig.add_subplot(grid[1, :])

    def show_data(self, counts: np.ndarray | None, hist: tuple[np.ndarray, np.ndarray],
                  means: np.ndarray | None) -> None:
        """Draw the three charts (``counts``/``means`` are None for unlabelled data)."""
        self.figure  # noqa: B018
        self._fig.set_layout_engine("constrained")  # new labels: lay out again at the next draw
        self.counts = None if counts is None else np.asarray(counts)
        for ax in (self.ax_counts, self.ax_hist, self.ax_means):
            ax.clear()
        self.style_axes(self.ax_counts, "Images per digit")
        if counts is not None:
            bars = self.ax_counts.bar(range(10), counts, color=self._accent, width=0.7)
            self.ax_counts.bar_label(bars, labels=[f"{int(c):,}" for c in counts], fontsize=6.5, color=self._fg,
                                     padding=1)
            self.ax_counts.set_ylim(0, max(1, int(np.max(counts))) * 1.18)
        self.ax_counts.set_xticks(range(10))
        self.ax_counts.tick_params(axis="x", length=0)
        self.ax_counts.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
        counts_h, edges = hist
        self.style_axes(self.ax_hist, "Pixel intensities (log scale)")
        self.ax_hist.bar(edges[:-1], counts_h, width=np.diff(edges), align="edge", color=self._accent, alpha=0.85)
        self.ax_hist.set_yscale("log")
        self.ax_hist.set_xlim(0, 256)
        self.ax_hist.set_xlabel("pixel value (0 = background, 255 = ink)", fontsize=8)
        self.style_axes(self.ax_means, "Mean image of each digit")
        self.ax_means.set_xticks([])
        self.ax_means.set_yticks([])
        if means is not None:  # two rows of five, each with its digit in the corner
            cells = [np.pad(m, 2) for m in means]
            tiles = np.concatenate([np.concatenate(cells[:5], axis=1), np.concatenate(cells[5:], axis=1)], axis=0)
            self.ax_means.imshow(tiles, cmap="gray", vmin=0, vmax=max(1.0, float(tiles.max())))
            for d in range(10):
                self.ax_means.text(32 * (d % 5) + 4, 32 * (d // 5) + 4, str(d), color="#ffd166", fontsize=8,
                                   va="top", ha="left", fontweight="bold")
        self.redraw()

    def bar_heights(self) -> list[int]:
        """The heights of the class-distribution bars (for tests)."""
        return [int(p.get_height()) for p in self.ax_counts.patches] if self._fig is not None else []
