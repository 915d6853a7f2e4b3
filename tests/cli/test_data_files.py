"""Issue 19, items 2-3 for every task: a run records the absolute path and SHA-256 of each data
file it trained on, so ``seqlab eval CKPT`` works from any folder and names a moved or changed
file; and the text policy (``--encoding``/``--errors``) is saved, so ``--resume`` and ``eval``
read the run's files as training read them, without typing it again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seqlab.cli.main import main
from seqlab.config import RunConfig
from seqlab.io import DATA_FILE_FIELDS, file_sha256
from seqlab.tasks import get_task
from seqlab.train.checkpoint import load_checkpoint
from tests.cli.test_lm_cli import TINY as LM_TINY
from tests.cli.test_lm_cli import write_corpus
from tests.models.contract import TINY


def _relative_run(task: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A tiny run of ``task`` whose config names its files RELATIVE to ``tmp_path``."""
    tables = TINY[task](tmp_path)
    files = {}
    for field in DATA_FILE_FIELDS:
        if tables["data"].get(field):
            files[field] = tables["data"][field] = Path(tables["data"][field]).name
    tables["train"].update(out_dir="run", max_steps=2)
    config = tmp_path / "run.toml"
    RunConfig.from_dict(tables, base=get_task(task).default_config()).save(config)
    return config, files


@pytest.mark.parametrize("task", ["tagger", "classifier", "seq2seq"])
def test_eval_from_another_folder_then_a_changed_then_a_moved_file(task, tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    config, fields = _relative_run(task, tmp_path)
    assert main(["train", task, "--config", str(config)]) == 0
    ckpt = tmp_path / "run" / "last.safetensors"
    recorded = load_checkpoint(ckpt).assets["data_files"]
    first = next(iter(fields))
    path = tmp_path / fields[first]
    assert recorded[f"data.{first}"] == {"path": str(path), "sha256": file_sha256(path)}
    assert load_checkpoint(ckpt).config["data"][first] == str(path)  # absolute in the config

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["eval", str(ckpt)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[0])["split"] == "test" and "warning" not in err

    original = path.read_bytes()
    lines = original.split(b"\n")  # changed content (the last two lines swapped): a warning
    i = max(i for i in range(2, len(lines)) if lines[i] and lines[i - 1] and
            lines[i] != lines[i - 1])
    lines[i - 1], lines[i] = lines[i], lines[i - 1]
    path.write_bytes(b"\n".join(lines))
    assert main(["eval", str(ckpt)]) == 0
    err = capsys.readouterr().err
    assert f"{path} (data.{first}) changed since training" in err and "--data FILE" in err

    path.write_bytes(original)
    shutil.move(path, tmp_path / "moved.txt")
    assert main(["eval", str(ckpt)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    digest = file_sha256(tmp_path / "moved.txt")[:12]
    assert (f"training text {path} (sha256 {digest}...) is not there any more (moved or "
            f"deleted; it was data.{first})") in err
    assert "--data FILE" in err


def _latin1_corpus(path: Path) -> Path:
    write_corpus(path)
    text = path.read_text().replace("cat", "caf\u00e9").replace("mat", "cr\u00e8me")
    path.write_bytes(text.encode("latin-1"))
    return path


def test_resume_and_eval_reuse_the_saved_encoding(workdir, capsys, monkeypatch):
    _latin1_corpus(workdir / "latin1.txt")
    base = ["train", "lm", "--out-dir", "run", "--resume"]
    assert main(["train", "lm", "--data", "latin1.txt", *LM_TINY, "--optimizer", "adam",
                 "--max-steps", "3", "--out-dir", "run", "--encoding", "latin-1"]) == 0
    assert load_checkpoint(workdir / "run" / "last.safetensors").assets["text_policy"] == [
        "iso8859-1", "strict"]
    capsys.readouterr()
    assert main(base) == 0  # no --encoding typed: the saved one reads the file
    out = capsys.readouterr().out
    assert "resumed" in out and "step 3" in out
    assert main([*base, "--max-steps", "6"]) == 0  # an allowed override: it trains on
    out = capsys.readouterr().out
    assert "resume overrides: train.max_steps" in out and "reached max_steps=6" in out
    assert main([*base, "--encoding", "cp1252"]) == 1  # another decoding: a clear error
    err = capsys.readouterr().err
    assert "--encoding iso8859-1" in err and "drop --encoding" in err and len(
        err.splitlines()) == 1
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["eval", str(workdir / "run" / "last.safetensors"), "--split", "valid"]) == 0
    assert json.loads(capsys.readouterr().out)["ppl"] > 1


def test_a_latin1_run_without_the_saved_policy_would_fail(workdir, capsys):
    """The oracle for the test above: the file is not utf-8, so reading it needs the policy."""
    _latin1_corpus(workdir / "latin1.txt")
    assert main(["prepare", "--data", "latin1.txt", "--out-dir", "p"]) == 1
    assert "not valid utf-8" in capsys.readouterr().err


def test_tagger_resume_reuses_the_encoding_and_names_a_moved_file(tmp_path, monkeypatch,
                                                                  capsys):
    """The same for a task other than the LM (the runner does it for every task)."""
    monkeypatch.chdir(tmp_path)
    config, fields = _relative_run("tagger", tmp_path)
    path = tmp_path / fields["data"]
    path.write_bytes(path.read_text().replace("cat", "caf\u00e9").encode("latin-1"))
    assert main(["train", "tagger", "--config", str(config), "--encoding", "latin-1"]) == 0
    assert main(["train", "tagger", "--out-dir", "run", "--resume", "--max-steps", "4"]) == 0
    assert "reached max_steps=4" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path / "run")
    assert main(["eval", "last.safetensors"]) == 0
    capsys.readouterr()
    path.rename(tmp_path / "moved.txt")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "tagger", "--out-dir", "run", "--resume", "--max-steps", "6"]) == 1
    err = capsys.readouterr().err
    assert f"training text {path}" in err and "start a new run" in err
