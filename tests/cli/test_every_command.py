"""Every command of ``seqlab.cli.main.COMMANDS`` (and every subcommand), by iterating the table:
``--help``, then an empty file, a latin-1 file, a binary file and a missing path in each file
argument. Whatever happens, no traceback: the command succeeds, or exits with argparse's usage
error, or prints one ``seqlab CMD: error: ...`` line. Commands added later are covered too.

In-process ``main([...])`` calls keep it fast; ``test_every_command_in_a_subprocess`` (slow)
runs the same inputs through ``python -m seqlab`` and looks at the real stderr.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.cli.lm import GENERATE_TOOLS
from seqlab.cli.main import COMMANDS, build_parser, main
from seqlab.cli.train import CLASSICAL_EVAL

VERB_TOOLS = {"eval": CLASSICAL_EVAL, "generate": GENERATE_TOOLS}

# option dests that name something the command writes: given a fresh path, never the input
OUTPUTS = {"out", "output", "out_dir", "save_model", "cache_dir"}
# options that take a file to read, besides positionals (by dest, or a metavar with FILE/PATH)
FILE_DESTS = {"data", "file", "corpus", "queries", "analogies", "similarity", "config",
              "resume", "vectors", "index", "model", "checkpoint", "text", "input", "source"}


def _leaves(parser: argparse.ArgumentParser, path: list[str]):
    """(command path, parser) of every runnable (sub)command under ``parser``."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaves(sub, [*path, name])


def command_paths() -> list[list[str]]:
    paths = []
    for name in COMMANDS:
        top = build_parser([name, "--help"])
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        if name == "train":  # its tasks' parsers are built only for the task named
            tasks = next(a for a in sub.choices[name]._actions
                         if isinstance(a, argparse._SubParsersAction))
            paths += [[name, task] for task in tasks.choices]
            continue
        paths += [p for p, _ in _leaves(sub.choices[name], [name])]
        # `seqlab eval ngram`, `seqlab generate ngram`...: the classical tools, verb first, whose
        # parser is built only when named
        paths += [[name, tool] for tool in VERB_TOOLS.get(name, {})]
    return paths


def leaf_parser(path: list[str]) -> argparse.ArgumentParser:
    parser = build_parser([*path, "--help"])
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _is_file_option(action: argparse.Action) -> bool:
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    dest = action.dest.split(".")[-1]  # config flags: "cfg:data.data" -> "data"
    takes_value = action.nargs != 0 and not action.choices  # not a switch, not a choice
    named = dest in FILE_DESTS or "FILE" in metavar or "PATH" in metavar
    return bool(action.option_strings) and dest not in OUTPUTS and takes_value and named


def argvs(path: list[str], parser: argparse.ArgumentParser, bad: Path, out: Path):
    """Command lines that put ``bad`` into each file argument in turn (positionals together)."""
    positionals, required, file_options, dry = [], [], [], []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            n = action.nargs
            positionals += [str(bad)] * (n if isinstance(n, int) else 1)  # "*" gets one too
        elif action.dest == "dry_run":
            dry = [action.option_strings[0]]
        elif action.required:
            value = str(out / action.dest) if action.dest in OUTPUTS else str(bad)
            nargs = action.nargs if isinstance(action.nargs, int) else 1
            required += [action.option_strings[0], *[value] * nargs]
        elif _is_file_option(action):
            file_options.append(action)
    base = [*path, *positionals, *required, *dry]
    if positionals or required:
        yield base
    for action in file_options:
        nargs = action.nargs if isinstance(action.nargs, int) else 1
        yield [*base, action.option_strings[0], *[str(bad)] * nargs]


def make_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {"empty": folder / "empty.txt", "latin1": folder / "latin1.txt",
              "binary": folder / "binary.bin", "missing": folder / "missing.txt"}
    inputs["empty"].write_bytes(b"")
    inputs["latin1"].write_bytes("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n".encode("latin-1") * 50)
    shutil.copy("/bin/ls", inputs["binary"])
    # readers chosen by the suffix (model, vectors, index and compressed files)
    for kind, suffix in (("binary", ".gz"), ("binary", ".arpa"), ("binary", ".kv"),
                         ("empty", ".npz"), ("empty", ".safetensors"), ("latin1", ".arpa")):
        inputs[f"{kind}{suffix}"] = folder / f"{kind}{suffix}"
        shutil.copy(inputs[kind], inputs[f"{kind}{suffix}"])
    return inputs


