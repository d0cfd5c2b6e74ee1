r"""Closed forms for a residual block tied across depth, :math:`x_{k+1} = h(x_k) = x_k + f(x_k)`.

With the same block applied :math:`K` times the network computes :math:`h^K`, an
iterated map.  Two bounds follow from Lipschitz constants alone:

* if :math:`f` is :math:`L`-Lipschitz, :math:`h` is :math:`(1+L)`-Lipschitz and
  :math:`h^K` is :math:`(1+L)^K`-Lipschitz (:func:`residual_lipschitz_bound`);
* if :math:`h` itself is a contraction with factor :math:`q < 1`, it has exactly
  one fixed point :math:`x^\star` and :math:`\|x_K - x^\star\| \le q^K \|x_0 - x^\star\|`
  (Banach's fixed-point theorem; :func:`contraction_distance_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = [
    "ACTIVATION_LIPSCHITZ",
    "mlp_lipschitz_bound",
    "residual_lipschitz_bound",
    "damped_contraction_factor",
    "contraction_distance_bound",
    "a_priori_distance_bound",
    "iterations_for_tolerance",
    "residual_stack_param_count",
]

#: Lipschitz constants of common activations (the maximum of :math:`|\phi'|`).
#: GELU's is :math:`\max_x |\Phi(x) + x\varphi(x)| \approx 1.1289`, attained at :math:`x = \sqrt 2`.
ACTIVATION_LIPSCHITZ: dict[str, float] = {
    "identity": 1.0,
    "relu": 1.0,
    "tanh": 1.0,
    "sigmoid": 0.25,
    "gelu": 0.5 + 0.5 * math.erf(1.0) + math.exp(-1.0) / math.sqrt(math.pi),
}


def _spectral_norm(weight: torch.Tensor) -> float:
    """Largest singular value :math:`\\|W\\|_2` of a matrix (computed in float64)."""
    return float(torch.linalg.matrix_norm(weight.detach().double(), ord=2))


def mlp_lipschitz_bound(
    weights: Iterable[torch.Tensor], activation_lipschitz: float | Iterable[float] = 1.0
) -> float:
    r"""Upper bound on the Lipschitz constant of :math:`W_n \phi(\cdots \phi(W_1 x + b_1) \cdots) + b_n`.

    .. math::
        L \le \prod_{i=1}^n \|W_i\|_2 \;\prod_{i=1}^{n-1} \operatorname{Lip}(\phi_i),

    because a composition multiplies Lipschitz constants, a linear map's is its
    largest singular value, and biases do not change it.  The bound ignores how the
    layers' singular directions line up, so it can be far from tight.

    Args:
        weights: the weight matrices in order of application.
        activation_lipschitz: one constant for every activation between layers, or
            one per activation (``len(weights) - 1`` values).
    """
    norms = [_spectral_norm(w) for w in weights]
    if not norms:
        raise ValueError("need at least one weight matrix")
    if isinstance(activation_lipschitz, (int, float)):
        acts = [float(activation_lipschitz)] * (len(norms) - 1)
    else:
        acts = [float(a) for a in activation_lipschitz]
        if len(acts) != len(norms) - 1:
            raise ValueError(f"expected {len(norms) - 1} activation constants, got {len(acts)}")
    return math.prod(norms) * math.prod(acts)


def residual_lipschitz_bound(branch_lipschitz: float, depth: int) -> float:
    r""":math:`(1+L)^K`: a Lipschitz bound for :math:`K` applications of :math:`x \mapsto x + f(x)`.

    :math:`\|h(x) - h(y)\| \le \|x - y\| + \|f(x) - f(y)\| \le (1 + L)\|x - y\|`, and the
    bound of a composition is the product of the bounds.
    """
    if branch_lipschitz < 0 or depth < 0:
        raise ValueError("need L >= 0 and K >= 0")
    return (1.0 + branch_lipschitz) ** depth


def damped_contraction_factor(g_lipschitz: float, beta: float) -> float:
    r"""Contraction factor :math:`q = (1-\beta) + \beta\ell` of :math:`h(x) = (1-\beta)x + \beta g(x)`.

    This is the residual block :math:`x + f(x)` with :math:`f(x) = \beta(g(x) - x)`.
    For :math:`\beta \in (0, 1]` and :math:`\operatorname{Lip}(g) = \ell < 1`, :math:`q < 1`.
    The generic residual bound only sees :math:`\operatorname{Lip}(f) \le \beta(1+\ell)` and gives
    :math:`(1 + \beta(1+\ell))^K`, which grows with :math:`K`: it cannot see the contraction.
    """
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta}")
    return (1.0 - beta) + beta * g_lipschitz


def contraction_distance_bound(q: float, depth, initial_distance: float):
    r""":math:`q^K \|x_0 - x^\star\|`: how far :math:`K` steps of a :math:`q`-contraction can be from its fixed point.

    Each step shrinks the distance to :math:`x^\star`, because
    :math:`\|h(x) - x^\star\| = \|h(x) - h(x^\star)\| \le q\|x - x^\star\|`.
    ``depth`` may be an int or an array of ints.
    """
    return initial_distance * q**depth


def a_priori_distance_bound(q: float, depth, first_step: float):
    r""":math:`\frac{q^K}{1-q}\|x_1 - x_0\|`: the same bound without knowing :math:`x^\star`.

    From :math:`\|x_0 - x^\star\| \le \|x_0 - x_1\| + \|x_1 - x^\star\| \le \|x_1 - x_0\| + q\|x_0 - x^\star\|`.
    """
    if not 0 <= q < 1:
        raise ValueError(f"q must lie in [0, 1), got {q}")
    return first_step * q**depth / (1.0 - q)


def iterations_for_tolerance(q: float, initial_distance: float, tol: float) -> int:
    r"""Smallest :math:`K` with :math:`q^K \|x_0 - x^\star\| \le \text{tol}`: :math:`\lceil \log(\text{tol}/d_0)/\log q \rceil`."""
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q}")
    if initial_distance <= tol:
        return 0
    return math.ceil(math.log(tol / initial_distance) / math.log(q))


def residual_stack_param_count(
    features: int, hidden_features: int, depth: int, tied: bool = True, bias: bool = True
) -> int:
    r"""Parameters of :math:`K` two-layer residual branches :math:`d \to m \to d`.

    One branch has :math:`2dm` weights and :math:`m + d` biases.  Tied across depth
    the count is that of one branch whatever :math:`K` is; untied it is :math:`K` times as much.
    """
    one = 2 * features * hidden_features + (hidden_features + features if bias else 0)
    return one if tied else depth * one
