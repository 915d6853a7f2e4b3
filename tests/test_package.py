import subprocess
import sys

import pytest

import seqlab
from seqlab.cli.main import COMMANDS, main


def test_unknown_attribute_names_itself():
    with pytest.raises(AttributeError, match="no_such_thing"):
        seqlab.no_such_thing  # noqa: B018


def test_every_export_resolves():
    # every name in the public table imports from the module the table names (a wrong or
    # missing module path fails here) and is the very object that module holds
    import importlib

    for name, module in seqlab._EXPORTS.items():
        assert module.startswith("seqlab."), name
        holder = importlib.import_module(module)  # ModuleNotFoundError on a wrong path
        assert hasattr(holder, name), f"{module} has no {name}"
        assert getattr(seqlab, name) is getattr(holder, name)
    assert set(seqlab.__all__) == {"__version__", *seqlab._EXPORTS}


def test_every_cli_command_resolves():
    import argparse
    import importlib

    for name, (module, _) in COMMANDS.items():  # each module exists and builds its parser
        mod = importlib.import_module(module)
        add = getattr(mod, f"add_{name}_arguments", None) or mod.add_arguments
        assert callable(getattr(mod, f"run_{name}", None) or mod.run), name
        add(argparse.ArgumentParser(prog=name))


def test_import_is_light():
    code = "import sys, seqlab; seqlab.SeqlabError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_help_lists_every_command(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


CI_PROBE = '''
import pytest
def test_oracle():
    pytest.importorskip("no_such_oracle_package")
def test_dataset(shared_data):
    pass
@pytest.mark.skipif(True, reason="explicit marker")
def test_marked():
    pass
def test_ok():
    pass
'''


@pytest.mark.parametrize("ci", ["", "true"])
def test_ci_turns_missing_oracles_and_data_into_failures(tmp_path, ci):
    """tests/conftest.py's policy, run on a probe suite: locally a missing oracle package or
    dataset mirror skips (with its reason); with CI set both fail; an explicit skipif marker
    skips either way; dataset tests carry the ``data`` marker."""
    import os
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(CI_PROBE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    data: dataset tests\n")
    env = {**os.environ, "CI": ci, "SEQLAB_DATA": str(tmp_path / "no-mirror")}
    run = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)]
    out = subprocess.run(run, capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    if ci:
        assert "FAILED test_probe.py::test_oracle - CI is set" in out
        assert "ERROR test_probe.py::test_dataset - CI is set" in out
        assert "dataset mirror not found" in out and "no_such_oracle_package" in out
        assert "1 failed, 1 passed, 1 skipped, 1 error" in out
    else:
        assert "1 passed, 3 skipped" in out
    assert "explicit marker" in out
    only_data = subprocess.run(run + ["-m", "data"], capture_output=True, text=True,
                               env={**env, "CI": ""}, cwd=tmp_path).stdout
    assert "1 skipped, 3 deselected" in only_data  # just the dataset test
