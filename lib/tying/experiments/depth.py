"""Part I, section 3: a residual block tied across depth, measured against its bounds.

Two experiments return plain dicts of NumPy arrays:

* :func:`run_sensitivity_experiment` measures how much :math:`h^K` can stretch
  distances (Jacobian spectral norms and finite differences at many inputs) next
  to the bound :math:`(1+L)^K`;
* :func:`run_contraction_experiment` iterates a damped block from many starting
  points to its fixed point and records the distances next to :math:`q^K d_0`.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.func import jacrev, vmap

from ..device import get_device, limit_threads
from ..layers.depth import DampedBranch, MLPBranch, TiedResidualStack
from ..theory.depth import a_priori_distance_bound, residual_lipschitz_bound

__all__ = [
    "make_branch",
    "jacobian_sensitivity",
    "finite_difference_sensitivity",
    "pairwise_sensitivity",
    "find_fixed_point",
    "run_sensitivity_experiment",
    "run_contraction_experiment",
]


def make_branch(
    features: int,
    hidden_features: int,
    lipschitz: float,
    *,
    activation: str = "tanh",
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> MLPBranch:
    """A default-initialised :class:`MLPBranch` whose Lipschitz *bound* is rescaled to ``lipschitz``.

    Only the output map :math:`W_2` is rescaled, which scales the bound by the same factor.
    """
    torch.manual_seed(seed)
    branch = MLPBranch(features, hidden_features, activation, device=device, dtype=dtype)
    with torch.no_grad():
        branch.second.weight.mul_(lipschitz / branch.lipschitz_bound())
    return branch


def jacobian_sensitivity(
    stack: TiedResidualStack, inputs: torch.Tensor, max_depth: int
) -> np.ndarray:
    r"""Spectral norm of the Jacobian of :math:`h^k` at every input, for :math:`k = 0, \dots, K`.

    Uses the chain rule along the trajectory,
    :math:`J_{h^k}(x_0) = J_h(x_{k-1}) \cdots J_h(x_0)`, with each block's Jacobian
    from :func:`torch.func.jacrev` vectorised over the inputs.

    Returns:
        Array of shape ``(max_depth + 1, n_inputs)``; row 0 is all ones.
    """

    def block(x: torch.Tensor) -> torch.Tensor:
        return x + stack.branch(x)

    block_jacobian = vmap(jacrev(block))
    with torch.no_grad():
        trajectory = stack.trajectory(inputs, depth=max_depth)
    n, d = inputs.shape
    product = torch.eye(d, dtype=inputs.dtype, device=inputs.device).expand(n, d, d)
    norms = [torch.ones(n, dtype=inputs.dtype, device=inputs.device)]
    for k in range(max_depth):
        product = block_jacobian(trajectory[k]) @ product
        norms.append(torch.linalg.matrix_norm(product, ord=2))
    return torch.stack(norms).detach().cpu().numpy()


def finite_difference_sensitivity(
    stack: TiedResidualStack,
    inputs: torch.Tensor,
    depth: int,
    *,
    eps: float = 1e-4,
    n_directions: int = 8,
    seed: int = 0,
) -> np.ndarray:
    r"""Largest :math:`\|h^K(x + \epsilon\delta) - h^K(x)\| / \epsilon` over random unit directions :math:`\delta`, per input.

    A lower estimate of the local Lipschitz constant (the Jacobian norm), found
    without derivatives.  Returns an array of shape ``(n_inputs,)``.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    n, d = inputs.shape
    delta = torch.randn(n_directions, n, d, generator=gen, dtype=inputs.dtype).to(inputs.device)
    delta = delta / delta.norm(dim=-1, keepdim=True)
    with torch.no_grad():
        base = stack(inputs, depth=depth)
        moved = stack((inputs + eps * delta).reshape(-1, d), depth=depth).reshape(
            n_directions, n, d
        )
        ratio = (moved - base).norm(dim=-1) / eps
    return ratio.max(dim=0).values.cpu().numpy()


def pairwise_sensitivity(
    stack: TiedResidualStack, x: torch.Tensor, y: torch.Tensor, max_depth: int
) -> np.ndarray:
    r""":math:`\|h^k(x) - h^k(y)\| / \|x - y\|` for paired rows of ``x`` and ``y``, :math:`k = 0, \dots, K`.

    Returns an array of shape ``(max_depth + 1, n_pairs)``.
    """
    with torch.no_grad():
        tx, ty = stack.trajectory(x, depth=max_depth), stack.trajectory(y, depth=max_depth)
        ratio = (tx - ty).norm(dim=-1) / (x - y).norm(dim=-1)
    return ratio.cpu().numpy()


