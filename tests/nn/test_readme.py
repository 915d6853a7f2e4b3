"""The README's recurrent example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_recurrent_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- BEGIN recurrent -->")[1].split("<!-- END recurrent -->")[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "README.md#recurrent", "exec"), {})
    assert capsys.readouterr().out.split() == ["fused", "compiled"]
