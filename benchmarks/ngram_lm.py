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

``--scale-tokens 10e6,100e6`` instead measures how large a corpus fits in memory: for each
size, a fresh child process builds a 5-gram modified Kneser-Ney model on a synthetic corpus of
that many words (i.i.d. Zipf words over a 10,000-word vocabulary, PTB's sentence lengths drawn
at random), streamed to ``fit`` from a generator, and reports build time, distinct n-grams and
the child's peak RSS (``ru_maxrss``). The child runs under an address-space limit
(``--scale-limit-gib``) so that running out of memory fails the child, not the machine.
Independent words make nearly every 4- and 5-gram distinct, more than in real text of the same
size, so the n-gram count (and memory) is on the high side; for the same reason high orders can
lack the counts-of-counts that the discounts need, so KenLM's fallback discounts (0.5, 1, 1.5)
are passed.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/ngram_lm.py --scale-tokens 10e6,100e6
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
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


def synthetic_corpus(n_words: int, lengths: list[int], vocab: int, seed: int):
    """Generator of sentences (lists of str): i.i.d. Zipf(1) words, PTB sentence lengths."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    lengths_arr = np.array([n for n in lengths if n > 0])
    left = n_words
    while left > 0:
        chunk = min(left, 1_000_000)
        sizes = rng.choice(lengths_arr, size=chunk // 10 + 1)  # enough sentences for chunk
        sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), chunk)) + 1]
        sizes[-1] -= int(sizes.sum()) - chunk
        tokens = words[rng.choice(vocab, size=chunk, p=p)].tolist()
        start = 0
        for n in sizes.tolist():
            if n > 0:
                yield tokens[start:start + n]
                start += n
        left -= chunk


def scale_child(n_words: int, order: int, data: Path) -> None:
    """Build one model in this (child) process; print a JSON line of figures."""
    lengths = [len(line.split()) for line in (data / "ptb" / "ptb.train.txt").read_text()
               .splitlines()]
    start = time.perf_counter()
    generated = sum(len(s) for s in synthetic_corpus(n_words, lengths, 10_000, 0))
    t_gen = time.perf_counter() - start
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    lm = NgramLM(order=order, smoothing="modified-kneser-ney",
                 discount_fallback=(0.5, 1.0, 1.5)).fit(
        synthetic_corpus(n_words, lengths, 10_000, 0))
    t_fit = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"words": generated, "order": order, "gen_s": t_gen, "fit_s": t_fit,
                      "ngrams": [len(k) for k in lm.keys_], "rss_before": rss_before,
                      "peak_rss": peak}))


def scale(sizes: list[int], order: int, data: Path, limit_gib: float) -> None:
    limit = int(limit_gib * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    print(f"machine: {machine()}; MemTotal "
          f"{Path('/proc/meminfo').read_text().split()[1]} kB; child address-space limit "
          f"{limit_gib} GiB")
    print(f"| words | {order}-gram MKN build s | generating words s (in build s) | distinct "
          "n-grams (orders 1..n) | peak RSS GiB | (peak - RSS before fit) / word, bytes |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--data", str(data), "--scale-child",
                               str(n), "--scale-order", str(order)], capture_output=True,
                              text=True, preexec_fn=cap)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"| {n:,} | failed (exit {proc.returncode}: {tail}) | | | | |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"| {r['words']:,} | {r['fit_s']:.0f} | {r['gen_s']:.0f} | "
              f"{', '.join(f'{k:,}' for k in r['ngrams'])} | {r['peak_rss'] / 2**30:.2f} | "
              f"{(r['peak_rss'] - r['rss_before']) / r['words']:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--nltk-sentences", type=int, default=5000)
    parser.add_argument("--nltk-test", type=int, default=300)
    parser.add_argument("--scale-tokens", default=None,
                        help="comma-separated corpus sizes in words (e.g. 10e6,100e6): run the "
                             "memory/size measurement instead of the PTB tables")
    parser.add_argument("--scale-order", type=int, default=5)
    parser.add_argument("--scale-limit-gib", type=float, default=20.0)
    parser.add_argument("--scale-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child is not None:
        scale_child(args.scale_child, args.scale_order, Path(args.data))
        return
    if args.scale_tokens is not None:
        scale([int(float(n)) for n in args.scale_tokens.split(",")], args.scale_order,
              Path(args.data), args.scale_limit_gib)
        return
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
