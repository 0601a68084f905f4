"""Widgets the tabs are built from: the drawing canvas, image and frame views, digit cards,
plots, the train form and results panel, the Train tab's Runs page (``runs_view.py`` with its
table model ``runs_table.py`` and charts ``run_plots.py``), its Search page (``search_view.py``
with its settings ``search_form.py``), the Ensemble dialog, the correction
menus, theme colours, the one ndarray <-> QImage helper (``qimage.py``) and the pages of a tab
widget built when first shown (``lazy_tabs.py``, the main window's Train, Models and Data tabs).

Widgets show plain data and emit signals, and import no tab. They start no thread of their own,
with three exceptions: the Ensemble dialog and the "Why this digit?" dialog (``explain_dialog.py``)
are small windows of their own and work on a ``workers.threads.TaskRunner`` each owns (stopped
when the dialog closes), and the Search page runs its search on a ``workers.search.SearchSession``
and saves on a TaskRunner (both stopped by the Train tab's shutdown).
"""
