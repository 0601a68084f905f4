"""``digitdesk self-test``: prove that an installation (source tree, wheel or frozen bundle) works.

Four checks, each printed on one line with its time:

- model: the bundled model loads (safe mode, contract check, warm-up);
- samples: the images in ``resources/samples/`` read as ``labels.json`` says;
- window: the main window opens offscreen, loads the model on its worker thread, renders every
  tab, and reads a number drawn on the Draw tab; the Train tab trains a tiny net (Start), and its
  live curves and results (confusion matrix, per-digit table, misclassified gallery) are checked
  and rendered, and the model saved; the Data tab draws its charts; the Models tab lists the model;
- training: a tiny net trains for a few steps on synthetic digits, is saved to a temporary user
  folder, reloads with the same outputs, and its confusion matrix is plotted (matplotlib) as
  ``digitdesk evaluate --report`` does.

Before them, an installation with two TensorFlow wheels (``tensorflow`` and ``tensorflow-cpu``,
which overwrite each other's files) fails as ``install``, with the command that keeps one.

A check fails when it raises, and also when anything else goes wrong while it runs: an uncaught
exception (``sys.excepthook``, ``threading.excepthook``, ``sys.unraisablehook``, which is where
PySide sends an error in a Qt override or slot), a Qt message at critical level, or a log record
at ERROR or above. The failure line names the check and the first such problem.

Meanwhile ``$DIGITDESK_HOME`` points at a temporary user folder and ``$DIGITDESK_DATA`` at a tiny
synthetic MNIST in it (so nothing is downloaded); Qt settings go there too. Nothing is written
elsewhere, and the folder is removed at the end.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

import digitdesk
from digitdesk.core.data import ENV_VAR as DATA_ENV
from digitdesk.core.paths import HOME_ENV, default_model_path, resource_path

CHECKS = ("model", "samples", "window", "training")
_GUI_CHECKS = {"window"}
EXIT_FAILED = 1


class CheckFailed(Exception):
    """A check found something wrong; the message says what, for a person."""


class _Context:
    """What the checks share: the model to test, the loaded recognizer, the temporary folder."""

    def __init__(self, model: Path, tmp: Path):
        self.model, self.tmp = model, tmp
        self.recognizer = None


class _Watch(logging.Handler):
    """While one check runs, collects what goes wrong outside its own code: uncaught exceptions
    (sys/threading excepthook, unraisable hook), Qt critical messages, log records at ERROR or
    above. Tracebacks are printed to stderr as they arrive."""

    def __init__(self, qt: bool):
        super().__init__(logging.ERROR)
        self.problems: list[str] = []
        self._qt = qt
        self._loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                                  if isinstance(lg, logging.Logger) and not lg.propagate]

    def _add(self, where: str, text: str) -> None:
        self.problems.append(f"{text} ({where})")

    def summary(self, most: int = 3) -> str:
        """The first ``most`` different problems, with how often each came."""
        counts = {p: self.problems.count(p) for p in self.problems}  # first-seen order
        shown = [p if n == 1 else f"{p} x{n}" for p, n in list(counts.items())[:most]]
        return "; ".join(shown) + (f"; and {len(counts) - most} more" if len(counts) > most else "")

    def _exception(self, where: str, exc_type, exc, tb) -> None:
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        self._add(where, f"{exc_type.__name__}: {exc}".strip())

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname} {record.name}: {self.format(record)}", file=sys.stderr)
        first = record.getMessage().strip().splitlines()
        self._add(f"logged at {record.levelname} by {record.name}", first[-1] if first else "")

    def _qt_message(self, mode, context, message: str) -> None:
        from PySide6.QtCore import QtMsgType

        print(f"Qt: {message}", file=sys.stderr)
        if mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            self._add("Qt critical message", message)

    def __enter__(self) -> "_Watch":
        self._saved = sys.excepthook, threading.excepthook, sys.unraisablehook
        sys.excepthook = lambda t, e, tb: self._exception("uncaught, sys.excepthook", t, e, tb)
        threading.excepthook = lambda a: self._exception(f"uncaught in thread {a.thread.name if a.thread else '?'}",
                                                         a.exc_type, a.exc_value, a.exc_traceback)
        sys.unraisablehook = lambda u: self._exception(f"unraisable, {u.err_msg or 'sys.unraisablehook'}",
                                                       u.exc_type, u.exc_value, u.exc_traceback)
        for logger in self._loggers:
            logger.addHandler(self)
        if self._qt:
            from PySide6.QtCore import qInstallMessageHandler

            self._saved_qt = qInstallMessageHandler(self._qt_message)
        return self

    def __exit__(self, *exc) -> None:
        sys.excepthook, threading.excepthook, sys.unraisablehook = self._saved
        for logger in self._loggers:
            logger.removeHandler(self)
        if self._qt:
            from PySide6.QtCore import qInstallMessageHandler

            qInstallMessageHandler(self._saved_qt)


def _shown(text: str) -> str:
    return '"' + text.replace("\n", "/") + '"'


# Checks: each returns a one-line description of what it proved, or raises CheckFailed. ------------


def check_model(ctx: _Context) -> str:
    """Load the model to test (default: the bundled one)."""
    from digitdesk.core.errors import DigitdeskError
    from digitdesk.core.recognizer import Recognizer

    try:
        ctx.recognizer = rec = Recognizer.load(ctx.model)
    except DigitdeskError as exc:
        raise CheckFailed(str(exc)) from None
    if rec.runtime != "litert":
        raise CheckFailed(f"{rec.path}: read with TensorFlow, not LiteRT ({rec.twin_problem})")
    _no_tensorflow("loading the model")
    acc = f", MNIST test accuracy {rec.accuracy:.2%}" if rec.accuracy is not None else ""
    arch = rec.metadata.get("architecture", "?")
    params = rec.metadata.get("parameters") or rec.model.count_params()
    return f"{rec.name} ({arch}, {params:,} parameters{acc}) from {rec.path}, read with LiteRT"


def _no_tensorflow(what: str) -> None:
    """CheckFailed if TensorFlow has been imported (reading must not need it)."""
    if "tensorflow" in sys.modules:
        raise CheckFailed(f"{what} imported TensorFlow (reading must need LiteRT only)")


def load_samples() -> list[dict]:
    """The shipped sample images with their known text, from ``resources/samples/labels.json``."""
    manifest = resource_path("resources", "samples", "labels.json")
    try:
        samples = json.loads(manifest.read_text())["samples"]
    except (OSError, ValueError, KeyError) as exc:
        raise CheckFailed(f"{manifest}: cannot read the sample list ({exc})") from None
    if not samples:
        raise CheckFailed(f"{manifest}: lists no samples")
    return samples


def check_samples(ctx: _Context) -> str:
    """Read every sample image and compare with its label."""
    from digitdesk.core.errors import DigitdeskError
    from digitdesk.core.imageio import read_image

    samples = load_samples()
    read, wrong = [], []
    for sample in samples:
        path = resource_path("resources", "samples", sample["file"])
        try:
            text = ctx.recognizer.read(read_image(path)).text
        except DigitdeskError as exc:
            wrong.append(f"{sample['file']}: {exc}")
            continue
        if text != sample["text"]:
            wrong.append(f"{sample['file']}: read {_shown(text)}, expected {_shown(sample['text'])}")
        read.append(f"{sample['file']} {_shown(text)}")
    if wrong:
        raise CheckFailed(f"{len(wrong)} of {len(samples)} samples wrong: " + "; ".join(wrong))
    _no_tensorflow("reading the samples")
    return f"{len(samples)}/{len(samples)} images read as labelled, without TensorFlow: " + ", ".join(read)


def _wait_until(app, done: Callable[[], bool], timeout: float) -> bool:
    """Process Qt events until ``done()`` or ``timeout`` seconds; whether it got done."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.005)
    return False


