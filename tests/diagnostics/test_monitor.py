"""GradientMonitor: norms against torch's, exploding events, clipping's effect, the fit hook."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.diagnostics import GradientMonitor
from seqlab.errors import ConfigError


def test_norms_and_clipping_match_torch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model(torch.randn(5, 3)).pow(2).sum().backward()
    monitor = GradientMonitor(clip=0.1, log=lambda line: None)
    record = monitor(1, model)
    for name, p in model.named_parameters():
        assert record["parameters"][name] == pytest.approx(float(p.grad.norm()))
    before = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    assert record["total"] == pytest.approx(float(before))
    after = math.sqrt(sum(float(p.grad.norm()) ** 2 for p in model.parameters()))
    assert record["clipped_total"] == pytest.approx(after, rel=1e-5)
    assert record["clipped"] is (float(before) > 0.1)


def test_a_jump_by_the_factor_is_an_event_and_is_logged():
    layer = torch.nn.Linear(2, 1)
    lines = []
    monitor = GradientMonitor(factor=5.0, window=3, log=lines.append)
    for step, scale in enumerate([1.0, 1.2, 0.9, 4.0, 50.0, float("nan")], 1):
        layer.zero_grad()
        (scale * layer(torch.ones(1, 2))).sum().backward()
        monitor(step, layer)
    assert [e["step"] for e in monitor.events] == [5, 6]  # 4x is below the factor 5
    assert "exploding gradient at step 5" in lines[0] and "no clipping" in lines[0]
    assert monitor.summary()["events"] == 2


def test_bad_settings():
    with pytest.raises(ConfigError, match="factor"):
        GradientMonitor(factor=1.0)
    with pytest.raises(ConfigError, match="clip"):
        GradientMonitor(clip=0.0)


def test_monitor_as_a_fit_hook_sees_every_step_before_clipping(tmp_path):
    from seqlab.config import RunConfig
    from seqlab.tasks import get_task
    from seqlab.tasks import train as train_task
    from tests.models.contract import TINY

    tables = TINY["longrange"](tmp_path)
    tables["train"].update(clip=1e-3, epochs=1, progress_bar="off")
    cfg = RunConfig.from_dict(tables, base=get_task("longrange").default_config())
    monitor = GradientMonitor(clip=1e-3, log=lambda line: None)
    result = train_task(cfg, log=lambda line: None, grad_hook=monitor)
    assert len(monitor.history) == result["steps"] == 4
    assert [h["step"] for h in monitor.history] == [1, 2, 3, 4]
    assert all(h["clipped"] and h["total"] > 1e-3 for h in monitor.history)  # unclipped norms
