"""``seqlab demo``: a character-level LSTM learns to write Python, in about 2-3 minutes on CPU.

The corpus is on every machine and needs no network: the source of the Python standard library
installed with the interpreter (``sysconfig.get_paths()["stdlib"]``), the top-level ``*.py``
files in sorted name order until ``--corpus-mb`` megabytes (a fixed, deterministic selection
for a given Python version). ``--dataset tinyshakespeare`` trains on Karpathy's char-rnn text
instead (from ``$SEQLAB_DATA`` or downloaded once).

It prints validation bits per character as they fall, then a few generated samples, and leaves
in ``--out-dir`` (default ``runs/demo``) the checkpoint (``best.safetensors``), the curve
(``curve.png``), ``metrics.jsonl`` and the corpus. ``seqlab generate runs/demo/best.safetensors
--prompt "def "`` samples more.
"""

from __future__ import annotations

import argparse
import shlex
import sysconfig
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="stdlib",
                        help="stdlib (default: Python's own source) or tinyshakespeare")
    parser.add_argument("--minutes", type=float, default=2.5, help="training time (default 2.5)")
    parser.add_argument("--corpus-mb", type=float, default=2.0,
                        help="megabytes of stdlib source to use (default 2)")
    parser.add_argument("--out-dir", default="runs/demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's "
                        "default)")
    parser.add_argument("--dry-run", action="store_true", help="one batch, one short sample")


def stdlib_corpus(megabytes: float) -> tuple[str, list[str]]:
    """Top-level stdlib ``*.py`` files in sorted order, concatenated up to ``megabytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    budget, parts, names = int(megabytes * 1_000_000), [], []
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(text if text.endswith("\n") else text + "\n")
        names.append(path.name)
        budget -= len(text)
        if budget <= 0:
            break
    return "".join(parts), names


def run(args: argparse.Namespace) -> int:
    from seqlab.cli.lm import special_ids
    from seqlab.config import RunConfig
    from seqlab.errors import ConfigError
    from seqlab.generate.decoding import encode_prompt, sample
    from seqlab.io import atomic_write_text
    from seqlab.tasks import build_model, default_config, train
    from seqlab.train.checkpoint import load_checkpoint

    out = Path(args.out_dir)
    if args.dataset == "stdlib":
        text, names = stdlib_corpus(args.corpus_mb)
        out.mkdir(parents=True, exist_ok=True)
        corpus_path = out / "stdlib.txt"
        atomic_write_text(corpus_path, text)
        data = {"data": str(corpus_path), "dataset": "stdlib"}
        print(f"corpus: {len(names)} files of the Python standard library ({names[0]} .. "
              f"{names[-1]}), {len(text) / 1e6:.2f}M characters -> {corpus_path}")
        prompts = ["def ", "class ", "import "]
    elif args.dataset == "tinyshakespeare":
        data = {"dataset": "tinyshakespeare"}
        prompts = ["ROMEO:", "JULIET:", "KING RICHARD"]
    else:
        raise ConfigError(f"--dataset must be stdlib or tinyshakespeare, got {args.dataset!r}")
    cfg = RunConfig.from_dict({
        "model": {"cell": "lstm", "embedding_dim": 64, "hidden_size": 256, "num_layers": 2,
                  "dropout": 0.0, "init": "default"},
        "data": {**data, "tokenizer": "char", "batch_size": 32, "eval_batch_size": 32,
                 "bptt": 64},
        "train": {"optimizer": "adam", "lr": 0.003, "schedule": "constant", "clip": 1.0,
                  "loss_reduction": "token", "epochs": 100, "time_limit": args.minutes * 60,
                  "eval_every": 150, "log_every": 50, "seed": args.seed,
                  "threads": args.threads, "out_dir": str(out)},
    }, base=default_config("lm"))
    print(f"training a 2x256 character LSTM for {args.minutes:g} minutes; validation bits per "
          "character should fall from ~6.5 towards ~2 (lower is better)")
    started = time.perf_counter()
    result = train(cfg, dry_run=args.dry_run, overwrite=True,
                      log=lambda line: print(line, flush=True))
    curve = [f"{h['valid_bpc']:.2f}" for h in result["history"]]
    print(f"\nvalid bpc per evaluation: {' -> '.join(curve) or '(none)'}")
    print(f"final valid bpc {result['valid_bpc']:.3f} after {result['steps']} steps, "
          f"{time.perf_counter() - started:.0f}s")
    folder = Path(result["out_dir"])
    ckpt_path = next((folder / name for name in ("best.safetensors", "last.safetensors")
                      if (folder / name).exists()), None)
    if ckpt_path is None:
        raise ConfigError(f"training wrote no checkpoint into {folder}")
    ckpt = load_checkpoint(ckpt_path)
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab

    model = build_model(ckpt)
    vocab, tokenizer = Vocab.from_dict(ckpt.vocab), Tokenizer.from_dict(ckpt.tokenizer)
    newline = [vocab.token_to_id("\n")] if "\n" in vocab else [vocab.bos_id]
    length = 5 if args.dry_run else 300
    for i, prompt in enumerate(prompts):
        ids = newline + encode_prompt(prompt, vocab, tokenizer)
        new = sample(model, ids, length, temperature=0.8, seed=args.seed + i,
                     suppress=special_ids(vocab))
        print(f"\n--- sample {i + 1} (temperature 0.8, prompt {prompt!r}) ---")
        print(prompt + tokenizer.detokenize(vocab.decode(new)))
    written = sorted(p.name for p in folder.iterdir()
                     if p.name in ("best.safetensors", "last.safetensors", "curve.png",
                                   "metrics.jsonl"))
    print(f"\nin {folder}/: {', '.join(written)}\nmore text: seqlab generate {ckpt_path} "
          f"--prompt {shlex.quote(prompts[0])} --temperature 0.8 --max-new-tokens 500")
    return 0
