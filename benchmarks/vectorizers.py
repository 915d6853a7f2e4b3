"""CountVectorizer / TfidfVectorizer / HashingVectorizer: seqlab vs scikit-learn, documents/s.

Corpus: PTB train sentences plus WikiText-2 valid/test paragraphs (one document per line).
Each configuration runs both libraries in this process (fastest of ``--repeats`` rounds, the
two libraries alternating within each round) and checks the matrices are exactly equal before
printing the table. Timed: ``fit_transform`` on the list of document strings (tokenizing,
counting, building the vocabulary, pruning, weighting; hashing for HashingVectorizer, whose
numba kernel is compiled, or loaded from numba's cache, before timing).

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/vectorizers.py --data DATA
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from seqlab import CountVectorizer, HashingVectorizer, TfidfVectorizer
from seqlab.features.stop_words import ENGLISH_STOP_WORDS

CONFIGS = [
    ("counts, words", CountVectorizer, {}),
    ("counts, words 1-2 grams, min_df=2", CountVectorizer, {"ngram_range": (1, 2), "min_df": 2}),
    ("counts, char_wb 2-4 grams", CountVectorizer, {"analyzer": "char_wb",
                                                    "ngram_range": (2, 4)}),
    ("counts, words, stop_words='english' (seqlab's list, as a list to scikit-learn)",
     CountVectorizer, {"stop_words": "english"}),
    ("tf-idf, words (l2, smooth)", TfidfVectorizer, {}),
    ("tf-idf, words 1-2, sublinear, max_features=50k", TfidfVectorizer,
     {"ngram_range": (1, 2), "sublinear_tf": True, "max_features": 50_000}),
    ("tf-idf, words, dtype=float32", TfidfVectorizer, {"dtype": np.float32}),
    ("hashing, words (2**20 columns, l2, alternate_sign)", HashingVectorizer, {}),
    ("hashing, words 1-2 grams, 2**18 columns, no norm", HashingVectorizer,
     {"ngram_range": (1, 2), "n_features": 2**18, "norm": None}),
    ("hashing, char_wb 2-4 grams (2**20 columns, l2)", HashingVectorizer,
     {"analyzer": "char_wb", "ngram_range": (2, 4)}),
]


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() \
        else []
    cpu = next((line.split(":", 1)[1].strip() for line in info
                if line.startswith("model name")), platform.processor())
    flags = set(next((line.split(":", 1)[1].split() for line in info
                      if line.startswith("flags")), []))
    isa = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                        ("sse4_2", "SSE4.2")) if flag in flags), "unknown")
    return (f"{platform.platform()}; {cpu}; ISA {isa} (from /proc/cpuinfo flags); "
            f"{os.cpu_count()} cores; torch not imported")


def corpus(root: Path) -> list[str]:
    docs = (root / "ptb" / "ptb.train.txt").read_text().splitlines()
    for split in ("valid", "test"):
        docs += [line for line in (root / "wikitext-2" / f"{split}.txt").read_text().splitlines()
                 if line.strip() and not line.strip().startswith("=")]
    return docs


def best_times(makes, docs, repeats):
    """Fastest fit_transform of each maker, the makers interleaved in every round (so a load
    change from other jobs on the machine hits both libraries alike)."""
    best, out = [float("inf")] * len(makes), [None] * len(makes)
    for _ in range(repeats):
        for i, make in enumerate(makes):
            start = time.perf_counter()
            out[i] = make().fit_transform(docs)
            best[i] = min(best[i], time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from sklearn import __version__ as sk_version
    from sklearn.feature_extraction import text as sk

    docs = corpus(Path(args.data))
    HashingVectorizer().transform(["warm up the numba kernel"])
    print(f"corpus: {len(docs)} documents, {sum(len(d.split()) for d in docs)} tokens")
    rows = []
    for name, cls, options in CONFIGS:
        peer_cls = getattr(sk, cls.__name__)
        peer_options = dict(options)
        if options.get("stop_words") == "english":  # seqlab's list, given to both
            peer_options["stop_words"] = sorted(ENGLISH_STOP_WORDS)
        (t_ours, t_peer), (ours, peer) = best_times(
            [lambda c=cls, o=options: c(**o), lambda c=peer_cls, o=peer_options: c(**o)],
            docs, args.repeats)
        ours, peer = sp.csr_matrix(ours), sp.csr_matrix(peer)
        assert ours.shape == peer.shape and ours.dtype == peer.dtype, name
        for X in (ours, peer):
            X.sort_indices()  # the same entries, compared bit for bit
        for part in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(ours, part), getattr(peer, part), err_msg=name)
        rows.append((name, ours.shape[1], len(docs) / t_ours, len(docs) / t_peer))
    print(f"machine: {machine()}; scikit-learn {sk_version}")
    print("| configuration | features | docs/s seqlab | docs/s scikit-learn | ratio | equal |")
    print("|---|---|---|---|---|---|")
    for name, n_features, ours, peer in rows:
        print(f"| {name} | {n_features:,} | {ours:,.0f} | {peer:,.0f} | {ours / peer:.2f}x "
              f"| exact |")


if __name__ == "__main__":
    main()
