"""No Qt needed. Importing TensorFlow on a worker thread lets the other threads run: its big
libraries load with Python's lock released, and the garbage collector neither pauses the import
nor, afterwards, sweeps TensorFlow's objects. Checked in a fresh process, where nothing of
TensorFlow is loaded yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO

CHILD = textwrap.dedent(r'''
    import gc, json, sys, threading, time
    from digitdesk.core import tfimport

    ticks, done = [], False

    def tick():  # another thread, as the GUI's: it runs only while the lock is free
        while not done:
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    beat = threading.Thread(target=tick)
    beat.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    loaded = tfimport.preload_native_libraries()
    t1 = time.perf_counter()
    done = True
    beat.join()
    inside = [t for t in ticks if t0 <= t <= t1]
    edges = [t0] + inside + [t1]
    with open("/proc/self/maps") as maps:
        mapped = sorted({line.split("/")[-1].strip() for line in maps if "libtensorflow" in line})
    report = {"loaded": [p.split("/")[-1] for p in loaded], "mapped": mapped, "took": t1 - t0,
              "longest_pause": max(b - a for a, b in zip(edges, edges[1:])),
              "tensorflow_imported": "tensorflow" in sys.modules}
    tfimport.import_tensorflow()
    report.update(collecting=gc.isenabled(), frozen=gc.get_freeze_count())
    print(json.dumps(report))
''')


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload is for Linux's libraries")
def test_tensorflow_loads_while_other_threads_run():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    libs = ["libtensorflow_framework.so.2", "libtensorflow_cc.so.2"]
    assert r["loaded"] == libs and set(libs) <= set(r["mapped"])
    assert not r["tensorflow_imported"]  # loaded, nothing imported or run
    # Loading them takes a quarter of a second or more; the other thread waited a fraction of it
    # (with the lock held, as Python's own import or ctypes.CDLL holds it, it waits all of it).
    assert r["longest_pause"] < 0.25 * r["took"], r
    # The collector is on again after the import, and TensorFlow's objects are out of its sweeps.
    assert r["collecting"] and r["frozen"] > 100_000, r
