"""Recurrent sharing: the untied RNN computes what nn.RNN computes, and the counts match the closed forms."""

import pytest
import torch
from torch import nn

from tying.layers.untied_rnn import UntiedRNN, untied_rnn
from tying.theory.counting import rnn_param_count, untied_rnn_param_count


# -- the untied twin -------------------------------------------------------------
def tied_and_untied(seq_len=6, input_size=3, hidden=5, dtype=torch.float64):
    torch.manual_seed(0)
    rnn = nn.RNN(input_size, hidden, batch_first=True, dtype=dtype)
    return rnn, UntiedRNN.from_rnn(rnn, seq_len)


def test_untied_copy_computes_what_the_rnn_computes():
    rnn, untied = tied_and_untied()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, dtype=torch.float64)
    out_tied, h_tied = rnn(x, h0[None])
    out_untied, h_untied = untied(x, h0)
    torch.testing.assert_close(out_untied, out_tied)
    torch.testing.assert_close(h_untied, h_tied[0])


def test_tied_gradient_is_the_sum_of_the_per_step_gradients():
    rnn, untied = tied_and_untied()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    weights = torch.randn(4, 6, 5, dtype=torch.float64)
    (rnn(x)[0] * weights).sum().backward()
    (untied(x)[0] * weights).sum().backward()
    torch.testing.assert_close(untied.weight_hh.grad.sum(0), rnn.weight_hh_l0.grad)
    torch.testing.assert_close(untied.weight_ih.grad.sum(0), rnn.weight_ih_l0.grad)
    torch.testing.assert_close(untied.bias_hh.grad.sum(0), rnn.bias_hh_l0.grad)


def test_untied_rnn_gradcheck():
    torch.manual_seed(1)
    args = [
        torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, 4, dtype=torch.float64, requires_grad=True) * 0.5,
        torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
    ]
    assert torch.autograd.gradcheck(lambda *a: untied_rnn(*a)[0], args)


@pytest.mark.parametrize("seq_len", [1, 7, 64])
def test_counts_match_closed_forms(seq_len):
    rnn, untied = nn.RNN(10, 20), UntiedRNN(10, 20, seq_len)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(rnn) == rnn_param_count(10, 20) == 20 * 10 + 20 * 20 + 2 * 20
    assert count(untied) == untied_rnn_param_count(seq_len, 10, 20) == seq_len * count(rnn)
    assert count(nn.GRU(10, 20)) == rnn_param_count(10, 20, "gru")
    assert count(nn.LSTM(10, 20)) == rnn_param_count(10, 20, "lstm")
    assert count(UntiedRNN(10, 20, seq_len, bias=False)) == untied_rnn_param_count(
        seq_len, 10, 20, bias=False
    )


def test_untied_rnn_shapes_and_errors():
    layer = UntiedRNN(3, 4, seq_len=5)
    out, h = layer(torch.randn(5, 3))
    assert out.shape == (5, 4) and h.shape == (4,)
    with pytest.raises(ValueError, match=r"\(N, 5, 3\)"):
        layer(torch.randn(2, 6, 3))  # a longer sequence has no weights
    with pytest.raises(ValueError):
        UntiedRNN(3, 0, 5)
    with pytest.raises(ValueError, match="tanh"):
        UntiedRNN.from_rnn(nn.RNN(3, 4, nonlinearity="relu"), 5)
    assert "seq_len=5" in repr(layer)
