"""Long-range tasks (adding problem, copy memory): seqlab's cells beside Bai et al. (2018).

Each row trains ``seqlab train longrange`` (the engine, :mod:`seqlab.models.longrange`) at the
TCN paper's size (about 70K parameters for adding, 16K for copy memory) for at most
``--time-limit`` seconds and reports the test figure of the best checkpoint beside the
published one and the chance level. Rows that ran out of time say so (``stopped``); a run
continues with ``--resume`` (the command is printed).

Published (Bai, Kolter & Koltun 2018, table 1; "generic" recurrent baselines):
adding T = 600, test MSE: LSTM 0.164, GRU 5.3e-5, RNN 0.177;
copy memory T = 1000, test loss: LSTM 0.0204, GRU 0.0197, RNN 0.0202 (all at chance).
The minGRU paper (Feng et al. 2024) has no figures on these tasks: those rows show "-".

    flock /tmp/seqlab-heavy.lock python benchmarks/longrange.py --rows adding-600:gru \\
        --time-limit 1800

``--rows`` takes ``TASK-LENGTH:CELL[:INIT]`` items, e.g. ``adding-600:lstm:chrono``,
``copy-1000:mingru``, ``adding-200:minlstm``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from machine import cpu_model

from seqlab.config import RunConfig
from seqlab.data.longrange import ADDING_CHANCE_PUBLISHED, copy_chance
from seqlab.diagnostics import GradientMonitor
from seqlab.diagnostics.plots import plot_training_norms
from seqlab.tasks import get_task
from seqlab.tasks import train as train_task

PUBLISHED = {("adding", 600, "lstm"): 0.164, ("adding", 600, "gru"): 5.3e-5,
             ("adding", 600, "rnn"): 0.177, ("copy", 1000, "lstm"): 0.0204,
             ("copy", 1000, "gru"): 0.0197, ("copy", 1000, "rnn"): 0.0202}
# (task, cell) -> (hidden_size, num_layers): ~70K parameters (adding), ~16K (copy)
SIZES = {("adding", "gru"): (150, 1), ("adding", "lstm"): (128, 1), ("adding", "rnn"): (260, 1),
         ("adding", "mingru"): (130, 3), ("adding", "minlstm"): (106, 3),
         ("copy", "gru"): (65, 1), ("copy", "lstm"): (56, 1), ("copy", "rnn"): (115, 1),
         ("copy", "mingru"): (81, 2), ("copy", "minlstm"): (66, 2)}
# optimizer settings: Adam with gradient clipping, as Bai et al.'s code
TRAIN = {"adding": {"lr": 0.002, "clip": 1.0, "batch_size": 32, "train_size": 50_000},
         "copy": {"lr": 0.001, "clip": 1.0, "batch_size": 32, "train_size": 10_000}}


def parse_row(text: str) -> tuple[str, int, str, str]:
    parts = text.split(":")
    task, length = parts[0].rsplit("-", 1)
    return task, int(length), parts[1], parts[2] if len(parts) > 2 else "default"


def run_row(task: str, length: int, cell: str, init: str, args) -> dict:
    hidden, layers = SIZES[(task, cell)]
    if args.size:
        hidden, layers = (int(v) for v in args.size.lower().split("x"))
    t = dict(TRAIN[task])
    if args.train_size:
        t["train_size"] = args.train_size
    suffix = f"-{hidden}x{layers}" if args.size else ""
    out_dir = Path(args.out_dir) / f"{task}-{length}-{cell}-{init}{suffix}"
    tables = {
        "task": "longrange",
        "model": {"cell": cell, "hidden_size": hidden, "num_layers": layers, "init": init},
        "data": {"task": task, "length": length, "batch_size": t["batch_size"],
                 "train_size": t["train_size"], "valid_size": 500, "test_size": 1000},
        "train": {"optimizer": "adam", "lr": t["lr"], "schedule": "constant", "clip": t["clip"],
                  "loss_reduction": "token", "epochs": args.epochs, "time_limit": args.time_limit,
                  "eval_every": args.eval_every, "log_every": 50, "threads": args.threads,
                  "progress_bar": "off", "out_dir": str(out_dir), "seed": 0}}
    cfg = RunConfig.from_dict(tables, base=get_task("longrange").default_config())
    resume = args.resume and (out_dir / "last.safetensors").exists()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    monitor = GradientMonitor(factor=10.0, clip=t["clip"], keep_parameters=False)
    result = train_task(cfg, resume=resume, overwrite=not resume, log=print, grad_hook=monitor)
    plot_training_norms({cell: monitor}, out_dir / "grad_norms.png",
                        title=f"{task} T={length}, {cell} ({init} init): gradient norm per step")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    chance = ADDING_CHANCE_PUBLISHED if task == "adding" else copy_chance(length)
    return {"task": task, "T": length, "cell": cell, "init": init, "H": hidden, "L": layers,
            "test": result.get("test_loss"), "valid": result.get("valid_loss"),
            "published": PUBLISHED.get((task, length, cell)), "chance": chance,
            "steps": result["steps"], "stopped": result["stopped"], "cpu_s": cpu,
            "grad": monitor.summary(),
            "wall_s": wall, "out_dir": str(out_dir)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["adding-600:gru"])
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", default="runs/longrange")
    parser.add_argument("--size", default="", metavar="HxL",
                        help="hidden size x layers for every row instead of the paper's size, "
                             "e.g. 128x1 (the row's out-dir then says so)")
    parser.add_argument("--train-size", type=int, default=0,
                        help="training sequences instead of the task's default")
    parser.add_argument("--resume", action="store_true", help="continue rows already started")
    parser.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [run_row(*parse_row(r), args) for r in args.rows]
    print(f"\nmachine: {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()} | "
          f"threads {args.threads} | time limit {args.time_limit:g}s per row")
    print("| task | T | cell | init | H x L | test loss (ours) | published | ours / published "
          "| chance | steps | CPU s | stopped |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pub = r["published"]
        ratio = f"{r['test'] / pub:.3g}" if pub and r["test"] is not None else "-"
        print(f"| {r['task']} | {r['T']} | {r['cell']} | {r['init']} | {r['H']}x{r['L']} | "
              f"{r['test']:.4g} | {pub if pub is not None else '-'} | {ratio} | "
              f"{r['chance']:.4g} | {r['steps']} | {r['cpu_s']:.0f} | {r['stopped']} |")
    for r in rows:
        if r["stopped"].startswith("reached time_limit"):
            print(f"continue: python benchmarks/longrange.py --rows {r['task']}-{r['T']}:"
                  f"{r['cell']}:{r['init']} --resume --time-limit SECONDS")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
