import math

import pytest
import torch

from seqlab.train.losses import token_nll
from seqlab.train.metrics import NLLMeter, bits_per_token, perplexity, perplexity_of_probs


def test_seed_000_the_cat_sits():
    # seed 000: P(the)=1, P(cat|the)=0.8, P(sits|the cat)=0.6 -> PP = exp(-(ln 1 + ln .8 + ln .6)/3)
    expected = (1 / (1.0 * 0.8 * 0.6)) ** (1 / 3)
    assert perplexity_of_probs([1.0, 0.8, 0.6]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.2772, abs=1e-4)


def test_seed_000_through_token_nll():
    # the same example through the training loss: logits whose softmax gives those probabilities
    probs = torch.tensor([[1.0 - 2e-12, 1e-12, 1e-12], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]],
                         dtype=torch.float64)
    targets = torch.tensor([0, 1, 2])
    nll, count = token_nll(probs.log(), targets)
    assert count == 3
    assert perplexity(float(nll), count) == pytest.approx(1.2772, abs=1e-4)


def test_token_weighted_not_mean_of_batch_means():
    torch.manual_seed(0)
    # two batches of unequal size: 30 tokens and 5 tokens
    batches = [(torch.randn(30, 7), torch.randint(7, (30,))),
               (torch.randn(5, 7) * 4, torch.randint(7, (5,)))]
    meter, means = NLLMeter(), []
    for logits, y in batches:
        nll, count = token_nll(logits, y)
        meter.add(float(nll), count)
        means.append(float(nll) / count)
    all_logits = torch.cat([b[0] for b in batches])
    all_y = torch.cat([b[1] for b in batches])
    oracle = torch.nn.functional.cross_entropy(all_logits, all_y)  # mean over all 35 tokens
    assert meter.ppl == pytest.approx(math.exp(float(oracle)), rel=1e-6)
    assert meter.ppl != pytest.approx(math.exp(sum(means) / len(means)), rel=1e-3)
    assert meter.bpc == pytest.approx(float(oracle) / math.log(2), rel=1e-6)


def test_ignore_index_counts_only_real_targets():
    logits = torch.randn(2, 3, 5)
    y = torch.tensor([[1, 2, 0], [3, 0, 0]])
    nll, count = token_nll(logits, y, ignore_index=0)
    assert count == 3
    keep = y.reshape(-1) != 0
    oracle = torch.nn.functional.cross_entropy(logits.reshape(-1, 5)[keep], y.reshape(-1)[keep],
                                               reduction="sum")
    assert float(nll) == pytest.approx(float(oracle), rel=1e-6)


def test_bits_per_token_and_errors():
    assert bits_per_token(math.log(2) * 10, 10) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="count"):
        perplexity(1.0, 0)
    assert perplexity(1e6, 1) == math.inf
