# Needs Qt (no window): the results panel shows each digit's ROC AUC and the macro AUC.
from __future__ import annotations

import numpy as np

from digitdesk.core.evaluate import report
from digitdesk.core.trainrequest import Evaluation
from digitdesk.gui.widgets.results_panel import COLUMNS, ResultsPanel


def _evaluation(with_probs: bool) -> Evaluation:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    probs = rng.dirichlet(np.ones(10), 300)
    probs[np.arange(300), labels] += 0.5
    probs /= probs.sum(axis=1, keepdims=True)
    return Evaluation(report(labels, probs.argmax(axis=1), probs if with_probs else None), "300 test images")


def test_auc_column_and_macro_auc(qtbot):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    ev = _evaluation(True)
    panel.show_evaluation(ev, "m")
    col = COLUMNS.index("AUC")
    assert panel.table.horizontalHeaderItem(col).text() == "AUC"
    assert [panel.table.item(d, col).text() for d in range(10)] == [f"{a:.4f}" for a in ev.report.auc]
    assert panel.table.item(3, 2).text() == f"{ev.report.f1[3]:.3f}"  # F1 where it was
    assert f"macro ROC AUC {ev.report.macro_auc:.4f}" in panel.summary_label.text()


def test_without_probabilities_the_auc_is_a_dash(qtbot):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show_evaluation(_evaluation(False), "m")
    assert {panel.table.item(d, COLUMNS.index("AUC")).text() for d in range(10)} == {"–"}
    assert "AUC" not in panel.summary_label.text()
