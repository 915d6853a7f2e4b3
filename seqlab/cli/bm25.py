"""``seqlab index bm25`` / ``seqlab search bm25``: build a BM25 index from a text file, query it.

Examples::

    seqlab index bm25 corpus.txt --out corpus.bm25.npz --variant bm25+ --k1 1.2 --b 0.75
    seqlab search bm25 corpus.bm25.npz "stock prices fell" -k 5 --corpus corpus.txt
    seqlab search bm25 corpus.bm25.npz --queries questions.txt -k 10

The older spellings ``seqlab bm25 index|search`` are aliases (same code, same output).

A corpus file holds one document per line; blank lines are not documents (they would only
dilute the statistics), but documents keep their line numbers: document i is line i, counting
from 0. Output of ``search``: ``query<TAB>rank<TAB>document<TAB>score`` (plus the document's
text with ``--corpus``).
"""

from __future__ import annotations

import argparse
import time

from seqlab.cli.common import add_text_arguments
from seqlab.errors import ConfigError, DataError

# The verb-first spellings (``seqlab index bm25``, ``seqlab search bm25``) and the noun-first
# aliases (``seqlab bm25 index|search``) share these option builders.
HELP = {"index": "index a text file (one document per line)",
        "search": "top-k documents for queries"}


def add_index_options(index: argparse.ArgumentParser) -> None:
    from seqlab.features.bm25 import VARIANTS
    from seqlab.features.tokenizers import TOKENIZERS

    index.set_defaults(_run=run, _action=run_index)
    index.add_argument("corpus", help="text file, one document per line")
    index.add_argument("--out", "-o", "--output", required=True,
                       help="index file to write (.npz)")
    index.add_argument("--variant", default="robertson", choices=VARIANTS, help="BM25 variant")
    index.add_argument("--k1", type=float, default=1.5, help="term-frequency saturation")
    index.add_argument("--b", type=float, default=0.75, help="length normalization")
    index.add_argument("--delta", type=float, default=None,
                       help="bm25l/bm25+ only (default 0.5 / 1.0)")
    index.add_argument("--tokenizer", default="regex", choices=sorted(TOKENIZERS),
                       help="how documents and queries are split into terms")
    index.add_argument("--no-lowercase", action="store_true", help="keep the case of terms")
    index.add_argument("--stop-words", choices=["english"], default=None,
                       help="drop seqlab's English stop words from documents and queries")
    index.add_argument("--dry-run", action="store_true",
                       help="index the first 1000 documents; nothing is written")
    add_text_arguments(index)


def add_search_options(search: argparse.ArgumentParser) -> None:
    search.set_defaults(_run=run, _action=run_search)
    search.add_argument("index", help="index file written by `seqlab index bm25`")
    search.add_argument("query", nargs="*", help="query text (one argument per query)")
    search.add_argument("--queries", metavar="FILE", help="file with one query per line")
    search.add_argument("-k", type=int, default=None,
                        help="documents per query (default: 10, or all if fewer)")
    search.add_argument("--corpus", metavar="FILE", help="print each hit's text from this file")
    search.add_argument("--dry-run", action="store_true", help="the first query only")
    add_text_arguments(search)


OPTIONS = {"index": add_index_options, "search": add_search_options}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab bm25 ACTION``: the noun-first spellings, aliases of ``seqlab ACTION bm25``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, add in OPTIONS.items():
        alias = f"alias of `seqlab {name} bm25`: {HELP[name]}"
        add(sub.add_parser(name, help=alias, description=alias))


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab index TOOL``: TOOL is ``bm25`` (the only index seqlab builds)."""
    sub = parser.add_subparsers(dest="tool", metavar="TOOL", required=True)
    add_index_options(sub.add_parser("bm25", help=f"BM25: {HELP['index']}",
                                     description=f"BM25: {HELP['index']}"))


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """``seqlab search TOOL``: TOOL is ``bm25``."""
    sub = parser.add_subparsers(dest="tool", metavar="TOOL", required=True)
    add_search_options(sub.add_parser("bm25", help=f"BM25: {HELP['search']}",
                                      description=f"BM25: {HELP['search']}"))


def _lines(path: str) -> list[str]:
    from seqlab.io import read_lines

    return read_lines(path)


def run(args: argparse.Namespace) -> int:
    return args._action(args)


def run_index(args: argparse.Namespace) -> int:
    from seqlab.features.bm25 import BM25

    numbered = [(i, line) for i, line in enumerate(_lines(args.corpus)) if line.strip()]
    if args.dry_run:
        numbered = numbered[:1000]
    if not numbered:
        raise DataError(f"{args.corpus} has no documents (no non-blank line)")
    start = time.perf_counter()
    index = BM25(variant=args.variant, k1=args.k1, b=args.b, delta=args.delta,
                 tokenizer=args.tokenizer, lowercase=not args.no_lowercase,
                 stop_words=args.stop_words).fit([line for _, line in numbered])
    index.doc_ids_ = [i for i, _ in numbered]
    if not args.dry_run:
        index.save(args.out)
    target = "(dry run: not written)" if args.dry_run else f"-> {args.out}"
    print(f"indexed {index.n_documents_} documents, {len(index.vocabulary_)} terms, "
          f"avgdl {index.avgdl_:.2f} in {time.perf_counter() - start:.2f}s {target}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from seqlab.features.bm25 import BM25

    queries = list(args.query) + (_lines(args.queries) if args.queries else [])
    if not queries:
        raise ConfigError("search needs at least one query (arguments or --queries FILE)")
    if args.dry_run:
        queries = queries[:1]
    index = BM25.load(args.index)
    ids = getattr(index, "doc_ids_", None)
    texts = _lines(args.corpus) if args.corpus else None
    lines = index.n_documents_ if ids is None else (int(ids[-1]) + 1 if len(ids) else 0)
    if texts is not None and (len(texts) < lines if ids is not None else len(texts) != lines):
        raise DataError(f"--corpus {args.corpus} has {len(texts)} lines but the index has "
                        f"{index.n_documents_} documents (up to line {lines - 1})")
    k = args.k if args.k is not None else min(10, index.n_documents_)
    indices, scores = index.search(queries, k=k)
    for q, (row, row_scores) in enumerate(zip(indices, scores)):
        for rank, (doc, score) in enumerate(zip(row, row_scores), start=1):
            line = int(doc) if ids is None else int(ids[doc])
            text = f"\t{texts[line]}" if texts is not None else ""
            print(f"{q}\t{rank}\t{line}\t{score:.6f}{text}")
    return 0
