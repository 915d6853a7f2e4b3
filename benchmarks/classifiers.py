"""SST-2 text classification: seqlab's classifiers beside the published figures and their peers.

Parts (``--parts``, default all), every one on the SST-2 mirror (Kim 2014 dev/test; training
on Kim's 6,920 sentences or the GLUE phrase train set, as each row says):

- ``fasttext``: ``seqlab train fasttext --preset sst2-fasttext`` (and the sentences-only
  preset) through the engine, wall and CPU seconds, test accuracy; beside it scikit-learn's
  ``TfidfVectorizer(ngram_range=(1, 2))`` + ``LogisticRegression`` on the same train set.
- ``recurrent``: ``seqlab train classifier --preset sst2-bilstm`` (``--time-limit`` caps it),
  test accuracy of the best-dev checkpoint.
- ``recurrent-w2v``: the same, its embedding initialised from skip-gram vectors that seqlab's
  ``Word2Vec`` trains first on the mirror's training text only (GLUE phrases + Kim's train
  sentences; no dev/test text), reported as such.
- ``recurrent-w2v-mirror``: the same with vectors trained on all the mirror's English training
  text (``benchmarks/mirror_text.py``: PTB train, WikiText-2 valid+test, tinyshakespeare,
  Multi30k train, EWT and CoNLL train, the GLUE phrases; no dev/test split of any benchmark),
  lowercased; one run per ``--seeds`` seed, the row reported is the best by dev accuracy (every
  seed's dev and test are printed). ``--pooling attention`` (or mean, last) trains the two
  ``recurrent-w2v`` parts with that ``model.pooling`` instead of the preset's max; ``--ema D``
  with ``train.ema = D`` (validation, the best checkpoint and the test figure use the
  exponential moving average of the weights); ``--distil A,T`` then trains one more model of
  the same shape (seed ``--student-seed``) distilled from the seeds' ensemble
  (``model.teachers`` = their best checkpoints, ``distill_weight`` A, ``distill_temperature``
  T; Hinton et al. 2015): a single model, reported as such.
- ``recurrent-bilm``: the ``recurrent-w2v`` model (``--pooling``) whose embedding and
  encoder first learn a bidirectional language model (``seqlab.models.encoder_pretraining``,
  ``--bilm-epochs``) on Kim's train sentences (95%; 5% held out for the LM's own validation),
  then start the classifier through ``model.init_from``; one run per ``--seeds`` seed.
- ``calibration``: expected calibration error (15 equal-width confidence bins) and Brier
  score of ``predict_proba`` on test, for the checkpoints the other parts left in ``--out``,
  as trained and after temperature scaling fitted on dev.
- ``speed``: training and inference texts/s of the same BiLSTM (max pooling) in seqlab (the
  engine's fit loop) and as a plain PyTorch ``nn.LSTM`` classifier written below
  (pack_padded_sequence, masked max, linear; a hand loop), on the same batches, same threads.

Published SST-2 test accuracies (Kim 2014 split): Naive Bayes 81.8, bigram NB 83.1, RNTN 85.4
(Socher et al. 2013), CNN-rand 82.7, CNN-static/non-static with word2vec 86.8 / 87.2,
CNN-multichannel 88.1 (Kim 2014).

Run: ``SEQLAB_DATA=../shared/data .venv/bin/python benchmarks/classifiers.py``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from machine import cpu_model
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqlab.config import RunConfig, TrainConfig  # noqa: E402
from seqlab.tasks import get_task, train  # noqa: E402

PUBLISHED = [("Naive Bayes (Socher et al. 2013)", 81.8), ("bigram NB (Socher et al. 2013)", 83.1),
             ("RNTN (Socher et al. 2013)", 85.4), ("CNN-rand (Kim 2014)", 82.7),
             ("CNN-static, word2vec (Kim 2014)", 86.8), ("CNN-multichannel (Kim 2014)", 88.1)]


def run_preset(task: str, preset: str, out: Path, threads: int, pretrained: str = "",
               model: dict | None = None, **train_overrides) -> dict:
    tables = {"train": {"out_dir": str(out), "progress_bar": "off", "threads": threads,
                        **train_overrides}, "model": dict(model or {})}
    if pretrained:
        tables["model"]["pretrained"] = pretrained
    cfg = RunConfig.from_dict(tables, base=get_task(task).preset(preset))
    cpu = time.process_time()
    started = time.perf_counter()
    result = train(cfg, overwrite=True, log=lambda line: print("   ", line, flush=True))
    result["wall"] = time.perf_counter() - started
    result["cpu"] = time.process_time() - cpu
    return result


def sklearn_tfidf_lr(train_set: str) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    data = get_task("fasttext").build_data(
        RunConfig.from_dict({"data": {"dataset": "sst2", "train_set": train_set}},
                            base=get_task("fasttext").default_config()))
    words = data.assets["vocab"]["tokens"]

    def texts(split):
        ex = data.splits[split]
        return [" ".join(words[i] for i in ids) for ids in ex.ids], ex.labels

    (xtr, ytr), (xte, yte) = texts("train"), texts("test")
    cpu, started = time.process_time(), time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", sublinear_tf=True)
    clf = LogisticRegression(C=10.0, max_iter=2000).fit(vec.fit_transform(xtr), ytr)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"test_accuracy": clf.score(vec.transform(xte), yte), "wall": wall, "cpu": cpu}


class PlainLSTMClassifier(nn.Module):
    """Embedding -> nn.LSTM (packed) -> max over real steps -> linear: the peer, in plain torch."""

    def __init__(self, vocab: int, dim: int, hidden: int, classes: int, dropout: float):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, tokens, lengths):
        x = self.drop(self.embedding(tokens))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                   enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True,
                                                total_length=tokens.shape[1])
        mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
        z = h.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        return self.out(self.drop(z))


def train_word_vectors(path: Path, threads: int, mirror: bool = False) -> dict:
    """Skip-gram vectors (200 dims) on SST-2's training text (``mirror``: on all the mirror's
    English training text, lowercased); written to ``path``."""
    from mirror_text import skipgram_vectors, training_text

    from seqlab.data.labelled import read_labelled
    from seqlab.data.sources import dataset_path
    from seqlab.models.classifier_task import GLUE_BRACKETS

    sentences = []
    if mirror:
        sentences = training_text(lambda w: GLUE_BRACKETS.get(w, w.lower()))
    for split, fmt, col in (("train", "stsa", "text"), ("glue-train", "tsv", "sentence")):
        if mirror and split == "glue-train":
            continue  # already in the mirror text
        texts, _, _ = read_labelled(dataset_path("sst2", split), fmt, col, "label")
        sentences += [[GLUE_BRACKETS.get(w, w) for w in t.split()] for t in texts]
    return skipgram_vectors(sentences, path, 200, 1, threads)


def pretrain_bilm(path: Path, vectors: Path, pooling: str, epochs: int, threads: int,
                  seed: int = 0) -> dict:
    """biLM pretraining (seqlab.models.encoder_pretraining) of the sst2-bilstm classifier's
    embedding (from ``vectors``) and encoder on Kim's 6,920 train sentences (95% trained on,
    5% held out for the LM's own validation; no dev/test text), saved as a classifier
    checkpoint at ``path`` for ``model.init_from``."""
    from seqlab.data.labelled import read_labelled
    from seqlab.data.sources import dataset_path
    from seqlab.models.classifier import RecurrentClassifier
    from seqlab.models.classifier_task import Examples, TextEncoder, example_batches
    from seqlab.models.encoder_pretraining import BiLMPretraining
    from seqlab.train.checkpoint import save_checkpoint
    from seqlab.train.loop import fit
    from seqlab.train.optim import LRSchedule, build_optimizer

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    cfg = RunConfig.from_dict({"model": {"pooling": pooling, "pretrained": str(vectors)}},
                              base=get_task("classifier").preset("sst2-bilstm"))
    data = get_task("classifier").build_data(cfg)
    clf = RecurrentClassifier.from_config(cfg.model, data.assets)
    texts, _, _ = read_labelled(dataset_path("sst2", "train"), "stsa", "text", "label")
    ids = TextEncoder(data.assets).encode(texts)
    order = np.random.default_rng(seed).permutation(len(ids))
    cut = len(ids) // 20
    part = {"valid": [ids[i] for i in order[:cut]], "train": [ids[i] for i in order[cut:]]}
    batches = {k: example_batches(Examples(v, [0] * len(v)), 32, 2, False, train=k == "train",
                                  seed=seed) for k, v in part.items()}
    lm = BiLMPretraining(clf)
    tcfg = TrainConfig(optimizer="adam", lr=0.002, schedule="constant", epochs=epochs, clip=5.0,
                       loss_reduction="token", log_every=100, progress_bar="off", seed=seed)
    opt = build_optimizer(lm, tcfg)
    cpu, started = time.process_time(), time.perf_counter()
    progress = fit(lm, batches["train"], batches["valid"], tcfg, optimizer=opt,
                   schedule=LRSchedule(opt, tcfg, len(batches["train"])),
                   log=lambda line: print("   ", line, flush=True))
    save_checkpoint(path, model=clf, task="classifier", config=cfg.to_dict(),
                    assets=clf.assets())
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "valid_ppl": [h["valid_ppl"] for h in progress.history]}


def _ece_brier(model, batches) -> tuple[float, float, float]:
    proba = np.concatenate([model.predict_proba(b["tokens"], b["lengths"]).numpy()
                            for b in batches])
    gold = np.concatenate([b["labels"].numpy() for b in batches])
    conf, pred = proba.max(1), proba.argmax(1)
    bins = np.minimum((conf * 15).astype(int), 14)
    ece = sum(abs((pred[bins == k] == gold[bins == k]).mean() - conf[bins == k].mean())
              * (bins == k).sum() for k in range(15) if (bins == k).any()) / len(gold)
    brier = float(((proba - np.eye(proba.shape[1])[gold]) ** 2).sum(1).mean())
    return float((pred == gold).mean()), float(ece), brier


def reused(run: Path) -> dict | None:
    """The result of a finished run in ``run`` (``--reuse``), else None."""
    import json

    path = run / "result.json"
    if not path.exists():
        return None
    r = json.loads(path.read_text())
    return {**r, "cpu": 0.0, "wall": 0.0, "stopped": f"{r['stopped']}, reused"}


def ensemble(runs: list[Path]) -> dict:
    """Accuracy on dev and test of the mean class probability of the runs' best checkpoints."""
    from seqlab.models.text_classifier import TextClassifier

    out = {}
    for split in ("valid", "test"):
        probs, gold = [], None
        for run in runs:
            clf = TextClassifier.load(run / "best.safetensors")
            data = get_task(clf.task_).build_data(clf.config_, clf.model_.assets())
            batches = list(data.batches(split, "eval"))
            probs.append(np.concatenate([clf.model_.predict_proba(b["tokens"], b["lengths"])
                                         .numpy() for b in batches]))
            labels = np.concatenate([b["labels"].numpy() for b in batches])
            if gold is not None and not np.array_equal(gold, labels):
                raise RuntimeError(f"{run}: {split} batches in another order")
            gold = labels
        out[f"{split}_accuracy"] = float((np.mean(probs, 0).argmax(1) == gold).mean())
    return out


