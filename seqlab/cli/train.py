"""``seqlab train <task>`` and ``seqlab eval CKPT`` for every registered task.

Examples::

    seqlab train --help                                   # the registered tasks
    seqlab train lm --dataset ptb --preset zaremba-small --out-dir runs/ptb-small
    seqlab train lm --out-dir runs/ptb-small --resume     # the saved config; no retyping
    seqlab train lm --out-dir runs/ptb-small --resume --epochs 20   # an allowed change
    seqlab train lm --preset char-small --nproc-per-node 2          # torchrun, 2 processes
    torchrun --nproc-per-node 2 -m seqlab train lm --preset char-small
    seqlab eval runs/ptb-small/best.safetensors --split test

Every config field is a flag (``--hidden-size 650`` or ``--model.hidden_size 650``) or a line in
a TOML file (``--config run.toml``); flags beat the file, the file beats ``--preset``. With
``--resume`` the run folder's checkpoint gives the config: flags typed with it must equal the
saved values, except options that do not change what is learned (epochs, max steps, time
limit, patience, logging, evaluation batch sizes, threads, device, backend), which are applied
and listed in the log. The text policy a run read its files with (``--encoding``/``--errors``)
is saved in its checkpoints and used again by ``--resume`` and by ``eval`` of the run's own
files (another one typed is an error: it would be other text). Data files are recorded with
their absolute path and SHA-256: ``eval`` finds them from any folder and names a moved file
(an error) or a changed one (a warning).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

from seqlab.cli.common import add_text_arguments, add_tool_subcommand, word_after

# the classical models ``seqlab train`` also trains (no checkpoint: their own file formats);
# name -> (module, options function, one-line help). `seqlab ngram train` and `seqlab embed
# train` are aliases of these.
CLASSICAL = {
    "ngram": ("seqlab.cli.ngram", "add_train_options",
              "classical: count and smooth an n-gram language model (.arpa / .npz file)"),
    "embed": ("seqlab.cli.embed", "add_train_options",
              "classical: word2vec / fastText word vectors (--model; the task fasttext is the "
              "classifier)"),
}
# ``seqlab eval TOOL`` for the classical models (``seqlab eval CKPT`` for every task)
CLASSICAL_EVAL = {
    "ngram": ("seqlab.cli.ngram", "add_eval_options", "perplexity of a text under an n-gram "
              "model (alias: seqlab ngram eval)"),
    "embed": ("seqlab.cli.embed", "add_evaluate_options", "analogy accuracy and word-pair "
              "Spearman of word vectors (alias: seqlab embed evaluate)"),
}


def add_train_arguments(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> None:
    from seqlab.config import add_config_arguments
    from seqlab.tasks import TASKS

    sub = parser.add_subparsers(dest="task", metavar="TASK", required=True,
                                title="tasks (seqlab train TASK --help for its options)")
    argv = argv or []
    after = argv[argv.index("train") + 1:] if "train" in argv else []
    wanted = next((a for a in after if not a.startswith("-")), None)
    for name, task in TASKS.items():
        p = sub.add_parser(name, help=task.summary, description=f"train: {task.summary}")
        if name != wanted:
            continue
        p.add_argument("--resume", action="store_true",
                       help="continue <out-dir>/last.safetensors exactly where it stopped, "
                            "with its saved config")
        p.add_argument("--dry-run", action="store_true",
                       help="one training batch and one validation batch (into "
                            "<out-dir>/dry-run)")
        p.add_argument("--nproc-per-node", type=int, default=0, metavar="N",
                       help="train with N processes on this machine: runs torchrun for you "
                            "(see the README for several machines)")
        add_config_arguments(p, task.default_config(), task.preset_tables())
        add_text_arguments(p)
    for name, (module, options, summary) in CLASSICAL.items():
        p = sub.add_parser(name, help=summary, description=f"train: {summary}")
        if name == wanted:
            import importlib

            getattr(importlib.import_module(module), options)(p)


def _resume_config(task, layers: list[dict], log) -> object:
    """The saved config of the run folder the flags name, with the flags typed applied."""
    from pathlib import Path

    from seqlab.config import RunConfig
    from seqlab.errors import CheckpointError
    from seqlab.train.checkpoint import load_checkpoint

    cfg = task.default_config()
    for tables in layers:  # only to find out_dir
        cfg = RunConfig.from_dict(tables, base=cfg)
    last = Path(cfg.train.out_dir) / "last.safetensors"
    if not last.exists():
        raise CheckpointError(f"--resume: no checkpoint to continue at {last} (pass the run's "
                              "--out-dir)")
    ckpt = load_checkpoint(last)
    ckpt.check_task(task.name, f"train {task.name}")
    saved = RunConfig.from_dict(ckpt.config, base=task.default_config())
    wanted = saved
    for tables in layers:
        wanted = RunConfig.from_dict(tables, base=wanted)
    fixed = {name: getattr(cls, "RESUMABLE", ()) for name, cls in saved.sections().items()}
    refused = set(saved.differences(wanted, fixed))  # the runner names these in its error
    changed = [c for c in saved.differences(wanted, {}) if c not in refused]
    if changed:
        log("| resume overrides: " + "; ".join(c.replace("checkpoint ", "").replace(
            ", run ", " -> ") for c in changed) + " |")
    return wanted


def run_train(args: argparse.Namespace) -> int:
    from seqlab.config import RunConfig, config_overrides
    from seqlab.tasks import get_task, train

    task = get_task(args.task)
    if args.nproc_per_node:
        return _launch(args)
    layers = config_overrides(args, task.preset_tables())

    def log(line: str) -> None:
        print(line, flush=True)

    if args.resume:
        cfg = _resume_config(task, layers, log if os.environ.get("RANK", "0") == "0" else
                             (lambda line: None))
    else:
        cfg = task.default_config()
        for tables in layers:
            cfg = RunConfig.from_dict(tables, base=cfg)
    result = train(cfg, resume=args.resume, dry_run=args.dry_run, log=log)
    if "out_dir" in result:
        print(f"| done: {result['stopped']} | checkpoints in {result['out_dir']} |")
    return 0


def _launch(args: argparse.Namespace) -> int:
    """Re-run this command under torchrun with ``--nproc-per-node`` processes."""
    from seqlab.errors import ConfigError, SeqlabError

    n = args.nproc_per_node
    if n < 1:
        raise ConfigError(f"--nproc-per-node must be >= 1, got {n}")
    if "WORLD_SIZE" in os.environ:
        raise ConfigError("--nproc-per-node inside torchrun: launch either with torchrun or "
                          "with --nproc-per-node, not both")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cores and n > cores:
        print(f"seqlab train: warning: --nproc-per-node {n} is more than the {cores} cores "
              "available; processes will compete for them", file=sys.stderr)
    rest, skip = [], False
    for a in args._argv:
        if skip:
            skip = False
            continue
        if a == "--nproc-per-node":
            skip = True
            continue
        if a.startswith("--nproc-per-node="):
            continue
        rest.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={n}", "-m", "seqlab", *rest]
    print("| launching: torchrun " + " ".join(cmd[3:]) + " |", flush=True)
    code = subprocess.call(cmd)
    if code != 0:
        raise SeqlabError(f"distributed training failed: a process exited with code {code} "
                          "(torchrun's report is above). Checkpoints are written atomically, "
                          "so the last one in the run folder is intact: add --resume to "
                          "continue from it")
    return 0


# --------------------------------------------------------------------------------------- eval
def add_eval_arguments(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> None:
    if add_tool_subcommand(parser, "eval", CLASSICAL_EVAL, word_after(argv, "eval")):
        return
    parser.add_argument("checkpoint", help="a .safetensors checkpoint of any task (or a run "
                        "folder: its last.safetensors)")
    parser.add_argument("--dry-run", action="store_true", help="one batch")
    parser.add_argument("--split", default=None, choices=("train", "valid", "test"),
                        help="the split of the training data to score (default test)")
    parser.add_argument("--data", metavar="FILE", default=None,
                        help="score this whole file instead (encoded with the checkpoint's "
                             "vocabulary)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="rows evaluated in parallel (default: the checkpoint's; language "
                             "models: data.final_eval_batch_size, 1 = the split as one stream, "
                             "every token after the first scored)")
    add_text_arguments(parser)


def run_eval(args: argparse.Namespace) -> int:
    from seqlab.config import RunConfig
    from seqlab.errors import ConfigError
    from seqlab.tasks import build_model, config_of, get_task
    from seqlab.train.checkpoint import load_checkpoint
    from seqlab.train.loop import evaluate

    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be an int >= 1, got {args.batch_size}")
    if args.data and args.split:
        raise ConfigError("--data scores the whole file: --split does not apply to it")
    ckpt = load_checkpoint(args.checkpoint)
    model = build_model(ckpt)
    task = get_task(ckpt.task)
    cfg = config_of(ckpt.config)
    if args.batch_size is not None:
        cfg = RunConfig.from_dict({"data": {task.eval_batch_field: args.batch_size}}, base=cfg)
    from seqlab.io import check_recorded_files, resumed_policy, text_policy

    policy = None
    if not args.data:  # the checkpoint's own files: where they were, read as they were read
        check_recorded_files(ckpt.assets.get("data_files"), "pass --data FILE to score a file")
        policy = resumed_policy(ckpt.assets.get("text_policy"), "eval")
    with text_policy(*policy) if policy else contextlib.nullcontext():
        data = task.build_data(cfg, ckpt.assets, args.data)
    split = "test" if args.data else args.split or "test"
    ev = evaluate(model, data.batches(split, "final"), "cpu", 1 if args.dry_run else None)
    metrics = dict(ev.metrics)
    if "bpc" in metrics and not ckpt.assets.get("char_level", True):
        del metrics["bpc"]  # bits per character only means that for character models
    where = {"data": str(args.data)} if args.data else {"split": split}
    print(json.dumps({**where, "tokens": ev.count, **metrics}))
    report = getattr(model, "evaluation_report", None)  # classifiers: the confusion matrix
    if report is not None:
        print(report(ev.totals, args.checkpoint, split))
    return 0
