"""Classification data (files, sst2), figures against scikit-learn, the estimator API and
the command line, and every bad input the issue names."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqlab.cli.main import main
from seqlab.config import RunConfig
from seqlab.errors import DataError, NotFittedError
from seqlab.models.classification_metrics import (
    confusion_matrix,
    confusion_sums,
    multi_label_metrics,
    multilabel_sums,
    single_label_metrics,
)
from seqlab.models.text_classifier import TextClassifier
from seqlab.tasks import get_task

TEXTS = ["good fun film", "great cast", "bad plot", "awful dull film", "fun and great",
         "dull and bad"] * 6
LABELS = ["pos", "pos", "neg", "neg", "pos", "neg"] * 6


def _cfg(task="classifier", **data):
    return RunConfig.from_dict({"data": data, "train": {"threads": 1}},
                               base=get_task(task).default_config())


def _write(path, rows, header="text\tlabel"):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ----------------------------------------------------------------------------- figures
def test_single_label_figures_equal_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    pred[:200] = gold[:200]
    totals: dict[str, float] = {}
    for lo in range(0, 500, 64):  # summed over batches, as the engine does
        for k, v in confusion_sums(torch.tensor(gold[lo:lo + 64]),
                                   torch.tensor(pred[lo:lo + 64]), 4).items():
            totals[k] = totals.get(k, 0.0) + v
    labels = ["a", "b", "c", "d"]
    fig = single_label_metrics(totals, labels)
    assert (confusion_matrix(totals, 4) == metrics.confusion_matrix(gold, pred)).all()
    assert fig["accuracy"] == pytest.approx(metrics.accuracy_score(gold, pred), abs=1e-12)
    assert fig["macro_f1"] == pytest.approx(metrics.f1_score(gold, pred, average="macro"))
    assert fig["micro_f1"] == pytest.approx(metrics.f1_score(gold, pred, average="micro"))
    p = metrics.precision_score(gold, pred, average=None)
    r = metrics.recall_score(gold, pred, average=None)
    for c, name in enumerate(labels):
        assert fig[f"precision/{name}"] == pytest.approx(p[c])
        assert fig[f"recall/{name}"] == pytest.approx(r[c])


def test_multi_label_figures_equal_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    gold, pred = rng.integers(0, 2, (300, 3)), rng.integers(0, 2, (300, 3))
    sums = multilabel_sums(torch.tensor(gold), torch.tensor(pred))
    fig = multi_label_metrics(sums, ["x", "y", "z"], 300)
    assert fig["accuracy"] == pytest.approx(metrics.accuracy_score(gold, pred))
    assert fig["macro_f1"] == pytest.approx(metrics.f1_score(gold, pred, average="macro"))
    assert fig["micro_f1"] == pytest.approx(metrics.f1_score(gold, pred, average="micro"))


# -------------------------------------------------------------------------------- data
def test_sst2_splits_and_labels(shared_data, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    data = get_task("classifier").build_data(_cfg(dataset="sst2"))
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 6920, "valid": 872,
                                                            "test": 1821}
    assert data.assets["labels"] == ["negative", "positive"]
    assert data.assets["label_counts"] == [3310, 3610]
    assert sum(data.splits["test"].labels) == 909  # positives of the test split
    glue = get_task("classifier").build_data(_cfg(dataset="sst2", train_set="glue"))
    assert len(glue.splits["train"]) == 67349 and glue.assets["label_counts"] == [29780, 37569]
    assert "(" not in glue.assets["vocab"]["tokens"] and "-lrb-" in glue.assets["vocab"]["tokens"]


def test_files_in_every_format(tmp_path):
    rows = [(t, y) for t, y in zip(TEXTS, LABELS, strict=True)]
    tsv = _write(tmp_path / "a.tsv", [f"{t}\t{y}" for t, y in rows])
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("review,stars\n" + "".join(f'"{t}, really",{y}\n' for t, y in rows))
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps({"body": t, "y": y}) + "\n" for t, y in rows))
    task = get_task("classifier")
    for path, cols in ((tsv, {}), (csv_path, {"text_column": "review", "label_column": "stars"}),
                       (jsonl, {"text_column": "body", "label_column": "y"})):
        data = task.build_data(_cfg(data=str(path), **cols))
        assert sum(len(s) for s in data.splits.values()) == len(rows)
        assert data.assets["labels"] == ["neg", "pos"]
        assert len(data.splits["valid"]) == len(data.splits["test"]) == len(rows) // 20
    batch = next(iter(data.batches("train")))
    assert set(batch) == {"tokens", "lengths", "labels"} and batch["tokens"].dtype == torch.long


def test_multi_label_file(tmp_path):
    path = _write(tmp_path / "m.tsv", [f"{t}\t{y},extra" if i % 2 else f"{t}\t{y}"
                                       for i, (t, y) in enumerate(zip(TEXTS, LABELS,
                                                                      strict=True))])
    data = get_task("classifier").build_data(_cfg(data=str(path), multi_label=True))
    assert data.assets["labels"] == ["extra", "neg", "pos"] and data.assets["multi_label"]
    batch = next(iter(data.batches("train")))
    assert batch["labels"].shape[1] == 3


def test_bad_inputs_are_one_line_errors(tmp_path):
    task = get_task("classifier")
    good = [f"{t}\t{y}" for t, y in zip(TEXTS, LABELS, strict=True)]
    path = _write(tmp_path / "a.tsv", good)
    with pytest.raises(DataError, match="no text column 'review'.*columns: \\['text', 'label'\\]"):
        task.build_data(_cfg(data=str(path), text_column="review"))
    one = _write(tmp_path / "one.tsv", [f"{t}\tpos" for t in TEXTS])
    with pytest.raises(DataError, match="one class only"):
        task.build_data(_cfg(data=str(one)))
    empty = _write(tmp_path / "empty.tsv", [*good, "\tpos"])
    with pytest.raises(DataError, match=r"empty.tsv:38 is empty"):
        task.build_data(_cfg(data=str(empty)))
    valid = _write(tmp_path / "valid.tsv", ["good\tpos", "bad\tmeh"])
    with pytest.raises(DataError, match=r"valid.tsv:3: label 'meh' was not in the training"):
        task.build_data(_cfg(data=str(path), valid_data=str(valid)))
    odd = tmp_path / "a.txt"
    odd.write_text(path.read_text())
    with pytest.raises(DataError, match="cannot tell the format"):
        task.build_data(_cfg(data=str(odd)))
    with pytest.raises(DataError, match="labelled file not found"):
        task.build_data(_cfg(data=str(tmp_path / "none.tsv")))
    with pytest.raises(DataError, match="X has 3 texts and y 2 labels"):
        TextClassifier().fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(NotFittedError):
        TextClassifier().predict(["a"])


# ------------------------------------------------------------------------ estimator API
def test_estimator_api_like_scikit_learn(tmp_path):
    base = pytest.importorskip("sklearn.base")
    clf = TextClassifier("fasttext", embedding_dim=8, epochs=20, lr=0.5, seed=0)
    twin = base.clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    assert clf.set_params(epochs=25) is clf and clf.epochs == 25
    with pytest.raises(Exception, match="invalid parameter 'nope'"):
        clf.set_params(nope=1)
    clf.fit(TEXTS, LABELS)
    assert list(clf.classes_) == ["neg", "pos"] and clf.score(TEXTS, LABELS) == 1.0
    proba = clf.predict_proba(["good", "awful dull", "a review " * 100])  # longer than any
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert proba.shape == (3, 2)
    path = clf.save(tmp_path / "ft.safetensors")
    again = TextClassifier.load(path)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    held_out = ["good fun", "dull plot", "great film", "bad cast"]
    clf.calibrate(held_out, ["pos", "neg", "pos", "neg"])
    assert clf.temperature_ > 0 and list(clf.predict(held_out)) == ["pos", "neg", "pos", "neg"]
    calibrated = TextClassifier.load(clf.save(tmp_path / "ft-cal.safetensors"))
    np.testing.assert_allclose(calibrated.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    rnn = TextClassifier(embedding_dim=8, hidden_size=8, epochs=8, lr=0.02, pooling="attention",
                         validation_fraction=0.2, seed=0).fit(TEXTS, LABELS)
    assert rnn.score(TEXTS, LABELS) >= 0.9
    with pytest.raises(DataError, match="is empty"):
        rnn.predict(["good", "   "])


def test_pretrained_keyed_vectors_fill_the_embedding():
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    vec = np.arange(16, dtype=np.float32).reshape(2, 8)
    kv = KeyedVectors(["good", "bad"], vec)
    clf = TextClassifier(embedding_dim=8, hidden_size=4, epochs=1, embeddings=kv,
                         freeze_embeddings=True).fit(TEXTS, LABELS)
    tokens = clf.model_.assets()["vocab"]["tokens"]
    emb = clf.model_.embedding.weight.detach().numpy()
    np.testing.assert_array_equal(emb[tokens.index("bad")], vec[1])
    assert clf.model_.assets()["pretrained_found"] == 2


# ------------------------------------------------------------------------------ the CLI
def test_cli_train_eval_classify(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path / "a.tsv", [f"{t}\t{y}" for t, y in zip(TEXTS * 3, LABELS * 3,
                                                                    strict=True)])
    out = tmp_path / "run"
    assert main(["train", "fasttext", "--data", str(path), "--embedding-dim", "8",
                 "--buckets", "500", "--epochs", "3", "--optimizer", "sgd", "--lr", "0.5",
                 "--sparse", "true", "--clip", "0", "--out-dir", str(out), "--threads", "1",
                 "--progress-bar", "off"]) == 0
    capsys.readouterr()
    ckpt = out / "best.safetensors"
    assert main(["eval", str(ckpt), "--split", "test"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed.splitlines()[0])["accuracy"] >= 0.0
    assert "true \\ pred" in printed and (out / "confusion_test.png").stat().st_size > 1000
    assert main(["classify", str(ckpt), "good fun", "awful dull"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]
    assert all(0.5 <= float(line.split("\t")[1]) <= 1 for line in lines)
    texts = tmp_path / "in.txt"
    texts.write_text("good fun\n\nawful dull\n")
    assert main(["classify", str(ckpt), "--file", str(texts), "--json", "--all"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2 and set(records[0]["probabilities"]) == {"neg", "pos"}
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(texts.read_text()))
    assert main(["classify", str(ckpt), "--dry-run"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["classify", str(tmp_path / "none.safetensors"), "x"]) == 1
    assert "error" in capsys.readouterr().err


def test_batches_shard_over_processes():
    import numpy as np

    from seqlab.models.classifier_task import Examples, example_batches

    ex = Examples([np.arange(1, 2 + i % 7) for i in range(101)], [i % 2 for i in range(101)])
    for train in (True, False):
        seen = []
        for rank in range(2):
            b = example_batches(ex, 8, 2, False, train=train, seed=0, rank=rank, world=2)
            b.set_epoch(1)
            batches = list(b)
            assert len(batches) == len(b)
            seen += [int(n) for batch in batches for n in batch["lengths"]]
        total = sum(len(x) for x in ex.ids)
        # eval: each text exactly once; train: DistributedSampler pads to equal shards
        assert sum(seen) == total if not train else len(seen) == 102
    single = example_batches(ex, 8, 2, False, train=True, seed=0)
    single.set_epoch(1)
    assert len(list(single)) == len(single) == 13
