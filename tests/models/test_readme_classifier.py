"""The README's classifier section: its Python example runs."""

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_classifier_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = README.read_text()
    section = text[text.index("<!-- BEGIN classifier -->"):text.index("<!-- END classifier -->")]
    blocks = [b.split("```", 1)[0] for b in section.split("```python")[1:]]
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert list(scope["clf"].classes_) == ["negative", "positive"]
    assert (tmp_path / "sentiment.safetensors").exists()
