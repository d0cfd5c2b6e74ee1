r"""Soft sharing of :math:`K` group means, and its James–Stein connection.

The model of Part II, "Statistical learning": :math:`K` unknown means, one
noisy observation of each,

.. math::
    x_k \sim \mathcal{N}(\theta_k, \sigma^2), \qquad k = 1, \dots, K,

and the *soft-sharing* estimate that minimises

.. math::
    L_\lambda(\theta) = \sum_k (x_k - \theta_k)^2 + \lambda \sum_k (\theta_k - \bar\theta)^2,
    \qquad \bar\theta = \tfrac1K \textstyle\sum_k \theta_k .

The penalty is a Gaussian prior on the deviations from the common mean: it is
what remains of :math:`\theta_k \sim \mathcal{N}(\mu, \tau^2)` after a flat prior on
:math:`\mu` is integrated out, with :math:`\lambda = \sigma^2/\tau^2`.  So the
minimiser is a posterior mean, and choosing :math:`\lambda` from the data turns
it into the James–Stein estimator (James and Stein, 1961; Efron and Morris,
1973, 1975).

Everything is written in terms of :math:`s`, the fraction of each deviation
:math:`x_k - \bar x` that an estimator keeps, and :math:`B = 1 - s`, the
fraction it gives up (Efron and Morris's *shrinkage factor*).  Functions take
floats or NumPy arrays; estimators act on the last axis, so a batch of
replications is one call.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "soft_sharing_objective",
    "soft_sharing_estimate",
    "kept_fraction",
    "shrinkage_factor",
    "bayes_lambda",
    "posterior_mean",
    "james_stein_factor",
    "james_stein",
    "empirical_bayes_lambda",
    "mle_risk",
    "soft_sharing_risk",
    "soft_sharing_bayes_risk",
    "bayes_risk",
    "james_stein_risk",
    "james_stein_bayes_risk",
]


def _check_positive(**values) -> None:
    for name, value in values.items():
        if np.any(np.asarray(value) <= 0):
            raise ValueError(f"{name} must be positive, got {value!r}")


def _check_lambda(lam) -> np.ndarray:
    lam = np.asarray(lam, dtype=float)
    if np.any(lam < 0):
        raise ValueError(f"lambda must be non-negative, got {lam!r}")
    return lam


def _deviations(x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grand mean (keepdims), deviations and their sum of squares :math:`S`, over the last axis."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0 or x.shape[-1] < 2:
        raise ValueError(f"need at least two groups on the last axis, got shape {x.shape}")
    mean = x.mean(axis=-1, keepdims=True)
    dev = x - mean
    return mean, dev, (dev**2).sum(axis=-1)


def soft_sharing_objective(theta, x, lam):
    r""":math:`L_\lambda(\theta) = \sum_k (x_k-\theta_k)^2 + \lambda\sum_k(\theta_k-\bar\theta)^2` (last axis)."""
    theta, x = np.asarray(theta, dtype=float), np.asarray(x, dtype=float)
    lam = _check_lambda(lam)
    centred = theta - theta.mean(axis=-1, keepdims=True)
    return ((x - theta) ** 2).sum(axis=-1) + lam * (centred**2).sum(axis=-1)


def kept_fraction(lam):
    r""":math:`s(\lambda) = 1/(1+\lambda)`: the share of each deviation from the grand mean that survives."""
    lam = _check_lambda(lam)
    s = 1.0 / (1.0 + lam)
    return s.item() if s.ndim == 0 else s


def shrinkage_factor(lam):
    r""":math:`B(\lambda) = \lambda/(1+\lambda) = 1 - s(\lambda)`: the share pulled to the grand mean."""
    lam = _check_lambda(lam)
    with np.errstate(invalid="ignore"):
        b = np.where(np.isinf(lam), 1.0, lam / (1.0 + lam))
    return b.item() if b.ndim == 0 else b


def soft_sharing_estimate(x, lam):
    r"""The minimiser of :func:`soft_sharing_objective`: :math:`\hat\theta = \bar x + (x - \bar x)/(1+\lambda)`.

    The grand mean is left where it is and every deviation from it is scaled
    by :math:`s = 1/(1+\lambda)`.  ``lam = 0`` gives the per-group
    maximum-likelihood estimate :math:`x` (no sharing); ``lam = inf`` gives
    the grand mean for everyone (hard tying).  ``lam`` broadcasts against the
    leading axes of ``x``.

    Why: the penalty is :math:`\lambda\,\theta^\top P \theta` with the centring
    projector :math:`P = I - \tfrac1K \mathbf 1\mathbf 1^\top`, so the
    stationarity condition :math:`(I + \lambda P)\theta = x` is solved by
    :math:`(I + \lambda P)^{-1} = (I - P) + P/(1+\lambda)`.
    """
    mean, dev, _ = _deviations(x)
    s = np.asarray(kept_fraction(lam), dtype=float)
    return mean + s[..., None] * dev if s.ndim else mean + s * dev


def bayes_lambda(sigma2, tau2):
    r""":math:`\lambda^\star = \sigma^2/\tau^2`: the penalty under which soft sharing *is* the posterior mean."""
    _check_positive(sigma2=sigma2, tau2=tau2)
    return np.asarray(sigma2, dtype=float) / np.asarray(tau2, dtype=float)


def posterior_mean(x, sigma2, tau2):
    r"""Posterior mean of :math:`\theta` when :math:`\theta_k \sim \mathcal N(\mu, \tau^2)` with a flat prior on :math:`\mu`.

    .. math::
        \mathbb E[\theta_k \mid x] = \bar x + \frac{\tau^2}{\tau^2 + \sigma^2}\,(x_k - \bar x),

    which is :func:`soft_sharing_estimate` at :math:`\lambda = \sigma^2/\tau^2`.
    """
    _check_positive(sigma2=sigma2, tau2=tau2)
    mean, dev, _ = _deviations(x)
    return mean + tau2 / (tau2 + sigma2) * dev


def james_stein_factor(x, sigma2, positive_part: bool = False):
    r"""The James–Stein kept fraction :math:`c = 1 - (K-3)\sigma^2/S`, :math:`S = \sum_k (x_k - \bar x)^2`.

    :math:`(K-3)/S` is an unbiased estimate of :math:`1/(\sigma^2+\tau^2)`,
    because :math:`S \sim (\sigma^2+\tau^2)\chi^2_{K-1}` under the model of
    :func:`posterior_mean`; so :math:`c` estimates :math:`\tau^2/(\sigma^2+\tau^2)`.
    With ``positive_part=True`` a negative :math:`c` is replaced by zero.
    Needs :math:`K \ge 4`.
    """
    _check_positive(sigma2=sigma2)
    _, _, ss = _deviations(x)
    k = np.asarray(x).shape[-1]
    if k < 4:
        raise ValueError(
            f"the James–Stein estimator towards the grand mean needs K >= 4, got K={k}"
        )
    c = 1.0 - (k - 3) * np.asarray(sigma2, dtype=float) / ss
    if positive_part:
        c = np.maximum(c, 0.0)
    return c.item() if np.ndim(c) == 0 else c


def james_stein(x, sigma2, positive_part: bool = False):
    r"""James–Stein estimate towards the grand mean: :math:`\bar x + c\,(x - \bar x)` with :func:`james_stein_factor`."""
    mean, dev, _ = _deviations(x)
    c = np.asarray(james_stein_factor(x, sigma2, positive_part), dtype=float)
    return mean + c[..., None] * dev if c.ndim else mean + c * dev


def empirical_bayes_lambda(x, sigma2):
    r"""The penalty that turns soft sharing into James–Stein: :math:`\hat\lambda = (K-3)\sigma^2 / (S - (K-3)\sigma^2)`.

    It solves :math:`1/(1+\hat\lambda) = c` for the James–Stein factor
    :math:`c`, i.e. it plugs the unbiased estimate of :math:`\sigma^2+\tau^2`
    into :func:`bayes_lambda`.  When :math:`S \le (K-3)\sigma^2` the data show
    no spread beyond the noise and the answer is ``inf`` (pool completely),
    which is the positive-part estimator.
    """
    _check_positive(sigma2=sigma2)
    _, _, ss = _deviations(x)
    k = np.asarray(x).shape[-1]
    if k < 4:
        raise ValueError(f"needs K >= 4, got K={k}")
    excess = ss - (k - 3) * np.asarray(sigma2, dtype=float)
    with np.errstate(divide="ignore"):
        lam = np.where(excess > 0, (k - 3) * np.asarray(sigma2, dtype=float) / excess, np.inf)
    return lam.item() if lam.ndim == 0 else lam


def mle_risk(k: int, sigma2):
    r""":math:`\mathbb E\|x - \theta\|^2 = K\sigma^2`, whatever :math:`\theta` is."""
    _check_positive(sigma2=sigma2)
    return k * np.asarray(sigma2, dtype=float)


def soft_sharing_risk(lam, theta, sigma2):
    r"""Frequentist risk of :func:`soft_sharing_estimate` at fixed :math:`\theta`.

    .. math::
        \mathbb E\|\hat\theta_\lambda - \theta\|^2
        = (1-s)^2 S_\theta + \sigma^2\big((K-1)s^2 + 1\big),
        \qquad s = \frac{1}{1+\lambda},\; S_\theta = \sum_k (\theta_k - \bar\theta)^2 .

    The first term is the bias of pulling real differences together, the
    second the noise that survives: :math:`K-1` centred directions scaled by
    :math:`s` and the grand mean, which is never shrunk.
    """
    _check_positive(sigma2=sigma2)
    _, _, s_theta = _deviations(theta)
    k = np.asarray(theta).shape[-1]
    s = np.asarray(kept_fraction(lam), dtype=float)
    return (1 - s) ** 2 * s_theta + sigma2 * ((k - 1) * s**2 + 1)


def soft_sharing_bayes_risk(lam, k: int, sigma2, tau2):
    r"""Risk of soft sharing averaged over :math:`\theta_k \sim \mathcal N(\mu, \tau^2)`.

    .. math::
        r(\lambda) = (K-1)\big[(1-s)^2\tau^2 + s^2\sigma^2\big] + \sigma^2,

    because :math:`\mathbb E\,S_\theta = (K-1)\tau^2`.  It is minimised at
    :math:`s = \tau^2/(\tau^2+\sigma^2)`, i.e. :math:`\lambda = \sigma^2/\tau^2`.
    """
    _check_positive(sigma2=sigma2, tau2=tau2)
    s = np.asarray(kept_fraction(lam), dtype=float)
    r = (k - 1) * ((1 - s) ** 2 * tau2 + s**2 * sigma2) + sigma2
    return r.item() if np.ndim(r) == 0 else r


def bayes_risk(k: int, sigma2, tau2):
    r"""The smallest risk any estimator can have on average: :math:`K\sigma^2 - (K-1)\sigma^4/(\sigma^2+\tau^2)`.

    Attained by :func:`posterior_mean`, i.e. soft sharing at :math:`\lambda = \sigma^2/\tau^2`.
    """
    _check_positive(sigma2=sigma2, tau2=tau2)
    return k * sigma2 - (k - 1) * sigma2**2 / (sigma2 + tau2)


def james_stein_bayes_risk(k: int, sigma2, tau2):
    r"""Average risk of James–Stein: :math:`K\sigma^2 - (K-3)\sigma^4/(\sigma^2+\tau^2)`.

    It exceeds :func:`bayes_risk` by :math:`2\sigma^4/(\sigma^2+\tau^2)`: the
    price of estimating :math:`\tau^2` from the data.
    """
    if k < 4:
        raise ValueError(f"needs K >= 4, got K={k}")
    _check_positive(sigma2=sigma2, tau2=tau2)
    return k * sigma2 - (k - 3) * sigma2**2 / (sigma2 + tau2)


def james_stein_risk(theta, sigma2, terms: int | None = None):
    r"""Frequentist risk of :func:`james_stein` at a fixed :math:`\theta` (no simulation).

    Stein's identity gives :math:`\mathbb E\|\hat\theta_{JS} - \theta\|^2 = K\sigma^2 - (K-3)^2\sigma^4\,
    \mathbb E[1/S]`, and :math:`S/\sigma^2` is non-central :math:`\chi^2_{K-1}` with
    non-centrality :math:`\delta = S_\theta/\sigma^2`.  Its inverse moment is the Poisson
    mixture :math:`\mathbb E[1/S] = \sigma^{-2}\sum_j \mathrm{Pois}(j; \delta/2)/(K - 3 + 2j)`,
    summed here over ``terms`` terms (enough for double precision by default).
    The risk is below :math:`K\sigma^2` for *every* :math:`\theta` once :math:`K \ge 4`.
    """
    _check_positive(sigma2=sigma2)
    theta = np.asarray(theta, dtype=float)
    k = theta.shape[-1]
    if k < 4:
        raise ValueError(f"needs K >= 4, got K={k}")
    _, _, s_theta = _deviations(theta)
    half = np.asarray(s_theta / sigma2 / 2.0)
    if terms is None:
        terms = int(np.max(half) + 12 * np.sqrt(np.max(half) + 1) + 60)
    j = np.arange(terms)
    weights = stats.poisson.pmf(j, half[..., None])
    inv_moment = (weights / (k - 3 + 2 * j)).sum(axis=-1) / sigma2
    risk = k * sigma2 - (k - 3) ** 2 * sigma2**2 * inv_moment
    return risk.item() if np.ndim(risk) == 0 else risk
