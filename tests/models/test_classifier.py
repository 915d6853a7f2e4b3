"""The recurrent classifier: pooling over real steps only, attention weights, last-step states
against torch.nn, class weights against torch's weighted cross-entropy, a synthetic task."""

from __future__ import annotations

import random

import pytest
import torch

from seqlab.errors import ConfigError, DataError
from seqlab.models.classifier import POOLINGS, ClassifierConfig, RecurrentClassifier

ASSETS = {"vocab_size": 30, "labels": ["a", "b", "c"]}


def _model(pooling, bidirectional, cell="lstm", layers=1, **kw):
    torch.manual_seed(0)
    cfg = ClassifierConfig(cell=cell, embedding_dim=6, hidden_size=5, num_layers=layers,
                           bidirectional=bidirectional, pooling=pooling, dropout=0.0,
                           mlp_layers=1, mlp_hidden=7, **kw)
    return RecurrentClassifier.from_config(cfg, ASSETS).double().eval()


SEQS = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17]]


def _padded(seqs):
    T = max(map(len, seqs))
    tokens = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
    return tokens, torch.tensor([len(s) for s in seqs])


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padding_never_changes_a_prediction(pooling, bidirectional, cell):
    model = _model(pooling, bidirectional, cell=cell, layers=2)
    tokens, lengths = _padded(SEQS)
    batch = model.predict_proba(tokens, lengths)
    for i, s in enumerate(SEQS):
        alone = model.predict_proba(torch.tensor([s]), torch.tensor([len(s)]))
        torch.testing.assert_close(batch[i:i + 1], alone, rtol=0, atol=1e-12)
        # more padding than the batch needs changes nothing either
        extra = torch.zeros(1, len(s) + 5, dtype=torch.long)
        extra[0, :len(s)] = torch.tensor(s)
        torch.testing.assert_close(model.predict_proba(extra, torch.tensor([len(s)])), alone,
                                   rtol=0, atol=1e-12)
    torch.testing.assert_close(batch.sum(-1), torch.ones(3, dtype=torch.double))


def test_attention_weights_sum_to_one_over_real_tokens():
    model = _model("attention", True)
    tokens, lengths = _padded(SEQS)
    _, weights = model(tokens, lengths)
    assert weights.shape == tokens.shape
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, dtype=torch.double))
    for i, n in enumerate(lengths.tolist()):
        assert (weights[i, n:] == 0).all() and (weights[i, :n] > 0).all()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_pooling_is_torch_lstms_final_states(bidirectional):
    model = _model("last", bidirectional)
    ref = model.rnn.to_torch().double()
    tokens, lengths = _padded(SEQS)
    h = model.rnn(model.embedding(tokens), lengths=lengths)[0]
    pooled, _ = model.pool(h, lengths)
    for i, s in enumerate(SEQS):
        _, (h_n, _) = ref(model.embedding(torch.tensor([s])))  # torch.nn, the text alone
        expect = torch.cat(list(h_n[:, 0]), dim=-1)  # [forward final ; backward at step 0]
        torch.testing.assert_close(pooled[i], expect, rtol=0, atol=1e-12)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_mean_and_max_read_real_steps_only(pooling):
    model = _model(pooling, True)
    tokens, lengths = _padded(SEQS)
    h = model.rnn(model.embedding(tokens), lengths=lengths)[0]
    pooled, _ = model.pool(h, lengths)
    for i, n in enumerate(lengths.tolist()):
        real = h[i, :n]
        expect = real.mean(0) if pooling == "mean" else real.max(0).values
        torch.testing.assert_close(pooled[i], expect, rtol=0, atol=1e-12)


def test_class_weights_equal_torch_weighted_cross_entropy():
    assets = {**ASSETS, "label_counts": [10, 30, 60]}
    torch.manual_seed(0)
    model = RecurrentClassifier.from_config(
        ClassifierConfig(embedding_dim=4, hidden_size=4, class_weights="balanced",
                         dropout=0.0), assets).double().eval()
    tokens, lengths = _padded(SEQS)
    labels = torch.tensor([0, 2, 1])
    out = model.loss({"tokens": tokens, "lengths": lengths, "labels": labels})
    w = torch.tensor([100 / (3 * 10), 100 / (3 * 30), 100 / (3 * 60)], dtype=torch.double)
    scores, _ = model(tokens, lengths)
    expect = torch.nn.functional.cross_entropy(scores, labels, weight=w, reduction="sum")
    torch.testing.assert_close(out.loss, expect)
    manual = RecurrentClassifier.from_config(
        ClassifierConfig(embedding_dim=4, hidden_size=4, class_weights="a:2,c:0.5"), assets)
    assert manual.class_weight.tolist() == [2.0, 1.0, 0.5]
    with pytest.raises(ConfigError, match="'z:2'"):
        RecurrentClassifier.from_config(ClassifierConfig(class_weights="z:2"), assets)


