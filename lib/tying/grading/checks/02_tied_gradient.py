"""The gradient of a tied parameter.

Checks of ``solutions/02_tied_gradient.ipynb``.  The reader derives gradients
by hand and each is compared with autograd, in float64, on inputs drawn from the
check's own random generator:

- a bias shared by two ReLU neurons, ``dL/db = (yhat - y) sum_k v_k [z_k > 0]``;
- the same network with one bias per neuron (the untied gradient, a vector);
- a weight matrix used twice, ``f(x) = W relu(W x)``;
- central finite differences, the tool that checks any of them.
"""

from __future__ import annotations

import torch

from tying.grading import (
    Question,
    case,
    check,
    expect_close,
    expect_scalar,
    fail,
    max_abs_difference,
)

TITLE = "The gradient of a tied parameter"

QUESTIONS = {
    "q1": Question(
        "Gradient of a bias shared by two neurons",
        "With z_k = w_k x + b and yhat = sum_k v_k relu(z_k), the chain rule gives "
        "dL/db = (yhat - y) * sum_k v_k * [z_k > 0]: one term per place b is used. "
        "Compute z, yhat and the indicator (z > 0) from the arguments; return one number.",
    ),
    "q2": Question(
        "The untied gradient: one bias per neuron",
        "Each c_k is used once, so its gradient is a single term: (yhat - y) * v_k * [z_k > 0]. "
        "Return a tensor with one entry per neuron, shape (K,).",
    ),
    "q3": Question(
        "Gradient of a weight matrix used twice",
        "Treat the two uses of W as two matrices W_in and W_out, differentiate each as an ordinary "
        "layer, then add. For a layer y = A u, dL/dA = outer(dL/dy, u); the residual r = W relu(W x) - y "
        "is dL/df, and relu passes a gradient only where its input is positive. Keep the dtype of "
        "the inputs (float64).",
    ),
    "q4": Question(
        "Central finite differences",
        "For each entry i of theta: (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps). "
        "Work on a copy (theta.clone()), never on theta itself, and return a tensor shaped like theta.",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _shared_bias_reference(
    x: float, y: float, w: torch.Tensor, v: torch.Tensor, b: float
) -> torch.Tensor:
    bias = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    yhat = (v * torch.relu(w * x + bias)).sum()
    (grad,) = torch.autograd.grad(0.5 * (yhat - y) ** 2, bias)
    return grad


def _untied_reference(
    x: float, y: float, w: torch.Tensor, v: torch.Tensor, c: torch.Tensor
) -> torch.Tensor:
    c = c.clone().requires_grad_(True)
    yhat = (v * torch.relu(w * x + c)).sum()
    (grad,) = torch.autograd.grad(0.5 * (yhat - y) ** 2, c)
    return grad


def _weight_twice_reference(W: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    W = W.clone().requires_grad_(True)
    f = W @ torch.relu(W @ x)
    (grad,) = torch.autograd.grad(0.5 * ((f - y) ** 2).sum(), W)
    return grad


def _bias_case(seed: int, k: int, pattern: str):
    """x, y, w, v, b with the chosen activity pattern of the k neurons."""
    g = _g(seed)
    x = 0.5 + torch.rand((), generator=g, dtype=torch.float64).item()
    y = torch.randn((), generator=g, dtype=torch.float64).item()
    w = torch.randn(k, generator=g, dtype=torch.float64)
    v = torch.randn(k, generator=g, dtype=torch.float64)
    b = 0.1 * torch.randn((), generator=g, dtype=torch.float64).item()
    # Choose the signs of z_k = w_k x + b by the signs of w_k (|b| is small).
    signs = {
        "all active": [1.0] * k,
        "one inactive": [1.0] * (k - 1) + [-1.0],
        "all inactive": [-1.0] * k,
    }
    w = w.abs().clamp(min=0.5) * torch.tensor(signs[pattern], dtype=torch.float64)
    return x, y, w, v, b


@check("q1", points=1, timeout=5)
def shared_bias_both_active(answers):
    grad = answers.function("grad_shared_bias")
    x, y, w, v, b = _bias_case(10, 2, "all active")
    got = grad(x, y, w.clone(), v.clone(), b)
    expect_scalar(
        got, _shared_bias_reference(x, y, w, v, b).item(), name="grad_shared_bias", atol=1e-8
    )


@check("q1", points=2, timeout=5)
def shared_bias_any_activity(answers):
    grad = answers.function("grad_shared_bias")
    for seed, k, pattern in [
        (11, 2, "one inactive"),
        (12, 2, "all inactive"),
        (13, 3, "one inactive"),
        (14, 3, "all active"),
    ]:
        x, y, w, v, b = _bias_case(seed, k, pattern)
        expected = _shared_bias_reference(x, y, w, v, b).item()
        with case(f"K = {k} neurons, {pattern}"):
            got = grad(x, y, w.clone(), v.clone(), b)
            expect_scalar(got, expected, name="grad_shared_bias", atol=1e-8)


@check("q2", points=2, timeout=5)
def untied_biases(answers):
    grad = answers.function("grad_untied_biases")
    for seed, k, pattern in [
        (20, 2, "all active"),
        (21, 2, "one inactive"),
        (22, 3, "one inactive"),
    ]:
        x, y, w, v, b = _bias_case(seed, k, pattern)
        c = b + 0.05 * torch.randn(k, generator=_g(seed + 100), dtype=torch.float64)
        expected = _untied_reference(x, y, w, v, c)
        with case(f"K = {k} neurons, {pattern}"):
            got = grad(x, y, w.clone(), v.clone(), c.clone())
            expect_close(got, expected, name="grad_untied_biases", atol=1e-8)


def _weight_case(seed: int, d: int):
    g = _g(seed)
    W = torch.randn(d, d, generator=g, dtype=torch.float64)
    x = torch.randn(d, generator=g, dtype=torch.float64)
    y = torch.randn(d, generator=g, dtype=torch.float64)
    return W, x, y


@check("q3", points=1, timeout=5)
def weight_used_twice_small(answers):
    grad = answers.function("grad_weight_used_twice")
    W = torch.tensor([[1.0, -2.0], [0.5, 1.5]], dtype=torch.float64)
    x = torch.tensor([1.0, 0.5], dtype=torch.float64)
    y = torch.tensor([0.3, -0.7], dtype=torch.float64)
    expected = _weight_twice_reference(W, x, y)
    expect_close(
        grad(W.clone(), x.clone(), y.clone()),
        expected,
        name="grad_weight_used_twice",
        atol=1e-8,
        dtype=torch.float64,
    )


@check("q3", points=2, timeout=5)
def weight_used_twice_random(answers):
    grad = answers.function("grad_weight_used_twice")
    for seed, d in [(30, 3), (31, 5), (32, 8)]:
        W, x, y = _weight_case(seed, d)
        expected = _weight_twice_reference(W, x, y)
        with case(f"d = {d}"):
            got = grad(W.clone(), x.clone(), y.clone())
            expect_close(
                got, expected, name="grad_weight_used_twice", atol=1e-8, dtype=torch.float64
            )


def _test_function(t: torch.Tensor) -> torch.Tensor:
    return (t**3).sum() + t.prod() + torch.sin(t[0, 1])


@check("q4", points=1, timeout=5)
def finite_differences_match(answers):
    numerical = answers.function("numerical_gradient")
    theta = torch.tensor([[0.3, -1.2, 0.8], [1.1, 0.5, -0.4]], dtype=torch.float64)
    reference = theta.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(_test_function(reference), reference)
    got = numerical(_test_function, theta.clone())
    expect_close(got, expected, name="numerical_gradient", atol=1e-6, rtol=1e-6)


@check("q4", points=1, timeout=5)
def finite_differences_leave_theta_alone(answers):
    numerical = answers.function("numerical_gradient")
    theta = torch.tensor([0.7, -0.2, 1.3], dtype=torch.float64)
    before = theta.clone()
    numerical(lambda t: (t**2).sum(), theta)
    # A value changed by more than rounding means theta itself was modified and not restored.
    if max_abs_difference(theta, before) > 1e-12:
        fail("numerical_gradient changed the entries of theta it was given; work on theta.clone()")
