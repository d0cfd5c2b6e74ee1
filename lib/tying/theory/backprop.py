r"""Hand-derived gradients of a small network whose hidden units share one bias.

The network of Part I, section 6 has :math:`K` hidden ReLU units with their own
weight vectors :math:`\mathbf w_k` and **one** bias :math:`b` used by all of them,

.. math::
    z_{nk} = \mathbf w_k^\top \mathbf x_n + b, \qquad
    \hat y_n = \sum_k v_k\,\mathrm{ReLU}(z_{nk}) + c, \qquad
    L = \frac{1}{2N}\sum_n (\hat y_n - y_n)^2 .

For a single example (:math:`N = 1`) the bias gradient is the book's formula
:math:`\partial L/\partial b = (\hat y - y)\sum_k v_k\,\mathbb 1[z_k > 0]`:
one term per use of :math:`b`, added up.  The ReLU's derivative at exactly zero
is taken to be ``0``, as in PyTorch.
"""

from __future__ import annotations

import torch

__all__ = ["shared_bias_forward", "shared_bias_gradients"]


def _as_batch(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    if weight.dim() != 2:
        raise ValueError(f"weight must have shape (K, d), got {tuple(weight.shape)}")
    x = x.unsqueeze(0) if x.dim() == 1 else x
    if x.dim() != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"x must have shape (N, {weight.shape[1]}) or ({weight.shape[1]},), got {tuple(x.shape)}"
        )
    return x


def shared_bias_forward(
    x: torch.Tensor, weight: torch.Tensor, bias, v: torch.Tensor, c
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pre-activations ``z`` of shape ``(N, K)`` and outputs ``y_hat`` of shape ``(N,)``.

    Args:
        x: inputs ``(N, d)`` or ``(d,)``.
        weight: the hidden units' weight vectors as rows, ``(K, d)``.
        bias: the shared bias, a scalar (float or 0-d tensor).
        v: output weights ``(K,)``.
        c: output bias, a scalar.
    """
    x = _as_batch(x, weight)
    z = x @ weight.T + bias
    return z, torch.relu(z) @ v + c


def shared_bias_gradients(
    x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias, v: torch.Tensor, c
) -> dict[str, torch.Tensor]:
    r"""All gradients of :math:`L = \frac{1}{2N}\sum_n(\hat y_n - y_n)^2`, derived by hand.

    Returns a dict with

    - ``"bias"``: :math:`\partial L/\partial b`, a 0-d tensor;
    - ``"bias_per_use"``: shape ``(K,)``, the contribution of the bias's use in hidden unit
      :math:`k`, :math:`\frac1N\sum_n (\hat y_n - y_n)\,v_k\,\mathbb 1[z_{nk} > 0]`;
      ``"bias"`` is their sum;
    - ``"weight"`` ``(K, d)``, ``"v"`` ``(K,)``, ``"c"`` (0-d): the other parameters' gradients;
    - ``"loss"``, ``"y_hat"`` and ``"z"`` from the forward pass.
    """
    x = _as_batch(x, weight)
    y = y.reshape(-1)
    z, y_hat = shared_bias_forward(x, weight, bias, v, c)
    n = x.shape[0]
    residual = (y_hat - y) / n  # dL/dy_hat for each example
    active = (z > 0).to(z.dtype)  # dReLU/dz, 0 at z = 0 as in torch
    delta = residual[:, None] * v[None, :] * active  # dL/dz, shape (N, K)
    per_use = delta.sum(0)
    return {
        "bias": per_use.sum(),
        "bias_per_use": per_use,
        "weight": delta.T @ x,
        "v": torch.relu(z).T @ residual,
        "c": residual.sum(),
        "loss": 0.5 * ((y_hat - y) ** 2).mean(),
        "y_hat": y_hat,
        "z": z,
    }
