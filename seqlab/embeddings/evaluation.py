"""Intrinsic evaluation of word vectors: analogies (questions-words) and word-pair similarity.

Both follow gensim's conventions so their figures compare directly: the vocabulary is restricted
to the ``restrict_vocab`` most frequent words; with ``case_insensitive`` words are upper-cased
and a question word maps to its most frequent case variant; questions or pairs with a word
outside the restricted vocabulary are skipped and reported through ``coverage``.

Analogy "a b c d" is answered by the best word, other than a, b, c (compared case-folded),
under 3CosAdd ``cos(w, unit(u_b + u_c - u_a))`` or 3CosMul
``s(w,b) s(w,c) / (s(w,a) + 1e-6)``, ``s = (1 + cos) / 2``; accuracy = correct / answered.
Similarity is Spearman's rho (and Pearson's r) between ``cos(u_w1, u_w2)`` and the human score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.io import read_lines


@dataclass
class AnalogyResult:
    """Accuracy over answered questions; ``coverage`` = answered / all questions."""

    accuracy: float
    correct: int
    answered: int
    questions: int
    sections: list[dict] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.answered / self.questions if self.questions else 0.0


@dataclass
class SimilarityResult:
    """Rank (Spearman) and linear (Pearson) correlation over pairs found in the vocabulary."""

    spearman: float
    pearson: float
    pairs: int
    total: int

    @property
    def coverage(self) -> float:
        return self.pairs / self.total if self.total else 0.0


def _restricted_vocab(kv, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    keys = kv.index_to_key[:restrict_vocab]
    fold = str.upper if case_insensitive else (lambda s: s)
    vocab: dict[str, int] = {}
    for i in range(len(keys) - 1, -1, -1):  # the most frequent case variant wins
        vocab[fold(keys[i])] = i
    return vocab


def _read_lines(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"evaluation file not found: {path}")
    return read_lines(path)


def evaluate_analogies(kv, path, restrict_vocab: int = 300_000, case_insensitive: bool = True,
                       method: str = "add", batch_size: int = 512) -> AnalogyResult:
    """Analogy accuracy on a questions-words file (``: section`` lines, then ``a b c d``).

    Args:
        kv: the ``KeyedVectors``.
        path: the questions file.
        restrict_vocab: only the first this many (most frequent) words are candidates/inputs.
        case_insensitive: compare words upper-cased.
        method: ``"add"`` (3CosAdd) or ``"mul"`` (3CosMul).
        batch_size: questions scored per matrix product.
    """
    if method not in ("add", "mul"):
        raise ConfigError(f"method must be 'add' or 'mul', got {method!r}")
    fold = str.upper if case_insensitive else (lambda s: s)
    vocab = _restricted_vocab(kv, restrict_vocab, case_insensitive)
    sections: list[dict] = []
    questions: list[tuple[int, int, int, int, int]] = []  # (section, ia, ib, ic, id)
    total = 0
    for line in _read_lines(path):
        if line.startswith(": "):
            sections.append({"section": line[2:].strip(), "correct": 0, "incorrect": 0,
                             "questions": 0})
            continue
        words = [fold(w) for w in line.split()]
        if len(words) != 4:
            continue
        if not sections:
            raise DataError(f"{path}: a question comes before the first ': section' line")
        total += 1
        sections[-1]["questions"] += 1
        if all(w in vocab for w in words):
            questions.append((len(sections) - 1, *(vocab[w] for w in words)))
    end = min(restrict_vocab, len(kv))
    vectors = np.asarray(kv.vectors[:end], dtype=np.float32)
    norms = np.where(kv.norms[:end] > 0, kv.norms[:end], 1.0)
    unit = vectors / norms[:, None]
    folded = [fold(k) for k in kv.index_to_key[:end]]
    q = np.array(questions, dtype=np.int64).reshape(-1, 5)
    for start in range(0, len(q), batch_size):
        block = q[start:start + batch_size]
        ia, ib, ic, idx = block[:, 1], block[:, 2], block[:, 3], block[:, 4]
        if method == "add":
            mean = (unit[ib] + unit[ic] - unit[ia]) / 3
            mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-30)
            scores = (mean @ vectors.T) / norms
        else:
            def s(i):
                return (1 + (unit[i] @ vectors.T) / norms) / 2
            scores = s(ib) * s(ic) / (s(ia) + 1e-6)
        rows = np.arange(len(block))
        for col in (ia, ib, ic):
            scores[rows, col] = -np.inf
        k = min(5, end)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, 1)
        for r in range(len(block)):
            ignore = {folded[ia[r]], folded[ib[r]], folded[ic[r]]}
            predicted = None
            for j in top[r]:
                predicted = folded[j]
                if predicted not in ignore:
                    break
            sec = sections[block[r, 0]]
            if predicted == folded[idx[r]]:
                sec["correct"] += 1
            else:
                sec["incorrect"] += 1
    correct = sum(s["correct"] for s in sections)
    answered = correct + sum(s["incorrect"] for s in sections)
    return AnalogyResult(correct / answered if answered else 0.0, correct, answered, total,
                         sections)


def evaluate_similarity(kv, path, restrict_vocab: int = 300_000,
                        case_insensitive: bool = True) -> SimilarityResult:
    """Correlation with human scores on ``word1<TAB>word2<TAB>score`` lines (``#`` = comment).

    WordSim-353 (``.tsv``) and SimLex-999 (``.txt``) in gensim's test-data layout both work.
    """
    from scipy import stats

    fold = str.upper if case_insensitive else (lambda s: s)
    vocab = _restricted_vocab(kv, restrict_vocab, case_insensitive)
    gold, model, total = [], [], 0
    for line in _read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 3:
            continue
        try:
            score = float(parts[2])
        except ValueError:
            continue
        total += 1
        a, b = fold(parts[0].strip()), fold(parts[1].strip())
        if a in vocab and b in vocab:
            va, vb = kv.vectors[vocab[a]], kv.vectors[vocab[b]]
            denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
            gold.append(score)
            model.append(float(np.dot(va, vb)) / denom if denom > 0 else 0.0)
    if total == 0:
        raise DataError(f"{path}: no 'word1 word2 score' lines found")
    if len(gold) < 2:
        raise DataError(f"{path}: only {len(gold)} of {total} pairs have both words in the "
                        "vocabulary; need at least 2 for a correlation")
    return SimilarityResult(float(stats.spearmanr(gold, model)[0]),
                            float(stats.pearsonr(gold, model)[0]), len(gold), total)