def _rendered(name: str, widget) -> str:
    """Grab ``widget`` offscreen; its size, or CheckFailed if the picture is empty or blank."""
    from digitdesk.gui.widgets.qimage import qimage_to_array

    pixels = qimage_to_array(widget.grab().toImage())
    if pixels.ndim < 2 or pixels.shape[0] < 50 or pixels.shape[1] < 50:
        raise CheckFailed(f"the {name} tab rendered an empty picture {pixels.shape}")
    channels = pixels.reshape(pixels.shape[0] * pixels.shape[1], -1).astype(np.int64)
    colours = np.unique(sum(channels[:, k] << (8 * k) for k in range(channels.shape[1])))
    if len(colours) < 8:
        raise CheckFailed(f"the {name} tab rendered a blank picture ({len(colours)} colours)")
    return f"{name} {pixels.shape[1]}x{pixels.shape[0]}"


def _banner(widget) -> str:
    """The error a tab's MessageBanner shows ("" if none)."""
    return widget.banner.text() if not widget.banner.isHidden() else ""


def _train_tab(app, win) -> tuple[str, object]:
    """Train a tiny net on the Train tab as a person would (Start), then check and render its live
    curves and its results: confusion matrix, per-digit table, misclassified gallery; save it.
    Returns what it proved and the saved model's ModelInfo."""
    tab = win.train_tab
    win.tabs.setCurrentWidget(tab)
    form = tab.form
    form.source_combo.setCurrentIndex(form.source_combo.findData("mnist"))  # $DIGITDESK_DATA: synthetic
    form.arch_combo.setCurrentIndex(form.arch_combo.findData("tiny"))
    for spin, value in ((form.epochs_spin, 2), (form.batch_spin, 32), (form.max_train_spin, 320),
                        (form.max_test_spin, 128), (form.val_spin, 10), (form.early_spin, 0)):
        spin.setValue(value)
    form.augment_check.setChecked(False)
    evaluations: list = []
    tab.evaluated.connect(evaluations.append)
    tab.start_button.click()
    if not tab.running:
        raise CheckFailed(f"the Train tab did not start a run: {_banner(tab) or tab.status_label.text()}")
    if not _wait_until(app, lambda: bool(evaluations) or bool(_banner(tab)), 300):
        raise CheckFailed("the Train tab's tiny run did not finish within 300 s")
    if not evaluations:
        raise CheckFailed(f"the Train tab: {_banner(tab)}")
    _wait_until(app, lambda: not tab.running, 10)
    ev, plot = evaluations[0], tab.plot
    points, batches = plot.point_count(), len(tab.history.x)
    if batches == 0 or points != batches or plot.redraws + plot.blits == 0:
        raise CheckFailed(f"the Train tab's live plot shows {points} of {batches} batches "
                          f"({plot.redraws} draws, {plot.blits} blits)")
    tab.views.setCurrentIndex(0)
    _wait_until(app, lambda: False, 0.05)
    shown = [_rendered("Train tab's live plot", plot)]
    tab.views.setCurrentIndex(1)
    results = tab.results
    if not _wait_until(app, lambda: results.confusion.matrix is not None, 10):
        raise CheckFailed("the Train tab's results show no confusion matrix")
    rep = ev.report
    if not np.array_equal(results.confusion.matrix, rep.confusion) or int(results.confusion.matrix.sum()) != rep.count:
        raise CheckFailed(f"the Train tab's confusion matrix does not match the test of {rep.count} images")
    cells = [results.table.item(d, c) for d in range(10) for c in range(4)]
    if any(item is None or not item.text() for item in cells):
        raise CheckFailed("the Train tab's per-digit table is not filled in")
    if results.gallery.count() != len(ev.wrong_true):
        raise CheckFailed(f"the misclassified gallery shows {results.gallery.count()} of {len(ev.wrong_true)} digits")
    _wait_until(app, lambda: False, 0.05)
    shown += [_rendered("Train tab's confusion matrix", results.confusion),
              _rendered("Train tab's per-digit table", results.table)]
    if results.gallery.count():
        shown.append(_rendered("Train tab's misclassified gallery", results.gallery))
    saved: list = []
    tab.modelSaved.connect(saved.append)
    results.name_edit.setText("self-test")
    results.save_button.click()
    if not _wait_until(app, lambda: bool(saved) or bool(_banner(tab)), 60) or not saved:
        raise CheckFailed(f"the Train tab did not save the model: {_banner(tab) or 'no answer within 60 s'}")
    return (f"Train tab: tiny net trained ({batches} batches plotted, test accuracy {rep.accuracy:.0%}, "
            f"{results.gallery.count()} mistakes in the gallery), saved; rendered {', '.join(shown)}"), saved[0]


