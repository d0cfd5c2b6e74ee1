r"""Part I, section 10: learning a tied weight that is an orthogonal projector.

A :class:`~tying.layers.ProjectorLinear` of rank :math:`r` is trained to
reconstruct smooth signals, :math:`\min_P \frac1N \sum \lVert x - P x\rVert^2`.
Because :math:`\lVert x - Px\rVert^2 = \lVert x\rVert^2 - x^\top P x`, the best
projector maximises :math:`\operatorname{tr}(P C)` with :math:`C` the second-moment
matrix of the data, whose maximiser is the projector onto the top :math:`r`
eigenvectors of :math:`C` (Ky Fan's theorem): principal component analysis.
"""

from __future__ import annotations

import numpy as np
import torch

from ..device import get_device, limit_threads
from ..layers.projector import ProjectorLinear

__all__ = ["smooth_signals", "pca_projector", "train_projector", "spectrum_sweep"]


def smooth_signals(
    n_samples: int,
    n: int = 24,
    *,
    length_scale: float = 3.0,
    noise: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""Noisy smooth curves on ``n`` points: a Gaussian process plus white noise.

    Each row is a draw with covariance :math:`K_{ij} = \exp(-(i-j)^2 / 2\ell^2)`
    (a squared-exponential kernel on a segment) plus independent
    :math:`\mathcal N(0, \text{noise}^2)` at every point.  Most of the variance
    lies in a few smooth directions, which is what makes a low-rank projector
    a good representation.
    """
    generator = torch.Generator().manual_seed(seed)
    grid = torch.arange(n, dtype=torch.float64)
    K = torch.exp(-((grid[:, None] - grid[None, :]) ** 2) / (2 * length_scale**2))
    L = torch.linalg.cholesky(K + 1e-8 * torch.eye(n, dtype=torch.float64))
    z = torch.randn(n_samples, n, generator=generator, dtype=torch.float64)
    x = z @ L.T + noise * torch.randn(n_samples, n, generator=generator, dtype=torch.float64)
    return x.to(device=get_device(device), dtype=dtype)


def pca_projector(data: torch.Tensor, rank: int) -> torch.Tensor:
    r"""The optimal rank-``rank`` projector for reconstructing ``data``: onto the top eigenvectors of :math:`X^\top X / N`."""
    second_moment = data.mT @ data / data.shape[0]
    _, vectors = torch.linalg.eigh(second_moment)
    top = vectors[:, data.shape[1] - rank :]
    return top @ top.mT


def train_projector(
    data: torch.Tensor,
    rank: int,
    *,
    steps: int = 300,
    lr: float = 0.1,
    seed: int = 0,
) -> tuple[ProjectorLinear, list[float]]:
    r"""Fit a :class:`ProjectorLinear` to reconstruct ``data`` by gradient descent on its free matrix :math:`A`.

    Every step updates only ``parametrizations.weight.original``; the weight
    stays a projector because it is computed from :math:`A`.  Returns the
    layer and the loss :math:`\frac1N\sum\lVert x - Px\rVert^2` after every step.
    """
    torch.manual_seed(seed)
    layer = ProjectorLinear(data.shape[1], rank, device=data.device, dtype=data.dtype)
    original = layer.parametrizations.weight.original
    history = []
    with limit_threads(1):
        for _ in range(steps):
            loss = (layer(data) - data).pow(2).sum(dim=1).mean()
            (grad,) = torch.autograd.grad(loss, original)
            with torch.no_grad():
                original.sub_(lr * grad)
            history.append(loss.item())
    return layer, history


def spectrum_sweep(data: torch.Tensor, test: torch.Tensor) -> dict[str, np.ndarray]:
    r"""For every rank :math:`r = 0, \dots, n`: the optimal projector, its singular values and what it keeps.

    Returns ``ranks`` (n+1), ``alpha`` :math:`= r/n`, ``projectors`` (n+1, n, n),
    ``singular_values`` (n+1, n), ``frobenius_sq`` (n+1), ``test_energy`` (the
    fraction of the energy of ``test`` the projector keeps) and
    ``test_projections`` (n+1, len(test), n).
    """
    n = data.shape[1]
    data, test = data.double(), test.double()
    projectors, svs, fro, energy, proj = [], [], [], [], []
    with limit_threads(1):
        for r in range(n + 1):
            P = pca_projector(data, r)
            projected = test @ P
            projectors.append(P)
            svs.append(torch.linalg.svdvals(P))
            fro.append(torch.linalg.matrix_norm(P).pow(2))
            energy.append(projected.pow(2).sum() / test.pow(2).sum())
            proj.append(projected)

    def stack(items):
        return torch.stack(items).cpu().numpy()

    return {
        "ranks": np.arange(n + 1),
        "alpha": np.arange(n + 1) / n,
        "projectors": stack(projectors),
        "singular_values": stack(svs),
        "frobenius_sq": stack(fro),
        "test_energy": stack(energy),
        "test_projections": stack(proj),
        "test": test.cpu().numpy(),
    }
