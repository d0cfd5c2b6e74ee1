r"""Part I, section 8: a curriculum on the tying strength, on a two-parameter toy landscape.

Two scalar parameters :math:`\theta_1, \theta_2` are trained by gradient
descent on a non-convex loss.  Write :math:`u = (\theta_1 + \theta_2)/2` for the
position along the tied line :math:`\theta_1 = \theta_2` and
:math:`v = (\theta_1 - \theta_2)/2` for the distance from it.  The loss is

.. math::
    L(\theta_1, \theta_2) = \tfrac18 (u - 2)^2 + \beta (v - v_0)^2
        + h \exp\!\Bigl(-\frac{u^2}{2 s_u^2} - \frac{v^2}{2 s_v^2}\Bigr):

a broad bowl whose floor is near :math:`u = 2`, a mild preference for the two
parameters to differ by :math:`2 v_0` (so untied parameters fit a little
better than tied ones), and a narrow hill standing *on* the tied line at
:math:`u = 0`.  Along the tied line the hill separates a poor minimum near
:math:`u \approx -1.65` from the good one near :math:`u \approx 2.4`; off the
line the hill can be walked around.  Gradient descent with the tie imposed
cannot leave the line and stops at the poor minimum, which for the untied
loss is only a saddle point.

Everything is vectorised: all initialisations and all schedules run as one
batch of tensors, so a sweep of twenty schedules over a hundred
initialisations takes about a second on a CPU.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from ..device import get_device
from ..layers.schedules import ConstantSchedule, LinearRamp, Schedule
from ..layers.soft_tie import soft_tie_gradient

__all__ = [
    "LANDSCAPE",
    "toy_loss",
    "toy_loss_grad",
    "tied_toy_loss",
    "initial_points",
    "landscape_grid",
    "tied_minima",
    "hessian_at",
    "run_tying_curriculum",
]

#: Constants of the toy loss (see the module docstring).
LANDSCAPE = {
    "centre": 2.0,  # floor of the bowl along the tied line
    "bowl": 1.0 / 8.0,  # curvature of the bowl along u
    "beta": 0.5,  # pull of v towards v0
    "v0": 0.3,  # preferred half-difference: the untied optimum is not tied
    "height": 3.0,  # height h of the hill on the tied line
    "width_u": 0.8,  # its width s_u along the line
    "width_v": 0.4,  # its width s_v across the line (narrow: it can be walked around)
}


def toy_loss(theta1: torch.Tensor, theta2: torch.Tensor) -> torch.Tensor:
    """The toy loss, element by element (any broadcastable shapes)."""
    c = LANDSCAPE
    u = 0.5 * (theta1 + theta2)
    v = 0.5 * (theta1 - theta2)
    hill = c["height"] * torch.exp(
        -(u**2) / (2 * c["width_u"] ** 2) - v**2 / (2 * c["width_v"] ** 2)
    )
    return c["bowl"] * (u - c["centre"]) ** 2 + c["beta"] * (v - c["v0"]) ** 2 + hill


def toy_loss_grad(theta1: torch.Tensor, theta2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Closed-form :math:`(\partial L/\partial\theta_1, \partial L/\partial\theta_2)`, element by element.

    With :math:`H` the hill term, :math:`L_u = 2a(u - c) - H u/s_u^2` and
    :math:`L_v = 2\beta(v - v_0) - H v/s_v^2`; the chain rule through
    :math:`u, v` gives :math:`\partial_{\theta_{1,2}} L = (L_u \pm L_v)/2`.
    Autograd gives the same numbers (see the tests) but, on tensors this
    small, its bookkeeping costs ten times the arithmetic.
    """
    c = LANDSCAPE
    u = 0.5 * (theta1 + theta2)
    v = 0.5 * (theta1 - theta2)
    hill = c["height"] * torch.exp(
        -(u**2) / (2 * c["width_u"] ** 2) - v**2 / (2 * c["width_v"] ** 2)
    )
    d_u = 2 * c["bowl"] * (u - c["centre"]) - hill * u / c["width_u"] ** 2
    d_v = 2 * c["beta"] * (v - c["v0"]) - hill * v / c["width_v"] ** 2
    return 0.5 * (d_u + d_v), 0.5 * (d_u - d_v)


