"""The README's engine section: its Python example runs on a checkpoint the CLI trained."""

from pathlib import Path

from seqlab.cli.main import main
from seqlab.models.language_model import LanguageModel
from tests.models.contract import lm_tiny

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_engine_snippet_loads_a_trained_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    tables = lm_tiny(tmp_path)
    tables["train"]["out_dir"] = "runs/ptb-small"
    flags = [f for section, values in tables.items() for key, value in values.items()
             for f in (f"--{section}.{key}", str(value))]
    assert main(["train", "lm", *flags]) == 0  # one epoch: best.safetensors too
    text = README.read_text()
    section = text[text.index("<!-- BEGIN engine -->"):text.index("<!-- END engine -->")]
    blocks = [b.split("```", 1)[0] for b in section.split("```python")[1:]]
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert type(scope["model"]) is LanguageModel and not scope["model"].training
