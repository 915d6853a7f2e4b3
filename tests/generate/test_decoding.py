import itertools
import math

import numpy as np
import pytest
import torch

from seqlab.errors import ConfigError, DataError
from seqlab.generate.decoding import (
    beam_search,
    encode_prompt,
    filter_logits,
    greedy,
    sample,
    score,
)
from seqlab.models.language_model import LanguageModel

V = 7


@pytest.fixture
def model():
    torch.manual_seed(0)
    # large init so the distributions are peaked and decoding choices differ
    return LanguageModel(V, embedding_dim=6, hidden_size=6, num_layers=2, init_range=1.0).eval()


def test_greedy_equals_argmax_of_full_forward_on_the_prefix(model):
    prompt = [3, 1]
    out = greedy(model, prompt, 8)
    seq = list(prompt)
    for token in out:  # re-run the whole prefix each time: the slow, obvious definition
        logits, _ = model(torch.tensor([seq]))
        assert token == int(logits[0, -1].argmax())
        seq.append(token)


def test_incremental_sampling_equals_rerunning_the_prefix(model):
    prompt = [2, 4, 5]
    out = sample(model, prompt, 10, temperature=0.9, top_k=5, seed=7)
    # the same draws made against full forward passes over the growing prefix
    generator = torch.Generator().manual_seed(7)
    seq = list(prompt)
    for _ in range(10):
        logits, _ = model(torch.tensor([seq]))
        probs = filter_logits(logits[:, -1], 0.9, 5, None).softmax(-1)
        seq.append(int(torch.multinomial(probs, 1, generator=generator)))
    assert out == seq[len(prompt):]


def test_sampling_is_reproducible_and_seed_dependent(model):
    a = sample(model, [1], 30, seed=1)
    assert a == sample(model, [1], 30, seed=1)
    assert a != sample(model, [1], 30, seed=2)


def test_top_k_one_and_tiny_top_p_are_greedy(model):
    g = greedy(model, [2], 12)
    assert sample(model, [2], 12, top_k=1, seed=5) == g
    assert sample(model, [2], 12, top_p=1e-6, seed=5) == g


def test_filter_logits_hand_example():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = filter_logits(probs.log(), top_p=0.8).softmax(-1)
    # 0.5 + 0.3 reaches 0.8: the nucleus is {0, 1}, renormalised
    torch.testing.assert_close(kept, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    kept = filter_logits(probs.log(), top_k=3).softmax(-1)
    torch.testing.assert_close(kept, torch.tensor([[0.5, 0.3, 0.15, 0.0]]) / 0.95)
    hot = filter_logits(probs.log(), temperature=2.0).softmax(-1)
    torch.testing.assert_close(hot, probs.sqrt() / probs.sqrt().sum())


def test_beam_search_finds_the_exhaustive_optimum(model):
    prompt, length = [1, 2], 3
    best, best_lp = None, -math.inf
    for seq in itertools.product(range(V), repeat=length):  # all 343 continuations
        lp = score(model, list(seq), context=prompt).log_prob
        if lp > best_lp:
            best, best_lp = list(seq), lp
    hyps = beam_search(model, prompt, length, beam_size=V * V, length_penalty=0.0)
    assert hyps[0].tokens == best
    assert hyps[0].log_prob == pytest.approx(best_lp, abs=1e-5)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_beam_of_one_is_greedy_and_eos_ends_hypotheses(model):
    assert beam_search(model, [3], 6, beam_size=1, length_penalty=0.0)[0].tokens == \
        greedy(model, [3], 6)
    eos = greedy(model, [3], 1)[0]  # make the first greedy token the end token
    hyps = beam_search(model, [3], 6, beam_size=3, eos_id=eos)
    assert hyps[0].tokens == [eos]  # the greedy first token, once it ends the hypothesis
    for h in hyps:  # eos appears only as the last token, and log_prob is the true score
        assert eos not in h.tokens[:-1]
        assert h.log_prob == pytest.approx(score(model, h.tokens, context=[3]).log_prob,
                                           abs=1e-5)
    assert greedy(model, [3], 6, eos_id=eos) == [eos]


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_with_eos_equals_exhaustive_ranking(model, length_penalty):
    """Brute force: every continuation that stops at its first eos or after 3 tokens, scored
    log p / len ** length_penalty; a beam wide enough to keep all of them must rank them alike."""
    prompt, length, eos = [1, 2], 3, 4
    candidates = []
    for n in range(1, length + 1):
        for seq in itertools.product(range(V), repeat=n):
            if eos in seq[:-1] or (n < length and seq[-1] != eos):
                continue
            lp = score(model, list(seq), context=prompt).log_prob
            candidates.append((lp / n ** length_penalty, list(seq)))
    candidates.sort(key=lambda c: c[0], reverse=True)
    hyps = beam_search(model, prompt, length, beam_size=V ** length,
                       length_penalty=length_penalty, eos_id=eos)
    assert len(hyps) == len(candidates)
    assert [h.tokens for h in hyps[:10]] == [c[1] for c in candidates[:10]]
    np.testing.assert_allclose([h.score for h in hyps], [c[0] for c in candidates], atol=1e-5)
    assert any(h.tokens[-1] == eos for h in hyps[:10])  # the eos branch is really exercised


def test_length_penalty_normalises_by_length(model):
    hyps = beam_search(model, [3], 4, beam_size=3, length_penalty=1.0)
    for h in hyps:
        assert h.score == pytest.approx(h.log_prob / len(h.tokens))


def test_score_log_prob_and_surprisal(model):
    context, tokens = [3], [4, 0, 6]
    result = score(model, tokens, context)
    with torch.no_grad():
        logits, _ = model(torch.tensor([context + tokens[:-1]]))
    logp = logits[0].log_softmax(-1)
    expected = [float(logp[i, t]) for i, t in enumerate(tokens)]
    assert result.log_prob == pytest.approx(sum(expected), rel=1e-6)
    assert result.surprisal == pytest.approx([-e / math.log(2) for e in expected], rel=1e-6)
    assert result.perplexity == pytest.approx(math.exp(-sum(expected) / 3), rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"temperature": 0}, "temperature must be a finite number > 0, got 0"),
    ({"temperature": -1.0}, "temperature must be a finite number > 0, got -1.0"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\], got 0.0"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\], got 1.5"),
    ({"top_k": 0}, "top_k must be None or an int >= 1, got 0"),
])
def test_bad_sampling_options(model, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        sample(model, [1], 3, **kwargs)


def test_bad_prompts_and_lengths(model):
    with pytest.raises(DataError, match="prompt must be a non-empty list"):
        greedy(model, [], 3)
    with pytest.raises(ConfigError, match="max_new_tokens must be an int >= 0, got -1"):
        greedy(model, [1], -1)
    with pytest.raises(ConfigError, match="beam_size must be an int >= 1, got 0"):
        beam_search(model, [1], 3, beam_size=0)
    with pytest.raises(DataError, match="holds id 9"):
        greedy(model, [9], 3)


def test_prompt_with_unknown_tokens_names_them():
    from seqlab.text.tokenize import get_tokenizer
    from seqlab.text.vocab import Vocab

    vocab = Vocab.build([["the", "cat", "sat"]])
    tok = get_tokenizer("whitespace")
    assert encode_prompt("the cat", vocab, tok) == vocab.encode(["the", "cat"])
    with pytest.raises(DataError, match="not in the model's vocabulary: 'dog', 'on', 'mat'"):
        encode_prompt("the dog sat on the mat dog", vocab, tok)
