"""The README's diagnostics section: its Python example runs and prints what it claims."""

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagnostics_snippet_runs(capsys):
    text = README.read_text()
    section = text[text.index("<!-- BEGIN diagnostics -->"):text.index("<!-- END diagnostics -->")]
    blocks = [b.split("```", 1)[0] for b in section.split("```python")[1:]]
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    out = capsys.readouterr().out.splitlines()
    rnn, lstm = (int(line.split()[1]) for line in out[:2])
    assert lstm > rnn  # the gated cell's signal reaches further back
    assert "0.9" in out[2]
