"""Part I, section 6: what backpropagation and the optimizer do with a tied parameter.

The network is the shared-bias net of :mod:`tying.theory.backprop`: ``K`` hidden
ReLU units, each an ``nn.Linear(d, 1)`` with its own weight vector, all holding the
*same* bias ``Parameter`` (tied) or copies of it (untied).  The tied model is
compared with untied copies that are kept equal by hand in several ways, to show
which manual scheme reproduces the tied model and which does not.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..theory.backprop import shared_bias_gradients

__all__ = [
    "SharedBiasNet",
    "per_use_gradients",
    "tied_gradient",
    "make_regression_data",
    "SYNC_MODES",
    "run_tied_vs_copies",
]

#: How the untied copies are kept (or not kept) equal, see :func:`run_tied_vs_copies`.
SYNC_MODES = ("sum", "mean", "mean_rescaled", "resync", "free")


class SharedBiasNet(nn.Module):
    r"""``K`` hidden ReLU units sharing one bias, and a linear read-out.

    .. math::
        z_k = \mathbf w_k^\top \mathbf x + b, \qquad \hat y = \sum_k v_k\,\mathrm{ReLU}(z_k) + c .

    Each hidden unit is an ``nn.Linear(d, 1)``.  With ``tied=True`` the units' ``bias``
    attributes are one and the same ``nn.Parameter``; with ``tied=False`` every unit
    has its own.

    Args:
        in_features: ``d``.
        hidden: ``K`` (default 2).
        tied: share the hidden bias (default ``True``).
        device, dtype: as in torch's layers.

    Shape:
        Input ``(N, d)``, output ``(N,)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: int = 2,
        tied: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.tied = tied
        self.units = nn.ModuleList(nn.Linear(in_features, 1, **factory) for _ in range(hidden))
        if tied:
            for unit in self.units[1:]:
                unit.bias = self.units[0].bias  # the tie: one Parameter, K uses
        self.readout = nn.Linear(hidden, 1, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.cat([unit(x) for unit in self.units], dim=-1)
        return self.readout(torch.relu(z)).squeeze(-1)

    def closed_form_parameters(self) -> dict[str, torch.Tensor]:
        """``weight (K, d)``, ``bias``, ``v (K,)``, ``c`` as used by :mod:`tying.theory.backprop`.

        Only defined for the tied model (one bias).
        """
        if not self.tied:
            raise ValueError("the closed form assumes one shared bias; this model is untied")
        return {
            "weight": torch.cat([u.weight for u in self.units], dim=0),
            "bias": self.units[0].bias[0],
            "v": self.readout.weight[0],
            "c": self.readout.bias[0],
        }

    def untied_copy(self) -> SharedBiasNet:
        """The same function with the tie broken: every unit gets its own copy of the bias."""
        k, d = len(self.units), self.units[0].in_features
        w = self.units[0].weight
        copy = SharedBiasNet(d, k, tied=False, device=w.device, dtype=w.dtype)
        copy.load_state_dict(self.state_dict())
        return copy

    def flat_parameters(self) -> torch.Tensor:
        """``[w_1, ..., w_K, b, v, c]`` as one vector; for an untied model ``b`` is the mean of the copies."""
        b = torch.stack([u.bias[0] for u in self.units]).mean()
        parts = [u.weight.reshape(-1) for u in self.units]
        parts += [b.reshape(1), self.readout.weight.reshape(-1), self.readout.bias.reshape(-1)]
        return torch.cat(parts).detach()


def per_use_gradients(
    loss_fn: Callable[..., torch.Tensor], param: torch.Tensor, n_uses: int
) -> list[torch.Tensor]:
    """The gradient each use of ``param`` contributes, computed with separate copies.

    ``loss_fn(p_1, ..., p_n)`` must compute the loss with ``p_k`` in the place of the
    ``k``-th use.  Every copy holds ``param``'s value; the ``k``-th returned gradient is
    the partial derivative with respect to the ``k``-th copy alone.
    """
    copies = [param.detach().clone().requires_grad_(True) for _ in range(n_uses)]
    return list(torch.autograd.grad(loss_fn(*copies), copies))


def tied_gradient(
    loss_fn: Callable[..., torch.Tensor], param: torch.Tensor, n_uses: int
) -> torch.Tensor:
    """The gradient autograd gives when the *same* tensor fills all ``n_uses`` places."""
    p = param.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(*([p] * n_uses)), [p])
    return grad


