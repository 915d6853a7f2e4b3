"""BM25 index time and queries/s: seqlab vs bm25s and rank_bm25, same corpus, same process.

Corpus: PTB train sentences plus WikiText-2 valid/test paragraphs as documents; queries: the
first 2-6 tokens of PTB test sentences. Scores are checked equal (lucene vs bm25s, robertson vs
rank_bm25 on the queries run) before timing is reported. rank_bm25 scores every document in
Python per query, so it gets fewer queries (said in the table).

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/bm25.py
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from seqlab import BM25


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; torch not imported"


def load_corpus(root: Path) -> tuple[list[list[str]], list[list[str]]]:
    docs = [line.split() for line in (root / "ptb" / "ptb.train.txt").read_text().splitlines()]
    for split in ("valid", "test"):
        for line in (root / "wikitext-2" / f"{split}.txt").read_text().splitlines():
            if line.strip() and not line.strip().startswith("="):
                docs.append(line.lower().split())
    rng = np.random.default_rng(0)
    test = [line.split() for line in (root / "ptb" / "ptb.test.txt").read_text().splitlines()]
    queries = [s[: int(rng.integers(2, 7))] for s in test if s]
    return docs, queries


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--rank-bm25-queries", type=int, default=30)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("DISABLE_TQDM", "1")
    import bm25s
    import rank_bm25

    docs, queries = load_corpus(Path(args.data))
    queries = queries[: args.queries]
    n_tokens = sum(map(len, docs))
    print(f"corpus: {len(docs)} documents, {n_tokens} tokens; {len(queries)} queries, "
          f"k={args.k}")
    rows = []

    peer = bm25s.BM25(method="lucene", backend="numba")  # float32 scores by default
    _, t_peer = timed(peer.index, docs, show_progress=False)
    peer.retrieve(queries[:20], k=args.k, show_progress=False, n_threads=1)  # numba compile
    (pidx, psc), q_peer = timed(peer.retrieve, queries, k=args.k, show_progress=False,
                                n_threads=1)
    for dtype in ("float32", "float64"):
        ours, t_ours = timed(BM25(variant="lucene", dtype=dtype).fit, docs)
        ours.search(queries[:20], k=args.k)  # warm up (numba compile / cache load)
        (idx, sc), q_ours = timed(ours.search, queries, k=args.k)
        np.testing.assert_allclose(sc, psc, rtol=2e-6)  # bm25s keeps float32 scores
        agree = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(idx, pidx)]))
        rows.append((f"bm25s 0.3 lucene, 1 thread (seqlab dtype={dtype})", t_ours, t_peer,
                     len(queries) / q_ours, len(queries) / q_peer, agree))

    robertson, t_rob = timed(BM25(variant="robertson").fit, docs)
    okapi, t_okapi = timed(rank_bm25.BM25Okapi, docs)
    # rank_bm25 floors negative idfs (terms in > N/2 documents) at epsilon * mean idf, seqlab's
    # robertson (the seed formula) does not: compare on queries without such terms.
    common = {t for t, j in robertson.vocabulary_.items() if robertson.idf_[j] < 0}
    few = [q for q in queries if not common & set(q)][: args.rank_bm25_queries]
    (ridx, rsc), q_rob = timed(robertson.search, few, k=args.k)
    ref, q_okapi = timed(lambda: [okapi.get_scores(q) for q in few])
    top = [np.sort(r)[::-1][: args.k] for r in ref]
    np.testing.assert_allclose(rsc, top, rtol=1e-9)  # equal where no idf is negative
    rows.append((f"rank_bm25 0.2 BM25Okapi ({len(few)} queries, robertson)", t_rob, t_okapi,
                 len(few) / q_rob, len(few) / q_okapi, 1.0))

    print(f"machine: {machine()}")
    print("| peer | index s (seqlab) | index s (peer) | queries/s (seqlab) | queries/s (peer) "
          "| qps ratio | top-k overlap |")
    print("|---|---|---|---|---|---|---|")
    for name, ti, tp, qi, qp, agree in rows:
        print(f"| {name} | {ti:.2f} | {tp:.2f} | {qi:,.0f} | {qp:,.0f} | {qi / qp:.2f}x "
              f"| {agree:.3f} |")


if __name__ == "__main__":
    main()
