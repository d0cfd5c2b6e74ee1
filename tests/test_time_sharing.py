"""Tying an AR(1) coefficient across time: closed forms against Monte Carlo."""

import math

import numpy as np
import pytest

from tying.theory import (
    ar1_covariance,
    ar1_variances,
    crossover_amplitude,
    crossover_amplitude_leading,
    drift_path,
    drift_spread_factor,
    excess_error_gap,
    misspecification_bias,
    tied_estimator_variance,
    tied_excess_error,
    tied_limit,
    untied_estimator_variance,
    untied_excess_error,
)


# The chapter's simulation and estimators, written again here in a few lines so that the
# closed forms of tying.theory are checked against an independent Monte Carlo.
def simulate_ar1(theta, n_sequences, *, n_reps=1, sigma=1.0, v0=None, rng=0):
    """x_t = theta_t x_(t-1) + sigma eps_t; returns (n_reps, n_sequences, T + 1)."""
    rng = np.random.default_rng(rng)
    theta = np.asarray(theta, dtype=float)
    x = np.empty((len(theta) + 1, n_reps, n_sequences))
    x[0] = np.sqrt(ar1_variances(theta, sigma, v0)[0]) * rng.standard_normal(x[0].shape)
    for t, coef in enumerate(theta):
        x[t + 1] = coef * x[t] + sigma * rng.standard_normal(x[0].shape)
    return np.moveaxis(x, 0, -1)


def fit_tied(x):
    prev, nxt = x[..., :-1], x[..., 1:]
    return np.sum(prev * nxt, axis=(-2, -1)) / np.sum(prev * prev, axis=(-2, -1))


def fit_untied(x):
    prev, nxt = x[..., :-1], x[..., 1:]
    return np.sum(prev * nxt, axis=-2) / np.sum(prev * prev, axis=-2)


def monte_carlo_excess(theta, n_sequences, *, n_reps, seed):
    """Mean and standard error of the excess error (1/T) sum_t v_(t-1) (theta_hat_t - theta_t)^2."""
    v_prev = ar1_variances(theta)[:-1]
    x = simulate_ar1(theta, n_sequences, n_reps=n_reps, rng=seed)
    tied = np.mean(v_prev * (fit_tied(x)[:, None] - theta) ** 2, axis=-1)
    untied = np.mean(v_prev * (fit_untied(x) - theta) ** 2, axis=-1)
    return {
        "tied": tied.mean(),
        "tied_sem": tied.std(ddof=1) / np.sqrt(n_reps),
        "untied": untied.mean(),
        "untied_sem": untied.std(ddof=1) / np.sqrt(n_reps),
    }


def close_to_mc(sim, sem, theory, rel=0.03):
    """Monte Carlo mean within 4 standard errors, plus a small relative allowance for O(1/N^2) terms."""
    return abs(sim - theory) <= 4 * sem + rel * abs(theory)


@pytest.mark.parametrize("T", [1, 2, 7, 20])
@pytest.mark.parametrize("shape", ["linear", "sine"])
def test_drift_path_and_its_spread(T, shape):
    theta = drift_path(T, 0.3, centre=0.4, shape=shape)
    assert theta.shape == (T,)
    if shape == "linear" and T > 1:
        assert np.isclose(theta[0], 0.1) and np.isclose(theta[-1], 0.7)
    assert np.isclose(misspecification_bias(theta), drift_spread_factor(T, shape) * 0.09)
    assert np.allclose(drift_path(T, 0.0, 0.4, shape), 0.4)


def test_bad_arguments():
    with pytest.raises(ValueError):
        drift_path(0, 0.1)
    with pytest.raises(ValueError):
        drift_path(5, 0.1, shape="zigzag")
    with pytest.raises(ValueError, match="pass v0"):
        ar1_variances([1.2, 0.5])
    assert np.isfinite(ar1_variances([1.2, 0.5], v0=1.0)).all()
    with pytest.raises(ValueError):
        tied_excess_error(drift_path(5, 0.1), 10, approx="exact")


