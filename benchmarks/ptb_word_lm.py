"""Penn Treebank word-level LM (Zaremba et al. 2014) trained to the end on CPU.

Trains ``--preset`` (default zaremba-small) with seqlab's own loop, resuming from the run
folder's checkpoint if one is there (so the script can be killed and started again), then
prints validation/test perplexity beside the paper's, seconds per epoch, tokens/s and peak
memory. Run heavy things under the shared lock::

    SEQLAB_DATA=../shared/data nohup flock /tmp/seqlab-heavy.lock \\
        .venv/bin/python benchmarks/ptb_word_lm.py --preset zaremba-small > ptb.log 2>&1 &

Paper figures: Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization",
Table 1 (valid / test perplexity).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
from pathlib import Path

import torch

from seqlab.config import RunConfig
from seqlab.tasks import preset
from seqlab.tasks import train as train_task

PAPER = {"zaremba-small": (120.7, 114.5), "zaremba-medium": (86.2, 82.7),
         "zaremba-large": (82.2, 78.4),
         # the medium model on a 2-hour, 1-thread budget: compared with the paper's medium
         "zaremba-medium-cpu": (86.2, 82.7)}


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
    parser.add_argument("--preset", default="zaremba-small", choices=sorted(PAPER))
    parser.add_argument("--out-dir", default=None, help="default runs/bench/ptb-<preset>")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="shorter run (labelled)")
    args = parser.parse_args(argv)
    out = args.out_dir or f"runs/bench/ptb-{args.preset}"
    train = {"out_dir": out, "threads": args.threads, "log_every": 100, "checkpoint_every": 100}
    if args.epochs:
        train["epochs"] = args.epochs
    cfg = RunConfig.from_dict({"train": train}, base=preset("lm", args.preset))
    torch.set_num_threads(args.threads)
    resume = (Path(out) / "last.safetensors").exists()
    result = train_task(cfg, resume=resume, log=lambda line: print(line, flush=True))
    epochs = [h for h in result["history"] if h.get("train_seconds")]
    full = [h for h in epochs if h["train_tokens"] > 0]
    s_epoch = sum(h["train_seconds"] for h in full) / max(1, len(full))
    tok_s = sum(h["train_tokens"] for h in full) / max(1e-9, sum(h["train_seconds"] for h in full))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    paper_valid, paper_test = PAPER[args.preset]
    print()
    print(f"machine: {platform.platform()} | CPU {cpu_model()} | torch {torch.__version__} "
          f"| threads {torch.get_num_threads()} | python {sys.version.split()[0]}")
    print(f"run: {cfg.train.epochs} epochs ({result['stopped']}), resumed={resume}, "
          f"out {out}")
    print("| preset | valid ppl | paper valid | test ppl | paper test | test ratio "
          "| s/epoch | tokens/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.preset} | {result['valid_ppl']:.1f} | {paper_valid} | "
          f"{result['test_ppl']:.1f} | {paper_test} | {result['test_ppl'] / paper_test:.3f} | "
          f"{s_epoch:.0f} | {tok_s:.0f} | {peak_mb:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
