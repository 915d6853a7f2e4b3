"""The README's seq2seq section: its Python example runs."""

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_seq2seq_snippet_runs():
    text = README.read_text()
    section = text[text.index("<!-- BEGIN seq2seq -->"):text.index("<!-- END seq2seq -->")]
    blocks = [b.split("```", 1)[0] for b in section.split("```python")[1:]]
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert scope["out"].count == 8
