"""Tag schemes and conlleval scoring: hand-computed conlleval figures and seqeval as oracle."""

from __future__ import annotations

import random

import pytest

from seqlab.errors import ConfigError, DataError
from seqlab.text.tags import conlleval, convert, report, span_prf, spans, token_accuracy

# A conlleval input file (token GOLD PRED) with tricky spans. Expected figures by conlleval's
# rules (see seqlab.text.tags), sentence by sentence; spans written TYPE[first-last token]:
#  s1  I- without B- in the prediction: (O, I) starts a span, so pred PER[1-2] = gold PER[1-2]:
#      1 correct (seqeval strict would reject the I-PER start).
#  s2  type change inside a span: pred LOC[1] + ORG[2] vs gold LOC[1-2]: 0 correct.
#  s3  B- after I- of the same type starts a new span: gold ORG[1] + ORG[2-3] vs pred
#      ORG[1-3]: 0 correct.
#  s4  gold written IOB1 (I-MISC B-MISC), pred BIO (B-MISC B-MISC): both are MISC[1] + MISC[2]:
#      2 correct.
#  s5  a span closed by the sentence end: PER[1-2] both: 1 correct.
#  s6  the next sentence starting with I-PER after s5's I-PER is a new span (boundaries are O):
#      pred PER[1] = gold PER[1]: 1 correct.
#  s7  a spurious and a missed LOC: gold LOC[2], pred LOC[1]: 0 correct.
#  s8  a spurious PER[1-2] in the prediction.
# Gold spans: PER 3 (s1 s5 s6), LOC 2 (s2 s7), ORG 2 (s3), MISC 2 (s4) = 9.
# Predicted:  PER 4 (s1 s5 s6 s8), LOC 2 (s2 s7), ORG 2 (s2 s3), MISC 2 (s4) = 10.
# Correct:    PER 3, MISC 2, LOC 0, ORG 0 = 5.
# precision 5/10 = 50.00%, recall 5/9 = 55.56%, FB1 2*50*55.56/105.56 = 52.63.
# PER: P 3/4 = 75.00, R 3/3 = 100.00, F 2*75*100/175 = 85.71; MISC 100/100/100;
# LOC and ORG 0/0/0. Accuracy: tags equal on 2+2+2+2+2+1+0+0 = 11 of 20 tokens = 55.00%.
TRICKY = """\
-DOCSTART- -X- O O

John B-PER I-PER
Smith I-PER I-PER
said O O

New B-LOC B-LOC
York I-LOC I-ORG
rose O O

IBM B-ORG B-ORG
Big B-ORG I-ORG
Blue I-ORG I-ORG

German I-MISC B-MISC
French B-MISC B-MISC
wine O O

Ann B-PER B-PER
Lee I-PER I-PER

Bob B-PER I-PER
ran O O

in O B-LOC
Paris B-LOC O

the O B-PER
end O I-PER
"""


def test_conlleval_figures_on_tricky_file():
    s = conlleval(TRICKY.splitlines())
    assert (s.tokens, s.gold, s.predicted, s.correct, s.correct_tags) == (20, 9, 10, 5, 11)
    assert round(100 * s.precision, 2) == 50.00
    assert round(100 * s.recall, 2) == 55.56
    assert round(100 * s.f1, 2) == 52.63
    assert round(100 * s.accuracy, 2) == 55.00
    per = {k: (t.gold, t.predicted, t.correct, round(100 * t.precision, 2),
               round(100 * t.recall, 2), round(100 * t.f1, 2)) for k, t in s.per_type.items()}
    assert per == {"LOC": (2, 2, 0, 0.0, 0.0, 0.0), "MISC": (2, 2, 2, 100.0, 100.0, 100.0),
                   "ORG": (2, 2, 0, 0.0, 0.0, 0.0), "PER": (3, 4, 3, 75.0, 100.0, 85.71)}
    text = report(s)
    assert text.splitlines()[0] == ("processed 20 tokens with 9 phrases; found: 10 phrases; "
                                    "correct: 5.")
    assert "accuracy:  55.00%; precision:  50.00%; recall:  55.56%; FB1:  52.63" in text
    assert "              PER: precision:  75.00%; recall: 100.00%; FB1:  85.71  4" in text


def test_spans_as_conlleval_reads_them():
    assert spans(["I-PER", "I-PER", "B-PER", "I-LOC", "O", "I-LOC"]) == [
        ("PER", 0, 2), ("PER", 2, 3), ("LOC", 3, 4), ("LOC", 5, 6)]
    assert spans(["B-X", "E-X", "E-X", "I-X"]) == [("X", 0, 2), ("X", 2, 3), ("X", 3, 4)]
    assert spans(["B-A", "E-A", "S-A", "O", "S-B"], "BIOES") == [
        ("A", 0, 2), ("A", 2, 3), ("B", 4, 5)]
    assert spans([]) == []


def test_conversions():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O"]
    bio = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "O"]
    bioes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG", "O"]
    assert convert(iob1, "IOB1", "BIO") == bio
    assert convert(bio, "BIO", "BIOES") == bioes
    assert convert(bioes, "BIOES", "BIO") == bio
    assert convert(bio, "BIO", "IOB1") == iob1
    assert convert(iob1, "IOB1", "BIOES") == bioes
    assert convert(["B-X", "I-X", "I-X", "I-X"], "BIO", "BIOES") == ["B-X", "I-X", "I-X", "E-X"]
    # ill-formed BIO (I- without B-) is repaired the way conlleval reads it
    assert convert(["O", "I-X", "I-Y"], "BIO", "BIO") == ["O", "B-X", "B-Y"]


