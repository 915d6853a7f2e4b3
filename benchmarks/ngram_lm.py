"""PTB n-gram language models: modified Kneser-Ney test perplexity beside the published KN5
figure, build time and peak memory; and speed vs nltk.lm on a trigram, same run.

Published PTB test perplexity of a 5-gram with (modified) Kneser-Ney smoothing, no count
cutoffs: 141.2 (Mikolov et al. 2011, "Empirical evaluation and combination of advanced language
modeling techniques", Table 1, SRILM); 142.5 in an SRILM rerun (the issue's figure).

nltk.lm counts in Python dicts and is too slow for all of PTB: the comparison uses the first
``--nltk-sentences`` training sentences and a maximum-likelihood trigram (``nltk.lm.MLE``) fed
the same n-grams as seqlab's (one <s>, no <s> unigram), and checks both perplexities are equal.
It scores the last ``--nltk-test`` sentences of that subset, so every trigram is seen and the
MLE perplexity is finite. (Laplace is compared in tests/features/test_ngram_lm.py; on PTB its
literal "<unk>" word makes nltk's |V| one larger than ours, so it is not used here.)

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/ngram_lm.py
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

from seqlab import NgramLM

PUBLISHED_KN5 = 141.2
SRILM_RERUN_KN5 = 142.5


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; torch not imported"


def read(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def build(order: int, smoothing: str, train):
    tracemalloc.start()
    start = time.perf_counter()
    lm = NgramLM(order=order, smoothing=smoothing).fit(train)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return lm, seconds, peak


def nltk_comparison(train, test, order: int):
    from nltk.lm import MLE
    from nltk.util import everygrams

    def ngrams(sentences):
        return [[g for g in everygrams(["<s>", *s, "</s>"], max_len=order) if g != ("<s>",)]
                for s in sentences]

    start = time.perf_counter()
    ours = NgramLM(order=order, smoothing="mle").fit(train)
    t_fit = time.perf_counter() - start
    start = time.perf_counter()
    pp_ours = ours.perplexity(test)
    t_eval = time.perf_counter() - start

    start = time.perf_counter()
    theirs = MLE(order)
    theirs.fit(ngrams(train), [w for s in train for w in s] + ["<s>", "</s>"])
    n_fit = time.perf_counter() - start
    start = time.perf_counter()
    total, count = 0.0, 0
    for s in test:
        hist = ["<s>", *s, "</s>"]
        for i in range(1, len(hist)):
            total += math.log(theirs.score(hist[i], hist[max(0, i - order + 1):i]))
            count += 1
    pp_theirs = math.exp(-total / count)
    n_eval = time.perf_counter() - start
    assert math.isclose(pp_ours, pp_theirs, rel_tol=1e-9), (pp_ours, pp_theirs)
    return (t_fit, n_fit, t_eval, n_eval, pp_ours, pp_theirs, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--nltk-sentences", type=int, default=5000)
    parser.add_argument("--nltk-test", type=int, default=300)
    args = parser.parse_args()
    root = Path(args.data) / "ptb"
    train, valid, test = (read(root / f"ptb.{s}.txt") for s in ("train", "valid", "test"))
    print(f"PTB: train {len(train)} sentences, test {len(test)}; perplexity counts </s> "
          f"({sum(map(len, test)) + len(test)} test tokens)")
    rows = []
    for order, smoothing in [(3, "modified-kneser-ney"), (5, "modified-kneser-ney"),
                             (5, "kneser-ney")]:
        lm, seconds, peak = build(order, smoothing, train)
        start = time.perf_counter()
        pp_test, pp_valid = lm.perplexity(test), lm.perplexity(valid)
        t_eval = time.perf_counter() - start
        rows.append((order, smoothing, pp_valid, pp_test, seconds, t_eval, peak,
                     sum(map(len, lm.keys_))))
    subset = train[: args.nltk_sentences]
    nltk_row = nltk_comparison(subset, subset[-args.nltk_test:], 3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"machine: {machine()}; process max RSS {rss:.0f} MiB")
    print("| model | valid PP | test PP | published test PP | build s | eval s (valid+test) "
          "| peak MiB (tracemalloc, build) | n-grams |")
    print("|---|---|---|---|---|---|---|---|")
    for order, smoothing, pv, pt, secs, te, peak, n in rows:
        ref = (f"{PUBLISHED_KN5} (SRILM rerun {SRILM_RERUN_KN5})"
               if order == 5 and smoothing == "modified-kneser-ney" else "-")
        print(f"| {order}-gram {smoothing} | {pv:.2f} | {pt:.2f} | {ref} | {secs:.2f} "
              f"| {te:.2f} | {peak / 2**20:.0f} | {n:,} |")
    t_fit, n_fit, t_eval, n_eval, pp_o, pp_n, count = nltk_row
    print()
    print(f"nltk.lm MLE trigram, first {args.nltk_sentences} PTB train sentences; "
          f"perplexity of the last {args.nltk_test} of them ({count} tokens):")
    print("| step | seqlab s | nltk.lm s | speed-up | perplexity seqlab / nltk |")
    print("|---|---|---|---|---|")
    print(f"| fit | {t_fit:.3f} | {n_fit:.2f} | {n_fit / t_fit:.0f}x | {pp_o:.4f} / {pp_n:.4f} |")
    print(f"| perplexity | {t_eval:.4f} | {n_eval:.2f} | {n_eval / t_eval:.0f}x | equal |")


if __name__ == "__main__":
    main()
