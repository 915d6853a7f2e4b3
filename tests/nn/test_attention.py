"""Attention scores against hand computations; masking, batched = stepwise, float64 gradcheck."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

import seqlab.nn.attention as attention_module
from seqlab.errors import ConfigError, DataError
from seqlab.nn.attention import Attention, SelfAttentionPooling

KEYS = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)  # (1, 3, 2)
QUERY = torch.tensor([[1.0, 2.0]], dtype=torch.float64)


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def check(att, want_scores, mask=None):
    context, weights = att(QUERY, KEYS, mask)
    real = [s for s, m in zip(want_scores, mask[0] if mask is not None else [True] * 3) if m]
    w = iter(softmax(real))
    want = [next(w) if (mask is None or mask[0, j]) else 0.0 for j in range(3)]
    torch.testing.assert_close(weights, torch.tensor([want], dtype=torch.float64))
    want_ctx = [sum(want[j] * float(KEYS[0, j, d]) for j in range(3)) for d in range(2)]
    torch.testing.assert_close(context, torch.tensor([want_ctx], dtype=torch.float64))


@pytest.mark.parametrize("masked", [False, True])
def test_dot_by_hand(masked):
    # q . k_j = 1*1 + 2*0, 1*0 + 2*1, 1*1 + 2*1
    mask = torch.tensor([[True, False, True]]) if masked else None
    check(Attention(2, 2, "dot").double(), [1.0, 2.0, 3.0], mask)


@pytest.mark.parametrize("masked", [False, True])
def test_general_by_hand(masked):
    att = Attention(2, 2, "general").double()
    with torch.no_grad():  # W = [[1, 0.5], [0, 2]]: W^T q = [1, 0.5 + 4] = [1, 4.5]
        att.general.weight.copy_(torch.tensor([[1.0, 0.5], [0.0, 2.0]]).T)
    mask = torch.tensor([[False, True, True]]) if masked else None
    check(att, [1.0, 4.5, 5.5], mask)


@pytest.mark.parametrize("masked", [False, True])
def test_additive_by_hand(masked):
    att = Attention(2, 2, "additive", hidden_size=2).double()
    with torch.no_grad():
        att.query_proj.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, -1.0]]))  # W_q q = [.5, -2]
        att.key_proj.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 0.0]]))
        att.key_proj.bias.copy_(torch.tensor([0.1, 0.2]))
        att.energy.weight.copy_(torch.tensor([[1.0, -0.5]]))
    # W_k k_j + b: [1.1, 2.2], [1.1, 0.2], [2.1, 2.2]; e_j = tanh(.5 + a) - .5 tanh(-2 + b)
    want = [math.tanh(0.5 + a) - 0.5 * math.tanh(-2.0 + b)
            for a, b in ((1.1, 2.2), (1.1, 0.2), (2.1, 2.2))]
    mask = torch.tensor([[True, True, False]]) if masked else None
    check(att, want, mask)


def make(score, Dq=5, Dk=5, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    att = Attention(Dq, Dk, score, hidden_size=7 if score == "additive" else None).to(dtype)
    keys = torch.randn(3, 6, Dk, dtype=dtype)
    mask = torch.arange(6) < torch.tensor([6, 2, 4])[:, None]
    return att, keys, mask


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_masked_weights_and_batched_equals_stepwise(score):
    att, keys, mask = make(score, Dq=5 if score == "dot" else 3)
    query = torch.randn(3, 4, att.query_size, dtype=torch.float64)
    values = torch.randn(3, 6, 2, dtype=torch.float64)
    context, weights = att(query, keys, mask, values=values)
    assert context.shape == (3, 4, 2) and weights.shape == (3, 4, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, dtype=torch.float64))
    assert (weights.masked_select(~mask[:, None, :].expand_as(weights)) == 0).all()
    assert (weights.masked_select(mask[:, None, :].expand_as(weights)) > 0).all()
    projected = att.project_keys(keys)
    for t in range(4):
        c_t, w_t = att(query[:, t], keys, mask, values=values, projected_keys=projected)
        torch.testing.assert_close(c_t, context[:, t])
        torch.testing.assert_close(w_t, weights[:, t])
    # the padded keys do not matter at all
    noisy = keys.masked_fill(~mask[..., None], 1e6)
    torch.testing.assert_close(att(query, noisy, mask, values=values)[0], context)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_gradcheck_float64(score):
    att, keys, mask = make(score, Dq=5 if score == "dot" else 3)
    query = torch.randn(3, 2, att.query_size, dtype=torch.float64, requires_grad=True)
    keys.requires_grad_(True)
    params = [p.detach().clone().requires_grad_(True) for p in att.parameters()]

    def f(q, k, *ps):
        mod = Attention(att.query_size, att.key_size, score,
                        hidden_size=7 if score == "additive" else None).double()
        names = [n for n, _ in att.named_parameters()]
        for name, p in zip(names, ps):
            module, attr = name.rsplit(".", 1)
            sub = mod.get_submodule(module)
            delattr(sub, attr)
            setattr(sub, attr, p)
        return mod(q, k, mask)

    assert torch.autograd.gradcheck(f, (query, keys, *params))


def test_self_attention_pooling():
    torch.manual_seed(0)
    pool = SelfAttentionPooling(4, 3).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    pooled, weights = pool(x, mask)
    # by hand: e_t = v . tanh(W x_t + b), softmax over the real t, sum of a_t x_t
    W, b, v = pool.proj.weight, pool.proj.bias, pool.energy.weight[0]
    for i, L in enumerate([3, 5]):
        e = torch.stack([v @ torch.tanh(W @ x[i, t] + b) for t in range(L)])
        a = torch.softmax(e, 0)
        torch.testing.assert_close(weights[i, :L], a)
        torch.testing.assert_close(pooled[i], (a[:, None] * x[i, :L]).sum(0))
    assert (weights[0, 3:] == 0).all()
    assert torch.autograd.gradcheck(lambda x: pool(x, mask)[0], (x,))


@pytest.mark.parametrize("call, match", [
    (lambda: Attention(3, 4, "dot"), "dot score needs query_size == key_size"),
    (lambda: Attention(3, 3, "cosine"), "score must be one of"),
    (lambda: Attention(3, 3, "dot", hidden_size=4), "only used by the additive"),
    (lambda: Attention(0, 3, "general"), "query_size must be a positive integer"),
    (lambda: Attention(3, 3)(torch.randn(2, 4), torch.randn(2, 5, 3)), r"query must be .*Dq=3"),
    (lambda: Attention(3, 3)(torch.randn(2, 3), torch.randn(2, 5, 4)), "keys must be"),
    (lambda: Attention(3, 3)(torch.randn(2, 3), torch.randn(2, 5, 3), torch.ones(2, 4).bool()),
     r"mask must have shape \(B, Tk\)=\(2, 5\)"),
    (lambda: Attention(3, 3)(torch.randn(2, 3), torch.randn(2, 2, 3),
                             torch.tensor([[True, True], [False, False]])),
     "mask row 1 has no real position"),
    (lambda: SelfAttentionPooling(3)(torch.randn(2, 0, 3)), "at least one position"),
])
def test_bad_input(call, match):
    with pytest.raises((ConfigError, DataError), match=match):
        call()


def test_docstring_examples():
    result = doctest.testmod(attention_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
