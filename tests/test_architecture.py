"""No Qt needed. The import contracts in pyproject.toml hold: ``lint-imports`` (import-linter)
reads every import, lazy ones inside functions too, without running any of the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _lint(*args: str) -> subprocess.CompletedProcess:
    # The interpreter running the tests, so that the virtualenv's import-linter and package are used.
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_import_contracts_are_kept():
    out = _lint()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 4 kept, 0 broken." in out.stdout, out.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: a config whose core may not import numpy is broken by the real code."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "digitdesk"\ninclude_external_packages = true\n\n'
                      '[[tool.importlinter.contracts]]\nname = "no numpy"\ntype = "forbidden"\n'
                      'source_modules = ["digitdesk.core"]\nforbidden_modules = ["numpy"]\n')
    out = _lint("--config", str(config))
    assert out.returncode != 0 and "BROKEN" in out.stdout, out.stdout + out.stderr
