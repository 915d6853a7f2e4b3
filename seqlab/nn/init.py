"""Initializers named in seed 001's table, selectable by name.

==================  ====================================================================
scheme              effect on a weight W (fan_out, fan_in)
==================  ====================================================================
xavier_uniform      U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio)
xavier_normal       N(0, gain^2 * 2 / (fan_in + fan_out))
kaiming_uniform     U(-b, b), b = sqrt(6 / fan_in) (He et al., ReLU gain); alias he_uniform
kaiming_normal      N(0, 2 / fan_in); alias he (and he_normal)
orthogonal          each (H, H') gate block of W orthogonal (Saxe et al.), scaled by gain
uniform             U(-a, a), ``a`` given (Zaremba et al. 2014 use 0.1 / 0.05 / 0.04)
normal              N(0, std^2)
zeros               0
==================  ====================================================================

Seed 001 recommends Xavier/He for the input weights W_xh, orthogonal for the recurrent W_hh,
zero biases and a positive forget-gate bias: the defaults of :func:`init_recurrent`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError

SCHEMES = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "he",
           "he_uniform", "he_normal", "orthogonal", "uniform", "normal", "zeros")


@torch.no_grad()
def initialize(tensor: Tensor, scheme: str, *, gain: float = 1.0, a: float = 0.1,
               std: float = 0.01, num_gates: int = 1) -> Tensor:
    """Fills ``tensor`` in place with ``scheme`` (see the module table) and returns it.

    Args:
        tensor: the parameter; weights are (fan_out, fan_in).
        scheme: a name from :data:`SCHEMES`.
        gain: scale for the Xavier and orthogonal schemes.
        a: half-width of ``uniform``.
        std: standard deviation of ``normal``.
        num_gates: for ``orthogonal``, the number of stacked gate blocks (4 for an LSTM's W_hh),
            each made orthogonal on its own.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if scheme in ("uniform", "normal", "zeros"):
        if scheme == "uniform" and a <= 0:
            raise ConfigError(f"a (the uniform half-width) must be > 0, got {a}")
        return {"uniform": lambda: nn.init.uniform_(tensor, -a, a),
                "normal": lambda: nn.init.normal_(tensor, 0.0, std),
                "zeros": lambda: nn.init.zeros_(tensor)}[scheme]()
    if tensor.dim() < 2:
        raise ConfigError(f"scheme {scheme!r} needs a weight matrix (2-D), got shape "
                          f"{tuple(tensor.shape)}; use 'zeros', 'uniform' or 'normal' for biases")
    if scheme == "xavier_uniform":
        return nn.init.xavier_uniform_(tensor, gain)
    if scheme == "xavier_normal":
        return nn.init.xavier_normal_(tensor, gain)
    if scheme in ("kaiming_uniform", "he_uniform"):
        return nn.init.kaiming_uniform_(tensor, a=0.0, nonlinearity="relu")
    if scheme in ("kaiming_normal", "he", "he_normal"):
        return nn.init.kaiming_normal_(tensor, a=0.0, nonlinearity="relu")
    if tensor.shape[0] % num_gates:
        raise ConfigError(f"num_gates={num_gates} must divide the rows of the weight, got shape "
                          f"{tuple(tensor.shape)}")
    for block in tensor.chunk(num_gates, 0):
        nn.init.orthogonal_(block, gain)
    return tensor


_GATES = {"LSTMCell": 4, "LayerNormLSTMCell": 4, "LSTM": 4, "GRUCell": 3, "GRU": 3,
          "SimpleGRUCell": 2}


@torch.no_grad()
def init_recurrent(module: nn.Module, weight_ih: str = "xavier_uniform",
                   weight_hh: str = "orthogonal", bias: str = "zeros",
                   forget_bias: float | None = 1.0, **kwargs) -> nn.Module:
    """Initializes every recurrent cell or layer inside ``module`` by scheme names.

    Works on seqlab cells and layers and on torch.nn's RNN/LSTM/GRU (and their cells).
    Only modules with a recurrent weight (``weight_hh*``) are touched. Parameters:
    ``weight_ih*`` and ``weight_hr*`` get ``weight_ih``, ``weight_hh*`` gets
    ``weight_hh`` (orthogonal per gate block), ``bias*`` gets ``bias``; layer-norm gains are left
    alone. For LSTMs, ``forget_bias`` (if not None) then sets the forget gate's total bias:
    ``b_ih[f] = forget_bias`` and ``b_hh[f] = 0``.

    Example (Zaremba et al. 2014, medium model): ``init_recurrent(m, "uniform", "uniform",
    "uniform", forget_bias=None, a=0.05)``.

    Args:
        module: any module holding recurrent cells or layers.
        weight_ih, weight_hh, bias: scheme names (see :data:`SCHEMES`).
        forget_bias: LSTM forget-gate bias, or None to leave what ``bias`` gave.
        **kwargs: ``gain``, ``a``, ``std`` for :func:`initialize`.

    Returns:
        ``module``.
    """
    found = False
    for sub in module.modules():
        gates = _GATES.get(type(sub).__name__, 1)
        own = [(n, p) for n, p in sub.named_parameters(recurse=False)
               if n.startswith(("weight_ih", "weight_hh", "weight_hr", "bias"))]
        if not any(n.startswith("weight_hh") for n, _ in own):
            continue  # not a recurrent module (a Linear's bias is not ours to touch)
        for name, p in own:
            found = True
            if name.startswith("bias"):
                initialize(p, bias, **kwargs)
            elif name.startswith("weight_hh"):
                initialize(p, weight_hh, num_gates=gates if weight_hh == "orthogonal" else 1,
                           **kwargs)
            else:
                initialize(p, weight_ih, **kwargs)
        if gates == 4 and forget_bias is not None:
            for name, p in own:
                if name.startswith("bias"):
                    H = p.shape[0] // 4
                    p[H : 2 * H] = forget_bias if name.startswith("bias_ih") else 0.0
    if not found:
        raise ConfigError(f"module must hold recurrent parameters (weight_ih/weight_hh/bias), "
                          f"got {type(module).__name__} with none")
    return module


def zaremba_uniform(module: nn.Module, a: float = 0.05) -> nn.Module:
    """Every parameter ~ U(-a, a) (Zaremba et al. 2014: 0.1 small, 0.05 medium, 0.04 large)."""
    if a <= 0 or not math.isfinite(a):
        raise ConfigError(f"a must be a finite number > 0, got {a}")
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-a, a)
    return module
