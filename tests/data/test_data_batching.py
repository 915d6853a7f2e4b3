"""LMStream against pytorch/examples' batchify alphabet and a coverage invariant; pad_batch."""

from __future__ import annotations

import string

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pad_sequence

from seqlab.data.batching import LMStream, pad_batch, padding_mask
from seqlab.errors import ConfigError, DataError

ALPHABET = list(range(26))  # a=0 ... z=25


def _letters(t: torch.Tensor) -> list[str]:
    return ["".join(string.ascii_lowercase[i] for i in row) for row in t.tolist()]


def test_alphabet_hand_checked():
    # pytorch/examples' batchify comment: 26 letters, 4 rows of 6, "y z" dropped
    stream = LMStream(ALPHABET, batch_size=4, bptt=2)
    assert (stream.row_length, stream.dropped, len(stream)) == (6, 2, 3)
    windows = [(_letters(x), _letters(y)) for x, y in stream]
    assert windows == [
        (["ab", "gh", "mn", "st"], ["bc", "hi", "no", "tu"]),
        (["cd", "ij", "op", "uv"], ["de", "jk", "pq", "vw"]),
        (["e", "k", "q", "w"], ["f", "l", "r", "x"]),  # the last window is shorter
    ]
    x, y = stream[0]
    assert x.dtype == y.dtype == torch.long and x.shape == (4, 2)  # batch-first


def test_same_windows_as_pytorch_examples_get_batch():
    # oracle: the time-major recipe (batchify + get_batch), transposed to batch-first
    data = torch.arange(103)
    batch_size, bptt = 5, 7
    nbatch = data.size(0) // batch_size
    source = data[: nbatch * batch_size].view(batch_size, -1).t().contiguous()  # (L, B)
    expected = []
    for i in range(0, source.size(0) - 1, bptt):
        seq_len = min(bptt, len(source) - 1 - i)
        expected.append((source[i:i + seq_len].t(), source[i + 1:i + 1 + seq_len].t()))
    got = list(LMStream(data.numpy(), batch_size, bptt))
    assert len(got) == len(expected)
    for (x, y), (ex, ey) in zip(got, expected):
        assert torch.equal(x, ex) and torch.equal(y, ey)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 300), st.integers(1, 6), st.integers(1, 12))
def test_every_target_exactly_once(n, batch_size, bptt):
    ids = np.arange(n, dtype=np.int64)
    if n // batch_size < bptt + 1:
        with pytest.raises(DataError):
            LMStream(ids, batch_size, bptt)
        return
    stream = LMStream(ids, batch_size, bptt)
    xs, ys = zip(*stream)
    x, y = torch.cat(xs, dim=1), torch.cat(ys, dim=1)
    rows = torch.from_numpy(ids[: batch_size * stream.row_length]).view(batch_size, -1)
    assert torch.equal(x, rows[:, :-1]) and torch.equal(y, rows[:, 1:])
    assert sorted(y.flatten().tolist()) == sorted(rows[:, 1:].flatten().tolist())
    assert y.numel() == stream.num_targets and len(stream) == len(xs)
    assert stream.dropped == n % batch_size
    assert all(w.shape[1] == bptt for w in xs[:-1]) and 1 <= xs[-1].shape[1] <= bptt


def test_inputs_memmap_tensor_list(tmp_path):
    path = tmp_path / "ids.npy"
    np.save(path, np.arange(50, dtype=np.uint16))
    mm = np.load(path, mmap_mode="r")
    from_memmap = list(LMStream(mm, 3, 4))
    from_tensor = list(LMStream(torch.arange(50, dtype=torch.int32), 3, 4))
    from_list = list(LMStream(list(range(50)), 3, 4))
    for a, b, c in zip(from_memmap, from_tensor, from_list):
        for i in range(2):
            assert a[i].dtype == torch.long and torch.equal(a[i], b[i]) and torch.equal(a[i], c[i])


def test_indexing_and_resume():
    stream = LMStream(np.arange(40), 2, 3)
    every = list(stream)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(stream.windows(2), every[2:]))
    assert torch.equal(stream[-1][1], every[-1][1])
    assert list(stream.windows(len(stream))) == []
    with pytest.raises(IndexError, match="out of range"):
        stream[len(stream)]
    with pytest.raises(IndexError, match="start must be"):
        list(stream.windows(-1))
    assert "windows=7" in repr(stream)


def test_short_corpus_names_the_lengths():
    with pytest.raises(DataError, match=r"10 tokens in batch_size=4 rows give 2 tokens per row.*"
                                        r"bptt \+ 1 = 4.*at least 16 tokens"):
        LMStream(np.arange(10), batch_size=4, bptt=3)
    LMStream(np.arange(16), batch_size=4, bptt=3)  # exactly one window fits


def test_bad_arguments():
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match="batch_size must be an int >= 1"):
            LMStream(np.arange(10), bad, 2)
        with pytest.raises(ConfigError, match="bptt must be an int >= 1"):
            LMStream(np.arange(10), 2, bad)
    with pytest.raises(DataError, match="1-D integer"):
        LMStream(np.zeros((4, 5), dtype=np.int64), 2, 2)
    with pytest.raises(DataError, match="1-D integer"):
        LMStream(np.arange(10.0), 2, 2)
    with pytest.raises(DataError, match="1-D integer"):
        LMStream(torch.rand(10), 2, 2)


def test_pad_batch_against_pad_sequence():
    seqs = [[5, 6, 7], [8], [], [9, 10]]
    ids, lengths = pad_batch(seqs, pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 0, 2] and ids.dtype == lengths.dtype == torch.long
    tensors = [torch.tensor(s, dtype=torch.long) for s in seqs]
    expected = pad_sequence(tensors, batch_first=True, padding_value=-1)  # oracle
    got, _ = pad_batch([np.array(s, dtype=np.int32) for s in seqs], pad_id=-1)
    assert torch.equal(got, expected)


def test_pad_batch_errors():
    with pytest.raises(DataError, match="sequences is empty"):
        pad_batch([], 0)
    with pytest.raises(DataError, match="sequence 1 must be a 1-D sequence of ints"):
        pad_batch([[1, 2], [[3]]], 0)
    with pytest.raises(DataError, match="sequence 0 must be"):
        pad_batch([[1.5, 2.0]], 0)


def test_padding_mask_matches_the_padding():
    ids, lengths = pad_batch([[5, 6, 7], [8], []], pad_id=0)
    mask = padding_mask(lengths)
    assert mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert torch.equal(ids[~mask], torch.zeros(int((~mask).sum()), dtype=torch.long))
    assert padding_mask([2], max_length=4).tolist() == [[True, True, False, False]]
    with pytest.raises(DataError, match="max_length=1 is shorter"):
        padding_mask([2], max_length=1)
    with pytest.raises(DataError, match=">= 0"):
        padding_mask([-1])
