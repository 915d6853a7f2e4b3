import pytest
import torch

from seqlab.config import RunConfig
from seqlab.errors import CheckpointError
from seqlab.models.language_model import LanguageModel
from seqlab.train import checkpoint as ckpt_mod
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint

V = 17
VOCAB = {"format": "seqlab.vocab", "version": 1,
         "tokens": ["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(V - 4)]}


def setup(tie=False):
    cfg = RunConfig.from_dict({"model": {"embedding_dim": 8, "hidden_size": 8, "num_layers": 2,
                                         "tie_weights": tie},
                               "train": {"optimizer": "adam", "lr": 0.01}})
    torch.manual_seed(0)
    model = LanguageModel.from_config(V, cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randint(V, (2, 6))
    loss = model(x)[0].sum()
    loss.backward()
    opt.step()
    return cfg, model, opt, x


def save(path, cfg, model, opt, carry=None):
    return save_checkpoint(path, model=model, config=cfg, vocab_size=V, vocab=VOCAB,
                           tokenizer={"format": "seqlab.tokenizer", "name": "whitespace"},
                           optimizer=opt, schedule={"lr": 0.01, "best": 1.0, "bad_epochs": 0},
                           progress={"epoch": 2, "batch": 3, "step": 7}, carry=carry)


@pytest.mark.parametrize("tie", [False, True])
def test_save_load_gives_bit_identical_logits(tmp_path, tie):
    cfg, model, opt, x = setup(tie)
    save(tmp_path / "c.safetensors", cfg, model, opt)
    loaded = LanguageModel.from_checkpoint(tmp_path / "c.safetensors")
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
    assert ck.config == cfg and ck.vocab == VOCAB
    assert all(torch.equal(a, b) for a, b in zip(ck.carry(), carry))
    fresh = torch.optim.Adam(LanguageModel.from_config(V, cfg.model).parameters(), lr=0.01)
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
    with pytest.raises(CheckpointError, match="corrupt: tensor data does not match its SHA-256"):
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
        ck.check_matches(other, VOCAB)
    vocab = {**VOCAB, "tokens": VOCAB["tokens"][:5] + ["zzz"] + VOCAB["tokens"][6:]}
    with pytest.raises(CheckpointError, match="id 5 is 'w1' in the checkpoint, 'zzz' in the data"):
        ck.check_matches(cfg, vocab)
    ck.check_matches(cfg, VOCAB)  # the same: no error
    small = LanguageModel(V, embedding_dim=4, hidden_size=4, num_layers=1)
    with pytest.raises(RuntimeError, match="size mismatch"):
        ck.load_weights(small)


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
