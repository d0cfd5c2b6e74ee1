"""An Elman recurrent network *without* sharing across time.

A recurrent network applies one set of weights at every time step.  Its untied
counterpart unrolls the recurrence for a fixed number of steps :math:`T` and
gives each step a weight set of its own, so it is to :class:`torch.nn.RNN`
what a locally connected layer is to a convolution: the same computation
graph, :math:`T` times the parameters, and no way to run on a sequence longer
than the one it was built for.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_trailing_shape

__all__ = ["UntiedRNN", "untied_rnn"]


def untied_rnn(
    input: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run :math:`h_t = \tanh(W^{(t)}_{ih} x_t + b^{(t)}_{ih} + W^{(t)}_{hh} h_{t-1} + b^{(t)}_{hh})`.

    Args:
        input: ``(N, T, I)``.
        weight_ih: ``(T, H, I)``; ``weight_ih[t]`` is used at step ``t`` only.
        weight_hh: ``(T, H, H)``.
        bias_ih, bias_hh: ``(T, H)`` or ``None``.
        h0: ``(N, H)`` initial state, zeros when ``None``.

    Returns:
        ``(output, h_T)`` with ``output`` of shape ``(N, T, H)`` and ``h_T`` of shape ``(N, H)``.
    """
    n, t_steps, _ = input.shape
    hidden = weight_hh.shape[-1]
    h = input.new_zeros(n, hidden) if h0 is None else h0
    outputs = []
    for t in range(t_steps):
        a = input[:, t] @ weight_ih[t].T + h @ weight_hh[t].T
        if bias_ih is not None:
            a = a + bias_ih[t]
        if bias_hh is not None:
            a = a + bias_hh[t]
        h = torch.tanh(a)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


class UntiedRNN(nn.Module):
    r"""A tanh recurrent layer unrolled for ``seq_len`` steps, with one weight set per step.

    .. math::
        h_t = \tanh\big(W^{(t)}_{ih} x_t + b^{(t)}_{ih} + W^{(t)}_{hh} h_{t-1} + b^{(t)}_{hh}\big),
        \qquad t = 1, \dots, T .

    :class:`torch.nn.RNN` is the special case :math:`W^{(t)} = W` for all
    :math:`t`: tying across time divides the parameter count by exactly
    :math:`T`, and lets the tied layer run on sequences of any length.

    Args:
        input_size: features :math:`I` per step.
        hidden_size: state size :math:`H`.
        seq_len: the number of steps :math:`T` the layer is built for.
        bias: learn the two bias vectors per step, as ``nn.RNN`` does.
        device, dtype: where and how to allocate the parameters.

    Shape:
        - Input: :math:`(N, T, I)` or :math:`(T, I)` (batch first).
        - Output: ``(output, h_T)`` with shapes :math:`(N, T, H)` and :math:`(N, H)`
          (the batch dimension dropped for an unbatched input).

    Attributes:
        weight_ih: learnable, :math:`(T, H, I)`.
        weight_hh: learnable, :math:`(T, H, H)`.
        bias_ih, bias_hh: learnable, :math:`(T, H)`.

    Examples:
        >>> layer = UntiedRNN(3, 8, seq_len=5)
        >>> out, h = layer(torch.randn(2, 5, 3))
        >>> out.shape, h.shape
        (torch.Size([2, 5, 8]), torch.Size([2, 8]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        seq_len: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if min(input_size, hidden_size, seq_len) <= 0:
            raise ValueError(
                f"sizes must be positive, got input_size={input_size}, "
                f"hidden_size={hidden_size}, seq_len={seq_len}"
            )
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.seq_len = seq_len
        self.weight_ih = nn.Parameter(torch.empty(seq_len, hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(seq_len, hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(seq_len, hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(seq_len, hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every step initialised as ``nn.RNN`` initialises its single weight set: U(-1/√H, 1/√H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @classmethod
    def from_rnn(cls, rnn: nn.RNN, seq_len: int) -> UntiedRNN:
        """Untie a one-layer tanh ``nn.RNN``: copy its weights to each of ``seq_len`` steps.

        The copy computes exactly what ``rnn`` computes on sequences of length
        ``seq_len``; trained, its steps are free to drift apart.
        """
        if (
            rnn.num_layers != 1
            or rnn.bidirectional
            or rnn.nonlinearity != "tanh"
            or getattr(rnn, "proj_size", 0)
        ):
            raise ValueError("from_rnn supports a single-layer, unidirectional tanh nn.RNN")
        layer = cls(
            rnn.input_size,
            rnn.hidden_size,
            seq_len,
            bias=rnn.bias,
            device=rnn.weight_hh_l0.device,
            dtype=rnn.weight_hh_l0.dtype,
        )
        with torch.no_grad():
            layer.weight_ih.copy_(rnn.weight_ih_l0.expand_as(layer.weight_ih))
            layer.weight_hh.copy_(rnn.weight_hh_l0.expand_as(layer.weight_hh))
            if rnn.bias:
                layer.bias_ih.copy_(rnn.bias_ih_l0.expand_as(layer.bias_ih))
                layer.bias_hh.copy_(rnn.bias_hh_l0.expand_as(layer.bias_hh))
        return layer

    def forward(
        self, input: torch.Tensor, h0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        unbatched = check_trailing_shape(
            input,
            (self.seq_len, self.input_size),
            layer=type(self).__name__,
            symbols=("T", "I"),
        )
        if unbatched:
            input = input.unsqueeze(0)
            h0 = None if h0 is None else h0.unsqueeze(0)
        out, h = untied_rnn(input, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, h0)
        return (out.squeeze(0), h.squeeze(0)) if unbatched else (out, h)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, seq_len={self.seq_len}"
        return s if self.bias_ih is not None else s + ", bias=False"
