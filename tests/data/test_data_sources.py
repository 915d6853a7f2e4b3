"""Dataset registry: mirror -> cache -> download resolution, checksums, errors, local sources."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from seqlab.data import sources
from seqlab.data.lines import load_text, open_source
from seqlab.data.sources import (
    DATASETS,
    DatasetSpec,
    FileSpec,
    dataset_files,
    dataset_path,
)
from seqlab.errors import ConfigError, DataError


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """Empty mirror and cache under tmp_path, no network (urlopen fails), fresh verify memo."""
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    monkeypatch.setenv("SEQLAB_DATA", str(mirror))
    monkeypatch.setenv("SEQLAB_CACHE", str(cache))
    monkeypatch.delenv("SEQLAB_OFFLINE", raising=False)

    def no_network(url, timeout=None):
        if not url.startswith("file:"):
            raise urllib.error.URLError("network disabled in tests")
        return urllib.request.urlopen(url, timeout=timeout)

    monkeypatch.setattr(sources, "urlopen", no_network)
    monkeypatch.setattr(sources, "_VERIFIED", {})
    return mirror, cache


def _fake(monkeypatch, content: bytes, url: str = "https://example.invalid/fake.txt",
          **checks) -> DatasetSpec:
    checks = checks or {"sha256": hashlib.sha256(content).hexdigest()}
    spec = DatasetSpec("fake", "fake", (FileSpec("fake.txt", url, **checks),),
                       tokenizer="word", eos_per_line=True, split_files={"train": "fake.txt"},
                       splits=("train",))
    monkeypatch.setitem(DATASETS, "fake", spec)
    return spec


def test_registry_has_the_issue_datasets():
    assert {"ptb", "ptb-char", "wikitext-2", "tinyshakespeare", "chinese-poetry"} <= set(DATASETS)
    assert DATASETS["ptb"].tokenizer == "whitespace" and DATASETS["ptb"].eos_per_line
    assert DATASETS["tinyshakespeare"].tokenizer == "char"
    assert DATASETS["chinese-poetry"].tokenizer == "char"
    for spec in DATASETS.values():
        for file in spec.files:
            assert file.url.startswith("https://") and (file.sha256 or file.git_blob)


def _source_md_sums(path):
    """file name -> sha256 of the uncompressed content, read from a SOURCE.md file table."""
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        hashes = re.findall(r"[0-9a-f]{64}", line)
        if len(cells) >= 4 and hashes:
            name = cells[0]
            if "uncompressed:" in line:
                name = name.removesuffix(".gz")
            sums[name] = hashes[-1]
    return sums


def test_checksums_equal_the_mirror_source_md(shared_data):
    for spec in DATASETS.values():
        sums = _source_md_sums(shared_data / spec.folder / "SOURCE.md")
        for file in spec.files:
            if file.sha256 is not None:
                assert sums[file.name] == file.sha256, (spec.name, file.name)


def test_mirror_resolution_and_verification(shared_data, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    assert dataset_path("ptb", "train") == shared_data / "ptb" / "ptb.train.txt"
    assert dataset_path("ptb-char", "train") == shared_data / "ptb" / "ptb.char.train.txt.gz"
    assert dataset_path("tinyshakespeare", "valid") == shared_data / "tinyshakespeare" / "input.txt"
    assert dataset_path("chinese-poetry", "train") == shared_data / "chinese-poetry"
    for name in ("ptb", "ptb-char", "tinyshakespeare", "chinese-poetry"):
        assert len(dataset_files(name)) == len(DATASETS[name].files)  # every checksum verified
    valid = load_text("ptb", "valid")
    assert valid.count("\n") == 3370 and valid.split().count("<unk>") > 0


def test_split_figures_from_source_md(shared_data, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    # nanoGPT's split of tinyshakespeare: 1,003,854 / 111,540 characters
    assert len(load_text("tinyshakespeare", "train")) == 1_003_854
    assert len(load_text("tinyshakespeare", "valid")) == 111_540
    # chinese-poetry: 971 items, every 10th to valid; 112,836 verse characters in all
    train, valid = load_text("chinese-poetry", "train"), load_text("chinese-poetry", "valid")
    assert (train.count("\n"), valid.count("\n")) == (874, 97)
    assert len(train) + len(valid) - 971 == 25_239 + 29_176 + 36_941 + 21_480
    assert load_text("wikitext-2", "valid").count("\n") == 3760


def test_wikitext2_train_missing_is_explained(shared_data, isolated, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    with pytest.raises(DataError) as err:
        dataset_path("wikitext-2", "train")
    msg = str(err.value)
    assert str(shared_data / "wikitext-2" / "train.txt") in msg
    assert "no WikiText-2 train split" in msg and "network disabled" in msg


def test_missing_dataset_names_every_place(isolated):
    mirror, cache = isolated
    with pytest.raises(DataError) as err:
        dataset_path("ptb", "valid")
    msg = str(err.value)
    assert str(mirror / "ptb" / "ptb.valid.txt") in msg
    assert str(cache / "ptb" / "ptb.valid.txt") in msg
    assert DATASETS["ptb"].file("ptb.valid.txt").url in msg and "network disabled" in msg


def test_missing_dataset_without_mirror_or_network(isolated, monkeypatch):
    monkeypatch.delenv("SEQLAB_DATA")
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    with pytest.raises(DataError, match="(?s)SEQLAB_DATA is not set.*cache.*SEQLAB_OFFLINE is set"
                       ) as err:
        dataset_path("tinyshakespeare", "train")
    assert "\n" in str(err.value)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(DataError, match="unknown dataset 'ptbb'.*chinese-poetry, .*ptb, ptb-char"):
        dataset_path("ptbb")
    with pytest.raises(DataError, match="unknown dataset 'nosuch'"):
        open_source("nosuch")
    with pytest.raises(ConfigError, match="no split 'test'; its splits: train, valid"):
        dataset_path("tinyshakespeare", "test")


def test_checksum_mismatch_in_a_fake_mirror(isolated, monkeypatch):
    mirror, _ = isolated
    _fake(monkeypatch, b"good content\n")
    (mirror / "fake").mkdir()
    (mirror / "fake" / "fake.txt").write_bytes(b"good content\n")
    assert dataset_path("fake") == mirror / "fake" / "fake.txt"
    (mirror / "fake" / "fake.txt").write_bytes(b"bad content!\n")
    with pytest.raises(DataError, match="checksum mismatch.*fake.txt"):
        dataset_path("fake")


def test_gz_in_the_mirror_is_checked_uncompressed(isolated, monkeypatch):
    mirror, _ = isolated
    _fake(monkeypatch, b"one\ntwo\n")
    (mirror / "fake").mkdir()
    with gzip.open(mirror / "fake" / "fake.txt.gz", "wb") as handle:
        handle.write(b"one\ntwo\n")
    assert dataset_path("fake").name == "fake.txt.gz"
    assert load_text("fake") == "one\ntwo\n"
    (mirror / "fake" / "fake.txt.gz").write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(DataError, match="cannot read"):
        dataset_path("fake")


def test_download_into_the_cache(isolated, monkeypatch, tmp_path):
    _, cache = isolated
    upstream = tmp_path / "upstream.txt"
    upstream.write_bytes(b"downloaded text\n")
    _fake(monkeypatch, upstream.read_bytes(), url=upstream.as_uri())
    path = dataset_path("fake")
    assert path == cache / "fake" / "fake.txt" and path.read_bytes() == upstream.read_bytes()
    upstream.unlink()  # second time: the cache answers
    assert dataset_path("fake") == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.txt"]


def test_download_with_a_bad_checksum_leaves_nothing(isolated, monkeypatch, tmp_path):
    _, cache = isolated
    upstream = tmp_path / "upstream.txt"
    upstream.write_bytes(b"tampered\n")
    _fake(monkeypatch, b"expected\n", url=upstream.as_uri())
    with pytest.raises(DataError, match="checksum mismatch"):
        dataset_path("fake")
    assert list((cache / "fake").iterdir()) == []


def test_gz_download_and_git_blob_check(isolated, monkeypatch, tmp_path):
    content = b"line one\nline two\n"
    plain = tmp_path / "plain.txt"
    plain.write_bytes(content)
    if shutil.which("git") is None:
        pytest.skip("git not installed (the git blob oracle)")
    blob = subprocess.run(["git", "hash-object", str(plain)], capture_output=True, text=True,
                          check=True).stdout.strip()
    packed = tmp_path / "up.txt.gz"
    packed.write_bytes(gzip.compress(content))
    _fake(monkeypatch, content, url=packed.as_uri(), git_blob=blob)
    path = dataset_path("fake")
    assert path.name == "fake.txt.gz" and load_text("fake") == content.decode()


def test_local_file_split_by_line_fractions(tmp_path):
    path = tmp_path / "corpus.txt"
    lines = [f"line {i}\n" for i in range(100)]
    path.write_text("".join(lines), encoding="utf-8")
    src = open_source(path)
    parts = {s: list(src.lines(s)) for s in ("train", "valid", "test")}
    assert parts == {"train": lines[:90], "valid": lines[90:95], "test": lines[95:]}
    assert load_text(str(path), "valid") == "".join(lines[90:95])
    short = tmp_path / "short.txt"
    short.write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"3 line\(s\): too few to cut a .valid. split"):
        load_text(short, "valid")
    assert list(open_source(short).lines("train")) == ["a\n", "b\n"]  # int(3 * 0.9) = 2 lines


def test_directory_and_mapping_sources(tmp_path):
    (tmp_path / "train.txt").write_text("a b\n", encoding="utf-8")
    (tmp_path / "valid.txt").write_text("c\n", encoding="utf-8")
    src = open_source(tmp_path)
    assert src.splits == ("train", "valid") and load_text(tmp_path, "valid") == "c\n"
    mapped = open_source({"train": tmp_path / "valid.txt"})
    assert mapped.text("train") == "c\n"
    with pytest.raises(DataError, match="not found"):
        open_source({"train": tmp_path / "nope.txt"})
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="no train.txt"):
        open_source(tmp_path / "empty_dir")
    with pytest.raises(DataError, match="neither a dataset name"):
        open_source(tmp_path / "missing.txt")


def test_empty_or_whitespace_corpus(tmp_path):
    (tmp_path / "train.txt").write_text(" \n\t\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty or whitespace only"):
        load_text(tmp_path, "train")


def test_dataset_path_of_a_local_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("x\n", encoding="utf-8")
    assert dataset_path(str(path)) == path