def _data_tab(app, win) -> str:
    """The Data tab loads the (synthetic) MNIST and draws its charts."""
    tab = win.data_tab
    win.tabs.setCurrentWidget(tab)
    if not _wait_until(app, lambda: tab.exploration is not None or bool(_banner(tab)), 60):
        raise CheckFailed("the Data tab did not load MNIST within 60 s")
    if tab.exploration is None:
        raise CheckFailed(f"the Data tab: {_banner(tab)}")
    counts = tab.exploration.counts
    if counts is None or tab.charts.bar_heights() != [int(c) for c in counts]:
        raise CheckFailed(f"the Data tab's chart shows {tab.charts.bar_heights()} images per digit, "
                          f"expected {None if counts is None else [int(c) for c in counts]}")
    _wait_until(app, lambda: False, 0.05)
    return f"Data tab: {int(sum(counts)):,} images, rendered {_rendered('Data tab charts', tab.charts)}"


def _models_tab(app, win, saved) -> str:
    """The Models tab lists the bundled model and the one the Train tab saved."""
    tab = win.models_tab
    win.tabs.setCurrentWidget(tab)
    _wait_until(app, lambda: False, 0.05)
    names = [m.name for m in tab.models]
    if tab.row_of(saved.id) < 0 or not any(m.bundled for m in tab.models):
        raise CheckFailed(f"the Models tab lists {names}, not the bundled model and \"{saved.name}\"")
    return f"Models tab: lists {len(names)} models ({', '.join(names)}), rendered {_rendered('Models tab', tab)}"


