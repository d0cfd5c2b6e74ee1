"""Part I, section 7: measured Jacobian norms of a tied RNN against the bound ``||sW||^T``.

Every function returns plain NumPy arrays; the Jacobians are exact (autograd,
:func:`torch.func.jacrev`, one step at a time, multiplied in float64).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..layers.recurrent import TiedRNN
from ..theory.rnn_gradients import (
    jacobian_norms_over_lags,
    orthogonal_jacobian_bracket,
    power_norms,
    scaled_orthogonal,
    shifted_jordan,
    spectral_norm,
    spectral_radius,
)

__all__ = ["make_rnn", "run_gain_sweep", "run_nonnormal"]


def make_rnn(
    weight_hh: torch.Tensor,
    input_size: int = 4,
    *,
    seed: int = 0,
    nonlinearity: str = "tanh",
) -> TiedRNN:
    """A :class:`TiedRNN` with the given recurrent matrix, random ``U`` and zero bias (float64)."""
    hidden = weight_hh.shape[0]
    torch.manual_seed(seed)
    rnn = TiedRNN(input_size, hidden, nonlinearity=nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh.copy_(weight_hh)
        rnn.bias.zero_()
    return rnn


def _measure(rnn: TiedRNN, t_max: int, scale: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    inputs = scale * torch.randn(t_max, rnn.input_size, generator=g, dtype=torch.float64)
    h0 = scale * torch.randn(rnn.hidden_size, generator=g, dtype=torch.float64)
    with torch.no_grad():
        return jacobian_norms_over_lags(lambda h, x: rnn.step(x, h), h0, inputs)


def run_gain_sweep(
    gains: Sequence[float] = (0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5),
    t_max: int = 30,
    hidden: int = 16,
    input_size: int = 4,
    input_scale: float = 1e-8,
    seed: int = 0,
) -> dict:
    """For ``W = g Q`` (one random orthogonal ``Q``, each gain ``g``) measure ``||dh_t/dh_{t-T}||_2``.

    Inputs and the initial state are Gaussian times ``input_scale``.  With the default
    ``1e-8`` the state stays so close to zero that tanh's slope is 1 to many digits
    (``s = 1``), the linearised regime; with ``input_scale`` of order 1 the units saturate.

    Returns a dict with ``gains (G,)``, ``lags (t_max,)`` (``1..t_max``), and arrays of shape
    ``(G, t_max)``: ``measured``, ``bound`` (``g^T``, which is ``||(sW)^T||_2`` with ``s = 1``),
    ``lower`` and ``upper`` (the slope bracket of
    :func:`tying.theory.rnn_gradients.orthogonal_jacobian_bracket`); plus ``max_abs_state (G,)``
    and ``min_slope (G,)`` over the whole run.
    """
    gen = torch.Generator().manual_seed(seed)
    q = scaled_orthogonal(hidden, 1.0, generator=gen, dtype=torch.float64)
    lags = np.arange(1, t_max + 1)
    out = {k: [] for k in ("measured", "bound", "lower", "upper", "max_abs_state", "min_slope")}
    for gain in gains:
        rnn = make_rnn(gain * q, input_size, seed=seed)
        norms, states = _measure(rnn, t_max, input_scale, seed)
        slopes = 1.0 - states**2  # tanh'(a) = 1 - tanh(a)^2
        lower, upper = orthogonal_jacobian_bracket(slopes, gain)
        out["measured"].append(norms)
        out["bound"].append(float(gain) ** lags)
        out["lower"].append(lower)
        out["upper"].append(upper)
        out["max_abs_state"].append(states.abs().max().item())
        out["min_slope"].append(slopes.min().item())
    result = {k: np.asarray(v) for k, v in out.items()}
    result["gains"] = np.asarray(gains, dtype=float)
    result["lags"] = lags
    return result


def run_nonnormal(
    blocks: int = 4,
    block_size: int = 4,
    radius: float = 0.7,
    coupling: float = 0.8,
    t_max: int = 60,
    input_size: int = 4,
    input_scale: float = 1e-8,
    seed: int = 0,
) -> dict:
    """A non-normal ``W``: Jordan-like blocks ``rI + cS``, hidden behind a random rotation.

    ``W = Q J Q^T`` with ``J`` block diagonal (``blocks`` copies of
    :func:`tying.theory.rnn_gradients.shifted_jordan`) and ``Q`` orthogonal, so ``W`` looks
    like a dense random matrix while ``||W^T||_2 = ||J^T||_2`` for every ``T``.

    Returns ``lags (t_max,)``, ``measured`` (through a tanh :class:`TiedRNN` near zero),
    ``power_norms`` (``||W^T||_2``), ``norm_bound`` (``||W||_2^T``), ``radius_power``
    (``rho(W)^T``), all ``(t_max,)``, and the scalars ``norm``, ``radius`` and
    ``radius_computed`` (from ``eigvals``, accurate only to about ``eps**(1/block_size)``).
    """
    j = torch.block_diag(
        *[shifted_jordan(block_size, radius, coupling, dtype=torch.float64)] * blocks
    )
    gen = torch.Generator().manual_seed(seed)
    q = scaled_orthogonal(j.shape[0], 1.0, generator=gen, dtype=torch.float64)
    w = q @ j @ q.T
    rnn = make_rnn(w, input_size, seed=seed)
    measured, _ = _measure(rnn, t_max, input_scale, seed)
    lags = np.arange(1, t_max + 1)
    # The eigenvalues are exactly `radius` by construction; computed ones of a defective
    # matrix are off by about eps**(1/block_size), so the exact value is used for rho^T.
    norm, rho = spectral_norm(w), float(radius)
    return {
        "lags": lags,
        "measured": measured,
        "power_norms": power_norms(w, t_max)[1:],
        "norm_bound": norm**lags,
        "radius_power": rho**lags,
        "norm": norm,
        "radius": rho,
        "radius_computed": spectral_radius(w),
    }