def tied_toy_loss(phi: torch.Tensor) -> torch.Tensor:
    r"""The loss of the hard-tied model, :math:`L(\phi, \phi)`."""
    return toy_loss(phi, phi)


def initial_points(
    n: int,
    *,
    seed: int = 0,
    mean: float = -1.5,
    std: float = 1.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""``n`` starting points :math:`(\theta_1, \theta_2)`, each coordinate :math:`\mathcal N(\text{mean}, \text{std}^2)`.

    Drawn on the CPU from a seeded generator, so they are the same on every device.
    """
    generator = torch.Generator().manual_seed(seed)
    points = mean + std * torch.randn(n, 2, generator=generator, dtype=dtype)
    return points.to(device=get_device(device))


def landscape_grid(lim: tuple[float, float] = (-4.0, 4.0), n: int = 161) -> dict[str, np.ndarray]:
    """The loss on an ``n x n`` grid of :math:`(\\theta_1, \\theta_2)` for contour plots."""
    axis = torch.linspace(lim[0], lim[1], n, dtype=torch.float64)
    t1, t2 = torch.meshgrid(axis, axis, indexing="xy")
    return {"axis": axis.numpy(), "loss": toy_loss(t1, t2).numpy()}


def tied_minima(lim: tuple[float, float] = (-4.0, 4.0), n: int = 8001) -> dict[str, np.ndarray]:
    r"""Local minima of :math:`L(\phi, \phi)` on a fine grid, refined by Newton's method."""
    phi = torch.linspace(lim[0], lim[1], n, dtype=torch.float64)
    g = tied_toy_loss(phi)
    inner = (g[1:-1] < g[:-2]) & (g[1:-1] < g[2:])
    found = []
    for p in phi[1:-1][inner]:
        for _ in range(30):  # Newton's method on d/dphi L(phi, phi) = 0
            d1 = sum(toy_loss_grad(p, p))
            d2 = torch.autograd.functional.hessian(tied_toy_loss, p)
            p = p - d1 / d2
        found.append(p.item())
    phis = torch.tensor(found, dtype=torch.float64)
    return {"phi": phis.numpy(), "loss": tied_toy_loss(phis).numpy()}


def hessian_at(theta1: float, theta2: float) -> np.ndarray:
    """The 2x2 Hessian of the untied loss at a point (autograd, float64)."""
    point = torch.tensor([theta1, theta2], dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(lambda t: toy_loss(t[0], t[1]), point)
    return hessian.numpy()


def _schedule_rows(
    ramp_lengths: Sequence[int], lambda_max: float, weak: float
) -> tuple[list[str], list[Schedule]]:
    names = ["untied", "weak constant", "strong constant"]
    schedules: list[Schedule] = [
        ConstantSchedule(0.0),
        ConstantSchedule(weak),
        ConstantSchedule(lambda_max),
    ]
    for length in ramp_lengths:
        names.append(f"ramp {length}")
        schedules.append(LinearRamp(lambda_max, steps=length))
    return names, schedules


def run_tying_curriculum(
    n_runs: int = 100,
    ramp_lengths: Sequence[int] = (0, 50, 100, 200, 300, 400, 600, 800, 1000, 1500, 2000),
    *,
    lambda_max: float = 2.0,
    weak: float = 0.05,
    settle: int = 500,
    lr: float = 0.1,
    seed: int = 0,
    record_every: int = 10,
    n_recorded: int = 12,
    device: torch.device | str | None = None,
) -> dict:
    r"""Train the toy problem from ``n_runs`` starting points under every schedule at once.

    Rows of the batch: ``"untied"`` (:math:`\lambda = 0`), ``"weak constant"``
    (:math:`\lambda =` ``weak``), ``"strong constant"`` (:math:`\lambda_\max`
    from the first step), and a :class:`LinearRamp` from 0 to
    :math:`\lambda_\max` for each length in ``ramp_lengths``.  Separately the
    hard-tied model :math:`\theta_1 = \theta_2 = \phi` is trained from
    :math:`\phi_0 = (\theta_1 + \theta_2)/2` of the same starting points.
    Plain gradient descent with step ``lr`` runs for ``max(ramp_lengths) + settle``
    steps.

    Returns:
        A dict of NumPy arrays: ``names`` (R), ``init`` (N, 2), ``final`` (R, N, 2),
        ``loss`` :math:`L(\theta_1,\theta_2)` and ``tied_loss``
        :math:`L(\bar\theta,\bar\theta)` at the end (R, N), ``gap``
        :math:`|\theta_1 - \theta_2|` (R, N), ``paths`` (R, n_recorded, T', 2) of
        the first runs every ``record_every`` steps, ``strength`` (R, T') the
        schedules on the same steps, and the hard-tied ``hard_final`` (N,),
        ``hard_loss`` (N,), ``hard_paths`` (n_recorded, T'); plus the settings.
    """
    start = time.perf_counter()
    device = get_device(device)
    names, schedules = _schedule_rows(ramp_lengths, lambda_max, weak)
    steps = max(ramp_lengths, default=0) + settle
    init = initial_points(n_runs, seed=seed, device=device)
    n_rows = len(schedules)
    n_rec = min(n_recorded, n_runs)

    theta1 = init[:, 0].repeat(n_rows, 1)
    theta2 = init[:, 1].repeat(n_rows, 1)
    phi = init.mean(dim=1).clone()
    # lambda(t) of every row at every step, computed once: (R, steps + 1).
    table = torch.tensor(
        [[s(t) for t in range(steps + 1)] for s in schedules], dtype=init.dtype, device=device
    )

    recorded_steps = list(range(0, steps + 1, record_every))
    paths, hard_paths = [], []
    for t in range(steps + 1):
        if t % record_every == 0:
            paths.append(torch.stack([theta1[:, :n_rec], theta2[:, :n_rec]], dim=-1))
            hard_paths.append(phi[:n_rec].clone())
        if t == steps:
            break
        # Plain gradient descent on loss + soft-tie penalty.  Rows and runs do not
        # interact, so each element is its own run, with its row's lambda(t).
        g1, g2 = toy_loss_grad(theta1, theta2)
        p1, p2 = soft_tie_gradient([theta1, theta2], table[:, t : t + 1])
        d_phi = sum(toy_loss_grad(phi, phi))  # d/dphi L(phi, phi) = dL/dtheta1 + dL/dtheta2
        theta1 = theta1 - lr * (g1 + p1)
        theta2 = theta2 - lr * (g2 + p2)
        phi = phi - lr * d_phi

    with torch.no_grad():
        mean = 0.5 * (theta1 + theta2)
        result = {
            "names": names,
            "schedules": [repr(s) for s in schedules],
            "ramp_lengths": np.asarray(ramp_lengths),
            "init": init.cpu().numpy(),
            "final": torch.stack([theta1, theta2], dim=-1).cpu().numpy(),
            "loss": toy_loss(theta1, theta2).cpu().numpy(),
            "tied_loss": tied_toy_loss(mean).cpu().numpy(),
            "gap": (theta1 - theta2).abs().cpu().numpy(),
            "paths": torch.stack(paths, dim=2).cpu().numpy(),
            "recorded_steps": np.asarray(recorded_steps),
            "strength": table[:, ::record_every].cpu().numpy(),
            "hard_final": phi.cpu().numpy(),
            "hard_loss": tied_toy_loss(phi).cpu().numpy(),
            "hard_paths": torch.stack(hard_paths, dim=1).cpu().numpy(),
            "lambda_max": lambda_max,
            "weak": weak,
            "lr": lr,
            "steps": steps,
        }
    result["seconds"] = time.perf_counter() - start
    return result