def check_window(ctx: _Context) -> str:
    """Open the main window offscreen, let it load the model, render every tab, draw a number,
    train on the Train tab (live plot, results), load the Data tab's charts, list the models."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from digitdesk.gui import create_main_window
    from digitdesk.gui.app import configure_application
    from digitdesk.gui.widgets.canvas import draw_number
    from digitdesk.gui.workers.threads import running_threads

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    previous_format = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)  # neither read nor change the user's settings
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(ctx.tmp / "settings"))
    win = create_main_window(model=ctx.model)
    failed: list[str] = []
    win.model.failed.connect(failed.append)
    try:
        win.resize(1180, 780)
        win.show()
        if not _wait_until(app, lambda: win.model.recognizer is not None or bool(failed), 120):
            raise CheckFailed("the window did not load the model within 120 s")
        if failed:
            raise CheckFailed(f"the window could not load the model: {failed[0]}")
        rendered = []
        for i in range(win.tabs.count()):
            win.tabs.setCurrentIndex(i)
            _wait_until(app, lambda: False, 0.05)  # let the tab lay itself out
            rendered.append(_rendered(win.tabs.tabText(i), win.tabs.widget(i)))
        win.tabs.setCurrentWidget(win.draw_tab)
        readings: list[str] = []
        win.draw_tab.readingShown.connect(readings.append)
        _wait_until(app, lambda: False, 0.05)
        draw_number(win.draw_tab.canvas, "2026")
        if not _wait_until(app, lambda: "2026" in readings, 20):
            raise CheckFailed(f'"2026" drawn on the Draw tab was read as {readings[-1:] or "nothing"} within 20 s')
        _no_tensorflow("the window, loading the model and reading the canvas,")
        train, saved = _train_tab(app, win)
        details = [train, _data_tab(app, win), _models_tab(app, win, saved)]
    finally:
        win.close()
        _wait_until(app, lambda: not running_threads(), 10)
        QSettings.setDefaultFormat(previous_format)
    if running_threads():
        raise CheckFailed(f"worker threads still running after the window closed: {running_threads()}")
    return (f"{len(rendered)} tabs rendered ({', '.join(rendered)}); \"2026\" drawn on the canvas read as "
            f"\"2026\" without TensorFlow; " + "; ".join(details))


def synthetic_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` MNIST-framed synthetic digits (mouse-drawn and other hands) with labels 0..9."""
    from digitdesk.core.preprocess import frame_digit
    from digitdesk.core.synth import render_digit

    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = np.stack([frame_digit(render_digit(int(d), ("drawn", "hands")[i % 2], rng, size=64))
                       for i, d in enumerate(labels)])
    return images, labels.astype(np.int64)


