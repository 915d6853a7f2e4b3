"""``seqlab bm25 index | search``: build a BM25 index from a text file, query it.

Examples::

    seqlab bm25 index corpus.txt --out corpus.bm25.npz --variant bm25+ --k1 1.2 --b 0.75
    seqlab bm25 search corpus.bm25.npz "stock prices fell" -k 5 --corpus corpus.txt
    seqlab bm25 search corpus.bm25.npz --queries questions.txt -k 10

A corpus file holds one document per line (empty lines are empty documents, so document i is
line i, counting from 0). Output of ``search``: ``query<TAB>rank<TAB>document<TAB>score``
(plus the document's text with ``--corpus``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seqlab.errors import ConfigError, DataError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from seqlab.features.bm25 import VARIANTS
    from seqlab.features.tokenizers import TOKENIZERS

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    index = sub.add_parser("index", help="index a text file (one document per line)")
    index.add_argument("corpus", help="text file, one document per line")
    index.add_argument("--out", "-o", required=True, help="index file to write (.npz)")
    index.add_argument("--variant", default="robertson", choices=VARIANTS)
    index.add_argument("--k1", type=float, default=1.5)
    index.add_argument("--b", type=float, default=0.75)
    index.add_argument("--delta", type=float, default=None,
                       help="bm25l/bm25+ only (default 0.5 / 1.0)")
    index.add_argument("--tokenizer", default="regex", choices=sorted(TOKENIZERS))
    index.add_argument("--no-lowercase", action="store_true")
    index.add_argument("--stop-words", choices=["english"], default=None,
                       help="drop seqlab's English stop words from documents and queries")
    index.set_defaults(_action=run_index)

    search = sub.add_parser("search", help="top-k documents for queries")
    search.add_argument("index", help="index file written by `seqlab bm25 index`")
    search.add_argument("query", nargs="*", help="query text (one argument per query)")
    search.add_argument("--queries", metavar="FILE", help="file with one query per line")
    search.add_argument("-k", type=int, default=None,
                        help="documents per query (default: 10, or all if fewer)")
    search.add_argument("--corpus", metavar="FILE", help="print each hit's text from this file")
    search.set_defaults(_action=run_search)


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc


def run(args: argparse.Namespace) -> int:
    return args._action(args)


def run_index(args: argparse.Namespace) -> int:
    from seqlab.features.bm25 import BM25

    docs = _lines(args.corpus)
    start = time.perf_counter()
    index = BM25(variant=args.variant, k1=args.k1, b=args.b, delta=args.delta,
                 tokenizer=args.tokenizer, lowercase=not args.no_lowercase,
                 stop_words=args.stop_words).fit(docs)
    index.save(args.out)
    print(f"indexed {index.n_documents_} documents, {len(index.vocabulary_)} terms, "
          f"avgdl {index.avgdl_:.2f} in {time.perf_counter() - start:.2f}s -> {args.out}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from seqlab.features.bm25 import BM25

    queries = list(args.query) + (_lines(args.queries) if args.queries else [])
    if not queries:
        raise ConfigError("search needs at least one query (arguments or --queries FILE)")
    index = BM25.load(args.index)
    texts = _lines(args.corpus) if args.corpus else None
    if texts is not None and len(texts) != index.n_documents_:
        raise DataError(f"--corpus {args.corpus} has {len(texts)} lines but the index has "
                        f"{index.n_documents_} documents")
    k = args.k if args.k is not None else min(10, index.n_documents_)
    indices, scores = index.search(queries, k=k)
    for q, (row, row_scores) in enumerate(zip(indices, scores)):
        for rank, (doc, score) in enumerate(zip(row, row_scores), start=1):
            line = f"{q}\t{rank}\t{doc}\t{score:.6f}"
            print(line + (f"\t{texts[doc]}" if texts is not None else ""))
    return 0
