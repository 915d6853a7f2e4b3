"""File input and output, one policy for every module: atomic writes and decoded text reads.

Writes (:func:`atomic_open`, :func:`atomic_write_bytes`, :func:`atomic_write_text`,
:func:`atomic_write_json`) go to a temporary file beside the target, which replaces the target
with ``os.replace`` only once complete (a crash leaves the old file or none, never half a file).
The final file has the mode ``open(path, "w")`` would give: ``0o666`` minus the umask.

Reads (:func:`open_text`, :func:`read_text`, :func:`read_lines`) decode with one policy:
``encoding`` (default ``"utf-8"``) and ``errors`` (``"strict"``, the default, or
``"replace"``), taken from the arguments, else from the innermost :func:`text_policy` block
(the command line's ``--encoding`` / ``--errors`` set one). Undecodable bytes under ``strict``
are a :class:`~seqlab.errors.DataError` naming the file, the byte offset and what changes it.
``.gz`` files are decompressed transparently. A missing file is a
:class:`~seqlab.errors.MissingFileError` (also a ``FileNotFoundError``).

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = atomic_write_text(os.path.join(folder, "a.txt"), "caf\\u00e9\\n", "latin-1")
    >>> read_text(path, encoding="latin-1")
    'café\\n'
    >>> read_text(path)
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: ...a.txt: byte 0xe9 at offset 3 is not valid utf-8; ...
    >>> read_text(path, errors="replace")
    'caf\\ufffd\\n'
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from seqlab.errors import ConfigError, DataError, MissingFileError

__all__ = [
    "DEFAULT_POLICY", "ERRORS", "atomic_open", "atomic_write_bytes", "atomic_write_text",
    "atomic_write_json", "current_policy", "decode_bytes", "file_mode", "file_sha256",
    "open_text", "read_text", "read_lines", "read_json", "text_policy",
    "DATA_FILE_FIELDS", "data_files", "record_files", "check_recorded_files", "resumed_policy",
]

ERRORS = ("strict", "replace")
DEFAULT_POLICY = ("utf-8", "strict")
_POLICY: dict[str, Any] = {"encoding": "utf-8", "errors": "strict", "flags": False}


# ------------------------------------------------------------------------------------ writes
def file_mode() -> int:
    """``0o666`` minus the process umask: the mode ``open(path, "w")`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", *, fsync: bool = False,
                **kwargs: Any) -> Iterator[IO]:
    """A temporary file open for writing; on success it replaces ``path``, on error it is
    removed and ``path`` is untouched. The parent folder must exist (a clear error if not)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise MissingFileError(f"cannot write {path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`); returns the path."""
    with atomic_open(path, "wb", fsync=fsync) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, value: Any, indent: int | None = None) -> Path:
    """Write ``value`` as UTF-8 JSON (non-ASCII kept) atomically, creating the parent folders
    (vocabularies and tokenizers are saved into new folders); returns the path."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(value, ensure_ascii=False, indent=indent))


# ------------------------------------------------------------------------------------- reads
@contextlib.contextmanager
def text_policy(encoding: str | None = None, errors: str | None = None,
                flags: bool | None = None) -> Iterator[None]:
    """Within the block, text reads default to ``encoding`` / ``errors`` (``None``: keep the
    current one). ``flags=True`` makes decoding errors name the command-line flags, ``False``
    the keywords (``None``: as now)."""
    encoding, errors = _checked(encoding, errors)
    saved = dict(_POLICY)
    if flags is not None:
        _POLICY["flags"] = flags
    _POLICY.update({k: v for k, v in (("encoding", encoding), ("errors", errors)) if v})
    try:
        yield
    finally:
        _POLICY.clear()
        _POLICY.update(saved)


def current_policy() -> tuple[str, str]:
    """The ``(encoding, errors)`` text reads use now (``("utf-8", "strict")`` by default)."""
    return _POLICY["encoding"], _POLICY["errors"]


def _checked(encoding: str | None, errors: str | None) -> tuple[str | None, str | None]:
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(f"unknown text encoding {encoding!r} (e.g. utf-8, latin-1, "
                              "cp1252, gb18030)") from None
    if errors is not None and errors not in ERRORS:
        raise ConfigError(f"errors must be one of {', '.join(ERRORS)}, got {errors!r}")
    return encoding, errors


def _open_bytes(path: Path) -> IO[bytes]:
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except FileNotFoundError:
        raise MissingFileError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a text file") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