def write_synthetic_mnist(folder: Path, train: int = 512, test: int = 128) -> Path:
    """A tiny stand-in for MNIST, ``folder/mnist.npz`` in the Keras layout, of synthetic digits."""
    images, labels = synthetic_digits(train + test)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "mnist.npz", x_train=images[:train], y_train=labels[:train],
                        x_test=images[train:], y_test=labels[train:])
    return folder


def check_training(ctx: _Context) -> str:
    """Train the tiny net briefly on the synthetic MNIST, save it to the temporary user folder,
    reload, compare and plot its confusion matrix."""
    from digitdesk.core.data import load_mnist
    from digitdesk.core.evaluate import report, save_confusion_png
    from digitdesk.core.modelio import load_model, read_metadata
    from digitdesk.core.paths import user_data_dir
    from digitdesk.core.trainjob import train_and_save
    from digitdesk.core.training import TrainConfig

    data = load_mnist(download=False)  # $DIGITDESK_DATA: the synthetic set
    config = TrainConfig(arch="tiny", epochs=2, batch_size=64, learning_rate=3e-3, schedule="constant",
                         validation_split=0.125, seed=0)
    out = user_data_dir() / "models" / "selftest.keras"
    result, meta = train_and_save(config, data, out, name="selftest")
    losses = result.history.get("loss", [])
    if result.epochs_run != config.epochs or len(losses) != config.epochs or not np.all(np.isfinite(losses)):
        raise CheckFailed(f"training ran {result.epochs_run}/{config.epochs} epochs, losses {losses}")
    if losses[-1] >= losses[0]:
        raise CheckFailed(f"the training loss did not go down: {losses}")
    if not out.is_file() or read_metadata(out).get("name") != "selftest":
        raise CheckFailed(f"{out}: the model or its metadata was not saved")
    reloaded = load_model(out)
    x = data.test.images.astype(np.float32)[..., None]
    diff = float(np.max(np.abs(reloaded(x, training=False).numpy() - result.model(x, training=False).numpy())))
    if diff > 1e-5:
        raise CheckFailed(f"the reloaded model gives different outputs (max difference {diff:.2g})")
    from digitdesk.core.recognizer import Recognizer

    twin = Recognizer.load(out)  # through the LiteRT twin train_and_save wrote beside it
    if twin.runtime != "litert":
        raise CheckFailed(f"{out}: no usable LiteRT twin was written ({twin.twin_problem})")
    twin_diff = float(np.max(np.abs(twin.classify(data.test.images) - result.model(x, training=False).numpy())))
    if twin_diff > 1e-4:
        raise CheckFailed(f"the LiteRT twin gives different outputs (max difference {twin_diff:.2g})")
    plot = out.parent / "confusion.png"  # as `digitdesk evaluate --report` draws it (matplotlib)
    save_confusion_png(report(data.test.labels, reloaded(x, training=False).numpy().argmax(axis=1)), str(plot))
    if not plot.is_file() or plot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckFailed(f"{plot}: the confusion matrix plot was not written")
    return (f"tiny net, {config.epochs} epochs on {len(data.train)} synthetic digits (loss {losses[0]:.2f} -> "
            f"{losses[-1]:.2f}), saved to the user folder {out.parent}, reloaded with the same outputs, its LiteRT "
            f"twin within {twin_diff:.1g}, "
            "confusion matrix plotted")


_FUNCTIONS = {"model": check_model, "samples": check_samples, "window": check_window, "training": check_training}
_NEEDS_MODEL = {"samples", "window"}


