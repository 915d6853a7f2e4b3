"""Vocabulary-side tables of word2vec: frequency order, subsampling, negative table, Huffman tree.

* Subsampling (Mikolov et al. 2013, as in the C tool and gensim): with ``t = sample * total``
  a word of count ``c`` is kept with probability ``min(1, (sqrt(c / t) + 1) * t / c)``.
* Negative table: word ``w`` fills a share ``c_w^0.75 / sum_v c_v^0.75`` of an int32 array, so a
  uniform index into it draws from the smoothed unigram distribution.
* Huffman tree over counts: frequent words get short codes. Word ``w`` has path ``points[w]``
  (internal-node rows of ``syn1``) and bits ``codes[w]``; with ``x_d = h . syn1[points_d]``,
  ``P(w | h) = prod_d sigmoid((1 - 2 codes_d) x_d)``, which sums to 1 over the vocabulary.
"""

from __future__ import annotations

import heapq

import numpy as np

from seqlab.errors import DataError

TABLE_SIZE = 10_000_000


def build_vocab(words: list[str], counts: np.ndarray, tokens: np.ndarray, starts: np.ndarray,
                min_count: int, max_vocab_size: int | None = None):
    """Keep words with ``count >= min_count``, most frequent first (ties: the word whose first
    occurrence comes later first, as gensim); remap the token array.

    Returns:
        ``(keys, counts, tokens, starts)`` with the filtered vocabulary and corpus.
    """
    keep = np.flatnonzero(counts >= min_count)
    if len(keep) == 0:
        raise DataError(f"min_count={min_count} leaves an empty vocabulary (the most frequent "
                        f"word occurs {int(counts.max())} times)")
    # most frequent first; among equal counts the word seen *last* first, as gensim 4.4 orders
    # them (``lexsort((-index, -count))``). The order of ties decides which words are siblings
    # in the Huffman tree, and on PTB skip-gram/hierarchical softmax the two tie orders give
    # WordSim-353 rho several points apart whatever the seed, so seqlab uses gensim's.
    order = keep[np.lexsort((-keep, -counts[keep]))]
    if max_vocab_size is not None:
        order = order[:max_vocab_size]
    remap = np.full(len(words), -1, dtype=np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    mapped = remap[tokens]
    kept = mapped >= 0
    csum = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])
    new_starts = csum[starts]
    return [words[i] for i in order], counts[order], mapped[kept], new_starts


def map_to_vocab(words: list[str], tokens: np.ndarray, starts: np.ndarray,
                 key_to_index: dict[str, int]):
    """Re-express an encoded corpus in an existing vocabulary, dropping unknown words.

    Returns:
        ``(tokens, starts)`` with vocabulary ids.
    """
    remap = np.fromiter((key_to_index.get(w, -1) for w in words), np.int32, count=len(words))
    mapped = remap[tokens]
    kept = mapped >= 0
    csum = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])
    return mapped[kept], csum[starts]


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word under frequent-word subsampling."""
    if sample <= 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * float(counts.sum())
    c = counts.astype(np.float64)
    return np.minimum(1.0, (np.sqrt(c / threshold) + 1) * threshold / c).astype(np.float32)


def negative_table(counts: np.ndarray, power: float = 0.75,
                   size: int | None = None) -> np.ndarray:
    """int32 table in which word ``w`` occupies a share ``c_w^power / sum c^power``."""
    if size is None:
        size = int(min(TABLE_SIZE, max(1_000_000, 100 * len(counts))))
    weights = counts.astype(np.float64) ** power
    cum = np.cumsum(weights) / weights.sum()
    positions = (np.arange(size, dtype=np.float64) + 0.5) / size
    return np.minimum(np.searchsorted(cum, positions, side="right"),
                      len(counts) - 1).astype(np.int32)


class _Node:
    __slots__ = ("count", "index")

    def __init__(self, count: int, index: int) -> None:
        self.count, self.index = count, index

    def __lt__(self, other: _Node) -> bool:
        return self.count < other.count


def huffman_tree(counts: np.ndarray):
    """Huffman codes over ``counts``.

    Returns:
        ``(codes uint8 (V, L), points int32 (V, L), lengths int32 (V,))``: the bits and the
        internal-node indices (0..V-2, the root is V-2) from the root down to each leaf.
    """
    V = len(counts)
    if V < 2:  # a single word: one internal node with one branch, P = sigmoid(x)
        return np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.ones(1, np.int32)
    # A binary heap whose items compare by count only, as gensim's: equal counts then leave the
    # heap in the order its sift operations give, so with gensim's vocabulary order the tree is
    # gensim's node for node (which words become siblings among equal counts measurably changes
    # skip-gram/hierarchical-softmax vectors; see build_vocab).
    heap = [_Node(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * V - 1, dtype=np.int64)
    bit = np.zeros(2 * V - 1, dtype=np.uint8)
    next_id = V
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        parent[a.index], parent[b.index] = next_id, next_id
        bit[b.index] = 1  # the larger of the two children takes bit 1, as in the C tool
        heapq.heappush(heap, _Node(a.count + b.count, next_id))
        next_id += 1
    root = 2 * V - 2
    paths = []
    for w in range(V):
        node, code, point = w, [], []
        while node != root:
            code.append(bit[node])
            node = int(parent[node])
            point.append(node - V)
        paths.append((code[::-1], point[::-1]))
    L = max(len(c) for c, _ in paths)
    codes = np.zeros((V, L), np.uint8)
    points = np.zeros((V, L), np.int32)
    lengths = np.zeros(V, np.int32)
    for w, (code, point) in enumerate(paths):
        codes[w, :len(code)] = code
        points[w, :len(point)] = point
        lengths[w] = len(code)
    return codes, points, lengths
