"""Property tests over random shapes and lengths (hypothesis), float64.

Invariants: reference == torch.nn on packed sequences; fused == reference; a padded batch equals
each sequence alone; the output never depends on padding values.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlab.nn as snn

LAYERS = {"rnn": (snn.RNN, nn.RNN), "lstm": (snn.LSTM, nn.LSTM), "gru": (snn.GRU, nn.GRU)}


@st.composite
def cases(draw):
    B, T = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    return {
        "mode": draw(st.sampled_from(sorted(LAYERS))),
        "B": B, "T": T, "D": draw(st.integers(1, 4)), "H": draw(st.integers(1, 5)),
        "num_layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans()),
        "lengths": torch.tensor(lengths), "seed": draw(st.integers(0, 2**16)),
    }


def build(case):
    torch.manual_seed(case["seed"])
    ours_cls, torch_cls = LAYERS[case["mode"]]
    theirs = torch_cls(case["D"], case["H"], case["num_layers"], batch_first=True,
                       bidirectional=case["bidirectional"], dtype=torch.float64)
    x = torch.randn(case["B"], case["T"], case["D"], dtype=torch.float64)
    return ours_cls, theirs, x


@settings(max_examples=30, deadline=None)
@given(cases())
def test_reference_and_fused_equal_torch_packed(case):
    ours_cls, theirs, x = build(case)
    packed = pack_padded_sequence(x, case["lengths"], True, enforce_sorted=False)
    out_t, final_t = theirs(packed)
    out_t, _ = pad_packed_sequence(out_t, True, total_length=case["T"])
    for backend in ("reference", "fused"):
        ours = ours_cls.from_torch(theirs, backend=backend)
        out, final = ours(x, lengths=case["lengths"])
        torch.testing.assert_close(out, out_t, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(final, final_t, atol=1e-10, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(cases())
def test_padding_values_never_matter(case):
    ours_cls, theirs, x = build(case)
    ours = ours_cls.from_torch(theirs, backend="reference")
    pad = torch.arange(case["T"]).unsqueeze(0) >= case["lengths"].unsqueeze(1)  # (B, T)
    noisy = x.masked_fill(pad.unsqueeze(-1), 1e3)
    out1, final1 = ours(x, lengths=case["lengths"])
    out2, final2 = ours(noisy, lengths=case["lengths"])
    torch.testing.assert_close(out1, out2, atol=0, rtol=0)
    torch.testing.assert_close(final1, final2, atol=0, rtol=0)
    assert torch.all(out1[pad] == 0)
    for b, n in enumerate(case["lengths"].tolist()):  # each sequence as if alone
        out_b, _ = ours(x[b : b + 1, :n])
        torch.testing.assert_close(out1[b : b + 1, :n], out_b, atol=1e-12, rtol=1e-12)
