"""seqlab Word2Vec/FastText vs gensim: training words/s, analogy accuracy, similarity Spearman.

Both libraries train in this process on the same in-memory corpus (a list of token lists) with
identical hyperparameters; each fit is timed end to end (vocabulary + training) and the corpus
words processed (raw tokens x epochs) are divided by that wall time. Runs alternate between the
two libraries. Seed ``--seed + r`` (``r < --seeds``) is used by both; the best time is reported,
and for quality each library's mean with its standard error over the seeds, the difference of
the means with its standard error and Welch's two-sample t-test, because on a corpus this small
one seed moves SimLex/WordSim rho by several points: a difference is only meaningful relative to
that spread. ``--jsonl`` appends one record per fit, so that seeds can be split over several
short runs and summarised together with ``--summarize``.
Both sets of vectors are scored by the same evaluator (seqlab's, which tests show equal to
gensim's ``evaluate_word_analogies``/``evaluate_word_pairs``): questions-words 3CosAdd accuracy
over the 30,000 most frequent words, and Spearman rho on WordSim-353 and SimLex-999.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/embeddings.py --workers 1
    .venv/bin/python benchmarks/embeddings.py --summarize a.jsonl b.jsonl --corpus mix --workers 1

Corpora (``--corpus``): ``ptb`` = PTB train (887,521 tokens without ``<eos>``); ``mix`` = PTB
train + WikiText-2 valid+test + Multi30k train.en + CoNLL-2003 eng.train tokens, lower-cased
(about 1.9M tokens), assembled from ``$SEQLAB_DATA`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

SETTINGS = {  # name -> (model, architecture, loss)
    "sg-ns": ("word2vec", "skipgram", "negative"),
    "cbow-ns": ("word2vec", "cbow", "negative"),
    "sg-hs": ("word2vec", "skipgram", "hierarchical"),
    "cbow-hs": ("word2vec", "cbow", "hierarchical"),
    "ft-sg": ("fasttext", "skipgram", "negative"),
    "ft-cbow": ("fasttext", "cbow", "negative"),
}
TOKEN = re.compile(r"[a-z0-9]+(?:['.\-][a-z0-9]+)*|[^\sa-z0-9]")


def load_corpus(root: Path, name: str) -> list[list[str]]:
    def lines(path):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            yield from fh

    sentences = [line.split() for line in lines(root / "ptb" / "ptb.train.txt")]
    if name == "mix":
        for split in ("valid", "test"):
            sentences += [line.lower().split() for line in lines(root / "wikitext-2" /
                                                                 f"{split}.txt")]
        sentences += [TOKEN.findall(line.lower()) for line in lines(root / "multi30k" /
                                                                     "train.en")]
        sentence: list[str] = []
        for line in lines(root / "conll2003" / "eng.train"):
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if sentence:
                    sentences.append(sentence)
                sentence = []
            else:
                sentence.append(parts[0].lower())
    return [s for s in sentences if s]


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import gensim
    import numba

    return (f"{platform.platform()} | {cpu} | {os.cpu_count()} CPUs | python "
            f"{platform.python_version()} | numpy {np.__version__} | numba {numba.__version__} "
            f"| gensim {gensim.__version__}")


def fit_seqlab(corpus, model, architecture, loss, hp):
    from seqlab.embeddings.fasttext import FastText
    from seqlab.embeddings.word2vec import Word2Vec

    common = dict(architecture=architecture, loss=loss, vector_size=hp.vector_size,
                  window=hp.window, negative=hp.negative, sample=hp.sample,
                  min_count=hp.min_count, alpha=hp.alpha, min_alpha=hp.min_alpha,
                  epochs=hp.epochs, workers=hp.workers, seed=hp.seed, progress=False)
    if model == "fasttext":
        return FastText(min_n=3, max_n=6, bucket=hp.bucket, **common).fit(corpus).wv
    return Word2Vec(**common).fit(corpus).wv


def fit_gensim(corpus, model, architecture, loss, hp):
    from gensim.models import FastText, Word2Vec

    common = dict(sg=int(architecture == "skipgram"), hs=int(loss == "hierarchical"),
                  negative=hp.negative if loss == "negative" else 0, cbow_mean=1,
                  vector_size=hp.vector_size, window=hp.window, sample=hp.sample,
                  min_count=hp.min_count, alpha=hp.alpha, min_alpha=hp.min_alpha,
                  epochs=hp.epochs, workers=hp.workers, seed=hp.seed)
    cls, extra = (FastText, dict(min_n=3, max_n=6, bucket=hp.bucket)) if model == "fasttext" \
        else (Word2Vec, {})
    if getattr(hp, "gensim_decay", "sentences") == "sentences":
        return cls(corpus, **extra, **common).wv  # gensim's usual call: decay over sentences
    m = cls(**extra, **common)  # decay over words, as the C tool and seqlab
    m.build_vocab(corpus)
    m.train(corpus, total_words=m.corpus_total_words, epochs=hp.epochs)
    return m.wv


def as_seqlab(wv):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    return wv if isinstance(wv, KeyedVectors) else KeyedVectors(wv.index_to_key, wv.vectors)


def quality(wv, analogy_dir: Path) -> dict:
    wv = as_seqlab(wv)
    a = wv.evaluate_analogies(analogy_dir / "questions-words.txt", restrict_vocab=30_000)
    return {"analogy": 100 * a.accuracy, "coverage": 100 * a.coverage,
            "ws353": wv.evaluate_similarity(analogy_dir / "wordsim353.tsv").spearman,
            "simlex": wv.evaluate_similarity(analogy_dir / "simlex999.txt").spearman}


def summarize(records: list[dict]) -> list[str]:
    """Table rows from per-fit records (one dict per fit, possibly from several runs).

    words/s: the best fit of each library (ratio = seqlab / gensim); CPU-time ratio: gensim's
    least CPU seconds per fit / seqlab's; quality: mean +- standard error of the mean over the
    seeds, seqlab's mean minus gensim's, and Welch's two-sample t-test on that difference (t and
    two-sided p): a |t| near 2 or more is a difference the seed-to-seed spread does not explain.
    """
    from scipy import stats

    rows = []
    names = list(dict.fromkeys(r["setting"] for r in records))
    for name in names:
        mine = [r for r in records if r["setting"] == name]
        by = {lib: [r for r in mine if r["lib"] == lib] for lib in ("seqlab", "gensim")}
        if not by["seqlab"] or not by["gensim"]:
            continue
        n_words = mine[0]["tokens"] * mine[0]["epochs"]
        ws, wg = (n_words / min(r["seconds"] for r in by[lib]) for lib in ("seqlab", "gensim"))
        # CPU seconds of the process per fit (all threads): the work each library needs, less
        # sensitive than wall time to other jobs on a shared machine
        cs, cg = (min(r.get("cpu_seconds", float("nan")) for r in by[lib])
                  for lib in ("seqlab", "gensim"))
        cells = [f"{cg / cs:.2f}", f"{len(by['seqlab'])} / {len(by['gensim'])}"]
        for key, scale, fmt in (("analogy", 1.0, ".2f"), ("ws353", 100.0, ".1f"),
                                ("simlex", 100.0, ".1f")):
            s = scale * np.array([r[key] for r in by["seqlab"]])
            g = scale * np.array([r[key] for r in by["gensim"]])
            se_s = s.std(ddof=1) / np.sqrt(len(s)) if len(s) > 1 else float("nan")
            se_g = g.std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else float("nan")
            if len(s) > 1 and len(g) > 1 and (s.std() > 0 or g.std() > 0):
                t, pval = stats.ttest_ind(s, g, equal_var=False)
                test = f", t {t:+.1f}, p {pval:.2f}"
            else:
                test = ""
            if len(s) > 1 and len(g) > 1:
                cells.append(f"{s.mean():{fmt}} +- {se_s:{fmt}} / {g.mean():{fmt}} +- {se_g:{fmt}} "
                             f"({s.mean() - g.mean():+{fmt}} +- {np.hypot(se_s, se_g):{fmt}}"
                             f"{test})")
            else:  # one seed: no standard error
                cells.append(f"{s.mean():{fmt}} / {g.mean():{fmt}} ({s.mean() - g.mean():+{fmt}})")
        rows.append(f"| {name} | {ws:,.0f} | {wg:,.0f} | {ws / wg:.2f} | " + " | ".join(cells)
                    + " |")
    return rows


HEADER = ("| setting | seqlab words/s | gensim words/s | ratio | CPU-time ratio | seeds | analogy "
          "% seqlab / gensim (diff) | WS-353 rho seqlab / gensim (diff) | SimLex rho seqlab "
          "/ gensim (diff) |\n|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", choices=("ptb", "mix"), default="ptb")
    p.add_argument("--settings", default="sg-ns,cbow-ns,sg-hs,ft-sg",
                   help=f"comma-separated from {','.join(SETTINGS)}")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--alpha", type=float, default=0.025)
    p.add_argument("--min-alpha", type=float, default=0.0001)
    p.add_argument("--bucket", type=int, default=500_000)
    p.add_argument("--seed", type=int, default=1, help="first seed")
    p.add_argument("--seeds", "--repeats", dest="repeats", type=int, default=3,
                   help="seeds per setting (seed, seed+1, ...), each fitted by both libraries")
    p.add_argument("--libs", default="seqlab,gensim", help="which libraries to fit")
    p.add_argument("--gensim-decay", choices=("sentences", "words"), default="sentences",
                   help="gensim's learning-rate decay: over sentences (what Word2Vec(corpus) "
                        "does) or over words (train(total_words=...), as the C tool and seqlab)")
    p.add_argument("--jsonl", type=Path, help="append one JSON record per fit to this file")
    p.add_argument("--summarize", type=Path, nargs="+", metavar="JSONL",
                   help="only print the table from the records of earlier runs (no fitting); "
                        "--corpus, --settings and --workers select the records")
    hp = p.parse_args()
    if hp.summarize:
        records = [json.loads(line) for path in hp.summarize
                   for line in path.read_text().splitlines() if line.strip()]
        wanted = hp.settings.split(",")
        records = [r for r in records if r["corpus"] == hp.corpus and r["workers"] == hp.workers
                   and r["setting"] in wanted]
        records.sort(key=lambda r: wanted.index(r["setting"]))
        print(HEADER)
        print("\n".join(summarize(records)))
        return
    root = Path(os.environ.get("SEQLAB_DATA", "../shared/data"))
    corpus = load_corpus(root, hp.corpus)
    n_words = sum(len(s) for s in corpus)
    print(f"machine: {machine()}")
    print(f"corpus {hp.corpus}: {len(corpus):,} sentences, {n_words:,} tokens; workers "
          f"{hp.workers}, epochs {hp.epochs}, vector_size {hp.vector_size}, window {hp.window}, "
          f"negative {hp.negative}, sample {hp.sample}, min_count {hp.min_count}, alpha "
          f"{hp.alpha}, bucket {hp.bucket} (fastText); {hp.repeats} seeds from {hp.seed}; "
          f"gensim decays alpha over {hp.gensim_decay}")
    print("words/s: best of the seeds; quality: mean +- standard error over seeds (rho x 100); "
          "diff = seqlab mean - gensim mean, Welch t and p")
    fit_seqlab(corpus[:200], "word2vec", "skipgram", "negative", hp)  # JIT/cache warm-up
    fit_seqlab(corpus[:200], "fasttext", "skipgram", "negative", hp)
    libs = hp.libs.split(",")
    records = []
    for name in hp.settings.split(","):
        model, architecture, loss = SETTINGS[name]
        for rep in range(hp.repeats):
            hp_rep = argparse.Namespace(**{**vars(hp), "seed": hp.seed + rep})
            for lib in (libs if rep % 2 == 0 else libs[::-1]):  # alternate the order
                fit = fit_seqlab if lib == "seqlab" else fit_gensim
                t0, c0 = time.perf_counter(), time.process_time()
                wv = fit(corpus, model, architecture, loss, hp_rep)
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                q = quality(wv, root / "analogy")
                record = {"corpus": hp.corpus, "setting": name, "lib": lib, "seed": hp_rep.seed,
                          "workers": hp.workers, "epochs": hp.epochs, "tokens": n_words,
                          "seconds": seconds, "cpu_seconds": cpu, "gensim_decay": hp.gensim_decay,
                          **q}
                records.append(record)
                if hp.jsonl:
                    with hp.jsonl.open("a") as fh:
                        fh.write(json.dumps(record) + "\n")
                print(f"  {name} {lib} seed {hp_rep.seed}: {seconds:.1f} s (cpu {cpu:.1f} s), "
                      f"analogy {q['analogy']:.2f}, ws353 {q['ws353']:.4f}, "
                      f"simlex {q['simlex']:.4f}", flush=True)
    print()
    print(HEADER)
    print("\n".join(summarize(records)))


if __name__ == "__main__":
    main()
