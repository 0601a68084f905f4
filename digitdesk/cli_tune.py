"""``digitdesk tune``: a hyperparameter search (:mod:`digitdesk.core.tuning`) with a progress
line, a table of the trials and the best configuration trained to the end and saved.

The first Ctrl+C stops the search within one batch (the finished trials are kept; the same
command continues it), a second one interrupts at once.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from typing import Callable

from digitdesk.core.errors import DigitdeskError

FAMILY_NAMES = ("simple_cnn", "lenet5", "deep_cnn", "mlp", "tiny")  # core.tunespace.FAMILIES (no numpy for --help)
ALGORITHM_NAMES = ("random", "bayes", "hyperband")


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(max(0, seconds))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}"


class SearchBar:
    """The search's progress on stderr: one line redrawn on a terminal (every 10 s otherwise),
    and a line per trial that ends."""

    def __init__(self, stream=sys.stderr, width: int = 20):
        self.stream, self.width = stream, width
        self.tty = stream.isatty()
        self.last = 0.0
        self.ended: set[str] = set()
        self.first = True

    def __call__(self, p) -> None:
        from digitdesk.core.tunespace import HYPERPARAMETERS, LABELS, format_value

        if p.rows is not None and self.first:
            self.first = False
            if p.rows:
                done = sum(r.state == "finished" for r in p.rows)
                self._line(f"continuing the search: {done} finished trial{'s' if done != 1 else ''} kept from before", end=True)
        if p.rows is not None:
            for row in p.rows:
                if row.state in ("finished", "failed") and row.id not in self.ended:
                    self.ended.add(row.id)
                    if p.kind != "trial" or p.trial_id != row.id:
                        continue  # ended in an earlier session: in the final table
                    score = f"val accuracy {row.val_accuracy * 100:.2f}%" if row.val_accuracy is not None else row.error
                    values = ", ".join(f"{LABELS[k]} {format_value(k, row.values.get(k))}" for k in HYPERPARAMETERS
                                       if k in row.values)
                    self._line(f"trial {row.id} {row.state}: {score} ({values}) in {_duration(row.seconds)}", end=True)
        now = time.perf_counter()
        if p.kind == "batch" and now - self.last < (0.1 if self.tty else 10.0):
            return
        if p.kind == "trial" and p.trial_id and not any(r.id == p.trial_id and r.state == "running" for r in p.rows):
            return  # a trial's end: its line is printed above
        self.last = now
        n = int(p.fraction * self.width)
        best = f"  best {p.best_score * 100:.2f}% (trial {p.best_id})" if p.best_score is not None else ""
        where = f"trial {p.trial_id} epoch {p.epoch}/{p.epochs} batch {p.batch}/{p.batches}" if p.trial_id else "starting"
        self._line(f"{p.trials_done}/{p.trials} trials [{'#' * n}{'-' * (self.width - n)}] {where}{best}  "
                   f"{_duration(p.seconds_left)} left")

    def _line(self, text: str, end: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if end else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def trials_table(result) -> str:
    """The trials, best first: id, values, validation accuracy, epochs, time and state."""
    from digitdesk.core.tunespace import HYPERPARAMETERS, LABELS, format_value

    keys = [k for k in HYPERPARAMETERS if any(k in r.values for r in result.rows)]
    head = ["trial", *(LABELS[k] for k in keys), "val acc", "epochs", "time", "state"]
    best = result.best
    lines = []
    for r in result.ranked():
        state = r.state + (" (best)" if best is not None and r.id == best.id else "") + \
            (" (the preset's values)" if r.id == result.start_id else "")
        lines.append([r.id, *(format_value(k, r.values.get(k)) for k in keys),
                      f"{r.val_accuracy * 100:.2f}%" if r.val_accuracy is not None else "",
                      str(r.epoch), _duration(r.seconds) if r.seconds else "", state])
    widths = [max(len(h), *(len(row[i]) for row in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines)])


class StopOnCtrlC:
    """The first Ctrl+C asks the work to stop (within a batch), saying ``message``; the second
    interrupts at once. A KeyboardInterrupt raised wherever the main thread happens to be, in
    TensorFlow's training loop, can crash the process (SIGSEGV): a stop at a batch's end is safe."""

    def __init__(self, message: str = "stopping after this batch (Ctrl+C again to interrupt at once)…"):
        self.flag = threading.Event()
        self._old = None
        self._message = message

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.flag.is_set():
            raise KeyboardInterrupt
        self.flag.set()
        print(f"\n{self._message}", file=sys.stderr)

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def search_config(args: argparse.Namespace):
    """The SearchConfig of ``digitdesk tune``: a saved search's (``--resume``) or the options'."""
    from dataclasses import replace

    from digitdesk.core.tunespace import Budget, SearchConfig, SearchSpace

    if args.resume:
        from digitdesk.core.tuning import saved_search

        config = saved_search(args.resume)
        if args.trials is not None:
            config.budget.trials = args.trials
        return config
    if not args.arch:
        raise DigitdeskError("choose the architecture family to search: --arch " + "|".join(FAMILY_NAMES))
    space = SearchSpace()
    given = {"learning_rate": args.lr, "batch_size": args.batch_sizes, "dropout": args.dropout, "width": args.width,
             "schedule": args.schedules, "augment": args.augment}
    space = replace(space, **{k: tuple(v) for k, v in given.items() if v is not None})
    config = SearchConfig(family=args.arch, algorithm=args.algorithm, space=space, name=args.name or "",
                          seed=args.seed)
    start = config.start()
    config.budget = Budget(trials=args.trials or 8, epochs=args.epochs or 2,
                           images=12000 if args.images is None else args.images,
                           final_epochs=args.final_epochs or start.epochs, final_images=args.final_images or 0)
    return config.validate()


def cmd_tune(args: argparse.Namespace, progress_bar: Callable) -> int:
    from digitdesk.core.data import load_source
    from digitdesk.core.tfimport import import_tensorflow

    import logging

    config = search_config(args)
    import_tensorflow()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # each trial's new model retraces: not news
    from digitdesk.core.tuning import run_search, train_best

    dataset = load_source(args.data)
    b = config.budget
    print(f"searching {config.family} ({config.algorithm}): {b.trials} trials x {b.epochs} epochs on "
          f"{min(b.images or len(dataset.train), len(dataset.train)):,} of {len(dataset.train):,} images of "
          f"{dataset.source}; the search is kept as {config.folder_name!r}", file=sys.stderr)
    bar = SearchBar()
    with StopOnCtrlC() as ctrl_c:
        try:
            result = run_search(config, dataset.train, bar, ctrl_c.flag.is_set, fresh=args.fresh)
        except KeyboardInterrupt:
            bar.close()
            print(f"interrupted: the finished trials are kept; run the same command to continue "
                  f"(or: digitdesk tune --resume {config.folder_name})", file=sys.stderr)
            return 130
    bar.close()
    print(trials_table(result))
    if result.cancelled:
        print(f"\nstopped: {sum(r.state == 'finished' for r in result.rows)} finished trials kept in {result.folder}; "
              f"run the same command (or digitdesk tune --resume {config.folder_name}) to continue", file=sys.stderr)
        return 130
    best = result.best
    if best is None:
        raise DigitdeskError("no trial finished (see the table): nothing to train")
    start = next((r for r in result.rows if r.id == result.start_id), None)
    print(f"\nbest: trial {best.id}, val accuracy {best.val_accuracy * 100:.2f}%"
          + (f" (the preset's values, trial {start.id}: {start.val_accuracy * 100:.2f}%)"
             if start is not None and start.val_accuracy is not None else ""))
    if args.search_only:
        return 0
    print(f"training the best configuration for {b.final_epochs} epochs"
          + (f" on {b.final_images:,} images" if b.final_images else " on every training image") + "…", file=sys.stderr)
    with StopOnCtrlC() as ctrl_c:
        try:
            model = train_best(result, dataset, on_progress=progress_bar(), should_stop=ctrl_c.flag.is_set,
                               out=args.out, name=args.out.rsplit("/", 1)[-1].removesuffix(".keras"))
        except KeyboardInterrupt:
            print("\ninterrupted: nothing saved (the search is kept)", file=sys.stderr)
            return 130
    acc = model.test_report.accuracy if model.test_report is not None else None
    if model.result.cancelled:
        print(f"stopped: saved {args.out} as it was when stopped (epoch {model.result.best_epoch})", file=sys.stderr)
    print(f"saved {args.out} ({model.metadata['parameters']:,} parameters"
          + (f", test accuracy {acc * 100:.2f}%" if acc is not None else "") + f", run {model.metadata['run_id']})")
    return 0


def _pair(kind: Callable[[str], float], what: str):
    def parse(text: str) -> float:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None

    return parse


def add_tune_parser(sub, output_file: Callable, whole_number: Callable, data_source: Callable,
                    progress_bar: Callable) -> None:
    """The ``tune`` sub-command (``digitdesk.cli`` passes its argument checks and ProgressBar)."""
    p = sub.add_parser("tune", help="search hyperparameters with KerasTuner, then train the best configuration",
                       description="Search learning rate, batch size, dropout, width, schedule and augmentation for "
                                   "an architecture family, starting from its preset; train the best configuration "
                                   "to the end, test it and save it. The search is kept in the per-user data folder: "
                                   "the same command (or --resume NAME) continues it after a Stop, crash or quit.")
    p.add_argument("--arch", choices=FAMILY_NAMES, help="the architecture family to search")
    p.add_argument("--trials", type=whole_number(1), help="number of trials (default: 8)")
    p.add_argument("--epochs", type=whole_number(1), help="epochs per trial (default: 2)")
    p.add_argument("--images", type=whole_number(0), help="training images the search uses (default: 12000; 0: all)")
    p.add_argument("--algorithm", choices=ALGORITHM_NAMES, default="random", help="(default: random)")
    p.add_argument("--out", default="best.keras", type=output_file, help="where to save the best model (default: best.keras)")
    p.add_argument("--final-epochs", type=whole_number(1), help="epochs to train the best configuration (default: the preset's)")
    p.add_argument("--final-images", type=whole_number(0), help="its training images (default: all)")
    number = _pair(float, "a number")
    p.add_argument("--lr", nargs=2, type=number, metavar=("LOW", "HIGH"), help="learning-rate range, log scale (default: 1e-4 1e-2)")
    p.add_argument("--batch-sizes", nargs="+", type=whole_number(1), metavar="B", help="batch sizes to try (default: 32 64 128)")
    p.add_argument("--dropout", nargs=2, type=number, metavar=("LOW", "HIGH"), help="dropout range (default: 0 0.5)")
    p.add_argument("--width", nargs="+", type=number, metavar="W", help="multipliers of the filter and unit counts (default: 0.5 1 2)")
    p.add_argument("--schedules", nargs="+", choices=["constant", "cosine", "exponential", "plateau"], metavar="S",
                   help="learning-rate schedules to try: constant, cosine, exponential, plateau (default: constant cosine)")
    p.add_argument("--augment", nargs=2, type=number, metavar=("LOW", "HIGH"),
                   help="augmentation strength range, 0 off to 1 the usual (default: 0 1)")
    p.add_argument("--name", help="the search's name (default: FAMILY-ALGORITHM); the same name continues it")
    p.add_argument("--resume", metavar="NAME", help="continue the search NAME with the settings it was begun with")
    p.add_argument("--fresh", action="store_true", help="start the search over (its finished trials are deleted)")
    p.add_argument("--search-only", action="store_true", help="search, print the table, train nothing")
    p.add_argument("--seed", type=whole_number(0), default=0)
    p.add_argument("--data", metavar="SRC", type=data_source, help="as for train (default: MNIST)")
    p.set_defaults(func=lambda args: cmd_tune(args, progress_bar))
