# No Qt in this process. Builds the frozen app from build.spec with PyInstaller (several minutes)
# and runs its self-test. Only runs when selected: `python -m pytest -m build tests/test_build.py`
# (needs the build extra: pip install -e ".[build]").
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digitdesk import selftest

REPO = Path(__file__).resolve().parents[1]
MAX_BUNDLE_BYTES = 1_100_000_000  # 1.1 GB
BUILD_TIMEOUT = 25 * 60
SELF_TEST_TIMEOUT = 10 * 60

pytestmark = pytest.mark.build


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def bundle(request, tmp_path_factory) -> Path:
    """dist/digitdesk/ built from build.spec into a temporary folder (only when selected with -m build)."""
    markexpr = request.config.option.markexpr or ""
    if "build" not in markexpr or "not build" in markexpr:
        pytest.skip("builds the app for minutes: run with `python -m pytest -m build`")
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail('PyInstaller is not installed: pip install -e ".[build]"')
    tmp = tmp_path_factory.mktemp("build")
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(tmp / "dist"), "--workpath", str(tmp / "work"), str(REPO / "build.spec")]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{_tail(out.stdout)}\n{_tail(out.stderr)}"
    folder = tmp / "dist" / "digitdesk"
    assert (folder / "digitdesk").is_file(), sorted(p.name for p in folder.iterdir())
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder in ``folder``: relative path -> (size, mtime in ns), links not followed."""
    entries = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            entries[os.path.relpath(path, folder)] = (st.st_size if name in files else 0, st.st_mtime_ns)
    return entries


def _size(folder: Path) -> int:
    """Bytes of the files in ``folder`` as `du -sb` counts them (links once, not followed)."""
    return sum(os.lstat(os.path.join(root, name)).st_size
               for root, dirs, files in os.walk(folder) for name in files + dirs)


def test_bundle_size(bundle):
    size = _size(bundle)
    print(f"bundle size: {size / 1e6:.0f} MB")
    assert size <= MAX_BUNDLE_BYTES, f"{bundle} holds {size / 1e6:.0f} MB, more than {MAX_BUNDLE_BYTES / 1e6:.0f} MB"


def test_bundle_layout(bundle):
    internal = bundle / "_internal"
    for part in ("models/default.keras", "models/default.json", "resources/icon.svg",
                 "resources/samples/labels.json", "resources/digitdesk.desktop"):
        assert (internal / part).is_file(), part
    assert not list(internal.glob("tensorflow/include")), "TensorFlow's C++ headers were bundled"


def test_frozen_self_test_passes_without_writing_into_the_bundle(bundle, tmp_path):
    before = _snapshot(bundle)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "DIGITDESK_HOME": str(tmp_path / "digitdesk")}
    env.pop("PYTHONPATH", None)  # the frozen app must not need the source tree
    out = subprocess.run([str(bundle / "digitdesk"), "self-test"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=SELF_TEST_TIMEOUT)
    print(out.stdout)
    assert out.returncode == 0, f"frozen self-test failed:\n{out.stdout}\n{_tail(out.stderr)}"
    lines = out.stdout.splitlines()
    assert f"frozen bundle {bundle}" in lines[0]
    # Every check ran and passed: a tab that fails in the bundle (a module left out) fails CI.
    for check in selftest.CHECKS:
        assert any(re.match(rf"ok +{check} +\d+\.\d s  \S", line) for line in lines), (check, out.stdout)
    window = next(line for line in lines if line.startswith("ok    window"))
    for shown in ("Train tab's live plot", "Train tab's confusion matrix", "Train tab's misclassified gallery",
                  "Data tab charts", "Models tab: lists"):
        assert shown in window, (shown, window)
    assert lines[-1].startswith(f"self-test passed: {len(selftest.CHECKS)} checks"), lines[-1]
    assert "Traceback" not in out.stdout + out.stderr, _tail(out.stderr, 120)
    after = _snapshot(bundle)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    assert not (added or removed or changed), f"the app wrote into its bundle: added {added[:10]}, " \
                                              f"removed {removed[:10]}, changed {changed[:10]}"
