"""Part I, section 1: tied (convolutional) against untied (locally connected) networks on digits."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..data import digits, shift_images, train_test_split_indices
from ..device import get_device, seed_everything
from ..layers import LocallyConnected2d
from ..training import accuracy, fit, progress_enabled

__all__ = ["make_digit_net", "shifted_accuracy", "run_size_sweep"]

SHIFT_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def make_digit_net(
    kind: str,
    channels: int = 16,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """Two 3x3 layers with 2x2 max-pooling between them, global average pooling and a linear read-out.

    ``kind="conv"`` ties each layer's kernel across positions (``nn.Conv2d``);
    ``kind="local"`` gives every position its own (:class:`LocallyConnected2d`).
    Everything else (receptive fields, zero padding, pooling, the read-out) is
    identical, so any difference between the two comes from tying.  The first
    layer works on the 8x8 grid, the second on the pooled 4x4 grid with twice
    the channels.
    """
    factory = {"device": device, "dtype": dtype}
    if kind == "conv":
        first = nn.Conv2d(1, channels, 3, padding=1, **factory)
        second = nn.Conv2d(channels, 2 * channels, 3, padding=1, **factory)
    elif kind == "local":
        first = LocallyConnected2d(1, channels, 3, in_size=(8, 8), padding=1, **factory)
        second = LocallyConnected2d(channels, 2 * channels, 3, in_size=(4, 4), padding=1, **factory)
    else:
        raise ValueError(f"kind must be 'conv' or 'local', got {kind!r}")
    return nn.Sequential(
        first,
        nn.ReLU(),
        nn.MaxPool2d(2),
        second,
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * channels, 10, **factory),
    )


def shifted_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, shift: int
) -> float:
    """Accuracy on ``images`` moved ``shift`` pixels up, down, left and right (mean of the four)."""
    if shift == 0:
        return accuracy(model, images, labels)
    scores = [
        accuracy(model, shift_images(images, dy * shift, dx * shift), labels)
        for dy, dx in SHIFT_DIRECTIONS
    ]
    return float(np.mean(scores))


def run_size_sweep(
    sizes: Sequence[int] = (50, 100, 200, 500, 1258),
    seeds: Sequence[int] = (0, 1, 2),
    shifts: Sequence[int] = (0, 1, 2),
    *,
    channels: int = 16,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 1e-2,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train tied and untied nets on growing training sets and measure how they generalise.

    For every seed the digits are split 70/30 (stratified); a model of each
    kind is trained with Adam for ``steps`` minibatches of ``batch_size`` drawn
    from the first ``n`` training images, for each ``n`` in ``sizes``, and
    evaluated on the whole test split, unshifted and shifted.  Both models see
    exactly the same minibatches.

    Returns:
        ``{"sizes", "seeds", "shifts", "seconds", "conv": {...}, "local": {...}}``
        where each model entry holds ``params`` (int), ``train`` and ``test``
        (arrays ``(len(seeds), len(sizes))``) and ``shifted``
        (``(len(seeds), len(sizes), len(shifts))``).
    """
    device = get_device(device)
    images, labels = digits(device=device)
    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(seeds) * len(sizes), desc="training runs")
    start = time.perf_counter()
    shape = (len(seeds), len(sizes))
    results: dict = {"sizes": list(sizes), "seeds": list(seeds), "shifts": list(shifts)}
    for kind in ("conv", "local"):
        results[kind] = {
            "params": sum(p.numel() for p in make_digit_net(kind, channels).parameters()),
            "train": np.zeros(shape),
            "test": np.zeros(shape),
            "shifted": np.zeros((*shape, len(shifts))),
        }
    for s, seed in enumerate(seeds):
        train_idx, test_idx = train_test_split_indices(labels, test_fraction=0.3, seed=seed)
        if max(sizes) > len(train_idx):
            raise ValueError(
                f"largest size {max(sizes)} exceeds the {len(train_idx)} training images"
            )
        x_test, y_test = images[test_idx], labels[test_idx]
        for j, n in enumerate(sizes):
            x_train, y_train = images[train_idx[:n]], labels[train_idx[:n]]
            for kind in ("conv", "local"):
                seed_everything(1000 * seed + j)
                model = make_digit_net(kind, channels, device=device)
                batches = torch.Generator().manual_seed(1000 * seed + j)
                fit(
                    model,
                    x_train,
                    y_train,
                    steps=steps,
                    lr=lr,
                    batch_size=batch_size,
                    generator=batches,
                    progress=False,
                )
                entry = results[kind]
                entry["train"][s, j] = accuracy(model, x_train, y_train)
                entry["test"][s, j] = accuracy(model, x_test, y_test)
                for k, shift in enumerate(shifts):
                    entry["shifted"][s, j, k] = shifted_accuracy(model, x_test, y_test, shift)
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results
