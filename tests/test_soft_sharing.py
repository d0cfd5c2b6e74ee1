"""Soft sharing (Part I, section 5): closed forms against optimisation, autograd and algebra."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tying.theory import (
    difference_shrinkage,
    precision_weighted_mean,
    soft_sharing_map,
    soft_sharing_neg_log_posterior,
    soft_sharing_posterior_covariance,
    soft_sharing_posterior_precision,
)

SETTINGS = [
    (2.0, -1.0, 4.0, 1.0, 1e-3),
    (2.0, -1.0, 4.0, 1.0, 1.0),
    (2.0, -1.0, 4.0, 1.0, 1e3),
    (0.3, 1.7, 0.5, 2.0, 0.7),
    (-3.0, 5.0, 10.0, 0.1, 2.0),
]


def fraction_i(x_i, x_j, lam_i, lam_j, sigma):
    """The estimate as the book prints it."""
    s2 = sigma**2
    return (lam_i * (lam_j * s2 + 1) * x_i + lam_j * x_j) / (lam_i * lam_j * s2 + lam_i + lam_j)


def map_by_optimisation(x_i, x_j, lam_i, lam_j, sigma):
    """Minimise the negative log posterior with L-BFGS from (0, 0), knowing nothing of the closed form."""
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [theta], max_iter=200, tolerance_grad=1e-14, tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure():
        opt.zero_grad()
        loss = soft_sharing_neg_log_posterior(theta[0], theta[1], x_i, x_j, lam_i, lam_j, sigma)
        loss.backward()
        return loss

    opt.step(closure)
    return theta[0].item(), theta[1].item()


@pytest.mark.parametrize("setting", SETTINGS)
def test_closed_form_matches_lbfgs(setting):
    assert np.allclose(soft_sharing_map(*setting), map_by_optimisation(*setting), atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    x=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    lam=st.tuples(st.floats(0.05, 20), st.floats(0.05, 20)),
    log_sigma=st.floats(-3, 3),
)
def test_closed_form_is_the_printed_fraction_and_a_stationary_point(x, lam, log_sigma):
    sigma = 10.0**log_sigma
    th_i, th_j = soft_sharing_map(*x, *lam, sigma)
    assert np.isclose(th_i, fraction_i(*x, *lam, sigma), rtol=1e-9, atol=1e-9)
    # theta_j is theta_i with the labels swapped.
    assert np.isclose(th_j, fraction_i(x[1], x[0], lam[1], lam[0], sigma), rtol=1e-9, atol=1e-9)
    # The gradient of the negative log posterior vanishes there (autograd, float64).
    theta = torch.tensor([th_i, th_j], dtype=torch.float64, requires_grad=True)
    energy = soft_sharing_neg_log_posterior(theta[0], theta[1], *x, *lam, sigma)
    (grad,) = torch.autograd.grad(energy, theta)
    scale = 1.0 + max(lam) * (abs(x[0]) + abs(x[1]))
    assert grad.abs().max().item() < 1e-8 * scale


def test_invariants_of_the_estimate():
    rng = np.random.default_rng(0)
    x_i, x_j = rng.normal(size=(2, 200))
    lam_i, lam_j = np.exp(rng.normal(size=(2, 200)))
    sigma = np.exp(rng.uniform(-3, 3, size=200))
    th_i, th_j = soft_sharing_map(x_i, x_j, lam_i, lam_j, sigma)
    assert np.allclose(lam_i * th_i + lam_j * th_j, lam_i * x_i + lam_j * x_j)
    rho = difference_shrinkage(lam_i, lam_j, sigma)
    assert np.all((rho > 0) & (rho < 1))
    assert np.allclose(th_i - th_j, rho * (x_i - x_j))


def test_limits_are_exact_and_quadratic():
    args = (2.0, -1.0, 4.0, 1.0)
    assert soft_sharing_map(*args, 0.0) == (1.4, 1.4)
    assert soft_sharing_map(*args, np.inf) == (2.0, -1.0)
    assert precision_weighted_mean(*args) == 1.4
    assert (
        difference_shrinkage(4.0, 1.0, 0.0) == 0.0 and difference_shrinkage(4.0, 1.0, np.inf) == 1.0
    )
    for sigma in (1e-3, 1e-4):
        th_i, _ = soft_sharing_map(*args, sigma)
        assert np.isclose((th_i - 1.4) / sigma**2, 4 * 1 * 3 / 25, rtol=1e-5)
    for sigma in (1e3, 1e4):
        th_i, _ = soft_sharing_map(*args, sigma)
        assert np.isclose((th_i - 2.0) * sigma**2, -3 / 4, rtol=1e-5)


@pytest.mark.parametrize("sigma", [0.05, 0.7, 3.0])
def test_covariance_is_the_inverse_autograd_hessian(sigma):
    args = (0.5, 2.5, 3.0, 0.5)

    def energy(t):
        return soft_sharing_neg_log_posterior(t[0], t[1], *args, sigma)

    hessian = torch.autograd.functional.hessian(energy, torch.zeros(2, dtype=torch.float64))
    assert np.allclose(hessian.numpy(), soft_sharing_posterior_precision(3.0, 0.5, sigma))
    cov = soft_sharing_posterior_covariance(3.0, 0.5, sigma)
    assert np.allclose(cov, np.linalg.inv(hessian.numpy()), rtol=1e-10)


def test_covariance_limits():
    assert np.allclose(soft_sharing_posterior_covariance(4.0, 1.0, np.inf), np.diag([0.25, 1.0]))
    assert np.allclose(soft_sharing_posterior_covariance(4.0, 1.0, 0.0), 0.2)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="lam_i"):
        soft_sharing_map(0.0, 1.0, -1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        difference_shrinkage(1.0, 1.0, -0.5)
    with pytest.raises(ValueError, match="sigma > 0"):
        soft_sharing_neg_log_posterior(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
