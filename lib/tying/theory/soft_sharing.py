r"""Soft sharing of two parameters as a Gaussian prior on their difference.

The model of Part I, section 5: two parameters, one noisy observation of each,

.. math::
    x_i \sim \mathcal{N}(\theta_i, 1/\lambda_i), \qquad
    x_j \sim \mathcal{N}(\theta_j, 1/\lambda_j), \qquad
    \theta_i - \theta_j \sim \mathcal{N}(0, \sigma^2),

with a flat prior on everything else (the common level of the two parameters).
The posterior is Gaussian, so its mode (the MAP estimate) is also its mean.
``sigma = 0`` is hard tying, ``sigma = inf`` no sharing at all; both are
accepted and give the limits exactly.

All functions work on Python floats and on NumPy arrays (broadcasting).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "precision_weighted_mean",
    "difference_shrinkage",
    "soft_sharing_map",
    "soft_sharing_neg_log_posterior",
    "soft_sharing_posterior_precision",
    "soft_sharing_posterior_covariance",
]


def _check_positive(**values) -> None:
    for name, value in values.items():
        if np.any(np.asarray(value) <= 0):
            raise ValueError(f"{name} must be positive, got {value!r}")


def precision_weighted_mean(x_i, x_j, lam_i, lam_j):
    r""":math:`\bar x = (\lambda_i x_i + \lambda_j x_j)/(\lambda_i + \lambda_j)`: the hard-tying estimate.

    It is the maximum-likelihood estimate of a single parameter observed twice
    with precisions :math:`\lambda_i` and :math:`\lambda_j`.
    """
    _check_positive(lam_i=lam_i, lam_j=lam_j)
    return (lam_i * x_i + lam_j * x_j) / (lam_i + lam_j)


def difference_shrinkage(lam_i, lam_j, sigma):
    r"""The factor :math:`\rho = \sigma^2 / (\sigma^2 + 1/\lambda_i + 1/\lambda_j)` in ``[0, 1]``.

    The MAP estimates keep this fraction of the observed difference,
    :math:`\hat\theta_i - \hat\theta_j = \rho\,(x_i - x_j)`.  It is ``0`` for
    ``sigma = 0`` (tied) and ``1`` for ``sigma = inf`` (independent).
    """
    _check_positive(lam_i=lam_i, lam_j=lam_j)
    sigma = np.asarray(sigma, dtype=float)
    if np.any(sigma < 0):
        raise ValueError(f"sigma must be non-negative, got {sigma!r}")
    noise = 1.0 / np.asarray(lam_i, dtype=float) + 1.0 / np.asarray(lam_j, dtype=float)
    with np.errstate(invalid="ignore"):
        rho = np.where(np.isinf(sigma), 1.0, sigma**2 / (sigma**2 + noise))
    return rho.item() if rho.ndim == 0 else rho


def soft_sharing_map(x_i, x_j, lam_i, lam_j, sigma):
    r"""MAP estimates :math:`(\hat\theta_i, \hat\theta_j)` under the Gaussian prior on the difference.

    .. math::
        \hat\theta_i = \frac{\lambda_i(\lambda_j\sigma^2 + 1)\,x_i + \lambda_j x_j}
                            {\lambda_i\lambda_j\sigma^2 + \lambda_i + \lambda_j},
        \qquad
        \hat\theta_j = \frac{\lambda_j(\lambda_i\sigma^2 + 1)\,x_j + \lambda_i x_i}
                            {\lambda_i\lambda_j\sigma^2 + \lambda_i + \lambda_j}.

    Computed in the equivalent, numerically stable form
    :math:`\hat\theta_i = \bar x + \tfrac{\lambda_j}{\lambda_i+\lambda_j}\rho\,(x_i - x_j)`,
    :math:`\hat\theta_j = \bar x - \tfrac{\lambda_i}{\lambda_i+\lambda_j}\rho\,(x_i - x_j)`
    with :math:`\bar x` from :func:`precision_weighted_mean` and :math:`\rho` from
    :func:`difference_shrinkage`, which also covers ``sigma = 0`` and ``sigma = inf``.
    """
    mean = precision_weighted_mean(x_i, x_j, lam_i, lam_j)
    rho = difference_shrinkage(lam_i, lam_j, sigma)
    gap = rho * (np.asarray(x_i, dtype=float) - np.asarray(x_j, dtype=float))
    total = lam_i + lam_j
    theta_i = mean + lam_j / total * gap
    theta_j = mean - lam_i / total * gap
    independent = np.isinf(sigma)
    if np.any(independent):  # return the data exactly, free of rounding in mean + gap
        theta_i = np.where(independent, x_i, theta_i)
        theta_j = np.where(independent, x_j, theta_j)
        if np.ndim(theta_i) == 0:
            theta_i, theta_j = theta_i.item(), theta_j.item()
    return theta_i, theta_j


def soft_sharing_neg_log_posterior(theta_i, theta_j, x_i, x_j, lam_i, lam_j, sigma):
    r"""Negative log posterior up to a constant:

    .. math::
        \tfrac12\lambda_i(\theta_i - x_i)^2 + \tfrac12\lambda_j(\theta_j - x_j)^2
        + \frac{(\theta_i - \theta_j)^2}{2\sigma^2}.

    Works on floats, arrays and torch tensors alike (only arithmetic), so it can be
    minimised with autograd to check :func:`soft_sharing_map`.  Needs ``sigma > 0``.
    """
    if np.any(np.asarray(sigma) <= 0):
        raise ValueError(
            "the prior density needs sigma > 0; sigma = 0 is the constraint theta_i = theta_j"
        )
    return (
        0.5 * lam_i * (theta_i - x_i) ** 2
        + 0.5 * lam_j * (theta_j - x_j) ** 2
        + 0.5 * (theta_i - theta_j) ** 2 / sigma**2
    )


def soft_sharing_posterior_precision(lam_i, lam_j, sigma) -> np.ndarray:
    r"""The 2x2 posterior precision (Hessian of the negative log posterior), ``sigma > 0``.

    .. math::
        \Lambda = \begin{pmatrix} \lambda_i + \sigma^{-2} & -\sigma^{-2} \\
                                  -\sigma^{-2} & \lambda_j + \sigma^{-2} \end{pmatrix}.
    """
    _check_positive(lam_i=lam_i, lam_j=lam_j, sigma=sigma)
    tau = 1.0 / float(sigma) ** 2
    return np.array([[lam_i + tau, -tau], [-tau, lam_j + tau]], dtype=float)


def soft_sharing_posterior_covariance(lam_i, lam_j, sigma) -> np.ndarray:
    r"""The 2x2 posterior covariance :math:`\Lambda^{-1}`, in closed form; ``sigma = inf`` allowed.

    .. math::
        \Lambda^{-1} = \frac{1}{\lambda_i\lambda_j\sigma^2 + \lambda_i + \lambda_j}
        \begin{pmatrix} \lambda_j\sigma^2 + 1 & 1 \\ 1 & \lambda_i\sigma^2 + 1 \end{pmatrix}.

    As ``sigma -> 0`` every entry tends to :math:`1/(\lambda_i+\lambda_j)`, the variance of the
    tied estimate; the covariance becomes singular along :math:`\theta_i = \theta_j`.
    """
    _check_positive(lam_i=lam_i, lam_j=lam_j)
    if np.isinf(sigma):
        return np.diag([1.0 / lam_i, 1.0 / lam_j])
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma!r}")
    s2 = float(sigma) ** 2
    det = lam_i * lam_j * s2 + lam_i + lam_j
    return np.array([[lam_j * s2 + 1.0, 1.0], [1.0, lam_i * s2 + 1.0]], dtype=float) / det
