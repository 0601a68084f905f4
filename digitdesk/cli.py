"""The ``digitdesk`` command: the desktop app without a sub-command, the engine with one.

TensorFlow is imported only by the sub-commands that need it, so ``--help`` and ``--version``
answer at once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from digitdesk import __version__
from digitdesk.cli_explain import add_explain_parser
from digitdesk.cli_runs import add_runs_parser
from digitdesk.cli_tune import StopOnCtrlC, add_tune_parser
from digitdesk.core.errors import DigitdeskError

EXIT_ERROR = 1
EXIT_SOME_FAILED = 2


def _quiet_tensorflow() -> None:
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()


def _load_recognizer(model: str | None):
    """The model to read with: through LiteRT when it has a fresh twin (no TensorFlow import)."""
    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load(model)
    if rec.twin_problem:
        print(f"digitdesk: reading with TensorFlow ({rec.name}: {rec.twin_problem})", file=sys.stderr)
    return rec


def _make_missing_twin(rec) -> None:
    """After a reading with TensorFlow: write the model's twin, so that the next one needs none."""
    from digitdesk.core.twin import keras_forced, write_twin

    if rec is None or not rec.twin_problem or keras_forced() or rec.path is None:
        return
    try:
        print(f"digitdesk: wrote the LiteRT twin {write_twin(rec.path, rec.model)}", file=sys.stderr)
    except DigitdeskError as exc:
        print(f"digitdesk: could not write the LiteRT twin: {exc}", file=sys.stderr)


def _without_name(message: str, name: str) -> str:
    """``message`` without a leading "``name``: " (the line already starts with the name)."""
    return message[len(name) + 2:] if message.startswith(f"{name}: ") else message


def cmd_predict(args: argparse.Namespace) -> int:
    from digitdesk.core.imageio import read_image

    rec = None  # loaded with the first readable image, so a missing file is reported at once
    results, failed = [], False
    for name in args.images:
        try:
            image = read_image(name)
        except DigitdeskError as exc:
            image, entry = None, {"file": name, "error": str(exc)}
        if image is not None:
            if rec is None:
                rec = _load_recognizer(args.model)  # its errors end the command (exit status 1)
            try:
                entry = {"file": name, **rec.read(image).to_dict()}
            except DigitdeskError as exc:
                entry = {"file": name, "error": str(exc)}
        failed = failed or "error" in entry
        results.append(entry)
        if not args.json:
            if "error" in entry:
                print(f"{name}: error: {_without_name(entry['error'], name)}")
            else:
                shown = entry["text"].replace("\n", " / ") or "(no digits found)"
                confs = " ".join(f"{d['digit']}:{d['confidence']:.2f}" for d in entry["digits"])
                print(f"{name}: {shown}" + (f"   [{confs}]" if confs else ""))
    if args.json:
        print(json.dumps(results))
    sys.stdout.flush()
    _make_missing_twin(rec)
    return EXIT_SOME_FAILED if failed else 0


def cmd_twin(args: argparse.Namespace) -> int:
    from digitdesk.core.twin import write_twin

    if Path(args.model).suffix.lower() != ".keras":
        raise DigitdeskError(f"{args.model}: expected a .keras model (a twin is made from one)")
    print(write_twin(args.model, dest=args.out))
    return 0


