"""Every README code example runs, and imports only from ``seqlab`` or documented subpackages.

The recurrent, lm, text-and-data, engine and tagging sections have their own tests (listed in
COVERED); this file runs the classical and embeddings sections, checks the README's imports,
and runs the README's command lines that once failed (``embed similar ... -man ...``).
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from seqlab.cli.main import main

README = Path(__file__).resolve().parents[1] / "README.md"
# section -> the test that executes its python blocks
COVERED = {
    "recurrent": "tests/nn/test_readme.py",
    "lm": "tests/models/test_readme_lm.py, tests/data/test_data_readme.py",
    "engine": "tests/models/test_readme_engine.py",
    "tagging": "tests/nn/test_readme_tagging.py",
    "classical": "tests/test_readme.py",
    "embeddings": "tests/test_readme.py",
    "forecast": "tests/models/test_readme_forecast.py",
    "classifier": "tests/models/test_readme_classifier.py",
    "seq2seq": "tests/models/test_readme_seq2seq.py",
    "diagnostics": "tests/diagnostics/test_readme.py",
}
DOCUMENTED = {"seqlab", "seqlab.nn", "seqlab.data", "seqlab.text", "seqlab.tasks",
              "seqlab.text.tags", "seqlab.data.conll", "seqlab.forecast",
              "seqlab.diagnostics"}


def section(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index(f"<!-- BEGIN {name} -->"):text.index(f"<!-- END {name} -->")]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_every_python_block_of_the_readme_is_run_by_a_test():
    text = README.read_text(encoding="utf-8")
    names = re.findall(r"<!-- BEGIN (\S+) -->", text)
    with_code = {n for n in names if python_blocks(section(n))}
    assert with_code <= set(COVERED), f"untested README code in {with_code - set(COVERED)}"
    outside = re.sub(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", "", text, flags=re.S)
    assert not python_blocks(outside), "a python block outside any section's markers"


def test_readme_imports_only_public_modules():
    text = README.read_text(encoding="utf-8")
    code = "\n".join(python_blocks(text))
    modules = re.findall(r"^\s*from (seqlab[\w.]*) import", code, flags=re.M)
    modules += re.findall(r"^\s*import (seqlab[\w.]*)", code, flags=re.M)
    assert modules
    assert set(modules) <= DOCUMENTED, sorted(set(modules) - DOCUMENTED)


def _run_classical(shared_data, monkeypatch, tmp_path, train_lines=None) -> dict:
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    if train_lines is not None:  # the fast variant: the first lines of PTB train only
        import seqlab
        from seqlab.data.lines import load_text

        def head(source, split="train"):
            text = load_text(source, split)
            return "".join(text.splitlines(True)[:train_lines]) if split == "train" else text

        monkeypatch.setattr(seqlab, "load_text", head)
    blocks = python_blocks(section("classical"))
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert scope["top"].shape == (2, 10) and scope["index"].n_documents_ == 3370
    assert (tmp_path / "ptb5.arpa").is_file()
    return scope


def test_readme_classical_section_runs(shared_data, monkeypatch, tmp_path):
    """The placeholders (documents, sentences, test_sentences) are defined and it all runs."""
    scope = _run_classical(shared_data, monkeypatch, tmp_path, train_lines=3000)
    assert len(scope["sentences"]) == 3000


@pytest.mark.slow
def test_readme_classical_section_runs_on_all_of_ptb(shared_data, monkeypatch, tmp_path):
    scope = _run_classical(shared_data, monkeypatch, tmp_path)
    assert len(scope["sentences"]) == 42068


WORDS = ("man king woman queen stock buy sell bond market price rose fell the a of "
         "company share trade bank").split()


def _synthetic(tmp_path: Path) -> None:
    rng = random.Random(0)
    for name, lines in (("ptb.train.txt", 600), ("more.txt", 50)):
        (tmp_path / name).write_text("".join(
            " ".join(rng.choice(WORDS) for _ in range(12)) + "\n" for _ in range(lines)))
    (tmp_path / "questions-words.txt").write_text(": family\nman king woman queen\n"
                                                  ": market\nbuy sell rose fell\n")
    (tmp_path / "wordsim353.tsv").write_text("# Word 1\tWord 2\tHuman (mean)\nbuy\tsell\t7.0\n"
                                             "king\tqueen\t8.0\nstock\tbank\t3.0\n")


def _run_embeddings(tmp_path: Path) -> dict:
    blocks = python_blocks(section("embeddings"))
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    return scope


def test_readme_embeddings_section_runs(tmp_path, monkeypatch):
    """On a small corpus with the README's file names (the real PTB run: the slow variant)."""
    monkeypatch.chdir(tmp_path)
    _synthetic(tmp_path)
    scope = _run_embeddings(tmp_path)
    assert scope["model"].epochs_trained_ == 5 + 2  # fit, then the README's 2 more epochs
    assert scope["ft"].wv["stockholder-ish"].shape == (100,)
    assert (tmp_path / "ptb.kv").is_file() and (tmp_path / "ptb.w2v").is_file()


@pytest.mark.slow
def test_readme_embeddings_section_runs_on_ptb(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _synthetic(tmp_path)
    shutil.copy(shared_data / "ptb" / "ptb.train.txt", tmp_path)
    for name in ("questions-words.txt", "wordsim353.tsv"):
        shutil.copy(shared_data / "analogy" / name, tmp_path)
    scope = _run_embeddings(tmp_path)
    assert len(scope["wv"]) > 9000


def test_readme_embed_commands_run(tmp_path, monkeypatch, capsys):
    """Defect 7: `seqlab embed similar ptb.kv king -man woman` said "unrecognized arguments"."""
    monkeypatch.chdir(tmp_path)
    _synthetic(tmp_path)
    assert main(["embed", "train", "--corpus", "ptb.train.txt", "--out", "ptb.kv",
                 "--architecture", "cbow", "--workers", "2", "--no-progress", "--epochs", "1",
                 "--min-count", "1", "--vector-size", "8"]) == 0
    capsys.readouterr()
    assert main(["embed", "similar", "ptb.kv", "king", "-man", "woman", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    from seqlab import KeyedVectors

    expected = KeyedVectors.load(tmp_path / "ptb.kv").most_similar(["king", "woman"], ["man"],
                                                                   topn=3)
    assert [line.split()[1] for line in lines] == [w for w, _ in expected]
    with pytest.raises(SystemExit) as info:
        main(["embed", "similar", "ptb.kv", "-h"])
    assert info.value.code == 0 and "prefix '-' to subtract" in capsys.readouterr().out
