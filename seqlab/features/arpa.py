"""ARPA back-off language model files (the format KenLM, SRILM and IRSTLM read and write).

Layout::

    \\data\\
    ngram 1=<count>
    ...
    \\1-grams:
    <log10 p(w)>    <w>        [<log10 back-off(w)>]
    ...
    \\2-grams:
    <log10 p(w2|w1)> <w1> <w2> [<log10 back-off(w1 w2)>]
    ...
    \\end\\

p(w | h) = the entry for h w if present, else back-off(h) * p(w | h without its first word),
with back-off(h) = 1 when h has no entry. Probabilities of 0 are written as -99 (the common
convention; read back as 0). Numbers are written with ``repr`` so a round trip is exact.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

import numpy as np

from seqlab.errors import DataError, MissingFileError
from seqlab.features import ngram_counts as nc
from seqlab.io import atomic_open, open_text

_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def _number(x: float) -> str:
    return "-99" if x == -np.inf else repr(float(x))


def write_arpa(path: str | os.PathLike, vocab: list[str], ngram_words: list[np.ndarray],
               log10_probs: list[np.ndarray], log10_backoffs: list[np.ndarray | None]) -> None:
    """Write an ARPA file atomically. ``ngram_words[n-1]`` is (count, n) word ids."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        for n, words in enumerate(ngram_words, start=1):
            f.write(f"ngram {n}={len(words)}\n")
        words_arr = np.asarray(vocab, dtype=object)
        for n, (words, lp) in enumerate(zip(ngram_words, log10_probs), start=1):
            f.write(f"\n\\{n}-grams:\n")
            text = [" ".join(row) for row in words_arr[words].tolist()]
            bow = log10_backoffs[n - 1] if n - 1 < len(log10_backoffs) else None
            probs = [_number(x) for x in lp.tolist()]
            if bow is None:
                f.writelines(f"{p}\t{t}\n" for p, t in zip(probs, text))
            else:
                f.writelines(f"{p}\t{t}\t{_number(b)}\n" if b != 0.0 else f"{p}\t{t}\n"
                             for p, t, b in zip(probs, text, bow.tolist()))
        f.write("\n\\end\\\n")


def _parse_float(field: str, where: str) -> float:
    try:
        value = float(field)
    except ValueError:
        raise DataError(f"{where}: expected a log10 number, got {field!r}") from None
    return -np.inf if value <= -99 else value


def read_arpa(path: str | os.PathLike) -> tuple[list[list[tuple[str, ...]]],
                                                 list[np.ndarray], list[np.ndarray]]:
    """Parse an ARPA file: per order the n-grams (word tuples), log10 probs, log10 back-offs."""
    try:
        f = open_text(path, newline=None)  # the encoding policy (UTF-8 by default)
    except MissingFileError:
        raise MissingFileError(f"cannot read ARPA file {path}: no such file") from None
    with f:
        return _parse(f, str(path))


def _parse(f: TextIO, name: str):
    line_no = 0

    def where() -> str:
        return f"{name}, line {line_no}"

    lines = iter(f)
    for line in lines:  # skip anything before \data\ (SRILM and KenLM allow a preamble)
        line_no += 1
        if line.strip() == "\\data\\":
            break
    else:
        raise DataError(f"{name}: not an ARPA file (no \\data\\ line)")
    expected: dict[int, int] = {}
    line = ""
    for line in lines:
        line_no += 1
        line = line.strip()
        if not line:
            if expected:
                break
            continue
        match = _COUNT.match(line)
        if match is None:
            break
        expected[int(match.group(1))] = int(match.group(2))
    if not expected or sorted(expected) != list(range(1, len(expected) + 1)):
        raise DataError(f"{where()}: expected 'ngram 1=..', 'ngram 2=..', .. counts after "
                        f"\\data\\, got orders {sorted(expected)}")
    grams: list[list[tuple[str, ...]]] = []
    probs: list[list[float]] = []
    bows: list[list[float]] = []
    current = 0
    ended = False
    for raw in lines:
        line_no += 1
        line = raw.strip()
        if not line:
            continue
        if line == "\\end\\":
            ended = True
            break
        section = _SECTION.match(line)
        if section:
            current = int(section.group(1))
            if current != len(grams) + 1 or current not in expected:
                raise DataError(f"{where()}: unexpected section {line!r}")
            grams.append([])
            probs.append([])
            bows.append([])
            continue
        if current == 0:
            raise DataError(f"{where()}: n-gram line before any \\N-grams: section")
        fields = line.split()
        if len(fields) not in (current + 1, current + 2):
            raise DataError(f"{where()}: a {current}-gram line needs log10 p, {current} "
                            f"word(s) and an optional back-off; got {len(fields)} fields")
        probs[-1].append(_parse_float(fields[0], where()))
        grams[-1].append(tuple(fields[1:current + 1]))
        bows[-1].append(_parse_float(fields[-1], where()) if len(fields) == current + 2
                        else 0.0)
    if not ended:
        raise DataError(f"{name}: no \\end\\ line (file truncated?)")
    for n, count in expected.items():
        got = len(grams[n - 1]) if n <= len(grams) else 0
        if got != count:
            raise DataError(f"{name}: header says ngram {n}={count} but the file has {got}")
    return grams, [np.asarray(p) for p in probs], [np.asarray(b) for b in bows]


def backoff_tables(grams: list[list[tuple[str, ...]]], probs: list[np.ndarray],
                   bows: list[np.ndarray], path: str):
    """``read_arpa``'s output as NgramLM arrays (see ``ngram_counts``): vocabulary with
    <unk>, <s>, </s> first, then per order sorted keys, log10 probs and log10 back-offs."""
    words = [g[0] for g in grams[0]]
    order = [nc.UNK, nc.BOS, nc.EOS] + [w for w in words if w not in (nc.UNK, nc.BOS, nc.EOS)]
    word_to_id = {w: i for i, w in enumerate(order)}
    if len(word_to_id) != len(order) or len(set(words)) != len(words):
        raise DataError(f"{path}: a word appears twice among the 1-grams")
    V = len(order)
    unigram_p = np.full(V, -np.inf)  # a special missing from the file (often <unk>): p = 0
    unigram_b = np.zeros(V)
    ids = np.array([word_to_id[w] for w in words], dtype=np.int64)
    unigram_p[ids], unigram_b[ids] = probs[0], bows[0]
    unigram_p[nc.BOS_ID] = -np.inf
    keys, log10_prob, log10_backoff = [np.arange(V, dtype=np.int64)], [unigram_p], [unigram_b]
    for n in range(2, len(grams) + 1):
        try:
            w = np.array([[word_to_id[x] for x in g] for g in grams[n - 1]],
                         dtype=np.int64).reshape(-1, n)
        except KeyError as exc:
            raise DataError(f"{path}: the {n}-gram word {exc.args[0]!r} has no 1-gram "
                            "entry") from None
        row = w[:, 0]
        for m in range(2, n):
            row = nc.lookup(keys[m - 1], row, w[:, m - 1], V)
        if (row < 0).any():
            bad = " ".join(grams[n - 1][int(np.flatnonzero(row < 0)[0])])
            raise DataError(f"{path}: the {n}-gram {bad!r} has no entry for its context")
        k = row * V + w[:, -1]
        sort = np.argsort(k, kind="stable")
        k = k[sort]
        if (np.diff(k) == 0).any():
            raise DataError(f"{path}: a {n}-gram appears twice")
        keys.append(k)
        log10_prob.append(probs[n - 1][sort])
        log10_backoff.append(bows[n - 1][sort])
    return order, keys, log10_prob, log10_backoff[:-1]
