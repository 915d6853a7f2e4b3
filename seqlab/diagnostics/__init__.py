"""Gradient-flow diagnostics of recurrent models: why gated cells train over long spans.

* :mod:`~seqlab.diagnostics.trace` - run any model's recurrent layers step by step, keeping
  every hidden state in the graph and recording gate activations;
* :mod:`~seqlab.diagnostics.flow` - ``||dL/dh_t||`` per step and layer, the Jacobian product
  norms ``||dh_T/dh_t||``, and :func:`reach` (steps the signal stays above a tolerance);
* :mod:`~seqlab.diagnostics.spectra` - spectral radius / largest singular value of W_hh;
* :mod:`~seqlab.diagnostics.monitor` - per-parameter gradient norms during training, with an
  exploding-gradient warning and what clipping did (a ``fit`` hook);
* :mod:`~seqlab.diagnostics.plots` - PNG figures with several models overlaid.

``seqlab diagnose`` writes the plots and a JSON summary from the command line.
"""

from seqlab.diagnostics.flow import (
    GradientFlow,
    gradient_flow,
    jacobian_norms,
    reach,
    step_jacobians,
)
from seqlab.diagnostics.monitor import GradientMonitor
from seqlab.diagnostics.spectra import recurrent_spectra
from seqlab.diagnostics.trace import Trace, recurrent_layers, tracing

__all__ = ["GradientFlow", "GradientMonitor", "Trace", "gradient_flow", "jacobian_norms",
           "reach", "recurrent_layers", "recurrent_spectra", "step_jacobians", "tracing"]
