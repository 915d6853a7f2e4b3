import json

import pytest
import torch

from seqlab.config import RunConfig
from seqlab.errors import CheckpointError
from seqlab.models.language_model import LanguageModel
from seqlab.tasks import default_config, load
from seqlab.train import checkpoint as ckpt_mod
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint

V = 17
VOCAB = {"format": "seqlab.vocab", "version": 1,
         "tokens": ["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(V - 4)]}


TOKENIZER = {"format": "seqlab.tokenizer", "name": "whitespace"}
ASSETS = {"vocab": VOCAB, "tokenizer": TOKENIZER, "char_level": False}


def setup(tie=False):
    cfg = RunConfig.from_dict({"model": {"embedding_dim": 8, "hidden_size": 8, "num_layers": 2,
                                         "tie_weights": tie},
                               "train": {"optimizer": "adam", "lr": 0.01}},
                              base=default_config("lm"))
    torch.manual_seed(0)
    model = LanguageModel.from_config(cfg.model, ASSETS)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randint(V, (2, 6))
    loss = model(x)[0].sum()
    loss.backward()
    opt.step()
    return cfg, model, opt, x


def save(path, cfg, model, opt, carry=None):
    return save_checkpoint(path, model=model, task="lm", config=cfg.to_dict(),
                           assets=model.assets(), optimizer=opt,
                           schedule={"lr": 0.01, "best": 1.0, "bad_epochs": 0},
                           progress={"epoch": 2, "batch": 3, "step": 7}, carry=carry)


@pytest.mark.parametrize("tie", [False, True])
def test_save_load_gives_bit_identical_logits(tmp_path, tie):
    cfg, model, opt, x = setup(tie)
    save(tmp_path / "c.safetensors", cfg, model, opt)
    loaded = LanguageModel.from_checkpoint(tmp_path / "c.safetensors")
    assert type(load(tmp_path / "c.safetensors")) is LanguageModel  # seqlab.load: any task
    model.eval()
    loaded.eval()
    assert torch.equal(model(x)[0], loaded(x)[0])
    if tie:
        assert loaded.decoder.weight is loaded.embedding.weight


def test_optimizer_rng_progress_and_carry_round_trip(tmp_path):
    cfg, model, opt, x = setup()
    carry = (torch.randn(2, 2, 8), torch.randn(2, 2, 8))
    torch.manual_seed(123)
    save(tmp_path / "c.safetensors", cfg, model, opt, carry=carry)
    expected_draw = torch.rand(3)
    ck = load_checkpoint(tmp_path / "c.safetensors")
    assert ck.progress == {"epoch": 2, "batch": 3, "step": 7}
    assert ck.config == cfg.to_dict() and ck.vocab == VOCAB and ck.task == "lm"
    assert ck.assets == {**ASSETS, "vocab_size": V}
    assert all(torch.equal(a, b) for a, b in zip(ck.carry(), carry))
    fresh = torch.optim.Adam(LanguageModel.from_config(cfg.model, ASSETS).parameters(),
                             lr=0.01)
    ck.load_optimizer(fresh)
    saved, loaded = opt.state_dict()["state"], fresh.state_dict()["state"]
    assert saved.keys() == loaded.keys()
    for index in saved:
        a, b = saved[index], loaded[index]
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    ck.restore_rng()
    assert torch.equal(torch.rand(3), expected_draw)


def test_truncated_and_corrupt_files_are_named(tmp_path):
    cfg, model, opt, _ = setup()
    path = save(tmp_path / "c.safetensors", cfg, model, opt)
    blob = path.read_bytes()
    (tmp_path / "t.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="t.safetensors is truncated or corrupt"):
        load_checkpoint(tmp_path / "t.safetensors")
    flipped = bytearray(blob)
    flipped[-10] ^= 0xFF  # a byte of tensor data
    (tmp_path / "f.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="corrupt: its tensors or metadata do not match"):
        load_checkpoint(tmp_path / "f.safetensors")
    (tmp_path / "g.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "g.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_mismatched_config_and_vocab_are_named(tmp_path):
    cfg, model, opt, _ = setup()
    ck = load_checkpoint(save(tmp_path / "c.safetensors", cfg, model, opt))
    other = RunConfig.from_dict({"model": {"hidden_size": 16}, "data": {"bptt": 20}}, base=cfg)
    with pytest.raises(CheckpointError, match=r"model.hidden_size: checkpoint 8, run 16.*"
                                              r"data.bptt: checkpoint 35, run 20"):
        ck.check_matches(other, ASSETS)
    allowed = RunConfig.from_dict({"train": {"epochs": 50}, "data": {"eval_batch_size": 3}},
                                  base=cfg)
    ck.check_matches(allowed, ASSETS)  # options that do not change what is learned
    vocab = {**VOCAB, "tokens": VOCAB["tokens"][:5] + ["zzz"] + VOCAB["tokens"][6:]}
    with pytest.raises(CheckpointError, match="another vocab: id 5 is 'w1' in the checkpoint, "
                                              "'zzz' in the data"):
        ck.check_matches(cfg, {**ASSETS, "vocab": vocab})
    ck.check_matches(cfg, ASSETS)  # the same: no error
    small = LanguageModel(V, embedding_dim=4, hidden_size=4, num_layers=1)
    with pytest.raises(CheckpointError, match="does not fit the model: .*size mismatch"):
        ck.load_weights(small)
    with pytest.raises(CheckpointError, match="is a checkpoint of task 'lm'; `seqlab tag` needs "
                                              "a 'tagger' checkpoint"):
        ck.check_task("tagger", "tag")


def _rewrite_header(path, edit):
    """Change the JSON metadata of a safetensors file, keeping it a valid file."""
    blob = path.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    meta = json.loads(header["__metadata__"]["seqlab"])
    edit(meta)
    header["__metadata__"]["seqlab"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + blob[8 + n:])


def test_an_edited_header_is_caught_by_the_sha256(tmp_path):
    """A valid file whose metadata was edited (a bigger hidden size) used to load and then
    fail with a raw size-mismatch error; the digest now covers the metadata."""
    cfg, model, opt, _ = setup()
    path = save(tmp_path / "c.safetensors", cfg, model, opt)
    load_checkpoint(path)  # intact: loads

    def bigger(meta):
        meta["config"]["model"]["hidden_size"] = 16

    _rewrite_header(path, bigger)
    with pytest.raises(CheckpointError, match="metadata do not match its SHA-256"):
        load_checkpoint(path)


def test_format_1_checkpoints_still_load(tmp_path):
    """Language-model files written by seqlab 0.1 (format 1: tensors-only digest, config with
    no task, vocab at the top level) load as task 'lm' with identical outputs."""
    cfg, model, opt, x = setup()
    path = save(tmp_path / "c.safetensors", cfg, model, opt)
    blob = path.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(json.loads(blob[8:8 + n])["__metadata__"]["seqlab"])
    tensors = load_checkpoint(path).tensors

    def to_v1(m):
        tables = dict(m["config"])
        tables.pop("task")
        for key in ("metric", "metric_mode", "progress_bar"):
            tables["train"].pop(key)
        m.clear()
        m.update({"format": "seqlab-checkpoint/1", "seqlab_version": "0.1.0",
                  "config": tables, "vocab_size": V, "vocab": VOCAB, "tokenizer": TOKENIZER,
                  "schedule": meta["schedule"], "progress": {"epoch": 2, "batch": 3, "step": 7,
                                                             "epoch_nll": 5.0,
                                                             "epoch_tokens": 4},
                  "optimizer": meta["optimizer"], "carry": None, "rng": meta["rng"],
                  "sha256": ckpt_mod._digest(tensors)})

    _rewrite_header(path, to_v1)
    ck = load_checkpoint(path)
    assert ck.task == "lm" and ck.vocab == VOCAB
    old = load(path)
    model.eval()
    assert torch.equal(old(x)[0], model(x)[0])


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    cfg, model, opt, x = setup()
    path = save(tmp_path / "c.safetensors", cfg, model, opt)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_mod.os, "replace", boom)
    with torch.no_grad():
        model.decoder.bias.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save(path, cfg, model, opt)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary left
