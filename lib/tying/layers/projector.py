r"""A linear layer whose weight is an orthogonal projector by construction.

A square weight that is symmetric (:math:`W = W^\top`) and idempotent
(:math:`W^2 = W`) is an orthogonal projector onto an :math:`r`-dimensional
subspace.  Here the constraint is not a penalty and not a hook: the weight is
*computed* from a free matrix :math:`A \in \mathbb{R}^{n \times r}` through
:func:`torch.nn.utils.parametrize.register_parametrization`,

.. math::
    A = Q R \ \text{(thin QR)}, \qquad W = Q Q^\top,

so every value the optimiser can reach is a projector of rank :math:`r`
(Part I, section 10).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from ._validation import check_trailing_shape

__all__ = ["Projector", "ProjectorLinear", "random_projector"]


class Projector(nn.Module):
    r"""Parametrization :math:`A \mapsto Q Q^\top`, the orthogonal projector onto the columns of :math:`A`.

    ``forward`` maps a free ``(n, rank)`` matrix to an ``(n, n)`` projector;
    ``right_inverse`` maps a matrix back to an orthonormal basis of its top
    ``rank`` eigenvectors (of its symmetric part), so assigning a projector to
    the parametrized weight stores it exactly.  Only the column space of
    :math:`A` matters: :math:`A` and :math:`A G` give the same projector for any
    invertible :math:`G`, a symmetry of the kind Part I, section 9 counts.

    Args:
        rank: :math:`r`, the dimension of the subspace (``0 <= rank <= n``).

    Example:
        >>> P = Projector(rank=2)(torch.randn(5, 2))
        >>> torch.allclose(P @ P, P, atol=1e-5), torch.allclose(P, P.T)
        (True, True)
    """

    def __init__(self, rank: int) -> None:
        super().__init__()
        if rank < 0:
            raise ValueError(f"rank must be non-negative, got {rank}")
        self.rank = rank

    def forward(self, A: torch.Tensor) -> torch.Tensor:
        if A.dim() != 2 or A.shape[1] != self.rank:
            raise ValueError(
                f"Projector expected a matrix of shape (n, {self.rank}), got {tuple(A.shape)}"
            )
        Q, _ = torch.linalg.qr(A, mode="reduced")
        return Q @ Q.mT

    def right_inverse(self, W: torch.Tensor) -> torch.Tensor:
        if W.dim() != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"Projector expected a square matrix, got {tuple(W.shape)}")
        if self.rank > W.shape[0]:
            raise ValueError(f"rank {self.rank} exceeds the size {W.shape[0]} of the matrix")
        _, vectors = torch.linalg.eigh(0.5 * (W + W.mT))
        return vectors[:, W.shape[0] - self.rank :].contiguous()

    def extra_repr(self) -> str:
        return f"rank={self.rank}"


def random_projector(
    n: int,
    rank: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A projector onto a uniformly random ``rank``-dimensional subspace of :math:`\\mathbb{R}^n`.

    The columns of a Gaussian matrix span a subspace that is uniform over all
    subspaces of that dimension.  Drawn on the CPU, so seeds agree across devices.
    """
    if not 0 <= rank <= n:
        raise ValueError(f"need 0 <= rank <= n, got rank={rank}, n={n}")
    A = torch.randn(n, rank, generator=generator, dtype=dtype)
    return Projector(rank)(A).to(device)


class ProjectorLinear(nn.Module):
    r"""A linear map :math:`y = W x + b` whose square weight is an orthogonal projector of fixed rank.

    .. math::
        W = Q Q^\top, \quad Q = \operatorname{qr}(A), \qquad
        W = W^\top, \quad W^2 = W, \quad \operatorname{rank} W = r,

    for a free parameter :math:`A \in \mathbb{R}^{n \times r}` stored at
    ``self.parametrizations.weight.original``.  ``self.weight`` is recomputed
    from it on every access (use :func:`torch.nn.utils.parametrize.cached`
    to compute it once in a block of code), so gradient steps on :math:`A` can
    never leave the set of projectors.  The singular values of the weight are
    :math:`r` ones and :math:`n - r` zeros, :math:`\lVert W\rVert_F^2 = r`, and
    stacking the layer :math:`L` times (without bias) computes :math:`W^L = W`.

    Args:
        features: :math:`n`, the size of input and output.
        rank: :math:`r`, the dimension of the subspace, ``0 <= rank <= n``.
        bias: if ``True``, add a learnable bias (default ``False``: then the
            layer is exactly the projector).
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, n)` or :math:`(n)`.
        - Output: the same shape as the input.

    Attributes:
        weight: the :math:`(n, n)` projector, computed from
            ``parametrizations.weight.original``, the learnable :math:`(n, r)` matrix.
        bias: learnable :math:`(n)` or ``None``.

    Examples:
        >>> layer = ProjectorLinear(6, rank=2)
        >>> W = layer.weight
        >>> torch.allclose(W @ W, W, atol=1e-5), round(torch.linalg.matrix_norm(W).item() ** 2, 4)
        (True, 2.0)
        >>> layer.parametrizations.weight.original.shape
        torch.Size([6, 2])
    """

    def __init__(
        self,
        features: int,
        rank: int,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if features <= 0:
            raise ValueError(f"features must be positive, got {features}")
        if not 0 <= rank <= features:
            raise ValueError(f"need 0 <= rank <= features, got rank={rank}, features={features}")
        factory = {"device": device, "dtype": dtype}
        self.features = features
        self.rank = rank
        # Start from a valid projector so that right_inverse has something sensible to invert;
        # reset_parameters then draws the subspace at random.
        start = torch.zeros(features, features, **factory)
        start[range(rank), range(rank)] = 1.0
        self.weight = nn.Parameter(start)
        parametrize.register_parametrization(self, "weight", Projector(rank))
        if bias:
            self.bias = nn.Parameter(torch.empty(features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw a uniformly random subspace (Gaussian :math:`A`); the bias starts at zero."""
        with torch.no_grad():
            self.parametrizations.weight.original.normal_()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def basis(self) -> torch.Tensor:
        """An orthonormal basis :math:`Q` of the subspace, shape ``(n, r)``."""
        Q, _ = torch.linalg.qr(self.parametrizations.weight.original, mode="reduced")
        return Q

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_trailing_shape(input, (self.features,), layer=type(self).__name__, symbols=("n",))
        return nn.functional.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        s = f"{self.features}, rank={self.rank}"
        if self.bias is not None:
            s += ", bias=True"
        return s
