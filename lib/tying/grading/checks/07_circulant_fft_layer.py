"""A circulant layer through the FFT.

Checks of ``solutions/07_circulant_fft_layer.ipynb``, all in float64 against
references built here (explicit indexing and ``torch.fft``):

- the circulant matrix ``C[i, j] = c[(i - j) % n]``;
- its eigenvalues, the DFT of ``c``, and the Fourier modes as eigenvectors;
- the product ``C(c) x`` through ``rfft``/``irfft``, for odd ``n`` and batches,
  with autograd gradients equal to those through the explicit matrix;
- a ``CirculantLinear`` layer with ``2 n`` parameters;
- the gradient of the tied column, a circular cross-correlation, by FFT.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from tying.grading import (
    Question,
    as_numpy,
    attribute,
    case,
    check,
    expect_close,
    expect_dtype,
    expect_finite,
    expect_module,
    expect_parameter_count,
    expect_shape,
    expect_tensor,
    fail,
)

TITLE = "A circulant layer through the FFT"

QUESTIONS = {
    "q1": Question(
        "The circulant matrix",
        "Build the index matrix (i - j) % n by broadcasting: i = torch.arange(n); "
        "index = (i[:, None] - i[None, :]) % n; then c[index] is the whole matrix. "
        "Check on c = [1, 2, 3, 4]: the first column is c and each column is the previous one "
        "shifted down by one (torch.roll).",
    ),
    "q2": Question(
        "The eigenvalues are the DFT of c",
        "The eigenvalue for the mode f_k is sum_m c_m exp(-2 pi i m k / n), which is exactly "
        "torch.fft.fft(c)[k]. For the mode itself: j = torch.arange(n, dtype=torch.float64); "
        "torch.exp(2j * math.pi * j * k / n) is a complex128 tensor.",
    ),
    "q3": Question(
        "The product through the FFT",
        "y = irfft(rfft(c) * rfft(x)): pass n=n to irfft (and to rfft), because rfft gives "
        "n // 2 + 1 coefficients for both n = 2m and n = 2m + 1 and irfft assumes the even "
        "length otherwise. The transforms act on the last dimension, so a batch (..., n) needs no loop.",
    ),
    "q4": Question(
        "A circulant layer",
        "In __init__: self.weight = nn.Parameter(torch.empty(n)) and the same for self.bias "
        "(reset_parameters fills them). In forward: return circulant_matvec(self.weight, x) + self.bias.",
    ),
    "q5": Question(
        "The gradient of the tied column",
        "A correlation is a convolution with one signal reversed; in the Fourier domain that is a "
        "complex conjugate: rfft(dL/dc) = sum over the batch of rfft(g) * rfft(x).conj(). "
        "Use irfft(..., n=n) and sum over dim 0.",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _circulant(c: torch.Tensor) -> torch.Tensor:
    n = c.shape[-1]
    i = torch.arange(n)
    return c[(i[:, None] - i[None, :]) % n]


def _plain(value):
    """A tensor with torch's lazy conjugate/negative bits resolved (``ifft`` of a real
    tensor returns a conjugate view, which ``numpy()`` refuses); anything else unchanged."""
    if isinstance(value, torch.Tensor):
        return value.resolve_conj().resolve_neg()
    return value


def _rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_g(seed), dtype=torch.float64)


@check("q1", points=1, timeout=5)
def small_matrix(answers):
    build = answers.function("circulant")
    c = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    got = build(c.clone())
    expect_shape(got, (4, 4), name="circulant(c) for c = [1, 2, 3, 4]")
    got_array = as_numpy(got)
    if (got_array[0] == as_numpy(c)).all() and not (got_array[:, 0] == as_numpy(c)).all():
        fail(
            "`circulant(c)` has c as its first row, not its first column: "
            "the entry at (i, j) should be c[(i - j) % n]"
        )
    expect_close(got, _circulant(c), name="circulant(c) for c = [1, 2, 3, 4]", atol=0, rtol=0)


@check("q1", points=1, timeout=5)
def random_matrices(answers):
    build = answers.function("circulant")
    for n, seed in [(1, 10), (5, 11), (8, 12)]:
        c = _rand(n, seed=seed)
        with case(f"n = {n}, float64"):
            expect_close(
                build(c.clone()),
                _circulant(c),
                name="circulant(c)",
                atol=1e-12,
                dtype=torch.float64,
            )


@check("q2", points=1, timeout=5)
def eigenvalues_are_the_dft(answers):
    eigenvalues = answers.function("circulant_eigenvalues")
    for n, seed in [(4, 20), (7, 21)]:
        c = _rand(n, seed=seed)
        with case(f"n = {n}"):
            got = _plain(eigenvalues(c.clone()))
            expect_tensor(got, name="circulant_eigenvalues(c)")
            expect_shape(got, (n,), name="circulant_eigenvalues(c)")
            expected = torch.fft.fft(c)
            got_array = as_numpy(got)
            if got_array.dtype.kind != "c":
                fail(
                    "`circulant_eigenvalues(c)` is real; the eigenvalues of a circulant matrix are "
                    "complex in general (expected a complex tensor)"
                )
            expect_close(got, expected, name="circulant_eigenvalues(c)", atol=1e-10)


@check("q2", points=1, timeout=5)
def fourier_modes_are_eigenvectors(answers):
    mode = answers.function("fourier_mode")
    n = 6
    c = _rand(n, seed=22)
    C = _circulant(c).to(torch.complex128)
    eigenvalues = torch.fft.fft(c)
    for k in range(n):
        with case(f"n = {n}, k = {k}"):
            f = _plain(mode(n, k))
            expect_tensor(f, name=f"fourier_mode({n}, {k})")
            expect_shape(f, (n,), name=f"fourier_mode({n}, {k})")
            expect_finite(f, name=f"fourier_mode({n}, {k})")
            f = torch.as_tensor(as_numpy(f)).to(torch.complex128)
            norm = float(f.abs().pow(2).sum().sqrt())
            if norm < 1e-8:
                fail(
                    f"`fourier_mode({n}, {k})` is the zero vector; an eigenvector must be non-zero"
                )
            f = f / norm
            # C f = lambda_k f: the mode of frequency k, with the DFT's k-th entry as eigenvalue.
            residual = float((C @ f - eigenvalues[k] * f).abs().max())
            if residual > 1e-8:
                fail(
                    f"`fourier_mode({n}, {k})` is not an eigenvector of C(c) with eigenvalue "
                    f"fft(c)[{k}] (|C f - lambda_k f| up to {residual:.2g} for a unit vector f); "
                    "check the sign of the exponent and the factor 2 pi j k / n"
                )


def _matvec_case(answers, n: int, batch: tuple[int, ...], seed: int) -> None:
    matvec = answers.function("circulant_matvec")
    c = _rand(n, seed=seed)
    x = _rand(*batch, n, seed=seed + 1)
    expected = x @ _circulant(c).T
    label = f"c of shape ({n},), x of shape {(*batch, n)}"
    with case(label):
        got = _plain(matvec(c.clone(), x.clone()))
        expect_close(got, expected, name="circulant_matvec(c, x)", atol=1e-10, dtype=torch.float64)


@check("q3", points=1, timeout=5)
def matvec_even_length(answers):
    _matvec_case(answers, 8, (), seed=30)
    _matvec_case(answers, 16, (), seed=32)


@check("q3", points=1, timeout=5)
def matvec_odd_length_and_batches(answers):
    _matvec_case(answers, 7, (), seed=34)
    _matvec_case(answers, 9, (4,), seed=36)
    _matvec_case(answers, 6, (2, 3), seed=38)


@check("q3", points=1, timeout=5)
def matvec_gradients_match_the_matrix(answers):
    matvec = answers.function("circulant_matvec")
    for n in (6, 7):
        c0, x0 = _rand(n, seed=40 + n), _rand(3, n, seed=50 + n)
        w = _rand(3, n, seed=60 + n)  # a fixed random projection of the output
        c, x = c0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
        expected = torch.autograd.grad(((x @ _circulant(c).T) * w).sum(), (c, x))
        c, x = c0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
        with case(f"n = {n}, x of shape (3, {n})"):
            y = matvec(c, x)
            expect_shape(y, (3, n), name="circulant_matvec(c, x)")
            expect_dtype(y, torch.float64, name="circulant_matvec(c, x)")
            if not getattr(y, "requires_grad", False):
                fail(
                    "the output of `circulant_matvec` does not depend on c and x for autograd "
                    "(was it computed with numpy, .detach() or under torch.no_grad()?)"
                )
            grad_c, grad_x = torch.autograd.grad((y * w).sum(), (c, x), allow_unused=True)
            for got, want, label in [(grad_c, expected[0], "c"), (grad_x, expected[1], "x")]:
                if got is None:
                    fail(f"autograd finds no path from `circulant_matvec(c, x)` back to {label}")
                expect_close(got, want, name=f"gradient with respect to {label}", atol=1e-10)


def _layer(answers, n: int) -> nn.Module:
    cls = answers.get("CirculantLinear")
    if not isinstance(cls, type):
        fail(f"`CirculantLinear` should be the class itself, got {type(cls).__name__}")
    layer = answers.run(cls, n, what=f"CirculantLinear({n})")
    expect_module(layer, name=f"CirculantLinear({n})")
    return layer


@check("q4", points=1, timeout=5)
def layer_stores_two_vectors(answers):
    n = 64
    layer = _layer(answers, n)
    for name in ("weight", "bias"):
        p = attribute(layer, name, name=f"CirculantLinear({n})")
        if not isinstance(p, nn.Parameter):
            fail(f"`CirculantLinear({n}).{name}` should be an nn.Parameter, got {type(p).__name__}")
        expect_shape(p, (n,), name=f"CirculantLinear({n}).{name}")
    # The count alone is right before forward is written: require a working forward first.
    answers.run(layer, torch.zeros(2, n), what=f"CirculantLinear({n})(x)")
    expect_parameter_count(layer, 2 * n, name=f"CirculantLinear({n})")


@check("q4", points=1, timeout=5)
def layer_forward(answers):
    for n, seed in [(8, 70), (9, 71)]:
        layer = copy.deepcopy(_layer(answers, n)).double()  # the check changes the values
        weight = attribute(layer, "weight", name=f"CirculantLinear({n})")
        bias = attribute(layer, "bias", name=f"CirculantLinear({n})")
        with torch.no_grad():
            weight.copy_(_rand(n, seed=seed))
            bias.copy_(_rand(n, seed=seed + 10))
            x = _rand(5, n, seed=seed + 20)
            expected = x @ _circulant(weight.detach()).T + bias.detach()
            got = answers.run(layer, x, what=f"CirculantLinear({n})(x)")
        with case(f"n = {n}, x of shape (5, {n})"):
            expect_close(got, expected, name=f"CirculantLinear({n})(x)", atol=1e-10)


def _weight_grad_reference(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    c = torch.zeros(x.shape[-1], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(((x @ _circulant(c).T) * g).sum(), c)
    return grad


def _weight_grad_case(answers, n: int, batch: int, seed: int) -> None:
    grad = answers.function("circulant_weight_grad")
    x, g = _rand(batch, n, seed=seed), _rand(batch, n, seed=seed + 1)
    with case(f"x and g of shape ({batch}, {n})"):
        got = _plain(grad(x.clone(), g.clone()))
        expect_close(
            got,
            _weight_grad_reference(x, g),
            name="circulant_weight_grad(x, g)",
            atol=1e-10,
            dtype=torch.float64,
        )


@check("q5", points=1, timeout=5)
def weight_grad_one_input(answers):
    _weight_grad_case(answers, 8, 1, seed=80)


@check("q5", points=2, timeout=5)
def weight_grad_batches_and_odd_length(answers):
    grad = answers.function("circulant_weight_grad")
    # Convolution instead of correlation gives the gradient with c's indices reversed.
    x, g = _rand(1, 5, seed=90), _rand(1, 5, seed=91)
    got = _plain(grad(x.clone(), g.clone()))
    expect_shape(got, (5,), name="circulant_weight_grad(x, g) for x of shape (1, 5)")
    reference = _weight_grad_reference(x, g)
    convolution = torch.fft.irfft(torch.fft.rfft(g, n=5) * torch.fft.rfft(x, n=5), n=5).sum(0)
    if (
        float((torch.as_tensor(as_numpy(got)) - convolution).abs().max()) < 1e-9
        and float((reference - convolution).abs().max()) > 1e-6
    ):
        fail(
            "`circulant_weight_grad` computes a convolution of g and x; the gradient is their "
            "correlation (one spectrum conjugated)"
        )
    for n, batch, seed in [(7, 1, 92), (8, 4, 94), (9, 3, 96)]:
        _weight_grad_case(answers, n, batch, seed)
