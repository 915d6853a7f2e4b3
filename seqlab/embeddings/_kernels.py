"""Numba training kernels for word2vec and fastText (float32, hogwild, GIL released).

Each kernel trains one chunk of sentences ``tokens[starts[s]:starts[s+1]]``, ``s_lo <= s < s_hi``,
and returns ``(loss, examples, words)``: the float64 sum of ``-log p`` over all predictions, the
number of (input, target) updates and the number of words left after subsampling. Worker threads
call them on disjoint chunks while sharing the weight matrices (hogwild, as the C tool and gensim).

Per target row ``t`` with label ``y`` (1 for the true word, 0 for a negative sample; for
hierarchical softmax ``y = 1 - code_d`` and ``t = point_d``), input vector ``l1`` and learning
rate ``alpha``::

    f = sigmoid(l1 . syn1[t]);  g = (y - f) * alpha
    work += g * syn1[t];        syn1[t] += g * l1          # then the input rows += work

``sigmoid`` comes from a 1000-entry table over [-6, 6], indexed as in the C tool and gensim by
``int((f + 6) * 83)`` (their integer constant ``1000 / 6 / 2``, so the value read is about
``sigmoid(0.996 f - 0.03)``); dot products outside [-6, 6] are skipped as in both (their loss is
still counted, exactly). Random numbers come from the C
tool's linear congruential generator ``r = r * 25214903917 + 11 (mod 2^64)``, one per call.

Skip-gram with negative sampling, the slowest mode, has its own kernel (``train_sg_ns``): the
time goes into cache misses on the rows of the negative table and of ``syn1``, not into the
arithmetic, so one centre word ahead it draws the window and all negatives (the same draws in
the same order) and prefetches the rows they name.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

EXP_TABLE_SIZE = 1000
MAX_EXP = 6.0
_x = (np.arange(EXP_TABLE_SIZE, dtype=np.float64) / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP
SIGMOID = (1 / (1 + np.exp(-_x))).astype(np.float32)
LOG_SIG = np.log(1 / (1 + np.exp(-_x)))          # log sigmoid(x), per table bin
LOG_ONE_MINUS_SIG = np.log(1 / (1 + np.exp(_x)))  # log(1 - sigmoid(x))
_SCALE = float(EXP_TABLE_SIZE // int(MAX_EXP) // 2)  # 83: the C tool's integer arithmetic

_MUL = np.uint64(25214903917)
_ADD = np.uint64(11)
_S16 = np.uint64(16)
_M24 = np.uint64(0xFFFFFF)


_PREFETCH = "llvm.prefetch.p0" if llvm_binding.llvm_version_info >= (15,) else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx, matrix, row, col):
    """Hint the CPU to load ``matrix[row, col]`` (C-contiguous, 4-byte items) into L1."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        r = context.cast(builder, args[1], sig.args[1], types.intp)
        c = context.cast(builder, args[2], sig.args[2], types.intp)
        offset = builder.add(builder.mul(r, builder.extract_value(ary.strides, 0)),
                             builder.mul(c, ir.Constant(cgutils.intp_t, 4)))
        addr = builder.inttoptr(builder.add(builder.ptrtoint(ary.data, cgutils.intp_t), offset),
                                cgutils.voidptr_t)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32]),
            _PREFETCH)
        # read, high temporal locality, data cache
        builder.call(fn, [addr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(matrix, row, col), codegen


@njit(nogil=True, cache=True, inline="always")
def _softplus(z):
    """-log sigmoid(-z) = log(1 + e^z), exact; used only outside the table's range."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def _targets(src, r, work, syn1, hs, word, codes, points, codelens, table, negative, nr, alpha):
    """Predict ``word`` from ``l1 = src[r]``: update ``syn1`` rows, accumulate the input gradient
    in ``work``. Inlined and given a row index, not a view: views and calls take atomic
    reference counts on the shared matrices, which two threads then fight over."""
    D = src.shape[1]
    loss = 0.0
    n_targets = codelens[word] if hs else negative + 1
    tsize = np.uint64(table.shape[0])
    for k in range(n_targets):
        if hs:
            t = points[word, k]
            label = np.float32(1.0 - codes[word, k])
        elif k == 0:
            t = word
            label = np.float32(1.0)
        else:
            nr = nr * _MUL + _ADD
            t = table[(nr >> _S16) % tsize]
            if t == word:
                continue
            label = np.float32(0.0)
        f = np.float32(0.0)
        for d in range(D):
            f += src[r, d] * syn1[t, d]
        if f <= -MAX_EXP or f >= MAX_EXP:
            loss += _softplus(-f if label > 0.5 else f)
            continue
        idx = int((f + MAX_EXP) * _SCALE)
        loss -= LOG_SIG[idx] if label > 0.5 else LOG_ONE_MINUS_SIG[idx]
        g = (label - SIGMOID[idx]) * alpha
        for d in range(D):
            work[d] += g * syn1[t, d]
            syn1[t, d] += g * src[r, d]
    return nr, loss


@njit(nogil=True, cache=True, inline="always")
def _subsample(tokens, a, b, keep, buf, nr):
    n = 0
    for t in range(a, b):
        w = tokens[t]
        if keep[w] < 1.0:
            nr = nr * _MUL + _ADD
            if keep[w] < np.float32((nr >> _S16) & _M24) / np.float32(16777216.0):
                continue
        buf[n] = w
        n += 1
    return n, nr


@njit(nogil=True, cache=True, inline="always")
def _prefetch_rows(matrix, row):
    for d in range(0, matrix.shape[1], 16):  # 64-byte lines
        _prefetch(matrix, row, d)


@njit(nogil=True, cache=True, inline="always")
def _prefetch_ahead(buf, n, i, window, cbow, hs, syn0, syn1, sub_ptr, sub_idx, points,
                    codelens):
    """Before centre ``i`` is trained, prefetch rows that centre ``i + 1`` needs and ``i`` does
    not: the input rows of the word entering the window (CBOW) or of the next centre
    (fastText skip-gram), and the next centre's hierarchical-softmax path."""
    if i + 1 >= n:
        return
    w = buf[min(i + 1 + window, n - 1)] if cbow or sub_ptr.shape[0] == 0 else buf[i + 1]
    if sub_ptr.shape[0] > 0:
        for r in range(sub_ptr[w], sub_ptr[w + 1]):
            _prefetch_rows(syn0, sub_idx[r])
    else:
        _prefetch_rows(syn0, w)
    if hs:
        nxt = buf[i + 1]
        for k in range(codelens[nxt]):
            _prefetch_rows(syn1, points[nxt, k])


@njit(nogil=True, cache=True, fastmath=True)
def train_chunk(tokens, starts, s_lo, s_hi, syn0, syn1, sub_ptr, sub_idx, cbow, hs, codes,
                points, codelens, table, negative, keep, window, alpha_lo, alpha_hi, seed):
    """Train skip-gram (``cbow=False``) or CBOW-mean on one chunk.

    ``sub_ptr``/``sub_idx`` (CSR) list the input rows of each word: empty ``sub_ptr`` means
    word2vec (word ``w`` is row ``w``); for fastText word ``w`` is the mean of rows
    ``sub_idx[sub_ptr[w]:sub_ptr[w+1]]`` (its own row and its n-gram buckets).
    Skip-gram predicts the centre word from each context word's vector (word2vec, as in the C
    tool) or each context word from the centre's n-gram mean (fastText); CBOW predicts the
    centre from the mean of all context input rows.
    """
    D = syn0.shape[1]
    work = np.zeros(D, np.float32)
    hidden = np.zeros((1, D), np.float32)  # l1 of CBOW and fastText
    l1 = hidden[0]
    total = np.zeros(D, np.float32)
    maxlen = 0
    for s in range(s_lo, s_hi):
        maxlen = max(maxlen, starts[s + 1] - starts[s])
    buf = np.empty(maxlen, np.int32)
    subword = sub_ptr.shape[0] > 0
    nr = np.uint64(seed)
    uwin = np.uint64(window)
    t0 = starts[s_lo]
    span = max(starts[s_hi] - t0, 1)
    loss = 0.0
    examples = 0
    words = 0
    for s in range(s_lo, s_hi):
        alpha = np.float32(alpha_lo + (alpha_hi - alpha_lo) * ((starts[s] - t0) / span))
        n, nr = _subsample(tokens, starts[s], starts[s + 1], keep, buf, nr)
        words += n
        for i in range(n):
            _prefetch_ahead(buf, n, i, window, cbow, hs, syn0, syn1, sub_ptr, sub_idx, points,
                            codelens)
            nr = nr * _MUL + _ADD
            red = np.int64((nr >> _S16) % uwin)
            lo = max(0, i - window + red)
            hi = min(n, i + window + 1 - red)
            if cbow:
                l1[:] = 0.0
                count = 0
                for j in range(lo, hi):
                    if j == i:
                        continue
                    c = buf[j]
                    if subword:
                        for r in range(sub_ptr[c], sub_ptr[c + 1]):
                            row = sub_idx[r]
                            for d in range(D):
                                l1[d] += syn0[row, d]
                            count += 1
                    else:
                        for d in range(D):
                            l1[d] += syn0[c, d]
                        count += 1
                if count == 0:
                    continue
                inv = np.float32(1.0 / count)
                for d in range(D):
                    l1[d] *= inv
                work[:] = 0.0
                nr, lp = _targets(hidden, 0, work, syn1, hs, buf[i], codes, points, codelens,
                                  table, negative, nr, alpha)
                loss += lp
                examples += 1
                for j in range(lo, hi):
                    if j == i:
                        continue
                    c = buf[j]
                    if subword:
                        for r in range(sub_ptr[c], sub_ptr[c + 1]):
                            row = sub_idx[r]
                            for d in range(D):
                                syn0[row, d] += work[d]
                    else:
                        for d in range(D):
                            syn0[c, d] += work[d]
                continue
            if subword:  # fastText: the centre's n-gram mean predicts each context word
                w = buf[i]
                a, b = sub_ptr[w], sub_ptr[w + 1]
                l1[:] = 0.0
                pairs = 0  # sum over rows of multiplicity^2 (= b - a without hash collisions)
                for r in range(a, b):
                    row = sub_idx[r]
                    for q in range(a, b):
                        pairs += sub_idx[q] == row
                    for d in range(D):
                        l1[d] += syn0[row, d]
                inv = np.float32(1.0 / (b - a))
                for d in range(D):
                    l1[d] *= inv
                # Adding work_j to every row moves their mean by shift * work_j, so l1 is kept
                # current without re-reading the rows, and the rows get the summed update once
                # per centre: the same arithmetic as updating the rows after every pair.
                shift = np.float32(pairs / (b - a))
                total[:] = 0.0
                for j in range(lo, hi):
                    if j == i:
                        continue
                    work[:] = 0.0
                    nr, lp = _targets(hidden, 0, work, syn1, hs, buf[j], codes, points,
                                      codelens, table, negative, nr, alpha)
                    loss += lp
                    examples += 1
                    for d in range(D):
                        l1[d] += shift * work[d]
                        total[d] += work[d]
                for r in range(a, b):
                    row = sub_idx[r]
                    for d in range(D):
                        syn0[row, d] += total[d]
                continue
            for j in range(lo, hi):  # word2vec: context word j's vector predicts the centre
                if j == i:
                    continue
                work[:] = 0.0
                c = buf[j]
                nr, lp = _targets(syn0, c, work, syn1, hs, buf[i], codes, points, codelens,
                                  table, negative, nr, alpha)
                for d in range(D):
                    syn0[c, d] += work[d]
                loss += lp
                examples += 1
    return loss, examples, words


@njit(nogil=True, cache=True, inline="always")
def _draw_sg_ns(buf, n, i, window, table, negative, nr, negs, syn0, syn1):
    """Draw centre ``i``'s window shrink and the negatives of all its pairs into ``negs`` (the
    order in which ``train_chunk`` draws them) and prefetch the rows they will touch."""
    D = syn0.shape[1]
    nr = nr * _MUL + _ADD
    red = np.int64((nr >> _S16) % np.uint64(window))
    lo = max(0, i - window + red)
    hi = min(n, i + window + 1 - red)
    tsize = np.uint64(table.shape[0])
    m = 0
    for j in range(lo, hi):
        if j == i:
            continue
        for d in range(0, D, 16):  # 64-byte lines
            _prefetch(syn0, buf[j], d)
        for _ in range(negative):
            nr = nr * _MUL + _ADD
            negs[m] = table[(nr >> _S16) % tsize]
            m += 1
    for q in range(m):
        for d in range(0, D, 16):
            _prefetch(syn1, negs[q], d)
    for d in range(0, D, 16):
        _prefetch(syn1, buf[i], d)
    return nr, lo, hi


@njit(nogil=True, cache=True, fastmath=True)
def train_sg_ns(tokens, starts, s_lo, s_hi, syn0, syn1, table, negative, keep, window, alpha_lo,
                alpha_hi, seed):
    """Word2vec skip-gram with negative sampling on one chunk: the same arithmetic and random
    draws as ``train_chunk`` (so the same result), with the draws of centre ``i + 1`` made and
    their rows prefetched before centre ``i`` is trained."""
    D = syn0.shape[1]
    work = np.zeros(D, np.float32)
    maxlen = 0
    for s in range(s_lo, s_hi):
        maxlen = max(maxlen, starts[s + 1] - starts[s])
    buf = np.empty(maxlen, np.int32)
    negs2 = np.empty((2, 2 * window * negative + 1), np.int32)
    nr = np.uint64(seed)
    t0 = starts[s_lo]
    span = max(starts[s_hi] - t0, 1)
    loss = 0.0
    examples = 0
    words = 0
    for s in range(s_lo, s_hi):
        alpha = np.float32(alpha_lo + (alpha_hi - alpha_lo) * ((starts[s] - t0) / span))
        n, nr = _subsample(tokens, starts[s], starts[s + 1], keep, buf, nr)
        words += n
        if n == 0:
            continue
        nr, next_lo, next_hi = _draw_sg_ns(buf, n, 0, window, table, negative, nr, negs2[0],
                                           syn0, syn1)
        for i in range(n):
            lo, hi = next_lo, next_hi
            if i + 1 < n:
                nr, next_lo, next_hi = _draw_sg_ns(buf, n, i + 1, window, table, negative, nr,
                                                   negs2[(i + 1) & 1], syn0, syn1)
            word = buf[i]
            m = 0
            for j in range(lo, hi):  # context word j's vector predicts the centre
                if j == i:
                    continue
                c = buf[j]
                for d in range(D):
                    work[d] = 0.0
                for k in range(negative + 1):
                    if k == 0:
                        t = word
                        label = np.float32(1.0)
                    else:
                        t = negs2[i & 1, m]
                        m += 1
                        if t == word:
                            continue
                        label = np.float32(0.0)
                    f = np.float32(0.0)
                    for d in range(D):
                        f += syn0[c, d] * syn1[t, d]
                    if f <= -MAX_EXP or f >= MAX_EXP:
                        loss += _softplus(-f if k == 0 else f)
                        continue
                    idx = int((f + MAX_EXP) * _SCALE)
                    loss -= LOG_SIG[idx] if k == 0 else LOG_ONE_MINUS_SIG[idx]
                    g = (label - SIGMOID[idx]) * alpha
                    for d in range(D):
                        work[d] += g * syn1[t, d]
                    for d in range(D):
                        syn1[t, d] += g * syn0[c, d]
                for d in range(D):
                    syn0[c, d] += work[d]
                examples += 1
    return loss, examples, words


@njit(nogil=True, cache=True, inline="always")
def _draw_cbow_ns(buf, n, i, window, table, negative, nr, negs, syn0, syn1):
    """Draw centre ``i``'s window shrink and (if it has a context) its negatives into ``negs``,
    in ``train_chunk``'s order, and prefetch the rows they name."""
    D = syn0.shape[1]
    nr = nr * _MUL + _ADD
    red = np.int64((nr >> _S16) % np.uint64(window))
    lo = max(0, i - window + red)
    hi = min(n, i + window + 1 - red)
    if hi - lo > 1:
        tsize = np.uint64(table.shape[0])
        for k in range(negative):
            nr = nr * _MUL + _ADD
            negs[k] = table[(nr >> _S16) % tsize]
            for d in range(0, D, 16):
                _prefetch(syn1, negs[k], d)
        for d in range(0, D, 16):
            _prefetch(syn1, buf[i], d)
        for j in range(lo, hi):
            for d in range(0, D, 16):
                _prefetch(syn0, buf[j], d)
    return nr, lo, hi


@njit(nogil=True, cache=True, fastmath=True)
def train_cbow_ns(tokens, starts, s_lo, s_hi, syn0, syn1, table, negative, keep, window,
                  alpha_lo, alpha_hi, seed):
    """Word2vec CBOW (mean) with negative sampling on one chunk: ``train_chunk``'s arithmetic
    and draws, with centre ``i + 1``'s draws made and rows prefetched before centre ``i``."""
    D = syn0.shape[1]
    work = np.zeros(D, np.float32)
    l1 = np.zeros(D, np.float32)
    maxlen = 0
    for s in range(s_lo, s_hi):
        maxlen = max(maxlen, starts[s + 1] - starts[s])
    buf = np.empty(maxlen, np.int32)
    negs2 = np.empty((2, negative + 1), np.int32)
    nr = np.uint64(seed)
    t0 = starts[s_lo]
    span = max(starts[s_hi] - t0, 1)
    loss = 0.0
    examples = 0
    words = 0
    for s in range(s_lo, s_hi):
        alpha = np.float32(alpha_lo + (alpha_hi - alpha_lo) * ((starts[s] - t0) / span))
        n, nr = _subsample(tokens, starts[s], starts[s + 1], keep, buf, nr)
        words += n
        if n == 0:
            continue
        nr, next_lo, next_hi = _draw_cbow_ns(buf, n, 0, window, table, negative, nr, negs2[0],
                                             syn0, syn1)
        for i in range(n):
            lo, hi = next_lo, next_hi
            if i + 1 < n:
                nr, next_lo, next_hi = _draw_cbow_ns(buf, n, i + 1, window, table, negative, nr,
                                                     negs2[(i + 1) & 1], syn0, syn1)
            if hi - lo <= 1:  # no context word: nothing to predict from (and nothing drawn)
                continue
            for d in range(D):
                l1[d] = 0.0
            for j in range(lo, hi):
                if j == i:
                    continue
                c = buf[j]
                for d in range(D):
                    l1[d] += syn0[c, d]
            inv = np.float32(1.0 / (hi - lo - 1))
            for d in range(D):
                l1[d] *= inv
                work[d] = 0.0
            word = buf[i]
            for k in range(negative + 1):
                if k == 0:
                    t = word
                    label = np.float32(1.0)
                else:
                    t = negs2[i & 1, k - 1]
                    if t == word:
                        continue
                    label = np.float32(0.0)
                f = np.float32(0.0)
                for d in range(D):
                    f += l1[d] * syn1[t, d]
                if f <= -MAX_EXP or f >= MAX_EXP:
                    loss += _softplus(-f if k == 0 else f)
                    continue
                idx = int((f + MAX_EXP) * _SCALE)
                loss -= LOG_SIG[idx] if k == 0 else LOG_ONE_MINUS_SIG[idx]
                g = (label - SIGMOID[idx]) * alpha
                for d in range(D):
                    work[d] += g * syn1[t, d]
                for d in range(D):
                    syn1[t, d] += g * l1[d]
            examples += 1
            for j in range(lo, hi):
                if j == i:
                    continue
                c = buf[j]
                for d in range(D):
                    syn0[c, d] += work[d]
    return loss, examples, words


@njit(nogil=True, cache=True)
def hs_log_probabilities(h, syn1, codes, points, codelens):
    """``log P(w | h)`` for every word ``w`` under hierarchical softmax (exact sigmoid)."""
    V = codelens.shape[0]
    out = np.zeros(V, np.float64)
    for w in range(V):
        lp = 0.0
        for k in range(codelens[w]):
            x = 0.0
            for d in range(h.shape[0]):
                x += h[d] * syn1[points[w, k], d]
            z = x if codes[w, k] == 0 else -x
            lp -= _softplus(-z)
        out[w] = lp
    return out


@njit(nogil=True, cache=True)
def csr_mean_rows(matrix, ptr, idx):
    """Row ``w`` of the result is the mean of ``matrix[idx[ptr[w]:ptr[w+1]]]``."""
    out = np.zeros((ptr.shape[0] - 1, matrix.shape[1]), np.float32)
    for w in range(ptr.shape[0] - 1):
        a, b = ptr[w], ptr[w + 1]
        for r in range(a, b):
            for d in range(matrix.shape[1]):
                out[w, d] += matrix[idx[r], d]
        if b > a:
            for d in range(matrix.shape[1]):
                out[w, d] /= b - a
    return out
