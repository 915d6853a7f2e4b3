"""seqlab.nn.CRF against brute-force enumeration of every path, gradcheck and pytorch-crf."""

from __future__ import annotations

import doctest
import itertools
import math

import pytest
import torch

import seqlab.nn.crf as crf_module
from seqlab.errors import ConfigError, DataError
from seqlab.nn import CRF
from seqlab.nn.crf import (
    allowed_transitions,
    log_partition_reference,
    marginals_reference,
    viterbi_reference,
)

LENGTHS = [4, 2, 1, 3]


def tiny(K=3, T=4, dtype=torch.float64, seed=0, constraints=None):
    torch.manual_seed(seed)
    crf = CRF(K, constraints=constraints).to(dtype)
    with torch.no_grad():  # scores of order 1, so paths differ clearly
        for p in crf.parameters():
            p.uniform_(-1, 1)
    x = torch.randn(len(LENGTHS), T, K, dtype=dtype)
    mask = torch.arange(T) < torch.tensor(LENGTHS)[:, None]
    return crf, x, mask


def path_score(crf, x_b, path):
    """score(x, y) written out term by term, with the constraints as -inf."""
    s, A, n = (p.detach() for p in (crf.start_transitions, crf.transitions, crf.end_transitions))
    if not crf.allowed_start[path[0]] or not crf.allowed_end[path[-1]]:
        return -math.inf
    if any(not crf.allowed_transitions[a, b] for a, b in zip(path, path[1:])):
        return -math.inf
    total = float(s[path[0]]) + float(n[path[-1]])
    total += sum(float(x_b[t, y]) for t, y in enumerate(path))
    total += sum(float(A[a, b]) for a, b in zip(path, path[1:]))
    return total


def brute_force(crf, x, mask):
    """Per sequence: log Z, {path: score}, the best path, marginals (T, K) -- by enumeration."""
    K = crf.num_tags
    out = []
    for b in range(x.shape[0]):
        L = int(mask[b].sum())
        scores = {p: path_score(crf, x[b], p) for p in itertools.product(range(K), repeat=L)}
        finite = [v for v in scores.values() if v > -math.inf]
        top = max(finite)
        log_z = top + math.log(sum(math.exp(v - top) for v in finite))
        best = max(scores, key=scores.get)
        marg = torch.zeros(x.shape[1], K, dtype=torch.float64)
        for p, v in scores.items():
            for t, y in enumerate(p):
                marg[t, y] += math.exp(v - log_z)
        out.append((log_z, scores, list(best), marg))
    return out


BIO = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("scheme", [None, "BIO", "BIOES"])
def test_equals_brute_force(dtype, scheme):
    tags = {"BIO": BIO, "BIOES": BIOES}.get(scheme)
    K = 3 if tags is None else len(tags)
    cons = allowed_transitions(tags, scheme) if tags else None
    crf, x, mask = tiny(K=K, dtype=dtype, constraints=cons)
    truth = brute_force(crf, x, mask)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    s, n, A = crf.scores()
    log_z = torch.tensor([t[0] for t in truth], dtype=torch.float64)
    torch.testing.assert_close(crf.log_partition(x, mask).double(), log_z, **tol)
    torch.testing.assert_close(log_partition_reference(x, mask, s, n, A).double(), log_z, **tol)
    # log-likelihood of the best path and of another allowed path, per sequence
    gold = torch.zeros(x.shape[:2], dtype=torch.long)
    want = []
    for b, (lz, scores, _, _) in enumerate(truth):
        some = [p for p, v in scores.items() if v > -math.inf][-1]
        gold[b, : len(some)] = torch.tensor(some)
        want.append(scores[some] - lz)
    torch.testing.assert_close(crf(x, gold, mask, reduction="none").double(),
                               torch.tensor(want, dtype=torch.float64), **tol)
    best = [t[2] for t in truth]
    assert crf.decode(x, mask) == best
    ref_paths = viterbi_reference(x, mask, s, n, A)
    assert [row[:L] for row, L in zip(ref_paths.tolist(), LENGTHS)] == best
    marg = torch.stack([t[3] for t in truth])
    for p in (crf.marginals(x, mask), marginals_reference(x, mask, s, n, A)):
        torch.testing.assert_close(p.double(), marg, **tol)
        torch.testing.assert_close(p.sum(-1).double(), mask.double(), **tol)


