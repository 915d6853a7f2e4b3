"""Compiled (numba) BM25 query kernel: sparse row sums and top-k without touching every document.

Imported by ``BM25.search`` on first use, so ``import seqlab`` never loads numba.
For each query, the rows of ``scores_`` for its terms are added into a dense buffer while the
documents touched are remembered; every untouched document has the same score (the sum of the
query terms' ``baseline_``), so the k lowest-index untouched documents are the only other
candidates. A size-k heap keeps the best (score, then lower index) and the buffer is reset only
where it was touched: the cost is the postings read, not the corpus size. When the postings
are many (over a quarter of the corpus size), one dense pass over the buffer is cheaper.

When every query term's scores are >= 0, terms are visited rarest-first (by their largest
score) and MaxScore pruning applies: once the k-th best partial score exceeds what the
remaining terms could add, only the documents that can still reach it are followed, by binary
search in the long posting lists of common words. Exact: the same top k as a full sort.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _worse(s1: float, i1: int, s2: float, i2: int) -> bool:
    """(s1, i1) ranks below (s2, i2): lower score, or same score and higher index."""
    return s1 < s2 or (s1 == s2 and i1 > i2)


@njit(cache=True, nogil=True)
def _push(heap_s, heap_i, size, k, s, i):
    """Offer (s, i) to a min-heap (worst on top) of capacity k; return the new size."""
    if size < k:
        pos = size
        size += 1
    elif _worse(heap_s[0], heap_i[0], s, i):
        pos = 0  # replace the worst, then sift down
        while True:
            child = 2 * pos + 1
            if child >= size:
                break
            if child + 1 < size and _worse(heap_s[child + 1], heap_i[child + 1],
                                           heap_s[child], heap_i[child]):
                child += 1
            if _worse(heap_s[child], heap_i[child], s, i):
                heap_s[pos] = heap_s[child]
                heap_i[pos] = heap_i[child]
                pos = child
            else:
                break
        heap_s[pos] = s
        heap_i[pos] = i
        return size
    else:
        return size
    while pos > 0:  # sift up a new element
        parent = (pos - 1) // 2
        if _worse(s, i, heap_s[parent], heap_i[parent]):
            heap_s[pos] = heap_s[parent]
            heap_i[pos] = heap_i[parent]
            pos = parent
        else:
            break
    heap_s[pos] = s
    heap_i[pos] = i
    return size


@njit(cache=True, nogil=True)
def _find(indices, lo, hi, d):
    """Position of document d in the sorted slice indices[lo:hi], or -1."""
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < d:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < end and indices[lo] == d else -1


@njit(cache=True, nogil=True)
def search_batch(indptr, indices, data, baseline, term_max, term_min, query_ptr, query_ids,
                 n_docs, k, out_idx, out_scores):
    """Top-k of every query. Query q's term rows are query_ids[query_ptr[q]:query_ptr[q+1]],
    sorted by decreasing ``term_max`` (the largest score a term gives any document)."""
    acc = np.zeros(n_docs)
    seen = np.zeros(n_docs, dtype=np.bool_)
    touched = np.empty(n_docs, dtype=np.int64)
    candidates = np.empty(n_docs, dtype=np.int64)
    partial = np.empty(n_docs)
    heap_s = np.empty(k)
    heap_i = np.empty(k, dtype=np.int64)
    for q in range(len(query_ptr) - 1):
        first, last = query_ptr[q], query_ptr[q + 1]
        base = 0.0
        n_postings = 0
        nonnegative = True
        for p in range(first, last):
            t = query_ids[p]
            base += baseline[t]
            n_postings += indptr[t + 1] - indptr[t]
            nonnegative = nonnegative and term_min[t] >= 0.0
        sparse = 4 * n_postings < n_docs  # few postings: visit only the touched documents
        prune = nonnegative and last - first > 1
        rest = np.zeros(last - first + 1)  # rest[i]: bound on what terms i.. can still add
        for i in range(last - first - 1, -1, -1):
            rest[i] = rest[i + 1] + term_max[query_ids[first + i]]
        n_touched = 0
        n_candidates = -1  # >= 0 once only the candidates can still reach the top k
        for i in range(last - first):
            t = query_ids[first + i]
            if prune and n_candidates < 0 and i > 0 and n_touched >= k:
                # MaxScore (Turtle & Flood 1995): theta = k-th best partial score; a document
                # below theta - rest[i] (untouched ones score 0 so far) cannot reach the top k.
                for m in range(n_touched):
                    partial[m] = acc[touched[m]]
                theta = np.partition(partial[:n_touched], n_touched - k)[n_touched - k]
                slack = 1e-9 * (abs(theta) + rest[i])  # keep ties despite rounding
                if rest[i] < theta - slack:
                    n_candidates = 0
                    for m in range(n_touched):
                        d = touched[m]
                        if acc[d] + rest[i] >= theta - slack:
                            candidates[n_candidates] = d
                            n_candidates += 1
            if n_candidates >= 0:  # look the candidates up in the posting list
                for m in range(n_candidates):
                    d = candidates[m]
                    j = _find(indices, indptr[t], indptr[t + 1], d)
                    if j >= 0:
                        acc[d] += data[j]
            elif sparse or prune:
                for j in range(indptr[t], indptr[t + 1]):
                    d = indices[j]
                    if not seen[d]:
                        seen[d] = True
                        touched[n_touched] = d
                        n_touched += 1
                    acc[d] += data[j]
            else:
                for j in range(indptr[t], indptr[t + 1]):
                    acc[indices[j]] += data[j]
        size = 0
        if n_candidates >= 0:
            for m in range(n_candidates):
                d = candidates[m]
                size = _push(heap_s, heap_i, size, k, acc[d] + base, d)
        elif sparse or prune:
            for m in range(n_touched):
                d = touched[m]
                size = _push(heap_s, heap_i, size, k, acc[d] + base, d)
            extra = 0
            d = 0
            while extra < k and d < n_docs:  # the k lowest-index untouched documents
                if not seen[d]:
                    size = _push(heap_s, heap_i, size, k, base, d)
                    extra += 1
                d += 1
        else:
            for d in range(n_docs):  # increasing d: an equal score later ranks lower
                s = acc[d] + base
                if size < k or s > heap_s[0]:
                    size = _push(heap_s, heap_i, size, k, s, d)
            acc[:] = 0.0
        for m in range(n_touched):
            d = touched[m]
            acc[d] = 0.0
            seen[d] = False
        order = np.argsort(heap_i[:size], kind="mergesort")
        order = order[np.argsort(-heap_s[:size][order], kind="mergesort")]
        for r in range(size):
            out_idx[q, r] = heap_i[order[r]]
            out_scores[q, r] = heap_s[order[r]]


def search(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, baseline: np.ndarray,
           term_max: np.ndarray, term_min: np.ndarray, queries: list[np.ndarray], n_docs: int,
           k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (indices, scores), shape (len(queries), k), best first, ties by lower index."""
    lengths = np.fromiter((len(q) for q in queries), dtype=np.int64, count=len(queries))
    query_ptr = np.zeros(len(queries) + 1, dtype=np.int64)
    np.cumsum(lengths, out=query_ptr[1:])
    query_ids = (np.concatenate(queries).astype(np.int64) if len(queries)
                 else np.zeros(0, dtype=np.int64))
    out_idx = np.empty((len(queries), k), dtype=np.int64)
    out_scores = np.empty((len(queries), k))
    search_batch(indptr, indices, data, baseline, term_max, term_min, query_ptr, query_ids,
                 n_docs, k, out_idx, out_scores)
    return out_idx, out_scores
