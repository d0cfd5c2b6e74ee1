"""Part II, "Statistical learning": hard sharing across tasks, and soft sharing as shrinkage.

Two experiments:

* :func:`run_multitask_sweep` trains a shared-trunk :class:`~tying.layers.MultiTaskNet`
  and ``T`` separate networks on related synthetic regression tasks, for a range
  of training-set sizes per task;
* :func:`simulate_shrinkage_risks` measures, by Monte Carlo, the risk of the
  estimators in :mod:`tying.theory.shrinkage` under the hierarchical Gaussian model.

:func:`efron_morris_baseball` returns the 18 batting averages that Efron and
Morris used to show James–Stein estimation on real data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from ..device import get_device, limit_threads, seed_everything
from ..layers.multitask import MultiTaskNet
from ..theory.shrinkage import (
    empirical_bayes_lambda,
    james_stein,
    posterior_mean,
    soft_sharing_estimate,
)
from ..training import progress_enabled

__all__ = [
    "make_related_tasks",
    "sample_tasks",
    "run_multitask_sweep",
    "simulate_shrinkage_risks",
    "simulate_fixed_theta_risks",
    "efron_morris_baseball",
]


def make_related_tasks(
    num_tasks: int = 16, in_features: int = 16, num_factors: int = 2, seed: int = 0
) -> dict:
    r"""Draw ``num_tasks`` regression tasks that share one low-dimensional representation.

    Every task reads the same :math:`r` = ``num_factors`` features
    :math:`z = \tanh(A x)` of a :math:`D`-dimensional input and combines them
    with its own weights: :math:`f_t(x) = w_t^\top z + b_t`.  The rows of
    :math:`A` have norm 1.5 (so that ``tanh`` bends), :math:`w_t \sim \mathcal N(0, I)`
    and :math:`b_t \sim \mathcal N(0, 0.3^2)`.

    Returns:
        ``{"A": (r, D), "W": (T, r), "b": (T,)}`` as float32 tensors on the CPU.
    """
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(num_factors, in_features, generator=g)
    a = 1.5 * a / a.norm(dim=1, keepdim=True)
    w = torch.randn(num_tasks, num_factors, generator=g)
    b = 0.3 * torch.randn(num_tasks, generator=g)
    return {"A": a, "W": w, "b": b}


def sample_tasks(
    tasks: dict, n_per_task: int, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n_per_task`` examples of every task: inputs, task index, noisy and noise-free targets."""
    a, w, b = tasks["A"], tasks["W"], tasks["b"]
    num_tasks = w.shape[0]
    x = torch.randn(num_tasks * n_per_task, a.shape[1], generator=generator)
    task = torch.arange(num_tasks).repeat_interleave(n_per_task)
    clean = (torch.tanh(x @ a.T) * w[task]).sum(dim=1) + b[task]
    noisy = clean + noise * torch.randn(len(clean), generator=generator)
    return x, task, noisy, clean