def test_multi_label_loss_is_torch_bce_and_figures_from_sums():
    assets = {**ASSETS, "multi_label": True}
    torch.manual_seed(0)
    model = RecurrentClassifier.from_config(ClassifierConfig(embedding_dim=4, hidden_size=4),
                                            assets).double().eval()
    tokens, lengths = _padded(SEQS)
    y = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 1, 0]], dtype=torch.double)
    out = model.loss({"tokens": tokens, "lengths": lengths, "labels": y})
    scores, _ = model(tokens, lengths)
    expect = torch.nn.functional.binary_cross_entropy_with_logits(scores, y, reduction="sum")
    torch.testing.assert_close(out.loss, expect)
    assert out.count == 3 and set(out.sums) >= {"exact", "tp/0", "fp/2", "fn/1"}


def test_bad_token_ids_and_lengths_are_named():
    model = _model("max", False)
    with pytest.raises(DataError, match=r"token ids must be in \[0, 30\)"):
        model(torch.tensor([[31]]), torch.tensor([1]))
    with pytest.raises(DataError, match="empty text"):
        model(torch.tensor([[5, 0]]), torch.tensor([0]))


def _contains_3_then_7(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(4, 12)
    seq = [rng.choice([1, 2, 4, 5, 6, 8, 9]) for _ in range(n)]
    kind = rng.random()
    if kind < 0.5:  # positive: 3 somewhere, 7 later
        i = rng.randrange(n - 1)
        j = rng.randrange(i + 1, n)
        seq[i], seq[j] = 3, 7
    elif kind < 0.75:  # hard negative: 7 before 3
        i = rng.randrange(n - 1)
        j = rng.randrange(i + 1, n)
        seq[i], seq[j] = 7, 3
    elif kind < 0.875:
        seq[rng.randrange(n)] = 3
    label = "yes" if any(a == 3 and 7 in seq[k + 1:] for k, a in enumerate(seq)) else "no"
    return " ".join(f"t{x}" for x in seq), label


def test_learns_contains_7_after_3():
    from seqlab.models.text_classifier import TextClassifier

    rng = random.Random(0)
    train = [_contains_3_then_7(rng) for _ in range(3000)]
    test = [_contains_3_then_7(rng) for _ in range(1000)]
    clf = TextClassifier(cell="gru", embedding_dim=16, hidden_size=32, bidirectional=False,
                         pooling="last", dropout=0.0, epochs=6, batch_size=32, lr=0.01,
                         tokenizer="whitespace", threads=1, seed=0)
    clf.fit([t for t, _ in train], [y for _, y in train])
    accuracy = clf.score([t for t, _ in test], [y for _, y in test])
    assert accuracy >= 0.98, accuracy


def test_temperature_is_the_nll_minimum_and_keeps_predictions():
    from seqlab.models.classifier import fit_temperature

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (400,), generator=g)
    scores = torch.randn(400, 3, generator=g, dtype=torch.double)
    scores[torch.arange(400), labels] += 1.0
    scores *= 4.0  # over-confident
    tau = fit_temperature(scores, labels)
    grid = torch.exp(torch.linspace(-3, 3, 6001, dtype=torch.double))
    nll = torch.stack([torch.nn.functional.cross_entropy(scores / t, labels, reduction="sum")
                       for t in grid])
    assert tau == pytest.approx(float(grid[nll.argmin()]), rel=2e-3) and tau > 1.5
    model = _model("max", True)
    tokens, lengths = _padded(SEQS)
    before = model.predict_proba(tokens, lengths)
    model.temperature.fill_(tau)
    after = model.predict_proba(tokens, lengths)
    assert torch.equal(before.argmax(-1), after.argmax(-1)) and not torch.equal(before, after)
    again = RecurrentClassifier.from_config(model.config, {**ASSETS, "temperature": tau})
    assert float(again.temperature) == pytest.approx(tau)  # kept in the assets
