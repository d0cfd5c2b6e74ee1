r"""Part I, section 9: the degeneracy of a tied linear autoencoder, measured.

The closed forms live in :mod:`tying.theory.identifiability`; this module
measures the same quantities numerically: the Jacobian of
:math:`W \mapsto W^\top W` by automatic differentiation, its null space by an
SVD, and the loss along an orbit :math:`\{QW\}` by evaluating the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..device import get_device
from ..layers.autoencoder import TiedAutoencoder

__all__ = [
    "random_orthogonal",
    "random_matrix_of_rank",
    "gram_jacobian",
    "null_space_dim",
    "measure_degeneracy",
    "degeneracy_grid",
    "measure_untied_degeneracy",
    "procrustes_rotation",
    "low_rank_data",
    "train_tied_autoencoder",
    "loss_along_paths",
]


def random_orthogonal(
    m: int, *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """A Haar-random ``m x m`` orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    Q, R = torch.linalg.qr(torch.randn(m, m, generator=generator, dtype=dtype))
    # Without this sign fix the distribution is not uniform over O(m).
    return Q * torch.sign(torch.diagonal(R))


def random_matrix_of_rank(
    m: int,
    n: int,
    rank: int | None = None,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """A Gaussian ``m x n`` matrix, or a product of Gaussian factors of the given rank."""
    r = min(m, n) if rank is None else rank
    if r == min(m, n):
        return torch.randn(m, n, generator=generator, dtype=dtype)
    left = torch.randn(m, r, generator=generator, dtype=dtype)
    right = torch.randn(r, n, generator=generator, dtype=dtype)
    return left @ right


def gram_jacobian(W: torch.Tensor) -> torch.Tensor:
    r"""The Jacobian of :math:`W \mapsto W^\top W` at ``W``, as an :math:`(n^2) \times (mn)` matrix.

    Computed with :func:`torch.autograd.functional.jacobian`; pass a float64 ``W`` so that the
    rank decision below has room to separate zero from non-zero singular values.
    """
    m, n = W.shape
    jac = torch.autograd.functional.jacobian(lambda w: w.mT @ w, W)  # (n, n, m, n)
    return jac.reshape(n * n, m * n)


def null_space_dim(J: torch.Tensor, rtol: float = 1e-9) -> tuple[int, torch.Tensor]:
    r"""Dimension of the null space of ``J`` (columns minus rank) and ``J``'s singular values.

    A singular value counts as zero when it is below ``rtol`` times the largest.
    """
    sv = torch.linalg.svdvals(J)
    rank = int((sv > rtol * sv.max()).sum()) if sv.numel() and sv.max() > 0 else 0
    return J.shape[1] - rank, sv


def measure_degeneracy(
    m: int, n: int, rank: int | None = None, *, seed: int = 0, rtol: float = 1e-9
) -> dict:
    """Null-space dimension of the Gram map's Jacobian at a random ``W`` (float64), with the spectral gap.

    ``gap`` is the ratio of the smallest singular value counted as non-zero to
    the largest counted as zero (``inf`` if there is none): a large gap means
    the rank decision is not a close call.
    """
    generator = torch.Generator().manual_seed(seed)
    W = random_matrix_of_rank(m, n, rank, generator=generator)
    null_dim, sv = null_space_dim(gram_jacobian(W), rtol)
    # svdvals returns min(rows, cols) values; the rest of the null space is structural.
    kept = sv[sv > rtol * sv.max()]
    dropped = sv[sv <= rtol * sv.max()]
    gap = float(kept.min() / dropped.max()) if len(dropped) and dropped.max() > 0 else float("inf")
    return {
        "m": m,
        "n": n,
        "rank": int(torch.linalg.matrix_rank(W)),
        "null_dim": null_dim,
        "gap": gap,
    }


def degeneracy_grid(
    ms: Sequence[int], ns: Sequence[int], *, seed: int = 0
) -> dict[str, np.ndarray]:
    """:func:`measure_degeneracy` at full rank for every ``(m, n)``: arrays of shape ``(len(ms), len(ns))``."""
    null = np.zeros((len(ms), len(ns)), dtype=int)
    gap = np.zeros((len(ms), len(ns)))
    for i, m in enumerate(ms):
        for j, n in enumerate(ns):
            result = measure_degeneracy(m, n, seed=seed + 1000 * i + j)
            null[i, j], gap[i, j] = result["null_dim"], result["gap"]
    return {"ms": np.asarray(ms), "ns": np.asarray(ns), "null_dim": null, "gap": gap}


def measure_untied_degeneracy(m: int, n: int, *, seed: int = 0, rtol: float = 1e-9) -> int:
    r"""Null-space dimension of the Jacobian of :math:`(V, W) \mapsto VW` at random full-rank factors.

    The untied autoencoder's function depends on its :math:`2mn` weights
    through the product :math:`VW`, :math:`V \in \mathbb{R}^{n\times m}`,
    :math:`W \in \mathbb{R}^{m\times n}`.
    """
    generator = torch.Generator().manual_seed(seed)
    V = torch.randn(n, m, generator=generator, dtype=torch.float64)
    W = torch.randn(m, n, generator=generator, dtype=torch.float64)
    jv, jw = torch.autograd.functional.jacobian(lambda v, w: v @ w, (V, W))
    J = torch.cat([jv.reshape(n * n, n * m), jw.reshape(n * n, m * n)], dim=1)
    return null_space_dim(J, rtol)[0]


def procrustes_rotation(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r"""The orthogonal :math:`Q` minimising :math:`\lVert QA - B\rVert_F` (orthogonal Procrustes).

    :math:`Q = UV^\top` where :math:`BA^\top = U\Sigma V^\top`.
    """
    U, _, Vh = torch.linalg.svd(B @ A.mT)
    return U @ Vh


def low_rank_data(
    n_samples: int,
    n: int,
    variances: Sequence[float],
    *,
    noise: float = 0.05,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian data in R^n with a few strong directions and isotropic noise.

    ``len(variances)`` random orthonormal directions carry the given variances;
    every direction also carries variance ``noise``.  Returns the data
    ``(n_samples, n)`` and the orthonormal directions ``(n, k)``.
    """
    generator = torch.Generator().manual_seed(seed)
    k = len(variances)
    basis, _ = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=torch.float64))
    scales = torch.tensor(variances, dtype=torch.float64).sqrt()
    z = torch.randn(n_samples, k, generator=generator, dtype=torch.float64) * scales
    x = z @ basis.T + noise**0.5 * torch.randn(
        n_samples, n, generator=generator, dtype=torch.float64
    )
    device = get_device(device)
    return x.to(device=device, dtype=dtype), basis.to(device=device, dtype=dtype)


def train_tied_autoencoder(
    data: torch.Tensor,
    hidden: int,
    *,
    steps: int = 400,
    lr: float = 0.05,
    seed: int = 0,
) -> tuple[TiedAutoencoder, list[float]]:
    r"""Fit a linear :class:`TiedAutoencoder` by full-batch gradient descent on :math:`\frac1N\sum\lVert x - W^\top W x\rVert^2`.

    Plain gradient descent, written out, keeps the run deterministic and cheap.
    Returns the model and the loss after every step.
    """
    torch.manual_seed(seed)
    model = TiedAutoencoder(data.shape[1], hidden, device=data.device, dtype=data.dtype)
    history = []
    for _ in range(steps):
        loss = (model(data) - data).pow(2).sum(dim=1).mean()
        (grad,) = torch.autograd.grad(loss, model.weight)
        with torch.no_grad():
            model.weight.sub_(lr * grad)
        history.append(loss.item())
    return model, history


def loss_along_paths(
    model: TiedAutoencoder,
    data: torch.Tensor,
    ts: Sequence[float],
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    r"""Reconstruction loss along two curves through the trained :math:`W`, both leaving it at unit speed.

    * ``orbit``: :math:`W(t) = e^{tS} W` with :math:`S` skew-symmetric, so :math:`e^{tS}` is orthogonal;
    * ``random``: :math:`W(t) = W + tD` for a random direction :math:`D`.

    :math:`S` and :math:`D` are scaled so that :math:`\lVert dW/dt\rVert_F = 1` at :math:`t = 0`.
    """
    generator = torch.Generator().manual_seed(seed)
    W = model.weight.detach()
    m, n = W.shape
    S = torch.randn(m, m, generator=generator, dtype=W.dtype).to(W.device)
    S = S - S.mT
    S = S / torch.linalg.matrix_norm(S @ W)
    D = torch.randn(m, n, generator=generator, dtype=W.dtype).to(W.device)
    D = D / torch.linalg.matrix_norm(D)

    def loss_at(weight: torch.Tensor) -> float:
        recon = data @ weight.mT @ weight
        return (recon - data).pow(2).sum(dim=1).mean().item()

    orbit = [loss_at(torch.linalg.matrix_exp(t * S) @ W) for t in ts]
    random = [loss_at(W + t * D) for t in ts]
    return {
        "t": np.asarray(ts, dtype=float),
        "orbit": np.asarray(orbit),
        "random": np.asarray(random),
    }