def _where() -> str:
    if getattr(sys, "frozen", False):
        return f"frozen bundle {Path(sys.executable).resolve().parent}"
    return f"source {Path(digitdesk.__file__).resolve().parent.parent}"


def _versions() -> str:
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "PySide6": "PySide6", "cv2": "OpenCV", "numpy": "NumPy"}
    return ", ".join(f"{label} {getattr(sys.modules[mod], '__version__', '?')}"
                     for mod, label in names.items() if mod in sys.modules)


def run(verbose: bool = True, model: str | os.PathLike | None = None, checks: tuple[str, ...] = CHECKS) -> int:
    """Run ``checks`` against ``model`` (default: the bundled one); print one line per check
    (only failures unless ``verbose``) and a summary. Returns 0 if all passed, else 1."""
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {CHECKS}")
    wanted = set(checks) | ({"model"} if _NEEDS_MODEL & set(checks) else set())  # they use the model it loads
    checks = tuple(c for c in CHECKS if c in wanted)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = sys.stdout
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="digitdesk-selftest-"))
    saved_env = {name: os.environ.get(name) for name in (HOME_ENV, DATA_ENV)}
    os.environ[HOME_ENV] = str(tmp / "home")
    ctx = _Context(Path(model) if model else default_model_path(), tmp)
    failures: list[str] = []
    if verbose:
        print(f"digitdesk {digitdesk.__version__} self-test: {_where()}, Python {platform.python_version()}, "
              f"{platform.system()} {platform.machine()}", file=out, flush=True)
    from digitdesk.core.tfimport import send_native_output_to, tensorflow_conflict

    # TensorFlow's native start-up notices (oneDNN, absl) go to a file, not between the lines
    # of the report; they are shown if a check fails.
    native_log = tmp / "tensorflow-native.log"
    native_before = send_native_output_to(native_log)
    conflict = tensorflow_conflict()  # before anything imports it
    if conflict:
        failures.append(f"install: {conflict}")
        print(f"FAIL  install     0.0 s  {conflict}", file=out, flush=True)
    try:
        if {"window", "training"} & set(checks):  # the Data tab and training read MNIST
            os.environ[DATA_ENV] = str(write_synthetic_mnist(tmp / "home" / "synthetic-mnist"))
        for name in checks:
            t0 = time.perf_counter()
            if name in _NEEDS_MODEL and ctx.recognizer is None:
                print(f"skip  {name:<9}         needs the model", file=out, flush=True)
                continue
            with _Watch(qt=bool(_GUI_CHECKS & set(checks))) as watch:
                try:
                    status, detail = "ok", _FUNCTIONS[name](ctx)
                except CheckFailed as exc:
                    status, detail = "FAIL", str(exc)
                except Exception as exc:  # an unexpected error is a failed check, with its traceback
                    traceback.print_exc(file=sys.stderr)
                    status, detail = "FAIL", f"{type(exc).__name__}: {exc}".strip()
            if watch.problems:  # the check may have finished, but something went wrong meanwhile
                detail = watch.summary() + (f"; then {detail}" if status == "FAIL" else "")
                status = "FAIL"
            if status == "FAIL":
                failures.append(f"{name}: {detail}")
            if verbose or status == "FAIL":
                print(f"{status:<5} {name:<9} {time.perf_counter() - t0:5.1f} s  {detail}", file=out, flush=True)
    finally:
        send_native_output_to(native_before)
        if failures and native_log.is_file() and native_log.stat().st_size:
            tail = native_log.read_text(errors="replace").splitlines()[-20:]
            print("TensorFlow's native output during the checks:\n" + "\n".join(tail), file=sys.stderr)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(tmp, ignore_errors=True)
    took = time.perf_counter() - start
    if failures:
        print(f"self-test FAILED ({len(failures)} of {len(checks)} checks) in {took:.1f} s: " + " | ".join(failures),
              file=out, flush=True)
        return EXIT_FAILED
    if verbose:
        print(f"self-test passed: {len(checks)} check{'s' * (len(checks) != 1)} in {took:.1f} s ({_versions()})",
              file=out, flush=True)
    return 0
