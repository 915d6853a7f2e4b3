"""prepare(): ids decode back to the tokens, dtype, cache hits, PTB figures, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.data.batching import LMStream
from seqlab.data.corpus import PreparedCorpus, prepare
from seqlab.errors import ConfigError, DataError
from seqlab.text.tokenize import BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer
from seqlab.text.vocab import Vocab

TEXT = ["The cat sat on the mat.", "", "The dog, the cat and 3.14 apples!", "A cat? No; a dog."]


@pytest.fixture
def corpus_dir(tmp_path):
    """train/valid/test files in the pytorch/examples layout."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.txt").write_text("\n".join(TEXT * 3) + "\n", encoding="utf-8")
    (folder / "valid.txt").write_text("the cat ate a zebra\nthe end\n", encoding="utf-8")
    (folder / "test.txt").write_text("a dog\n", encoding="utf-8")
    return folder


def _expected(path, tok, eos):
    """Oracle: the straightforward in-memory pipeline."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        out += tok.tokenize(line.rstrip("\n")) + ["<eos>"] if eos else tok.tokenize(line)
    return out


def test_round_trip_word_level(corpus_dir, tmp_path):
    corpus = prepare(corpus_dir, tmp_path / "out")
    assert isinstance(corpus.tokenizer, WordTokenizer) and corpus.eos_per_line
    assert corpus.splits == ("train", "valid", "test") and not corpus.cache_hit
    for split in corpus.splits:
        tokens = _expected(corpus_dir / f"{split}.txt", WordTokenizer(), eos=True)
        ids = corpus.ids(split)
        assert isinstance(ids, np.memmap) and ids.dtype == np.uint16
        known = [t if t in corpus.vocab else "<unk>" for t in tokens]
        assert corpus.vocab.decode(ids) == known
        assert corpus.num_tokens(split) == len(tokens)
    # the vocabulary is the train split's, counted as Vocab.build would
    train_tokens = _expected(corpus_dir / "train.txt", WordTokenizer(), eos=True)
    assert corpus.vocab == Vocab.build(train_tokens)
    assert corpus.meta["splits"]["valid"]["unk"] == 3  # "ate", "zebra", "end"
    assert corpus.meta["splits"]["train"]["lines"] == 12
    loaded = PreparedCorpus.load(tmp_path / "out")
    assert loaded.vocab == corpus.vocab and loaded.tokenizer == corpus.tokenizer


def test_round_trip_char_level_keeps_newlines(corpus_dir, tmp_path):
    corpus = prepare(corpus_dir, tmp_path / "out", tokenizer="char")
    assert not corpus.eos_per_line  # the char tokenizer keeps "\n" as a token
    text = (corpus_dir / "train.txt").read_text(encoding="utf-8")
    assert CharTokenizer().detokenize(corpus.vocab.decode(corpus.ids("train"))) == text
    forced = prepare(corpus_dir, tmp_path / "eos", tokenizer="char", eos_per_line=True)
    decoded = forced.vocab.decode(forced.ids("test"))
    assert decoded == ["a", " ", "d", "o", "g", "<eos>"]


def test_bpe_is_trained_on_train_and_saved(corpus_dir, tmp_path):
    corpus = prepare(corpus_dir, tmp_path / "out", tokenizer=BPETokenizer(vocab_size=280))
    tok = corpus.tokenizer
    assert isinstance(tok, BPETokenizer) and tok.trained
    assert Tokenizer.load(tmp_path / "out" / "tokenizer.json") == tok
    lines = (corpus_dir / "valid.txt").read_text(encoding="utf-8").splitlines()
    tokens = corpus.vocab.decode(corpus.ids("valid"))
    pieces, current = [], []
    for t in tokens:
        if t == "<eos>":
            pieces.append(tok.detokenize(current))
            current = []
        else:
            current.append(t)
    assert pieces == lines and "<unk>" not in tokens  # byte-level: nothing is unknown
    assert corpus.vocab.tokens == tok.own_vocab()  # Vocab ids are the BPE model's ids
    enc = tok.encode_with_offsets(lines[0])
    assert corpus.vocab.encode(enc.tokens) == enc.ids
    with pytest.raises(ConfigError, match="min_freq/max_size do not apply"):
        prepare(corpus_dir, tmp_path / "o2", tokenizer=BPETokenizer(vocab_size=280), min_freq=2)
    again = prepare(corpus_dir, tmp_path / "out", tokenizer="bpe")
    assert not again.cache_hit  # "bpe" (vocab_size 8000) is another option than 280


def test_memmap_dtype_widens_past_65536(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text(" ".join(f"w{i}" for i in range(70_000)) + "\n", encoding="utf-8")
    corpus = prepare({"train": path}, tmp_path / "out")
    ids = corpus.ids("train")
    assert len(corpus.vocab) == 70_004 and ids.dtype == np.uint32
    assert int(ids.max()) == 70_003 and corpus.vocab.decode(ids[-2:]) == ["w69999", "<eos>"]


def test_cache_hit_and_invalidation(corpus_dir, tmp_path):
    out = tmp_path / "out"
    first = prepare(corpus_dir, out)
    stamp = (out / "train.npy").stat().st_mtime_ns
    second = prepare(corpus_dir, out)
    assert second.cache_hit and (out / "train.npy").stat().st_mtime_ns == stamp
    assert second.vocab == first.vocab
    third = prepare(corpus_dir, out, min_freq=4)  # another option: prepared again
    assert not third.cache_hit and len(third.vocab) < len(first.vocab)
    (corpus_dir / "test.txt").write_text("a changed test file\n", encoding="utf-8")
    fourth = prepare(corpus_dir, out, min_freq=4)  # another input: prepared again
    assert not fourth.cache_hit and fourth.num_tokens("test") == 5
    (out / "valid.npy").write_bytes(b"damaged")
    assert not prepare(corpus_dir, out, min_freq=4).cache_hit  # damaged files: redone


def test_default_out_dir_is_keyed_in_the_cache(corpus_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    corpus = prepare(corpus_dir)
    assert corpus.directory.parent == tmp_path / "cache" / "prepared"
    assert corpus.directory.name.startswith("corpus-")
    assert prepare(corpus_dir).cache_hit


def test_given_vocab_and_options(corpus_dir, tmp_path):
    vocab = Vocab(["the", "cat"])
    corpus = prepare(corpus_dir, tmp_path / "out", vocab=vocab, splits=["valid"])
    assert corpus.vocab == vocab and corpus.splits == ("valid",)
    assert corpus.vocab.decode(corpus.ids("valid"))[:3] == ["the", "cat", "<unk>"]
    vocab.save(tmp_path / "v.json")
    assert prepare(corpus_dir, tmp_path / "o2", vocab=tmp_path / "v.json").vocab == vocab
    capped = prepare(corpus_dir, tmp_path / "o3", max_size=8)
    assert len(capped.vocab) == 8
    with pytest.raises(ConfigError, match="no split 'dev'"):
        prepare(corpus_dir, tmp_path / "o4", splits=["dev"])
    with pytest.raises(ConfigError, match="min_freq must be an int >= 1, got 0"):
        prepare(corpus_dir, tmp_path / "o4", min_freq=0)
    with pytest.raises(ConfigError, match="splits must be"):
        prepare(corpus_dir, tmp_path / "o4", splits="train")


def test_bad_input(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "train.txt").write_text("   \n\n", encoding="utf-8")
    with pytest.raises(DataError, match="split 'train' has no tokens"):
        prepare(empty, tmp_path / "out", eos_per_line=False)
    with pytest.raises(DataError, match="no tokens besides specials"):
        prepare(empty, tmp_path / "out")  # only <eos> per line
    with pytest.raises(DataError, match="no meta.json"):
        PreparedCorpus.load(tmp_path / "nothing")


def test_truncated_ids_file_is_an_error(corpus_dir, tmp_path):
    corpus = prepare(corpus_dir, tmp_path / "out")
    np.save(tmp_path / "out" / "train.npy", np.zeros(3, dtype=np.uint16))
    with pytest.raises(DataError, match="truncated or stale"):
        PreparedCorpus.load(tmp_path / "out").ids("train")
    with pytest.raises(ConfigError, match="no split 'dev'"):
        corpus.ids("dev")


def test_ptb_figures(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    corpus = prepare("ptb", tmp_path / "ptb")
    # 10,000 PTB types (<unk> and <eos> among them) + <pad> + <bos>
    assert len(corpus.vocab) == 10_002
    counts = {s: corpus.num_tokens(s) for s in corpus.splits}
    assert counts == {"train": 929_589, "valid": 73_760, "test": 82_430}  # INDEX.md
    train = np.asarray(corpus.ids("train"))
    assert train.dtype == np.uint16 and train.shape == (929_589,)
    assert int((train == corpus.vocab.eos_id).sum()) == 42_068  # one <eos> per line
    text = (shared_data / "ptb" / "ptb.valid.txt").read_text(encoding="utf-8")
    valid = np.asarray(corpus.ids("valid"))
    assert int((valid == corpus.vocab.unk_id).sum()) == text.split().count("<unk>")  # closed vocab
    first = text.splitlines()[0].split() + ["<eos>"]
    assert corpus.vocab.decode(valid[: len(first)]) == first
    assert set(np.unique(train)) == set(range(1, 10_002)) - {2}  # every word used; no pad/bos
    stream = LMStream(corpus.ids("train"), batch_size=20, bptt=35)
    assert stream.num_targets == 20 * (929_589 // 20 - 1)


def test_a_failed_run_keeps_the_earlier_preparation(corpus_dir, tmp_path):
    out = tmp_path / "out"
    before = prepare(corpus_dir, out)
    (corpus_dir / "valid.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(DataError, match="split 'valid' has no tokens"):
        prepare(corpus_dir, out, eos_per_line=False)
    kept = PreparedCorpus.load(out)  # the earlier result is intact, and no temporaries remain
    assert kept.vocab == before.vocab and kept.num_tokens("valid") == before.num_tokens("valid")
    assert sorted(p.name for p in out.iterdir()) == [
        "meta.json", "test.npy", "tokenizer.json", "train.npy", "valid.npy", "vocab.json"]


def test_ptb_char_and_wikitext2_counts(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    chars = prepare("ptb-char", tmp_path / "ptb-char")
    # SOURCE.md: 4,975,414 symbols + one <eos> per line (42,068); 49 symbols + 4 specials
    assert chars.num_tokens("train") == 4_975_414 + 42_068
    assert len(chars.vocab) == 49 + 4 and "_" in chars.vocab
    # WikiText-2 (no train in the mirror): pytorch/examples counts, <eos> on blank lines too
    wiki = prepare("wikitext-2", tmp_path / "wiki", vocab=Vocab(), splits=("valid", "test"))
    assert (wiki.num_tokens("valid"), wiki.num_tokens("test")) == (217_646, 245_569)


def test_tinyshakespeare_chars(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    corpus = prepare("tinyshakespeare", tmp_path / "shakespeare")
    # nanoGPT: 65 symbols, 1,003,854 / 111,540 characters ("\n" is a character here)
    assert len(corpus.vocab) == 65 + 4 and "\n" in corpus.vocab
    assert (corpus.num_tokens("train"), corpus.num_tokens("valid")) == (1_003_854, 111_540)
    head = (shared_data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:200]
    assert "".join(corpus.vocab.decode(corpus.ids("train")[:200])) == head
