import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_language_model_snippet_runs(capsys, shared_data, monkeypatch, tmp_path):
    # the examples prepare PTB from the mirror into a relative directory: keep it out of the repo
    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    text = README.read_text()
    section = text[text.index("<!-- BEGIN lm -->"):text.index("<!-- END lm -->")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the lm section of README.md has a python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "[" in capsys.readouterr().out  # the surprisal list was printed
