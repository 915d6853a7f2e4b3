"""CountVectorizer / TfidfVectorizer: seqlab vs scikit-learn, documents/s, same matrices.

Corpus: PTB train sentences plus WikiText-2 valid/test paragraphs (one document per line).
Each configuration runs both libraries in this process (best of ``--repeats``) and checks the
matrices are exactly equal before printing the table.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/vectorizers.py
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from seqlab import CountVectorizer, TfidfVectorizer

CONFIGS = [
    ("counts, words", CountVectorizer, {}),
    ("counts, words 1-2 grams, min_df=2", CountVectorizer, {"ngram_range": (1, 2), "min_df": 2}),
    ("counts, char_wb 2-4 grams", CountVectorizer, {"analyzer": "char_wb",
                                                    "ngram_range": (2, 4)}),
    ("tf-idf, words (l2, smooth)", TfidfVectorizer, {}),
    ("tf-idf, words 1-2, sublinear, max_features=50k", TfidfVectorizer,
     {"ngram_range": (1, 2), "sublinear_tf": True, "max_features": 50_000}),
]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; torch not imported"


def corpus(root: Path) -> list[str]:
    docs = (root / "ptb" / "ptb.train.txt").read_text().splitlines()
    for split in ("valid", "test"):
        docs += [line for line in (root / "wikitext-2" / f"{split}.txt").read_text().splitlines()
                 if line.strip() and not line.strip().startswith("=")]
    return docs


def best_time(make, docs, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = make().fit_transform(docs)
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from sklearn import __version__ as sk_version
    from sklearn.feature_extraction import text as sk

    docs = corpus(Path(args.data))
    print(f"corpus: {len(docs)} documents, {sum(len(d.split()) for d in docs)} tokens")
    rows = []
    for name, cls, options in CONFIGS:
        peer_cls = getattr(sk, cls.__name__)
        t_ours, ours = best_time(lambda c=cls, o=options: c(**o), docs, args.repeats)
        t_peer, peer = best_time(lambda c=peer_cls, o=options: c(**o), docs, args.repeats)
        ours, peer = sp.csr_matrix(ours), sp.csr_matrix(peer)
        assert ours.shape == peer.shape and (ours != peer).nnz == 0, name
        np.testing.assert_array_equal(ours[:50].toarray(), peer[:50].toarray())
        rows.append((name, ours.shape[1], len(docs) / t_ours, len(docs) / t_peer))
    print(f"machine: {machine()}; scikit-learn {sk_version}")
    print("| configuration | features | docs/s seqlab | docs/s scikit-learn | ratio | equal |")
    print("|---|---|---|---|---|---|")
    for name, n_features, ours, peer in rows:
        print(f"| {name} | {n_features:,} | {ours:,.0f} | {peer:,.0f} | {ours / peer:.2f}x "
              f"| exact |")


if __name__ == "__main__":
    main()