class _Text:
    """A text stream whose decoding and read errors become one-line ``DataError``s."""

    def __init__(self, path: Path, encoding: str, errors: str, newline: str | None) -> None:
        self.path, self.encoding = path, encoding
        raw = _open_bytes(path)
        self._handle = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)

    def _fail(self, exc: Exception) -> DataError:
        if isinstance(exc, UnicodeDecodeError):
            return DataError(_decode_message(self.path, self.encoding))
        return DataError(f"cannot read {self.path}: {exc}")  # gzip.BadGzipFile, EOFError, ...

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except (UnicodeDecodeError, OSError, EOFError) as exc:
            raise self._fail(exc) from None

    def read(self, size: int = -1) -> str:
        return self._call(self._handle.read, size)

    def readline(self, size: int = -1) -> str:
        return self._call(self._handle.readline, size)

    def __iter__(self) -> _Text:
        return self

    def __next__(self) -> str:
        return self._call(next, self._handle)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _Text:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode_message(path: Path, encoding: str) -> str:
    """Where the first undecodable byte is, found by decoding the file again in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset, detail = 0, ""
    with _open_bytes(path) as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                where = offset - pending + exc.start
                detail = f"byte 0x{exc.object[exc.start]:02x} at offset {where} is not valid"
                break
            offset += len(chunk)
        else:
            where = offset - len(decoder.getstate()[0])
            detail = f"the bytes from offset {where} to the end are not a whole character in"
    if _POLICY["flags"]:
        fix = "pass --encoding (e.g. --encoding latin-1) or --errors replace"
    else:
        fix = "pass encoding= (e.g. encoding='latin-1') or errors='replace'"
    return f"{path}: {detail} {encoding}; {fix}"


def open_text(path: str | os.PathLike, encoding: str | None = None, errors: str | None = None,
              newline: str | None = "") -> _Text:
    """Open a text file (``.gz`` decompressed) for reading with the encoding policy."""
    encoding, errors = _checked(encoding, errors)
    return _Text(Path(path), encoding or _POLICY["encoding"], errors or _POLICY["errors"],
                 newline)


def read_text(path: str | os.PathLike, encoding: str | None = None,
              errors: str | None = None) -> str:
    """The whole decoded text of ``path`` (universal newlines: ``\\r\\n`` becomes ``\\n``)."""
    with open_text(path, encoding, errors, newline=None) as handle:
        return handle.read()


def read_lines(path: str | os.PathLike, encoding: str | None = None,
               errors: str | None = None) -> list[str]:
    """The lines of ``path`` without their line ends."""
    return read_text(path, encoding, errors).splitlines()


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with _open_raw(Path(path)) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_raw(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise MissingFileError(f"file not found: {path}") from None


def decode_bytes(data: bytes, name: str, encoding: str | None = None,
                 errors: str | None = None) -> str:
    """``data`` (e.g. standard input's bytes) decoded with the policy; undecodable bytes are a
    ``DataError`` naming ``name`` and the byte offset, as for files."""
    encoding, errors = _checked(encoding, errors)
    encoding, errors = encoding or _POLICY["encoding"], errors or _POLICY["errors"]
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        fix = ("pass --encoding (e.g. --encoding latin-1) or --errors replace" if _POLICY["flags"]
               else "pass encoding= (e.g. encoding='latin-1') or errors='replace'")
        raise DataError(f"{name}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                        f"valid {encoding}; {fix}") from None


def read_json(path: str | os.PathLike, what: str = "JSON") -> Any:
    """Parse a UTF-8 JSON file; a missing or corrupt file is a one-line error naming ``what``."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} file {str(path)!r} does not exist")
    try:
        return json.loads(read_text(path, "utf-8", "strict"))
    except (json.JSONDecodeError, DataError) as exc:
        raise DataError(f"{what} file {str(path)!r} is corrupt (not valid JSON): {exc}") from None


# ------------------------------------------------------------------ the data files of a run
# [data] fields that name a user's file (a registry dataset is a name, not a file); every task
# that reads files spells them so. A run records each file's absolute path and SHA-256.
DATA_FILE_FIELDS = ("data", "valid_data", "test_data", "source_file", "target_file")


def data_files(section: Any) -> dict[str, str]:
    """``"data.FIELD" -> path`` of the files a [data] config section names (empty skipped)."""
    out = {}
    for name in DATA_FILE_FIELDS:
        value = getattr(section, name, "")
        if isinstance(value, str) and value:
            out[f"data.{name}"] = value
    return out


def record_files(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """``field -> {"path": absolute path, "sha256": content hash}`` of ``files`` (as
    :func:`data_files` gives them), for a checkpoint to find and check them again."""
    return {field: {"path": str(Path(path).expanduser().absolute()),
                    "sha256": file_sha256(path)} for field, path in files.items()}


def check_recorded_files(recorded: dict[str, Any] | None, instead: str,
                         warn: Any = None) -> None:
    """Check that the files a run trained on (``recorded``, from :func:`record_files`) are
    still where they were: a missing one is a :class:`MissingFileError` naming the field, the
    path and ``instead`` (what to pass); a changed one (another SHA-256) a warning to ``warn``
    (default: standard error)."""
    import sys

    for field, entry in (recorded or {}).items():
        path, digest = Path(entry["path"]), entry.get("sha256", "")
        if not path.is_file():
            raise MissingFileError(
                f"the training text {path} (sha256 {digest[:12]}...) is not there any more "
                f"(moved or deleted; it was {field}): put it (or a copy) back there, or "
                f"{instead}")
        now = file_sha256(path)
        if digest and now != digest:
            message = (f"warning: the training text {path} ({field}) changed since training "
                       f"(sha256 {now[:12]}..., trained on {digest[:12]}...): figures on it "
                       f"are not on the data trained on; {instead}")
            if warn is None:
                print(message, file=sys.stderr)
            else:
                warn(message)


def resumed_policy(saved: Any, what: str = "--resume") -> tuple[str, str]:
    """The text policy to read a resumed run's (or an evaluated checkpoint's) own files with:
    the ``saved`` ``(encoding, errors)`` of the run unless another one is in force, which is
    a :class:`ConfigError` (a different decoding is different training text)."""
    saved = tuple(saved) if saved else DEFAULT_POLICY
    now = current_policy()
    if now == DEFAULT_POLICY or now == saved:
        return saved  # type: ignore[return-value]
    raise ConfigError(
        f"{what}: the run read its text files with --encoding {saved[0]} --errors {saved[1]}; "
        f"--encoding {now[0]} --errors {now[1]} would read other text: drop --encoding/--errors "
        "(the saved ones are used)")
