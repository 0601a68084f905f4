"""Import TensorFlow once, quietly: its C++ start-up messages (oneDNN notices, absl warnings)
are written straight to file descriptor 2 before any log level applies (no environment
variable silences them in TensorFlow 2.21), so file descriptor 2 is pointed elsewhere during the
import.

The command line (single-threaded, on the main thread) points it at /dev/null. The desktop app,
which imports TensorFlow on a worker thread while other threads run, names its log file with
:func:`send_native_output_to`: for those seconds every thread's stderr goes there, which is
where the app's own log goes anyway.

Python loads an extension module with its lock held, and TensorFlow's first one pulls in
``libtensorflow_cc`` (750 MB): a quarter to half a second in which no other thread runs, so the
window froze on the session's first training. :func:`preload_native_libraries` loads those
libraries first through the C library's ``dlopen`` called by ``ctypes``, which lets other threads
run meanwhile; the import then finds them loaded. The other long pauses were Python's cyclic
garbage collector, which holds the lock too and, once TensorFlow's objects are in, takes 50-130 ms
a sweep (three in each import, measured here): the import runs with it off (for every thread:
the collector is the process's), and those objects, which live as long as the process, are then
moved out of its sweeps (``gc.freeze``). So are the app's own objects alive at that moment (the
window, its tabs): a reference cycle among them that is dropped later is never collected, which
costs little, since they too mostly live as long as the process."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading


# The TensorFlow wheels that install the same ``tensorflow`` package: with two of them installed,
# each overwrote the other's files and the mix is neither (found by importlib.metadata).
TENSORFLOW_WHEELS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos")
GPU_INSTALL = 'pip uninstall -y tensorflow-cpu && pip install "tensorflow[and-cuda]==VERSION"'
CPU_INSTALL = 'pip uninstall -y tensorflow && pip install --force-reinstall "tensorflow-cpu==VERSION"'


def installed_tensorflow_wheels() -> dict[str, str]:
    """The TensorFlow wheels installed where Python looks (name: version)."""
    import re
    from importlib import metadata

    found = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", (dist.metadata["Name"] or "")).lower()
        if name in TENSORFLOW_WHEELS:
            found.setdefault(name, dist.version)
    return found


def tensorflow_conflict() -> str | None:
    """A message with the fix when more than one TensorFlow wheel is installed, else None."""
    wheels = installed_tensorflow_wheels()
    if len(wheels) < 2:
        return None
    listed = ", ".join(f"{name} {version}" for name, version in sorted(wheels.items()))
    version = wheels.get("tensorflow-cpu") or wheels.get("tensorflow") or "VERSION"
    return (f"two TensorFlow wheels are installed together ({listed}): they overwrite each other's files. "
            f"Keep one: for an NVIDIA GPU, {GPU_INSTALL.replace('VERSION', version)}; for the CPU only, "
            f"{CPU_INSTALL.replace('VERSION', version)}")


_lock = threading.Lock()
_imported = False
_native_log: str | None = None  # a file for the import's native output, on any thread


def send_native_output_to(path: str | os.PathLike | None) -> str | None:
    """Write TensorFlow's native start-up output to ``path`` (appended) whichever thread imports
    it; ``None``: silence it on the main thread of a single-threaded process only (the default).
    Returns the path it was sent to before."""
    global _native_log
    before, _native_log = _native_log, (os.fspath(path) if path is not None else None)
    return before


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
    collecting = gc.isenabled()
    gc.disable()
    try:
        with native_output_quieted():
            preload_native_libraries()
            import tensorflow
            import keras  # noqa: F401  (its backend start-up prints too)
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    return tensorflow


# TensorFlow's shared libraries on Linux, in the order they depend on each other.
NATIVE_LIBRARIES = ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2")


def preload_native_libraries() -> list[str]:
    """Load TensorFlow's big shared libraries with Python's lock released (see the module's
    docstring), with the flags Python's own import uses; returns the paths loaded. Does nothing
    where they are not found (other platforms, another layout): the import loads them then, as
    before. Nothing is imported: a library's initializers run as they would in the import."""
    if not sys.platform.startswith("linux"):
        return []
    import ctypes
    import importlib.util

    try:
        spec = importlib.util.find_spec("tensorflow")
        dlopen = ctypes.CDLL(None).dlopen  # a foreign call: ctypes releases the lock around it
    except (ImportError, ValueError, OSError, AttributeError):
        return []
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    folders = list(spec.submodule_search_locations or []) if spec else []
    loaded = []
    for name in NATIVE_LIBRARIES if folders else ():
        path = os.path.join(folders[0], name)
        if os.path.isfile(path) and dlopen(os.fsencode(path), sys.getdlopenflags()):
            loaded.append(path)  # the handle stays open: TensorFlow is never unloaded
    return loaded


@contextlib.contextmanager
def native_output_quieted():
    """Point file descriptor 2 at the native log (:func:`send_native_output_to`) or, on the main
    thread of a single-threaded process, at /dev/null; else leave it (it would silence other
    threads). Also used around LiteRT's start-up ("Created TensorFlow Lite XNNPACK delegate")."""
    alone = threading.current_thread() is threading.main_thread() and threading.active_count() == 1
    if not alone and _native_log is None:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. a windowed app)
        yield
        return
    try:
        target = os.open(_native_log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        target = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)
