"""``seqlab embed``: train word2vec/fastText vectors and query or evaluate them.

    seqlab train embed --corpus ptb.train.txt --out ptb.kv --architecture skipgram
    seqlab train embed --model fasttext --corpus ptb.train.txt --out ptb-ft.kv
    seqlab train embed --corpus more.txt --resume ptb.w2v --out ptb2.kv --epochs 2
    seqlab similar ptb.kv stock --topn 5
    seqlab similar ptb.kv king -man woman
    seqlab analogy ptb.kv man king woman
    seqlab eval embed ptb.kv --analogies questions-words.txt --similarity wordsim353.tsv

The older spellings ``seqlab embed train|similar|analogy|evaluate`` are aliases (same code,
same output).

Vector files: ``.kv`` is seqlab's memory-mapped native format, ``.bin`` word2vec binary,
anything else word2vec text (override with ``--format``).
"""

from __future__ import annotations

import argparse
import itertools
import re
import time
from pathlib import Path

from seqlab.cli.common import add_text_arguments
from seqlab.errors import DataError

FORMATS = ("auto", "native", "text", "binary")


def _format_of(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = Path(path).suffix
    return {".kv": "native", ".bin": "binary"}.get(suffix, "text")


def load_vectors(path: str, fmt: str = "auto"):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    kind = _format_of(path, fmt)
    if kind == "native":
        return KeyedVectors.load(path)
    return KeyedVectors.load_word2vec_format(path, binary=kind == "binary")


def save_vectors(wv, path: str, fmt: str = "auto") -> None:
    kind = _format_of(path, fmt)
    if kind == "native":
        wv.save(path)
    else:
        wv.save_word2vec_format(path, binary=kind == "binary")


# The verb-first spellings (``seqlab train embed``, ``seqlab similar``, ``seqlab eval
# embed``) and their noun-first aliases (``seqlab embed train|similar|analogy|evaluate``) share
# these option builders, so both give the same options and run the same code.
TRAIN_HELP = "train vectors on a one-sentence-per-line text file"
QUERY_HELP = {"similar": "nearest neighbours of words (+/-: add/subtract)",
              "analogy": "a is to b as c is to ?"}
EVALUATE_HELP = "analogy accuracy and word-pair Spearman"


def add_train_options(t: argparse.ArgumentParser, model: str | None = None) -> None:
    """Options of ``seqlab train embed`` and of its alias ``seqlab embed train`` (``--model``
    chooses word2vec or fastText unless ``model`` fixes it)."""
    t.set_defaults(embed_command="train", _run=run)
    t.add_argument("--corpus", required=True, help="text file, whitespace-tokenized (.gz ok)")
    t.add_argument("--out", "-o", "--output", dest="output",
                   help="vectors file to write (.kv native, .bin binary, else text)")
    if model is None:
        t.add_argument("--model", choices=("word2vec", "fasttext"), default="word2vec",
                       help="fasttext adds character n-gram vectors (vectors for unseen words)")
    else:
        t.set_defaults(model=model)
    t.add_argument("--architecture", choices=("skipgram", "cbow"), default="skipgram",
                   help="skipgram predicts the context from a word, cbow a word from its context")
    t.add_argument("--loss", choices=("negative", "hierarchical"), default="negative",
                   help="negative sampling or hierarchical softmax")
    t.add_argument("--vector-size", type=int, default=100, help="dimensions per word")
    t.add_argument("--window", type=int, default=5, help="context words on each side, at most")
    t.add_argument("--negative", type=int, default=5, help="noise words per positive pair")
    t.add_argument("--sample", type=float, default=1e-3,
                   help="down-sampling threshold of frequent words (0: none)")
    t.add_argument("--min-count", type=int, default=5, help="rarer words are dropped")
    t.add_argument("--alpha", type=float, default=0.025, help="initial learning rate")
    t.add_argument("--min-alpha", type=float, default=0.0001,
                   help="final learning rate (linear decay)")
    t.add_argument("--epochs", type=int, default=5, help="passes over the corpus")
    t.add_argument("--workers", type=int, default=3, help="training threads")
    t.add_argument("--seed", type=int, default=1, help="same seed, same vectors (one worker)")
    t.add_argument("--min-n", type=int, default=3, help="fastText: shortest n-gram")
    t.add_argument("--max-n", type=int, default=6, help="fastText: longest n-gram")
    t.add_argument("--bucket", type=int, default=2_000_000, help="fastText: hash buckets")
    t.add_argument("--lowercase", action="store_true", help="lower-case the corpus")
    t.add_argument("--format", choices=FORMATS, default="auto",
                   help="vectors file format (auto: by the file's suffix)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--save-model", metavar="PATH",
                   help="also write the whole trainable model (for --resume)")
    t.add_argument("--resume", metavar="PATH",
                   help="continue training a model written by --save-model on --corpus "
                        "(its vocabulary and options; --epochs/--alpha/--min-alpha/--workers "
                        "apply to this run)")
    t.add_argument("--dry-run", action="store_true",
                   help="one epoch on the first 1000 lines; nothing is written")
    add_text_arguments(t)


def add_query_options(p: argparse.ArgumentParser, name: str) -> None:
    """Options of ``seqlab similar`` / ``seqlab analogy`` (aliases ``seqlab embed NAME``)."""
    p.set_defaults(embed_command=name, _run=run)
    p.add_argument("vectors", help="vectors file")
    if name == "similar":
        p.add_argument("words", nargs="+", help="words; prefix '-' to subtract (e.g. -man)")
        # "-man" is a word to subtract, not an unknown option (argparse's test for
        # negative numbers, widened to any "-x..."; "--" options and -h are unaffected)
        p._negative_number_matcher = re.compile(r"^-[^-]")
    else:
        p.add_argument("a", help="a, as in: a is to b as c is to ?")
        p.add_argument("b", help="b")
        p.add_argument("c", help="c")
        p.add_argument("--method", choices=("add", "mul"), default="add",
                       help="3CosAdd or 3CosMul")
    p.add_argument("--topn", type=int, default=10, help="neighbours to print")
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="vectors file format (auto: by the file's suffix)")
    p.add_argument("--dry-run", action="store_true", help="load and check only")


