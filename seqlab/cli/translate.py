"""``seqlab translate CKPT``: translate lines from stdin or ``--file`` with a seq2seq checkpoint.

Examples::

    echo "Ein Hund läuft im Schnee." | seqlab translate runs/seq2seq/best.safetensors
    seqlab translate CKPT --file test.de --beam-size 5 --n-best 3 > out.en
    seqlab translate CKPT --file test.de --reference test.en      # prints BLEU/chrF after
    echo "Ein Mann fährt Rad." | seqlab translate CKPT --plot-attention att.png

Output: one line per input (with ``--n-best N``: ``index<TAB>score<TAB>text``, N per input).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a seq2seq .safetensors checkpoint (or a run "
                        "folder: its last.safetensors)")
    parser.add_argument("--file", default=None, help="source sentences, one per line "
                        "(default: stdin)")
    parser.add_argument("--reference", default=None, help="reference translations, one per "
                        "line: print sacrebleu BLEU, chrF and tokenised lower-case BLEU")
    parser.add_argument("--beam-size", type=int, default=5, help="1: greedy (default 5)")
    parser.add_argument("--n-best", type=int, default=1, help="hypotheses per sentence")
    parser.add_argument("--length-penalty", default=None, help="none, average or gnmt "
                        "(default: the checkpoint's)")
    parser.add_argument("--alpha", type=float, default=None, help="length penalty alpha")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences decoded at once")
    parser.add_argument("--plot-attention", metavar="PNG", default=None,
                        help="save the attention heatmap of the first sentence")
    parser.add_argument("--dry-run", action="store_true", help="the first sentence only")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seqlab.errors import ConfigError, DataError
    from seqlab.models.seq2seq_search import check_search
    from seqlab.models.seq2seq_task import _read_lines
    from seqlab.models.seq2seq_translate import plot_attention, translate
    from seqlab.tasks import build_model
    from seqlab.train.checkpoint import load_checkpoint

    check_search(args.beam_size, args.n_best)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    ckpt = load_checkpoint(args.checkpoint)
    ckpt.check_task("seq2seq", "translate")
    model = build_model(ckpt).eval()
    if args.file:
        if not Path(args.file).is_file():
            raise DataError(f"--file not found: {args.file}")
        lines = _read_lines(Path(args.file))
    else:
        lines = sys.stdin.read().split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines
    if args.dry_run:
        lines = lines[:1]
    if not lines:
        raise DataError("no input sentences (give --file or lines on stdin)")
    search = {k: v for k, v in (("length_penalty", args.length_penalty),
                                ("alpha", args.alpha)) if v is not None}
    results = translate(model, lines, beam_size=args.beam_size, n_best=args.n_best,
                        batch_size=args.batch_size, **search)
    empty = sum(not line.strip() for line in lines)
    if empty:
        print(f"seqlab translate: {empty} empty input lines kept as empty output lines",
              file=sys.stderr)
    for i, hyps in enumerate(results):
        for h in hyps:
            print(f"{i}\t{h.score:.4f}\t{h.text}" if args.n_best > 1 else h.text)
    if args.plot_attention:
        plot_attention(results[0][0], args.plot_attention)
        print(f"attention of sentence 1 -> {args.plot_attention}", file=sys.stderr)
    if args.reference:
        from seqlab.models.seq2seq_text import corpus_bleu, corpus_chrf, tokenized_bleu

        refs = _read_lines(Path(args.reference))[:len(lines)]
        if len(refs) != len(lines):
            raise DataError(f"--reference has {len(refs)} lines for {len(lines)} sources")
        refs = [model.text.normalise_ref(r) for r in refs]
        hyps = [h[0].text for h in results]
        print(json.dumps({"sentences": len(lines), "bleu": corpus_bleu(hyps, refs),
                          "chrf": corpus_chrf(hyps, refs),
                          "tok_bleu": tokenized_bleu(hyps, refs)}), file=sys.stderr)
    return 0