def run_multitask_sweep(
    sizes: Sequence[int] = (16, 32, 64, 128, 256),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    num_tasks: int = 16,
    in_features: int = 16,
    num_factors: int = 2,
    hidden: int = 3,
    noise: float = 0.3,
    steps: int = 300,
    lr: float = 0.02,
    n_test: int = 200,
    num_threads: int | None = 1,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Shared trunk against separate networks, for ``n`` training examples per task.

    For every seed a new family of tasks is drawn (:func:`make_related_tasks`).
    For each ``n`` in ``sizes`` both models are trained full-batch with Adam for
    ``steps`` steps on the same ``n`` noisy examples per task, and tested on
    ``n_test`` fresh inputs per task against the noise-free targets, so the
    error reported is the *excess* error (zero for a perfect model).  The two
    models have identical architectures; only the trunk's tying differs.
    The models are tiny, so on a CPU they are trained on ``num_threads``
    threads (see :func:`~tying.device.limit_threads`).

    Returns:
        ``{"sizes", "seeds", "seconds", "noise", "params": {"shared", "separate"},
        "shared", "separate"}`` where the last two are test MSE arrays
        ``(len(seeds), len(sizes))``.
    """
    device = get_device(device)
    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(seeds) * len(sizes), desc="training runs")
    start = time.perf_counter()
    shape = (len(seeds), len(sizes))
    results: dict = {
        "sizes": list(sizes),
        "seeds": list(seeds),
        "noise": noise,
        "shared": np.zeros(shape),
        "separate": np.zeros(shape),
        "params": {},
    }
    for kind in ("shared", "separate"):
        net = MultiTaskNet(in_features, hidden, num_tasks, shared=kind == "shared")
        results["params"][kind] = sum(p.numel() for p in net.parameters())
    with limit_threads(num_threads, device):
        for s, seed in enumerate(seeds):
            tasks = make_related_tasks(num_tasks, in_features, num_factors, seed=seed)
            data = torch.Generator().manual_seed(10_000 + seed)
            x_test, t_test, _, y_test = (
                v.to(device) for v in sample_tasks(tasks, n_test, noise, data)
            )
            for j, n in enumerate(sizes):
                x, t, y, _ = (v.to(device) for v in sample_tasks(tasks, n, noise, data))
                for kind in ("shared", "separate"):
                    seed_everything(1000 * seed + j)
                    net = MultiTaskNet(
                        in_features, hidden, num_tasks, shared=kind == "shared", device=device
                    )
                    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
                    for _ in range(steps):
                        optimiser.zero_grad(set_to_none=True)
                        loss = (net(x, t).squeeze(-1) - y).pow(2).mean()
                        loss.backward()
                        optimiser.step()
                    with torch.no_grad():
                        error = (net(x_test, t_test).squeeze(-1) - y_test).pow(2).mean().item()
                    results[kind][s, j] = error
                    if bar is not None:
                        bar.update()
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results


def simulate_shrinkage_risks(
    k: int = 10,
    sigma2: float = 1.0,
    tau2: float = 1.0,
    lambdas: Sequence[float] = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0),
    reps: int = 20_000,
    mu: float = 2.0,
    seed: int = 0,
) -> dict:
    r"""Monte Carlo risks under :math:`\theta_k \sim \mathcal N(\mu, \tau^2)`, :math:`x_k \sim \mathcal N(\theta_k, \sigma^2)`.

    Every replication draws new :math:`\theta` and :math:`x`; the loss of an
    estimate is :math:`\|\hat\theta - \theta\|^2`.  Returns the mean loss and its
    standard error for the maximum-likelihood estimate (``"mle"``), James–Stein
    (``"james_stein"``), its positive part (``"james_stein_plus"``), the
    posterior mean (``"bayes"``) and soft sharing at each ``lambdas`` value
    (``"soft"``: arrays).
    """
    rng = np.random.default_rng(seed)
    theta = mu + np.sqrt(tau2) * rng.standard_normal((reps, k))
    x = theta + np.sqrt(sigma2) * rng.standard_normal((reps, k))

    def risk(estimate: np.ndarray) -> tuple[float, float]:
        loss = ((estimate - theta) ** 2).sum(axis=-1)
        return float(loss.mean()), float(loss.std(ddof=1) / np.sqrt(reps))

    out: dict = {"k": k, "sigma2": sigma2, "tau2": tau2, "reps": reps, "lambdas": list(lambdas)}
    out["mle"] = risk(x)
    out["james_stein"] = risk(james_stein(x, sigma2))
    out["james_stein_plus"] = risk(james_stein(x, sigma2, positive_part=True))
    out["bayes"] = risk(posterior_mean(x, sigma2, tau2))
    soft = [risk(soft_sharing_estimate(x, lam)) for lam in lambdas]
    out["soft"] = np.array([m for m, _ in soft])
    out["soft_se"] = np.array([se for _, se in soft])
    out["empirical_bayes_lambda_median"] = float(np.median(empirical_bayes_lambda(x, sigma2)))
    return out


def simulate_fixed_theta_risks(
    theta: np.ndarray, sigma2: float = 1.0, reps: int = 20_000, seed: int = 0
) -> dict:
    """Monte Carlo risk of the MLE and of James–Stein at one fixed mean vector ``theta``."""
    theta = np.asarray(theta, dtype=float)
    rng = np.random.default_rng(seed)
    x = theta + np.sqrt(sigma2) * rng.standard_normal((reps, theta.shape[-1]))
    mle = ((x - theta) ** 2).sum(axis=-1)
    js = ((james_stein(x, sigma2) - theta) ** 2).sum(axis=-1)
    return {
        "mle": float(mle.mean()),
        "james_stein": float(js.mean()),
        # The difference is paired (same x), so its standard error is much smaller.
        "difference_se": float((mle - js).std(ddof=1) / np.sqrt(reps)),
    }


def efron_morris_baseball() -> dict:
    """The 18 major-league batters of Efron and Morris (1975, 1977), 1970 season.

    ``hits`` are out of each player's first 45 times at bat; ``rest_of_season``
    is the batting average each went on to record over the remainder of the
    season, the quantity to be predicted.  Figures as tabulated by Efron and
    Morris (three decimals).
    """
    names = [
        "Clemente", "F. Robinson", "F. Howard", "Johnstone", "Berry", "Spencer",
        "Kessinger", "L. Alvarado", "Santo", "Swoboda", "Unser", "Williams",
        "Scott", "Petrocelli", "E. Rodriguez", "Campaneris", "Munson", "Alvis",
    ]  # fmt: skip
    hits = np.array([18, 17, 16, 15, 14, 14, 13, 12, 11, 11, 10, 10, 10, 10, 10, 9, 8, 7])
    rest = np.array([
        0.346, 0.298, 0.276, 0.222, 0.273, 0.270, 0.263, 0.210, 0.269,
        0.230, 0.264, 0.256, 0.303, 0.264, 0.226, 0.285, 0.316, 0.200,
    ])  # fmt: skip
    return {"names": names, "at_bats": 45, "hits": hits, "early": hits / 45, "rest_of_season": rest}
