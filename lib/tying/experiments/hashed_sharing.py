"""Part II, compression by random sharing: hashed MLPs against dense MLPs of the same size."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..data import digits, train_test_split_indices
from ..device import get_device, limit_threads, seed_everything
from ..layers.hashed import HashedLinear
from ..training import accuracy, fit, progress_enabled

__all__ = [
    "make_dense_mlp",
    "make_hashed_mlp",
    "dense_mlp_param_count",
    "equivalent_hidden_width",
    "count_parameters",
    "run_compression_sweep",
]

IN_FEATURES, N_CLASSES = 64, 10


def count_parameters(model: nn.Module) -> int:
    """Free parameters: each tensor counted once, however many times it is used."""
    return sum(p.numel() for p in model.parameters())


def dense_mlp_param_count(hidden: int, n_in: int = IN_FEATURES, n_out: int = N_CLASSES) -> int:
    """Weights and biases of ``n_in -> hidden -> n_out``: ``(n_in + 1) hidden + (hidden + 1) n_out``."""
    return (n_in + 1) * hidden + (hidden + 1) * n_out


def equivalent_hidden_width(budget: int, n_in: int = IN_FEATURES, n_out: int = N_CLASSES) -> int:
    """The widest dense one-hidden-layer MLP with at most ``budget`` parameters (at least 1 unit)."""
    return max(1, (budget - n_out) // (n_in + 1 + n_out))


def make_dense_mlp(
    hidden: int, *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> nn.Sequential:
    """``Linear(64, hidden) -> ReLU -> Linear(hidden, 10)`` for the flattened 8x8 digits."""
    factory = {"device": device, "dtype": dtype}
    return nn.Sequential(
        nn.Linear(IN_FEATURES, hidden, **factory),
        nn.ReLU(),
        nn.Linear(hidden, N_CLASSES, **factory),
    )


def make_hashed_mlp(
    hidden: int,
    compression: float,
    *,
    seed: int = 0,
    signed: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """The dense MLP's shape with both weight matrices hashed to ``compression`` of their size.

    Each layer gets its own hash (seeds ``2 seed`` and ``2 seed + 1``), as in
    HashedNets, where every layer has its own hash function; biases stay dense.
    """
    factory = {"device": device, "dtype": dtype}
    return nn.Sequential(
        HashedLinear(
            IN_FEATURES, hidden, compression=compression, seed=2 * seed, signed=signed, **factory
        ),
        nn.ReLU(),
        HashedLinear(
            hidden, N_CLASSES, compression=compression, seed=2 * seed + 1, signed=signed, **factory
        ),
    )


def run_compression_sweep(
    compressions: Sequence[float] = (1 / 2, 1 / 8, 1 / 64),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    hidden: int = 128,
    steps: int = 300,
    batch_size: int = 128,
    lr: float = 1e-2,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train hashed, same-size dense and full dense MLPs on the digits and record test accuracy.

    For every seed the digits are split 70/30 (stratified).  For every
    compression factor ``c`` a hashed MLP (virtual width ``hidden``, both weight
    matrices hashed to ``c`` of their size) is compared with the widest dense
    MLP that has no more free parameters, and, once per seed, with the full
    dense MLP of width ``hidden``.  All models of one seed see the same
    minibatches (Adam, ``steps`` steps of ``batch_size``).

    Returns:
        ``{"compressions", "seeds", "hidden", "seconds", "full": {...},
        "hashed": {...}, "dense": {...}}``; ``full`` holds ``params`` (int) and
        ``test`` (array ``(len(seeds),)``); ``hashed`` and ``dense`` hold
        ``params`` and ``width`` (lists over compressions) and ``test`` and
        ``train`` (arrays ``(len(seeds), len(compressions))``).
    """
    device = get_device(device)
    images, labels = digits(device=device)
    inputs = images.flatten(1)
    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seeds) * (2 * len(compressions) + 1), desc="training runs")
    shape = (len(seeds), len(compressions))
    results: dict = {
        "compressions": list(compressions),
        "seeds": list(seeds),
        "hidden": hidden,
        "full": {"params": dense_mlp_param_count(hidden), "test": np.zeros(len(seeds))},
        "hashed": {"params": [], "width": [], "test": np.zeros(shape), "train": np.zeros(shape)},
        "dense": {"params": [], "width": [], "test": np.zeros(shape), "train": np.zeros(shape)},
    }
    for c in compressions:
        n_hashed = count_parameters(make_hashed_mlp(hidden, c))
        width = equivalent_hidden_width(n_hashed)
        results["hashed"]["params"].append(n_hashed)
        results["hashed"]["width"].append(hidden)
        results["dense"]["params"].append(dense_mlp_param_count(width))
        results["dense"]["width"].append(width)

    def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> None:
        fit(
            model,
            x,
            y,
            steps=steps,
            lr=lr,
            batch_size=batch_size,
            generator=torch.Generator().manual_seed(seed),
            progress=False,
        )

    start = time.perf_counter()
    with limit_threads(1):
        _sweep(results, inputs, labels, compressions, seeds, hidden, train, device, bar)
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results


def _sweep(results, inputs, labels, compressions, seeds, hidden, train, device, bar) -> None:
    """The training loop of :func:`run_compression_sweep`; fills ``results`` in place."""
    for s, seed in enumerate(seeds):
        train_idx, test_idx = train_test_split_indices(labels, test_fraction=0.3, seed=seed)
        x_train, y_train = inputs[train_idx], labels[train_idx]
        x_test, y_test = inputs[test_idx], labels[test_idx]
        seed_everything(seed)
        full = make_dense_mlp(hidden, device=device)
        train(full, x_train, y_train, seed)
        results["full"]["test"][s] = accuracy(full, x_test, y_test)
        if bar is not None:
            bar.update()
        for j, c in enumerate(compressions):
            for kind in ("hashed", "dense"):
                seed_everything(1000 * seed + j)
                if kind == "hashed":
                    model = make_hashed_mlp(hidden, c, seed=seed, device=device)
                else:
                    model = make_dense_mlp(results["dense"]["width"][j], device=device)
                train(model, x_train, y_train, seed)
                results[kind]["test"][s, j] = accuracy(model, x_test, y_test)
                results[kind]["train"][s, j] = accuracy(model, x_train, y_train)
                if bar is not None:
                    bar.update()
