# Needs Qt (offscreen): switching models in the window as `digitdesk` builds it, in a child process.
"""Switching to a trained model and back, several times, with a reading in between.

The window is built the way ``digitdesk`` builds it (``digitdesk.gui.app``: QApplication,
excepthook, ``create_main_window()``, the bundled model loaded on the loader thread after the first
paint). The model is imported through the Models tab and made active with its button path. This
crashed the process with SIGSEGV (a QThread's C++ event loop gave TensorFlow a new Python thread
state per job), so it runs in a child process: a crash is a failed test, not a dead test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.gui import child_app

SCENARIO = child_app.script(r"""

    def read_canvas(label):
        shown = []
        tab = window.draw_tab
        tab.readingShown.connect(shown.append)
        tab.canvas.clear()
        draw_number(tab.canvas, "38")
        wait(f"a reading with {label}", lambda: any(shown))
        tab.readingShown.disconnect(shown.append)
        print(f"read with {label}: {shown[-1]!r}", flush=True)

    def switch(model_id, label):
        before = window.model.recognizer
        window.models_tab.make_active(model_id)
        wait(f"the switch to {label}", lambda: window.model.recognizer is not before)
        assert window.store.active().id == model_id, (window.store.active().id, model_id)
        read_canvas(label)

    wait("the bundled model", lambda: window.model.recognizer is not None)
    read_canvas("bundled")
    bundled_id = window.store.bundled().id
    window.models_tab.import_file(sys.argv[1])
    wait("the import", lambda: any(not m.bundled for m in window.models_tab.models))
    mine = next(m.id for m in window.models_tab.models if not m.bundled)
    for round_ in range(3):
        switch(mine, f"trained model, round {round_ + 1}")
        switch(bundled_id, f"bundled model, round {round_ + 1}")
    window.close()
    window.shutdown()
    print("switched 6 times", flush=True)
""")


def _trained_tiny_model(path, mnist) -> None:
    """A tiny model trained for one short epoch on real MNIST digits, saved as the app saves."""
    from digitdesk.core.modelio import save_model
    from digitdesk.core.models import build

    x, y = mnist.train.images, mnist.train.labels
    model = build("tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:512, ..., None].astype("float32"), y[:512], epochs=1, batch_size=64, verbose=0)
    save_model(model, path, {"name": "trained tiny", "architecture": "tiny", "data": "MNIST (512)"})


def test_switching_to_a_trained_model_and_back_keeps_the_app_alive(tmp_path, mnist):
    model = tmp_path / "trained.keras"
    _trained_tiny_model(model, mnist)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIGITDESK_HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONFAULTHANDLER": "1"}
    out = subprocess.run([sys.executable, "-c", SCENARIO, str(model)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    tail = "\n".join(out.stderr.splitlines()[-30:])
    assert out.returncode == 0, f"the app died (exit {out.returncode}):\n{out.stdout}\n{tail}"
    lines = out.stdout.splitlines()
    assert lines[-1] == "switched 6 times", out.stdout
    assert sum(line.startswith("read with ") for line in lines) == 7, out.stdout
    assert "Traceback" not in out.stderr, tail
