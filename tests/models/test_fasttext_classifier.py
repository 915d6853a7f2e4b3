"""The fastText-style classifier trained by the engine equals a plain PyTorch EmbeddingBag +
Linear, written here from the paper's recipe, on the same initial weights after one epoch."""

from __future__ import annotations

import random

import pytest
import torch

from seqlab.config import RunConfig, TrainConfig
from seqlab.embeddings.fasttext import ngram_hash
from seqlab.models.classifier_task import (
    Examples,
    TextEncoder,
    build_assets,
    example_batches,
    label_ids,
)
from seqlab.models.fasttext_classifier import FastTextClassifier, FastTextConfig
from seqlab.train.loop import fit
from seqlab.train.optim import LRSchedule, build_optimizer

WORDS = "good bad great awful fun dull plot cast film not very".split()
S = 97  # buckets


def _corpus(n=120, seed=0):
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 9))]
        texts.append(" ".join(words))
        labels.append(rng.choice(["neg", "pos", "mid"]))
    return texts, labels


def _reference_rows(words: list[str], vocab: dict[str, int], V: int) -> list[int]:
    """Word rows, then one bucket row per bigram: ((g(a) mod S) * 116049371 + g(b)) mod S."""
    rows = [vocab.get(w, 1) for w in words]
    tokens = [w if w in vocab else "<unk>" for w in words]
    for a, b in zip(tokens, tokens[1:], strict=False):
        rows.append(V + ((ngram_hash(a) % S) * 116049371 + ngram_hash(b)) % S)
    return rows


@pytest.mark.parametrize("sparse", [False, True])
def test_one_epoch_equals_plain_embeddingbag_and_linear(sparse):
    texts, labels = _corpus()
    assets = build_assets(texts, labels, tokenizer="whitespace")
    encoder = TextEncoder(assets)
    examples = Examples(encoder.encode(texts), label_ids(labels, assets["labels"], False, ",",
                                                         [""] * len(texts)))
    torch.manual_seed(0)
    model = FastTextClassifier.from_config(
        FastTextConfig(embedding_dim=5, ngrams=2, buckets=S, sparse=sparse), assets).double()
    # the reference: torch.nn modules with the same initial weights
    bag = torch.nn.EmbeddingBag(model.bag.num_embeddings, 5, mode="mean").double()
    linear = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        bag.weight.copy_(model.bag.weight)
        linear.weight.copy_(model.linear.weight)
        linear.bias.copy_(model.linear.bias)
    initial = bag.weight.detach().clone()
    cfg = TrainConfig(optimizer="sgd", lr=0.3, schedule="constant", epochs=1, clip=0.0,
                      loss_reduction="sequence", progress_bar="off", log_every=1000)
    batches = example_batches(examples, 8, 3, False, train=True, seed=3)
    optimizer = build_optimizer(model, cfg)
    fit(model, batches, [], cfg, optimizer=optimizer,
        schedule=LRSchedule(optimizer, cfg, len(batches)), log=lambda line: None)

    vocab = {t: i for i, t in enumerate(assets["vocab"]["tokens"])}
    V = len(vocab)
    ref_opt = torch.optim.SGD([*bag.parameters(), *linear.parameters()], lr=0.3)
    batches.set_epoch(1)
    steps = 0
    for batch in batches:  # the same texts in the same order
        flat, offsets = [], []
        for row, n in zip(batch["tokens"], batch["lengths"], strict=True):
            words = [assets["vocab"]["tokens"][i] for i in row[:n].tolist()]
            offsets.append(len(flat))
            flat += _reference_rows(words, vocab, V)
        scores = linear(bag(torch.tensor(flat), torch.tensor(offsets)))
        loss = torch.nn.functional.cross_entropy(scores, batch["labels"])
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        steps += 1
    assert steps == len(batches) == 15
    torch.testing.assert_close(model.bag.weight, bag.weight, rtol=0, atol=1e-12)
    torch.testing.assert_close(model.linear.weight, linear.weight, rtol=0, atol=1e-12)
    torch.testing.assert_close(model.linear.bias, linear.bias, rtol=0, atol=1e-12)
    changed = (bag.weight[V:] != initial[V:]).any(dim=1).sum()
    assert changed > 20  # the bigram buckets were trained too


def test_padding_and_unigram_only():
    texts, labels = _corpus(30)
    assets = build_assets(texts, labels, tokenizer="whitespace")
    torch.manual_seed(1)
    model = FastTextClassifier.from_config(FastTextConfig(embedding_dim=4, ngrams=3,
                                                          buckets=S), assets).double()
    seqs = [[4, 5, 6, 7], [8], [9, 10]]
    tokens = torch.zeros(3, 6, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
    lengths = torch.tensor([4, 1, 2])
    batch = model.predict_proba(tokens, lengths)
    for i, s in enumerate(seqs):
        alone = model.predict_proba(torch.tensor([s]), torch.tensor([len(s)]))
        torch.testing.assert_close(batch[i:i + 1], alone, rtol=0, atol=1e-12)
    words_only = FastTextClassifier.from_config(FastTextConfig(embedding_dim=4, ngrams=1),
                                                assets)
    assert words_only.bag.num_embeddings == len(assets["vocab"]["tokens"])
    ids = words_only.bag_ids(tokens, lengths)
    assert torch.equal(ids, tokens)


def test_sst2_fasttext_preset_dry_run_config():
    from seqlab.tasks import get_task

    cfg = get_task("fasttext").preset("sst2-fasttext")
    assert isinstance(cfg, RunConfig) and cfg.model.sparse and cfg.train.optimizer == "sgd"
