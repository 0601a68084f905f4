"""Widgets the tabs are built from: the drawing canvas, image and frame views, digit cards,
plots, the train form and results panel, the correction menus, theme colours and the one
ndarray <-> QImage helper (``qimage.py``).

Widgets show plain data and emit signals; they start no thread (the tabs own the workers) and
import no tab.
"""
