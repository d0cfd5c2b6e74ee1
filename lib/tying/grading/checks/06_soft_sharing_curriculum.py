"""Soft sharing and a curriculum on the tie.

Checks of ``solutions/06_soft_sharing_curriculum.ipynb``:

- the MAP estimate of two parameters under a Gaussian prior on their difference,
  compared with :func:`tying.theory.soft_sharing_map`;
- its limits: the precision-weighted mean (sigma -> 0) and the shrinkage factor of
  the difference;
- the negative log posterior, and its minimiser found by the reader's optimiser;
- a linear ramp schedule and the penalty lambda ||theta_i - theta_j||^2;
- gradient descent under a schedule on a non-convex toy, where the ramp ends
  tied in the good valley and a strong tie from the start does not.
"""

from __future__ import annotations

import math
import numbers

import torch

from tying.grading import (
    Question,
    as_numpy,
    case,
    check,
    expect_close,
    expect_finite,
    expect_scalar,
    expect_shape,
    expect_tensor,
    fail,
    max_abs_difference,
)
from tying.grading.helpers import is_array
from tying.theory import (
    difference_shrinkage,
    precision_weighted_mean,
    soft_sharing_map,
    soft_sharing_neg_log_posterior,
)

TITLE = "Soft sharing and a curriculum on the tie"

