"""TiedAutoencoder and the degeneracy formulas of Part I, section 9."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tying.layers import TiedAutoencoder, tied_autoencoder
from tying.theory import (
    degeneracy_dim,
    gram_map_rank,
    orbit_dim,
    orthogonal_group_dim,
    overcomplete_degeneracy_dim,
    untied_degeneracy_dim,
)

# -- the layer ------------------------------------------------------------------


def test_linear_model_is_gram_times_x():
    ae = TiedAutoencoder(6, 4, dtype=torch.float64)
    x = torch.randn(10, 6, dtype=torch.float64)
    W = ae.weight
    assert torch.allclose(ae(x), x @ (W.T @ W), atol=1e-12)
    assert torch.allclose(ae.gram(), W.T @ W)
    assert ae(x[0]).shape == (6,)  # unbatched input
    assert ae.encode(x).shape == (10, 4) and ae.decode(ae.encode(x)).shape == (10, 6)


def test_bias_and_activation_follow_the_formula():
    ae = TiedAutoencoder(5, 3, bias=True, activation=torch.tanh, dtype=torch.float64)
    with torch.no_grad():
        ae.encoder_bias.normal_()
        ae.decoder_bias.normal_()
    x = torch.randn(7, 5, dtype=torch.float64)
    W, b, c = ae.weight, ae.encoder_bias, ae.decoder_bias
    expected = torch.tanh(x @ W.T + b) @ W + c
    assert torch.allclose(ae(x), expected, atol=1e-12)
    assert torch.allclose(tied_autoencoder(x, W, b, c, torch.tanh), expected, atol=1e-12)
    assert "bias=True" in repr(ae) and "activation=tanh" in repr(ae)


def test_gradcheck_float64():
    W = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda w, v: tied_autoencoder(v, w, activation=torch.tanh), (W, x)
    )


def test_tied_gradient_is_the_sum_of_encoder_and_decoder_gradients():
    W = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 5, dtype=torch.float64)
    (tied_grad,) = torch.autograd.grad(tied_autoencoder(x, W).pow(2).sum(), W)
    enc = W.detach().clone().requires_grad_(True)
    dec = W.detach().clone().requires_grad_(True)
    untied = (x @ enc.T @ dec).pow(2).sum()
    g_enc, g_dec = torch.autograd.grad(untied, [enc, dec])
    assert torch.allclose(tied_grad, g_enc + g_dec, atol=1e-12)


def test_init_device_dtype_and_validation():
    ae = TiedAutoencoder(16, 4, dtype=torch.float64, device="cpu")
    assert ae.weight.dtype == torch.float64 and ae.weight.device.type == "cpu"
    assert ae.weight.abs().max() <= 1 / 16**0.5
    assert ae.encoder_bias is None and sum(p.numel() for p in ae.parameters()) == 64
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        ae(torch.randn(3, 15, dtype=torch.float64))
    with pytest.raises(ValueError):
        TiedAutoencoder(0, 3)
    with pytest.raises(TypeError):
        TiedAutoencoder(3, 3, activation="relu")
    with pytest.raises(ValueError):
        ae.decode(torch.randn(2, 5, dtype=torch.float64))


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_orthogonal_invariance(m, n, seed):
    g = torch.Generator().manual_seed(seed)
    ae = TiedAutoencoder(n, m, dtype=torch.float64)
    x = torch.randn(5, n, generator=g, dtype=torch.float64)
    before = ae(x).detach()
    Q, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    assert torch.allclose(Q.T @ Q, torch.eye(m, dtype=torch.float64), atol=1e-12)
    with torch.no_grad():
        ae.weight.copy_(Q @ ae.weight)
    assert torch.allclose(ae(x), before, atol=1e-12)


# -- the closed forms -----------------------------------------------------------


def test_closed_forms_agree_with_each_other():
    for m in range(1, 8):
        for n in range(1, 8):
            r = min(m, n)
            assert degeneracy_dim(m, n) + gram_map_rank(m, n) == m * n
            assert degeneracy_dim(m, n) == orbit_dim(m, r)  # full rank: kernel = orbit tangent
            if m >= n:
                assert degeneracy_dim(m, n) == overcomplete_degeneracy_dim(m, n)
            else:
                assert degeneracy_dim(m, n) == orthogonal_group_dim(m)
                gap = degeneracy_dim(m, n) - overcomplete_degeneracy_dim(m, n)
                assert gap == (n - m) * (n - m + 1) // 2 > 0
            assert untied_degeneracy_dim(m, n) == (m * m if m <= n else 2 * m * n - n * n)
    assert overcomplete_degeneracy_dim(2, 5) < 0
    with pytest.raises(ValueError):
        degeneracy_dim(3, 4, rank=4)


def _gram_jacobian(W: torch.Tensor) -> torch.Tensor:
    m, n = W.shape
    return torch.autograd.functional.jacobian(lambda w: w.mT @ w, W).reshape(n * n, m * n)


def _null_dim(J: torch.Tensor, rtol: float = 1e-9) -> int:
    """Columns minus rank; the rank decision needs a clear gap, which is asserted."""
    sv = torch.linalg.svdvals(J)
    if sv.max() == 0:
        return J.shape[1]
    kept, dropped = sv[sv > rtol * sv.max()], sv[sv <= rtol * sv.max()]
    assert len(dropped) == 0 or dropped.max() == 0 or kept.min() > 1e6 * dropped.max()
    return J.shape[1] - len(kept)


def _random_w(m: int, n: int, rank: int | None = None, seed: int = 0) -> torch.Tensor:
    kw = {"generator": torch.Generator().manual_seed(seed), "dtype": torch.float64}
    r = min(m, n) if rank is None else rank
    return torch.randn(m, r, **kw) @ torch.randn(r, n, **kw)


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (3, 2), (4, 4), (2, 6), (6, 2), (5, 3)])
def test_null_space_dimension_matches_formula(m, n):
    assert _null_dim(_gram_jacobian(_random_w(m, n, seed=m * 10 + n))) == degeneracy_dim(m, n)


@pytest.mark.parametrize("m, n, r", [(5, 4, 2), (3, 6, 2), (4, 4, 1), (4, 3, 0)])
def test_rank_deficient_null_space(m, n, r):
    W = _random_w(m, n, rank=r)
    assert int(torch.linalg.matrix_rank(W)) == r
    assert _null_dim(_gram_jacobian(W)) == degeneracy_dim(m, n, rank=r)


def test_orbit_directions_are_in_the_null_space():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 5, generator=g, dtype=torch.float64)
    J = _gram_jacobian(W)
    for _ in range(3):
        S = torch.randn(3, 3, generator=g, dtype=torch.float64)
        S = S - S.T
        assert (J @ (S @ W).reshape(-1)).abs().max() < 1e-12
    # and the Jacobian is the map dW -> W^T dW + dW^T W
    D = torch.randn(3, 5, generator=g, dtype=torch.float64)
    assert torch.allclose((J @ D.reshape(-1)).reshape(5, 5), W.T @ D + D.T @ W, atol=1e-12)


@pytest.mark.parametrize("m, n", [(1, 3), (2, 5), (3, 3), (4, 2)])
def test_untied_degeneracy_matches_formula(m, n):
    g = torch.Generator().manual_seed(m + n)
    V = torch.randn(n, m, generator=g, dtype=torch.float64)
    W = torch.randn(m, n, generator=g, dtype=torch.float64)
    jv, jw = torch.autograd.functional.jacobian(lambda v, w: v @ w, (V, W))
    J = torch.cat([jv.reshape(n * n, n * m), jw.reshape(n * n, m * n)], dim=1)
    assert _null_dim(J) == untied_degeneracy_dim(m, n)


# -- training the layer -----------------------------------------------------------


def test_gradient_descent_on_the_layer_reaches_pca():
    g = torch.Generator().manual_seed(2)
    basis, _ = torch.linalg.qr(torch.randn(6, 2, generator=g, dtype=torch.float64))
    z = torch.randn(200, 2, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1.0]).sqrt()
    data = z @ basis.T + 0.05**0.5 * torch.randn(200, 6, generator=g, dtype=torch.float64)
    torch.manual_seed(0)
    model = TiedAutoencoder(6, 2, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        (model(data) - data).pow(2).sum(dim=1).mean().backward()
        opt.step()
    _, vecs = torch.linalg.eigh(data.T @ data / len(data))
    pca = vecs[:, -2:] @ vecs[:, -2:].T
    assert torch.allclose(model.gram().detach(), pca, atol=1e-4)
