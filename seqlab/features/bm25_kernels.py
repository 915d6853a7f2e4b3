"""Compiled (numba) BM25 query kernel: sums of the query terms' score rows, then top-k.

Imported by ``BM25.search`` on first use, so ``import seqlab`` never loads numba.
Every document not containing any query term has the same score (the sum of the query terms'
``baseline_``). Two paths per query:

* few postings (under a quarter of the corpus size): the terms' posting lists are added into
  a dense buffer while the documents touched are remembered; a size-k heap takes the touched
  documents and the k lowest-index untouched ones, and the buffer is reset only where it was
  touched, so the cost is the postings read, not the corpus size.
* otherwise: each term is added to every document's sum, from its posting list or, for the
  common terms that ``BM25`` also keeps as dense rows (``dense_row``), by a contiguous
  vector add, which is several times cheaper per document than a scatter through a long
  posting list; then one pass over the buffer feeds the heap and resets the buffer.

Both paths add a query's terms in query order into a buffer of the storage dtype (float32
sums for float32 storage, as bm25s), then add the baselines in float64, so the scores equal
``BM25.score`` exactly.
A size-k heap keeps the best (score, then lower index).
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
def search_batch(indptr, indices, data, baseline, dense_row, dense, query_ptr, query_ids,
                 n_docs, k, out_idx, out_scores, acc):
    """Top-k of every query. Query q's term rows are query_ids[query_ptr[q]:query_ptr[q+1]].

    ``indices`` is read as uint32 (no negative-index wraparound test per posting).
    ``dense_row[t]`` is term t's row in ``dense`` (its scores for every document, 0 where
    absent), or -1 for terms kept only as postings.
    """
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
        size = 0
        if sparse:
            n_touched = 0
            for p in range(query_ptr[q], query_ptr[q + 1]):
                t = query_ids[p]
                for j in range(indptr[t], indptr[t + 1]):
                    d = indices[j]
                    if not seen[d]:
                        seen[d] = True
                        touched[n_touched] = d
                        n_touched += 1
                    acc[d] += data[j]
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
            # Terms in query order, each added to every document's sum (a dense row adds 0.0
            # where the term is absent, which leaves the sum unchanged): the same sums, in
            # the same order, as ``BM25.score``.
            for p in range(query_ptr[q], query_ptr[q + 1]):
                t = query_ids[p]
                r = dense_row[t]
                if r >= 0:
                    row = dense[r]
                    for d in range(n_docs):
                        acc[d] += row[d]
                else:
                    for j in range(indptr[t], indptr[t + 1]):
                        acc[indices[j]] += data[j]
            for d in range(k):  # the first k fill the heap
                size = _push(heap_s, heap_i, size, k, acc[d] + base, d)
                acc[d] = 0.0
            worst = heap_s[0]
            for d in range(k, n_docs):  # increasing d: an equal score later ranks lower
                s = acc[d] + base
                acc[d] = 0.0
                if s > worst:
                    size = _push(heap_s, heap_i, size, k, s, d)
                    worst = heap_s[0]
        order = np.argsort(heap_i[:size], kind="mergesort")
        order = order[np.argsort(-heap_s[:size][order], kind="mergesort")]
        for r in range(size):
            out_idx[q, r] = heap_i[order[r]]
            out_scores[q, r] = heap_s[order[r]]


def search(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, baseline: np.ndarray,
           dense_row: np.ndarray, dense: np.ndarray, query_ptr: np.ndarray,
           query_ids: np.ndarray, n_docs: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (indices, scores), shape (n_queries, k), best first, ties by lower index.

    Query q is the term rows ``query_ids[query_ptr[q]:query_ptr[q + 1]]`` (int64 arrays).
    """
    n_queries = len(query_ptr) - 1
    out_idx = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k))
    acc = np.zeros(n_docs, dtype=data.dtype)  # sums in the storage dtype, as BM25.score
    unsigned = np.uint32 if indices.dtype == np.int32 else np.uint64
    search_batch(indptr, indices.view(unsigned), data, baseline, dense_row, dense,
                 query_ptr, query_ids, n_docs, k, out_idx, out_scores, acc)
    return out_idx, out_scores
