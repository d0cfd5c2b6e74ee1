r"""An autoencoder whose decoder is the transpose of its encoder.

With one weight matrix :math:`W \in \mathbb{R}^{m \times n}` the encoder computes
:math:`h = W x` and the decoder :math:`\hat x = W^\top h`.  In the linear case the
whole map is :math:`x \mapsto W^\top W x`, which depends on :math:`W` only
through its Gram matrix :math:`W^\top W`: every :math:`QW` with :math:`Q`
orthogonal computes the same function (Part I, section 9).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ._validation import check_trailing_shape

__all__ = ["TiedAutoencoder", "tied_autoencoder"]


def tied_autoencoder(
    input: torch.Tensor,
    weight: torch.Tensor,
    encoder_bias: torch.Tensor | None = None,
    decoder_bias: torch.Tensor | None = None,
    activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    r""":math:`\hat x = W^\top \sigma(W x + b) + c`; with no biases and no activation, :math:`W^\top W x`.

    Args:
        input: ``(..., n)``.
        weight: :math:`W`, shape ``(m, n)``; the decoder uses its transpose.
        encoder_bias: :math:`b`, shape ``(m,)``, or ``None``.
        decoder_bias: :math:`c`, shape ``(n,)``, or ``None``.
        activation: :math:`\sigma`, applied to the code; ``None`` is the identity.

    Returns:
        ``(..., n)``.
    """
    code = nn.functional.linear(input, weight, encoder_bias)
    if activation is not None:
        code = activation(code)
    return nn.functional.linear(code, weight.t(), decoder_bias)


class TiedAutoencoder(nn.Module):
    r"""A one-hidden-layer autoencoder with the decoder tied to the encoder's transpose.

    .. math::
        h = \sigma(W x + b), \qquad \hat x = W^\top h + c,

    with one learnable :math:`W \in \mathbb{R}^{m \times n}` (:math:`m` hidden
    units, :math:`n` inputs).  By default there are no biases and :math:`\sigma`
    is the identity, so that :math:`f_W(x) = W^\top W x`: the model of Part I,
    section 9.  An untied autoencoder would own a second matrix
    :math:`V \in \mathbb{R}^{n \times m}` for the decoder; tying halves the
    weights and shrinks the set of equivalent parameters from all invertible
    :math:`m \times m` reparametrisations to the orthogonal ones.

    Args:
        in_features: :math:`n`, the size of each input.
        hidden_features: :math:`m`, the size of the code.  :math:`m < n` is a
            bottleneck; :math:`m \ge n` is overcomplete.
        bias: if ``True``, learn an encoder bias :math:`b` and a decoder bias
            :math:`c` (default ``False``: the purely linear model).
        activation: a callable applied to the code, e.g. ``torch.tanh``
            (default ``None``: linear).
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, n)` or :math:`(n)`.
        - Output: the same shape as the input.

    Attributes:
        weight: learnable :math:`W`, shape :math:`(m, n)`, initialised like the
            weight of ``nn.Linear(n, m)``.
        encoder_bias: :math:`(m)` or ``None``.
        decoder_bias: :math:`(n)` or ``None``.

    Examples:
        >>> ae = TiedAutoencoder(in_features=5, hidden_features=3)
        >>> x = torch.randn(8, 5)
        >>> torch.allclose(ae(x), x @ (ae.weight.T @ ae.weight).T, atol=1e-6)
        True
        >>> ae.gram().shape  # the function depends on W only through W^T W
        torch.Size([5, 5])
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        bias: bool = False,
        activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if in_features <= 0 or hidden_features <= 0:
            raise ValueError(
                f"sizes must be positive, got in_features={in_features}, "
                f"hidden_features={hidden_features}"
            )
        if activation is not None and not callable(activation):
            raise TypeError(f"activation must be callable or None, got {activation!r}")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.activation = activation
        self.weight = nn.Parameter(torch.empty(hidden_features, in_features, **factory))
        if bias:
            self.encoder_bias = nn.Parameter(torch.empty(hidden_features, **factory))
            self.decoder_bias = nn.Parameter(torch.empty(in_features, **factory))
        else:
            self.register_parameter("encoder_bias", None)
            self.register_parameter("decoder_bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in :math:`\\pm 1/\\sqrt{n}`, as ``nn.Linear(n, m)`` does; biases start at zero."""
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.encoder_bias is not None:
            nn.init.zeros_(self.encoder_bias)
            nn.init.zeros_(self.decoder_bias)

    def _check(self, input: torch.Tensor) -> bool:
        return check_trailing_shape(
            input, (self.in_features,), layer=type(self).__name__, symbols=("n",)
        )

    def encode(self, input: torch.Tensor) -> torch.Tensor:
        """The code :math:`h = \\sigma(W x + b)`, shape ``(N, m)`` or ``(m)``."""
        self._check(input)
        code = nn.functional.linear(input, self.weight, self.encoder_bias)
        return code if self.activation is None else self.activation(code)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """The reconstruction :math:`W^\\top h + c` from a code of shape ``(N, m)`` or ``(m)``."""
        check_trailing_shape(code, (self.hidden_features,), layer=f"{type(self).__name__}.decode")
        return nn.functional.linear(code, self.weight.t(), self.decoder_bias)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check(input)
        return tied_autoencoder(
            input, self.weight, self.encoder_bias, self.decoder_bias, self.activation
        )

    def gram(self) -> torch.Tensor:
        """:math:`W^\\top W`, shape ``(n, n)``: all that the linear model's function depends on."""
        return self.weight.t() @ self.weight

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, hidden_features={self.hidden_features}"
        if self.encoder_bias is not None:
            s += ", bias=True"
        if self.activation is not None:
            name = getattr(self.activation, "__name__", type(self.activation).__name__)
            s += f", activation={name}"
        return s
