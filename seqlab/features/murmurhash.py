"""MurmurHash3 (x86, 32-bit) of many byte strings at once, compiled with numba.

Austin Appleby's MurmurHash3_x86_32 (public domain, the SMHasher reference), in the symbols
of ``_murmur3_32`` below; all arithmetic is modulo 2**32::

    c1 = 0xcc9e2d51, c2 = 0x1b873593, h = seed
    for each 4-byte little-endian block k:  k = rotl(k * c1, 15) * c2
                                            h = rotl(h ^ k, 13) * 5 + 0xe6546b64
    tail (1-3 bytes, little-endian) t:      h ^= rotl(t * c1, 15) * c2
    h ^= length, then the finalizer:        h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13
                                            h *= 0xc2b2ae35; h ^= h >> 16

Read as a signed int32, this is scikit-learn's ``murmurhash3_32(key, seed, positive=False)``
(keys as UTF-8), which its ``FeatureHasher`` and ``HashingVectorizer`` use. Imported on first
use by ``HashingVectorizer``, so ``import seqlab`` never loads numba.

>>> murmurhash3_32(["foo", "", "猫"]).tolist()
[-156908512, 0, -1162507245]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from seqlab.errors import DataError

_MASK = 0xFFFFFFFF


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


@njit(cache=True, nogil=True)
def _murmur3_32(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, seed: int,
                out: np.ndarray) -> None:
    """out[i] = MurmurHash3_x86_32 of buf[starts[i]:ends[i]] as int32."""
    c1, c2 = np.uint64(0xCC9E2D51), np.uint64(0x1B873593)
    for i in range(len(starts)):
        start, end = starts[i], ends[i]
        length = end - start
        h = np.uint64(seed) & _MASK
        stop = start + (length // 4) * 4
        for p in range(start, stop, 4):
            k = (np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << 8)
                 | (np.uint64(buf[p + 2]) << 16) | (np.uint64(buf[p + 3]) << 24))
            k = (k * c1) & _MASK
            k = _rotl(k, 15)
            k = (k * c2) & _MASK
            h ^= k
            h = _rotl(h, 13)
            h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & _MASK
        rest = length & 3
        if rest:
            k = np.uint64(0)
            if rest == 3:
                k ^= np.uint64(buf[stop + 2]) << 16
            if rest >= 2:
                k ^= np.uint64(buf[stop + 1]) << 8
            k ^= np.uint64(buf[stop])
            k = (k * c1) & _MASK
            k = _rotl(k, 15)
            k = (k * c2) & _MASK
            h ^= k
        h ^= np.uint64(length) & _MASK
        h ^= h >> 16
        h = (h * np.uint64(0x85EBCA6B)) & _MASK
        h ^= h >> 13
        h = (h * np.uint64(0xC2B2AE35)) & _MASK
        h ^= h >> 16
        out[i] = np.int64(h) - (np.int64(1) << 32) if h >= (1 << 31) else np.int64(h)


def murmurhash3_bytes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      seed: int = 0) -> np.ndarray:
    """Signed 32-bit hashes of the byte strings ``buf[starts[i]:ends[i]]``."""
    out = np.empty(len(starts), dtype=np.int32)
    if len(out):
        _murmur3_32(np.ascontiguousarray(buf, dtype=np.uint8),
                    np.ascontiguousarray(starts, dtype=np.int64),
                    np.ascontiguousarray(ends, dtype=np.int64), seed, out)
    return out


def murmurhash3_joined(features: list[str], seed: int = 0) -> np.ndarray | None:
    """Hashes of ``features`` (str), from one UTF-8 encoding of them joined by NUL bytes
    (UTF-8 writes a 0 byte only for U+0000); None if a feature itself holds U+0000 or is
    not a str."""
    try:
        joined = "\0".join(features)
    except TypeError:  # bytes (or invalid) features: murmurhash3_32 takes them one by one
        return None
    buf = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    seps = np.flatnonzero(buf == 0)
    if len(seps) != max(len(features) - 1, 0):
        return None
    starts = np.empty(len(features), dtype=np.int64)
    ends = np.empty(len(features), dtype=np.int64)
    if len(features):
        starts[0], starts[1:] = 0, seps + 1
        ends[:-1], ends[-1] = seps, len(buf)
    return murmurhash3_bytes(buf, starts, ends, seed)


def _as_bytes(key: object) -> bytes:
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    raise DataError(f"features to hash must be str or bytes, got {type(key).__name__} {key!r}")


def murmurhash3_32(keys: Sequence[str | bytes], seed: int = 0) -> np.ndarray:
    """Signed 32-bit MurmurHash3 of each key (str keys encoded as UTF-8), as int32."""
    encoded = [k.encode("utf-8") if isinstance(k, str) else _as_bytes(k) for k in keys]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
              out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return murmurhash3_bytes(buf, offsets[:-1], offsets[1:], seed)
