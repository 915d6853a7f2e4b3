"""Vocab: fixed specials, counting order against Counter.most_common, errors, JSON round trip."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import DataError
from seqlab.text.vocab import Vocab


def test_special_ids_are_fixed():
    v = Vocab()
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert len(v) == 4
    assert [v.token_to_id(t) for t in ("<pad>", "<unk>", "<bos>", "<eos>")] == [0, 1, 2, 3]


def test_build_hand_checked():
    # counts: a 3, b 2, c 1, d 2 -> by frequency, ties (b, d) by first occurrence
    v = Vocab.build([["a", "b", "a"], ["c", "a", "d", "b", "d"]])
    assert v.tokens[4:] == ["a", "b", "d", "c"]
    assert v.encode(["a", "c", "zzz"]) == [4, 7, 1]
    assert v.decode([4, 5, 3]) == ["a", "b", "<eos>"]
    assert "a" in v and "zzz" not in v and "<pad>" in v


def test_specials_in_the_corpus_keep_their_ids():
    # PTB text holds "<unk>" and the pipeline appends "<eos>": neither is added twice
    v = Vocab.build([["x", "<unk>", "<eos>"], ["<unk>", "y", "<eos>"]])
    assert len(v) == 6 and v.tokens[4:] == ["x", "y"]
    assert v.encode(["<unk>", "<eos>", "x"]) == [1, 3, 4]


def test_min_freq_and_max_size():
    tokens = list("aaaabbbccd")
    assert Vocab.build(tokens, min_freq=2).tokens[4:] == ["a", "b", "c"]
    assert Vocab.build(tokens, max_size=6).tokens[4:] == ["a", "b"]  # specials count
    assert len(Vocab.build(tokens, max_size=4)) == 4
    assert Vocab.build(tokens, min_freq=3, max_size=100).tokens[4:] == ["a", "b"]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="min_freq must be an int >= 1"):
            Vocab.build(tokens, min_freq=bad)
    with pytest.raises(ValueError, match="max_size must be None or an int >= 4.*got 3"):
        Vocab.build(tokens, max_size=3)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("abcdefgh") + ["<unk>"]), max_size=8), max_size=8),
       st.integers(1, 3), st.one_of(st.none(), st.integers(4, 10)))
def test_order_matches_counter_most_common(sentences, min_freq, max_size):
    # oracle: Counter.most_common sorts by count, ties in insertion (first occurrence) order
    counts = Counter(t for s in sentences for t in s)
    expected = [t for t, c in counts.most_common() if c >= min_freq and t != "<unk>"]
    if max_size is not None:
        expected = expected[: max_size - 4]
    v = Vocab.build(sentences, min_freq=min_freq, max_size=max_size)
    assert v.tokens[4:] == expected
    assert v == Vocab.build(sentences, min_freq=min_freq, max_size=max_size)  # deterministic
    flat = Vocab.build([t for s in sentences for t in s], min_freq=min_freq, max_size=max_size)
    assert flat == v and Vocab.build(counts, min_freq=min_freq, max_size=max_size) == v
    ids = v.encode([t for s in sentences for t in s])
    assert v.decode(ids) == [t if t in v else "<unk>" for s in sentences for t in s]


def test_decode_accepts_numpy_and_torch_and_names_bad_ids():
    v = Vocab(["a", "b"])
    assert v.decode(np.array([4, 5], dtype=np.uint16)) == ["a", "b"]
    assert v.decode(torch.tensor([5, 0])) == ["b", "<pad>"]
    with pytest.raises(IndexError, match=r"id 6 at position 1 .* size 6 \(valid ids: 0..5\)"):
        v.decode([4, 6])
    with pytest.raises(IndexError, match="id -1"):
        v.decode([-1])
    with pytest.raises(IndexError, match="id 99"):
        v.id_to_token(99)
    with pytest.raises(DataError, match="id 7"):  # also a seqlab error: the CLI reports it
        v.decode([7])
    assert v.id_to_token(5) == "b"


def test_encode_rejects_a_plain_string():
    with pytest.raises(TypeError, match="tokenize the text first"):
        Vocab(["a"]).encode("abc")
    with pytest.raises(TypeError, match="must be str"):
        Vocab([1, 2])


def test_save_load_round_trip(tmp_path):
    v = Vocab.build([["猫", "喜欢", "鱼"], ["猫", "<eos>"]])
    path = v.save(tmp_path / "sub" / "vocab.json")
    assert Vocab.load(path) == v
    assert Vocab.from_dict(json.loads(path.read_text(encoding="utf-8"))) == v
    assert Vocab.load(path).fingerprint() == v.fingerprint()
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # atomic: no temporaries


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        Vocab.load(tmp_path / "none.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"format": "seqlab.vocab", "tok', encoding="utf-8")
    with pytest.raises(DataError, match="corrupt.json.*corrupt"):
        Vocab.load(corrupt)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "seqlab.vocab", "tokens": ["a", "b"]}))
    with pytest.raises(DataError, match="wrong.json.*starting with"):
        Vocab.load(wrong)
    dup = {"format": "seqlab.vocab", "tokens": ["<pad>", "<unk>", "<bos>", "<eos>", "a", "a"]}
    with pytest.raises(DataError, match="twice"):
        Vocab.from_dict(dup)
    with pytest.raises(DataError, match="format"):
        Vocab.from_dict({"tokens": []})
