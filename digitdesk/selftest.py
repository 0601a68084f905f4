"""``digitdesk self-test``: prove that an installation (source tree, wheel or frozen bundle) works.

Four checks, each printed on one line with its time:

- model: the bundled model loads (safe mode, contract check, warm-up);
- samples: the images in ``resources/samples/`` read as ``labels.json`` says;
- window: the main window opens offscreen, loads the model on its worker thread, renders every
  tab, and reads a number drawn on the Draw tab;
- training: a tiny net trains for a few steps on synthetic digits, is saved to a temporary user
  folder, reloads with the same outputs, and its confusion matrix is plotted (matplotlib) as
  ``digitdesk evaluate --report`` does.

Meanwhile ``$DIGITDESK_HOME`` points at a temporary user folder and ``$DIGITDESK_DATA`` at a tiny
synthetic MNIST in it (so nothing is downloaded); Qt settings go there too. Nothing is written
elsewhere, and the folder is removed at the end.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

import digitdesk
from digitdesk.core.data import ENV_VAR as DATA_ENV
from digitdesk.core.paths import HOME_ENV, default_model_path, resource_path

CHECKS = ("model", "samples", "window", "training")
EXIT_FAILED = 1


class CheckFailed(Exception):
    """A check found something wrong; the message says what, for a person."""


class _Context:
    """What the checks share: the model to test, the loaded recognizer, the temporary folder."""

    def __init__(self, model: Path, tmp: Path):
        self.model, self.tmp = model, tmp
        self.recognizer = None


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
    acc = f", MNIST test accuracy {rec.accuracy:.2%}" if rec.accuracy is not None else ""
    arch = rec.metadata.get("architecture", "?")
    return f"{rec.name} ({arch}, {rec.model.count_params():,} parameters{acc}) from {rec.path}"


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
    return f"{len(samples)}/{len(samples)} images read as labelled: " + ", ".join(read)


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
    from digitdesk.gui.qimage import qimage_to_array

    pixels = qimage_to_array(widget.grab().toImage())
    if pixels.ndim < 2 or pixels.shape[0] < 50 or pixels.shape[1] < 50:
        raise CheckFailed(f"the {name} tab rendered an empty picture {pixels.shape}")
    channels = pixels.reshape(pixels.shape[0] * pixels.shape[1], -1).astype(np.int64)
    colours = np.unique(sum(channels[:, k] << (8 * k) for k in range(channels.shape[1])))
    if len(colours) < 8:
        raise CheckFailed(f"the {name} tab rendered a blank picture ({len(colours)} colours)")
    return f"{name} {pixels.shape[1]}x{pixels.shape[0]}"


def check_window(ctx: _Context) -> str:
    """Open the main window offscreen, let it load the model, render every tab, draw a number."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from digitdesk.gui import create_main_window
    from digitdesk.gui.app import configure_application
    from digitdesk.gui.demo import draw_number
    from digitdesk.gui.workers import running_threads

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
    finally:
        win.close()
        _wait_until(app, lambda: not running_threads(), 10)
        QSettings.setDefaultFormat(previous_format)
    if running_threads():
        raise CheckFailed(f"worker threads still running after the window closed: {running_threads()}")
    return f"{len(rendered)} tabs rendered ({', '.join(rendered)}); \"2026\" drawn on the canvas read as \"2026\""


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
    plot = out.parent / "confusion.png"  # as `digitdesk evaluate --report` draws it (matplotlib)
    save_confusion_png(report(data.test.labels, reloaded(x, training=False).numpy().argmax(axis=1)), str(plot))
    if not plot.is_file() or plot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckFailed(f"{plot}: the confusion matrix plot was not written")
    return (f"tiny net, {config.epochs} epochs on {len(data.train)} synthetic digits (loss {losses[0]:.2f} -> "
            f"{losses[-1]:.2f}), saved to the user folder {out.parent}, reloaded with the same outputs, "
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
    try:
        if {"window", "training"} & set(checks):  # the Data tab and training read MNIST
            os.environ[DATA_ENV] = str(write_synthetic_mnist(tmp / "home" / "synthetic-mnist"))
        for name in checks:
            t0 = time.perf_counter()
            if name in _NEEDS_MODEL and ctx.recognizer is None:
                print(f"skip  {name:<9}         needs the model", file=out, flush=True)
                continue
            try:
                status, detail = "ok", _FUNCTIONS[name](ctx)
            except CheckFailed as exc:
                status, detail = "FAIL", str(exc)
            except Exception as exc:  # an unexpected error is a failed check, with its traceback
                traceback.print_exc(file=sys.stderr)
                status, detail = "FAIL", f"{type(exc).__name__}: {exc}".strip()
            if status == "FAIL":
                failures.append(f"{name}: {detail}")
            if verbose or status == "FAIL":
                print(f"{status:<5} {name:<9} {time.perf_counter() - t0:5.1f} s  {detail}", file=out, flush=True)
    finally:
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