def calibration(out: Path) -> list[tuple]:
    """(run, accuracy, ECE, Brier, tau, ECE, Brier) on SST-2 test for every best checkpoint
    under ``out``: as trained, then with a temperature fitted on dev."""
    from seqlab.models.classifier import calibrate_temperature
    from seqlab.models.text_classifier import TextClassifier

    rows = []
    for ckpt in sorted(out.glob("*/best.safetensors")):
        clf = TextClassifier.load(ckpt)
        data = get_task(clf.task_).build_data(clf.config_, clf.model_.assets())
        test = list(data.batches("test", "eval"))
        acc, ece, brier = _ece_brier(clf.model_, test)
        tau = calibrate_temperature(clf.model_, data.batches("valid", "eval"))
        _, ece_t, brier_t = _ece_brier(clf.model_, test)
        rows.append((ckpt.parent.name, acc, ece, brier, tau, ece_t, brier_t))
    return rows


def speed(steps: int, threads: int) -> list[tuple[str, float, float]]:
    from seqlab.train.loop import fit
    from seqlab.train.optim import LRSchedule, build_optimizer

    torch.set_num_threads(threads)
    task = get_task("classifier")
    cfg = RunConfig.from_dict({"train": {"progress_bar": "off",
                                         "log_every": 10 ** 9, "threads": threads}},
                              base=task.preset("sst2-bilstm"))
    data = task.build_data(cfg)
    m = cfg.model
    rows = []
    torch.manual_seed(0)
    ours = task.model_class().from_config(m, data.assets)
    plain = PlainLSTMClassifier(len(data.assets["vocab"]["tokens"]), m.embedding_dim,
                                m.hidden_size, 2, m.dropout)
    batches = data.batches("train")
    batches.set_epoch(1)  # the order fit's first epoch reads
    texts = sum(len(b["lengths"]) for _, b in zip(range(steps), batches, strict=False))

    def train_ours(n: int) -> float:
        opt = build_optimizer(ours, cfg.train)
        train_cfg = RunConfig.from_dict({"train": {"max_steps": n}}, base=cfg).train
        started = time.perf_counter()
        fit(ours, batches, [], train_cfg, optimizer=opt,
            schedule=LRSchedule(opt, train_cfg, len(batches)), log=lambda line: None)
        return time.perf_counter() - started

    def train_plain(n: int) -> float:
        opt = torch.optim.Adam(plain.parameters(), lr=cfg.train.lr)
        plain.train()
        batches.set_epoch(1)
        started = time.perf_counter()
        for _, b in zip(range(n), batches, strict=False):
            loss = nn.functional.cross_entropy(plain(b["tokens"], b["lengths"]), b["labels"])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(plain.parameters(), cfg.train.clip)
            opt.step()
        return time.perf_counter() - started

    train_ours(3), train_plain(3)  # warm-up: first-call allocations, kernels
    t_ours, t_plain = train_ours(steps), train_plain(steps)
    rows.append(("train", texts / t_ours, texts / t_plain))
    # inference on dev + test; the best of 3 alternating rounds
    ours.eval(), plain.eval()
    evals = [b for split in ("valid", "test") for b in data.batches(split, "eval")]
    n = sum(len(b["lengths"]) for b in evals)
    best = {"ours": float("inf"), "plain": float("inf")}
    with torch.no_grad():
        for _ in range(3):
            started = time.perf_counter()
            for b in evals:
                ours.predict_proba(b["tokens"], b["lengths"])
            best["ours"] = min(best["ours"], time.perf_counter() - started)
            started = time.perf_counter()
            for b in evals:
                torch.softmax(plain(b["tokens"], b["lengths"]), -1)
            best["plain"] = min(best["plain"], time.perf_counter() - started)
    rows.append(("inference", n / best["ours"], n / best["plain"]))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="fasttext,recurrent,speed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time-limit", type=float, default=600.0,
                   help="seconds of the recurrent training (0: the preset's epochs)")
    p.add_argument("--speed-steps", type=int, default=60)
    p.add_argument("--seeds", default="0", help="recurrent-w2v(-mirror): the training seeds "
                   "(several: best dev, mean and sd, and their ensemble)")
    p.add_argument("--reuse", action="store_true", help="keep finished runs and vectors found "
                   "in --out instead of training them again")
    p.add_argument("--pooling", default="max", help="recurrent-w2v(-mirror): the BiLSTM's "
                   "model.pooling (the preset's: max)")
    p.add_argument("--ema", type=float, default=0.0, help="recurrent-w2v(-mirror): train.ema, "
                   "the decay of the weight average the model is scored with (0: off)")
    p.add_argument("--distil", default="", help="A,T: also distil one model from the seeds' "
                   "ensemble with distill_weight A and distill_temperature T")
    p.add_argument("--student-seed", type=int, default=0, help="--distil: the student's seed")
    p.add_argument("--bilm-epochs", type=int, default=6, help="recurrent-bilm: epochs of the "
                   "encoder's biLM pretraining")
    p.add_argument("--out", default="runs/bench-classifiers")
    args = p.parse_args()
    os.environ.setdefault("SEQLAB_DATA", str(Path(__file__).resolve().parents[2] / "shared"
                                              / "data"))
    parts = set(args.parts.split(","))
    out = Path(args.out)
    print(f"machine: {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()} | torch "
          f"{torch.__version__} | {args.threads} threads")
    table = []
    if "fasttext" in parts:
        for preset, train_set in (("sst2-fasttext", "glue"),
                                  ("sst2-fasttext-sentences", "sentences")):
            r = run_preset("fasttext", preset, out / preset, args.threads)
            table.append((f"seqlab fasttext ({train_set} train set)", r))
            table.append((f"sklearn TF-IDF 1-2 grams + LogisticRegression ({train_set})",
                          sklearn_tfidf_lr(train_set)))
    if "recurrent" in parts:
        r = run_preset("classifier", "sst2-bilstm", out / "sst2-bilstm", args.threads,
                       time_limit=args.time_limit)
        table.append((f"seqlab BiLSTM max-pool (glue train set; {r['stopped']})", r))
    for part, mirror in (("recurrent-w2v", False), ("recurrent-w2v-mirror", True)):
        if part not in parts:
            continue
        vectors = out / ("mirror-w2v-200.txt" if mirror else "sst2-w2v.txt")
        text = "the mirror text" if mirror else "the train text"
        if args.reuse and vectors.exists():
            w2v = {"wall": 0.0, "cpu": 0.0, "words": 0}
        else:
            w2v = train_word_vectors(vectors, args.threads, mirror=mirror)
            print(f"    word2vec on {text}: {w2v['words']:,} words, {w2v['wall']:.1f} s wall, "
                  f"{w2v['cpu']:.1f} s CPU")
        runs = []
        for seed in (int(x) for x in args.seeds.split(",")):
            pooling = "" if args.pooling == "max" else f"-{args.pooling}"
            pooling += f"-ema{str(args.ema)[2:]}" if args.ema else ""
            name = ("sst2-bilstm-mirror" if mirror else "sst2-bilstm-w2v") + pooling + (
                f"-s{seed}" if mirror or seed != 0 or pooling else "")
            r = reused(out / name) if args.reuse else None
            if r is None:
                r = run_preset("classifier", "sst2-bilstm", out / name, args.threads,
                               time_limit=args.time_limit, pretrained=str(vectors), seed=seed,
                               model={"pooling": args.pooling}, ema=args.ema)
            r["dir"] = out / name
            print(f"    seed {seed}: dev {100 * r['valid_accuracy']:.2f} test "
                  f"{100 * r['test_accuracy']:.2f} ({r['stopped']}, {r['cpu']:.0f} s CPU)")
            runs.append(r)
        cpu = sum(r["cpu"] for r in runs) + w2v["cpu"]
        wall = sum(r["wall"] for r in runs) + w2v["wall"]
        if len(runs) == 1:
            r = dict(runs[0], cpu=cpu, wall=wall)
            table.append((f"seqlab BiLSTM {args.pooling}-pool + seqlab word2vec on {text} "
                          f"(glue; {r['stopped']})", r))
            continue
        best = max(runs, key=lambda r: r["valid_accuracy"])
        table.append((f"seqlab BiLSTM {args.pooling}-pool + seqlab word2vec on {text} (glue; "
                      f"best dev of seeds {args.seeds}; time and CPU of all runs)",
                      dict(best, cpu=cpu, wall=wall)))
        accs = [r["test_accuracy"] for r in runs]
        print(f"    test accuracy over seeds: mean {100 * np.mean(accs):.2f}, sd "
              f"{100 * np.std(accs, ddof=1):.2f}")
        ens = ensemble([r["dir"] for r in runs])
        print(f"    ensemble (mean probability) of the {len(runs)} seeds: dev "
              f"{100 * ens['valid_accuracy']:.2f} test {100 * ens['test_accuracy']:.2f}")
        table.append((f"seqlab ensemble of {len(runs)} such BiLSTMs (seeds {args.seeds}; mean of "
                      f"their probabilities; {text})", dict(ens, cpu=cpu, wall=wall)))
        if args.distil:
            a, temperature = (float(x) for x in args.distil.split(","))
            name = f"{runs[0]['dir'].name.rsplit('-s', 1)[0]}-kd-a{a:g}-T{temperature:g}"
            name += f"-s{args.student_seed}"
            r = reused(out / name) if args.reuse else None
            if r is None:
                teachers = ",".join(str(r["dir"] / "best.safetensors") for r in runs)
                r = run_preset("classifier", "sst2-bilstm", out / name, args.threads,
                               time_limit=args.time_limit, pretrained=str(vectors),
                               seed=args.student_seed, ema=args.ema,
                               model={"pooling": args.pooling, "teachers": teachers,
                                      "distill_weight": a, "distill_temperature": temperature})
            print(f"    distilled from the {len(runs)}: dev {100 * r['valid_accuracy']:.2f} test "
                  f"{100 * r['test_accuracy']:.2f} ({r['stopped']}, {r['cpu']:.0f} s CPU)")
            table.append((f"seqlab BiLSTM {args.pooling}-pool distilled from that ensemble (one "
                          f"model, seed {args.student_seed}, a {a:g}, T {temperature:g})", r))
    if "recurrent-bilm" in parts:
        vectors = out / "sst2-w2v.txt"
        if not vectors.exists():
            train_word_vectors(vectors, args.threads)
        encoder = out / f"bilm-{args.pooling}-e{args.bilm_epochs}.safetensors"
        lm = {"wall": 0.0, "cpu": 0.0}
        if not (args.reuse and encoder.exists()):
            lm = pretrain_bilm(encoder, vectors, args.pooling, args.bilm_epochs, args.threads)
            print(f"    biLM on Kim's train sentences, {args.bilm_epochs} epochs: valid ppl "
                  f"{' '.join(f'{p:.0f}' for p in lm['valid_ppl'])} ({lm['cpu']:.0f} s CPU)")
        for seed in (int(x) for x in args.seeds.split(",")):
            name = f"sst2-bilstm-w2v-bilm{args.bilm_epochs}-{args.pooling}-s{seed}"
            r = reused(out / name) if args.reuse else None
            if r is None:
                r = run_preset("classifier", "sst2-bilstm", out / name, args.threads,
                               time_limit=args.time_limit, pretrained=str(vectors), seed=seed,
                               ema=args.ema, model={"pooling": args.pooling,
                                                    "init_from": str(encoder)})
            print(f"    seed {seed}: dev {100 * r['valid_accuracy']:.2f} test "
                  f"{100 * r['test_accuracy']:.2f} ({r['stopped']}, {r['cpu']:.0f} s CPU)")
            table.append((f"seqlab BiLSTM {args.pooling}-pool, word2vec + biLM-pretrained "
                          f"encoder (seed {seed})", dict(r, cpu=r["cpu"] + lm["cpu"],
                                                          wall=r["wall"] + lm["wall"])))
    if table:
        print("\n| model | test accuracy | wall s | CPU s |\n|---|---|---|---|")
        for name, r in table:
            print(f"| {name} | {100 * r['test_accuracy']:.2f} | {r['wall']:.1f} | "
                  f"{r['cpu']:.1f} |")
        for name, acc in PUBLISHED:
            print(f"| {name} (published) | {acc:.1f} | | |")
    if "calibration" in parts:
        print("\n| run (best checkpoint) | test accuracy | ECE (15 bins) | Brier | tau (dev) "
              "| ECE after | Brier after |")
        print("|---|---|---|---|---|---|---|")
        for name, acc, ece, brier, tau, ece_t, brier_t in calibration(out):
            print(f"| {name} | {100 * acc:.1f} | {ece:.4f} | {brier:.4f} | {tau:.3f} | "
                  f"{ece_t:.4f} | {brier_t:.4f} |")
    if "speed" in parts:
        print("\n| BiLSTM 200/150, batch 64 | seqlab texts/s | plain torch texts/s | ratio |")
        print("|---|---|---|---|")
        for what, ours, plain in speed(args.speed_steps, args.threads):
            print(f"| {what} | {ours:,.0f} | {plain:,.0f} | {ours / plain:.2f} |")


if __name__ == "__main__":
    main()
