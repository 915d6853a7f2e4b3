"""Character-level LMs: tinyshakespeare and PTB characters, validation loss beside published ones.

Trains the ``char-small`` preset (2x256 LSTM) for ``--steps`` optimizer steps per dataset
(cosine schedule over those steps) on CPU and prints validation loss in nats per character and
bits per character. This is a short CPU run, not the published training budget: the published
figures are shown for scale, not as a like-for-like comparison.

Published figures:
- tinyshakespeare: nanoGPT's baby GPT (6 layers, 384 wide, 10.7M params, 5000 iterations on
  a GPU) reaches validation loss 1.4697 nats/char (karpathy/nanoGPT README,
  config/train_shakespeare_char.py).
- PTB characters: an unregularised LSTM, 1.36 bits/char on test (as listed in Krueger et al.
  2016, "Zoneout", Table 2).

    SEQLAB_DATA=../shared/data flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/char_lm.py
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from pathlib import Path

import torch

from seqlab.config import RunConfig
from seqlab.tasks import preset
from seqlab.tasks import train as train_task

PUBLISHED = {"tinyshakespeare": ("1.47 nats (nanoGPT baby GPT, valid)", 1.4697),
             "ptb-char": ("1.36 bpc (LSTM, test)", 1.36 * math.log(2))}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["tinyshakespeare", "ptb-char"],
                        choices=sorted(PUBLISHED))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", default="runs/bench")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.datasets:
        cfg = RunConfig.from_dict({
            "data": {"dataset": name, "tokenizer": "char" if name == "tinyshakespeare" else ""},
            # evaluate 5 times, the last at the final step (so the figure is the final model's)
            "train": {"max_steps": args.steps, "epochs": 100,
                      "eval_every": args.steps // 5 if args.steps % 5 == 0 else args.steps,
                      "threads": args.threads, "out_dir": f"{args.out_dir}/char-{name}"},
        }, base=preset("lm", "char-small"))
        result = train_task(cfg, overwrite=True, log=lambda line: print(line, flush=True))
        chars = args.steps * cfg.data.batch_size * cfg.data.bptt
        split = "test" if name == "ptb-char" and "test_loss" in result else "valid"
        rows.append((name, split, result[f"{split}_loss"], result[f"{split}_bpc"],
                     result["valid_loss"], chars, result["seconds"]))
    print()
    print(f"machine: {platform.platform()} | CPU {cpu_model()} | torch {torch.__version__} | "
          f"threads {torch.get_num_threads()}")
    print(f"model: char-small preset (2x256 LSTM, emb 64, dropout 0.1, Adam 3e-3 cosine), "
          f"{args.steps} steps of 32x100 characters (a short CPU run)")
    print("| dataset | split | loss (nats/char) | bpc | published | chars trained | minutes |")
    print("|---|---|---|---|---|---|---|")
    for name, split, loss, bpc, _, chars, seconds in rows:
        print(f"| {name} | {split} | {loss:.3f} | {bpc:.3f} | {PUBLISHED[name][0]} | "
              f"{chars / 1e6:.1f}M | {seconds / 60:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