def random_bio(rng, n, types=("PER", "LOC", "ORG")):
    tags, cur = [], None
    for _ in range(n):
        r = rng.random()
        if cur is not None and r < 0.4:
            tags.append(f"I-{cur}")
        elif r < 0.75:
            tags.append("O")
            cur = None
        else:
            cur = rng.choice(types)
            tags.append(f"B-{cur}")
    return tags


def random_any(rng, n, types=("PER", "LOC")):
    return [rng.choice(["O", *(f"{p}-{t}" for p in "BI" for t in types)]) for _ in range(n)]


def corrupt(rng, tags, types=("PER", "LOC", "ORG")):
    return [t if rng.random() < 0.7 else rng.choice(["O", f"B-{rng.choice(types)}"])
            for t in tags]


def seqeval_figures(gold, pred, **kw):
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    micro = tuple(f(gold, pred, zero_division=0, **kw)
                  for f in (precision_score, recall_score, f1_score))
    rep = classification_report(gold, pred, output_dict=True, zero_division=0, **kw)
    per = {k: (v["precision"], v["recall"], v["f1-score"], v["support"]) for k, v in rep.items()
           if not k.endswith(" avg")}
    return micro, per


def ours(gold, pred, scheme=None):
    s = span_prf(gold, pred, scheme)
    per = {k: (t.precision, t.recall, t.f1, t.gold) for k, t in s.per_type.items() if t.gold}
    return (s.precision, s.recall, s.f1), per


@pytest.mark.parametrize("seed", range(5))
def test_equals_seqeval_strict_on_valid_bio(seed):
    pytest.importorskip("seqeval", reason="seqeval (test extra) not installed")
    from seqeval.scheme import IOB2

    rng = random.Random(seed)
    gold = [random_bio(rng, rng.randint(1, 15)) for _ in range(60)]
    # predictions: valid BIO that share much with gold (repair corrupted tags into valid BIO)
    pred = [convert(corrupt(rng, g), "BIO", "BIO") for g in gold]
    want_micro, want_per = seqeval_figures(gold, pred, mode="strict", scheme=IOB2)
    got_micro, got_per = ours(gold, pred)
    assert got_micro == pytest.approx(want_micro)
    assert got_per.keys() == want_per.keys()
    for k in want_per:
        assert got_per[k] == pytest.approx(want_per[k])
    # the same in BIOES: seqeval strict with IOBES against our scheme="BIOES"
    from seqeval.scheme import IOBES

    g2 = [convert(g, "BIO", "BIOES") for g in gold]
    p2 = [convert(p, "BIO", "BIOES") for p in pred]
    want = seqeval_figures(g2, p2, mode="strict", scheme=IOBES)
    got = ours(g2, p2, "BIOES")
    assert got[0] == pytest.approx(want[0])


@pytest.mark.parametrize("seed", range(3))
def test_equals_seqeval_default_mode_on_any_tags(seed):
    """seqeval's default mode is conlleval's reading; it must agree on ill-formed tags too."""
    pytest.importorskip("seqeval", reason="seqeval (test extra) not installed")
    rng = random.Random(100 + seed)
    gold = [random_any(rng, rng.randint(1, 12)) for _ in range(80)]
    pred = [corrupt(rng, g, ("PER", "LOC")) for g in gold]
    got_micro, got_per = ours(gold, pred)
    want_micro, want_per = seqeval_figures(gold, pred)
    assert got_micro == pytest.approx(want_micro)
    for k in want_per:
        assert got_per[k] == pytest.approx(want_per[k])


def test_correct_spans_equal_span_set_intersection():
    rng = random.Random(7)
    gold = [random_any(rng, rng.randint(1, 10)) for _ in range(200)]
    pred = [corrupt(rng, g) for g in gold]
    s = span_prf(gold, pred)
    inter = sum(len(set(spans(g)) & set(spans(p))) for g, p in zip(gold, pred))
    assert s.correct == inter
    assert s.gold == sum(len(spans(g)) for g in gold)


def test_token_accuracy():
    assert token_accuracy([["NN", "VB"], ["DT"]], [["NN", "NN"], ["DT"]]) == pytest.approx(2 / 3)
    with pytest.raises(DataError, match="at least one token"):
        token_accuracy([[]], [[]])


@pytest.mark.parametrize("call, match", [
    (lambda: span_prf([["O"]], [["O"], ["O"]]), "gold has 1 sentences but the prediction 2"),
    (lambda: span_prf([["O", "O"]], [["O"]]), "sentence 0: gold has 2 tags but the prediction 1"),
    (lambda: span_prf([["O", "X-PER"]], [["O", "O"]]),
     r"unknown tag 'X-PER' in sentence 0 \(gold\) at position 1"),
    (lambda: span_prf([["S-PER"]], [["O"]]), "scheme='BIOES'"),
    (lambda: span_prf([["PER"]], [["O"]]), "unknown tag 'PER'"),
    (lambda: convert(["E-X"], "BIO", "BIOES"), "unknown tag 'E-X'"),
    (lambda: convert(["O"], "IOB2", "BIO"), "scheme must be one of"),
    (lambda: span_prf(["O"], ["O"]), "expected a sequence of tags"),
    (lambda: conlleval(["a B-X B-X", "b O"]), "line 2: 2 fields, expected 3"),
])
def test_bad_input(call, match):
    with pytest.raises((DataError, ConfigError), match=match):
        call()


def test_empty_prediction_scores_zero():
    s = span_prf([["B-PER", "O"]], [["O", "O"]])
    assert (s.precision, s.recall, s.f1, s.gold, s.predicted) == (0.0, 0.0, 0.0, 1, 0)