def make_regression_data(
    n: int = 64,
    in_features: int = 3,
    hidden: int = 2,
    noise: float = 0.1,
    seed: int = 0,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``x ~ N(0, I)`` ``(n, d)`` and targets from a random shared-bias teacher plus noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=g, dtype=dtype)
    with torch.no_grad():
        teacher = SharedBiasNet(in_features, hidden, dtype=dtype)
        for p in teacher.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
        y = teacher(x) + noise * torch.randn(n, generator=g, dtype=dtype)
    return x.to(device), y.to(device)


def _optimizer(name: str, groups, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def run_tied_vs_copies(
    steps: int = 150,
    lr: float = 0.05,
    optimizer: str = "sgd",
    modes: Sequence[str] = SYNC_MODES,
    *,
    n: int = 64,
    in_features: int = 3,
    hidden: int = 2,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict:
    """Full-batch training of the tied net and of untied copies kept equal by hand.

    All runs start from the same parameters and see the same data; the loss is
    ``0.5 * mean((y_hat - y)^2)``.  The untied copies follow one of these rules
    (``K`` copies ``b_1..b_K`` of the bias, with gradients ``g_1..g_K``):

    - ``"sum"``: every copy receives ``g_1 + ... + g_K`` before the step;
    - ``"mean"``: every copy receives ``(g_1 + ... + g_K) / K``;
    - ``"mean_rescaled"``: as ``"mean"``, with the copies' learning rate multiplied by ``K``;
    - ``"resync"``: each copy steps with its own ``g_k``, then all are set to their average;
    - ``"free"``: nothing is done, the copies drift apart (an untied model).

    Returns a dict with ``"tied"`` and one entry per mode, each holding
    ``"params"`` ``(steps + 1, P)`` (see :meth:`SharedBiasNet.flat_parameters`),
    ``"loss"`` ``(steps + 1,)``, ``"bias"`` ``(steps + 1, K)`` (the ``K`` copies; all equal
    when tied) and ``"n_param_tensors"``, ``"n_optimizer_states"``; plus, for the tied run,
    ``"per_use"`` ``(steps, K)``, the closed-form per-use bias gradients, and ``"autograd"``
    ``(steps,)``, autograd's bias gradient, at every step.
    """
    for mode in modes:
        if mode not in SYNC_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {SYNC_MODES}")
    x, y = make_regression_data(n, in_features, hidden, seed=seed, device=device, dtype=dtype)
    torch.manual_seed(seed + 1)
    start = SharedBiasNet(in_features, hidden, device=device, dtype=dtype)

    def loss_of(model: nn.Module) -> torch.Tensor:
        return 0.5 * ((model(x) - y) ** 2).mean()

    def record(model: SharedBiasNet, log: dict) -> None:
        log["params"].append(model.flat_parameters().cpu().numpy())
        log["bias"].append(np.array([u.bias.item() for u in model.units]))
        with torch.no_grad():
            log["loss"].append(loss_of(model).item())

    results: dict = {}
    for mode in ("tied", *modes):
        model = copy.deepcopy(start) if mode == "tied" else start.untied_copy()
        biases = [u.bias for u in model.units] if mode != "tied" else []
        bias_ids = {id(b) for b in biases}
        others = [p for p in model.parameters() if id(p) not in bias_ids]
        scale = hidden if mode == "mean_rescaled" else 1
        groups = [{"params": others}] + ([{"params": biases, "lr": lr * scale}] if biases else [])
        opt = _optimizer(optimizer, groups, lr)
        log: dict = {"params": [], "bias": [], "loss": [], "per_use": [], "autograd": []}
        record(model, log)
        for _ in range(steps):
            opt.zero_grad()
            loss_of(model).backward()
            if mode == "tied":
                closed = shared_bias_gradients(x, y, **model.closed_form_parameters())
                log["per_use"].append(closed["bias_per_use"].detach().cpu().numpy())
                log["autograd"].append(model.units[0].bias.grad.item())
            elif mode in ("sum", "mean", "mean_rescaled"):
                total = sum(b.grad for b in biases)
                for b in biases:
                    b.grad = total.clone() if mode == "sum" else total / hidden
            opt.step()
            if mode == "resync":
                with torch.no_grad():
                    mean = torch.stack(biases).mean(0)
                    for b in biases:
                        b.copy_(mean)
            record(model, log)
        entry = {k: np.asarray(v) for k, v in log.items() if v}
        entry["n_param_tensors"] = len(list(model.parameters()))
        entry["n_optimizer_states"] = len(opt.state)
        results[mode] = entry
    results["steps"] = np.arange(steps + 1)
    results["optimizer"] = optimizer
    return results