def test_covariance_matches_its_recursion_and_a_simulation():
    theta = np.array([0.3, -0.5, 0.0, 0.9, 1.1])
    C = ar1_covariance(theta, sigma=1.3, v0=2.0)
    v = ar1_variances(theta, sigma=1.3, v0=2.0)
    assert np.allclose(np.diag(C), v)
    ref = np.diag(v)
    for t in range(1, len(v)):
        ref[t, :t] = theta[t - 1] * ref[t - 1, :t]
        ref[:t, t] = ref[t, :t]
    assert np.allclose(C, ref)
    x = simulate_ar1(theta, 200_000, sigma=1.3, v0=2.0, rng=0)[0]
    assert np.allclose(np.cov(x.T), C, atol=0.05 * C.max())


def test_estimators_on_noise_free_data_are_exact():
    theta = drift_path(6, 0.2)
    x = simulate_ar1(theta, 5, sigma=1e-12, v0=1.0, rng=1)[0]
    assert np.allclose(fit_untied(x), theta)
    flat = simulate_ar1(np.full(6, 0.7), 5, sigma=1e-12, v0=1.0, rng=2)[0]
    assert np.isclose(fit_tied(flat), 0.7)


def test_tied_estimate_converges_to_the_weighted_mean():
    theta = drift_path(10, 0.35)
    est = fit_tied(simulate_ar1(theta, 40_000, rng=3)[0])
    se = math.sqrt(tied_estimator_variance(theta, 40_000))
    assert abs(est - tied_limit(theta)) < 4 * se
    assert abs(est - theta.mean()) > 10 * se


def test_untied_variance_is_exact():
    theta = drift_path(8, 0.3)
    v_prev = ar1_variances(theta)[:-1]
    x = simulate_ar1(theta, 6, n_reps=20_000, rng=4)
    errors = fit_untied(x) - theta
    predicted = untied_estimator_variance(6, v_prev)
    mc = np.mean(errors**2, axis=0)
    sem = np.std(errors**2, axis=0) / np.sqrt(len(errors))
    assert np.all(np.abs(mc - predicted) < 4 * sem)
    assert np.isinf(untied_excess_error(2)) and untied_excess_error(7, sigma=2.0) == 4.0 / 5


@pytest.mark.parametrize(
    "n, T, a, shape",
    [
        (10, 20, 0.0, "linear"),
        (8, 10, 0.3, "linear"),
        (30, 15, 0.2, "sine"),
        (5, 40, 0.1, "linear"),
    ],
)
def test_excess_errors_match_monte_carlo(n, T, a, shape):
    theta = drift_path(T, a, shape=shape)
    r = monte_carlo_excess(theta, n, n_reps=3000, seed=n + T)
    assert close_to_mc(r["tied"], r["tied_sem"], tied_excess_error(theta, n))
    assert close_to_mc(r["untied"], r["untied_sem"], untied_excess_error(n), rel=0.0)


def test_tied_variance_delta_method_matches_monte_carlo():
    theta = drift_path(12, 0.3)
    est = fit_tied(simulate_ar1(theta, 40, n_reps=6000, rng=5))
    predicted = tied_estimator_variance(theta, 40)
    assert abs(np.var(est) / predicted - 1) < 0.08
    # without drift the delta method reduces to sigma^2 / (N sum v)
    flat = drift_path(12, 0.0)
    assert np.isclose(tied_estimator_variance(flat, 40), 1 / (40 * ar1_variances(flat)[:-1].sum()))


def test_leading_approximation_is_the_no_drift_variance():
    flat = drift_path(9, 0.0)
    assert np.isclose(tied_excess_error(flat, 11), tied_excess_error(flat, 11, approx="leading"))
    assert np.isclose(tied_excess_error(flat, 11), 1 / (11 * 9))


def test_crossover_is_a_root_of_the_gap():
    for n, T in [(10, 20), (30, 8)]:
        a = crossover_amplitude(n, T)
        assert (
            excess_error_gap(drift_path(T, a * 0.99), n)
            < 0
            < excess_error_gap(drift_path(T, a * 1.01), n)
        )
    assert math.isinf(crossover_amplitude(2, 10))
    assert math.isinf(crossover_amplitude_leading(2, 10))
    # for large N the rule of thumb and the full formula agree
    assert abs(crossover_amplitude_leading(200, 20) / crossover_amplitude(200, 20) - 1) < 0.02