def add_evaluate_options(e: argparse.ArgumentParser) -> None:
    """Options of ``seqlab eval embed`` (alias ``seqlab embed evaluate``)."""
    e.set_defaults(embed_command="evaluate", _run=run)
    e.add_argument("vectors", help="vectors file")
    e.add_argument("--analogies", help="questions-words file")
    e.add_argument("--similarity", nargs="*", default=[], help="word-pair files (WordSim, SimLex)")
    e.add_argument("--restrict-vocab", type=int, default=300_000,
                   help="only the most frequent words are candidates")
    e.add_argument("--method", choices=("add", "mul"), default="add",
                   help="3CosAdd or 3CosMul")
    e.add_argument("--case-sensitive", action="store_true", help="do not fold case")
    e.add_argument("--format", choices=FORMATS, default="auto",
                   help="vectors file format (auto: by the file's suffix)")
    e.add_argument("--dry-run", action="store_true", help="load and check only")
    add_text_arguments(e)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab embed ACTION``: the noun-first spellings, aliases of the verb-first ones."""
    sub = parser.add_subparsers(dest="embed_command", metavar="{train,similar,analogy,evaluate}")
    sub.required = True
    for name, target, help_text in (
            ("train", "train embed", TRAIN_HELP),
            ("similar", "similar", QUERY_HELP["similar"]),
            ("analogy", "analogy", QUERY_HELP["analogy"]),
            ("evaluate", "eval embed", EVALUATE_HELP)):
        alias = f"alias of `seqlab {target}`: {help_text}"
        p = sub.add_parser(name, help=alias, description=alias)
        if name == "train":
            add_train_options(p)
        elif name == "evaluate":
            add_evaluate_options(p)
        else:
            add_query_options(p, name)


def add_similar_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab similar VECTORS WORD...``."""
    add_query_options(parser, "similar")


