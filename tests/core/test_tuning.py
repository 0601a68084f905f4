"""No Qt needed. The hyperparameter search: its space's checks, a real tiny KerasTuner search that
stops within a batch and continues where it stopped, and the best configuration trained to the end."""

import json

import pytest

from digitdesk.core.augment import AugmentParams
from digitdesk.core.data import Dataset, Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.runs import RunStore
from digitdesk.core.tunespace import Budget, SearchConfig, SearchSpace, scaled_augment, trial_config

TINY_SPACE = SearchSpace(learning_rate=(1e-3, 1e-2), batch_size=(50, 100), dropout=(0.0, 0.2), width=(0.5, 1.0),
                         schedule=("constant",), augment=(0.0, 0.5))


def tiny_search(name="t", trials=2, algorithm="random") -> SearchConfig:
    return SearchConfig(family="tiny", algorithm=algorithm, space=TINY_SPACE, name=name,
                        budget=Budget(trials=trials, epochs=1, images=500, final_epochs=1, final_images=500))


@pytest.mark.parametrize("space, words", [
    (SearchSpace(learning_rate=(1e-2, 1e-4)), "learning rate"),
    (SearchSpace(learning_rate=(0.0, 1e-2)), "learning rate"),
    (SearchSpace(dropout=(0.2, 1.5)), "dropout"),
    (SearchSpace(batch_size=()), "batch size"),
    (SearchSpace(batch_size=(32, 0)), "batch size"),
    (SearchSpace(width=(0.0,)), "width"),
    (SearchSpace(schedule=("warp",)), "unknown 'warp'"),
    (SearchSpace(augment=(0.5, 0.1)), "augmentation"),
    (SearchSpace(learning_rate=("a", 1)), "learning rate"),
])
def test_a_bad_search_space_says_what_is_wrong(space, words):
    with pytest.raises(TrainingError, match="bad search space") as err:
        space.validate()
    assert words in str(err.value)


def test_bad_budget_family_and_name():
    with pytest.raises(TrainingError, match="trials must be a whole number of at least 1"):
        SearchConfig(budget=Budget(trials=0)).validate()
    with pytest.raises(TrainingError, match="at least 100 images"):
        SearchConfig(budget=Budget(images=5)).validate()
    with pytest.raises(TrainingError, match="family 'digitnet'"):
        SearchConfig(family="digitnet").validate()
    with pytest.raises(TrainingError, match="cannot name a search"):
        SearchConfig(name="../up").validate()
    with pytest.raises(TrainingError, match="unknown algorithm|unknown search algorithm"):
        SearchConfig(algorithm="grid").validate()


def test_the_command_line_names_what_the_core_has():
    from digitdesk.cli_tune import ALGORITHM_NAMES, FAMILY_NAMES
    from digitdesk.core.tunespace import ALGORITHMS, FAMILIES

    assert FAMILY_NAMES == FAMILIES and ALGORITHM_NAMES == tuple(ALGORITHMS)


def test_the_search_starts_from_the_preset():
    config = SearchConfig(family="simple_cnn")
    assert config.start_values() == {"learning_rate": 1e-3, "batch_size": 32, "dropout": 0.0, "width": 1.0,
                                     "schedule": "constant", "augment": 0.0}
    deep = SearchConfig(family="deep_cnn", space=SearchSpace(dropout=(0.0, 0.4), schedule=("cosine",)))
    values = deep.start_values()
    assert values["dropout"] == 0.4 and values["schedule"] == "cosine" and values["augment"] == 1.0  # moved into the space
    cfg = trial_config(deep, values, epochs=3)
    assert cfg.arch == "deep_cnn" and cfg.epochs == 3 and cfg.augment and cfg.augment_params.rotation == 10.0


def test_augmentation_strength_scales_the_ranges():
    base = AugmentParams()
    half = scaled_augment(base, 0.5)
    assert half.rotation == base.rotation / 2 and half.thicken == base.thicken / 2
    strong = scaled_augment(base, 2.0)
    assert strong.thicken + strong.thin <= 1.0 and strong.shift == base.shift * 2


def test_widths_and_dropout_change_the_model_defaults_do_not():
    from digitdesk.core.models import build

    assert build("simple_cnn").count_params() == 693_962
    assert build("simple_cnn", width=1.0, dropout=0.0).count_params() == 693_962
    assert build("simple_cnn", width=0.5).count_params() < 693_962 / 3
    assert [type(layer).__name__ for layer in build("mlp", dropout=0.3).layers].count("Dropout") == 3
    with pytest.raises(TrainingError, match="fixed shape"):
        build("digitnet", width=2.0)


