"""Tag schemes for spans (IOB1, BIO, BIOES), span extraction and scoring as ``conlleval`` does.

A tag is ``"O"`` or ``P-TYPE``: the prefix ``P`` says where the token sits in a span of type
``TYPE``. Schemes (Ramshaw & Marcus 1995; Tjong Kim Sang & Veenstra 1999):

* ``IOB1`` (CoNLL-2003 as distributed): ``I-X`` inside and at the start of a span; ``B-X`` only
  on the first token of a span that directly follows another span of the same type.
* ``BIO`` (IOB2): ``B-X`` on the first token of every span, ``I-X`` on the others.
* ``BIOES`` (IOBES): ``S-X`` a one-token span, else ``B-X`` first, ``I-X`` inside, ``E-X`` last.

Spans are read exactly as the CoNLL ``conlleval`` script (version 2004-01-26) reads them: a
span *ends* between the previous tag ``p`` (type ``u``) and the current ``c`` (type ``v``) when
``(p, c)`` is one of ``(B, B) (B, O) (I, B) (I, O) (E, E) (E, I) (E, O)``, or when ``p != O``
and ``u != v``; one *starts* when ``(p, c)`` is one of ``(B, B) (I, B) (O, B) (O, I) (E, E)
(E, I) (O, E)``, or when ``c != O`` and ``u != v``. So ``I-X`` after ``O`` (or after another
type) opens a span, a type change inside a span closes it and opens another, and IOB1 and BIO
tags give the same spans. Sentence boundaries count as ``O``. ``conlleval`` knows no ``S-``:
score BIOES tags with ``scheme="BIOES"`` (``S``->``B``, ``E``->``I`` first, which keeps the
spans of well-formed BIOES), as :func:`convert` does.

Scores (:func:`span_prf`): a predicted span is correct when a gold span starts and ends on the
same tokens with the same type. ``precision = correct / predicted``, ``recall = correct /
gold``, ``F1 = 2 P R / (P + R)`` (each 0 when its denominator is 0), over all spans (micro) and
per type; ``accuracy`` is the share of tokens whose whole tag is right. ``conlleval`` prints
these times 100 (:func:`report` prints its layout).

    >>> spans(["B-PER", "I-PER", "O", "I-LOC", "I-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('ORG', 4, 5)]
    >>> convert(["I-PER", "I-PER", "B-PER", "O"], "IOB1", "BIOES")
    ['B-PER', 'E-PER', 'S-PER', 'O']
    >>> s = span_prf([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> s.precision, s.recall, s.f1, s.accuracy
    (0.0, 0.0, 0.0, 0.6666666666666666)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seqlab.errors import ConfigError, DataError

__all__ = ["SCHEMES", "split_tag", "spans", "convert", "TypeScores", "SpanScores", "span_prf",
           "token_accuracy", "conlleval", "report"]

SCHEMES = ("IOB1", "BIO", "BIOES")
_PREFIXES = {"IOB1": "IB", "BIO": "IB", "BIOES": "BIES", None: "BIE"}
_END = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
_START = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}


def split_tag(tag: str, scheme: str | None = None, where: str = "") -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``, ``"O"`` -> ``("O", "")`` (split at the first ``-``).

    Raises:
        DataError: a tag that is not ``O`` nor ``P-TYPE`` with ``P`` allowed by ``scheme``
            (``None``: the prefixes conlleval reads, ``B I E``).
    """
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-") if isinstance(tag, str) else ("", "", "")
    allowed = _PREFIXES[scheme]
    if not sep or not kind or len(prefix) != 1 or prefix not in allowed:
        hint = " (S- tags: pass scheme='BIOES')" if prefix == "S" and scheme is None else ""
        raise DataError(f"unknown tag {tag!r}{where}: expected 'O' or P-TYPE with P in "
                        f"{list(allowed)}{' for ' + scheme if scheme else ''}{hint}")
    return prefix, kind


def _check_scheme(scheme: str | None, allow_none: bool = True) -> None:
    if scheme not in SCHEMES and not (allow_none and scheme is None):
        raise ConfigError(f"scheme must be one of {SCHEMES}{' or None' if allow_none else ''}, "
                          f"got {scheme!r}")


def _parsed(tags: Sequence[str], scheme: str | None, where: str = "") -> list[tuple[str, str]]:
    out = []
    for i, tag in enumerate(tags):
        p, k = split_tag(tag, scheme, f"{where} at position {i}")
        if scheme == "BIOES":  # conlleval's reading of well-formed BIOES
            p = {"S": "B", "E": "I"}.get(p, p)
        out.append((p, k))
    return out


