"""CoNLL-2003, CoNLL-U and column readers: hand-made files and the published corpus counts."""

from __future__ import annotations

import doctest
import gzip
from collections import Counter

import pytest

import seqlab.data.conll as conll
from seqlab.data.conll import load_tagged, read_columns, read_conll2003, read_conllu
from seqlab.errors import ConfigError, DataError
from seqlab.text.tags import spans

CONLL03 = """\
-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O


Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
Smith NNP I-NP B-PER

-DOCSTART- -X- O O

BRUSSELS NNP I-NP I-LOC
"""

CONLLU = """\
# newdoc id = d1
# sent_id = s1
# text = I can't go.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_
2\tca\tcan\tAUX\tMD\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
4.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t0:root\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = s2
1\tNew York\tNew York\tPROPN\tNNP\t_\t0\troot\t_\t_
"""


def write(tmp_path, name, text, gz=False):
    path = tmp_path / name
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_conll2003_hand_made(tmp_path):
    path = write(tmp_path, "eng.mini", CONLL03)
    sents = read_conll2003(path)
    assert [s.words for s in sents] == [["EU", "rejects", "German", "call"],
                                        ["Peter", "Blackburn", "Smith"], ["BRUSSELS"]]
    assert sents[1].tags == ["I-PER", "I-PER", "B-PER"]  # IOB1 as distributed
    assert read_conll2003(path, scheme="BIO")[1].tags == ["B-PER", "I-PER", "B-PER"]
    assert read_conll2003(path, scheme="BIOES")[1].tags == ["B-PER", "E-PER", "S-PER"]
    assert read_conll2003(path, scheme="BIOES")[0].tags == ["S-ORG", "O", "S-MISC", "O"]
    assert read_conll2003(path, column="pos")[0].tags == ["NNP", "VBZ", "JJ", "NN"]
    assert read_conll2003(path, column="chunk", scheme="BIO")[0].tags == ["B-NP", "B-VP",
                                                                          "B-NP", "I-NP"]


def test_conllu_words_are_the_integer_id_lines(tmp_path):
    for gz in (False, True):
        path = write(tmp_path, "mini.conllu" + (".gz" if gz else ""), CONLLU, gz)
        sents = read_conllu(path)
        # the range line 2-3 "can't" and the empty node 4.1 are not words
        assert sents[0].words == ["I", "ca", "n't", "go", "."]
        assert sents[0].tags == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
        assert read_conllu(path, "xpos")[0].tags == ["PRP", "MD", "RB", "VB", "."]
        assert sents[1].words == ["New York"]  # FORM may hold a space: columns are tabs
        assert load_tagged(path, column="xpos")[1].tags == ["NNP"]


def test_two_column_file_and_crlf(tmp_path):
    path = write(tmp_path, "two.txt", "a DT\r\ncat NN\r\n\r\n\r\nsat VBD\r\n")
    sents = load_tagged(path)
    assert sents == [(["a", "cat"], ["DT", "NN"]), (["sat"], ["VBD"])]
    bio = write(tmp_path, "ner.txt", "Ann I-PER\nLee I-PER\nBob B-PER\n")
    assert load_tagged(bio, scheme="IOB1->BIO")[0].tags == ["B-PER", "I-PER", "B-PER"]


@pytest.mark.parametrize("reader, text, match", [
    (read_columns, "a DT\ncat NN x\n", r"line 2: 3 columns, expected 2 \(ragged"),
    (read_conll2003, "EU NNP I-NP I-ORG\n\nrejects VBZ O\n", r"line 3: 3 columns, expected 4"),
    (read_conllu, "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n", "line 1: 9 tab-separated columns"),
    (read_conllu, "x\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n", "ID 'x' is not an integer"),
    (read_columns, "\n\n-DOCSTART- -X- O O\n\n", "no sentences found"),
])
def test_bad_files_name_file_and_line(tmp_path, reader, text, match):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataError, match=match) as info:
        reader(path)
    assert str(path) in str(info.value) or "no sentences" in match


def test_bad_options(tmp_path):
    path = write(tmp_path, "eng.mini", CONLL03)
    with pytest.raises(ConfigError, match="column must be one of"):
        read_conll2003(path, column="lemma")
    with pytest.raises(ConfigError, match="not 'pos'"):
        read_conll2003(path, column="pos", scheme="BIO")
    with pytest.raises(ConfigError, match="column must be one of"):
        read_conllu(path, column="lemma")
    with pytest.raises(ConfigError, match="SRC->DST"):
        load_tagged(path, scheme="BIO")
    with pytest.raises(DataError, match="not found"):
        read_columns(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="not a tagged corpus"):
        load_tagged("ptb")


def test_docstring_examples():
    result = doctest.testmod(conll, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# Published counts: CoNLL-2003 (Tjong Kim Sang & De Meulder 2003, Table 1 / the mirror's
# SOURCE.md), UD English-EWT v2.16 (the mirror's SOURCE.md, integer-ID rows).
CONLL_COUNTS = {"train": (14_041, 203_621, {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}),
                "valid": (3_250, 51_362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}),
                "test": (3_453, 46_435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617})}
EWT_COUNTS = {"train": (12_544, 204_577), "valid": (2_001, 25_147), "test": (2_077, 25_094)}
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}


@pytest.mark.data
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_conll2003_counts(shared_data, monkeypatch, split):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    n_sent, n_tok, entities = CONLL_COUNTS[split]
    sents = load_tagged("conll2003", split)
    assert len(sents) == n_sent
    assert sum(len(s.words) for s in sents) == n_tok
    found = Counter(kind for s in sents for kind, _, _ in spans(s.tags))
    assert found == entities
    bioes = load_tagged("conll2003", split, scheme="BIOES")
    assert Counter(kind for s in bioes for kind, _, _ in spans(s.tags, "BIOES")) == entities


@pytest.mark.data
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_ud_english_ewt_counts(shared_data, monkeypatch, split):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    sents = load_tagged("ud-english-ewt", split)
    assert (len(sents), sum(len(s.words) for s in sents)) == EWT_COUNTS[split]
    assert {t for s in sents for t in s.tags} <= UPOS
    xpos = load_tagged("ud-english-ewt", split, column="xpos")
    assert [len(s.tags) for s in xpos] == [len(s.tags) for s in sents]
    assert "NNP" in {t for s in xpos for t in s.tags}
