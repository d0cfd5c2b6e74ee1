"""The tied RNN layer and the gradient-flow bounds of Part I, section 7."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tying.layers import TiedRNN, tied_rnn
from tying.theory import (
    jacobian_norms_over_lags,
    norm_power_bound,
    orthogonal_jacobian_bracket,
    power_norms,
    scaled_orthogonal,
    shifted_jordan,
    spectral_norm,
    spectral_radius,
)

f64 = torch.float64


# -- the layer ------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_rnn(nonlinearity, bias):
    torch.manual_seed(0)
    ref = nn.RNN(3, 6, nonlinearity=nonlinearity, bias=bias, batch_first=True)
    rnn = TiedRNN.from_torch_rnn(ref)
    x, h0 = torch.randn(5, 9, 3), torch.randn(5, 6)
    out, h_last = rnn(x, h0)
    ref_out, ref_h = ref(x, h0.unsqueeze(0))
    assert torch.allclose(out, ref_out, atol=1e-6)
    assert torch.allclose(h_last, ref_h[0], atol=1e-6)


def test_unbatched_input_and_state():
    torch.manual_seed(0)
    rnn = TiedRNN(2, 4)
    x, h0 = torch.randn(7, 2), torch.randn(4)
    out, h_last = rnn(x, h0)
    batched_out, batched_h = rnn(x.unsqueeze(0), h0.unsqueeze(0))
    assert out.shape == (7, 4) and h_last.shape == (4,)
    assert torch.allclose(out, batched_out[0]) and torch.allclose(h_last, batched_h[0])
    assert torch.equal(out[-1], h_last)


def test_empty_sequence_returns_the_initial_state():
    rnn = TiedRNN(2, 3)
    h0 = torch.randn(4, 3)
    out, h_last = rnn(torch.zeros(4, 0, 2), h0)
    assert out.shape == (4, 0, 3) and torch.equal(h_last, h0)


def test_parameter_count_does_not_depend_on_length():
    rnn = TiedRNN(3, 8)
    assert sum(p.numel() for p in rnn.parameters()) == 8 * 3 + 8 * 8 + 8
    assert [n for n, _ in rnn.named_parameters()] == ["weight_ih", "weight_hh", "bias"]
    assert "3, 8" in repr(rnn)
    assert "nonlinearity='relu', bias=False" in repr(TiedRNN(3, 8, "relu", bias=False))


def test_identity_rnn_is_a_matrix_power():
    rnn = TiedRNN(2, 3, nonlinearity="identity", bias=False, dtype=f64)
    h0 = torch.randn(3, dtype=f64)
    _, h_last = rnn(torch.zeros(10, 2, dtype=f64), h0)
    expected = torch.linalg.matrix_power(rnn.weight_hh.detach(), 10) @ h0
    assert torch.allclose(h_last, expected)


def test_gradcheck_float64():
    torch.manual_seed(0)
    rnn = TiedRNN(2, 3, dtype=f64)
    x = torch.randn(2, 4, 2, dtype=f64, requires_grad=True)
    params = (rnn.weight_ih, rnn.weight_hh, rnn.bias)
    h0 = torch.zeros(2, 3, dtype=f64)
    assert torch.autograd.gradcheck(lambda x, u, w, b: tied_rnn(x, h0, u, w, b)[0], (x, *params))


def test_factory_kwargs():
    rnn = TiedRNN(2, 3, dtype=f64, device="cpu")
    assert all(p.dtype == f64 and p.device.type == "cpu" for p in rnn.parameters())
    bound = 1 / 3**0.5
    assert all(p.abs().max() <= bound for p in rnn.parameters())


def test_validation_errors():
    rnn = TiedRNN(3, 4)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, T, 3\)"):
        rnn(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="expected input of shape"):
        rnn(torch.zeros(3))
    with pytest.raises(ValueError, match=r"h0 of shape \(2, 4\)"):
        rnn(torch.zeros(2, 5, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="nonlinearity"):
        TiedRNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="positive"):
        TiedRNN(0, 4)
    with pytest.raises(TypeError):
        rnn(torch.zeros(2, 5, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="one-layer"):
        TiedRNN.from_torch_rnn(nn.RNN(3, 4, batch_first=True, bidirectional=True))


# -- the theory -------------------------------------------------------------------------


def test_scaled_orthogonal_has_equal_singular_values():
    w = scaled_orthogonal(12, 1.3, generator=torch.Generator().manual_seed(0), dtype=f64)
    assert torch.allclose(torch.linalg.svdvals(w), torch.full((12,), 1.3, dtype=f64))
    assert np.isclose(spectral_radius(w), 1.3) and np.isclose(spectral_norm(w), 1.3)
    assert np.allclose(power_norms(w, 20), norm_power_bound(w, 20))


def test_symmetric_matrices_are_normal_too():
    a = torch.randn(6, 6, generator=torch.Generator().manual_seed(1), dtype=f64)
    s = (a + a.T) / 4
    assert np.allclose(power_norms(s, 15), norm_power_bound(s, 15), rtol=1e-10)


def test_shifted_jordan():
    j = shifted_jordan(4, 0.7, 0.8, dtype=f64)
    assert torch.allclose(torch.diagonal(j), torch.full((4,), 0.7, dtype=f64))
    assert spectral_norm(j) > 1.4 and abs(spectral_radius(j) - 0.7) < 1e-3
    norms = power_norms(j, 60)
    assert norms.max() > 5 and norms[-1] < 1e-4


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), scale=st.floats(0.2, 1.5))
def test_power_norms_lie_between_radius_and_bound(seed, n, scale):
    a = scale * torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=f64) / n**0.5
    norms = power_norms(a, 12)
    rho = spectral_radius(a)
    t = np.arange(13)
    assert norms[0] == pytest.approx(1.0)
    assert np.all(norms <= norm_power_bound(a, 12) * (1 + 1e-9) + 1e-300)
    assert np.all(norms >= rho**t * (1 - 1e-9))


def test_power_norms_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        power_norms(torch.zeros(2, 3), 3)


def test_jacobian_norms_match_direct_jacobians():
    torch.manual_seed(0)
    rnn = TiedRNN(2, 5, dtype=f64)
    inputs = torch.randn(6, 2, dtype=f64)
    h0 = torch.randn(5, dtype=f64)

    def step(h, x_t):
        return rnn.step(x_t, h)

    with torch.no_grad():
        norms, states = jacobian_norms_over_lags(step, h0, inputs)
    assert norms.shape == (6,) and states.shape == (6, 5)

    def run(h, xs):
        for x_t in xs:
            h = step(h, x_t)
        return h

    for lag in range(1, 7):
        start = h0 if lag == 6 else states[-lag - 1]
        direct = torch.func.jacrev(run)(start, inputs[-lag:])
        assert np.isclose(torch.linalg.matrix_norm(direct, 2).item(), norms[lag - 1], rtol=1e-12)
    with pytest.raises(ValueError, match="unbatched"):
        jacobian_norms_over_lags(step, h0[None], inputs)


def test_orthogonal_bracket_by_hand():
    slopes = torch.tensor([[0.5, 1.0], [0.25, 0.75], [1.0, 1.0]], dtype=f64)
    lo, hi = orthogonal_jacobian_bracket(slopes, 2.0)
    # lag 1 uses the last row, lag 2 the last two rows, ...
    assert np.allclose(lo, [2.0, 2.0 * 0.5, 2.0 * 0.5 * 1.0])
    assert np.allclose(hi, [2.0, 2.0 * 1.5, 2.0 * 1.5 * 2.0])


# -- the closed forms on a real tanh RNN ---------------------------------------------


def _rnn_with(weight_hh: torch.Tensor, input_size: int = 2) -> TiedRNN:
    rnn = TiedRNN(input_size, weight_hh.shape[0], dtype=f64)
    with torch.no_grad():
        rnn.weight_hh.copy_(weight_hh)
        rnn.bias.zero_()
    return rnn


def _norms(rnn: TiedRNN, t_max: int, scale: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    inputs = scale * torch.randn(t_max, rnn.input_size, generator=g, dtype=f64)
    h0 = scale * torch.randn(rnn.hidden_size, generator=g, dtype=f64)
    with torch.no_grad():
        return jacobian_norms_over_lags(lambda h, x: rnn.step(x, h), h0, inputs)


def test_orthogonal_bracket_holds_on_a_saturated_rnn():
    q = scaled_orthogonal(4, 1.0, generator=torch.Generator().manual_seed(0), dtype=f64)
    lags = np.arange(1, 7)
    for gain in (0.5, 1.0, 2.0):
        near_zero, _ = _norms(_rnn_with(gain * q), 6, scale=1e-8)
        assert np.allclose(near_zero, gain**lags, rtol=1e-6)  # linear regime: g^T
        norms, states = _norms(_rnn_with(gain * q), 6, scale=1.0)
        lo, hi = orthogonal_jacobian_bracket(1.0 - states**2, gain)
        assert np.all(lo <= norms * (1 + 1e-10)) and np.all(norms <= hi * (1 + 1e-10))
        assert np.all(norms < gain**lags)  # saturation: strictly below the bound


def test_tanh_rnn_near_zero_follows_the_powers_of_a_non_normal_w():
    w = torch.block_diag(*[shifted_jordan(4, 0.7, 0.8, dtype=f64)] * 2)
    norms, _ = _norms(_rnn_with(w), 30, scale=1e-8)
    assert np.allclose(norms, power_norms(w, 30)[1:], rtol=1e-6)
    assert spectral_norm(w) > 1.4 and norms[-1] < 1
