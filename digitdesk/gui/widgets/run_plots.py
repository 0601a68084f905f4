"""The Runs view's charts (``Figure`` + ``FigureCanvasQTAgg`` through :class:`MplWidget`): the
per-epoch loss and accuracy of several runs overlaid, and their confusion matrices side by side.

They change only when the selection does, so each change clears and redraws the figure once
(``draw_idle``); the live, per-batch plot of a run in progress is :class:`~plots.LivePlot`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from digitdesk.gui.widgets.plots import MplWidget
from digitdesk.gui.widgets.theme import is_dark

RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")  # tab10
MAX_TITLE = 22  # characters of a run's name over its confusion matrix


def run_color(index: int) -> str:
    """The colour of the ``index``-th compared run (the same in the curves and the table)."""
    return RUN_COLORS[index % len(RUN_COLORS)]


def _short(name: str) -> str:
    return name if len(name) <= MAX_TITLE else name[:MAX_TITLE - 1] + "…"


class RunCurves(MplWidget):
    """Training (solid) and validation (dashed) loss and accuracy per epoch, one colour per run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__((6.0, 2.6), parent)
        self.names: list[str] = []  # the runs drawn, in legend order
        self.legend = None

    def show_runs(self, series: list[tuple[str, str, dict]]) -> None:
        """Draw ``(name, colour, curves)`` of each run (curves as :func:`runcompare.curves` gives)."""
        fig = self.figure
        fig.clear()
        fig.set_layout_engine("constrained")  # new content: lay out again at the next draw
        self.names, self.legend = [], None
        if not series:
            fig.text(0.5, 0.5, "Select runs in the table to compare their curves\n(Ctrl or Shift + click for several)",
                     ha="center", va="center", color=self._fg, alpha=0.7, fontsize=9)
            self.redraw()
            return
        self.ax_loss, self.ax_acc = fig.subplots(1, 2)
        for ax, title in ((self.ax_loss, "Loss per epoch"), (self.ax_acc, "Accuracy per epoch")):
            self.style_axes(ax, title)
            ax.set_xlabel("epoch", fontsize=8)
            ax.grid(True, alpha=0.15, color=self._fg)
        handles = []
        for name, color, c in series:
            x = c["epoch"]
            (line,) = self.ax_loss.plot(x, c["loss"], "-", color=color, lw=1.5, marker="o", ms=3, label=name)
            self.ax_loss.plot(x, c["val_loss"], "--", color=color, lw=1.2, marker="o", ms=3, mfc="none")
            self.ax_acc.plot(x, c["accuracy"], "-", color=color, lw=1.5, marker="o", ms=3)
            self.ax_acc.plot(x, c["val_accuracy"], "--", color=color, lw=1.2, marker="o", ms=3, mfc="none")
            handles.append(line)
            self.names.append(name)
        self.ax_acc.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}" if v < 0.995 else f"{v:.1%}")
        for ax in (self.ax_loss, self.ax_acc):
            ax.xaxis.get_major_locator().set_params(integer=True)
        from matplotlib.lines import Line2D

        styles = [Line2D([], [], color=self._fg, lw=1.2, ls="-", label="training"),
                  Line2D([], [], color=self._fg, lw=1.2, ls="--", label="validation")]
        kinds = self.ax_loss.legend(handles=styles, loc="best", fontsize=7, frameon=False)
        columns = max(1, min(len(handles), self.width() // 170))  # names side by side as far as they fit
        self.legend = fig.legend(handles=handles, labels=[_short(n) for n in self.names], loc="outside lower center",
                                 ncols=columns, fontsize=8, frameon=False)
        for text in [*self.legend.get_texts(), *kinds.get_texts()]:
            text.set_color(self._fg)
        self.redraw()

    def colors(self) -> list[str]:
        """The colour of each run's training-loss line (for tests)."""
        if not self.names:
            return []
        return [line.get_color() for line in self.ax_loss.get_lines()[::2]]


class ConfusionGrid(MplWidget):
    """Small confusion-matrix heat maps side by side, each titled with its run's name."""

    MAX = 6  # matrices shown at most

    def __init__(self, parent: QWidget | None = None):
        super().__init__((4.5, 2.6), parent)
        self.titles: list[str] = []
        self.matrices: list[np.ndarray | None] = []

    def show_matrices(self, items: list[tuple[str, str, np.ndarray | None, float | None]]) -> None:
        """Draw ``(name, colour, confusion or None, test accuracy or None)`` of each run."""
        fig = self.figure
        fig.clear()
        fig.set_layout_engine("constrained")
        items = items[:self.MAX]
        self.titles = [name for name, *_ in items]
        self.matrices = [m for _, _, m, _ in items]
        if not items:
            fig.text(0.5, 0.5, "Confusion matrices of the\nselected runs appear here",
                     ha="center", va="center", color=self._fg, alpha=0.7, fontsize=9)
            self.redraw()
            return
        cmap = "cividis" if is_dark(self.palette()) else "Blues"
        for ax, (name, color, matrix, accuracy) in zip(np.atleast_1d(fig.subplots(1, len(items))), items):
            ax.set_facecolor(self._bg)
            ax.set_title(_short(name) + ("" if accuracy is None else f"\n{accuracy:.2%}"), fontsize=8, color=color)
            ax.set_xticks(range(10))
            ax.set_yticks(range(10))
            ax.tick_params(colors=self._fg, labelsize=6, length=0)
            for spine in ax.spines.values():
                spine.set_color(color)
                spine.set_linewidth(1.5)
            if matrix is None:
                ax.text(4.5, 4.5, "no test\nmetrics", ha="center", va="center", color=self._fg, fontsize=8)
                ax.set_xlim(-0.5, 9.5)
                ax.set_ylim(9.5, -0.5)
                ax.set_aspect("equal")
            else:
                ax.imshow(np.log10(1 + matrix), cmap=cmap, vmin=0)
        for ax in fig.axes:
            ax.set_xlabel("predicted digit", fontsize=7, color=self._fg)
        fig.axes[0].set_ylabel("true digit", fontsize=7, color=self._fg)
        self.redraw()