def test_a_search_stops_within_a_batch_and_continues_where_it_stopped(mnist, tmp_path):
    from digitdesk.core.tuning import run_search, train_best

    data = Split(mnist.train.images[:2000], mnist.train.labels[:2000])
    config = tiny_search(trials=2)
    reports, stop = [], {"at": None}

    def on_progress(p):
        reports.append(p)
        if p.kind == "batch" and p.trial_id == "1" and p.batch == 2 and stop["at"] is None:
            stop["at"] = len(reports)

    result = run_search(config, data, on_progress, lambda: stop["at"] is not None, root=tmp_path)
    assert result.cancelled
    after = [p for p in reports[stop["at"]:] if p.kind == "batch"]
    assert len(after) <= 1, "the search went on for more than one batch after Stop"
    states = {r.id: r.state for r in result.rows}
    assert states == {"0": "finished", "1": "stopped"}
    assert result.start_id == "0" and result.rows[0].values["batch_size"] == 50  # the start's 64, moved to the nearest
    first = result.rows[0]
    assert 0 <= first.val_accuracy <= 1 and first.epoch == 1
    assert json.loads((tmp_path / "t" / "search.json").read_text())["family"] == "tiny"

    # Continuing runs the stopped trial again and never the finished one.
    begun = []
    again = run_search(config, data, lambda p: p.kind == "trial" and p.rows and begun.extend(
        r.id for r in p.rows if r.state == "running" and r.id not in begun), root=tmp_path)
    assert not again.cancelled and begun == ["1"]
    assert [r.state for r in again.rows] == ["finished", "finished"]
    assert again.rows[1].values == result.rows[1].values
    assert again.best is not None and again.ranked()[0] is again.best

    # Other settings under the same name are refused with a way out.
    other = tiny_search(trials=2)
    other.space = SearchSpace()
    with pytest.raises(TrainingError, match="begun with other settings .*space"):
        run_search(other, data, root=tmp_path)

    # Damaged files (a crash while KerasTuner wrote them) are a clear error, not a traceback.
    oracle = tmp_path / "t" / "oracle.json"
    saved = oracle.read_bytes()
    oracle.write_text('{"ongoing_trials": {')
    with pytest.raises(TrainingError, match="its files are damaged .*--fresh"):
        run_search(config, data, root=tmp_path)
    oracle.write_bytes(saved)

    # The best, trained to the end, tested, saved with its twin and kept as a run.
    runs = RunStore(tmp_path / "runs")
    dataset = Dataset(data, Split(mnist.test.images[:300], mnist.test.labels[:300]), "MNIST (2,000)")
    out = tmp_path / "best.keras"
    best = train_best(again, dataset, runs=runs, out=out)
    assert out.is_file() and out.with_suffix(".tflite").is_file()
    assert best.metadata["search"]["best_trial"] == again.best.id and best.test_report is not None
    record = runs.get(best.metadata["run_id"])
    assert record["status"] == "finished" and record["search"]["algorithm"] == "random"
    assert record["test"]["accuracy"] == pytest.approx(best.test_report.accuracy, abs=1e-5)


def test_hyperband_bayes_and_a_search_with_no_finished_trial(mnist, tmp_path):
    from digitdesk.core.tuning import SearchResult, run_search, train_best

    data = Split(mnist.train.images[:600], mnist.train.labels[:600])
    for algorithm in ("hyperband", "bayes"):
        result = run_search(tiny_search(algorithm, trials=2, algorithm=algorithm), data, root=tmp_path)
        assert len(result.rows) == 2 and all(r.state == "finished" for r in result.rows), algorithm
    empty = SearchResult(result.config, [], False, 0.0, tmp_path)
    with pytest.raises(TrainingError, match="no trial of the search finished"):
        train_best(empty, Dataset(data, data, "x"))


def test_a_search_runs_without_grpc_and_says_bayes_needs_scipy(tmp_path):
    """As in the desktop bundle, which leaves gRPC and SciPy out (build.spec)."""
    import subprocess
    import sys

    from tests.conftest import mnist_dir

    code = f"""
import sys
sys.modules["grpc"] = None  # import grpc -> ImportError
sys.modules["scipy"] = None
sys.modules["sklearn"] = None
from digitdesk.core.data import load_mnist
from digitdesk.core.errors import TrainingError
from digitdesk.core.tunespace import Budget, SearchConfig
from digitdesk.core.tuning import run_search
train = load_mnist({str(mnist_dir())!r}).train
try:
    run_search(SearchConfig(family="tiny", algorithm="bayes", budget=Budget(trials=1, epochs=1, images=300)), train,
               root={str(tmp_path)!r})
except TrainingError as exc:
    print("bayes:", exc)
result = run_search(SearchConfig(family="tiny", budget=Budget(trials=1, epochs=1, images=300)), train, root={str(tmp_path)!r})
print("random:", [r.state for r in result.rows])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bayes: Bayesian optimisation needs SciPy and scikit-learn" in out.stdout
    assert "random: ['finished']" in out.stdout
