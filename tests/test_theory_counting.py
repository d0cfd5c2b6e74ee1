from fractions import Fraction

import pytest
import torch
from torch import nn

from tying.layers import LocallyConnected2d
from tying.theory import conv2d_param_count, locally_connected2d_param_count, tying_ratio


@pytest.mark.parametrize(
    "c_in, c_out, k, size, bias",
    [(3, 8, 5, 32, True), (1, 16, 3, 8, True), (4, 2, 2, 7, False), (2, 3, 3, 9, True)],
)
def test_closed_forms_match_the_modules(c_in, c_out, k, size, bias):
    conv = nn.Conv2d(c_in, c_out, k, bias=bias)
    local = LocallyConnected2d(c_in, c_out, k, in_size=size, bias=bias)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(conv) == conv2d_param_count(c_in, c_out, (k, k), bias)
    assert count(local) == locally_connected2d_param_count(
        c_in, c_out, (k, k), local.out_size, bias
    )
    assert Fraction(count(conv), count(local)) == tying_ratio(local.out_size)


def test_the_books_headline_numbers():
    assert locally_connected2d_param_count(3, 8, (5, 5), (28, 28)) == 476_672
    assert conv2d_param_count(3, 8, (5, 5)) == 608
    assert tying_ratio((28, 28)) == Fraction(1, 784)


def test_conv_output_positions_match_torch():
    from tying.layers import conv2d_output_size

    x = torch.zeros(1, 1, 13, 10)
    for k, s, p, d in [(3, 1, 0, 1), (3, 2, 1, 1), (2, 3, 2, 2), (5, 1, 2, 1)]:
        out = nn.functional.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert conv2d_output_size((13, 10), (k, k), (s, s), (p, p), (d, d)) == tuple(out.shape[-2:])
