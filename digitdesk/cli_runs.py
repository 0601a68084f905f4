"""``digitdesk runs``: list, show, export, delete and rename the kept training runs
(:mod:`digitdesk.core.runs`). Nothing here imports TensorFlow."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from digitdesk.core.errors import RunError
from digitdesk.core.runs import COLUMNS, RunStore, table, to_csv, to_markdown


def _duration(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}"


def _percent(value) -> str:
    return f"{value * 100:.2f}%" if isinstance(value, (int, float)) else ""


def _list_line(entry) -> str:
    if entry.broken:
        return f"{entry.id:<22} broken: {entry.error}"
    row = entry.summary()
    return (f"{row['id']:<22} {row['status']:<11} {str(row['architecture'] or ''):<12} {str(row['epochs'] if row['epochs'] is not None else ''):>6}  "
            f"{_percent(row['test accuracy']):>8}  {_duration(row['time']):>6}  {row['name'] or ''}")


def cmd_list(args: argparse.Namespace) -> int:
    store = RunStore()
    entries = store.list()
    if args.json:
        print(json.dumps([{**e.summary(), "date": e.record.get("date")} if not e.broken else e.summary()
                          for e in entries], indent=1))
        return 0
    if not entries:
        print(f"no runs yet (they are kept in {store.root})")
        return 0
    print(f"{'ID':<22} {'STATUS':<11} {'ARCH':<12} {'EPOCHS':>6}  {'TEST ACC':>8}  {'TIME':>6}  NAME")
    for entry in entries:
        print(_list_line(entry))
    return 0


def format_run(record: dict) -> str:
    """A run as readable text: what was trained, how it went, its per-epoch history and test metrics."""
    r = record
    lines = [f"run {r.get('id')}: {r.get('name')}",
             f"status: {r.get('status')}" + (f" ({r['error']})" if r.get("error") else "")]
    lines.append(f"date: {r.get('date')}" + (f", ended {r['ended']}" if r.get("ended") else "")
                 + f" · from the {r.get('source', '?')} · digitdesk {r.get('digitdesk_version', '?')}")
    params = r.get("parameters")
    lines.append(f"architecture: {r.get('architecture')}" + (f", {params:,} parameters" if isinstance(params, int) else ""))
    lines.append(f"data: {r.get('data')} ({r.get('train_samples', '?')} training images)")
    lines.append(f"epochs: {r.get('epochs')} of {r.get('epochs_planned')}"
                 + (f", best epoch {r['best_epoch']}" if r.get("best_epoch") else "")
                 + (", stopped early" if r.get("stopped_early") else ""))
    aug = r.get("augmentation") or {}
    params_text = ", ".join(f"{k}={v}" for k, v in (aug.get("params") or {}).items())
    lines.append("augmentation: " + (f"on ({params_text})" if aug.get("on") else "off"))
    config = r.get("config") or {}
    lines.append("config: " + ", ".join(f"{k}={v}" for k, v in config.items() if k != "augment_params"))
    speed = r.get("samples_per_s")
    lines.append(f"time: {_duration(r.get('wall_seconds'))}" + (f", {speed:,.0f} samples/s" if speed else ""))
    if r.get("model"):
        lines.append(f"model: {r['model']}")
    epochs = r.get("epoch_history") or []
    if epochs:
        lines += ["", "epoch    loss  accuracy  val_loss  val_acc  learning rate"]
        for e in epochs:
            lines.append(f"{e.get('epoch'):>5}  {_num(e.get('loss'), '.4f'):>6}  {_percent(e.get('accuracy')):>8}  "
                         f"{_num(e.get('val_loss'), '.4f'):>8}  {_percent(e.get('val_accuracy')):>7}  "
                         f"{_num(e.get('learning_rate'), '.3g'):>13}")
    batches = r.get("batch_history") or {}
    if batches.get("loss"):
        lines.append(f"per-batch history: {len(batches['loss'])} points "
                     f"({batches.get('batches_per_point', 1)} batch(es) each; --json shows them)")
    test = r.get("test")
    lines += ["", _format_test(test) if test else "test: none (not evaluated)"]
    return "\n".join(lines)


def _num(value, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else "-"


def _format_test(test: dict) -> str:
    macro = test.get("macro") or {}
    lines = [f"test accuracy: {_percent(test.get('accuracy'))} of {test.get('count')}, loss {_num(test.get('loss'), '.4f')}",
             "", "digit  precision  recall      f1  support"]
    for d, m in (test.get("per_class") or {}).items():
        lines.append(f"{d:>5}  {_num(m.get('precision'), '.4f'):>9}  {_num(m.get('recall'), '.4f'):>6}  "
                     f"{_num(m.get('f1'), '.4f'):>6}  {m.get('support', ''):>7}")
    lines.append(f"{'macro':>5}  {_num(macro.get('precision'), '.4f'):>9}  {_num(macro.get('recall'), '.4f'):>6}  "
                 f"{_num(macro.get('f1'), '.4f'):>6}")
    confusion = test.get("confusion")
    if confusion:
        lines += ["", "confusion (rows: true, columns: predicted)", "     " + "".join(f"{d:>6}" for d in range(10))]
        lines += [f"{d:>5}" + "".join(f"{v:>6}" for v in row) for d, row in enumerate(confusion)]
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    record = RunStore().get(args.id)
    try:
        text = json.dumps(record, indent=1) if args.json else format_run(record)
    except (AttributeError, TypeError, ValueError) as exc:  # a hand-edited file: keys of the wrong kind
        raise RunError(f"run {args.id}: its file holds a malformed run ({exc})") from None
    print(text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    entries = RunStore().list()
    rows = table(entries)
    text = to_csv(rows) if args.format == "csv" else to_markdown(rows)
    broken = sum(e.broken for e in entries)
    if broken:
        print(f"digitdesk: left out {broken} broken run file{'s' if broken != 1 else ''} (see digitdesk runs list)",
              file=sys.stderr)
    if args.out:
        from digitdesk.core.modelio import atomic_write_bytes

        atomic_write_bytes(args.out, text.encode())
        print(f"wrote {len(rows)} run{'s' if len(rows) != 1 else ''} to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    for run_id in RunStore().delete(args.ids):
        print(f"deleted {run_id}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    record = RunStore().rename(args.id, args.name)
    print(f"renamed {record['id']} to {record['name']!r}")
    return 0


def add_runs_parser(sub, output_file: Callable[[str], str]) -> None:
    """The ``runs`` command and its actions, on the ``digitdesk`` sub-parsers ``sub``."""
    p = sub.add_parser("runs", help="the training runs kept so far: list, show, export, delete, rename",
                       description="Every training run (digitdesk train and the Train tab) is kept in the "
                                   "per-user folder (or $DIGITDESK_RUNS).")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("list", help="every run, newest first (broken files with the reason)")
    a.add_argument("--json", action="store_true", help="print a JSON array, one object per run")
    a.set_defaults(func=cmd_list)
    a = actions.add_parser("show", help="everything about one run")
    a.add_argument("id", metavar="ID")
    a.add_argument("--json", action="store_true", help="print the run's whole record as JSON")
    a.set_defaults(func=cmd_show)
    a = actions.add_parser("export", help="a table of every run: " + ", ".join(COLUMNS))
    a.add_argument("--format", choices=["csv", "md"], default="csv", help="csv (default) or md (Markdown)")
    a.add_argument("--out", metavar="FILE", type=output_file, help="write it here (default: print it)")
    a.set_defaults(func=cmd_export)
    a = actions.add_parser("delete", help="delete runs")
    a.add_argument("ids", nargs="+", metavar="ID")
    a.set_defaults(func=cmd_delete)
    a = actions.add_parser("rename", help="give a run a new name")
    a.add_argument("id", metavar="ID")
    a.add_argument("name", metavar="NAME")
    a.set_defaults(func=cmd_rename)

