"""``seqlab tag CKPT``: tag tokenised text with a trained tagger.

Input (stdin or ``--file``): one sentence per line, tokens separated by whitespace
(``--input-format lines``), or one token per line with a blank line between sentences, the
first column the word (``--input-format conll``; other columns are ignored). Output: ``token<TAB>
tag`` lines with a blank line after each sentence (``--output-format conll``), or the sentence
on one line as ``token/TAG`` (``--output-format inline``). Empty input lines give empty
sentences (kept in place, an empty line out).
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from seqlab.cli.common import add_text_arguments

    parser.add_argument("checkpoint", help="a tagger checkpoint (.safetensors) or its run folder")
    parser.add_argument("--file", default="-", help="input file ('-': stdin)")
    parser.add_argument("--output", "--out", dest="output", default="-",
                        help="output file ('-': stdout)")
    parser.add_argument("--input-format", choices=["lines", "conll"], default="lines",
                        help="lines: a sentence per line; conll: a token per line")
    parser.add_argument("--output-format", choices=["conll", "inline"], default="conll",
                        help="conll: token<TAB>tag lines; inline: token/TAG on one line")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences per batch")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--dry-run", action="store_true", help="tag the first sentence only")
    add_text_arguments(parser)


def read_sentences(lines, input_format: str) -> list[list[str]]:
    """Sentences from text lines (see the module docstring)."""
    if input_format == "lines":
        return [line.split() for line in lines]
    out, cur = [], []
    for line in lines:
        cols = line.split()
        if cols:
            cur.append(cols[0])
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _read(path: str) -> list[str]:
    """Lines of ``path`` (or stdin) decoded with the command's ``--encoding``/``--errors``."""
    from seqlab.io import decode_bytes, read_lines

    if path == "-":
        return decode_bytes(sys.stdin.buffer.read(), "standard input").splitlines()
    return read_lines(path)


def run(args: argparse.Namespace) -> int:
    import torch

    from seqlab.errors import ConfigError
    from seqlab.tasks import build_model
    from seqlab.train.checkpoint import load_checkpoint

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint, map_location=args.device)
    ckpt.check_task("tagger", "tag")
    model = build_model(ckpt).to(args.device).eval()
    sentences = read_sentences(_read(args.file), args.input_format)
    if args.dry_run:
        sentences = sentences[:1]
    start = time.perf_counter()
    tags = model.tag(sentences, args.batch_size)
    seconds = time.perf_counter() - start
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for words, row in zip(sentences, tags):
            if args.output_format == "inline":
                out.write(" ".join(f"{w}/{t}" for w, t in zip(words, row)) + "\n")
            else:
                out.write("".join(f"{w}\t{t}\n" for w, t in zip(words, row)) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    n = sum(len(s) for s in sentences)
    print(f"tagged {len(sentences):,} sentences, {n:,} words in {seconds:.2f} s "
          f"({n / max(seconds, 1e-9):,.0f} words/s)", file=sys.stderr)
    return 0
