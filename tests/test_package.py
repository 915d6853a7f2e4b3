import subprocess
import sys

import pytest

import seqlab
from seqlab.cli.main import COMMANDS, main


def test_unknown_attribute_names_itself():
    with pytest.raises(AttributeError, match="no_such_thing"):
        seqlab.no_such_thing  # noqa: B018


def test_every_export_resolves_or_is_pending():
    # every name in the public table must import once its module exists
    import importlib.util

    for name, module in seqlab._EXPORTS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # parent package not written yet
            found = False
        if found:
            assert getattr(seqlab, name) is not None


def test_import_is_light():
    code = "import sys, seqlab; seqlab.SeqlabError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_help_lists_every_command(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
