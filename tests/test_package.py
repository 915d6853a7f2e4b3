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
