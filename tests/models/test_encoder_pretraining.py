"""biLM pretraining of the classifier encoder against a per-sentence brute force, and
model.init_from."""

from __future__ import annotations

import pytest
import torch

from seqlab.config import RunConfig
from seqlab.errors import ConfigError
from seqlab.models.classifier import ClassifierConfig, RecurrentClassifier
from seqlab.models.encoder_pretraining import BiLMPretraining
from seqlab.tasks import get_task
from seqlab.train.checkpoint import save_checkpoint

VOCAB = {"tokens": ["<pad>", "<unk>", *"abcdefghij"]}
ASSETS = {"vocab": VOCAB, "labels": ["neg", "pos"]}
SHAPE = dict(embedding_dim=6, hidden_size=5, dropout=0.0, cell="lstm")


def _clf(seed=0, assets=ASSETS, **kw):
    torch.manual_seed(seed)
    return RecurrentClassifier.from_config(ClassifierConfig(**SHAPE, **kw), assets)


def test_loss_equals_a_per_sentence_brute_force():
    clf = _clf().double()
    lm = BiLMPretraining(clf).double().eval()
    seqs = [[2, 3, 4, 5, 6], [7, 8], [9], [10, 11, 2]]
    T = max(map(len, seqs))
    tokens = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
    out = lm.loss({"tokens": tokens, "lengths": torch.tensor([len(s) for s in seqs])})
    total, count = 0.0, 0
    with torch.no_grad():
        for s in seqs:  # each sentence alone, unpadded, every prediction written out
            h, _ = clf.rnn(clf.embedding(torch.tensor([s])), lengths=torch.tensor([len(s)]))
            h = h[0]
            for t in range(len(s) - 1):
                logp = torch.log_softmax(lm.forward_out(h[t, :5]), -1)
                total -= logp[s[t + 1]].item()
                logp = torch.log_softmax(lm.backward_out(h[t + 1, 5:]), -1)
                total -= logp[s[t]].item()
                count += 2
    assert out.count == count == 2 * (4 + 1 + 0 + 2)
    assert out.loss.item() == pytest.approx(total, rel=1e-10)
    out.loss.backward()  # gradients reach the embedding and both directions
    assert clf.embedding.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in clf.rnn.parameters())


def _save(tmp_path, clf, name="enc"):
    run = RunConfig.from_dict({"model": SHAPE}, base=get_task("classifier").default_config())
    return save_checkpoint(tmp_path / f"{name}.safetensors", model=clf, task="classifier",
                           config=run.to_dict(), assets=clf.assets())


def test_init_from_copies_embedding_and_encoder_only(tmp_path):
    source = _clf(seed=1)
    path = _save(tmp_path, source)
    fresh = _clf(seed=2)
    started = _clf(seed=2, init_from=str(path))
    for name, value in started.state_dict().items():
        if name.startswith(("embedding.", "rnn.")):
            assert torch.equal(value, source.state_dict()[name]), name
        else:  # the head keeps its own initialisation
            assert torch.equal(value, fresh.state_dict()[name]), name
    assert started.assets()["initialised_from"] == str(path)
    # a checkpoint of the started model rebuilds without reading init_from again
    rebuilt = RecurrentClassifier.from_config(started.config, started.assets())
    assert not torch.equal(rebuilt.embedding.weight, started.embedding.weight)


def test_bad_init_from_and_a_unidirectional_encoder_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no checkpoint at"):
        _clf(init_from=str(tmp_path / "nope.safetensors"))
    other = _clf(assets={"vocab": {"tokens": ["<pad>", "<unk>", "x", "y"]},
                         "labels": ["neg", "pos"]})
    with pytest.raises(ConfigError, match="another vocabulary"):
        _clf(init_from=str(_save(tmp_path, other, "other")))
    wide = RecurrentClassifier.from_config(ClassifierConfig(**{**SHAPE, "hidden_size": 7}),
                                           ASSETS)
    with pytest.raises(ConfigError, match="other shapes"):
        _clf(init_from=str(_save(tmp_path, wide, "wide")))
    with pytest.raises(ConfigError, match="bidirectional"):
        BiLMPretraining(_clf(bidirectional=False))
