"""An Elman recurrent layer written out step by step: one set of weights for every time step.

:class:`torch.nn.RNN` computes the same thing with fused kernels.  This version
exists so that the tying is visible in the code (the loop applies the same
``weight_hh`` at every step) and so that a single step can be differentiated
on its own, which Part I, section 7 needs to measure Jacobian products.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_trailing_shape

__all__ = ["TiedRNN", "tied_rnn", "tied_rnn_step"]

_NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda a: a}


def tied_rnn_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> torch.Tensor:
    r"""One step :math:`h' = \varphi(W h + U x_t + b)` on ``(..., H)`` states and ``(..., I)`` inputs."""
    a = h @ weight_hh.T + x_t @ weight_ih.T
    if bias is not None:
        a = a + bias
    return _NONLINEARITIES[nonlinearity](a)


def tied_rnn(
    input: torch.Tensor,
    h0: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run :math:`h_t = \varphi(W h_{t-1} + U x_t + b)` over a batch-first sequence.

    Args:
        input: ``(N, T, I)``.
        h0: ``(N, H)``.
        weight_ih: :math:`U`, ``(H, I)``; weight_hh: :math:`W`, ``(H, H)``; bias: :math:`b`, ``(H,)``.

    Returns:
        ``(outputs, h_T)`` with outputs ``(N, T, H)`` (every :math:`h_t`) and the last state ``(N, H)``.
    """
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {sorted(_NONLINEARITIES)}, got {nonlinearity!r}"
        )
    # The input projection does not depend on h, so it is done for all steps at once;
    # the loop keeps only what must be sequential.
    drive = input @ weight_ih.T
    if bias is not None:
        drive = drive + bias
    phi = _NONLINEARITIES[nonlinearity]
    h, outputs = h0, []
    for t in range(input.shape[1]):
        h = phi(h @ weight_hh.T + drive[:, t])
        outputs.append(h)
    if outputs:
        return torch.stack(outputs, dim=1), h
    return input.new_zeros(input.shape[0], 0, h0.shape[-1]), h


class TiedRNN(nn.Module):
    r"""An Elman recurrent layer whose weights are tied across time.

    .. math::
        h_t = \varphi(W h_{t-1} + U x_t + b), \qquad t = 1, \dots, T,

    with the same :math:`W`, :math:`U` and :math:`b` at every step, so the parameter
    count does not depend on the sequence length :math:`T`.  The gradient of the loss
    with respect to :math:`W` is the sum of :math:`T` per-step contributions, and
    the Jacobian :math:`\partial h_t/\partial h_{t-T}` is a product of :math:`T`
    factors :math:`\operatorname{diag}(\varphi'(a_k))W`.

    Equivalent to a one-layer, batch-first :class:`torch.nn.RNN` whose two biases
    are merged into one (``b = b_ih + b_hh``).

    Args:
        input_size: features :math:`I` per time step.
        hidden_size: size :math:`H` of the hidden state.
        nonlinearity: ``"tanh"`` (default), ``"relu"`` or ``"identity"`` (a linear RNN).
        bias: if ``True`` (default), learn :math:`b`.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, T, I)` or unbatched :math:`(T, I)`.
        - ``h0`` (optional, zeros by default): :math:`(N, H)` or :math:`(H,)`.
        - Output: ``(outputs, h_T)``: every hidden state :math:`(N, T, H)` and the last one
          :math:`(N, H)`; without the batch dimension for an unbatched input.

    Attributes:
        weight_ih: :math:`U`, learnable, shape :math:`(H, I)`.
        weight_hh: :math:`W`, learnable, shape :math:`(H, H)`.
        bias: :math:`b`, learnable, shape :math:`(H,)`, or ``None``.

    All three are initialised uniformly in :math:`[-1/\sqrt H, 1/\sqrt H]`, as torch's RNN does.

    Examples:
        >>> rnn = TiedRNN(3, 8)
        >>> outputs, h_T = rnn(torch.randn(4, 20, 3))
        >>> outputs.shape, h_T.shape
        (torch.Size([4, 20, 8]), torch.Size([4, 8]))
        >>> sum(p.numel() for p in rnn.parameters())  # 8*3 + 8*8 + 8, for any T
        96
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(
                f"sizes must be positive, got input_size={input_size}, hidden_size={hidden_size}"
            )
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {sorted(_NONLINEARITIES)}, got {nonlinearity!r}"
            )
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.nonlinearity = nonlinearity
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(hidden_size, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One time step on ``(..., I)`` inputs and ``(..., H)`` states (no shape checks: hot path)."""
        return tied_rnn_step(x_t, h, self.weight_ih, self.weight_hh, self.bias, self.nonlinearity)

    def forward(
        self, input: torch.Tensor, h0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        unbatched = check_trailing_shape(
            input, (None, self.input_size), layer=type(self).__name__, symbols=("T", "I")
        )
        if unbatched:
            input = input.unsqueeze(0)
        n = input.shape[0]
        if h0 is None:
            h0 = input.new_zeros(n, self.hidden_size)
        else:
            expected = (self.hidden_size,) if unbatched else (n, self.hidden_size)
            if tuple(h0.shape) != expected:
                raise ValueError(
                    f"{type(self).__name__} expected h0 of shape {expected}, got {tuple(h0.shape)}"
                )
            if unbatched:
                h0 = h0.unsqueeze(0)
        outputs, h_last = tied_rnn(
            input, h0, self.weight_ih, self.weight_hh, self.bias, self.nonlinearity
        )
        if unbatched:
            return outputs.squeeze(0), h_last.squeeze(0)
        return outputs, h_last

    @classmethod
    def from_torch_rnn(cls, rnn: nn.RNN) -> TiedRNN:
        """Copy a one-layer, unidirectional, batch-first ``nn.RNN`` (its two biases are summed)."""
        if rnn.num_layers != 1 or rnn.bidirectional or not rnn.batch_first or rnn.proj_size:
            raise ValueError("from_torch_rnn supports one-layer, unidirectional, batch_first RNNs")
        layer = cls(
            rnn.input_size,
            rnn.hidden_size,
            nonlinearity=rnn.nonlinearity,
            bias=rnn.bias,
            device=rnn.weight_hh_l0.device,
            dtype=rnn.weight_hh_l0.dtype,
        )
        with torch.no_grad():
            layer.weight_ih.copy_(rnn.weight_ih_l0)
            layer.weight_hh.copy_(rnn.weight_hh_l0)
            if rnn.bias:
                layer.bias.copy_(rnn.bias_ih_l0 + rnn.bias_hh_l0)
        return layer

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if self.bias is None:
            s += ", bias=False"
        return s
