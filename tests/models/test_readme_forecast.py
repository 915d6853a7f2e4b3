"""The README's forecasting section: its Python block runs; its commands parse."""

from pathlib import Path

from seqlab.cli.main import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    return text[text.index("<!-- BEGIN forecast -->"):text.index("<!-- END forecast -->")]


def test_readme_forecast_python_block_runs(capsys):
    blocks = [b.split("```", 1)[0] for b in _section().split("```python")[1:]]
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert scope["mean"].shape == (24,) and (scope["lower"] < scope["upper"]).all()
    assert list(scope["drift"].params_)[0] == "x1"
    out = capsys.readouterr().out.splitlines()
    ours, snaive = (float(v) for v in out[1].split())
    assert ours < snaive  # ARIMA with seasonal differencing beats repeating the last day


def test_readme_forecast_commands_parse():
    block = _section().split("```bash")[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    commands = [line.split("#")[0].split()[1:] for line in lines if line.startswith("seqlab")]
    assert len(commands) == 5
    for argv in commands:
        argv = [a.strip("'") for a in argv]
        build_parser(argv).parse_args(argv)
