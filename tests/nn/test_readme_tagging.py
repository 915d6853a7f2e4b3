"""The README's tagging/attention example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tagging_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- BEGIN tagging -->")[1].split("<!-- END tagging -->")[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "README.md#tagging", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[1] == "torch.Size([2, 3, 6]) 0.0"
