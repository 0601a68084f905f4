"""No Qt needed. The core never imports Qt, and ``--help`` never imports TensorFlow."""

import json
import pkgutil
import subprocess
import sys

import digitdesk.core


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_core_imports_no_qt():
    modules = [m.name for m in pkgutil.iter_modules(digitdesk.core.__path__, "digitdesk.core.")]
    assert "digitdesk.core.recognizer" in modules and "digitdesk.core.training" in modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import digitdesk.core.recognizer, digitdesk.core.training\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.startswith(('PySide6', 'PyQt', 'shiboken', 'digitdesk.gui')))))"
    )
    assert json.loads(_run(code)) == []


def test_help_does_not_import_tensorflow():
    code = (
        "import contextlib, io, sys\n"
        "from digitdesk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', 'PySide6')))"
    )
    assert _run(code) == "[]"
