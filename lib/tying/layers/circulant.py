r"""Circulant weight matrices: ``n`` parameters for an ``n x n`` linear map, applied by FFT.

A circulant matrix ties every wrapped diagonal to one value, so the whole
matrix is its first column :math:`c`:

.. math::
    C(c)_{ij} = c_{(i - j) \bmod n}, \qquad
    C(c)\,x = c \circledast x \quad\text{(circular convolution)} .

The discrete Fourier transform diagonalises every such matrix,
:math:`C(c) = F^{-1} \operatorname{diag}(F c)\, F`, so a product costs three
FFTs, :math:`O(n \log n)` instead of :math:`O(n^2)` (Cheng et al., ICCV 2015).

Two ways to use the tie:

* :class:`CirculantLinear` stores ``c`` and multiplies by FFT (fast and small);
* :class:`Circulant` is a ``torch.nn.utils.parametrize`` parametrisation that
  ties the weight of an ordinary ``nn.Linear`` into a circulant matrix (small,
  but the product is still the dense one).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_tensor

__all__ = ["circulant_matrix", "circulant_linear", "Circulant", "CirculantLinear"]


def _wrapped_index(n: int, device: torch.device) -> torch.Tensor:
    i = torch.arange(n, device=device)
    return (i[:, None] - i[None, :]) % n


def circulant_matrix(c: torch.Tensor) -> torch.Tensor:
    r"""The circulant matrix whose first column is ``c``: :math:`C_{ij} = c_{(i-j) \bmod n}`.

    Args:
        c: ``(*, n)``; leading dimensions are batch dimensions.

    Returns:
        ``(*, n, n)``, differentiable with respect to ``c``.

    Example:
        >>> circulant_matrix(torch.tensor([1.0, 2.0, 3.0]))
        tensor([[1., 3., 2.],
                [2., 1., 3.],
                [3., 2., 1.]])
    """
    check_tensor(c, "c")
    if c.dim() == 0:
        raise ValueError("c must have at least one dimension (the first column)")
    n = c.shape[-1]
    return c[..., _wrapped_index(n, c.device)]


def circulant_linear(
    input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    r""":math:`y = C(w)\,x + b`, computed as :math:`\mathrm{irfft}(\mathrm{rfft}(w)\cdot\mathrm{rfft}(x))`.

    The real FFT (``rfft``) keeps only the :math:`\lfloor n/2 \rfloor + 1`
    non-redundant frequencies of a real signal, so the product costs about half
    a complex FFT.  Works for any ``n`` (powers of two are fastest) and any
    number of leading batch dimensions.

    Args:
        input: ``(*, n)``.
        weight: ``(n,)``, the first column of the circulant matrix.
        bias: ``(n,)`` or ``None``.
    """
    n = weight.shape[-1]
    spectrum = torch.fft.rfft(weight, n=n) * torch.fft.rfft(input, n=n)
    out = torch.fft.irfft(spectrum, n=n)
    if bias is not None:
        out = out + bias
    return out


class Circulant(nn.Module):
    r"""Parametrisation that ties a square weight into a circulant matrix.

    Register it on any square weight with
    ``torch.nn.utils.parametrize.register_parametrization(layer, "weight", Circulant())``.
    The stored parameter (``layer.parametrizations.weight.original``) becomes
    the first column :math:`c` of shape ``(n,)``, so the layer trains ``n``
    numbers instead of ``n**2``, and ``layer.weight`` is recomputed as
    :func:`circulant_matrix` of it.  Registering projects the existing weight
    onto the nearest circulant matrix in Frobenius norm (the mean of each
    wrapped diagonal); a weight that already is circulant is kept exactly.

    The product is still the dense ``O(n^2)`` one: use :class:`CirculantLinear`
    for the FFT.

    Example:
        >>> from torch.nn.utils import parametrize
        >>> layer = nn.Linear(6, 6)
        >>> _ = parametrize.register_parametrization(layer, "weight", Circulant())
        >>> layer.parametrizations.weight.original.shape
        torch.Size([6])
        >>> sum(p.numel() for p in layer.parameters())  # 6 for the weight, 6 for the bias
        12
    """

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return circulant_matrix(c)

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
            raise ValueError(f"Circulant needs a square weight, got shape {tuple(weight.shape)}")
        n = weight.shape[0]
        idx = _wrapped_index(n, weight.device)
        # Average the entries that share a wrapped diagonal (i - j) mod n.
        sums = torch.zeros(n, dtype=weight.dtype, device=weight.device)
        sums.index_add_(0, idx.reshape(-1), weight.reshape(-1))
        return sums / n


class CirculantLinear(nn.Module):
    r"""A linear layer whose ``n x n`` weight is circulant, applied with the FFT.

    .. math::
        y = C(c)\,x + b, \qquad C(c)_{ij} = c_{(i-j) \bmod n},

    computed as :math:`y = \mathrm{irfft}(\mathrm{rfft}(c) \odot \mathrm{rfft}(x)) + b`
    in :math:`O(n \log n)` time with :math:`n` weight parameters instead of
    :math:`n^2` (Cheng et al., 2015).  The eigenvalues of :math:`C(c)` are the
    DFT of :math:`c`, so the layer is a learnable filter with one gain per
    frequency, applied to the input treated as a periodic signal.

    Args:
        features: size :math:`n` of the input and the output.
        bias: if ``True`` (default), learn an additive bias of size :math:`n`.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(*, n)`, any number of leading dimensions (including none).
        - Output: :math:`(*, n)`.

    Attributes:
        weight: learnable, shape :math:`(n)`: the first column of the circulant matrix.
        bias: learnable, shape :math:`(n)`.

    Examples:
        >>> layer = CirculantLinear(1024)
        >>> layer(torch.randn(8, 1024)).shape
        torch.Size([8, 1024])
        >>> sum(p.numel() for p in layer.parameters())  # dense nn.Linear: 1,049,600
        2048
        >>> torch.allclose(layer(torch.eye(1024)).T - layer.bias[:, None], layer.matrix(), atol=1e-5)
        True
    """

    def __init__(
        self,
        features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if features <= 0:
            raise ValueError(f"features must be positive, got {features}")
        factory = {"device": device, "dtype": dtype}
        self.features = features
        self.weight = nn.Parameter(torch.empty(features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in :math:`\\pm 1/\\sqrt n`, what ``nn.Linear(n, n)`` uses for each weight and bias.

        Each output then has the same variance at initialisation as a dense
        layer's, because it is also a sum of :math:`n` weighted inputs.
        """
        bound = 1.0 / math.sqrt(self.features)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def matrix(self) -> torch.Tensor:
        """The dense ``n x n`` matrix the layer applies (for checks and small ``n`` only)."""
        return circulant_matrix(self.weight)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> CirculantLinear:
        """The circulant layer nearest to a square ``nn.Linear`` (mean of each wrapped diagonal)."""
        if linear.in_features != linear.out_features:
            raise ValueError(
                f"from_linear needs a square layer, got {linear.in_features} -> {linear.out_features}"
            )
        w = linear.weight
        layer = cls(
            linear.in_features, bias=linear.bias is not None, device=w.device, dtype=w.dtype
        )
        with torch.no_grad():
            layer.weight.copy_(Circulant().right_inverse(w.detach()))
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_tensor(input)
        if input.dim() == 0 or input.shape[-1] != self.features:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (*, {self.features}), "
                f"got {tuple(input.shape)}"
            )
        return circulant_linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"features={self.features}, bias={self.bias is not None}"
