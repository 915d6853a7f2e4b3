"""Taggers on CoNLL-2003 (NER span F1) and UD English-EWT (UPOS accuracy), beside the published
figures; tagging throughput of the trained models; the CRF against pytorch-crf.

Parts (``--parts``, comma-separated):

- ``ner``: trains ``--ner-preset`` (default ``bilstm-crf-char``) on CoNLL-2003 train, selects
  by dev (eng.testa) F1, scores test (eng.testb) exactly as conlleval; resumes the run in
  ``--out-root`` if one is there (``--time-limit`` seconds per call, so a long training is
  done in several calls).
- ``pos``: the same for ``--pos-preset`` (default ``pos``) on UD English-EWT (gold tokens).
- ``ner-w2v``: ``ner`` with the word embedding started from skip-gram vectors (100 dims) that
  seqlab's ``Word2Vec`` trains first on the mirror's training text
  (``benchmarks/mirror_text.py``: no dev or test split of any benchmark), lowercased with
  digits as 0; the vocabulary also holds the vectors' words (``model.pretrained_vocab``). The
  vectors are kept in ``--out-root`` and reused when the run resumes. ``pos-w2v``: the same
  for the POS tagger.
- ``speed``: words/s of each trained model tagging its test set, batched (``--batch-size``)
  and one sentence at a time; published end-to-end CPU figures beside.
- ``crf``: ``benchmarks/crf_speed.py`` (forward+backward and Viterbi vs pytorch-crf).

    SEQLAB_DATA=../shared/data flock /tmp/seqlab-heavy.lock .venv/bin/python \\
        benchmarks/taggers.py --parts ner,pos,speed --time-limit 900 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from machine import cpu_model

from seqlab.config import RunConfig
from seqlab.tasks import get_task, load
from seqlab.tasks.runner import train

PUBLISHED_NER = [
    ("Huang et al. 2015 BiLSTM-CRF, random embeddings", 84.26),
    ("Ma & Hovy 2016 BiLSTM-CRF, random embeddings", 80.76),
    ("Lample et al. 2016 LSTM-CRF, char + pretrained (Skip-n-gram)", 90.94),
    ("Ma & Hovy 2016 BiLSTM-CNN-CRF, char + GloVe", 91.21),
]
PUBLISHED_POS = [("UDPipe 1 (UD 2.x, gold tokenisation)", 94.4),
                 ("Stanza (UD 2.5, from raw text)", 95.4)]
PUBLISHED_SPEED = [("Flair pos+ner (CPU)", 323), ("Stanza", 878), ("spaCy en_core_web_lg", 10014)]


def word_vectors(path: Path, args) -> Path:
    """Skip-gram vectors on the mirror's training text (trained once, then reused)."""
    from mirror_text import lower_zero, skipgram_vectors, training_text

    if path.exists():
        return path
    w2v = skipgram_vectors(training_text(lower_zero), path, 100, 2, args.threads)
    print(f"word2vec on the mirror's training text: {w2v['tokens']:,} tokens, "
          f"{w2v['words']:,} words, {w2v['wall']:.0f} s wall, {w2v['cpu']:.0f} s CPU -> {path}")
    return path


def run_training(task_preset: str, out_dir: Path, args, vectors: Path | None = None) -> dict:
    task = get_task("tagger")
    cfg = task.preset(task_preset)
    tables = cfg.to_dict()
    if vectors is not None:
        tables["model"].update(pretrained=str(vectors), pretrained_vocab=True)
        tables["data"].update(lowercase=True, zero_digits=True)
    tables["train"].update(out_dir=str(out_dir), threads=args.threads,
                           time_limit=float(args.time_limit), progress_bar="off",
                           log_every=200)
    cfg = RunConfig.from_dict(tables, base=task.default_config())
    resume = (out_dir / "last.safetensors").exists()
    start_cpu = time.process_time()
    result = train(cfg, resume=resume, log=print)
    result["cpu_seconds_this_call"] = time.process_time() - start_cpu
    return result


