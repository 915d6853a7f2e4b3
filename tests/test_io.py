"""seqlab.io: atomic writes with the umask's mode, one decoding policy for every text read."""

from __future__ import annotations

import doctest
import gzip
import os
import stat

import numpy as np
import pytest

import seqlab.io
from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.io import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    open_text,
    read_json,
    read_lines,
    read_text,
    text_policy,
)


def test_docstring_examples():
    result = doctest.testmod(seqlab.io, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture
def umask():
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_follow_the_umask(tmp_path, umask, mask):
    """Defect 9: mkstemp's 0600 is not the mode a user expects; 0o666 minus the umask is."""
    import torch

    from seqlab.config import RunConfig
    from seqlab.embeddings.formats import write_word2vec
    from seqlab.tasks import default_config
    from seqlab.train.checkpoint import save_checkpoint

    umask(mask)
    expected = 0o666 & ~mask
    paths = [atomic_write_bytes(tmp_path / "a.bin", b"x"),
             atomic_write_json(tmp_path / "a.json", {"a": 1})]
    cfg: RunConfig = default_config("lm")
    cfg.save(tmp_path / "config.toml")
    paths.append(tmp_path / "config.toml")
    write_word2vec(tmp_path / "v.txt", ["a", "b"], np.eye(2))
    paths.append(tmp_path / "v.txt")
    paths.append(save_checkpoint(tmp_path / "c.safetensors", model=torch.nn.Linear(2, 2),
                                 task="lm", config=cfg.to_dict()))
    for path in paths:
        assert _mode(path) == expected, path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_writing_into_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(MissingFileError, match="folder .*nope does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "x.npz", b"")
    assert issubclass(MissingFileError, FileNotFoundError) and issubclass(MissingFileError,
                                                                            DataError)


@pytest.mark.parametrize("gz", [False, True])
def test_undecodable_bytes_name_the_file_the_offset_and_the_fix(tmp_path, gz):
    data = ("a" * 3000 + "\n").encode() * 700 + "café\n".encode("latin-1")  # past one chunk
    bad = data.index(b"\xe9")
    path = tmp_path / ("x.txt.gz" if gz else "x.txt")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError) as info:
        read_text(path)
    message = str(info.value)
    assert str(path) in message and f"byte 0xe9 at offset {bad}" in message
    assert "encoding=" in message and "errors='replace'" in message and "\n" not in message
    with text_policy(flags=True), pytest.raises(DataError, match="--encoding latin-1"):
        with open_text(path) as handle:
            for _ in handle:
                pass
    assert read_text(path, encoding="latin-1").endswith("café\n")
    assert read_text(path, errors="replace").endswith("caf\ufffd\n")
    with text_policy("latin-1"):
        assert read_lines(path)[-1] == "café"
    assert read_lines(path, errors="replace")[-1] == "caf\ufffd"


def test_standard_input_bytes_follow_the_policy():
    from seqlab.io import decode_bytes

    data = "caf\u00e9\n".encode("latin-1")
    with pytest.raises(DataError, match="<stdin>: byte 0xe9 at offset 3 is not valid utf-8"):
        decode_bytes(data, "<stdin>")
    with text_policy("latin-1"):
        assert decode_bytes(data, "<stdin>") == "café\n"


def test_a_character_cut_at_the_end_is_reported(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes("ab\u4e2d".encode()[:-1])
    with pytest.raises(DataError, match="offset 2"):
        read_text(path)


def test_policy_and_option_errors(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x")
    with pytest.raises(ConfigError, match="unknown text encoding 'klingon'"):
        read_text(path, encoding="klingon")
    with pytest.raises(ConfigError, match="errors must be one of strict, replace"):
        read_text(path, errors="ignore")
    with pytest.raises(MissingFileError, match="file not found"):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="is a folder"):
        read_text(tmp_path)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match="vocab file .* is corrupt"):
        read_json(tmp_path / "bad.json", "vocab")