def check_outcome(argv: list[str], code, err: str) -> None:
    assert "Traceback" not in err, f"{argv}: traceback\n{err}"
    if code not in (0, None):
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines, f"{argv}: exit {code} with nothing on stderr"
        first = next(i for i, line in enumerate(lines) if not line.startswith(("usage:", " ")))
        assert lines[first].startswith("seqlab") and "error:" in lines[first], (
            f"{argv}: exit {code}, stderr {err!r}")


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    monkeypatch.delenv("SEQLAB_DATA", raising=False)  # registry datasets fail fast, unread
    monkeypatch.chdir(tmp_path)
    return tmp_path


PATHS = command_paths()
# the commands that take a file somewhere (the bad-input test runs each of them)
FILE_PATHS = [p for p in PATHS if any(True for _ in argvs(p, leaf_parser(p), Path("x"),
                                                            Path("o")))]


def test_the_table_is_walked():
    names = {p[0] for p in PATHS}
    assert names == set(COMMANDS)
    assert [p for p in PATHS if p not in FILE_PATHS] == [["demo"]]  # reads no file of yours
    assert ["bm25", "index"] in PATHS and ["train", "lm"] in PATHS and ["embed", "similar"] in PATHS
    for new in (["index", "bm25"], ["search", "bm25"], ["train", "ngram"], ["eval", "ngram"],
                ["generate", "ngram"], ["train", "embed"], ["similar"], ["analogy"],
                ["eval", "embed"]):  # the verb-first spellings are walked too
        assert new in PATHS, new
    train = list(argvs(["train", "lm"], leaf_parser(["train", "lm"]), Path("x"), Path("o")))
    assert ["train", "lm", "--dry-run", "--data.data", "x"] in train  # config flags naming files


@pytest.mark.parametrize("path", PATHS + [[name] for name in COMMANDS], ids=" ".join)
def test_help(path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*path, "--help"])
    captured = capsys.readouterr()
    assert info.value.code == 0 and "usage: seqlab " + " ".join(path) in captured.out
    assert "Traceback" not in captured.err


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    except Exception as exc:  # noqa: BLE001 (the point: nothing but a clear line may escape)
        pytest.fail(f"{argv}: raised {type(exc).__name__}: {exc}")
    return code, capsys.readouterr().err


@pytest.mark.parametrize("kind", ["empty", "latin1", "binary", "missing", "binary.gz",
                                  "binary.arpa", "binary.kv", "empty.npz", "empty.safetensors",
                                  "latin1.arpa"])
@pytest.mark.parametrize("path", FILE_PATHS, ids=" ".join)
def test_bad_inputs_give_one_line(path, kind, sandbox, capsys):
    bad = make_inputs(sandbox / "inputs")[kind]
    parser = leaf_parser(path)
    tried = 0
    for argv in argvs(path, parser, bad, sandbox / "out"):
        code, err = _run(argv, capsys)
        check_outcome(argv, code, err)
        tried += 1
    if kind == "missing":  # nothing the command was asked to write may be left behind
        assert not (sandbox / "out").exists() or not any((sandbox / "out").iterdir())
    assert tried > 0


def test_undecodable_input_names_the_file_the_offset_and_the_flags(sandbox, capsys):
    """Defect 1, one command of each kind; the per-command checks are in test_defects.py."""
    bad = make_inputs(sandbox / "inputs")["latin1"]
    code, err = _run(["ngram", "train", str(bad), "--out", "m.arpa"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert f"{bad}: byte 0xe9 at offset 3 is not valid utf-8" in err
    assert "--encoding" in err and "--errors replace" in err


@pytest.mark.slow
def test_every_command_in_a_subprocess(tmp_path):
    inputs = make_inputs(tmp_path / "inputs")
    env = {"PATH": "/usr/bin:/bin", "SEQLAB_CACHE": str(tmp_path / "cache"),
           "SEQLAB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for path in PATHS:
        parser = leaf_parser(path)
        for bad in (inputs[k] for k in ("empty", "latin1", "binary", "missing")):
            for argv in argvs(path, parser, bad, tmp_path / "out"):
                run = subprocess.run([sys.executable, "-m", "seqlab", *argv], cwd=tmp_path,
                                     env=env, capture_output=True, text=True, timeout=300)
                check_outcome(argv, run.returncode, run.stderr)
