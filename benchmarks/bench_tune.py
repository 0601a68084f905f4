"""Hyperparameter search (issue 14): does a small KerasTuner search find a configuration at least
as good as the preset it starts from, and what does KerasTuner cost over training the same trials
by hand?

    python -m benchmarks.bench_tune [--family simple_cnn] [--trials 8] [--epochs 2] [--images 12000]
                                    [--overhead-trials 3] [--overhead-epochs 2] [--overhead-images 12000]
                                    [--repeats 3] [--seeds 3] [--only quality|overhead] [--json out.json]

1. Quality: a random search of ``--trials`` x ``--epochs`` on ``--images`` MNIST training images
   (10% held out for validation) whose first trial is the family's preset (``core/presets.py``).
   Then the preset and the best configuration are each trained with that same budget (same
   images and validation split, same epochs, from scratch) with ``--seeds`` seeds and tested on
   the 10,000 MNIST test images.
2. Overhead: ``digitdesk.core.tuning.run_search`` over ``--overhead-trials`` configurations
   against the same configurations trained by hand in the same process (build, compile,
   ``model.fit`` with validation each epoch, the search's data pipeline), alternated
   ``--repeats`` times after a warm-up. Printed: the search's own time outside ``model.fit``
   beyond the hand loop's, as a share of the hand loop's time (the training itself is the same
   on both sides, and this difference is the least disturbed by other work on a shared
   machine); the ratio of the median CPU times (this process, every thread); and of the wall
   times (fastest of each, medians).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _search(family: str, trials: int, epochs: int, images: int, root: str, name: str):
    from digitdesk.core.tunespace import Budget, SearchConfig

    return SearchConfig(family=family, algorithm="random", name=name,
                        budget=Budget(trials=trials, epochs=epochs, images=images, final_epochs=epochs)), root


def _train_values(config, values: dict, train, test, seeds: int) -> dict:
    """Train ``values`` with the search's budget on ``train`` (validation held out as in the
    search, the same images for every seed) and test on ``test``, once per seed 0, 1, ..."""
    from dataclasses import replace

    import keras

    from digitdesk.core.evaluate import evaluate_model
    from digitdesk.core.models import build
    from digitdesk.core.training import split_validation
    from digitdesk.core.training import train as fit
    from digitdesk.core.tunespace import shape, trial_config

    fit_split, val = split_validation(train, config.validation_split, config.seed)
    runs = []
    for seed in range(seeds):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        cfg = replace(trial_config(config, values, config.budget.epochs), seed=seed)
        t0 = time.perf_counter()
        result = fit(cfg, fit_split, validation=val, initial_model=build(cfg.arch, **shape(values)))
        runs.append({"seed": seed, "val_accuracy": result.history["val_accuracy"][-1],
                     "test_accuracy": evaluate_model(result.model, test.images, test.labels).accuracy,
                     "seconds": time.perf_counter() - t0})
    mean = {k: statistics.mean(r[k] for r in runs) for k in ("val_accuracy", "test_accuracy", "seconds")}
    return {**mean, "runs": runs}


def quality(args, mnist) -> dict:
    from digitdesk.core.trainrequest import limit
    from digitdesk.core.tuning import run_search

    with tempfile.TemporaryDirectory() as root:
        config, _ = _search(args.family, args.trials, args.epochs, args.images, root, "quality")
        t0 = time.perf_counter()
        result = run_search(config, mnist.train, root=root)
        seconds = time.perf_counter() - t0
    rows = [{"id": r.id, "values": r.values, "val_accuracy": r.val_accuracy, "state": r.state,
             "seconds": round(r.seconds, 1)} for r in result.ranked()]
    start = next(r for r in result.rows if r.id == result.start_id)
    best = result.best
    train = limit(mnist.train, args.images, config.seed)
    preset = _train_values(config, start.values, train, mnist.test, args.seeds)
    found = _train_values(config, best.values, train, mnist.test, args.seeds)
    return {"search_seconds": round(seconds, 1), "trials": rows, "start_trial": start.id, "best_trial": best.id,
            "preset_search_val": start.val_accuracy, "best_search_val": best.val_accuracy,
            "preset_retrained": preset, "best_retrained": found, "best_values": best.values,
            "at_least_as_good": best.val_accuracy >= start.val_accuracy}


def _by_hand(config, rows, train, val) -> float:
    """The trials' configurations with plain ``model.fit``, as a person would write the loop."""
    import keras

    from digitdesk.core.models import build
    from digitdesk.core.training import _optimizer, make_dataset
    from digitdesk.core.tunespace import shape, trial_config

    val_ds = make_dataset(val.images, val.labels, 1024, None, False, config.seed)
    for row in rows:
        cfg = trial_config(config, row.values, config.budget.epochs)
        model = build(cfg.arch, **shape(row.values))
        model.compile(optimizer=_optimizer(cfg, math.ceil(len(train) / cfg.batch_size)),
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        ds = make_dataset(train.images, train.labels, cfg.batch_size, cfg.augment_params if cfg.augment else None,
                          True, cfg.seed)
        model.fit(ds, validation_data=val_ds, epochs=cfg.epochs, verbose=0, shuffle=False)


class _FitClock:
    """Adds up the wall seconds spent training inside ``keras.Model.fit`` (the search's trials and
    the hand loop both train there; validation runs inside it on both sides), less the time of
    the search's own callbacks in there (KerasTuner's checkpoint and progress hooks)."""

    def __init__(self):
        import keras
        from keras_tuner.src.engine import tuner_utils

        self.seconds = 0.0
        self._wrap(keras.Model, "fit", 1)
        for name in ("on_epoch_end", "on_batch_end", "on_epoch_begin", "on_batch_begin"):
            self._wrap(tuner_utils.TunerCallback, name, -1)
        self._wrap(tuner_utils.SaveBestEpoch, "on_epoch_end", -1)

    def _wrap(self, cls, name: str, sign: int) -> None:
        original = getattr(cls, name)

        def timed(obj, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(obj, *args, **kwargs)
            finally:
                self.seconds += sign * (time.perf_counter() - t0)

        setattr(cls, name, timed)


def _timed(call, clock: _FitClock) -> tuple[float, float, float, object]:
    """Wall, CPU (this process, every thread) and in-``fit`` wall seconds of ``call()``, and its value."""
    w, c, f = time.perf_counter(), time.process_time(), clock.seconds
    value = call()
    return time.perf_counter() - w, time.process_time() - c, clock.seconds - f, value


def overhead(args, mnist) -> dict:
    from digitdesk.core.trainrequest import limit
    from digitdesk.core.training import split_validation
    from digitdesk.core.tuning import run_search

    tuner_s, hand_s, tuner_cpu, hand_cpu, tuner_out, hand_out = [], [], [], [], [], []
    clock = _FitClock()
    with tempfile.TemporaryDirectory() as root:
        config, _ = _search(args.family, args.overhead_trials, args.overhead_epochs, args.overhead_images, root, "overhead")
        train, val = split_validation(limit(mnist.train, config.budget.images, config.seed), config.validation_split, config.seed)
        rows = run_search(config, mnist.train, root=root, fresh=True).rows  # warm-up (and the configurations)
        _by_hand(config, rows[:1], train, val)
        for _ in range(args.repeats):
            wall, cpu, in_fit, again = _timed(lambda: run_search(config, mnist.train, root=root, fresh=True), clock)
            tuner_s.append(wall)
            tuner_cpu.append(cpu)
            tuner_out.append(wall - in_fit)
            assert [r.values for r in again.rows] == [r.values for r in rows], "the seeded search changed"
            wall, cpu, in_fit, _ = _timed(lambda: _by_hand(config, rows, train, val), clock)
            hand_s.append(wall)
            hand_cpu.append(cpu)
            hand_out.append(wall - in_fit)
    # The machine is shared: CPU time (this process's, all its threads) is the figure, least
    # disturbed by other work; wall time beside it, the fastest of each and the medians.
    return {"trials": len(rows), "epochs": config.budget.epochs, "images": config.budget.images,
            "tuner_seconds": [round(x, 2) for x in tuner_s], "hand_seconds": [round(x, 2) for x in hand_s],
            "tuner_cpu_seconds": [round(x, 2) for x in tuner_cpu], "hand_cpu_seconds": [round(x, 2) for x in hand_cpu],
            "tuner_outside_fit_seconds": [round(x, 3) for x in tuner_out],
            "hand_outside_fit_seconds": [round(x, 3) for x in hand_out],
            # the search's own work (outside model.fit) beyond the hand loop's, per hand-loop second
            "overhead_outside_fit": round((statistics.median(tuner_out) - statistics.median(hand_out))
                                          / statistics.median(hand_s), 4),
            "overhead_cpu": round(statistics.median(tuner_cpu) / statistics.median(hand_cpu) - 1, 4),
            "overhead": round(min(tuner_s) / min(hand_s) - 1, 4),
            "overhead_medians": round(statistics.median(tuner_s) / statistics.median(hand_s) - 1, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", default="simple_cnn")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--images", type=int, default=12000)
    p.add_argument("--overhead-trials", type=int, default=3)
    p.add_argument("--overhead-epochs", type=int, default=2)
    p.add_argument("--overhead-images", type=int, default=12000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seeds", type=int, default=3, help="retrain the preset and the best this many times (seeds 0, 1, ...)")
    p.add_argument("--only", choices=["quality", "overhead"])
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    from digitdesk.core.data import load_mnist
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    mnist = load_mnist()
    out = {"args": vars(args), "cpus": os.cpu_count()}
    if args.only in (None, "quality"):
        q = out["quality"] = quality(args, mnist)
        print(f"search: {args.trials} trials x {args.epochs} epochs on {args.images:,} images in {q['search_seconds']:.0f} s")
        for r in q["trials"]:
            print(f"  trial {r['id']}: val {r['val_accuracy'] * 100:.2f}%  {r['values']}")
        for key, label in (("preset", "preset (trial " + q["start_trial"] + ")"), ("best", "best (trial " + q["best_trial"] + ")")):
            re = q[f"{key}_retrained"]
            tests = " / ".join(f"{r['test_accuracy'] * 100:.2f}" for r in re["runs"])
            print(f"{label:<18} search val {q[f'{key}_search_val'] * 100:.2f}%   retrained ({len(re['runs'])} seeds, mean): "
                  f"val {re['val_accuracy'] * 100:.2f}%, test {re['test_accuracy'] * 100:.2f}% ({tests}; {re['seconds']:.0f} s each)")
    if args.only in (None, "overhead"):
        o = out["overhead"] = overhead(args, mnist)
        print(f"overhead: {o['trials']} trials x {o['epochs']} epochs on {o['images']:,} images:\n"
              f"  outside model.fit: tuner {o['tuner_outside_fit_seconds']} s, by hand {o['hand_outside_fit_seconds']} s "
              f"-> {o['overhead_outside_fit'] * 100:+.1f}% of the hand loop's time (medians)\n"
              f"  CPU: tuner {o['tuner_cpu_seconds']} s, by hand {o['hand_cpu_seconds']} s -> {o['overhead_cpu'] * 100:+.1f}% (medians)\n"
              f"  wall: tuner {o['tuner_seconds']} s, by hand {o['hand_seconds']} s -> {o['overhead'] * 100:+.1f}% "
              f"(fastest of each; medians {o['overhead_medians'] * 100:+.1f}%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
