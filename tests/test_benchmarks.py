"""The benchmark suite (``python -m benchmarks``): its table rewrite, statistics and rows, the
startup marks it reads from the app, and one real quick run of a cheap group. No timing is
asserted: the figures depend on the machine."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import suite
from benchmarks.suite import BEGIN, END, Row

REPO = Path(__file__).resolve().parents[1]


# The table between the markers -------------------------------------------------------------

DOC = f"""# Benchmarks

intro text | with a pipe
{BEGIN}
old table
| a | b |
{END}

## Detailed section

hand-copied figures, kept as they are
"""


def test_replace_block_changes_only_the_text_between_the_markers():
    out = suite.replace_block(DOC, "| new | table |\n")
    before, rest = out.split(BEGIN)
    inside, after = rest.split(END)
    assert before == DOC.split(BEGIN)[0]
    assert after == DOC.split(END)[1]
    assert inside == "\n| new | table |\n"
    assert "old table" not in out


def test_replace_block_is_idempotent():
    once = suite.replace_block(DOC, "x")
    assert suite.replace_block(once, "x") == once


@pytest.mark.parametrize("text", [
    "no markers at all\n",
    f"only the start {BEGIN}\n",
    f"only the end {END}\n",
    f"{END}\nreversed\n{BEGIN}\n",
    f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n",
])
def test_replace_block_refuses_missing_reversed_or_repeated_markers(text):
    with pytest.raises(ValueError):
        suite.replace_block(text, "x")


def test_rewrite_file_keeps_the_rest_of_the_file(tmp_path):
    path = tmp_path / "B.md"
    path.write_text(DOC)
    rows = [Row.of("engine", "a latency", [1.0, 2.0, 3.0], "ms", target=("<=", 2.5), command="cmd a")]
    suite.rewrite_file(path, suite.render(rows, {"command": "python -m benchmarks", "commit": "abc1234"}))
    text = path.read_text()
    assert text.startswith(DOC.split(BEGIN)[0] + BEGIN)
    assert text.endswith(END + DOC.split(END)[1])
    assert "| a latency | 2.00 ms | 1.00 ms - 3.00 ms (min-max) | 3 | <= 2.50 ms | pass | `cmd a` |" in text
    assert "`abc1234`" in text


def test_the_real_benchmarks_file_has_the_markers_once():
    text = (REPO / "BENCHMARKS.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert text.index(BEGIN) < text.index(END)


def test_only_full_runs_write_unless_asked():
    assert suite.should_write(quick=False, partial=False, write=False, no_write=False)
    assert not suite.should_write(quick=True, partial=False, write=False, no_write=False)
    assert not suite.should_write(quick=False, partial=True, write=False, no_write=False)
    assert suite.should_write(quick=True, partial=True, write=True, no_write=False)
    assert not suite.should_write(quick=False, partial=False, write=False, no_write=True)


# Statistics and rows ------------------------------------------------------------------------

@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_percentile_matches_numpy(q):
    values = list(np.random.default_rng(3).normal(size=37))
    assert suite.percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


def test_summarize():
    assert suite.summarize([5, 1, 3, 2, 4]) == (3, 1, 5)
    med, lo, hi = suite.summarize(list(range(11)), "p10-p90")
    assert (med, lo, hi) == (5, 1, 9)
    with pytest.raises(ValueError):
        suite.summarize([1, 2], "p5-p95")


def test_row_pass_fail_and_cells():
    low = Row.of("g", "latency", [1.0, 3.0], "ms", target=("<=", 2.5))
    assert low.passed is True and low.n == 2 and low.spread == "min-max"
    assert Row.of("g", "latency", [3.0, 4.0], "ms", target=("<=", 2.5)).passed is False
    assert Row.of("g", "ratio", [0.97, 0.99, 0.9], "x", target=(">=", 0.95)).passed is True
    assert Row.of("g", "ratio", [0.8, 0.9], "x", target=(">=", 0.95)).cells()[5] == "FAIL"
    single = Row.of("g", "one run", [1.5], "s")
    assert single.spread == "" and single.passed is None and single.cells()[2] == ""


def test_unmeasured_rows_say_why_and_have_no_figure():
    rows = suite.unavailable("frozen", ["window", "size"], "not built (run with --build)",
                             targets=[("<=", 3.0)])
    for row in rows:
        assert row.median is None and row.passed is None
        assert row.cells()[1] == "not built (run with --build)"
    assert rows[0].cells()[4] == "<= 3.00"


def test_row_round_trips_through_json():
    row = Row.of("training", "core / fit", [0.97, 1.01, 0.93], "x", target=(">=", 0.95), command="c", quick=True)
    back = Row.from_dict(json.loads(json.dumps(row.to_dict())))
    assert back == row and back.passed == row.passed


def test_table_has_a_heading_row_per_group():
    rows = [Row.of("engine", "a", [1.0], "ms"), Row.of("engine", "b", [1.0], "ms"), Row.of("gui", "c", [1.0], "fps")]
    lines = suite.table(rows).splitlines()
    assert [line for line in lines if line.startswith("| **")] == [
        "| **engine** |" + " |" * 6, "| **gui** |" + " |" * 6]
    assert len(lines) == 2 + 2 + 3


def test_cli_epoch_lines_are_what_the_training_benchmark_parses():
    """bench_train_gui reads `digitdesk train`'s samples/s from its progress output."""
    from benchmarks.bench_train_gui import EPOCH_LINE
    from digitdesk.cli import ProgressBar
    from digitdesk.core.training import Progress

    out = io.StringIO()
    bar = ProgressBar(stream=out)
    for epoch, sps in ((1, 950.0), (2, 1234.4)):
        bar(Progress("batch", epoch, 2, 5, 10, 0.5, 0.9, 999.0, 3.0, 1e-3))
        bar(Progress("epoch", epoch, 2, 10, 10, 0.4, 0.9, sps, 6.0, 1e-3, 0.3, 0.95))
    assert EPOCH_LINE.findall(out.getvalue()) == [("1", "950"), ("2", "1,234")]