def test_batch_first_false_and_reductions():
    crf, x, mask = tiny()
    gold = torch.randint(0, 3, x.shape[:2])
    ll = crf(x, gold, mask, reduction="none")
    paths = crf.decode(x, mask)
    crf.batch_first = False
    xt, gt, mt = x.transpose(0, 1), gold.transpose(0, 1), mask.transpose(0, 1)
    torch.testing.assert_close(crf(xt, gt, mt, reduction="none"), ll)
    assert crf.decode(xt, mt) == paths
    torch.testing.assert_close(crf(xt, gt, mt, reduction="sum"), ll.sum())
    torch.testing.assert_close(crf(xt, gt, mt, reduction="mean"), ll.mean())
    torch.testing.assert_close(crf(xt, gt, mt, reduction="token_mean"), ll.sum() / sum(LENGTHS))
    torch.testing.assert_close(crf.marginals(xt, mt).transpose(0, 1),
                               marginals_reference(x, mask, *crf.scores()))


@pytest.mark.parametrize("fast", [True, False])
def test_gradcheck_float64(fast, monkeypatch):
    if not fast:
        monkeypatch.setattr(crf_module, "_fast", lambda x: False)
    cons = allowed_transitions(BIO, "BIO")
    crf, x, mask = tiny(K=len(BIO), constraints=cons)
    gold = torch.tensor([[1, 2, 0, 3], [3, 4, 0, 0], [0, 0, 0, 0], [1, 2, 2, 0]])
    params = list(crf.parameters())
    x.requires_grad_(True)

    def loglik(x, s, n, A):
        m = CRF(len(BIO), constraints=cons).double()
        del m.start_transitions, m.end_transitions, m.transitions
        m.start_transitions, m.end_transitions, m.transitions = s, n, A
        return m(x, gold, mask, reduction="none")

    inputs = (x, *(p.detach().clone().requires_grad_(True) for p in params))
    assert torch.autograd.gradcheck(loglik, inputs, eps=1e-6, atol=1e-7)


def pair(K, seed=0, dtype=torch.float32):
    torchcrf = pytest.importorskip("torchcrf", reason="pytorch-crf (test extra) not installed")
    torch.manual_seed(seed)
    ours, theirs = CRF(K).to(dtype), torchcrf.CRF(K, batch_first=True).to(dtype)
    with torch.no_grad():
        for name in ("start_transitions", "end_transitions", "transitions"):
            getattr(theirs, name).copy_(getattr(ours, name).uniform_(-2, 2))
    return ours, theirs


