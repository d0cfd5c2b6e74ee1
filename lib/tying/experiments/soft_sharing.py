"""Part I, section 5: the MAP estimate of soft sharing, found by numerical optimisation.

The closed forms live in :mod:`tying.theory.soft_sharing`; this module finds the
same estimates the slow way (minimising the negative log posterior with L-BFGS
and autograd) so the notebook and the tests can compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from ..theory.soft_sharing import soft_sharing_map, soft_sharing_neg_log_posterior

__all__ = ["map_by_optimisation", "compare_map_estimates"]


def map_by_optimisation(
    x_i: float, x_j: float, lam_i: float, lam_j: float, sigma: float, *, max_iter: int = 200
) -> tuple[float, float]:
    """Minimise the negative log posterior over ``(theta_i, theta_j)`` with L-BFGS in float64.

    Starts from ``(0, 0)``, knowing nothing of the closed form.
    """
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [theta],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-14,
        tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = soft_sharing_neg_log_posterior(theta[0], theta[1], x_i, x_j, lam_i, lam_j, sigma)
        loss.backward()
        return loss

    opt.step(closure)
    return theta[0].item(), theta[1].item()


def compare_map_estimates(settings: Iterable[tuple[float, float, float, float, float]]) -> dict:
    """Closed form against L-BFGS for each ``(x_i, x_j, lam_i, lam_j, sigma)``.

    Returns ``{"settings": (S, 5), "closed": (S, 2), "numerical": (S, 2), "max_abs_error": float}``.
    """
    settings = np.asarray(list(settings), dtype=float)
    closed = np.array([soft_sharing_map(*s) for s in settings])
    numerical = np.array([map_by_optimisation(*s) for s in settings])
    return {
        "settings": settings,
        "closed": closed,
        "numerical": numerical,
        "max_abs_error": float(np.abs(closed - numerical).max()),
    }
