"""Compiled (numba) BM25 query kernel: sparse row sums and top-k without touching every document.

Imported by ``BM25.search`` on first use, so ``import seqlab`` never loads numba.
For each query, the rows of ``scores_`` for its terms are added into a dense buffer while the
documents touched are remembered; every untouched document has the same score (the sum of the
query terms' ``baseline_``), so the k lowest-index untouched documents are the only other
candidates. A size-k heap keeps the best (score, then lower index) and the buffer is reset only
where it was touched: the cost is the postings read, not the corpus size. When the postings
are many (over a quarter of the corpus size), one dense pass over the buffer is cheaper.
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
def search_batch(indptr, indices, data, baseline, query_ptr, query_ids, n_docs, k,
                 out_idx, out_scores):
    """Top-k of every query. Query q's term rows are query_ids[query_ptr[q]:query_ptr[q+1]]."""
    acc = np.zeros(n_docs)
    seen = np.zeros(n_docs, dtype=np.bool_)
    touched = np.empty(n_docs, dtype=np.int64)
    heap_s = np.empty(k)
    heap_i = np.empty(k, dtype=np.int64)
    for q in range(len(query_ptr) - 1):
        base = 0.0
        n_postings = 0
        for p in range(query_ptr[q], query_ptr[q + 1]):
            t = query_ids[p]
            base += baseline[t]
            n_postings += indptr[t + 1] - indptr[t]
        sparse = 4 * n_postings < n_docs  # few postings: visit only the touched documents
        n_touched = 0
        if sparse:
            for p in range(query_ptr[q], query_ptr[q + 1]):
                t = query_ids[p]
                for j in range(indptr[t], indptr[t + 1]):
                    d = indices[j]
                    if not seen[d]:
                        seen[d] = True
                        touched[n_touched] = d
                        n_touched += 1
                    acc[d] += data[j]
        else:
            for p in range(query_ptr[q], query_ptr[q + 1]):
                t = query_ids[p]
                for j in range(indptr[t], indptr[t + 1]):
                    acc[indices[j]] += data[j]
        size = 0
        if sparse:
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
            for m in range(n_touched):
                d = touched[m]
                acc[d] = 0.0
                seen[d] = False
        else:
            for d in range(n_docs):  # increasing d: an equal score later ranks lower
                s = acc[d] + base
                if size < k or s > heap_s[0]:
                    size = _push(heap_s, heap_i, size, k, s, d)
            acc[:] = 0.0
        order = np.argsort(heap_i[:size], kind="mergesort")
        order = order[np.argsort(-heap_s[:size][order], kind="mergesort")]
        for r in range(size):
            out_idx[q, r] = heap_i[order[r]]
            out_scores[q, r] = heap_s[order[r]]


def search(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, baseline: np.ndarray,
           queries: list[np.ndarray], n_docs: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (indices, scores), shape (len(queries), k), best first, ties by lower index."""
    lengths = np.fromiter((len(q) for q in queries), dtype=np.int64, count=len(queries))
    query_ptr = np.zeros(len(queries) + 1, dtype=np.int64)
    np.cumsum(lengths, out=query_ptr[1:])
    query_ids = (np.concatenate(queries).astype(np.int64) if len(queries)
                 else np.zeros(0, dtype=np.int64))
    out_idx = np.empty((len(queries), k), dtype=np.int64)
    out_scores = np.empty((len(queries), k))
    search_batch(indptr, indices, data, baseline, query_ptr, query_ids, n_docs, k,
                 out_idx, out_scores)
    return out_idx, out_scores