class ProgressBar:
    """A one-line text progress bar on stderr: epoch, batch, loss, accuracy, speed and time left."""

    def __init__(self, stream=sys.stderr, width: int = 24, prefix: str = ""):
        self.stream, self.width = stream, width
        self.prefix = prefix  # "worker 1 of 2: " on a worker of several
        self.last = 0.0
        self.tty = stream.isatty()

    def __call__(self, p) -> None:
        now = time.perf_counter()
        if p.kind == "batch" and now - self.last < (0.1 if self.tty else 10.0) and p.batch != p.batches:
            return
        self.last = now
        done = p.batch / max(p.batches, 1)
        bar = "#" * int(done * self.width) + "-" * (self.width - int(done * self.width))
        left = ((p.epochs - p.epoch) + (1 - done)) * p.batches * (p.elapsed / max(((p.epoch - 1) + done) * p.batches, 1))
        line = (f"epoch {p.epoch}/{p.epochs} [{bar}] {p.batch}/{p.batches}  loss {p.loss:.4f}  "
                f"acc {p.accuracy:.4f}  {p.samples_per_s:,.0f} samples/s  {_duration(left)} left")
        if p.kind == "epoch":
            val = f"  val_loss {p.val_loss:.4f}  val_acc {p.val_accuracy:.4f}" if p.val_accuracy is not None else ""
            line = (f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  acc {p.accuracy:.4f}{val}  "
                    f"{p.samples_per_s:,.0f} samples/s  {_duration(p.elapsed)} elapsed")
            self.stream.write(("\r\x1b[K" if self.tty else "") + self.prefix + line + "\n")
        elif self.tty:
            self.stream.write("\r\x1b[K" + self.prefix + line)
        else:
            self.stream.write(self.prefix + line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def train_config(args: argparse.Namespace):
    """The TrainConfig of ``digitdesk train``: the preset's recipe (or the defaults), with every
    option given on the command line in its place."""
    from dataclasses import replace

    from digitdesk.core.training import TrainConfig

    if args.preset:
        from digitdesk.core.presets import get

        config = get(args.preset).train_config()
    else:
        config = TrainConfig()
    given = {"arch": args.arch, "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
             "schedule": args.schedule, "augment": args.augment, "validation_split": args.val_split,
             "early_stopping": args.early_stopping, "seed": args.seed}
    return replace(config, **{k: v for k, v in given.items() if v is not None})


def _cluster(args: argparse.Namespace):
    """The workers of ``--workers``/``--worker-index``, else of ``TF_CONFIG``, else None."""
    from digitdesk.core.cluster import from_arguments, from_environment

    if args.workers is not None or args.worker_index is not None:
        return from_arguments(args.workers, args.worker_index)
    return from_environment()


def cmd_train(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from digitdesk.core.data import load_source
    from digitdesk.core.tfimport import tensorflow_conflict

    config = train_config(args)
    if args.preset and args.data is None:
        from digitdesk.core.presets import get

        if get(args.preset).source == "csv":
            raise DigitdeskError(f"the {args.preset} preset trains on a Kaggle train.csv: give it with --data train.csv")
    conflict = tensorflow_conflict()
    if conflict:
        raise DigitdeskError(conflict)
    cluster = _cluster(args)
    strategy, prefix = None, ""
    if cluster is not None:
        from digitdesk.core.cluster import check_port_free, make_strategy
        from digitdesk.core.training import set_multi_worker_strategy

        check_port_free(cluster)
        prefix = f"{cluster.label()}: "
        print(f"{prefix}listening on {cluster.address}, waiting up to {args.worker_timeout:g} s for "
              f"{cluster.size - 1} other worker{'s' * (cluster.size > 2)}", file=sys.stderr)
        strategy = make_strategy(cluster, args.worker_timeout)  # before any other TensorFlow work
        set_multi_worker_strategy(strategy)
    _quiet_tensorflow()
    from digitdesk.core.trainjob import train_and_save

    initial = None
    if args.fine_tune:
        from digitdesk.core.modelio import load_model

        with strategy.scope() if strategy is not None else nullcontext():  # mirrored across the workers
            initial = load_model(args.fine_tune)
        config.arch = "fine-tuned"
    dataset = load_source(args.data)
    print(f"{prefix}training {config.arch} on {dataset.source}: {len(dataset.train)} images, "
          f"{config.epochs} epochs" + (f" (preset {args.preset})" if args.preset else ""), file=sys.stderr)

    def interrupted() -> bool:  # Ctrl+C: the training ends at this batch, by the interrupt, so nothing is saved
        if ctrl_c.flag.is_set():
            raise KeyboardInterrupt
        return False

    try:
        with StopOnCtrlC("interrupting after this batch (Ctrl+C again to interrupt at once)…") as ctrl_c:
            result, meta = train_and_save(config, dataset, args.out, on_progress=ProgressBar(prefix=prefix),
                                          should_stop=interrupted, initial_model=initial, name=Path(args.out).stem,
                                          cluster=cluster, strategy=strategy)
    except KeyboardInterrupt:
        print("\ninterrupted: nothing saved", file=sys.stderr)
        return 130
    if cluster is not None and not cluster.is_chief:
        print(f"{prefix}done: trained {result.epochs_run} epoch{'s' * (result.epochs_run != 1)} with the others; the chief "
              f"(worker 0, {cluster.workers[0]}) saves the model")
        return 0
    acc = meta.get("test_accuracy")
    print(f"{prefix}saved {args.out} ({meta['parameters']:,} parameters, best epoch {result.best_epoch}"
          + (f", test accuracy {acc * 100:.2f}%" if acc is not None else "") + ")")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from digitdesk.core.data import load_source
    from digitdesk.core.evaluate import report, save_confusion_png, save_roc_png

    rec = _load_recognizer(args.model)
    dataset = load_source(args.data)
    test = dataset.test
    probs = rec.classify_many(test.images)
    rep = report(test.labels, probs.argmax(axis=1), probs)
    print(f"model: {rec.path}\ndata: {dataset.source} (test split, {len(test)} images)\n")
    print(rep.format())
    if args.report:
        out = Path(args.report)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps({"model": str(rec.path), "data": dataset.source, **rep.to_dict()}, indent=2))
        save_confusion_png(rep, str(out / "confusion.png"))
        save_roc_png(test.labels, probs, str(out / "roc.png"))
        print(f"\nreport written to {out}/report.json, {out}/confusion.png and {out}/roc.png")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from digitdesk.core.data import load_source
    from digitdesk.core.ensemble import MIN_MEMBERS, load_members, make_ensemble

    if len(args.models) < MIN_MEMBERS:
        raise DigitdeskError(f"an ensemble needs at least {MIN_MEMBERS} models, not {len(args.models)}")
    _quiet_tensorflow()
    members = load_members(args.models)  # their errors before the data is loaded
    dataset = load_source(args.data)
    result = make_ensemble(members, args.out, dataset.test, data_source=dataset.source)
    print(f"test split of {dataset.source}: {len(dataset.test)} images")
    for member, rep in zip(result.members, result.member_reports):
        print(f"  {member.name:<24} {rep.accuracy * 100:6.2f}%   ({member.path})")
    print(f"  {'ensemble (average)':<24} {result.report.accuracy * 100:6.2f}%")
    print(f"saved {result.path} ({result.metadata['parameters']:,} parameters) and its LiteRT twin")
    return 0


def cmd_kaggle(args: argparse.Namespace) -> int:
    from digitdesk.core.data import load_kaggle_csv

    split = load_kaggle_csv(args.test)
    rec = _load_recognizer(args.model)
    labels = rec.classify_many(split.images).argmax(axis=1)
    lines = ["ImageId,Label"] + [f"{i + 1},{int(d)}" for i, d in enumerate(labels)]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {len(labels)} predictions to {args.out}")
    return 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from digitdesk.selftest import run

    return run(model=args.model)


# Argument checks: run by argparse while parsing, so a bad value is refused (exit status 2, one
# line naming the argument) before TensorFlow, a model or a data set is loaded.


def _whole_number(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.001, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, such as 0.001, not {text}")
    return value


def _workers(text: str) -> str:
    from digitdesk.core.cluster import parse_workers
    from digitdesk.core.errors import ClusterError

    try:
        parse_workers(text)
    except ClusterError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--workers: ")) from None
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second, not {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.1, not {text!r}") from None
    if not 0 <= value < 1:  # also false for NaN
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1 (a fraction such as 0.1), not {text}")
    return value


PRESET_NAMES = "fnn, mlp, simple_cnn, lenet5 or deep_cnn"  # core.presets.PRESETS (not imported for --help: numpy, cv2)


def _preset(text: str) -> str:
    from digitdesk.core.presets import PRESETS

    if text not in PRESETS:
        raise argparse.ArgumentTypeError(f"no preset {text!r}: choose {PRESET_NAMES}")
    return text


def _existing_file(text: str) -> str:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: file not found")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder, expected a file")
    return text


def _data_source(text: str) -> str:
    if text.strip().lower() != "mnist" and not Path(text).expanduser().exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder (expected 'mnist', an MNIST folder or "
                                         "mnist.npz, a Kaggle train.csv, or a folder of digit sub-folders 0/ .. 9/)")
    return text


def _check_writable_folder(folder: Path, text: str) -> None:
    """Refuse (ArgumentTypeError) unless files can be created in ``folder``, or, if it does not
    exist yet, in the nearest folder above it that does."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: cannot write in {existing} (permission denied)")


def _output_file(suffix: str = ""):
    def parse(text: str) -> str:
        path = Path(text).expanduser()
        if suffix and path.suffix != suffix:
            raise argparse.ArgumentTypeError(f"{text}: the file name must end in {suffix}")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: is a folder, expected a file name")
        if not path.parent.exists():
            raise argparse.ArgumentTypeError(f"{text}: the folder {path.parent} does not exist")
        _check_writable_folder(path.parent, text)
        return text

    return parse


def _output_folder(text: str) -> str:
    _check_writable_folder(Path(text).expanduser(), text)
    return text


def _camera(text: str) -> str:
    if not text.strip().isdigit() and not Path(text).expanduser().exists():
        raise argparse.ArgumentTypeError(f"{text}: not a camera index (0, 1, ...) and no such video file or folder")
    return text


def build_parser() -> argparse.ArgumentParser:
    from digitdesk.core.models import ZOO

    parser = argparse.ArgumentParser(
        prog="digitdesk",
        description="Recognize handwritten digits. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"digitdesk {__version__}")
    parser.add_argument("--camera", type=_camera, help="webcam source for the app: a camera index, a video file or a folder of images")
    parser.add_argument("--model", type=_existing_file, help="model file (.keras, or .tflite to read only) for the app (default: the active or bundled model)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("predict", help="read the digits in image files")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", type=_existing_file, help="model file, .keras or .tflite (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print one JSON array with a result per file")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("twin", help="write the LiteRT twin (.tflite) of a .keras model, to read it without TensorFlow")
    p.add_argument("model", metavar="MODEL", type=_existing_file, help="the .keras model")
    p.add_argument("--out", type=_output_file(".tflite"),
                   help="where to write it (default: beside the model, or the per-user folder for the bundled one)")
    p.set_defaults(func=cmd_twin)

    p = sub.add_parser("train", help="train a model and save it with its metadata")
    p.add_argument("--preset", type=_preset, metavar="NAME",
                   help=f"a classic notebook's recipe: {PRESET_NAMES} (options given beside it replace the recipe's)")
    p.add_argument("--arch", choices=sorted(ZOO), help="architecture (default: digitnet)")
    p.add_argument("--epochs", type=_whole_number(1), help="(default: 10)")
    p.add_argument("--batch-size", type=_whole_number(1), help="(default: 128)")
    p.add_argument("--lr", type=_learning_rate, help="learning rate (default: 0.001)")
    p.add_argument("--schedule", choices=["constant", "cosine", "exponential", "plateau"], help="(default: cosine)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random rotation, scale, shift, shear and stroke thickness (default: on)")
    p.add_argument("--val-split", type=_fraction, help="fraction held out for validation (default: 0.1)")
    p.add_argument("--early-stopping", type=_whole_number(0), metavar="PATIENCE", help="stop after PATIENCE epochs without improvement")
    p.add_argument("--seed", type=_whole_number(0))
    p.add_argument("--fine-tune", metavar="MODEL", type=_existing_file, help="start from this model instead of a new one")
    p.add_argument("--data", metavar="SRC", type=_data_source, help="mnist (default), an MNIST folder or npz, a Kaggle train.csv, or a folder of 0/..9/ images")
    p.add_argument("--out", default="model.keras", type=_output_file(".keras"), help="where to save the model (default: model.keras)")
    p.add_argument("--workers", metavar="HOST:PORT,...", type=_workers,
                   help="train one model across these worker processes, one per address, each started with the "
                        "same options (also read from TF_CONFIG); the first, the chief, saves it")
    p.add_argument("--worker-index", metavar="I", type=_whole_number(0),
                   help="which address of --workers is this process (0: the chief)")
    p.add_argument("--worker-timeout", metavar="SECONDS", type=_seconds, default=120.0,
                   help="with several workers: how long to wait for all of them to start, and for one that "
                        "stops answering, before giving up (default: 120)")
    p.set_defaults(func=cmd_train)

    add_tune_parser(sub, _output_file(".keras"), _whole_number, _data_source, ProgressBar)

    p = sub.add_parser("evaluate", help="accuracy, per-class report, ROC AUC and confusion matrix on a test split")
    p.add_argument("--model", type=_existing_file, help="model file (default: the bundled model)")
    p.add_argument("--data", metavar="SRC", type=_data_source, help="as for train (default: MNIST test split)")
    p.add_argument("--report", metavar="DIR", type=_output_folder, help="also write report.json, confusion.png and roc.png here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("ensemble", help="one model averaging the probabilities of two or more .keras models")
    p.add_argument("models", nargs="+", metavar="MODEL", type=_existing_file, help="the .keras models (two or more)")
    p.add_argument("--out", required=True, type=_output_file(".keras"), help="where to save the ensemble")
    p.add_argument("--data", metavar="SRC", type=_data_source, help="test each model and the ensemble on this "
                   "data set's test split, as for evaluate (default: MNIST)")
    p.set_defaults(func=cmd_ensemble)

    p = sub.add_parser("kaggle", help="write a Kaggle Digit Recognizer submission")
    p.add_argument("--test", required=True, type=_existing_file, help="Kaggle test.csv")
    p.add_argument("--out", default="submission.csv", type=_output_file(), help="where to write it (default: submission.csv)")
    p.add_argument("--model", type=_existing_file, help="model file (default: the bundled model)")
    p.set_defaults(func=cmd_kaggle)

    add_runs_parser(sub, _output_file())
    add_explain_parser(sub, _existing_file, _output_folder, _whole_number)

    p = sub.add_parser("self-test", help="check this installation: model, samples, window, training")
    p.add_argument("--model", type=_existing_file, help="model file to test (default: the bundled model)")
    p.set_defaults(func=cmd_self_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitdesk`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from digitdesk.gui.app import run

            return run(camera=args.camera, model=args.model)
        return args.func(args)
    except DigitdeskError as exc:
        print(f"digitdesk: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("digitdesk: interrupted", file=sys.stderr)
        return 130