def _ends(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
    return (prev[0], cur[0]) in _END or (prev[0] != "O" and prev[1] != cur[1])


def _starts(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
    return (prev[0], cur[0]) in _START or (cur[0] != "O" and prev[1] != cur[1])


def spans(tags: Sequence[str], scheme: str | None = None) -> list[tuple[str, int, int]]:
    """Spans ``(type, start, end)`` (``end`` exclusive) of one sentence, read as conlleval."""
    _check_scheme(scheme)
    out: list[tuple[str, int, int]] = []
    prev, begin = ("O", ""), None
    for i, cur in enumerate([*_parsed(tags, scheme), ("O", "")]):
        if begin is not None and _ends(prev, cur):
            out.append((prev[1], begin, i))
            begin = None
        if i < len(tags) and _starts(prev, cur):
            begin = i
        prev = cur
    return out


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Rewrites one sentence's tags from scheme ``source`` to ``target`` (spans as conlleval)."""
    _check_scheme(source, allow_none=False)
    _check_scheme(target, allow_none=False)
    out = ["O"] * len(tags)
    last_end, last_type = -1, None
    for kind, a, b in spans(tags, source):
        if target == "BIOES":
            if b - a == 1:
                out[a] = f"S-{kind}"
            else:
                out[a], out[b - 1] = f"B-{kind}", f"E-{kind}"
                out[a + 1:b - 1] = [f"I-{kind}"] * (b - a - 2)
        else:
            out[a:b] = [f"I-{kind}"] * (b - a)
            if target == "BIO" or (last_end == a and last_type == kind):
                out[a] = f"B-{kind}"
        last_end, last_type = b, kind
    return out


@dataclass
class TypeScores:
    """Counts and scores (fractions; conlleval prints them x100) of one span type or overall."""

    gold: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass
class SpanScores(TypeScores):
    """Micro scores (the inherited fields), ``per_type`` scores and token accuracy."""

    tokens: int = 0
    correct_tags: int = 0
    per_type: dict[str, TypeScores] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct_tags / self.tokens if self.tokens else 0.0


def _check_pairs(gold, pred) -> list[tuple[Sequence[str], Sequence[str]]]:
    gold, pred = list(gold), list(pred)
    if len(gold) != len(pred):
        raise DataError(f"gold has {len(gold)} sentences but the prediction {len(pred)}")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if isinstance(g, str) or isinstance(p, str):
            raise DataError(f"sentence {i}: expected a sequence of tags, got a string")
        if len(g) != len(p):
            raise DataError(f"sentence {i}: gold has {len(g)} tags but the prediction {len(p)}")
    return list(zip(gold, pred))


def span_prf(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]],
             scheme: str | None = None) -> SpanScores:
    """Span precision/recall/F1 (micro and per type) and token accuracy, as conlleval counts.

    ``gold`` and ``pred`` are lists of sentences (lists of tags). ``scheme`` only chooses which
    prefixes are accepted (``None``: B, I, E as conlleval; ``"BIOES"`` also reads ``S``).
    The running state is conlleval's: a candidate match opens when both sides start a span of
    one type on a token, and counts when both end together on a later token with that type.
    """
    _check_scheme(scheme)
    scores = SpanScores()
    per: dict[str, TypeScores] = {}
    in_match = False
    lg = lp = ("O", "")
    stream: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for i, (g, p) in enumerate(_check_pairs(gold, pred)):
        pg, pp = _parsed(g, scheme, f" in sentence {i} (gold)"), _parsed(p, scheme,
                                                                        f" in sentence {i}")
        stream.extend(zip(pg, pp))
        scores.correct_tags += sum(a == b for a, b in zip(g, p))
        scores.tokens += len(g)
        stream.append((("O", ""), ("O", "")))  # sentence boundary
    for cg, cp in stream:
        if in_match:
            eg, ep = _ends(lg, cg), _ends(lp, cp)
            if eg and ep and lg[1] == lp[1]:
                in_match = False
                scores.correct += 1
                per.setdefault(lg[1], TypeScores()).correct += 1
            elif eg != ep or cg[1] != cp[1]:
                in_match = False
        sg, sp = _starts(lg, cg), _starts(lp, cp)
        if sg and sp and cg[1] == cp[1]:
            in_match = True
        if sg:
            scores.gold += 1
            per.setdefault(cg[1], TypeScores()).gold += 1
        if sp:
            scores.predicted += 1
            per.setdefault(cp[1], TypeScores()).predicted += 1
        lg, lp = cg, cp
    scores.per_type = {k: per[k] for k in sorted(per) if k}
    return scores


def token_accuracy(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> float:
    """Share of tokens whose tag equals the gold tag (e.g. POS accuracy)."""
    pairs = _check_pairs(gold, pred)
    total = sum(len(g) for g, _ in pairs)
    if total == 0:
        raise DataError("token_accuracy needs at least one token")
    return sum(a == b for g, p in pairs for a, b in zip(g, p)) / total


def conlleval(lines: Iterable[str], scheme: str | None = None,
              where: str = "input") -> SpanScores:
    """Scores conlleval's input format: per token ``... GOLD PRED`` (whitespace separated),
    blank lines (or ``-X-`` first fields) between sentences; ``-DOCSTART-`` lines are skipped.

    Raises:
        DataError: a line with another number of fields than the first, naming its number.
    """
    gold: list[list[str]] = [[]]
    pred: list[list[str]] = [[]]
    width = None
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0] == "-X-" or fields[0] == "-DOCSTART-":
            if gold[-1]:
                gold.append([])
                pred.append([])
            continue
        if width is None:
            width = len(fields)
        if len(fields) != width or width < 2:
            raise DataError(f"{where}, line {number}: {len(fields)} fields, expected {width} "
                            "(at least 2: ... GOLD PRED)")
        gold[-1].append(fields[-2])
        pred[-1].append(fields[-1])
    if not gold[-1]:
        gold.pop()
        pred.pop()
    return span_prf(gold, pred, scheme)


def report(scores: SpanScores) -> str:
    """conlleval's printed summary of ``scores`` (percentages with 2 decimals)."""
    s = scores
    lines = [f"processed {s.tokens} tokens with {s.gold} phrases; found: {s.predicted} "
             f"phrases; correct: {s.correct}.",
             f"accuracy: {100 * s.accuracy:6.2f}%; precision: {100 * s.precision:6.2f}%; "
             f"recall: {100 * s.recall:6.2f}%; FB1: {100 * s.f1:6.2f}"]
    for kind, t in s.per_type.items():
        lines.append(f"{kind:>17}: precision: {100 * t.precision:6.2f}%; recall: "
                     f"{100 * t.recall:6.2f}%; FB1: {100 * t.f1:6.2f}  {t.predicted}")
    return "\n".join(lines)
