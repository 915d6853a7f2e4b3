"""Training speed: seqlab's LanguageModel + fit loop vs a plain PyTorch nn.LSTM language model.

The peer is the pytorch/examples ``word_language_model`` recipe written here from scratch:
nn.Embedding -> dropout -> nn.LSTM -> dropout -> nn.Linear, hidden state detached between BPTT
windows, gradient clipping, SGD. Both train on the same random-token stream (same shapes as
Zaremba's small PTB model by default), in the same process, in alternating rounds; the table
reports the median tokens/s of each and the ratio seqlab / plain (target >= 0.95).

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/lm_speed.py

``--ddp`` adds the multi-process row: ``seqlab train lm`` on the same corpus and global batch
with 1 process and with 2 (torchrun, gloo), a fixed number of steps each; it prints tokens/s,
the validation loss reached and the largest weight difference from the 1-process run (on 2
cores speed is not the point of DDP; equality is).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_model
from torch import nn

from seqlab.config import TrainConfig
from seqlab.data.batching import LMStream
from seqlab.models.language_model import LanguageModel
from seqlab.train.loop import fit
from seqlab.train.optim import LRSchedule, build_optimizer


class PlainLM(nn.Module):
    """The pytorch/examples RNN LM (batch-first here), for comparison."""

    def __init__(self, vocab: int, emb: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.encoder = nn.Embedding(vocab, emb)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(emb, hidden, layers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        return self.decoder(self.drop(out)), hidden


def plain_train(model: PlainLM, stream: LMStream, steps: int, lr: float, clip: float) -> float:
    """The reference loop; returns tokens/s."""
    criterion = nn.CrossEntropyLoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    hidden, tokens = None, 0
    start = time.perf_counter()
    for i, (x, y) in enumerate(stream):
        if i == steps:
            break
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)  # repackage_hidden
        logits, hidden = model(x, hidden)
        loss = criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)) / x.shape[0]
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        loss.item()  # the reference logs its loss too: same synchronisation
        tokens += y.numel()
    return tokens / (time.perf_counter() - start)


def seqlab_train(model: LanguageModel, stream: LMStream, steps: int, lr: float,
                 clip: float) -> float:
    cfg = TrainConfig(optimizer="sgd", lr=lr, clip=clip, epochs=1, max_steps=steps,
                      log_every=10**9, schedule="constant")
    optimizer = build_optimizer(model, cfg)
    schedule = LRSchedule(optimizer, cfg, len(stream))
    start = time.perf_counter()
    progress = fit(model, stream, [], cfg, optimizer=optimizer, schedule=schedule,
                   log=lambda line: None)
    elapsed = time.perf_counter() - start
    return progress.step * stream.batch_size * stream.bptt / elapsed




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=40, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ddp", action="store_true", help="also the 2-process vs 1 row")
    parser.add_argument("--ddp-steps", type=int, default=60)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ids = torch.randint(args.vocab, (args.batch * (args.steps * args.bptt + 1),))
    stream = LMStream(ids, args.batch, args.bptt)
    ours = LanguageModel(args.vocab, args.hidden, args.hidden, args.layers,
                         dropout=args.dropout, init="uniform")
    peer = PlainLM(args.vocab, args.hidden, args.hidden, args.layers, args.dropout)
    plain_train(peer, stream, 5, 1.0, 5.0)  # warm-up both
    seqlab_train(ours, stream, 5, 1.0, 5.0)
    ours_rates, peer_rates = [], []
    for _ in range(args.rounds):  # alternate, so load changes hit both alike
        peer_rates.append(plain_train(peer, stream, args.steps, 1.0, 5.0))
        ours_rates.append(seqlab_train(ours, stream, args.steps, 1.0, 5.0))
    a, b = statistics.median(ours_rates), statistics.median(peer_rates)
    print(f"machine: {platform.platform()} | CPU {cpu_model()} | ISA "
          f"{torch.backends.cpu.get_cpu_capability()} | torch {torch.__version__} | "
          f"threads {torch.get_num_threads()} | backend {ours.rnn.backend_used}")
    print(f"model: {args.layers}x{args.hidden} LSTM, vocab {args.vocab}, batch {args.batch}, "
          f"bptt {args.bptt}, dropout {args.dropout}; {args.rounds} rounds x {args.steps} steps, "
          "median")
    print("| trainer | tokens/s | ratio vs plain PyTorch |")
    print("|---|---|---|")
    print(f"| seqlab LanguageModel + fit | {a:.0f} | {a / b:.3f} |")
    print(f"| plain nn.LSTM LM (pytorch/examples recipe) | {b:.0f} | 1.000 |")
    print("rounds (tokens/s): seqlab " + ", ".join(f"{r:.0f}" for r in ours_rates)
          + " | plain " + ", ".join(f"{r:.0f}" for r in peer_rates))
    if args.ddp:
        ddp_rows(args)
    return 0


def ddp_rows(args: argparse.Namespace) -> None:
    """``seqlab train lm`` with 1 and 2 processes, same global batch and steps."""
    from seqlab.train.checkpoint import load_checkpoint

    rng = random.Random(0)
    words = [f"w{i}" for i in range(2000)]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("".join(" ".join(rng.choice(words) for _ in range(rng.randint(5, 25)))
                                  + "\n" for _ in range(40000)))
        flags = ["--data", str(corpus), "--hidden-size", str(args.hidden), "--embedding-dim",
                 str(args.hidden), "--num-layers", str(args.layers), "--batch-size",
                 str(args.batch), "--bptt", str(args.bptt), "--dropout", "0", "--max-steps",
                 str(args.ddp_steps), "--log-every", "10", "--eval-every", str(args.ddp_steps),
                 "--optimizer", "sgd", "--lr", "1", "--threads", "1", "--progress-bar", "off"]
        env = {**os.environ, "SEQLAB_CACHE": str(Path(tmp) / "cache"), "OMP_NUM_THREADS": "1"}
        rows = []
        # the last row is a control: one process with 2 threads sums in another order too
        for nproc, threads in ((1, 1), (2, 1), (1, 2)):
            out = Path(tmp) / f"run{nproc}-{threads}"
            cmd = [sys.executable, "-m", "seqlab", "train", "lm", *flags, "--out-dir", str(out),
                   "--threads", str(threads)]
            if nproc > 1:
                cmd += ["--nproc-per-node", str(nproc)]
            started = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - started
            records = [json.loads(line) for line in (out / "metrics.jsonl").read_text()
                       .splitlines()]
            rates = [r["tok_s"] for r in records if r["event"] == "train"]
            rates = rates[1:] or rates or [float("nan")]  # skip the warm-up window
            valid = [r for r in records if r["event"] == "valid"][-1]
            rows.append((f"{nproc} x {threads} thread{'s' if threads > 1 else ''}",
                         statistics.median(rates), valid["valid_loss"], wall,
                         load_checkpoint(out / "last.safetensors").model_state))
        print(f"\nDDP (torchrun, gloo): {args.layers}x{args.hidden} LSTM, global batch "
              f"{args.batch}, bptt {args.bptt}, {args.ddp_steps} SGD steps (lr 1, clip 5)")
        print("| processes x threads | tokens/s (median of log windows) | valid loss after the "
              "steps | wall s (incl. start-up) | max abs weight diff vs 1 x 1 |")
        print("|---|---|---|---|---|")
        base = rows[0][4]
        for nproc, rate, valid, wall, state in rows:
            diff = max(float((state[k] - base[k]).abs().max()) for k in base)
            print(f"| {nproc} | {rate:.0f} | {valid:.6f} | {wall:.1f} | {diff:.2e} |")


if __name__ == "__main__":
    sys.exit(main())