def add_analogy_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab analogy VECTORS A B C``."""
    add_query_options(parser, "analogy")


def _train(args) -> int:
    from seqlab.embeddings.corpus import LineCorpus
    from seqlab.embeddings.fasttext import FastText
    from seqlab.embeddings.word2vec import Word2Vec

    if not (args.output or args.save_model) and not args.dry_run:
        raise DataError("--out and/or --save-model is required (or use --dry-run)")
    corpus = LineCorpus(args.corpus, lowercase=args.lowercase)
    options = dict(architecture=args.architecture, loss=args.loss, vector_size=args.vector_size,
                   window=args.window, negative=args.negative, sample=args.sample,
                   min_count=args.min_count, alpha=args.alpha, min_alpha=args.min_alpha,
                   epochs=args.epochs, workers=args.workers, seed=args.seed,
                   progress=False if args.no_progress else None)
    if args.dry_run:
        corpus = list(itertools.islice(corpus, 1000))
        options.update(epochs=1, min_count=1)
    t0 = time.perf_counter()
    if args.resume:
        model = Word2Vec.load(args.resume)
        model.workers, model.progress = options["workers"], options["progress"]
        epochs = options["epochs"]
        model.train(corpus, epochs=epochs, alpha=args.alpha, min_alpha=args.min_alpha)
    else:
        if args.model == "fasttext":
            model = FastText(min_n=args.min_n, max_n=args.max_n, bucket=args.bucket, **options)
        else:
            model = Word2Vec(**options)
        epochs = model.epochs
        model.fit(corpus)
    seconds = time.perf_counter() - t0
    words = model.stats_["corpus_words"] * epochs
    print(f"{type(model).__name__} {model.architecture}/{model.loss}: {len(model.wv)} words x "
          f"{model.wv.vector_size}, {epochs} epochs ({model.epochs_trained_} in all), "
          f"{seconds:.1f} s ({words / seconds:,.0f} words/s)")
    for epoch, loss in enumerate(model.epoch_losses_, 1):
        print(f"| epoch {epoch:3d} | loss {loss:16.3f} |")
    if not args.dry_run:
        if args.output:
            save_vectors(model.wv, args.output, args.format)
            print(f"wrote {args.output}")
        if args.save_model:
            model.save(args.save_model)
            print(f"wrote {args.save_model}")
    return 0


def _print_ranking(results) -> None:
    for word, score in results:
        print(f"{score:8.4f}  {word}")


def run(args) -> int:
    if args.embed_command == "train":
        return _train(args)
    wv = load_vectors(args.vectors, args.format)
    if args.dry_run:
        print(f"{args.vectors}: {len(wv)} words x {wv.vector_size}")
        return 0
    try:
        if args.embed_command == "similar":
            positive = [w for w in args.words if not w.startswith("-") or w == "-"]
            negative = [w[1:] for w in args.words if w.startswith("-") and w != "-"]
            _print_ranking(wv.most_similar(positive, negative, topn=args.topn))
        elif args.embed_command == "analogy":
            _print_ranking(wv.analogy(args.a, args.b, args.c, topn=args.topn,
                                      method=args.method))
        else:
            if not args.analogies and not args.similarity:
                raise DataError("give --analogies and/or --similarity files")
            if args.analogies:
                r = wv.evaluate_analogies(args.analogies, args.restrict_vocab,
                                          not args.case_sensitive, args.method)
                print(f"analogies ({args.method}): accuracy {100 * r.accuracy:.2f}% "
                      f"({r.correct}/{r.answered}), coverage {100 * r.coverage:.1f}% "
                      f"of {r.questions}")
            for path in args.similarity:
                s = wv.evaluate_similarity(path, args.restrict_vocab, not args.case_sensitive)
                print(f"{Path(path).name}: spearman {s.spearman:.4f} pearson {s.pearson:.4f} "
                      f"({s.pairs}/{s.total} pairs)")
    except KeyError as exc:
        raise DataError(exc.args[0]) from None
    return 0