@pytest.mark.parametrize("K, seed", [(9, 0), (17, 1), (2, 2)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "token_mean"])
def test_equals_pytorch_crf(K, seed, reduction):
    ours, theirs = pair(K, seed)
    B, T = 7, 13
    x1 = torch.randn(B, T, K, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T
    mask = torch.arange(T) < lengths[:, None]
    tags = torch.randint(0, K, (B, T))
    a, b = ours(x1, tags, mask, reduction=reduction), theirs(x2, tags, mask, reduction=reduction)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    for name in ("start_transitions", "end_transitions", "transitions"):
        torch.testing.assert_close(getattr(ours, name).grad, getattr(theirs, name).grad,
                                   rtol=1e-4, atol=1e-4)
    assert ours.decode(x1, mask) == theirs.decode(x2, mask)
    assert ours.decode(x1) == theirs.decode(x2, torch.ones(B, T, dtype=torch.bool))


def test_reference_path_equals_pytorch_crf(monkeypatch):
    monkeypatch.setattr(crf_module, "_fast", lambda x: False)
    test_equals_pytorch_crf(9, 3, "none")


def test_underflow_falls_back_to_log_space():
    crf, x, mask = tiny()
    x = x * 1000.0  # scores ~3000 apart within a step: the exp-space kernel underflows
    s, n, A = crf.scores()
    want = log_partition_reference(x, mask, s, n, A)
    assert torch.isfinite(want).all()
    torch.testing.assert_close(crf.log_partition(x, mask), want)
    torch.testing.assert_close(crf.marginals(x, mask), marginals_reference(x, mask, s, n, A))


def test_allowed_transitions_by_hand():
    start, trans, end = allowed_transitions(BIO, "BIO")
    assert start.tolist() == [True, True, False, True, False]
    assert end.all()
    # rows: from O, B-PER, I-PER, B-LOC, I-LOC; columns likewise
    assert trans.int().tolist() == [[1, 1, 0, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0],
                                    [1, 1, 0, 1, 1], [1, 1, 0, 1, 1]]
    start, trans, end = allowed_transitions(BIOES, "BIOES")
    assert start.tolist() == [True, True, False, False, True]
    assert end.tolist() == [True, False, False, True, True]
    assert trans.int().tolist() == [[1, 1, 0, 0, 1], [0, 0, 1, 1, 0], [0, 0, 1, 1, 0],
                                    [1, 1, 0, 0, 1], [1, 1, 0, 0, 1]]
    start, trans, end = allowed_transitions(["O", "I-PER", "B-PER", "I-LOC"], "IOB1")
    assert start.tolist() == [True, True, False, True]
    assert trans[:, 2].tolist() == [False, True, True, False]  # B-PER only after a PER tag
    with pytest.raises(ConfigError, match="tag 'X-PER'"):
        allowed_transitions(["O", "X-PER"], "BIO")
    with pytest.raises(ConfigError, match="scheme must be one of"):
        allowed_transitions(["O"], "BILOU")


@pytest.mark.parametrize("scheme, tags", [("BIO", BIO), ("BIOES", BIOES)])
def test_decode_respects_constraints(scheme, tags):
    crf = CRF.for_tags(tags, scheme)
    start, trans, end = allowed_transitions(tags, scheme)
    torch.manual_seed(0)
    x = torch.randn(64, 12, len(tags)) * 3  # strong emissions that often prefer bad paths
    mask = torch.arange(12) < torch.randint(1, 13, (64,))[:, None]
    for p in crf.decode(x, mask):
        assert start[p[0]] and end[p[-1]]
        assert all(trans[a, b] for a, b in zip(p, p[1:]))


def test_forbidden_gold_path_is_an_error():
    crf = CRF.for_tags(BIO, "BIO")
    x = torch.randn(2, 3, len(BIO))
    with pytest.raises(DataError, match=r"sequence 1: .* forbid tag 0 -> 2 at steps 1->2"):
        crf(x, torch.tensor([[1, 2, 0], [1, 0, 2]]))
    with pytest.raises(DataError, match="sequence 0: .* forbid its start tag"):
        crf(x, torch.tensor([[2, 2, 0], [1, 0, 0]]))


@pytest.mark.parametrize("call, match", [
    (lambda c: c(torch.randn(2, 3), torch.zeros(2, 3, dtype=torch.long)), "3-D tensor"),
    (lambda c: c(torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)), "num_tags=3"),
    (lambda c: c(torch.randn(2, 3, 3), torch.zeros(2, 2, dtype=torch.long)),
     r"tags must have shape \(2, 3\)"),
    (lambda c: c(torch.randn(2, 3, 3), torch.tensor([[0, 1, 3], [0, 0, 0]])),
     r"tag 3 at sequence 0, step 2 is outside \[0, num_tags=3\)"),
    (lambda c: c(torch.randn(2, 3, 3), torch.zeros(2, 3)), "integer tag indices"),
    (lambda c: c.decode(torch.randn(2, 3, 3), torch.tensor([[1, 1, 0], [0, 0, 0]]).bool()),
     "first timestep must be on .* sequence 1"),
    (lambda c: c.decode(torch.randn(2, 3, 3), torch.tensor([[1, 0, 1], [1, 0, 0]]).bool()),
     "prefix.* sequence 0"),
    (lambda c: c(torch.randn(2, 3, 3), torch.zeros(2, 3, dtype=torch.long), reduction="avg"),
     "reduction must be one of"),
    (lambda c: c.decode(torch.randn(0, 3, 3)), "at least one sequence"),
])
def test_bad_input(call, match):
    with pytest.raises((DataError, ConfigError), match=match):
        call(CRF(3))


def test_bad_construction():
    with pytest.raises(ConfigError, match="num_tags must be a positive integer"):
        CRF(0)
    with pytest.raises(ConfigError, match="constraints must be"):
        CRF(3, constraints=allowed_transitions(BIO, "BIO"))


def test_padding_tags_are_ignored_and_long_sequences_work():
    crf, x, mask = tiny()
    gold = torch.randint(0, 3, x.shape[:2])
    padded = gold.masked_fill(~mask, -100)
    torch.testing.assert_close(crf(x, padded, mask), crf(x, gold, mask))
    long = torch.randn(2, 3000, 3, dtype=torch.float64)
    assert torch.isfinite(crf.log_partition(long)).all()
    assert [len(p) for p in crf.decode(long)] == [3000, 3000]


def test_docstring_examples():
    result = doctest.testmod(crf_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
