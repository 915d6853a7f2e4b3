"""Compiled (numba) BM25 query kernel: sums of the query terms' score rows, then top-k.

Imported by ``BM25.search`` on first use, so ``import seqlab`` never loads numba.
Every document not containing any query term has the same score (the sum of the query terms'
``baseline_``). Two paths:

* a query with few postings (under 1/``SPARSE_FACTOR`` of the corpus size): its terms' posting
  lists are added into a buffer while the documents touched are remembered; a size-k heap
  takes the touched documents and the k lowest-index untouched ones, and the buffer is reset
  only where it was touched, so the cost is the postings read, not the corpus size.
* the other queries, ``CHUNK`` at a time, ``BLOCK`` documents at a time: for one block of
  documents, every query of the chunk in turn adds its terms' scores into a block-sized
  buffer (kept in L1) and feeds its own heap from it. A term that ``BM25`` also keeps as a
  dense row (a common term) is a contiguous vector add, and that block of the dense rows is
  read from memory once for the whole chunk, then from cache; a posting list is consumed from
  where the previous block stopped (postings are sorted by document). A block with no score
  that beats the query's heap is skipped after one vector comparison, and so is each of its
  sub-blocks of ``SUB`` documents: only sub-blocks with a candidate reach the heap's loop.
  (A dense row is read through a slice of the block: indexed by the loop variable alone,
  without the block offset, LLVM vectorizes the add; 1.6x faster on AMD Zen 4.)

Both paths add a query's terms in query order into a buffer of the storage dtype (float32
sums for float32 storage, as bm25s), then add the baselines in float64, so the scores equal
``BM25.score`` exactly. A size-k heap keeps the best (score, then lower index).
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


SPARSE_FACTOR = 32  # queries with fewer postings than n_docs / 32 visit only touched docs
BLOCK = 2048  # documents summed and scanned at a time: 8 KiB of float32 sums stay in L1
SUB = 64  # documents per sub-block checked with one vector OR before the heap sees them
CHUNK = 256  # queries answered together, block by block


@njit(cache=True, nogil=True)
def _any_beats(acc, n, base, worst):
    """Whether any of acc[:n] + base > worst, with the heap's float64 arithmetic (so exact):
    an OR over the block, a vector loop."""
    found = False
    for d in range(n):
        found |= acc[d] + base > worst
    return found


@njit(cache=True, nogil=True)
def _touched_query(indptr, indices, data, query_ids, start, stop, n_docs, k, base, acc, seen,
                   touched, heap_s, heap_i):
    """Top-k of a query with few postings (see the module docstring); returns the heap size."""
    size = 0
    n_touched = 0
    for p in range(start, stop):
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
    return size


@njit(cache=True, nogil=True)
def _blocked_chunk(indptr, indices, data, dense_row, dense, query_ptr, query_ids, chunk, bases,
                   n_docs, k, acc, cursor, heap_s, heap_i, sizes):
    """Top-k of the queries ``chunk`` (query numbers), block by block (module docstring):
    query chunk[c]'s heap is heap_s[c, :sizes[c]], heap_i[c, :sizes[c]].

    Within a block every term is added in query order (a dense row adds 0.0 where the term is
    absent, which leaves a sum unchanged), so each document's sum is the same, in the same
    order, as ``BM25.score``. Documents reach a heap in increasing index order, so a later
    equal score ranks lower and only a strictly better one enters a full heap.
    """
    n_chunk = len(chunk)
    worst = np.full(n_chunk, -np.inf)
    for c in range(n_chunk):
        sizes[c] = 0
        for p in range(query_ptr[chunk[c]], query_ptr[chunk[c] + 1]):
            cursor[p] = indptr[query_ids[p]]
    for b0 in range(0, n_docs, BLOCK):
        n = min(BLOCK, n_docs - b0)
        b1 = b0 + n
        for c in range(n_chunk):
            q = chunk[c]
            for p in range(query_ptr[q], query_ptr[q + 1]):
                t = query_ids[p]
                r = dense_row[t]
                if r >= 0:
                    row = dense[r, b0:b1]  # a slice: indexed by d alone, the add vectorizes
                    for d in range(n):
                        acc[d] += row[d]
                else:
                    j = cursor[p]
                    end = indptr[t + 1]
                    while j < end:
                        d = np.int64(indices[j])
                        if d >= b1:
                            break
                        acc[d - b0] += data[j]
                        j += 1
                    cursor[p] = j
            base = bases[q]
            size = sizes[c]  # locals: the loop's stores to acc cannot change them
            low = worst[c]
            if size < k or _any_beats(acc, n, base, low):
                hs = heap_s[c]
                hi = heap_i[c]
                for s0 in range(0, n, SUB):  # the heap sees only sub-blocks with a candidate
                    s1 = min(s0 + SUB, n)
                    if size < k or _any_beats(acc[s0:s1], s1 - s0, base, low):
                        for d in range(s0, s1):
                            s = acc[d] + base
                            if size < k or s > low:
                                size = _push(hs, hi, size, k, s, b0 + d)
                                if size == k:
                                    low = hs[0]
                sizes[c] = size
                worst[c] = low
            for d in range(n):
                acc[d] = 0.0


@njit(cache=True, nogil=True)
def _emit(heap_s, heap_i, size, out_idx, out_scores):
    """Write a heap best first (ties by lower index)."""
    order = np.argsort(heap_i[:size], kind="mergesort")
    order = order[np.argsort(-heap_s[:size][order], kind="mergesort")]
    for r in range(size):
        out_idx[r] = heap_i[order[r]]
        out_scores[r] = heap_s[order[r]]


@njit(cache=True, nogil=True)
def search_batch(indptr, indices, data, baseline, dense_row, dense, query_ptr, query_ids,
                 n_docs, k, out_idx, out_scores, acc):
    """Top-k of every query. Query q's term rows are query_ids[query_ptr[q]:query_ptr[q+1]].

    ``indices`` is read as uint32 (no negative-index wraparound test per posting).
    ``dense_row[t]`` is term t's row in ``dense`` (its scores for every document, 0 where
    absent), or -1 for terms kept only as postings.
    """
    n_queries = len(query_ptr) - 1
    seen = np.zeros(n_docs, dtype=np.bool_)
    touched = np.empty(n_docs, dtype=np.int64)
    bases = np.empty(n_queries)
    blocked = np.empty(n_queries, dtype=np.int64)
    n_blocked = 0
    heap_s = np.empty((CHUNK, k))
    heap_i = np.empty((CHUNK, k), dtype=np.int64)
    sizes = np.zeros(CHUNK, dtype=np.int64)
    for q in range(n_queries):
        base = 0.0
        n_postings = 0
        for p in range(query_ptr[q], query_ptr[q + 1]):
            t = query_ids[p]
            base += baseline[t]
            n_postings += indptr[t + 1] - indptr[t]
        bases[q] = base
        if SPARSE_FACTOR * n_postings < n_docs:
            size = _touched_query(indptr, indices, data, query_ids, query_ptr[q],
                                  query_ptr[q + 1], n_docs, k, base, acc, seen, touched,
                                  heap_s[0], heap_i[0])
            _emit(heap_s[0], heap_i[0], size, out_idx[q], out_scores[q])
        else:
            blocked[n_blocked] = q
            n_blocked += 1
    cursor = np.empty(len(query_ids), dtype=np.int64)
    for c0 in range(0, n_blocked, CHUNK):
        chunk = blocked[c0:min(c0 + CHUNK, n_blocked)]
        _blocked_chunk(indptr, indices, data, dense_row, dense, query_ptr, query_ids, chunk,
                       bases, n_docs, k, acc, cursor, heap_s, heap_i, sizes)
        for c in range(len(chunk)):
            _emit(heap_s[c], heap_i[c], sizes[c], out_idx[chunk[c]], out_scores[chunk[c]])


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