def report_quality(name: str, result: dict, key: str, published: list) -> None:
    ours = 100 * result.get(f"test_{key}", float("nan"))
    dev = 100 * result.get(f"valid_{key}", 0.0)
    print(f"\n{name}: seqlab {key} on test {ours:.2f} (dev {dev:.2f})"
          f" after {result.get('steps')} steps, stopped: {result.get('stopped')}; CPU time this "
          f"call {result['cpu_seconds_this_call'] / 60:.1f} min")
    print(f"{'system':<62} {key:>7}")
    for system, figure in published:
        print(f"{system:<62} {figure:>7.2f}")
    own = ("seqlab (this run; seqlab's word2vec on the mirror text)" if result.get("vectors")
           else "seqlab (this run; no external embeddings)")
    print(f"{own:<62} {ours:>7.2f}")


def speed(run: Path, dataset: str, args) -> None:
    from seqlab.data.conll import load_tagged

    if not (run / "best.safetensors").exists():
        print(f"speed: no trained model in {run} (run the ner/pos part first)")
        return
    model = load(run / "best.safetensors", task="tagger")
    sents = [s.words for s in load_tagged(dataset, "test")]
    words = sum(len(s) for s in sents)
    model.tag(sents[:64], args.batch_size)  # warm-up
    t0 = time.perf_counter()
    model.tag(sents, args.batch_size)
    batched = time.perf_counter() - t0
    n_one = min(len(sents), 300)
    t0 = time.perf_counter()
    for s in sents[:n_one]:
        model.tag([s], 1)
    one = (time.perf_counter() - t0) / sum(len(s) for s in sents[:n_one]) * words
    print(f"\n{dataset} test, {len(sents):,} sentences, {words:,} words, {torch.get_num_threads()}"
          f" thread(s): batched ({args.batch_size}) {words / batched:,.0f} words/s; one "
          f"sentence at a time {words / one:,.0f} words/s (ratio {one / batched:.1f}x)")
    for system, figure in PUBLISHED_SPEED:
        print(f"  published {system:<28} {figure:>7,} words/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="ner,pos,speed")
    ap.add_argument("--ner-preset", default="bilstm-crf-char")
    ap.add_argument("--pos-preset", default="pos")
    ap.add_argument("--out-root", default="runs/bench-taggers")
    ap.add_argument("--time-limit", type=float, default=900, help="seconds of training per call")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.platform()} | {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()}"
          f" | torch {torch.__version__}, {args.threads} thread(s)")
    parts = set(args.parts.split(","))
    root = Path(args.out_root)
    results = {}
    if "ner" in parts:
        results["ner"] = run_training(args.ner_preset, root / args.ner_preset, args)
        report_quality(f"CoNLL-2003 NER ({args.ner_preset})", results["ner"], "f1",
                       PUBLISHED_NER)
    for part, preset in (("ner-w2v", args.ner_preset), ("pos-w2v", args.pos_preset)):
        if part in parts:
            vectors = word_vectors(root / "mirror-w2v-100.txt", args)
            results[part] = run_training(preset, root / f"{preset}-w2v", args, vectors)
            results[part]["vectors"] = str(vectors)
            key = "f1" if part == "ner-w2v" else "accuracy"
            report_quality(f"{part} ({preset} + seqlab word2vec)", results[part], key,
                           PUBLISHED_NER if part == "ner-w2v" else PUBLISHED_POS)
    if "pos" in parts:
        results["pos"] = run_training(args.pos_preset, root / args.pos_preset, args)
        report_quality(f"UD English-EWT UPOS ({args.pos_preset})", results["pos"], "accuracy",
                       PUBLISHED_POS)
    if "speed" in parts:
        speed(root / args.ner_preset, "conll2003", args)
        speed(root / args.pos_preset, "ud-english-ewt", args)
    if "crf" in parts:
        import crf_speed

        sys.argv = [sys.argv[0]]
        crf_speed.main()
    if args.json:
        Path(args.json).write_text(json.dumps(
            {k: {n: v for n, v in r.items() if n != "history"} for k, r in results.items()},
            indent=1))


if __name__ == "__main__":
    main()
