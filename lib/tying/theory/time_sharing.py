r"""Tying an AR(1) coefficient across time: what it costs, what it saves.

The process is :math:`x_t = \theta_t x_{t-1} + \varepsilon_t` for
:math:`t = 1, \dots, T`, with :math:`\varepsilon_t \sim \mathcal N(0, \sigma^2)`
independent and :math:`x_0 \sim \mathcal N(0, v_0)`.  ``N`` independent
sequences share the same coefficients :math:`\theta_1, \dots, \theta_T`.

* The **untied** model estimates each :math:`\theta_t` by least squares from the
  ``N`` pairs :math:`(x_{t-1}, x_t)` of step ``t``.
* The **tied** model estimates one :math:`\theta` from all :math:`NT` pairs.

Both are scored by the *excess one-step prediction error* on a fresh sequence
with the same coefficients,

.. math::
    \mathcal E = \frac1T \sum_{t=1}^T \mathbb E\big[(x_t - \hat\theta_t x_{t-1})^2\big] - \sigma^2
             = \frac1T \sum_{t=1}^T v_{t-1}\, \mathbb E\big[(\hat\theta_t - \theta_t)^2\big],

where :math:`v_t = \operatorname{Var} x_t` (the fresh sequence is independent of
the estimates, so the cross term vanishes).  Everything below is a closed form
in :math:`\theta_{1:T}`, :math:`\sigma`, :math:`v_0` and :math:`N`; the tests
check each one against simulation.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "drift_path",
    "drift_spread_factor",
    "ar1_variances",
    "ar1_covariance",
    "tied_limit",
    "misspecification_bias",
    "untied_estimator_variance",
    "untied_excess_error",
    "tied_estimator_variance",
    "tied_excess_error",
    "excess_error_gap",
    "crossover_amplitude",
    "crossover_amplitude_leading",
]


def drift_path(T: int, amplitude: float, centre: float = 0.5, shape: str = "linear") -> np.ndarray:
    r"""Coefficients :math:`\theta_1, \dots, \theta_T` that drift around ``centre``.

    ``shape="linear"``: a ramp from :math:`c - a` to :math:`c + a`;
    ``shape="sine"``: one period of :math:`c + a \sin(2\pi (t-1)/T)`.
    ``amplitude = 0`` gives a constant coefficient, the case in which tying is right.
    """
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    t = np.arange(T, dtype=float)
    if shape == "linear":
        unit = 2.0 * t / (T - 1) - 1.0 if T > 1 else np.zeros(1)
    elif shape == "sine":
        unit = np.sin(2.0 * np.pi * t / T)
    else:
        raise ValueError(f"shape must be 'linear' or 'sine', got {shape!r}")
    return centre + amplitude * unit


def drift_spread_factor(T: int, shape: str = "linear") -> float:
    r"""The unweighted :math:`s^2` of :func:`drift_path` per unit squared amplitude.

    Linear ramp: :math:`(T+1)/(3(T-1))`; one sine period (:math:`T \ge 3`): :math:`1/2`.
    """
    if shape == "linear":
        return (T + 1) / (3 * (T - 1)) if T > 1 else 0.0
    if shape == "sine":
        return 0.5 if T >= 3 else float(misspecification_bias(drift_path(T, 1.0, 0.0, "sine")))
    raise ValueError(f"shape must be 'linear' or 'sine', got {shape!r}")


def _default_v0(theta: np.ndarray, sigma: float, v0: float | None) -> float:
    """The stationary variance of the first coefficient, unless ``v0`` is given."""
    if v0 is not None:
        return float(v0)
    first = float(theta[0])
    if abs(first) >= 1:
        raise ValueError(f"|theta_1| = {abs(first):.3g} >= 1 has no stationary variance; pass v0")
    return sigma**2 / (1.0 - first**2)


def ar1_variances(theta, sigma: float = 1.0, v0: float | None = None) -> np.ndarray:
    r""":math:`v_0, \dots, v_T` with :math:`v_t = \theta_t^2 v_{t-1} + \sigma^2`.

    ``v0`` defaults to :math:`\sigma^2/(1 - \theta_1^2)`, so the process starts
    stationary for its first coefficient.
    """
    theta = np.asarray(theta, dtype=float)
    v = np.empty(len(theta) + 1)
    v[0] = _default_v0(theta, sigma, v0)
    for t, th in enumerate(theta, start=1):
        v[t] = th * th * v[t - 1] + sigma**2
    return v


def ar1_covariance(theta, sigma: float = 1.0, v0: float | None = None) -> np.ndarray:
    r"""Covariance of :math:`(x_0, \dots, x_T)`: :math:`C_{st} = v_s \prod_{r=s+1}^t \theta_r` for :math:`s \le t`."""
    theta = np.asarray(theta, dtype=float)
    v = ar1_variances(theta, sigma, v0)
    n = len(v)
    # Row s of `factors` holds 1 up to column s and theta_{s+1}, theta_{s+2}, ... after it,
    # so its cumulative product is prod_{r=s+1}^t theta_r for every t >= s.
    factors = np.ones((n, n))
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    factors[upper] = np.broadcast_to(np.concatenate([[1.0], theta]), (n, n))[upper]
    C = v[:, None] * np.cumprod(factors, axis=1)
    return np.triu(C) + np.triu(C, k=1).T


def tied_limit(theta, sigma: float = 1.0, v0: float | None = None) -> float:
    r"""What the tied estimate converges to as :math:`N \to \infty`:

    .. math::
        \theta^\star = \frac{\sum_t v_{t-1}\,\theta_t}{\sum_t v_{t-1}},

    the mean of the coefficients weighted by the variance of the regressor
    :math:`x_{t-1}`.  It equals the plain mean only when all :math:`v_{t-1}` agree.
    """
    theta = np.asarray(theta, dtype=float)
    w = ar1_variances(theta, sigma, v0)[:-1]
    return float(np.sum(w * theta) / np.sum(w))


def misspecification_bias(theta, weights=None) -> float:
    r"""The spread :math:`s^2 = \frac1T \sum_t w_t (\theta_t - \bar\theta_w)^2`.

    ``weights=None`` gives the unweighted form :math:`\frac1T\sum_t(\theta_t - \bar\theta)^2`.
    With weights (normalised here to mean one), :math:`\bar\theta_w` is the
    weighted mean; with :math:`w_t \propto v_{t-1}` this is the spread around the
    tied limit :func:`tied_limit`, and :math:`\bar v\, s_w^2` is the squared bias
    the tied model adds to the excess prediction error.
    """
    theta = np.asarray(theta, dtype=float)
    w = np.ones_like(theta) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    centre = np.sum(w * theta) / np.sum(w)
    return float(np.mean(w * (theta - centre) ** 2))


def untied_estimator_variance(n_sequences: int, v_prev, sigma: float = 1.0):
    r"""Exact :math:`\mathbb E[(\hat\theta_t - \theta_t)^2] = \sigma^2 / (v_{t-1}(N-2))` for the untied fit.

    Given the regressors, :math:`\hat\theta_t - \theta_t = \sum_i x^i_{t-1}\varepsilon^i_t /
    \sum_i (x^i_{t-1})^2` has variance :math:`\sigma^2/\sum_i (x^i_{t-1})^2`, and
    :math:`\sum_i (x^i_{t-1})^2 / v_{t-1}` is :math:`\chi^2_N`, whose inverse has mean
    :math:`1/(N-2)`.  Infinite for :math:`N \le 2`.
    """
    if n_sequences <= 2:
        return np.full_like(np.asarray(v_prev, dtype=float), np.inf)
    return sigma**2 / (np.asarray(v_prev, dtype=float) * (n_sequences - 2))


def untied_excess_error(n_sequences: int, sigma: float = 1.0) -> float:
    r"""Exact excess prediction error of the untied model, :math:`\sigma^2/(N-2)`.

    The factor :math:`v_{t-1}` in :math:`\mathcal E` cancels the one in
    :func:`untied_estimator_variance`, so the result does not depend on
    :math:`\theta_{1:T}` or on :math:`T` at all.
    """
    return math.inf if n_sequences <= 2 else sigma**2 / (n_sequences - 2)


def tied_estimator_variance(
    theta, n_sequences: int, sigma: float = 1.0, v0: float | None = None
) -> float:
    r"""Variance of the tied least-squares estimate, to first order in :math:`1/N` (delta method).

    Write :math:`z = (x_0, \dots, x_T)` for one sequence, with covariance :math:`C`.
    The tied estimate is a ratio of sums of per-sequence quadratic forms,
    :math:`\hat\theta = \sum_i a_i / \sum_i b_i` with :math:`a = \sum_t x_{t-1}x_t` and
    :math:`b = \sum_t x_{t-1}^2`.  Linearising around :math:`\theta^\star`,

    .. math::
        \operatorname{Var}\hat\theta \approx \frac{\operatorname{Var}(a - \theta^\star b)}{N\,(\mathbb E b)^2}
        = \frac{2\operatorname{tr}\big((MC)^2\big)}{N\,\big(\sum_t v_{t-1}\big)^2},

    where :math:`a - \theta^\star b = z^\top M z` and a zero-mean Gaussian quadratic form has
    variance :math:`2\operatorname{tr}((MC)^2)`.  Without drift this is
    :math:`\sigma^2/(N\sum_t v_{t-1})`; drift adds a term of order :math:`s^2/N`.
    The neglected terms are of order :math:`1/N^2`.
    """
    theta = np.asarray(theta, dtype=float)
    C = ar1_covariance(theta, sigma, v0)
    star = tied_limit(theta, sigma, v0)
    T = len(theta)
    # M is tridiagonal: sum_t x_{t-1}(x_t - star x_{t-1}) puts 1/2 beside the diagonal
    # and -star on the first T diagonal entries.  Form M @ C from shifted rows of C.
    MC = np.zeros_like(C)
    MC[:-1] += 0.5 * C[1:] - star * C[:-1]
    MC[1:] += 0.5 * C[:-1]
    mean_b = np.trace(C) - C[T, T]
    return float(2.0 * np.sum(MC * MC.T) / (n_sequences * mean_b**2))


def tied_excess_error(
    theta,
    n_sequences: int,
    sigma: float = 1.0,
    v0: float | None = None,
    approx: str = "delta",
) -> float:
    r"""Excess prediction error of the tied model.

    .. math::
        \mathcal E_\text{tied} \approx \bar v\, s_w^2 + \bar v \operatorname{Var}\hat\theta,
        \qquad \bar v = \frac1T\sum_t v_{t-1},

    where :math:`s_w^2` is :func:`misspecification_bias` with weights
    :math:`v_{t-1}` (the squared bias) and the variance is
    :func:`tied_estimator_variance`.  The cross term vanishes exactly because
    :math:`\theta^\star` is the :math:`v`-weighted mean.  ``approx="leading"``
    replaces the variance by its no-drift value, giving
    :math:`\bar v s_w^2 + \sigma^2/(NT)`.
    """
    theta = np.asarray(theta, dtype=float)
    v_prev = ar1_variances(theta, sigma, v0)[:-1]
    v_bar = float(v_prev.mean())
    bias = v_bar * misspecification_bias(theta, v_prev)
    if approx == "delta":
        return bias + v_bar * tied_estimator_variance(theta, n_sequences, sigma, v0)
    if approx == "leading":
        return bias + sigma**2 / (n_sequences * len(theta))
    raise ValueError(f"approx must be 'delta' or 'leading', got {approx!r}")


def excess_error_gap(
    theta,
    n_sequences: int,
    sigma: float = 1.0,
    v0: float | None = None,
    approx: str = "delta",
) -> float:
    """Tied minus untied excess error: negative while tying pays."""
    return tied_excess_error(theta, n_sequences, sigma, v0, approx) - untied_excess_error(
        n_sequences, sigma
    )


def crossover_amplitude(
    n_sequences: int,
    T: int,
    centre: float = 0.5,
    sigma: float = 1.0,
    shape: str = "linear",
    approx: str = "delta",
    tol: float = 1e-5,
) -> float:
    r"""The drift amplitude at which tying stops paying (root of :func:`excess_error_gap`).

    Found by bisection over :math:`a \in [0, 1 - |c|)`, so every coefficient stays
    inside the unit interval.  Returns ``inf`` when tying still pays at the
    largest admissible amplitude (always so for :math:`N \le 2`, where the untied
    error is infinite).
    """

    def gap(a: float) -> float:
        return excess_error_gap(drift_path(T, a, centre, shape), n_sequences, sigma, None, approx)

    lo, hi = 0.0, (1.0 - abs(centre)) * (1 - 1e-6)
    if gap(lo) >= 0:
        return 0.0
    if gap(hi) < 0:
        return math.inf
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if gap(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def crossover_amplitude_leading(
    n_sequences: int, T: int, centre: float = 0.5, shape: str = "linear"
) -> float:
    r"""A rule of thumb for :func:`crossover_amplitude`.

    Take all variances equal to the stationary one, :math:`v = \sigma^2/(1 - c^2)`,
    and keep only the leading terms: tying pays while

    .. math::
        v\,s^2 + \frac{\sigma^2}{NT} < \frac{\sigma^2}{N-2}
        \iff s^2 < (1 - c^2)\Big(\frac1{N-2} - \frac1{NT}\Big),

    that is, while the spread of the coefficients is smaller than the standard
    error of one untied estimate.  With :math:`s^2 = \kappa_T a^2`
    (:func:`drift_spread_factor`), :math:`a^\star = \sqrt{(1-c^2)(1/(N-2) - 1/(NT))/\kappa_T}`.
    """
    if n_sequences <= 2:
        return math.inf
    kappa = drift_spread_factor(T, shape)
    room = (1.0 - centre**2) * (1.0 / (n_sequences - 2) - 1.0 / (n_sequences * T))
    return math.sqrt(room / kappa) if kappa > 0 else math.inf
