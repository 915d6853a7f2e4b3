import argparse
from pathlib import Path

import pytest
import tomllib

from seqlab.config import RunConfig, add_config_arguments, config_from_args, to_toml
from seqlab.errors import ConfigError
from seqlab.models.lm_task import PRESETS
from seqlab.tasks import default_config, preset

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LM = default_config("lm")


def parse(argv):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, LM, PRESETS)
    return config_from_args(parser.parse_args(argv), LM, PRESETS)


def test_zaremba_small_preset_matches_the_paper():
    cfg = preset("lm", "zaremba-small")
    m, d, t = cfg.model, cfg.data, cfg.train
    assert (m.num_layers, m.hidden_size, m.embedding_dim, m.dropout) == (2, 200, 200, 0.0)
    assert (d.bptt, d.batch_size) == (35, 20)
    assert (t.optimizer, t.lr, t.epochs, t.lr_decay, t.decay_start, t.clip) == (
        "sgd", 1.0, 13, 0.5, 4, 5.0)
    assert (m.init, m.init_range) == ("uniform", 0.1)


def test_toml_round_trip(tmp_path):
    cfg = preset("lm", "zaremba-large")
    cfg.save(tmp_path / "run.toml")
    assert RunConfig.load(tmp_path / "run.toml", base=LM) == cfg
    assert tomllib.loads((tmp_path / "run.toml").read_text())["task"] == "lm"
    assert tomllib.loads(to_toml(cfg.to_dict())) == cfg.to_dict()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_files_equal_presets(name):
    # configs/<preset>.toml is the readable copy of the preset table
    assert RunConfig.load(CONFIGS / f"{name}.toml", base=LM) == preset("lm", name)


def test_flags_override_config_override_preset(tmp_path):
    (tmp_path / "c.toml").write_text("[model]\nhidden_size = 64\n[train]\nlr = 0.5\n")
    cfg = parse(["--preset", "zaremba-small", "--config", str(tmp_path / "c.toml"),
                 "--train.lr", "0.25", "--num-layers", "3", "--tie-weights", "false"])
    assert cfg.model.hidden_size == 64  # from the file
    assert cfg.train.lr == 0.25  # flag beats file
    assert cfg.model.num_layers == 3  # flat alias
    assert cfg.train.epochs == 13  # preset


@pytest.mark.parametrize("argv, match", [
    (["--hidden-size", "0"], "model.hidden_size must be an int > 0, got 0"),
    (["--hidden-size", "abc"], "model.hidden_size must be int, got 'abc'"),
    (["--optimizer", "rmsprop"], "train.optimizer must be one of"),
    (["--dropout", "1.5"], "model.dropout must be in"),
    (["--tie-weights", "maybe"], "model.tie_weights must be true or false"),
    (["--lr", "-1"], "train.lr must be a finite float > 0"),
])
def test_bad_values_name_the_option(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse(argv)


def test_unknown_keys_and_tables(tmp_path):
    with pytest.raises(ConfigError, match="unknown option model.hiden_size"):
        RunConfig.from_dict({"model": {"hiden_size": 3}}, base=LM)
    with pytest.raises(ConfigError, match=r"unknown config table \[optim\]"):
        RunConfig.from_dict({"optim": {}}, base=LM)
    with pytest.raises(ConfigError, match="the config is for task 'tagger', this run is task"):
        RunConfig.from_dict({"task": "tagger"}, base=LM)
    (tmp_path / "bad.toml").write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        RunConfig.load(tmp_path / "bad.toml", base=LM)
    with pytest.raises(ConfigError, match="unknown preset 'zaremba-huge' for task 'lm'"):
        preset("lm", "zaremba-huge")
    with pytest.raises(ConfigError, match="unknown task 'lmm'; registered tasks: .*lm.*tagger"):
        default_config("lmm")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "layernorm_lstm", "simple_gru",
                                  "mingru", "minlstm"])
def test_every_seqlab_cell_is_a_language_model_cell(cell):
    import torch

    from seqlab.models.language_model import LanguageModel
    from seqlab.nn.factory import RECURRENT_CELLS

    assert set(LM.model.CHOICES["cell"]) == set(RECURRENT_CELLS)  # one table of cell names
    cfg = parse(["--cell", cell, "--hidden-size", "8", "--embedding-dim", "8"])
    model = LanguageModel.from_config(cfg.model, {"vocab_size": 13})
    logits, state = model(torch.zeros(2, 3, dtype=torch.long))
    assert logits.shape == (2, 3, 13)
    with pytest.raises(ConfigError, match="model.cell must be one of"):
        parse(["--cell", "transformer"])


def test_the_cell_table_agrees_with_the_layers():
    from seqlab.nn.cells import CELLS
    from seqlab.nn.factory import RECURRENT_CELLS

    stepwise = {name for name, (_, _, bidi) in RECURRENT_CELLS.items() if bidi}
    assert stepwise == set(CELLS)  # every cell class the layers take, by the same name
    with pytest.raises(ConfigError, match="runs forward in time only"):
        from seqlab.nn.factory import recurrent_stack

        recurrent_stack("mingru", 4, 4, bidirectional=True)
