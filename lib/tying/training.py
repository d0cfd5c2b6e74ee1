"""A small, readable training loop shared by the chapters.

Notebooks show the call and the result; the boilerplate lives here once.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .sweep import progress as _progress
from .sweep import progress_enabled

__all__ = ["fit", "accuracy", "progress_enabled"]


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    steps: int = 200,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
    progress: bool | None = None,
    desc: str = "training",
) -> list[float]:
    """Train ``model`` with Adam and return the loss after every step.

    Args:
        model: any module mapping ``inputs`` to logits (or predictions).
        inputs, targets: the whole training set, already on the model's device.
        steps: optimiser steps.
        batch_size: ``None`` trains full-batch, which is both fastest and
            deterministic for the small data sets in this book.
        loss_fn: defaults to cross-entropy.
        generator: draws the minibatches when ``batch_size`` is set.
        progress: show a ``tqdm`` bar; defaults to :func:`tying.sweep.progress_enabled`.
    """
    if len(inputs) != len(targets):
        raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
    loss_fn = loss_fn or nn.functional.cross_entropy
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    show = progress_enabled() if progress is None else progress
    iterator = _progress(range(steps), desc=desc) if show else range(steps)
    history = []
    model.train()
    for _ in iterator:  # type: ignore[attr-defined]
        if batch_size is None or batch_size >= len(inputs):
            xb, yb = inputs, targets
        else:
            idx = torch.randint(len(inputs), (batch_size,), generator=generator, device="cpu").to(
                inputs.device
            )
            xb, yb = inputs[idx], targets[idx]
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimiser.step()
        history.append(loss.item())
    model.eval()
    return history


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of ``inputs`` whose arg-max prediction equals ``targets``."""
    model.eval()
    return (model(inputs).argmax(dim=-1) == targets).float().mean().item()
