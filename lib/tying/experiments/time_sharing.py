"""Part I, section 2: Monte Carlo for tying an AR(1) coefficient across time.

The closed forms live in :mod:`tying.theory.time_sharing`; the functions here
simulate the same process and fit the same two estimators, so the chapter can
put the formulas and the simulation side by side.  Everything is NumPy with a
seeded :class:`numpy.random.Generator`: the estimators are sums and ratios, and
float64 on the CPU keeps the Monte Carlo exactly reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..theory.time_sharing import (
    ar1_variances,
    crossover_amplitude,
    drift_path,
    tied_excess_error,
    tied_limit,
    untied_excess_error,
)

__all__ = [
    "simulate_ar1",
    "fit_tied",
    "fit_untied",
    "excess_error",
    "monte_carlo_excess",
    "measured_prediction_error",
    "run_amplitude_sweep",
    "monte_carlo_crossover",
    "run_crossover_check",
]


def simulate_ar1(
    theta,
    n_sequences: int,
    *,
    n_reps: int = 1,
    sigma: float = 1.0,
    v0: float | None = None,
    rng: np.random.Generator | int | None = 0,
) -> np.ndarray:
    r"""Simulate :math:`x_t = \theta_t x_{t-1} + \varepsilon_t` for many sequences at once.

    Args:
        theta: coefficients of shape ``(..., T)``; leading dimensions (several drift
            amplitudes, say) are simulated side by side.
        n_sequences: ``N``, the independent sequences in one data set.
        n_reps: independent data sets (Monte Carlo replicates).
        sigma: noise standard deviation.
        v0: variance of :math:`x_0`; defaults to the stationary variance of :math:`\theta_1`.
        rng: a generator or a seed.

    Returns:
        ``x`` of shape ``(..., n_reps, n_sequences, T + 1)``, with ``x[..., 0]`` the start.
    """
    rng = np.random.default_rng(rng)
    theta = np.asarray(theta, dtype=float)
    lead, T = theta.shape[:-1], theta.shape[-1]
    flat = theta.reshape(-1, T)
    sd0 = np.sqrt([ar1_variances(th, sigma, v0)[0] for th in flat]).reshape(*lead, 1, 1)
    # Time first while stepping, so each step reads and writes contiguous memory.
    x = np.empty((T + 1, *lead, n_reps, n_sequences))
    x[0] = sd0 * rng.standard_normal((*lead, n_reps, n_sequences))
    x[1:] = sigma * rng.standard_normal((T, *lead, n_reps, n_sequences))
    coef = np.moveaxis(theta, -1, 0)[..., None, None]
    for t in range(T):
        x[t + 1] += coef[t] * x[t]
    return np.moveaxis(x, 0, -1)


def fit_tied(x: np.ndarray) -> np.ndarray:
    """One least-squares coefficient from all ``N*T`` pairs; ``x`` is ``(..., N, T+1)``, result ``(...)``."""
    prev, nxt = x[..., :-1], x[..., 1:]
    return np.sum(prev * nxt, axis=(-2, -1)) / np.sum(prev * prev, axis=(-2, -1))


def fit_untied(x: np.ndarray) -> np.ndarray:
    """A least-squares coefficient per step from its ``N`` pairs; ``x`` is ``(..., N, T+1)``, result ``(..., T)``."""
    prev, nxt = x[..., :-1], x[..., 1:]
    return np.sum(prev * nxt, axis=-2) / np.sum(prev * prev, axis=-2)


def excess_error(theta_hat: np.ndarray, theta, v_prev) -> np.ndarray:
    r""":math:`\frac1T\sum_t v_{t-1}(\hat\theta_t - \theta_t)^2`: the expected excess test error of fitted coefficients.

    ``theta_hat`` is ``(..., T)`` for untied fits or ``(..., 1)`` for a tied fit
    (broadcast over time); ``theta`` and ``v_prev`` are ``(T,)`` or broadcast
    against it.  On a fresh sequence this is exactly the mean squared one-step
    error minus :math:`\sigma^2`; :func:`measured_prediction_error` checks that
    by simulation.
    """
    theta_hat = np.asarray(theta_hat, dtype=float)
    return np.mean(np.asarray(v_prev) * (theta_hat - np.asarray(theta)) ** 2, axis=-1)


def monte_carlo_excess(
    theta,
    n_sequences: int,
    *,
    n_reps: int = 2000,
    sigma: float = 1.0,
    v0: float | None = None,
    seed: int = 0,
) -> dict:
    """Excess prediction error of the tied and untied fits, averaged over ``n_reps`` data sets.

    Returns a dict with the mean and its standard error for each model, the
    tied estimates themselves and the matching closed forms, so a notebook or a
    test can compare them directly.
    """
    theta = np.asarray(theta, dtype=float)
    v_prev = ar1_variances(theta, sigma, v0)[:-1]
    x = simulate_ar1(theta, n_sequences, n_reps=n_reps, sigma=sigma, v0=v0, rng=seed)
    tied_hat, untied_hat = fit_tied(x), fit_untied(x)
    tied = excess_error(tied_hat[:, None], theta, v_prev)
    untied = excess_error(untied_hat, theta, v_prev)
    sem = lambda a: float(a.std(ddof=1) / np.sqrt(len(a)))  # noqa: E731
    return {
        "tied": float(tied.mean()),
        "tied_sem": sem(tied),
        "untied": float(untied.mean()),
        "untied_sem": sem(untied),
        "gap": float((tied - untied).mean()),
        "gap_sem": sem(tied - untied),
        "tied_estimates": tied_hat,
        "untied_estimates": untied_hat,
        "tied_theory": tied_excess_error(theta, n_sequences, sigma, v0),
        "untied_theory": untied_excess_error(n_sequences, sigma),
        "tied_limit": tied_limit(theta, sigma, v0),
    }


def measured_prediction_error(
    theta,
    n_sequences: int,
    *,
    n_reps: int = 200,
    n_test: int = 20_000,
    sigma: float = 1.0,
    v0: float | None = None,
    seed: int = 0,
) -> dict:
    """Excess one-step error measured on fresh test sequences, next to :func:`excess_error`.

    Fits both models on ``n_reps`` training sets and predicts ``n_test`` fresh
    sequences with each fit.  The measured excess is the test mean squared error
    of the fit minus that of the true coefficients on the *same* test sequences,
    which removes the test set's own noise from the comparison.  Returns the
    measured values and the formula's values for the same fits (means over
    replicates).
    """
    theta = np.asarray(theta, dtype=float)
    rng = np.random.default_rng(seed)
    v_prev = ar1_variances(theta, sigma, v0)[:-1]
    train = simulate_ar1(theta, n_sequences, n_reps=n_reps, sigma=sigma, v0=v0, rng=rng)
    test = simulate_ar1(theta, n_test, n_reps=1, sigma=sigma, v0=v0, rng=rng)[0]  # (n_test, T+1)
    # Per-step sums over the test sequences make every fit's test error a quadratic in theta_hat.
    xx = np.mean(test[:, :-1] ** 2, axis=0)
    xy = np.mean(test[:, :-1] * test[:, 1:], axis=0)
    yy = np.mean(test[:, 1:] ** 2, axis=0)

    def test_mse(coef):
        return np.mean(yy - 2 * coef * xy + coef**2 * xx, axis=-1)

    oracle = test_mse(theta)
    out = {}
    for name, hat in (("tied", fit_tied(train)[:, None]), ("untied", fit_untied(train))):
        out[f"{name}_measured"] = float(np.mean(test_mse(hat) - oracle))
        out[f"{name}_formula"] = float(np.mean(excess_error(hat, theta, v_prev)))
    return out


def run_amplitude_sweep(
    amplitudes: Sequence[float],
    n_sequences: int,
    T: int,
    *,
    centre: float = 0.5,
    shape: str = "linear",
    sigma: float = 1.0,
    n_reps: int = 2000,
    seed: int = 0,
) -> dict:
    """Monte Carlo excess errors of both fits for each drift amplitude, with the closed forms.

    All amplitudes are simulated in one vectorised pass.  Returns arrays of
    length ``len(amplitudes)``.
    """
    start = time.perf_counter()
    amplitudes = np.asarray(amplitudes, dtype=float)
    thetas = np.stack([drift_path(T, a, centre, shape) for a in amplitudes])
    v_prev = np.stack([ar1_variances(th, sigma)[:-1] for th in thetas])  # (A, T)
    x = simulate_ar1(thetas, n_sequences, n_reps=n_reps, sigma=sigma, rng=seed)  # (A, R, N, T+1)
    tied = excess_error(fit_tied(x)[..., None], thetas[:, None, :], v_prev[:, None, :])  # (A, R)
    untied = excess_error(fit_untied(x), thetas[:, None, :], v_prev[:, None, :])
    sem = lambda a: a.std(axis=1, ddof=1) / np.sqrt(a.shape[1])  # noqa: E731
    return {
        "amplitudes": amplitudes,
        "n_sequences": n_sequences,
        "T": T,
        "tied": tied.mean(axis=1),
        "tied_sem": sem(tied),
        "untied": untied.mean(axis=1),
        "untied_sem": sem(untied),
        "gap": (tied - untied).mean(axis=1),
        "gap_sem": sem(tied - untied),
        "tied_theory": np.array([tied_excess_error(th, n_sequences, sigma) for th in thetas]),
        "untied_theory": np.full(len(amplitudes), untied_excess_error(n_sequences, sigma)),
        "seconds": time.perf_counter() - start,
    }


def monte_carlo_crossover(sweep: dict) -> float:
    """Where the simulated gap (tied minus untied) changes sign, by linear interpolation.

    Returns ``nan`` if it never changes sign on the swept amplitudes.
    """
    a, gap = sweep["amplitudes"], sweep["gap"]
    sign_change = np.nonzero((gap[:-1] < 0) & (gap[1:] >= 0))[0]
    if len(sign_change) == 0:
        return float("nan")
    k = sign_change[0]
    return float(a[k] - gap[k] * (a[k + 1] - a[k]) / (gap[k + 1] - gap[k]))


def run_crossover_check(
    settings: Sequence[tuple[int, int]],
    *,
    n_amplitudes: int = 7,
    span: tuple[float, float] = (0.6, 1.4),
    centre: float = 0.5,
    shape: str = "linear",
    n_reps: int = 2000,
    seed: int = 0,
) -> dict:
    """Simulated against predicted crossover amplitudes for several ``(N, T)``.

    For each setting the amplitudes are spread over ``span`` times the predicted
    crossover, the gap is simulated at each, and the simulated crossover is read
    off where the gap changes sign.
    """
    start = time.perf_counter()
    rows = []
    for i, (n, T) in enumerate(settings):
        predicted = crossover_amplitude(n, T, centre, shape=shape)
        hi = min(span[1] * predicted, 1.0 - abs(centre) - 1e-3)
        amplitudes = np.linspace(span[0] * predicted, hi, n_amplitudes)
        sweep = run_amplitude_sweep(
            amplitudes, n, T, centre=centre, shape=shape, n_reps=n_reps, seed=seed + i
        )
        rows.append((n, T, predicted, monte_carlo_crossover(sweep)))
    n, T, predicted, simulated = (np.array(col) for col in zip(*rows))
    return {
        "n_sequences": n,
        "T": T,
        "predicted": predicted,
        "simulated": simulated,
        "seconds": time.perf_counter() - start,
    }