# Real runs ----------------------------------------------------------------------------------

def _env(tmp_path) -> dict:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITDESK_HOME=str(tmp_path), PYTHONPATH=str(REPO))


@pytest.mark.slow
def test_app_reports_a_first_prediction_after_the_model_is_ready():
    from benchmarks.bench_gui import launch

    marks = launch()
    assert marks["window-visible"][0] <= marks["model-ready"][0] <= marks["first-prediction"][0]


@pytest.mark.slow
def test_quick_engine_group_runs_and_writes_only_the_file_it_is_given(tmp_path, mnist_path):
    real = (REPO / "BENCHMARKS.md").read_bytes()
    target = tmp_path / "B.md"
    target.write_text(DOC)
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "engine", "--write",
                           "--file", str(target), "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**_env(tmp_path), "DIGITDESK_DATA": str(mnist_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [Row.from_dict(r) for r in json.loads(out.read_text())["rows"]]
    assert [r.group for r in rows] == ["engine"] * 4  # digit, canvas, photo, webcam frame
    assert all(r.quick and r.median > 0 and r.n >= 30 and r.target for r in rows)
    text = target.read_text()
    assert "one 28x28 digit" in text and "(quick)" in text and "old table" not in text
    assert text.endswith(END + DOC.split(END)[1])
    assert (REPO / "BENCHMARKS.md").read_bytes() == real


@pytest.mark.slow
def test_a_quick_run_does_not_touch_the_file_without_write(tmp_path):
    target = tmp_path / "B.md"
    target.write_text(DOC)
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "frozen", "--file", str(target)],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert target.read_text() == DOC
    assert "frozen" in proc.stdout


@pytest.mark.slow
def test_the_app_reads_numbers_one_after_another_without_tensorflow(tmp_path):
    """bench_litert's memory part: the app writes numbers on the Draw tab, each read and shown
    before the next, and reports its RSS; the bundled model reads them all through LiteRT."""
    from benchmarks import bench_litert

    bench_litert.HOMES.update(new=str(tmp_path), bytecode="compiled")
    try:
        res = bench_litert.rss_after_readings(old=False, readings=6)
    finally:
        bench_litert.HOMES.clear()
    assert res["readings"] == 6 and res["read_right"] == 6
    assert not res["tensorflow"]
    assert 0 < res["rss_mb"] <= res["peak_mb"]


def test_reproduce_notebooks_table_has_a_row_per_preset_with_the_notebook_figure():
    from benchmarks.reproduce_notebooks import Row, table

    rows = [Row("simple_cnn", 0.98123, "98.66%", "10/10", 301.4, "MNIST", Path("x.keras")),
            Row("deep_cnn", 0.9951, "99.42%", "17/30", 4000.0, "MNIST", Path("y.keras"))]
    lines = table(rows).splitlines()
    assert lines[0].startswith("| preset | test accuracy | the notebook's | epochs run/planned | training time")
    assert lines[2] == "| simple_cnn | 98.12% | 98.66% | 10/10 | 301 s | MNIST |"
    assert lines[3] == "| deep_cnn | 99.51% | 99.42% | 17/30 | 4000 s | MNIST |"
