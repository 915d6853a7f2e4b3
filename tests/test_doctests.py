"""Every docstring example in seqlab runs: each module whose source holds ``>>>`` is found by
walking the package (so modules added later are covered) and doctested; none may be skipped."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import seqlab


def modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(seqlab.__path__, "seqlab."):
        if info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and ">>>" in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


MODULES = modules_with_examples()


def test_the_walk_finds_the_modules():
    assert {"seqlab.io", "seqlab.data.corpus", "seqlab.embeddings.word2vec",
            "seqlab.generate.decoding"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    mod = importlib.import_module(module)
    source = Path(mod.__file__).read_text(encoding="utf-8")
    assert "doctest: +SKIP" not in source, f"{module}: an example is skipped, make it run"
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
