"""Import TensorFlow once, quietly: its C++ start-up messages (oneDNN notices, absl warnings)
are written straight to file descriptor 2 before any log level applies.

Only the command line (single-threaded, on the main thread) silences them: redirecting the
process's stderr while other threads run (the GUI loads TensorFlow on a worker) would hide
their messages too."""

from __future__ import annotations

import os
import sys
import threading


_lock = threading.Lock()
_imported = False


def import_tensorflow():
    """``import tensorflow`` (and keras) with its native start-up chatter silenced; returns the
    module. One thread at a time: two threads importing TensorFlow at once (the GUI's model loader
    and a training run started right away) can fail with Python's ``_DeadlockError``."""
    global _imported
    if _imported:
        return sys.modules["tensorflow"]
    with _lock:
        tf = _import()
        _imported = True
        return tf


def _import():
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threading.current_thread() is not threading.main_thread() or threading.active_count() > 1:
        import tensorflow
        import keras  # noqa: F401

        return tensorflow
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. a windowed app)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
        import keras  # noqa: F401  (its backend start-up prints too)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
