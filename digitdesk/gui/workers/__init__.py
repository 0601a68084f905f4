"""Background threads of the GUI; every one is made by :func:`threads.new_thread`.

- ``threads.py``: :class:`~threads.WorkerThread` (its event loop entered from Python), the
  thread registry, and :class:`~threads.TaskRunner` (one function at a time, latest wins).
- ``run.py``: :class:`~run.RunThread`, the lifecycle of a run on a fresh thread (start, stop,
  wait, clean up), shared by ``capture.py`` (the webcam), ``training.py`` (the Train tab) and
  ``search.py`` (its hyperparameter search, then the best configuration's training).
- ``recognition.py``: the model every tab reads with, loaded in the background.

Workers call the Qt-free core and emit plain data (numbers, dicts, arrays); they never touch a
widget and import nothing from ``gui.widgets`` or ``gui.tabs``.
"""
