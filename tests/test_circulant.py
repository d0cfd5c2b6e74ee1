"""Circulant matrices, the FFT circulant layer and its parametrisation."""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from tying.layers import Circulant, CirculantLinear, circulant_linear, circulant_matrix

D = torch.float64


def test_circulant_matrix_structure():
    c = torch.arange(1.0, 6.0, dtype=D)
    m = circulant_matrix(c)
    for i in range(5):
        for j in range(5):
            assert m[i, j] == c[(i - j) % 5]
    batch = torch.randn(3, 4, dtype=D)
    assert circulant_matrix(batch).shape == (3, 4, 4)
    assert torch.equal(circulant_matrix(batch)[1], circulant_matrix(batch[1]))
    with pytest.raises(ValueError):
        circulant_matrix(torch.tensor(1.0))


@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_convolution_theorem_and_diagonalisation(n):
    a, b = torch.randn(n, dtype=D), torch.randn(n, dtype=D)
    i = torch.arange(n)
    # The defining sum (a * b)_i = sum_j a_j b_{(i - j) mod n}, with no FFT.
    direct = (a[None, :] * b[(i[:, None] - i[None, :]) % n]).sum(dim=1)
    assert torch.allclose(
        direct, torch.fft.ifft(torch.fft.fft(a) * torch.fft.fft(b)).real, atol=1e-12
    )
    assert torch.allclose(circulant_matrix(a) @ b, direct, atol=1e-12)
    f = torch.exp(-2j * math.pi * torch.outer(i, i).to(D) / n)  # the DFT matrix
    assert torch.allclose(f @ a.to(torch.complex128), torch.fft.fft(a), atol=1e-10)
    recon = torch.linalg.inv(f) @ torch.diag(torch.fft.fft(a)) @ f
    assert torch.allclose(recon, circulant_matrix(a).to(torch.complex128), atol=1e-10)


@pytest.mark.parametrize("n", [5, 8])
@pytest.mark.parametrize("lead", [(), (4,), (2, 3)])
def test_layer_forward_matches_explicit_matrix(n, lead):
    layer = CirculantLinear(n, dtype=D)
    x = torch.randn(*lead, n, dtype=D)
    expected = x @ circulant_matrix(layer.weight).T + layer.bias
    out = layer(x)
    assert out.shape == (*lead, n) and out.dtype == D
    assert torch.allclose(out, expected, atol=1e-12)


def test_layer_gradients_match_explicit_matrix():
    n = 9
    layer = CirculantLinear(n, dtype=D)
    x = torch.randn(6, n, dtype=D, requires_grad=True)
    target = torch.randn(6, n, dtype=D)
    (layer(x) - target).pow(2).sum().backward()
    grads = (layer.weight.grad.clone(), layer.bias.grad.clone(), x.grad.clone())

    c = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    (x2 @ circulant_matrix(c).T + b - target).pow(2).sum().backward()
    for got, want in zip(grads, (c.grad, b.grad, x2.grad)):
        assert torch.allclose(got, want, atol=1e-10)


def test_gradcheck():
    n = 6
    x = torch.randn(3, n, dtype=D, requires_grad=True)
    w = torch.randn(n, dtype=D, requires_grad=True)
    b = torch.randn(n, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(circulant_linear, (x, w, b))
    assert torch.autograd.gradcheck(lambda c: circulant_matrix(c), (w,))


def test_parameter_count_and_init_scale():
    layer = CirculantLinear(256)
    assert sum(p.numel() for p in layer.parameters()) == 512
    assert layer.weight.abs().max() <= 1 / math.sqrt(256)
    assert CirculantLinear(4, bias=False).bias is None
    assert "features=256" in repr(layer)


def test_bad_inputs_raise():
    layer = CirculantLinear(8)
    with pytest.raises(ValueError, match=r"\(\*, 8\)"):
        layer(torch.randn(3, 7))
    with pytest.raises(TypeError):
        layer(torch.ones(3, 8, dtype=torch.int64))
    with pytest.raises(ValueError):
        CirculantLinear(0)


def test_parametrization_ties_a_linear_layer():
    n = 7
    lin = nn.Linear(n, n, dtype=D)
    c = torch.randn(n, dtype=D)
    with torch.no_grad():
        lin.weight.copy_(circulant_matrix(c))
    parametrize.register_parametrization(lin, "weight", Circulant())
    original = lin.parametrizations.weight.original
    assert original.shape == (n,) and torch.allclose(original, c), (
        "a circulant weight is kept exactly"
    )
    assert sum(p.numel() for p in lin.parameters()) == 2 * n
    assert torch.allclose(lin.weight, circulant_matrix(original))
    # Same map as the FFT layer with the same numbers.
    fft_layer = CirculantLinear(n, dtype=D)
    with torch.no_grad():
        fft_layer.weight.copy_(original)
        fft_layer.bias.copy_(lin.bias)
    x = torch.randn(4, n, dtype=D)
    assert torch.allclose(lin(x), fft_layer(x), atol=1e-12)
    # The tied gradient is the sum over each wrapped diagonal.
    lin(x).pow(2).sum().backward()
    w = circulant_matrix(original.detach()).requires_grad_(True)
    (x @ w.T + lin.bias.detach()).pow(2).sum().backward()
    idx = (torch.arange(n)[:, None] - torch.arange(n)[None, :]) % n
    summed = torch.zeros(n, dtype=D).index_add_(0, idx.flatten(), w.grad.flatten())
    assert torch.allclose(original.grad, summed, atol=1e-10)


def test_projection_onto_circulant_matrices_is_least_squares():
    n = 6
    w = torch.randn(n, n, dtype=D)
    c = Circulant().right_inverse(w)
    residual = w - circulant_matrix(c)
    for k in range(n):  # orthogonal to every basis circulant matrix
        basis = circulant_matrix(torch.eye(n, dtype=D)[k])
        assert abs((residual * basis).sum()) < 1e-12
    with pytest.raises(ValueError, match="square"):
        Circulant().right_inverse(torch.randn(3, 4))
    lin = nn.Linear(n, n, dtype=D)
    approx = CirculantLinear.from_linear(lin)
    assert torch.allclose(approx.weight, Circulant().right_inverse(lin.weight.detach()))
    with pytest.raises(ValueError):
        CirculantLinear.from_linear(nn.Linear(3, 4))
