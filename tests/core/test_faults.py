"""No Qt needed. Real faults while saving: a process SIGKILLed in the middle of saving a model or a
sample, a full disk (ENOSPC) and a read-only disk (EROFS).

The kills are real: a helper process imports TensorFlow once, then forks savers that save to the
same path in a loop and SIGKILLs each at a random moment. The full and read-only disks are real
too: a tiny tmpfs mounted in a private user + mount namespace (``unshare -rm``), so the faulty
writes run in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The helper process. argv: kind ("model" or "sample"), folder, rounds, seed. Prints one JSON line
# per kill, then {"final": ...} after one more save by a live process.
KILLER = textwrap.dedent(r'''
    import json, os, random, signal, sys, time
    from pathlib import Path
    import numpy as np

    kind, folder, rounds, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)

    def leftovers():
        return sorted(n for n in os.listdir(folder) if n.startswith("."))

    if kind == "model":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        from digitdesk.core.tfimport import import_tensorflow
        import_tensorflow()
        from digitdesk.core.models import build
        from digitdesk.core.modelio import embedded_metadata, load_model, metadata_path, read_metadata, save_model

        models = []
        for tag in range(3):  # three models told apart by their last bias
            m = build("tiny")
            w, b = m.layers[-1].get_weights()
            m.layers[-1].set_weights([w, np.full_like(b, tag)])
            models.append(m)
        path = folder / "model.keras"
        save_model(models[0], path, {"version": 0, "tag": 0})

        def save(i):
            save_model(models[i % 3], path, {"version": i, "tag": i % 3})

        checks = [0]

        def inspect():
            import io, zipfile, h5py
            with zipfile.ZipFile(path) as zf:  # BadZipFile if the file is half-written
                assert zf.testzip() is None, "a corrupt member"
                with h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as h5:
                    tag = float(h5["layers/dense/vars/1"][0])
            checks[0] += 1
            if checks[0] % 4 == 0:  # a full load now and then (0.1-0.4 s each)
                assert float(load_model(path).layers[-1].get_weights()[1][0]) == tag
            meta = read_metadata(path)
            beside = json.loads(metadata_path(path).read_text())
            return {"model_tag": tag, "meta": meta,
                    "beside_stale": beside.get("save_id") != embedded_metadata(path).get("save_id"),
                    "files": sorted(n for n in os.listdir(folder) if not n.startswith("."))}
    else:
        import cv2
        from digitdesk.core.samples import SampleStore

        store = SampleStore(folder)
        folder = folder / "3"

        def save(i):  # the label is always 3; the pixel value says which add wrote it
            store.add(np.full((28, 28), i % 256, np.uint8), 3)

        def inspect():
            bad = []
            for p, label in store.items():
                img = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_GRAYSCALE)
                if img is None or img.shape != (28, 28) or len(np.unique(img)) != 1:
                    bad.append(p.name)
            data = store.load()
            return {"samples": len(store.items()), "bad": bad, "skipped": store.skipped, "loaded": len(data)}

    for r in range(rounds):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the saver: save until killed, one byte on the pipe per completed save
            os.close(rfd)
            i = (r + 1) * 100_000
            while True:
                i += 1
                save(i)
                os.write(wfd, b".")
        os.close(wfd)
        delay = rng.uniform(0.0, 0.6 if kind == "model" else 0.05)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(rfd, "rb") as f:
            saves = len(f.read())
        print(json.dumps({"round": r, "delay": delay, "saves": saves, "leftovers": leftovers(), **inspect()}),
              flush=True)
    # Then a kill at each step of one save in turn: before its k-th fsync, rename, close or chmod.
    for k in range(1, 40):
        pid = os.fork()
        if pid == 0:
            calls = [0]

            def hooked(real):
                def call(*args, **kwargs):
                    calls[0] += 1
                    if calls[0] == k:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return real(*args, **kwargs)
                return call

            for name in ("fsync", "replace", "close", "chmod", "fchmod"):
                setattr(os, name, hooked(getattr(os, name)))
            save(7_000_000 + k)
            os._exit(3)  # the save finished before the k-th step: no more steps to try
        _, status = os.waitpid(pid, 0)
        done = os.WIFEXITED(status)
        print(json.dumps({"step": k, "completed": done, "leftovers": leftovers(), **inspect()}), flush=True)
        if done:
            break
    save(1)  # a live process saves again: the dead savers' temporary files go
    final = {"final": True, "leftovers": leftovers(), **inspect()}
    if kind == "model":
        final["loads"] = load_model(path).count_params() > 0
    print(json.dumps(final), flush=True)
''')


def _run_killer(tmp_path: Path, kind: str, rounds: int, seed: int = 0) -> tuple[list[dict], dict]:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    folder = tmp_path / "data"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script), kind, str(folder), str(rounds), str(seed)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=REPO)
    assert proc.returncode == 0, f"helper failed:\n{proc.stderr[-3000:]}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    random_kills = [k for k in lines if "round" in k]
    steps = [k for k in lines if "step" in k]
    assert len(random_kills) == rounds and steps and steps[-1]["completed"] and "final" in lines[-1], proc.stdout[-2000:]
    return random_kills, steps, lines[-1]


def test_killed_while_saving_a_model_leaves_a_complete_consistent_file(tmp_path):
    rounds, steps, final = _run_killer(tmp_path, "model", rounds=16)
    for k in [*rounds, *steps, final]:
        assert k["files"] == ["model.json", "model.keras"], k  # nothing half-written in place
        meta = k["meta"]
        assert meta["tag"] == k["model_tag"], k  # the metadata describes the model in the file
        assert meta["version"] % 3 == meta["tag"], k
    mid_save = [k for k in rounds if k["leftovers"]]
    stale = [k for k in rounds if k["beside_stale"]]
    print(f"\nmodel saves killed at random: {len(rounds)}, {sum(k['saves'] for k in rounds)} saves completed, "
          f"{len(mid_save)} kills left a temporary file, {len(stale)} left the JSON beside the model "
          f"older than the model (the copy inside the model was used); killed at each of "
          f"{len(steps) - 1} steps of one save")
    assert any(k["beside_stale"] for k in steps), "no step left the JSON beside the model behind the model"
    assert sum(k["saves"] > 0 for k in rounds) >= len(rounds) // 4, "the savers hardly saved: the kills tested nothing"
    assert mid_save, "no kill landed in the middle of a save"
    assert final["loads"] and final["leftovers"] == [], "the next save did not remove the killed saves' temporary files"


def test_killed_while_adding_samples_keeps_every_sample_readable(tmp_path):
    rounds, steps, final = _run_killer(tmp_path, "sample", rounds=40, seed=1)
    for k in [*rounds, *steps, final]:
        assert k["bad"] == [] and k["skipped"] == [], k  # no half-written sample under a real name
        assert k["loaded"] == k["samples"]
    samples = [k["samples"] for k in rounds]
    assert samples == sorted(samples), "samples were lost"
    mid_save = [k for k in rounds if k["leftovers"]]
    print(f"\nsample adds killed at random: {len(rounds)}, {final['samples']} samples kept, "
          f"{len(mid_save)} kills left a temporary file; killed at each of {len(steps) - 1} steps of one add")
    assert mid_save, "no kill landed in the middle of an add"
    assert final["leftovers"] == [], "the next add did not remove the killed adds' temporary files"


# ---------------------------------------------------------------- full and read-only disks

FAULTS = textwrap.dedent(r'''
    import errno, json, os, subprocess, sys
    from pathlib import Path
    import numpy as np

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    from digitdesk.core.tfimport import import_tensorflow
    import_tensorflow()
    from digitdesk.core.errors import DigitdeskError
    from digitdesk.core.modelio import load_model, read_metadata, save_model
    from digitdesk.core.models import build
    from digitdesk.core.modelstore import BUNDLED_ID, ModelStore
    from digitdesk.core.samples import SampleStore

    disk = Path(sys.argv[1])
    out = {}
    tiny = build("tiny")
    store = ModelStore(disk)
    samples = SampleStore(disk / "samples")
    info = store.add(tiny, {"test_accuracy": 0.5}, "Precious")
    store.set_active(info.id)
    samples.add(np.full((28, 28), 7, np.uint8), 3)

    def snapshot():
        return {str(p.relative_to(disk)): p.read_bytes() for p in sorted(disk.rglob("*"))
                if p.is_file() and p.name != "filler"}

    def attempt(name, call):
        try:
            call()
        except DigitdeskError as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:
            out[name] = f"UNDOCUMENTED {type(exc).__name__}: {exc}"
        else:
            out[name] = "no error"

    def fill(leave):
        """Fill the disk until at most ``leave`` bytes are free."""
        with open(disk / "filler", "ab") as f:
            for chunk in (65536, 4096, 512, 1):
                while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave + chunk:
                    try:
                        f.write(b"x" * chunk)
                        f.flush()
                    except OSError:
                        break
        st = os.statvfs(disk)
        return st.f_bavail * st.f_frsize

    def operations(tag):
        attempt(f"{tag} save_model", lambda: save_model(tiny, info.path, {"name": "overwritten"}))
        attempt(f"{tag} store.add", lambda: store.add(tiny, None, "Another"))
        attempt(f"{tag} rename", lambda: store.rename(info.id, "New name"))
        attempt(f"{tag} set_active", lambda: store.set_active(BUNDLED_ID))
        attempt(f"{tag} export", lambda: store.export(info.id, disk / "copy.keras"))
        attempt(f"{tag} sample", lambda: samples.add(np.full((28, 28), 9, np.uint8), 4))

    def intact(tag):
        out[f"{tag} intact"] = snapshot() == before
        out[f"{tag} loads"] = load_model(info.path).count_params() == tiny.count_params()
        out[f"{tag} name"] = read_metadata(info.path).get("name")
        out[f"{tag} active"] = store.active().id == info.id
        out[f"{tag} temp files"] = sorted(str(p) for p in disk.rglob(".*"))

    before = snapshot()
    # 1. a model that does not fit: the write starts and fails half-way
    out["free before the model save"] = fill(20_000)
    attempt("partly full save_model", lambda: save_model(tiny, info.path, {"name": "overwritten"}))
    attempt("partly full store.add", lambda: store.add(tiny, None, "Another"))
    intact("partly full")
    # 2. a disk with no space at all
    out["free"] = fill(0)
    operations("full")
    intact("full")
    os.remove(disk / "filler")
    attempt("after freeing store.add", lambda: store.add(tiny, None, "Another"))
    attempt("after freeing sample", lambda: samples.add(np.full((28, 28), 9, np.uint8), 4))
    before = snapshot()
    # 3. a read-only disk
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    operations("read-only")
    intact("read-only")
    subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    attempt("after remount store.add", lambda: store.add(tiny, None, "Third"))
    print("RESULT " + json.dumps(out))
''')


def run_in_tiny_disk(script: Path, disk: Path, size_kb: int, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """Run ``python script disk *args`` with a ``size_kb`` tmpfs mounted on ``disk`` in a private
    user + mount namespace (works for root and others; nothing is mounted outside it)."""
    if shutil.which("unshare") is None:
        pytest.fail("`unshare` (util-linux) is needed for the full-disk tests: apt-get install util-linux")
    disk.mkdir(parents=True, exist_ok=True)
    cmd = ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size={size_kb}k tmpfs "$1" && shift && exec "$@"',
           "sh", str(disk), sys.executable, str(script), str(disk), *args]
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=16k tmpfs "{disk}"'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs in a user namespace here (needed for the full-disk tests): "
                    f"{probe.stderr.strip()} (kernel.unprivileged_userns_clone / container seccomp?)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def test_full_and_read_only_disk_give_clear_errors_and_keep_the_files(tmp_path):
    script = tmp_path / "faults.py"
    script.write_text(FAULTS)
    proc = run_in_tiny_disk(script, tmp_path / "disk", 384)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    out = json.loads(lines[-1][len("RESULT "):])
    print("\n" + "\n".join(f"{k}: {v}" for k, v in out.items()))
    assert out["free"] == 0 and out["free before the model save"] <= 20_000
    for tag, words in (("partly full", "disk is full"), ("full", "disk is full"), ("read-only", "read-only")):
        ops = [k for k in out if k.startswith(f"{tag} ") and k.split(" ", 2)[-1] in
               ("save_model", "store.add", "rename", "set_active", "export", "sample")]
        assert ops
        for k in ops:
            assert out[k].split(":")[0] in ("ModelError", "DataError") and words in out[k], (k, out[k])
        assert out[f"{tag} intact"], f"{tag}: a file changed"
        assert out[f"{tag} loads"] and out[f"{tag} name"] == "Precious" and out[f"{tag} active"]
        assert out[f"{tag} temp files"] == [], f"{tag}: temporary files left behind"
    for k in ("after freeing store.add", "after freeing sample", "after remount store.add"):
        assert out[k] == "no error", (k, out[k])
