"""Closed forms of soft sharing / James-Stein shrinkage, against autograd, algebra and Monte Carlo."""

import numpy as np
import pytest
import torch

from tying.theory import (
    bayes_lambda,
    bayes_risk,
    empirical_bayes_lambda,
    james_stein,
    james_stein_bayes_risk,
    james_stein_factor,
    james_stein_risk,
    kept_fraction,
    mle_risk,
    posterior_mean,
    shrinkage_factor,
    soft_sharing_bayes_risk,
    soft_sharing_estimate,
    soft_sharing_objective,
    soft_sharing_risk,
)


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0, 50.0])
def test_soft_sharing_estimate_minimises_the_objective(lam):
    rng = np.random.default_rng(101)
    x = rng.normal(size=7)
    est = soft_sharing_estimate(x, lam)
    theta = torch.tensor(est, requires_grad=True)
    xt = torch.tensor(x)
    loss = ((xt - theta) ** 2).sum() + lam * ((theta - theta.mean()) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, theta)
    assert grad.abs().max() < 1e-10
    # Linear algebra: (I + lam P) theta = x with the centring projector P.
    p = np.eye(7) - np.ones((7, 7)) / 7
    assert np.allclose(np.linalg.solve(np.eye(7) + lam * p, x), est)
    assert np.isclose(soft_sharing_objective(est, x, lam), loss.item())
    # Any perturbation increases the objective.
    for _ in range(5):
        assert soft_sharing_objective(
            est + 1e-3 * rng.normal(size=7), x, lam
        ) > soft_sharing_objective(est, x, lam)


def test_limits_and_factors():
    rng = np.random.default_rng(102)
    x = rng.normal(size=5)
    assert np.allclose(soft_sharing_estimate(x, 0.0), x)
    assert np.allclose(soft_sharing_estimate(x, np.inf), x.mean())
    lam = np.array([0.0, 0.5, 3.0, np.inf])
    assert np.allclose(kept_fraction(lam) + shrinkage_factor(lam), 1.0)
    batch = rng.normal(size=(4, 5))
    assert np.allclose(soft_sharing_estimate(batch, lam)[1], soft_sharing_estimate(batch[1], 0.5))
    with pytest.raises(ValueError):
        soft_sharing_estimate(x, -1.0)
    with pytest.raises(ValueError):
        soft_sharing_estimate(np.array([1.0]), 1.0)


def test_posterior_mean_is_the_gaussian_conditional_mean():
    rng = np.random.default_rng(103)
    """Flat prior on mu approximated by a very wide Gaussian; conditioning done by linear algebra."""
    k, s2, t2, wide = 6, 0.7, 1.3, 1e4
    x = rng.normal(size=k)
    cov_theta = t2 * np.eye(k) + wide**2 * np.ones((k, k))
    cond = cov_theta @ np.linalg.solve(cov_theta + s2 * np.eye(k), x)
    assert np.allclose(posterior_mean(x, s2, t2), cond, atol=1e-6)
    assert np.allclose(soft_sharing_estimate(x, bayes_lambda(s2, t2)), cond, atol=1e-6)


def test_risks_against_monte_carlo():
    """theta_k ~ N(mu, tau^2), x_k ~ N(theta_k, sigma^2), new theta and x in every replication."""
    k, s2, t2, reps, mu = 8, 1.0, 0.5, 100_000, 2.0
    rng = np.random.default_rng(3)
    theta = mu + np.sqrt(t2) * rng.standard_normal((reps, k))
    x = theta + np.sqrt(s2) * rng.standard_normal((reps, k))

    def risk(estimate):
        loss = ((estimate - theta) ** 2).sum(axis=-1)
        return loss.mean(), loss.std(ddof=1) / np.sqrt(reps)

    for lam in (0.0, 0.5, 2.0, 8.0):
        mean, se = risk(soft_sharing_estimate(x, lam))
        assert abs(mean - soft_sharing_bayes_risk(lam, k, s2, t2)) < 4 * se
    for estimate, formula in (
        (x, mle_risk(k, s2)),
        (posterior_mean(x, s2, t2), bayes_risk(k, s2, t2)),
        (james_stein(x, s2), james_stein_bayes_risk(k, s2, t2)),
        # an oracle that knows mu shrinks towards it: K s2 t2 / (s2 + t2), below the Bayes risk
        (mu + t2 / (s2 + t2) * (x - mu), k * s2 * t2 / (s2 + t2)),
    ):
        mean, se = risk(estimate)
        assert abs(mean - formula) < 4 * se
    assert risk(james_stein(x, s2, positive_part=True))[0] <= risk(james_stein(x, s2))[0] + 1e-12


