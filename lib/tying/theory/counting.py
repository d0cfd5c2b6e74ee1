"""Parameter counts of tied and untied layers."""

from __future__ import annotations

from fractions import Fraction

__all__ = ["conv2d_param_count", "locally_connected2d_param_count", "tying_ratio"]


def conv2d_param_count(
    in_channels: int, out_channels: int, kernel_size: tuple[int, int], bias: bool = True
) -> int:
    """:math:`C_\\text{out}(k_H k_W C_\\text{in} + 1)`: one kernel and one bias per output channel."""
    kh, kw = kernel_size
    return out_channels * (kh * kw * in_channels + int(bias))


def locally_connected2d_param_count(
    in_channels: int,
    out_channels: int,
    kernel_size: tuple[int, int],
    out_size: tuple[int, int],
    bias: bool = True,
) -> int:
    """:math:`H_\\text{out} W_\\text{out} C_\\text{out}(k_H k_W C_\\text{in} + 1)`: a kernel per output unit."""
    h_out, w_out = out_size
    return h_out * w_out * conv2d_param_count(in_channels, out_channels, kernel_size, bias)


def tying_ratio(out_size: tuple[int, int]) -> Fraction:
    """Tied over untied parameter count, :math:`1/(H_\\text{out} W_\\text{out})`, as an exact fraction.

    The kernel size and channel counts cancel: sharing divides the count by the
    number of positions the kernel is reused at.
    """
    h_out, w_out = out_size
    return Fraction(1, h_out * w_out)
