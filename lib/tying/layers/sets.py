r"""Layers for sets: one weight shared by every element, one by every pair.

A set has no first element.  A layer that maps a set of :math:`n` vectors to
:math:`n` vectors should therefore not care how they were listed: permuting the
input must permute the output the same way (*permutation equivariance*).  For a
linear map of :math:`n` scalars that requirement leaves exactly two free numbers,

.. math::
    W = \lambda I + \gamma\, \mathbf{1}\mathbf{1}^\top ,

one weight tied across the diagonal and one tied across every off-diagonal pair
(Zaheer et al., 2017).  With features, :math:`\lambda` and :math:`\gamma` become
matrices :math:`\Lambda, \Gamma`, and the number of parameters does not depend
on :math:`n` at all.  :class:`PermEquivariant` is that layer; :class:`DeepSets`
is the invariant model :math:`\rho\big(\sum_i \phi(x_i)\big)` built from one
shared element network :math:`\phi`.

Sets of different sizes can share a batch by padding them to a common size and
passing a boolean ``mask`` ``(N, n)`` that is ``True`` for real elements.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_tensor, check_trailing_shape

__all__ = ["set_pool", "perm_equivariant", "PermEquivariant", "DeepSets"]

_POOLS = ("sum", "mean")


def _check_mask(mask: torch.Tensor | None, x: torch.Tensor, layer: str) -> None:
    if mask is None:
        return
    if mask.dtype != torch.bool or mask.shape != x.shape[:2]:
        raise ValueError(
            f"{layer} expected a boolean mask of shape {tuple(x.shape[:2])} "
            f"(batch, set size), got {mask.dtype} {tuple(mask.shape)}"
        )


def set_pool(x: torch.Tensor, mask: torch.Tensor | None = None, pool: str = "sum") -> torch.Tensor:
    """Sum (or mean) over the set axis ``-2`` of ``(..., n, d)``, ignoring masked-out elements.

    Returns ``(..., d)``.  A mean over an all-masked set is zero, not NaN.
    """
    if pool not in _POOLS:
        raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}")
    if mask is not None:
        x = x * mask.unsqueeze(-1).to(x.dtype)
    total = x.sum(dim=-2)
    if pool == "sum":
        return total
    count = x.shape[-2] if mask is None else mask.sum(dim=-1, keepdim=True).clamp(min=1)
    return total / count


def perm_equivariant(
    input: torch.Tensor,
    lambda_: torch.Tensor,
    gamma: torch.Tensor,
    bias: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    pool: str = "sum",
) -> torch.Tensor:
    r"""Functional form of :class:`PermEquivariant`: :math:`y_i = x_i\Lambda^\top + (\sum_j x_j)\Gamma^\top + b`.

    Args:
        input: ``(N, n, d_in)``.
        lambda_, gamma: ``(d_out, d_in)``, laid out like ``nn.Linear.weight``.
        bias: ``(d_out,)`` or ``None``.
        mask: ``(N, n)`` boolean; masked elements neither contribute to the pool
            nor receive an output (their rows are zero).
        pool: ``"sum"`` (the :math:`\lambda I + \gamma 11^\top` layer) or ``"mean"``
            (:math:`\lambda I + \tfrac{\gamma}{n} 11^\top`).

    Returns:
        ``(N, n, d_out)``.
    """
    pooled = set_pool(input, mask, pool)  # (N, d_in)
    out = input @ lambda_.T + (pooled @ gamma.T).unsqueeze(-2)
    if bias is not None:
        out = out + bias
    if mask is not None:
        out = out * mask.unsqueeze(-1).to(out.dtype)
    return out


class PermEquivariant(nn.Module):
    r"""A permutation-equivariant linear layer on sets (the Deep Sets layer).

    .. math::
        y_i = x_i \Lambda^\top + \Big(\sum_{j=1}^{n} x_j\Big)\Gamma^\top + b ,
        \qquad i = 1, \dots, n .

    Written as one big matrix acting on the stacked set, the weight is
    :math:`I_n \otimes \Lambda + \mathbf{1}\mathbf{1}^\top \otimes \Gamma`: every
    diagonal block is tied to :math:`\Lambda + \Gamma` and every off-diagonal block
    to :math:`\Gamma`.  For one input and one output feature this is the matrix
    :math:`\lambda I + \gamma \mathbf{1}\mathbf{1}^\top` of Zaheer et al. (2017).
    The parameter count, :math:`2 d_\text{in} d_\text{out} + d_\text{out}`, does not
    depend on the set size, and one layer accepts sets of any size.

    Args:
        in_features: size :math:`d_\text{in}` of each element.
        out_features: size :math:`d_\text{out}` of each output element.
        bias: if ``True`` (default), add a bias shared by all elements.
        pool: ``"sum"`` (default) or ``"mean"`` for the pooled term.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, n, d_\text{in})` or :math:`(n, d_\text{in})`, any :math:`n`.
        - mask (optional): :math:`(N, n)` boolean, ``True`` for real elements.
        - Output: :math:`(N, n, d_\text{out})` or :math:`(n, d_\text{out})`.

    Attributes:
        lambda_: learnable :math:`\Lambda`, shape :math:`(d_\text{out}, d_\text{in})`.
        gamma: learnable :math:`\Gamma`, shape :math:`(d_\text{out}, d_\text{in})`.
        bias: learnable, shape :math:`(d_\text{out},)`.

    Examples:
        >>> layer = PermEquivariant(3, 5)
        >>> x = torch.randn(2, 7, 3)
        >>> perm = torch.randperm(7)
        >>> torch.allclose(layer(x[:, perm]), layer(x)[:, perm], atol=1e-6)
        True
        >>> layer(torch.randn(2, 50, 3)).shape  # any set size, same parameters
        torch.Size([2, 50, 5])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        pool: str = "sum",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"feature sizes must be positive, got in={in_features}, out={out_features}"
            )
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.out_features = out_features
        self.pool = pool
        self.lambda_ = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.gamma = nn.Parameter(torch.empty(out_features, in_features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``Λ`` and the bias as ``nn.Linear`` initialises them; ``Γ`` a tenth of that.

        The pooled term adds up ``n`` elements, so a small ``Γ`` keeps the
        initial outputs of the same size as a linear layer's for moderate ``n``.
        """
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.lambda_, -bound, bound)
        nn.init.uniform_(self.gamma, -0.1 * bound, 0.1 * bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def dense_matrix(self, n: int) -> torch.Tensor:
        r"""The equivalent untied weight for sets of size ``n``: ``(n d_out, n d_in)``.

        :math:`I_n \otimes \Lambda + \mathbf{1}\mathbf{1}^\top \otimes \Gamma` (with
        :math:`\Gamma / n` for ``pool="mean"``), acting on the set flattened element
        by element.  It has :math:`n^2 d_\text{in} d_\text{out}` entries but only
        :math:`2 d_\text{in} d_\text{out}` distinct parameters.
        """
        eye = torch.eye(n, dtype=self.lambda_.dtype, device=self.lambda_.device)
        ones = torch.ones_like(eye)
        gamma = self.gamma / n if self.pool == "mean" else self.gamma
        return torch.kron(eye, self.lambda_) + torch.kron(ones, gamma)

    def forward(self, input: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        unbatched = check_trailing_shape(
            input, (None, self.in_features), layer=type(self).__name__, symbols=("n", "d")
        )
        if unbatched:
            input = input.unsqueeze(0)
            mask = None if mask is None else mask.unsqueeze(0)
        _check_mask(mask, input, type(self).__name__)
        out = perm_equivariant(input, self.lambda_, self.gamma, self.bias, mask, self.pool)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}, pool={self.pool!r}"
        if self.bias is None:
            s += ", bias=False"
        return s


class DeepSets(nn.Module):
    r"""A permutation-invariant model :math:`f(X) = \rho\big(\sum_{x \in X} \phi(x)\big)`.

    One element network :math:`\phi` is shared by every member of the set (its
    weights are tied across elements), the embeddings are summed, and
    :math:`\rho` reads the sum out.  Zaheer et al. (2017) show that every
    permutation-invariant function of a countable set can be written this way.
    Because nothing depends on the position or the number of elements, a model
    trained on small sets can be evaluated on larger ones.

    Args:
        phi: maps one element ``(*element_shape)`` (batched) to ``(d,)``.
        rho: maps the pooled ``(d,)`` to the output.
        pool: ``"sum"`` (default) or ``"mean"``.

    Shape:
        - Input: :math:`(N, n, *)` where :math:`*` is the element shape ``phi`` expects.
        - mask (optional): :math:`(N, n)` boolean, ``True`` for real elements.
        - Output: whatever ``rho`` returns for a batch of :math:`N` pooled vectors.

    Examples:
        >>> model = DeepSets(nn.Sequential(nn.Linear(4, 16), nn.ReLU()), nn.Linear(16, 1))
        >>> x = torch.randn(3, 6, 4)
        >>> torch.allclose(model(x), model(x[:, torch.randperm(6)]), atol=1e-6)
        True
    """

    def __init__(self, phi: nn.Module, rho: nn.Module, pool: str = "sum") -> None:
        super().__init__()
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}")
        self.phi = phi
        self.rho = rho
        self.pool = pool

    def embed(self, input: torch.Tensor) -> torch.Tensor:
        """``phi`` applied to every element: ``(N, n, *) -> (N, n, d)``."""
        n_sets, n = input.shape[:2]
        return self.phi(input.flatten(0, 1)).unflatten(0, (n_sets, n))

    def forward(self, input: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_tensor(input)
        if input.dim() < 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (N, n, *element_shape), "
                f"got {tuple(input.shape)}"
            )
        _check_mask(mask, input, type(self).__name__)
        return self.rho(set_pool(self.embed(input), mask, self.pool))

    def extra_repr(self) -> str:
        return f"pool={self.pool!r}"