def test_bayes_risk_is_the_minimum_over_lambda():
    k, s2, t2 = 10, 2.0, 0.5
    grid = np.logspace(-4, 4, 4001)
    risks = soft_sharing_bayes_risk(grid, k, s2, t2)
    assert risks.min() >= bayes_risk(k, s2, t2) - 1e-12
    assert np.isclose(
        soft_sharing_bayes_risk(bayes_lambda(s2, t2), k, s2, t2), bayes_risk(k, s2, t2)
    )
    assert np.isclose(grid[np.argmin(risks)], s2 / t2, rtol=0.01)
    gap = james_stein_bayes_risk(k, s2, t2) - bayes_risk(k, s2, t2)
    assert np.isclose(gap, 2 * s2**2 / (s2 + t2))


@pytest.mark.parametrize("k", [4, 5, 12])
def test_james_stein_frequentist_risk(k):
    rng = np.random.default_rng(106)
    for spread in (0.0, 3.0, 30.0):
        theta = np.zeros(k)
        theta[0], theta[-1] = np.sqrt(spread / 2), -np.sqrt(spread / 2)
        exact = james_stein_risk(theta, 1.0)
        assert exact < mle_risk(k, 1.0), "dominates the MLE everywhere"
        draws = theta + np.random.default_rng(k).standard_normal((60_000, k))
        mc = ((james_stein(draws, 1.0) - theta) ** 2).sum(-1).mean()
        assert abs(mc - exact) < 0.03 * k
        # Soft sharing at a fixed lambda: the bias-variance formula.
        x = theta + rng.normal(size=(60_000, k))
        loss = ((soft_sharing_estimate(x, 0.8) - theta) ** 2).sum(-1)
        assert abs(loss.mean() - soft_sharing_risk(0.8, theta, 1.0)) < 4 * loss.std() / np.sqrt(
            len(loss)
        )
    assert np.isclose(james_stein_risk(np.zeros(k), 1.0), 3.0)
    assert np.isclose(james_stein_risk(np.full(k, 5.0), 2.0), 6.0), "only the spread matters"


def test_james_stein_and_empirical_bayes_agree():
    rng = np.random.default_rng(107)
    x = rng.normal(size=(50, 9)) * 2
    lam = empirical_bayes_lambda(x, 1.0)
    assert np.allclose(soft_sharing_estimate(x, lam), james_stein(x, 1.0, positive_part=True))
    tight = np.array([0.0, 0.1, -0.1, 0.05, 0.0])  # spread below the noise: pool completely
    assert empirical_bayes_lambda(tight, 1.0) == np.inf
    assert (
        james_stein_factor(tight, 1.0) < 0
        and james_stein_factor(tight, 1.0, positive_part=True) == 0
    )
    assert np.allclose(james_stein(tight, 1.0, positive_part=True), tight.mean())


def test_invalid_arguments():
    with pytest.raises(ValueError, match="K >= 4"):
        james_stein(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="K >= 4"):
        james_stein_risk(np.zeros(3), 1.0)
    with pytest.raises(ValueError):
        bayes_risk(5, 0.0, 1.0)
    with pytest.raises(ValueError):
        posterior_mean(np.ones(4), 1.0, -1.0)


def test_efron_morris_baseball_numbers():
    """Efron and Morris (1975): 18 batters, hits in 45 at bats and rest-of-season averages."""
    hits = np.array([18, 17, 16, 15, 14, 14, 13, 12, 11, 11, 10, 10, 10, 10, 10, 9, 8, 7])
    rest = np.array([
        0.346, 0.298, 0.276, 0.222, 0.273, 0.270, 0.263, 0.210, 0.269,
        0.230, 0.264, 0.256, 0.303, 0.264, 0.226, 0.285, 0.316, 0.200,
    ])  # fmt: skip
    early = hits / 45
    assert len(early) == len(rest) == 18
    p = early.mean()
    sigma2 = p * (1 - p) / 45
    c = james_stein_factor(early, sigma2)
    assert round(c, 3) == 0.212
    ratio = ((early - rest) ** 2).sum() / ((james_stein(early, sigma2) - rest) ** 2).sum()
    assert 3.4 < ratio < 3.6
