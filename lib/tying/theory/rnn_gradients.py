r"""How a recurrent weight tied across time shapes the gradient: products of one matrix.

For :math:`h_t = \varphi(W h_{t-1} + U x_t + b)` the Jacobian over :math:`T` steps is

.. math::
    \frac{\partial h_t}{\partial h_{t-T}} = \prod_{k=t-T+1}^{t} \operatorname{diag}(\varphi'(a_k))\, W ,

the same :math:`W` in every factor because it is tied across time.  Where every slope
:math:`\varphi'(a_k)` is close to one number :math:`s` (tanh near zero: :math:`s = 1`),
the product is :math:`(sW)^T`, whose norm obeys

.. math::
    \rho(sW)^T \le \|(sW)^T\|_2 \le \|sW\|_2^T ,

with equality throughout for a normal :math:`W` (for example a scaled orthogonal one),
and :math:`\|(sW)^T\|_2^{1/T} \to \rho(sW)` as :math:`T \to \infty` (Gelfand's formula).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = [
    "scaled_orthogonal",
    "shifted_jordan",
    "spectral_norm",
    "spectral_radius",
    "power_norms",
    "norm_power_bound",
    "jacobian_norms_over_lags",
    "orthogonal_jacobian_bracket",
]


def scaled_orthogonal(
    n: int,
    norm: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A random ``n x n`` matrix ``norm * Q`` with ``Q`` orthogonal: every singular value equals ``norm``.

    It is normal, so ``||W^T||_2 = ||W||_2^T = norm^T`` exactly: the bound is tight.
    ``Q`` comes from the QR decomposition of a Gaussian matrix, signs fixed so that it
    is Haar distributed.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    return (norm * q).to(device=device, dtype=dtype or torch.get_default_dtype())


def shifted_jordan(
    n: int,
    radius: float,
    coupling: float,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    r"""The non-normal matrix :math:`rI + cS` (:math:`S` the upper shift): all eigenvalues equal ``radius``.

    Its spectral radius is :math:`r`, but its spectral norm is larger, close to
    :math:`r + c` for large ``n``.  So :math:`\|W\|_2 > 1 > \rho(W)` is possible: powers then
    grow for a while and decay in the end.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    w = radius * torch.eye(n, dtype=torch.float64) + coupling * torch.diag(
        torch.ones(n - 1, dtype=torch.float64), 1
    )
    return w.to(device=device, dtype=dtype or torch.get_default_dtype())


def spectral_norm(a: torch.Tensor) -> float:
    """Largest singular value ``||A||_2``."""
    return torch.linalg.matrix_norm(a, ord=2).item()


def spectral_radius(a: torch.Tensor) -> float:
    """Largest absolute eigenvalue ``rho(A)``."""
    return torch.linalg.eigvals(a).abs().max().item()


def power_norms(a: torch.Tensor, t_max: int) -> np.ndarray:
    """``||A^T||_2`` for ``T = 0, 1, ..., t_max`` (entry ``T``), by repeated multiplication."""
    if a.dim() != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A must be square, got shape {tuple(a.shape)}")
    out = np.empty(t_max + 1)
    p = torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
    for t in range(t_max + 1):
        out[t] = torch.linalg.matrix_norm(p, ord=2).item()
        p = a @ p
    return out


def norm_power_bound(a: torch.Tensor, t_max: int) -> np.ndarray:
    """The submultiplicative bound ``||A||_2^T`` for ``T = 0, ..., t_max``."""
    return spectral_norm(a) ** np.arange(t_max + 1, dtype=float)


def jacobian_norms_over_lags(
    step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    h0: torch.Tensor,
    inputs: torch.Tensor,
) -> tuple[np.ndarray, torch.Tensor]:
    r"""Exact :math:`\|\partial h_t/\partial h_{t-T}\|_2` for ``T = 1..t``, where ``t = len(inputs)``.

    Runs the recurrence ``h_k = step(h_{k-1}, inputs[k-1])`` from ``h0`` (one unbatched
    state of shape ``(H,)``), takes each one-step Jacobian :math:`J_k = \partial h_k/\partial h_{k-1}`
    with :func:`torch.func.jacrev` and multiplies them from the last step backwards:
    :math:`\partial h_t/\partial h_{t-T} = J_t J_{t-1}\cdots J_{t-T+1}`.

    Returns:
        ``norms`` of shape ``(t,)`` (entry ``T - 1`` is the lag-``T`` norm) and the states
        ``h_1..h_t`` stacked as ``(t, H)``.
    """
    if h0.dim() != 1:
        raise ValueError(f"h0 must be one unbatched state of shape (H,), got {tuple(h0.shape)}")
    jac = torch.func.jacrev(step, argnums=0)
    states, jacobians = [], []
    h = h0
    with torch.no_grad():
        for x_t in inputs:
            jacobians.append(jac(h, x_t))
            h = step(h, x_t)
            states.append(h)
    norms = np.empty(len(jacobians))
    product = torch.eye(h0.shape[0], dtype=h0.dtype, device=h0.device)
    for lag, j in enumerate(reversed(jacobians), start=1):
        product = product @ j
        norms[lag - 1] = torch.linalg.matrix_norm(product, ord=2).item()
    return norms, torch.stack(states)


def orthogonal_jacobian_bracket(slopes: torch.Tensor, gain: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Two-sided bound on :math:`\|\partial h_t/\partial h_{t-T}\|_2` when :math:`W = gQ`, :math:`Q` orthogonal.

    With :math:`D_k = \operatorname{diag}(\varphi'(a_k))` each factor :math:`D_k gQ` has all
    singular values between :math:`g\min_i D_{k,ii}` and :math:`g\max_i D_{k,ii}`, hence

    .. math::
        g^T \prod_k \min_i D_{k,ii} \;\le\; \Big\|\prod_k D_k gQ\Big\|_2 \;\le\;
        g^T \prod_k \max_i D_{k,ii} .

    Args:
        slopes: ``(t, H)``, row ``k - 1`` holds :math:`\varphi'(a_k)` for step ``k``.
        gain: :math:`g = \|W\|_2`.

    Returns:
        ``(lower, upper)``, each of shape ``(t,)``, entry ``T - 1`` for lag ``T`` ending at step ``t``.
    """
    s = slopes.detach().double().cpu()
    lo = torch.cumprod(gain * s.min(dim=1).values.flip(0), 0)
    hi = torch.cumprod(gain * s.max(dim=1).values.flip(0), 0)
    return lo.numpy(), hi.numpy()
