"""Vector file formats: word2vec text, word2vec binary, and seqlab's memory-mappable native file.

word2vec text (the C tool's ``-binary 0``)::

    <count> <dim>\\n
    <word> <v_1> ... <v_dim>\\n          (count lines)

word2vec binary (``-binary 1``): the same header, then per word ``<word> `` (UTF-8, space
terminated) followed by ``dim`` little-endian float32 values and ``\\n``. gensim and the C tool
read and write both.

Native (``.kv``): the magic ``SEQLABKV``, a little-endian uint64 header length, a UTF-8 JSON
header (keys, counts, array table, extra metadata), then each array's raw bytes aligned to 64
bytes. ``np.memmap`` maps the vectors without reading them, so loading is O(vocabulary).
Every file is written to a temporary name and moved into place with ``os.replace``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqlab.errors import DataError
from seqlab.io import atomic_open

MAGIC = b"SEQLABKV"
ALIGN = 64


def _atomic_writer(path: Path):
    """:func:`seqlab.io.atomic_open` on ``path``, its folder created first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_open(path, "wb")


def write_word2vec(path, keys: list[str], vectors: np.ndarray, binary: bool = False) -> None:
    """Write ``vectors`` (one row per key) in word2vec text or binary format."""
    path = Path(path)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise DataError(f"vectors must have shape ({len(keys)}, dim), got {vectors.shape}")
    for key in keys:
        if not key or any(ch.isspace() for ch in key):
            raise DataError(f"word2vec format cannot store the key {key!r} (empty or whitespace)")
    with _atomic_writer(path) as fh:
        fh.write(f"{len(keys)} {vectors.shape[1]}\n".encode())
        little = vectors.astype("<f4", copy=False)
        for key, row in zip(keys, little):
            if binary:
                fh.write(key.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                fh.write((key + " " + " ".join(repr(float(x)) for x in row) + "\n").encode())


def _parse_header(line: bytes, path) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise DataError(
            f"{path}: first line must be '<count> <dim>' (word2vec header), got {line[:80]!r}"
        )
    count, dim = int(parts[0]), int(parts[1])
    if dim <= 0:
        raise DataError(f"{path}: header dimension must be > 0, got {dim}")
    return count, dim


def read_word2vec(path, binary: bool = False, limit: int | None = None):
    """Read a word2vec text or binary file; returns ``(keys, vectors float32)``.

    Raises:
        DataError: bad header, a row with the wrong number of values, a truncated file, or a
            row count different from the header's.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"vectors file not found: {path}")
    with open(path, "rb") as fh:
        count, dim = _parse_header(fh.readline(), path)
        n = count if limit is None else min(count, limit)
        vectors = np.empty((n, dim), dtype=np.float32)
        keys: list[str] = []
        if binary:
            row_bytes = 4 * dim
            for i in range(n):
                word = bytearray()
                while True:
                    ch = fh.read(1)
                    if ch == b"":
                        raise DataError(
                            f"{path}: file ends after {i} of {count} vectors (header says {count})"
                        )
                    if ch == b" ":
                        break
                    if ch != b"\n" or word:  # skip the newline that ends the previous vector
                        word += ch
                data = fh.read(row_bytes)
                if len(data) != row_bytes:
                    raise DataError(
                        f"{path}: vector {i} ({word.decode('utf-8', 'replace')!r}) has "
                        f"{len(data)} bytes, expected {row_bytes} (dim {dim})"
                    )
                keys.append(word.decode("utf-8", errors="replace"))
                vectors[i] = np.frombuffer(data, dtype="<f4")
        else:
            for i in range(n):
                line = fh.readline()
                if not line:
                    raise DataError(
                        f"{path}: file ends after {i} of {count} vectors (header says {count})"
                    )
                parts = line.decode("utf-8", errors="replace").rstrip("\r\n").rstrip(" ").split(" ")
                if len(parts) != dim + 1:
                    raise DataError(
                        f"{path}: line {i + 2} has {len(parts) - 1} values, expected {dim} "
                        f"(header dimension)"
                    )
                keys.append(parts[0])
                try:
                    vectors[i] = np.array(parts[1:], dtype=np.float32)
                except ValueError as exc:
                    raise DataError(f"{path}: line {i + 2} has a non-numeric value") from exc
            if limit is None:
                extra = fh.readline()
                if extra.strip():
                    raise DataError(f"{path}: more rows than the header's count {count}")
    if len(set(keys)) != len(keys):
        raise DataError(f"{path}: duplicate keys in the vectors file")
    return keys, vectors


def write_native(path, keys: list[str], arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays + keys + JSON-able ``meta`` to one memory-mappable file."""
    path = Path(path)
    table, offset = {}, 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        table[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
        offset += -(-arr.nbytes // ALIGN) * ALIGN
    header = json.dumps({"keys": keys, "arrays": table, "meta": meta}).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    with _atomic_writer(path) as fh:
        fh.write(MAGIC + np.uint64(len(header)).astype("<u8").tobytes() + header)
        fh.write(b"\0" * (start - fh.tell()))
        for name, arr in arrays.items():
            fh.seek(start + table[name]["offset"])
            fh.write(np.ascontiguousarray(arr).tobytes())
        fh.truncate(start + offset)


def read_native(path, mmap: str | None = "r"):
    """Read a native file; arrays are ``np.memmap`` views when ``mmap`` is ``"r"``/``"c"``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"vectors file not found: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(len(MAGIC))
        if magic != MAGIC:
            raise DataError(f"{path}: not a seqlab native vectors file (magic {magic!r})")
        (length,) = np.frombuffer(fh.read(8), dtype="<u8")
        try:
            header = json.loads(fh.read(int(length)).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: corrupt header") from exc
    start = -(-(len(MAGIC) + 8 + int(length)) // ALIGN) * ALIGN
    size = path.stat().st_size
    arrays = {}
    for name, spec in header["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if start + spec["offset"] + nbytes > size:
            raise DataError(f"{path}: truncated (array {name!r} needs {nbytes} bytes)")
        if mmap:
            arrays[name] = np.memmap(path, dtype=dtype, mode=mmap, offset=start + spec["offset"],
                                     shape=shape)
        else:
            arrays[name] = np.fromfile(path, dtype=dtype, count=int(np.prod(shape)),
                                       offset=start + spec["offset"]).reshape(shape)
    return header["keys"], arrays, header["meta"]