def find_fixed_point(
    block: nn.Module | callable,
    x0: torch.Tensor,
    *,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> tuple[torch.Tensor, int]:
    r"""Iterate :math:`x \leftarrow h(x)` until :math:`\|h(x) - x\| \le` ``tol`` (Banach iteration).

    Converges whenever :math:`h` is a contraction.  Returns the fixed point and
    the number of iterations; raises ``RuntimeError`` if ``max_iter`` is reached.
    """
    x = x0
    with torch.no_grad():
        for k in range(1, max_iter + 1):
            nxt = block(x)
            if (nxt - x).norm() <= tol:
                return nxt, k
            x = nxt
    raise RuntimeError(f"no fixed point within {max_iter} iterations (is the map a contraction?)")


def run_sensitivity_experiment(
    *,
    features: int = 16,
    hidden_features: int = 32,
    lipschitz: float = 0.5,
    max_depth: int = 24,
    n_inputs: int = 256,
    n_pairs: int = 256,
    input_scale: float = 2.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict:
    """Measured input-output sensitivity of a tied residual stack against :math:`(1+L)^K`.

    Builds a branch whose Lipschitz bound is ``lipschitz``, then measures, for
    every depth up to ``max_depth``, the Jacobian spectral norm at ``n_inputs``
    random inputs and the stretch of ``n_pairs`` random input pairs, plus finite
    differences at the largest depth.
    """
    start = time.perf_counter()
    device = get_device(device)
    branch = make_branch(
        features, hidden_features, lipschitz, seed=seed, device=device, dtype=dtype
    )
    stack = TiedResidualStack(features, max_depth, branch=branch)
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    draw = lambda n: (input_scale * torch.randn(n, features, generator=gen, dtype=dtype)).to(device)  # noqa: E731
    inputs, x, y = draw(n_inputs), draw(n_pairs), draw(n_pairs)
    depths = np.arange(max_depth + 1)
    L = branch.lipschitz_bound()
    with limit_threads(1, device):
        jacobian = jacobian_sensitivity(stack, inputs, max_depth)
        pairs = pairwise_sensitivity(stack, x, y, max_depth)
        finite = finite_difference_sensitivity(stack, inputs, max_depth, seed=seed)
    return {
        "depths": depths,
        "branch_lipschitz": L,
        "bound": np.array([residual_lipschitz_bound(L, int(k)) for k in depths]),
        "jacobian": jacobian,
        "pairs": pairs,
        "finite_difference": finite,
        "stack": stack,
        "seconds": time.perf_counter() - start,
    }


def run_contraction_experiment(
    *,
    features: int = 2,
    hidden_features: int = 16,
    g_lipschitz: float = 0.6,
    beta: float = 0.5,
    max_depth: int = 24,
    n_starts: int = 64,
    radius: float = 3.0,
    seed: int = 0,
    tol: float | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict:
    r"""Iterate the damped block :math:`h(x) = (1-\beta)x + \beta g(x)` to its fixed point.

    Starting points lie on ``n_starts`` rays at distances up to ``radius`` from the
    origin.  Returns the trajectories, the fixed point found by iteration, the
    distances :math:`\|x_k - x^\star\|` and the bounds :math:`q^k d_0`
    (per start), the a-priori bound, and the generic residual bound.  The fixed
    point is iterated until a step is shorter than ``tol`` (default ``1e-12`` in
    float64, ``1e-5`` otherwise).
    """
    start = time.perf_counter()
    device = get_device(device)
    g = make_branch(features, hidden_features, g_lipschitz, seed=seed, device=device, dtype=dtype)
    branch = DampedBranch(g, beta)
    stack = TiedResidualStack(features, max_depth, branch=branch)
    q = branch.contraction_factor()

    def block(x):
        return x + branch(x)

    if tol is None:
        tol = 1e-12 if dtype == torch.float64 else 1e-5
    x_star, n_iter = find_fixed_point(
        block, torch.zeros(features, dtype=dtype, device=device), tol=tol
    )
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    angles = torch.rand(n_starts, generator=gen, dtype=dtype) * 2 * np.pi
    radii = radius * torch.sqrt(torch.rand(n_starts, generator=gen, dtype=dtype))
    if features == 2:
        starts = torch.stack([radii * torch.cos(angles), radii * torch.sin(angles)], dim=1)
    else:
        direction = torch.randn(n_starts, features, generator=gen, dtype=dtype)
        starts = radii[:, None] * direction / direction.norm(dim=1, keepdim=True)
    starts = starts.to(device)
    with torch.no_grad():
        trajectory = stack.trajectory(starts)  # (K + 1, n, d)
        residual = float((block(x_star) - x_star).norm())
    distance = (trajectory - x_star).norm(dim=-1).cpu().numpy()
    depths = np.arange(max_depth + 1)
    first_step = (trajectory[1] - trajectory[0]).norm(dim=-1).cpu().numpy()
    return {
        "depths": depths,
        "q": q,
        "beta": beta,
        "g_lipschitz": g.lipschitz_bound(),
        "branch_lipschitz": branch.lipschitz_bound(),
        "x_star": x_star.cpu().numpy(),
        "fixed_point_iterations": n_iter,
        "residual_at_fixed_point": residual,
        "trajectory": trajectory.cpu().numpy(),
        "distance": distance,
        "bound": distance[0][None, :] * q ** depths[:, None],
        "a_priori": a_priori_distance_bound(q, depths[:, None], first_step[None, :]),
        "generic_bound": distance[0][None, :]
        * residual_lipschitz_bound(branch.lipschitz_bound(), 1) ** depths[:, None],
        "stack": stack,
        "seconds": time.perf_counter() - start,
    }
