"""Tokenizers: hand-checked rules, offsets against the text itself, jieba and BPE round trips."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import ConfigError, DataError, NotFittedError
from seqlab.text.tokenize import (
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    JiebaTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
)

WORD_CASES = [
    ("Hello, world!", ["Hello", ",", "world", "!"]),
    ("Don't panic: it's 3.14, e-mail", ["Don't", "panic", ":", "it's", "3.14", ",", "e-mail"]),
    ("1,000 people at 10:30", ["1,000", "people", "at", "10:30"]),
    ('(x). "quoted"', ["(", "x", ")", ".", '"', "quoted", '"']),
    ("wait... --no", ["wait", "...", "--", "no"]),
    ("a <unk> b <eos>", ["a", "<unk>", "b", "<eos>"]),
    ("U.S. $5", ["U", ".", "S", ".", "$", "5"]),
    ("Café naïve Ärger", ["Café", "naïve", "Ärger"]),
    ("  \n\t ", []),
]


@pytest.mark.parametrize(("text", "expected"), WORD_CASES)
def test_word_tokenizer_rules(text, expected):
    assert WordTokenizer().tokenize(text) == expected


def test_word_tokenizer_lowercase_keeps_specials_and_offsets():
    tok = WordTokenizer(lowercase=True)
    text = "The CAT <unk> Sat."
    enc = tok.encode_with_offsets(text)
    assert enc.tokens == ["the", "cat", "<unk>", "sat", "."]
    assert [text[a:b] for a, b in enc.offsets] == ["The", "CAT", "<unk>", "Sat", "."]
    with pytest.raises(ConfigError, match="lowercase"):
        WordTokenizer(lowercase="yes")


_TEXT = st.text(alphabet=st.sampled_from(list("ab c,.'-\n<>1猫é")), max_size=40)


@settings(max_examples=60, deadline=None)
@given(_TEXT)
def test_offsets_point_at_the_tokens(text):
    for tok in (WordTokenizer(), WhitespaceTokenizer(), CharTokenizer()):
        enc = tok.encode_with_offsets(text)
        assert [text[a:b] for a, b in enc.offsets] == enc.tokens
        assert enc.tokens == tok.tokenize(text)
    assert WhitespaceTokenizer().tokenize(text) == text.split()  # oracle: str.split
    assert CharTokenizer().detokenize(CharTokenizer().tokenize(text)) == text
    # nothing but whitespace is lost by the word tokenizer
    assert "".join(WordTokenizer().tokenize(text)) == "".join(text.split())


def test_detokenize_joiners():
    assert WordTokenizer().detokenize(["a", "b", "."]) == "a b ."
    assert CharTokenizer().detokenize(["a", " ", "b"]) == "a b"
    assert CharTokenizer().keeps_newlines and not WordTokenizer().keeps_newlines


def test_tokenize_rejects_non_text():
    with pytest.raises(TypeError, match="text must be a str"):
        WordTokenizer().tokenize(["a"])


def test_jieba_words_and_offsets():
    jieba = pytest.importorskip("jieba")
    tok = JiebaTokenizer()
    assert tok.tokenize("猫喜欢鱼") == ["猫", "喜欢", "鱼"]
    assert tok.tokenize("我爱北京天安门") == ["我", "爱", "北京", "天安门"]
    text = "我来到北京清华大学 hello"
    enc = tok.encode_with_offsets(text)
    assert enc.tokens == [w for w in jieba.lcut(text) if w.strip()]  # oracle: jieba itself
    assert [text[a:b] for a, b in enc.offsets] == enc.tokens
    assert tok.detokenize(tok.tokenize("猫喜欢鱼")) == "猫喜欢鱼"
    assert tok.tokenize("") == []


def test_jieba_startup_is_silent():
    code = ("from seqlab.text.tokenize import JiebaTokenizer;"
            "print(JiebaTokenizer().tokenize('猫喜欢鱼'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stderr == ""
    assert "喜欢" in done.stdout


CORPUS = ["the lowest low, the newest new", "lower and lower we go <unk> here",
          "widest wide newer news"] * 30


def test_bpe_train_merges_frequent_words_and_round_trips():
    tok = BPETokenizer.train(CORPUS, vocab_size=320, min_frequency=2)
    assert tok.trained
    tokens = tok.tokenize("the lowest lower")
    assert "Ġlowest" in tokens or "Ġlow" in tokens  # frequent words became few tokens
    assert len(tokens) < len("the lowest lower")
    assert tok.tokenize("a <unk> b").count("<unk>") == 1  # specials are unsplittable
    for text in ["the lowest low", "unseen 猫 émoji 🙂 text\twith  spaces", " lead and trail "]:
        assert tok.detokenize(tok.tokenize(text)) == text
        enc = tok.encode_with_offsets(text)
        assert len(enc.ids) == len(enc.tokens) == len(enc.offsets)
        assert enc.ids == [tok.token_to_id(t) for t in enc.tokens]


def test_bpe_save_load_and_dict_round_trip(tmp_path):
    tok = BPETokenizer.train(CORPUS, vocab_size=300, min_frequency=1)
    path = tok.save(tmp_path / "bpe.json")
    again = Tokenizer.load(path)
    assert isinstance(again, BPETokenizer) and again == tok
    text = "the newest widest news <unk>"
    assert again.tokenize(text) == tok.tokenize(text)
    assert BPETokenizer.from_dict(json.loads(json.dumps(tok.to_dict()))) == tok
    assert [p.name for p in tmp_path.iterdir()] == ["bpe.json"]  # no temporary left


def test_bpe_trains_from_files(tmp_path):
    plain = tmp_path / "a.txt"
    plain.write_text("\n".join(CORPUS[:45]) + "\n", encoding="utf-8")
    packed = tmp_path / "b.txt.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(CORPUS[45:]) + "\n")
    from_files = BPETokenizer.train([plain, packed], vocab_size=300, min_frequency=1)
    from_texts = BPETokenizer.train(CORPUS, vocab_size=300, min_frequency=1)
    assert from_files.tokenize("the lowest newest") == from_texts.tokenize("the lowest newest")


def test_bpe_errors(tmp_path):
    with pytest.raises(NotFittedError, match="not trained"):
        BPETokenizer().tokenize("x")
    with pytest.raises(ConfigError, match="vocab_size"):
        BPETokenizer(vocab_size=100)
    with pytest.raises(ConfigError, match="min_frequency"):
        BPETokenizer(min_frequency=0)
    with pytest.raises(DataError, match="no non-blank text"):
        BPETokenizer.train(["", "  "], vocab_size=300)
    with pytest.raises(DataError, match="does not exist"):
        BPETokenizer.train(tmp_path / "missing.txt", vocab_size=300)
    with pytest.raises(TypeError, match="os.PathLike"):
        BPETokenizer.train([3], vocab_size=300)
    trained = BPETokenizer.train(CORPUS, vocab_size=300, min_frequency=1)
    with pytest.raises(DataError, match="not in the BPE vocabulary"):
        trained.detokenize(["no-such-token"])


def test_registry_names_and_errors():
    assert set(TOKENIZERS) == {"word", "char", "jieba", "bpe", "whitespace"}
    for name, cls in TOKENIZERS.items():
        tok = get_tokenizer(name)
        assert type(tok) is cls and tok.name == name
    assert get_tokenizer("word", lowercase=True).lowercase is True
    inst = CharTokenizer()
    assert get_tokenizer(inst) is inst
    with pytest.raises(ConfigError, match="bogus.*valid names: bpe, char, jieba, whitespace, word"):
        get_tokenizer("bogus")
    with pytest.raises(ConfigError, match="bad options"):
        get_tokenizer("char", lowercase=True)


@pytest.mark.parametrize("tok", [WordTokenizer(lowercase=True), WhitespaceTokenizer(),
                                 CharTokenizer(), JiebaTokenizer(hmm=False)])
def test_to_dict_from_dict_and_files(tok, tmp_path):
    data = json.loads(json.dumps(tok.to_dict()))
    assert Tokenizer.from_dict(data) == tok
    assert type(tok).from_dict(data) == tok
    assert Tokenizer.load(tok.save(tmp_path / "t.json")) == tok


def test_from_dict_and_load_errors(tmp_path):
    with pytest.raises(DataError, match="format"):
        Tokenizer.from_dict({"name": "word"})
    with pytest.raises(DataError, match="unknown tokenizer 'nope'.*valid names"):
        Tokenizer.from_dict({"format": "seqlab.tokenizer", "name": "nope"})
    with pytest.raises(DataError, match="describes 'char', not 'word'"):
        WordTokenizer.from_dict(CharTokenizer().to_dict())
    with pytest.raises(DataError, match="does not exist"):
        Tokenizer.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "seqlab.tok', encoding="utf-8")
    with pytest.raises(DataError, match="corrupt"):
        Tokenizer.load(bad)
    broken = BPETokenizer.train(CORPUS, vocab_size=300, min_frequency=1).to_dict()
    broken["model"] = {"model": "garbage"}
    with pytest.raises(DataError, match="corrupt"):
        Tokenizer.from_dict(broken)


def test_repr_names_options():
    assert repr(WordTokenizer(lowercase=True)) == "WordTokenizer(lowercase=True)"
    assert "vocab_size=300" in repr(BPETokenizer(vocab_size=300))
