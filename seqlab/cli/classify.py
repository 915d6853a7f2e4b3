"""``seqlab classify CKPT``: label texts with a trained classifier (task classifier or fasttext).

Examples::

    echo "a gorgeous , witty film" | seqlab classify runs/sst2/best.safetensors
    seqlab classify runs/sst2/best.safetensors --file reviews.txt --all
    seqlab classify runs/sst2/best.safetensors "not good" "not bad at all"

One output line per input text, ``label<TAB>probability<TAB>text`` (multi-label: the labels
with probability > 0.5, comma-joined, and their probabilities); ``--all`` prints every
class's probability instead, ``--json`` one JSON object per line. Blank input lines are
skipped; a non-blank text without a token in the vocabulary is classified from ``<unk>``.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a classifier checkpoint (.safetensors or run folder)")
    parser.add_argument("texts", nargs="*", help="texts to classify (default: --file or stdin, "
                        "one per line)")
    parser.add_argument("--file", metavar="FILE", help="read texts from FILE, one per line")
    parser.add_argument("--all", action="store_true", help="every class's probability")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--dry-run", action="store_true", help="classify the first text only")


def _lines(args: argparse.Namespace) -> list[str]:
    from seqlab.errors import DataError

    if args.texts:
        lines = list(args.texts)
    elif args.file:
        try:
            with open(args.file, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError as exc:
            raise DataError(f"--file {args.file}: {exc.strerror}") from None
    else:
        lines = sys.stdin.read().splitlines()
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise DataError("no text to classify (give texts, --file FILE or lines on stdin)")
    return lines[:1] if args.dry_run else lines


def run(args: argparse.Namespace) -> int:
    from seqlab.errors import ConfigError
    from seqlab.models.text_classifier import TextClassifier

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    clf = TextClassifier.load(args.checkpoint)
    texts = _lines(args)
    proba = clf.predict_proba(texts)
    labels = [str(c) for c in clf.classes_]
    multi = clf.model_.multi_label
    for text, p in zip(texts, proba, strict=True):
        if multi:
            chosen = [i for i, v in enumerate(p) if v > 0.5]
        else:
            chosen = [int(p.argmax())]
        if args.json:
            record = {"text": text, "label": [labels[i] for i in chosen] if multi
                      else labels[chosen[0]], "probability": [float(p[i]) for i in chosen]
                      if multi else float(p[chosen[0]])}
            if args.all:
                record["probabilities"] = {lab: float(v) for lab, v in zip(labels, p,
                                                                           strict=True)}
            print(json.dumps(record, ensure_ascii=False))
        elif args.all:
            print("\t".join(f"{lab}={v:.4f}" for lab, v in zip(labels, p, strict=True)) +
                  f"\t{text}")
        else:
            print(",".join(labels[i] for i in chosen) + "\t" +
                  ",".join(f"{p[i]:.4f}" for i in chosen) + f"\t{text}")
    return 0
