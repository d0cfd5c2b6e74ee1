r"""Residual blocks tied across depth: a deep network as an iterated map.

A residual block computes :math:`h(x) = x + f_\theta(x)`.  Stacking :math:`K`
blocks with *the same* :math:`\theta` makes the network :math:`h^K`, the
:math:`K`-fold composition of one map: the parameter count no longer grows
with depth, and forward propagation becomes a discrete dynamical system
whose stability and fixed points can be studied directly.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..theory.depth import (
    ACTIVATION_LIPSCHITZ,
    damped_contraction_factor,
    mlp_lipschitz_bound,
)
from ._validation import check_trailing_shape

__all__ = [
    "MLPBranch",
    "DampedBranch",
    "TiedResidualStack",
    "UntiedResidualStack",
    "residual_iterate",
]

_ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def residual_iterate(
    input: torch.Tensor, branch, depth: int, *, return_trajectory: bool = False
) -> torch.Tensor:
    r"""Apply :math:`x \mapsto x + f(x)` ``depth`` times with the same ``branch`` :math:`f`.

    Returns :math:`x_K`, or with ``return_trajectory=True`` the stacked iterates
    :math:`x_0, \dots, x_K` of shape ``(depth + 1, *input.shape)``.
    """
    if depth < 0:
        raise ValueError(f"depth must be non-negative, got {depth}")
    x = input
    states = [x]
    for _ in range(depth):
        x = x + branch(x)
        if return_trajectory:
            states.append(x)
    return torch.stack(states) if return_trajectory else x


class MLPBranch(nn.Module):
    r"""The residual branch :math:`f(x) = W_2\,\phi(W_1 x + b_1) + b_2`, a two-layer MLP from ``d`` to ``d``.

    Args:
        features: :math:`d`, the width of the residual stream.
        hidden_features: :math:`m`, the hidden width (default :math:`2d`).
        activation: ``"tanh"`` (default), ``"relu"``, ``"gelu"``, ``"sigmoid"`` or ``"identity"``.
        bias: whether the two linear maps have biases.
        device, dtype: as in torch's own layers.

    Shape:
        - Input: :math:`(N, d)` or :math:`(d,)`.
        - Output: same shape as the input.

    Attributes:
        first: the :class:`~torch.nn.Linear` map :math:`W_1, b_1` (``d -> m``).
        second: the :class:`~torch.nn.Linear` map :math:`W_2, b_2` (``m -> d``).

    Examples:
        >>> f = MLPBranch(8, 16)
        >>> f(torch.randn(4, 8)).shape
        torch.Size([4, 8])
        >>> f.lipschitz_bound() > 0
        True
    """

    def __init__(
        self,
        features: int,
        hidden_features: int | None = None,
        activation: str = "tanh",
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if features <= 0:
            raise ValueError(f"features must be positive, got {features}")
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        factory = {"device": device, "dtype": dtype}
        self.features = features
        self.hidden_features = hidden_features or 2 * features
        self.activation = activation
        self.first = nn.Linear(features, self.hidden_features, bias=bias, **factory)
        self.act = _ACTIVATIONS[activation]()
        self.second = nn.Linear(self.hidden_features, features, bias=bias, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise both linear maps as :class:`torch.nn.Linear` does."""
        self.first.reset_parameters()
        self.second.reset_parameters()

    def lipschitz_bound(self) -> float:
        r""":math:`\|W_2\|_2 \operatorname{Lip}(\phi) \|W_1\|_2`, an upper bound on the branch's Lipschitz constant."""
        return mlp_lipschitz_bound(
            [self.first.weight, self.second.weight], ACTIVATION_LIPSCHITZ[self.activation]
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_trailing_shape(input, (self.features,), layer=type(self).__name__)
        return self.second(self.act(self.first(input)))

    def extra_repr(self) -> str:
        return f"features={self.features}, hidden_features={self.hidden_features}, activation={self.activation!r}"


class DampedBranch(nn.Module):
    r"""The branch :math:`f(x) = \beta\,(g(x) - x)`, which makes :math:`x + f(x) = (1-\beta)x + \beta g(x)`.

    A damped (relaxed) fixed-point step: the residual block moves a fraction
    :math:`\beta` of the way from :math:`x` to :math:`g(x)`.  Its fixed points are
    those of :math:`g`, and when :math:`\operatorname{Lip}(g) = \ell < 1` the block is a
    contraction with factor :math:`(1-\beta) + \beta\ell < 1`.

    Args:
        g: any module mapping ``(N, d)`` to ``(N, d)``.
        beta: the step fraction :math:`\beta \in (0, 1]`.

    Shape:
        - Input and output: those of ``g``.

    Examples:
        >>> f = DampedBranch(MLPBranch(4), beta=0.5)
        >>> f(torch.randn(3, 4)).shape
        torch.Size([3, 4])
    """

    def __init__(self, g: nn.Module, beta: float = 0.5) -> None:
        super().__init__()
        if not 0 < beta <= 1:
            raise ValueError(f"beta must lie in (0, 1], got {beta}")
        self.g = g
        self.beta = float(beta)

    def reset_parameters(self) -> None:
        if hasattr(self.g, "reset_parameters"):
            self.g.reset_parameters()

    def contraction_factor(self) -> float:
        """:math:`q = (1-\\beta) + \\beta \\operatorname{Lip}(g)`, using ``g.lipschitz_bound()``."""
        return damped_contraction_factor(self.g.lipschitz_bound(), self.beta)

    def lipschitz_bound(self) -> float:
        r""":math:`\beta(1 + \operatorname{Lip}(g))`: what the generic residual bound sees of this branch."""
        return self.beta * (1.0 + self.g.lipschitz_bound())

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.beta * (self.g(input) - input)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


def _check_depth(depth: int) -> int:
    if not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative int, got {depth!r}")
    return depth


class TiedResidualStack(nn.Module):
    r"""One residual block applied :math:`K` times: :math:`x_K = h^K(x_0)`, :math:`h(x) = x + f_\theta(x)`.

    Every "layer" of the stack uses the same branch :math:`f_\theta`, so the
    parameter count is that of one block whatever the depth, and the stack is an
    iterated map.  If :math:`f` is :math:`L`-Lipschitz, the stack is
    :math:`(1+L)^K`-Lipschitz (:meth:`lipschitz_bound`).

    Args:
        features: :math:`d`, the width of the residual stream.
        depth: :math:`K`, how many times the block is applied.
        branch: the module :math:`f` (any ``(N, d) -> (N, d)`` map).  Default: a
            fresh :class:`MLPBranch` with ``hidden_features`` and ``activation``.
        hidden_features, activation: passed to the default :class:`MLPBranch`.
        device, dtype: for the default branch, as in torch's own layers.

    Shape:
        - Input: :math:`(N, d)` or :math:`(d,)`.
        - Output: same shape as the input.

    Attributes:
        branch: the one shared block :math:`f_\theta`; every application uses its parameters.

    Examples:
        >>> stack = TiedResidualStack(8, depth=6)
        >>> stack(torch.randn(4, 8)).shape
        torch.Size([4, 8])
        >>> untied = UntiedResidualStack.from_tied(stack)
        >>> sum(p.numel() for p in untied.parameters()) == 6 * sum(p.numel() for p in stack.parameters())
        True
    """

    tied = True

    def __init__(
        self,
        features: int,
        depth: int,
        branch: nn.Module | None = None,
        hidden_features: int | None = None,
        activation: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if features <= 0:
            raise ValueError(f"features must be positive, got {features}")
        self.features = features
        self.depth = _check_depth(depth)
        if branch is None:
            branch = MLPBranch(features, hidden_features, activation, device=device, dtype=dtype)
        self.branch = branch

    def reset_parameters(self) -> None:
        if hasattr(self.branch, "reset_parameters"):
            self.branch.reset_parameters()

    def lipschitz_bound(self, depth: int | None = None) -> float:
        """:math:`(1 + L)^K` with :math:`L` from ``branch.lipschitz_bound()``."""
        depth = self.depth if depth is None else _check_depth(depth)
        return (1.0 + self.branch.lipschitz_bound()) ** depth

    def _check(self, input: torch.Tensor) -> None:
        check_trailing_shape(input, (self.features,), layer=type(self).__name__)

    def forward(self, input: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """:math:`h^K(x)`; ``depth`` overrides :math:`K` for this call (the parameters are the same)."""
        self._check(input)
        depth = self.depth if depth is None else _check_depth(depth)
        return residual_iterate(input, self.branch, depth)

    def trajectory(self, input: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """All iterates :math:`x_0, \\dots, x_K`, shape ``(K + 1, *input.shape)``."""
        self._check(input)
        depth = self.depth if depth is None else _check_depth(depth)
        return residual_iterate(input, self.branch, depth, return_trajectory=True)

    def extra_repr(self) -> str:
        return f"features={self.features}, depth={self.depth}, tied=True"


class UntiedResidualStack(nn.Module):
    r""":math:`K` residual blocks with their own parameters: :math:`x_{k} = x_{k-1} + f_{\theta_k}(x_{k-1})`.

    The untied counterpart of :class:`TiedResidualStack`: same architecture,
    :math:`K` times the parameters.  :meth:`from_tied` copies a tied stack's
    branch into every block, giving the same function with the ties cut.

    Args:
        features: :math:`d`.
        depth: :math:`K`, the number of blocks.
        hidden_features, activation: for each :class:`MLPBranch`.
        device, dtype: as in torch's own layers.

    Shape:
        - Input: :math:`(N, d)` or :math:`(d,)`.
        - Output: same shape as the input.

    Attributes:
        branches: a :class:`~torch.nn.ModuleList` of the :math:`K` blocks.

    Examples:
        >>> stack = UntiedResidualStack(8, depth=3)
        >>> stack(torch.randn(4, 8)).shape
        torch.Size([4, 8])
    """

    tied = False

    def __init__(
        self,
        features: int,
        depth: int,
        hidden_features: int | None = None,
        activation: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if features <= 0:
            raise ValueError(f"features must be positive, got {features}")
        self.features = features
        self.depth = _check_depth(depth)
        self.branches = nn.ModuleList(
            MLPBranch(features, hidden_features, activation, device=device, dtype=dtype)
            for _ in range(depth)
        )

    @classmethod
    def from_tied(cls, stack: TiedResidualStack) -> UntiedResidualStack:
        """Cut the ties: ``depth`` independent copies of the tied stack's branch."""
        new = cls.__new__(cls)
        nn.Module.__init__(new)
        new.features = stack.features
        new.depth = stack.depth
        new.branches = nn.ModuleList(copy.deepcopy(stack.branch) for _ in range(stack.depth))
        return new

    def reset_parameters(self) -> None:
        for branch in self.branches:
            if hasattr(branch, "reset_parameters"):
                branch.reset_parameters()

    def lipschitz_bound(self) -> float:
        r""":math:`\prod_k (1 + L_k)`."""
        return math.prod(1.0 + b.lipschitz_bound() for b in self.branches)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_trailing_shape(input, (self.features,), layer=type(self).__name__)
        x = input
        for branch in self.branches:
            x = x + branch(x)
        return x

    def extra_repr(self) -> str:
        return f"features={self.features}, depth={self.depth}, tied=False"