QUESTIONS = {
    "q1": Question(
        "The MAP estimate in closed form",
        "Setting dE/dtheta_i = dE/dtheta_j = 0 gives the linear system "
        "(lam_i + tau) theta_i - tau theta_j = lam_i x_i and -tau theta_i + (lam_j + tau) theta_j "
        "= lam_j x_j, with tau = 1/sigma^2. Solve it (Cramer's rule), then multiply numerator and "
        "denominator by sigma^2 so the formula stays finite at sigma = 0. Return a pair of numbers.",
    ),
    "q2": Question(
        "The two limits",
        "Put sigma = 0 in your formula: both estimates become one weighted average of x_i and x_j. "
        "For the shrinkage, subtract theta_j from theta_i: the cross terms cancel and what "
        "multiplies (x_i - x_j) can be written sigma^2 / (sigma^2 + something); the something is "
        "the variance of x_i - x_j due to noise.",
    ),
    "q3": Question(
        "Check the formula by optimisation",
        "neg_log_posterior is three squared terms: 0.5 lam_i (theta_i - x_i)^2, the same for j, and "
        "(theta_i - theta_j)^2 / (2 sigma^2). To minimise it, make a float64 tensor "
        "theta = torch.tensor([x_i, x_j], dtype=torch.float64, requires_grad=True) and run "
        "torch.optim.LBFGS([theta], line_search_fn='strong_wolfe') with a closure that zeroes the "
        "gradient, computes the loss and calls backward(). Return (theta[0].item(), theta[1].item()).",
    ),
    "q4": Question(
        "A penalty and a schedule",
        "linear_ramp: lambda_max * min(t / ramp_steps, 1), and return lambda_max when "
        "ramp_steps == 0 (do not divide by zero). tie_penalty: strength * (theta_i - "
        "theta_j).pow(2).sum(), a scalar tensor built from torch operations so autograd goes "
        "through it.",
    ),
    "q5": Question(
        "A curriculum on a non-convex toy",
        "theta = theta0.detach().clone().requires_grad_(True); at each step t compute "
        "loss_fn(theta[:, 0], theta[:, 1]).sum() + tie_penalty(theta[:, 0], theta[:, 1], "
        "schedule(t)), take (grad,) = torch.autograd.grad(loss, theta), and update "
        "theta -= lr * grad inside torch.no_grad(). Use the loss_fn and lr you are given.",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _pair(value, name: str) -> tuple[float, float]:
    """The reader's (theta_i, theta_j), each one number: a pair, or an array of shape (2,)."""
    if is_array(value) and tuple(value.shape) == (2,):
        return value[0], value[1]
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        kind = (
            f"a {type(value).__name__} of length {len(value)}"
            if isinstance(value, (tuple, list))
            else f"a tensor of shape {tuple(value.shape)}"
            if is_array(value)
            else type(value).__name__
        )
        fail(f"`{name}` should return a pair (theta_i, theta_j), got {kind}")
    return value[0], value[1]


def _number_or_none(value) -> float | None:
    """``value`` as a float when it is one finite number, else ``None`` (expect_scalar reports it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real) or (is_array(value) and tuple(value.shape) == ()):
        number = float(as_numpy(value))
        return number if math.isfinite(number) else None
    return None


# (x_i, x_j, lam_i, lam_j, sigma): different precisions, wide and narrow priors.
_MAP_CASES = [
    (1.0, -0.5, 2.0, 0.5, 0.7),
    (3.0, 2.0, 1.0, 1.0, 0.1),
    (-1.0, 4.0, 10.0, 0.2, 3.0),
    (0.25, 0.75, 0.3, 7.0, 1.5),
]


@check("q1", points=1, timeout=5)
def map_equal_precisions(answers):
    estimate = answers.function("map_estimate")
    x_i, x_j, lam, sigma = 2.0, -1.0, 1.5, 0.8
    theta_i, theta_j = _pair(estimate(x_i, x_j, lam, lam, sigma), "map_estimate")
    expected = soft_sharing_map(x_i, x_j, lam, lam, sigma)
    expect_scalar(theta_i, expected[0], name="theta_i (equal precisions)", atol=1e-9)
    expect_scalar(theta_j, expected[1], name="theta_j (equal precisions)", atol=1e-9)


@check("q1", points=1, timeout=5)
def map_any_precisions(answers):
    estimate = answers.function("map_estimate")
    for x_i, x_j, lam_i, lam_j, sigma in _MAP_CASES:
        expected = soft_sharing_map(x_i, x_j, lam_i, lam_j, sigma)
        with case(f"lam_i = {lam_i:g}, lam_j = {lam_j:g}, sigma = {sigma:g}"):
            theta_i, theta_j = _pair(estimate(x_i, x_j, lam_i, lam_j, sigma), "map_estimate")
            expect_scalar(theta_i, expected[0], name="theta_i", atol=1e-9)
            expect_scalar(theta_j, expected[1], name="theta_j", atol=1e-9)


@check("q2", points=1, timeout=5)
def tied_limit(answers):
    tied = answers.function("tied_estimate")
    for x_i, x_j, lam_i, lam_j, _ in _MAP_CASES:
        with case(f"lam_i = {lam_i:g}, lam_j = {lam_j:g}"):
            got = tied(x_i, x_j, lam_i, lam_j)
            value = _number_or_none(got)
            if lam_i != lam_j and value is not None and abs(value - 0.5 * (x_i + x_j)) < 1e-9:
                fail(
                    "`tied_estimate` gives the plain mean; weight each observation by its precision"
                )
            expect_scalar(
                got,
                precision_weighted_mean(x_i, x_j, lam_i, lam_j),
                name="tied_estimate",
                atol=1e-9,
            )


@check("q2", points=1, timeout=5)
def shrinkage_factor(answers):
    shrinkage = answers.function("difference_shrinkage")
    for lam_i, lam_j, sigma in [
        (2.0, 0.5, 0.7),
        (1.0, 1.0, 0.0),
        (10.0, 0.2, 3.0),
        (0.3, 7.0, 1e3),
    ]:
        with case(f"lam_i = {lam_i:g}, lam_j = {lam_j:g}, sigma = {sigma:g}"):
            expect_scalar(
                shrinkage(lam_i, lam_j, sigma),
                difference_shrinkage(lam_i, lam_j, sigma),
                name="difference_shrinkage",
                atol=1e-9,
            )


@check("q3", points=1, timeout=5)
def neg_log_posterior_values(answers):
    energy = answers.function("neg_log_posterior")
    g = _g(30)
    theta = torch.randn(2, 5, generator=g, dtype=torch.float64)
    for x_i, x_j, lam_i, lam_j, sigma in _MAP_CASES[:3]:
        expected = soft_sharing_neg_log_posterior(theta[0], theta[1], x_i, x_j, lam_i, lam_j, sigma)
        with case(f"tensors of shape (5,), lam_i = {lam_i:g}, sigma = {sigma:g}"):
            got = energy(theta[0].clone(), theta[1].clone(), x_i, x_j, lam_i, lam_j, sigma)
            expect_close(got, expected, name="neg_log_posterior", atol=1e-9)
    # A constant offset would not change the minimiser, but E must vanish where the
    # estimates equal the observations and the difference is zero.
    with case("theta_i = x_i = theta_j = x_j = 0.4"):
        expect_scalar(energy(0.4, 0.4, 0.4, 0.4, 1.0, 2.0, 0.5), 0.0, name="neg_log_posterior")


@check("q3", points=2, timeout=8)
def optimiser_finds_the_map(answers):
    optimise = answers.function("map_by_optimisation")
    for x_i, x_j, lam_i, lam_j, sigma in [(0.3, 1.7, 4.0, 0.25, 0.05), *_MAP_CASES[:3]]:
        expected = soft_sharing_map(x_i, x_j, lam_i, lam_j, sigma)
        with case(f"lam_i = {lam_i:g}, lam_j = {lam_j:g}, sigma = {sigma:g}"):
            theta_i, theta_j = _pair(optimise(x_i, x_j, lam_i, lam_j, sigma), "map_by_optimisation")
            expect_scalar(theta_i, expected[0], name="theta_i (optimised)", atol=1e-4, rtol=1e-4)
            expect_scalar(theta_j, expected[1], name="theta_j (optimised)", atol=1e-4, rtol=1e-4)


@check("q4", points=1, timeout=5)
def ramp_values(answers):
    ramp = answers.function("linear_ramp")
    cases = [
        (0, 2.0, 100, 0.0),
        (25, 2.0, 100, 0.5),
        (99, 2.0, 100, 1.98),
        (100, 2.0, 100, 2.0),
        (1000, 2.0, 100, 2.0),
        (7, 0.3, 10, 0.21),
        (0, 5.0, 0, 5.0),
        (12, 5.0, 0, 5.0),
    ]
    for t, lambda_max, steps, expected in cases:
        with case(f"t = {t}, lambda_max = {lambda_max:g}, ramp_steps = {steps}"):
            expect_scalar(ramp(t, lambda_max, steps), expected, name="linear_ramp", atol=1e-12)


def _penalty_reference(a: torch.Tensor, b: torch.Tensor, strength: float) -> torch.Tensor:
    return strength * ((a - b) ** 2).sum()


@check("q4", points=1, timeout=5)
def penalty_value_and_gradient(answers):
    penalty = answers.function("tie_penalty")
    g = _g(40)
    for shape in [(5,), (3, 4)]:
        a = torch.randn(shape, generator=g, dtype=torch.float64)
        b = torch.randn(shape, generator=g, dtype=torch.float64)
        strength = 0.7
        with case(f"tensors of shape {shape}, strength = {strength}"):
            a_ref, b_ref = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
            expected = _penalty_reference(a_ref, b_ref, strength)
            grad_a_ref, grad_b_ref = torch.autograd.grad(expected, (a_ref, b_ref))
            a_in, b_in = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
            got = penalty(a_in, b_in, strength)
            expect_tensor(got, name="tie_penalty(theta_i, theta_j, strength)")
            expect_shape(got, (), name="tie_penalty(theta_i, theta_j, strength)")
            expect_close(got, expected.detach(), name="tie_penalty", atol=1e-9)
            if not getattr(got, "requires_grad", False):
                fail(
                    "`tie_penalty` returned a tensor that autograd cannot go through "
                    "(was it built with .item(), numpy or under torch.no_grad()?)"
                )
            grad_a, grad_b = torch.autograd.grad(got, (a_in, b_in))
            expect_close(grad_a, grad_a_ref, name="d tie_penalty / d theta_i", atol=1e-9)
            expect_close(grad_b, grad_b_ref, name="d tie_penalty / d theta_j", atol=1e-9)


def _toy_loss(theta1: torch.Tensor, theta2: torch.Tensor) -> torch.Tensor:
    """The notebook's toy loss (a copy: the check does not trust the notebook's version)."""
    u, v = 0.5 * (theta1 + theta2), 0.5 * (theta1 - theta2)
    hill = 3.0 * torch.exp(-(u**2) / (2 * 0.8**2) - v**2 / (2 * 0.3**2))
    return 0.25 * (u - 2.0) ** 2 + 0.5 * (v - 0.3) ** 2 + hill


def _toy_gradient(theta: torch.Tensor) -> torch.Tensor:
    """Closed-form gradient of the summed toy loss, row by row."""
    t1, t2 = theta[:, 0], theta[:, 1]
    u, v = 0.5 * (t1 + t2), 0.5 * (t1 - t2)
    hill = 3.0 * torch.exp(-(u**2) / (2 * 0.8**2) - v**2 / (2 * 0.3**2))
    d_u = 0.5 * (u - 2.0) - hill * u / 0.8**2
    d_v = (v - 0.3) - hill * v / 0.3**2
    return torch.stack([0.5 * (d_u + d_v), 0.5 * (d_u - d_v)], dim=1)


def _train_reference(theta0: torch.Tensor, schedule, steps: int, lr: float) -> torch.Tensor:
    theta = theta0.clone()
    for t in range(steps):
        diff = theta[:, 0] - theta[:, 1]
        pull = 2.0 * schedule(t) * diff
        grad = _toy_gradient(theta) + torch.stack([pull, -pull], dim=1)
        theta = theta - lr * grad
    return theta


def _starts(seed: int, n: int) -> torch.Tensor:
    return -1.5 + 0.5 * torch.randn(n, 2, generator=_g(seed), dtype=torch.float64)


@check("q5", points=1, timeout=8)
def follows_gradient_descent(answers):
    train = answers.function("train_soft_tied")
    start = _starts(50, 3)

    def schedule(t):  # a schedule of the check's own, not the reader's ramp
        return 0.004 * t

    for steps, lr in [(1, 0.1), (150, 0.05)]:
        with case(f"{steps} steps of size {lr}, lambda(t) = 0.004 t"):
            theta0 = start.clone()
            got = train(theta0, schedule, steps, lr, _toy_loss)
            if max_abs_difference(theta0, start) > 0:
                fail(
                    "train_soft_tied changed the entries of theta0 it was given; "
                    "start from theta0.detach().clone()"
                )
            expect_close(
                got,
                _train_reference(start, schedule, steps, lr),
                name="train_soft_tied",
                atol=1e-7,
                rtol=1e-6,
            )


@check("q5", points=2, timeout=8)
def ramp_ends_tied_in_the_good_valley(answers):
    train = answers.function("train_soft_tied")
    ramp = answers.function("linear_ramp")
    theta0 = _starts(51, 12)
    lambda_max, ramp_steps, steps = 2.0, 200, 400
    final = train(theta0.clone(), lambda t: ramp(t, lambda_max, ramp_steps), steps, 0.1, _toy_loss)
    name = "train_soft_tied(theta0, your linear ramp to 2 over 200 steps, 400, 0.1)"
    expect_shape(final, (12, 2), name=name)
    expect_finite(final, name=name)
    final = torch.as_tensor(as_numpy(final))
    gap = (final[:, 0] - final[:, 1]).abs()
    in_good_valley = final.mean(dim=1) > 1.0
    if not bool(in_good_valley.all()) or float(gap.max()) > 0.05:
        fail(
            f"{int(in_good_valley.sum())} of 12 runs end in the good valley with the two "
            f"parameters at most {float(gap.max()):.3g} apart; the ramp should bring every run "
            "there, nearly tied"
        )
    strong = train(theta0.clone(), lambda t: lambda_max, steps, 0.1, _toy_loss)
    name = "train_soft_tied(theta0, lambda t: 2.0, 400, 0.1)"
    expect_shape(strong, (12, 2), name=name)
    expect_finite(strong, name=name)
    strong = torch.as_tensor(as_numpy(strong))
    if bool((strong.mean(dim=1) > 1.0).any()):
        fail(
            "with lambda = 2 from the first step some runs crossed the hill; "
            "pulled onto the tied line at once, they should stay in the poor valley"
        )
