"""``seqlab train | eval | generate ngram``: counting n-gram language models.

Examples::

    seqlab train ngram ptb.train.txt --order 5 --smoothing modified-kneser-ney --out ptb5.arpa
    seqlab eval ngram ptb5.arpa ptb.test.txt
    seqlab generate ngram ptb5.arpa --prompt "the company" --max-new-tokens 20 --seed 1 \\
        --num-samples 3

The older spellings ``seqlab ngram train|eval|generate`` are aliases (same code, same output).

Text files hold one sentence per line (split on whitespace unless ``--tokenizer``). A model
path ending in ``.arpa`` is read/written as ARPA (KenLM/SRILM can use it); any other path as
seqlab's ``.npz`` (needed for add-k, which has no ARPA form).
"""

from __future__ import annotations

import argparse
import time

from seqlab.cli.common import add_text_arguments, flag_hints
from seqlab.errors import SeqlabError

# The verb-first spellings (``seqlab train ngram``, ``seqlab eval ngram``, ``seqlab generate
# ngram``) and the noun-first aliases (``seqlab ngram train|eval|generate``) share these.
HELP = {"train": "count and smooth an n-gram model", "eval": "perplexity of a text",
        "generate": "sample sentences"}


def add_train_options(train: argparse.ArgumentParser) -> None:
    from seqlab.features.ngram_lm import SMOOTHINGS
    from seqlab.features.tokenizers import TOKENIZERS

    train.set_defaults(_run=run, _action=run_train)
    train.add_argument("text", help="training text, one sentence per line")
    train.add_argument("--out", "-o", "--output", required=True,
                       help="model file (.arpa or .npz)")
    train.add_argument("--order", type=int, default=3, help="n, the longest n-gram")
    train.add_argument("--smoothing", default="modified-kneser-ney", choices=SMOOTHINGS,
                       help="how counts become probabilities")
    train.add_argument("--k", type=float, default=1.0, help="add-k constant")
    train.add_argument("--discount-fallback", type=float, nargs=3, default=None,
                       metavar=("D1", "D2", "D3"),
                       help="Kneser-Ney discounts for orders whose counts-of-counts give none")
    train.add_argument("--tokenizer", default="whitespace", choices=sorted(TOKENIZERS),
                       help="how sentences are split into words")
    train.add_argument("--dry-run", action="store_true",
                       help="count the first 1000 sentences; nothing is written")
    add_text_arguments(train)


def add_eval_options(evaluate: argparse.ArgumentParser) -> None:
    evaluate.set_defaults(_run=run, _action=run_eval)
    evaluate.add_argument("model", help="model file (.arpa or .npz)")
    evaluate.add_argument("text", help="text, one sentence per line")
    evaluate.add_argument("--dry-run", action="store_true", help="the first 1000 sentences")
    add_text_arguments(evaluate)


def add_generate_options(generate: argparse.ArgumentParser) -> None:
    generate.set_defaults(_run=run, _action=run_generate)
    generate.add_argument("model", help="model file (.arpa or .npz)")
    generate.add_argument("--prompt", default="", help="words to continue")
    generate.add_argument("--max-new-tokens", "--max-tokens", dest="max_new_tokens", type=int,
                          default=30, help="words per sample at most")
    generate.add_argument("--temperature", type=float, default=1.0,
                          help="> 1 flatter, < 1 sharper distributions")
    generate.add_argument("--seed", type=int, default=None,
                          help="same seed, same text (sample i uses seed + i)")
    generate.add_argument("--num-samples", "-n", dest="num_samples", type=int, default=1,
                          help="number of samples")
    generate.add_argument("--dry-run", action="store_true", help="one sample of one word")


OPTIONS = {"train": add_train_options, "eval": add_eval_options,
           "generate": add_generate_options}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab ngram ACTION``: the noun-first spellings, aliases of ``seqlab ACTION ngram``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, add in OPTIONS.items():
        alias = f"alias of `seqlab {name} ngram`: {HELP[name]}"
        add(sub.add_parser(name, help=alias, description=alias))


# library keywords in error hints -> the flags of these commands
HINTS = {"pass discount= or discount_fallback=": "pass --discount-fallback D1 D2 D3",
         "max_tokens must": "--max-new-tokens must", "temperature must": "--temperature must"}


def run(args: argparse.Namespace) -> int:
    try:
        return args._action(args)
    except SeqlabError as exc:
        raise flag_hints(exc, HINTS) from None


def _lines(path: str, dry_run: bool = False) -> list[str]:
    from seqlab.io import read_lines

    lines = read_lines(path)
    return lines[:1000] if dry_run else lines


def _load(path: str):
    from seqlab.features.ngram_lm import NgramLM

    return NgramLM.from_arpa(path) if path.endswith(".arpa") else NgramLM.load(path)


def run_train(args: argparse.Namespace) -> int:
    from seqlab.features.ngram_lm import NgramLM

    sentences = _lines(args.text, args.dry_run)
    start = time.perf_counter()
    lm = NgramLM(order=args.order, smoothing=args.smoothing, k=args.k,
                 discount_fallback=args.discount_fallback, tokenizer=args.tokenizer)
    lm.fit(sentences)
    built = time.perf_counter() - start
    if args.dry_run:
        args.out = "(dry run: not written)"
    elif args.out.endswith(".arpa"):
        lm.to_arpa(args.out)
    else:
        lm.save(args.out)
    sizes = ", ".join(f"{n}-grams {len(k)}" for n, k in enumerate(lm.keys_, start=1))
    print(f"{len(sentences)} sentences, vocabulary {len(lm.vocab_)}; {sizes}; "
          f"built in {built:.2f}s -> {args.out}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    lm = _load(args.model)
    sentences = _lines(args.text, args.dry_run)
    lp, n_sentences = lm._scored(sentences)
    words = len(lp) - n_sentences
    oov = sum(w not in lm.word_to_id_ for s in sentences for w in lm._tokens(s))
    print(f"sentences {n_sentences}  words {words}  OOVs {oov}  tokens scored (words + </s>) "
          f"{len(lp)}  perplexity {lm.perplexity(sentences):.4f}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    lm = _load(args.model)
    for i in range(1 if args.dry_run else args.num_samples):
        seed = None if args.seed is None else args.seed + i
        words = lm.generate(args.prompt or None, max_tokens=1 if args.dry_run else
                            args.max_new_tokens,
                            temperature=args.temperature, seed=seed)
        print(" ".join(([args.prompt] if args.prompt else []) + words))
    return 0
