"""The tagger: learns a synthetic task, padding-invariant, exact span sums, data errors, CLI."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from seqlab.config import RunConfig
from seqlab.errors import ConfigError, DataError, SeqlabError
from seqlab.models.tagger import Tagger, TaggerConfig, tag_sums
from seqlab.models.tagger_task import Encoder, build_data
from seqlab.tasks import get_task
from seqlab.text.tags import span_prf

LETTERS = list("abcdefgh")


def synthetic(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Tags that need context from both sides: the word after 'x' and its successor are an E
    entity (B-E I-E, the successor only if it is a letter), a letter before 'y' (not already
    in an entity) is an F entity (B-F); everything else O."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(LETTERS + ["x", "y"]) for _ in range(rng.randint(3, 9))]
        tags = ["O"] * len(words)
        for i in range(1, len(words)):
            if words[i - 1] == "x" and words[i] not in "xy":
                tags[i] = "B-E"
                if i + 1 < len(words) and words[i + 1] not in "xy":
                    tags[i + 1] = "I-E"
        for i in range(len(words) - 1):
            if words[i + 1] == "y" and words[i] not in "xy" and tags[i] == "O":
                tags[i] = "B-F"
        out.append((words, tags))
    return out


def write_tagged(path, sentences) -> None:
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(ws, ts)) + "\n"
                            for ws, ts in sentences))


def config(tmp_path, path, **model) -> RunConfig:
    tables = {"model": {"hidden_size": 24, "embedding_dim": 16, **model},
              "data": {"data": str(path), "scheme": "BIO", "source_scheme": "BIO",
                       "batch_size": 8, "eval_batch_size": 16},
              "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                        "lr": 0.01, "epochs": 1, "seed": 0}}
    return RunConfig.from_dict(tables, base=get_task("tagger").default_config())


@pytest.mark.parametrize("head,char", [("crf", "none"), ("softmax", "cnn"), ("crf", "lstm")])
def test_learns_a_synthetic_task_to_full_accuracy(tmp_path, head, char):
    path = tmp_path / "syn.txt"
    write_tagged(path, synthetic(300))
    cfg = config(tmp_path, path, head=head, char=char, char_dim=8, char_hidden=8,
                 dropout=0.0, word_dropout=0.0)
    data = build_data(cfg)
    torch.manual_seed(0)
    model = Tagger.from_config(cfg.model, data.assets)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for epoch in range(10):
        batches = data.batches("train")
        batches.set_epoch(epoch)
        model.train()
        for batch in batches:
            opt.zero_grad()
            out = model.loss(batch)
            (out.loss / out.sequences).backward()
            opt.step()
    model.eval()
    test = synthetic(200, seed=1)
    pred = model.tag([w for w, _ in test])
    gold = [t for _, t in test]
    assert span_prf(gold, pred).accuracy == 1.0


def test_padding_never_changes_a_prediction():
    assets = {"words": ["<pad>", "<unk>", *LETTERS], "chars": ["<pad>", "<unk>", *LETTERS],
              "tags": ["B-E", "I-E", "O"], "scheme": "BIO"}
    for char in ("lstm", "cnn"):
        torch.manual_seed(0)
        model = Tagger.from_config(TaggerConfig(hidden_size=8, embedding_dim=8, char=char,
                                                char_dim=4, char_hidden=4), assets).eval()
        enc = Encoder(assets)
        short, long = ["ab", "c"], ["abcdefgh", "hgf", "e", "dd", "a"]
        alone = model.emissions(enc.batch([short]))[0][0]
        padded = model.emissions(enc.batch([long, short]))[0][1, :2]
        torch.testing.assert_close(padded, alone, rtol=1e-5, atol=1e-6)
        assert model.tag([long, short])[1] == model.tag([short])[0]


def test_span_sums_over_batches_equal_span_prf_of_the_whole_split(tmp_path):
    path = tmp_path / "syn.txt"
    write_tagged(path, synthetic(90))
    cfg = config(tmp_path, path)
    data = build_data(cfg)
    torch.manual_seed(0)
    model = Tagger.from_config(cfg.model, data.assets).eval()  # untrained: many wrong spans
    totals: dict[str, float] = {"loss": 0.0, "count": 0}
    for batch in data.batches("train", "eval"):
        out = model.evaluate_batch(batch)
        totals["loss"] += out.loss.item()
        totals["count"] += out.count
        for k, v in out.sums.items():
            totals[k] = totals.get(k, 0.0) + v
    figures = model.metrics(totals)
    sents = data.splits["train"]
    ref = span_prf([s.tags for s in sents], model.tag([s.words for s in sents]))
    assert figures["f1"] == pytest.approx(ref.f1, abs=1e-12)
    assert figures["precision"] == pytest.approx(ref.precision, abs=1e-12)
    assert figures["accuracy"] == pytest.approx(ref.accuracy, abs=1e-12)
    assert figures["f1_E"] == pytest.approx(ref.per_type["E"].f1 if "E" in ref.per_type else 0.0)


def test_tag_sums_keep_every_type_and_reject_unknown_ones():
    sums = tag_sums([["B-PER", "O"]], [["O", "O"]], "BIO", ["LOC", "PER"])
    assert sums["gold:LOC"] == 0.0 and sums["gold:PER"] == 1.0 and sums["correct"] == 0.0
    with pytest.raises(ConfigError, match="MISC"):
        tag_sums([["O"]], [["B-MISC"]], "BIO", ["PER"])


def test_bad_data_is_named(tmp_path):
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    write_tagged(train, synthetic(30))
    write_tagged(valid, [(["a", "b"], ["O", "B-NEW"])])
    cfg = config(tmp_path, train)
    cfg.data.valid_data = str(valid)
    with pytest.raises(DataError, match="B-NEW.*not one of"):
        build_data(cfg)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a O\nb O extra\n\n")
    with pytest.raises(DataError, match="line 2"):
        build_data(config(tmp_path, ragged))
    one_tag = tmp_path / "one.txt"
    one_tag.write_text("a O\nb O\n\n")
    with pytest.raises(DataError, match="at least two"):
        build_data(config(tmp_path, one_tag))
    enc = Encoder({"words": ["<pad>", "<unk>"], "tags": ["O", "B-X"]})
    with pytest.raises(DataError, match="empty"):
        enc.batch([["a"], []])


def test_longer_sentences_and_words_than_training_work():
    assets = {"words": ["<pad>", "<unk>", "a"], "chars": ["<pad>", "<unk>", "a"],
              "tags": ["A", "B"], "scheme": None}
    model = Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=4, char="lstm",
                                            char_dim=2, char_hidden=2), assets).eval()
    out = model.tag([["a"] * 500, ["z" * 200]])
    assert [len(t) for t in out] == [500, 1]


def test_pretrained_vectors_fill_known_rows_and_a_size_mismatch_is_named(tmp_path):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    assets = {"words": ["<pad>", "<unk>", "a", "b"], "tags": ["A", "B"], "scheme": None}
    kv = KeyedVectors(["b", "zz"], np.full((2, 4), 0.5, dtype=np.float32))
    model = Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=4), assets, vectors=kv)
    assert model.assets()["pretrained_found"] == 1
    assert model.embedding.weight[3].tolist() == [0.5] * 4
    path = tmp_path / "v.txt"
    path.write_text("2 3\nb 1 2 3\nzz 1 1 1\n")
    with pytest.raises(ConfigError, match="3 dimensions.*embedding_dim is 4"):
        Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=4, pretrained=str(path)),
                           assets)


def test_pretrained_vocab_adds_the_vectors_words_normalised_and_a_checkpoint_keeps_them(
        tmp_path):
    path = tmp_path / "syn.txt"
    write_tagged(path, synthetic(40))
    vec = tmp_path / "v.txt"  # "Zebra" and "zebra" normalise alike: the first row wins
    vec.write_text("4 16\n" + "".join(f"{w} " + " ".join([str(k)] * 16) + "\n"
                                      for k, w in enumerate(["Zebra", "zebra", "a", "Q1"])))
    cfg = config(tmp_path, path, pretrained=str(vec))
    cfg.data.lowercase = True
    data = build_data(cfg)
    words = data.assets["words"]
    assert {"zebra", "q0", "a"} <= set(words) and "Zebra" not in words
    assert len(words) == len(set(words))
    model = Tagger.from_config(cfg.model, data.assets)
    assert model.assets()["pretrained_found"] == 3
    assert model.embedding.weight[words.index("zebra")].tolist() == [0.0] * 16
    assert model.embedding.weight[words.index("q0")].tolist() == [3.0] * 16
    ids = Encoder(data.assets).word_ids(["ZEBRA", "Q7", "never-seen"])
    assert ids == [words.index("zebra"), words.index("q0"), 1]
    cfg.model.pretrained_vocab = False
    plain = build_data(cfg).assets["words"]
    assert "zebra" not in plain and set(plain) < set(words)
    # a trained checkpoint restores the extended vocabulary without the vectors file
    from seqlab.tasks.runner import train

    cfg.model.pretrained_vocab = True
    train(cfg)
    vec.unlink()
    loaded = __import__("seqlab").load(tmp_path / "run" / "best.safetensors")
    assert loaded.assets()["words"] == words
    assert loaded.tag([["ZEBRA", "a"]]) == loaded.tag([["zebra", "a"]])


def test_cli_tag_trains_then_tags_and_refuses_other_tasks(tmp_path, capsys):
    from seqlab.cli.main import main
    from seqlab.tasks.runner import train

    path = tmp_path / "syn.txt"
    write_tagged(path, synthetic(60))
    cfg = config(tmp_path, path, char="cnn", char_dim=4, char_hidden=4)
    train(cfg, log=lambda s: None)
    ckpt = tmp_path / "run" / "best.safetensors"
    text = tmp_path / "in.txt"
    text.write_text("x a b c\n\nx y\n")
    assert main(["tag", str(ckpt), "--file", str(text)]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    rows = [line.split("\t") for line in blocks[0].splitlines()]
    assert [r[0] for r in rows] == ["x", "a", "b", "c"]
    assert all(r[1] in ("O", "B-E", "I-E", "B-F") for r in rows)
    assert out.count("\n") == 4 + 1 + 1 + 2 + 1  # sentence 1, empty sentence, sentence 3
    assert main(["tag", str(ckpt), "--file", str(text), "--output-format", "inline"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("x/")
    assert main(["tag", str(ckpt), "--file", str(tmp_path / "missing.txt")]) == 1
    assert "not found" in capsys.readouterr().err
    lm_run = tmp_path / "lm"
    from tests.models.contract import lm_tiny

    lm_cfg = RunConfig.from_dict(lm_tiny(tmp_path), base=get_task("lm").default_config())
    lm_cfg.train.out_dir = str(lm_run)
    train(lm_cfg, log=lambda s: None)
    assert main(["tag", str(lm_run / "best.safetensors"), "--file", str(text)]) == 1
    err = capsys.readouterr().err
    assert "lm" in err and "tagger" in err


def test_eval_reports_f1_on_test(tmp_path, capsys):
    from seqlab.cli.main import main
    from seqlab.tasks.runner import train

    train_path, test_path = tmp_path / "train.txt", tmp_path / "test.txt"
    write_tagged(train_path, synthetic(60))
    write_tagged(test_path, synthetic(20, seed=3))
    cfg = config(tmp_path, train_path)
    cfg.data.test_data = str(test_path)
    train(cfg, log=lambda s: None)
    assert main(["eval", str(tmp_path / "run" / "best.safetensors"), "--split", "test"]) == 0
    assert "f1" in capsys.readouterr().out
    with pytest.raises(SeqlabError):
        Tagger.from_config(TaggerConfig(), {"words": [], "tags": []})


def test_per_type_f1_is_maximised_when_selected():
    from seqlab.train.metrics import metric_direction

    assert metric_direction("f1_PER") == "max" and metric_direction("f1") == "max"
    assert metric_direction("loss") == "min"


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_an_all_padding_row_changes_nothing(head):
    assets = {"words": ["<pad>", "<unk>", *LETTERS], "chars": ["<pad>", "<unk>", *LETTERS],
              "tags": ["B-E", "I-E", "O"], "scheme": "BIO"}
    torch.manual_seed(0)
    model = Tagger.from_config(TaggerConfig(hidden_size=8, embedding_dim=8, head=head,
                                            char="cnn", char_dim=4, char_hidden=4), assets).eval()
    batch = Encoder(assets).batch([["ab", "c", "d"], ["e"]], [[0, 1, 2], [2]])
    padded = {k: torch.cat([v[:1], torch.zeros_like(v[:1]), v[1:]]) for k, v in batch.items()}
    assert model.predict(padded) == [model.predict(batch)[0], [], model.predict(batch)[1]]
    torch.testing.assert_close(model.loss(padded).loss, model.loss(batch).loss)
    assert model.loss(padded).count == 4
    empty = {k: torch.zeros_like(v[:1]) for k, v in batch.items()}
    assert model.predict(empty) == [[]] and model.loss(empty).loss.item() == 0.0
