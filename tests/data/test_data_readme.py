"""The README's "Text and data" snippet runs as written (its asserts are the checks)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_text_and_data_snippet_runs(shared_data, monkeypatch, tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text.split("### Text and data", 1)[1].split("<!-- END lm -->", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})
    assert (tmp_path / "prepared" / "ptb" / "meta.json").is_file()
