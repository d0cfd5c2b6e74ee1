"""One place that decides where tensors live.

Every notebook and every layer in :mod:`tying` asks :func:`get_device` rather
than calling ``.cuda()``: the same code then runs on a laptop CPU, on Colab's
GPU and on Apple silicon.  Set the environment variable ``TYING_DEVICE``
(``cpu``, ``cuda``, ``cuda:1``, ``mps``) to override the automatic choice,
for example to force the CPU while timing.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

ENV_VAR = "TYING_DEVICE"

__all__ = ["ENV_VAR", "get_device", "seed_everything", "synchronize", "limit_threads"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: CUDA, then MPS, then CPU.

    Args:
        preferred: an explicit choice that wins over everything else.  When it
            is ``None`` the environment variable ``TYING_DEVICE`` is read, and
            when that is unset the fastest available backend is picked.

    Raises:
        ValueError: the requested device is not a valid torch device string.
        RuntimeError: the requested device exists as a name but is not
            available on this machine (``cuda`` without a GPU, say).

    Example:
        >>> get_device("cpu")
        device(type='cpu')
    """
    choice = preferred if preferred is not None else os.environ.get(ENV_VAR, "").strip() or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        device = torch.device(choice)
    except RuntimeError as err:
        raise ValueError(
            f"{choice!r} is not a device torch understands "
            f"(expected 'cpu', 'cuda', 'cuda:N' or 'mps'; read from {ENV_VAR} "
            f"or the 'preferred' argument)"
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {choice!r} was requested but CUDA is not available here")
    if (
        device.type == "cuda"
        and device.index is not None
        and device.index >= torch.cuda.device_count()
    ):
        raise RuntimeError(
            f"device {choice!r} was requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(f"device {choice!r} was requested but MPS is not available here")
    return device


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices) at once."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait for queued kernels on ``device`` to finish, so wall-clock timings are honest."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextmanager
def limit_threads(
    num_threads: int | None = 1, device: torch.device | str | None = None
) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(num_threads)`` on the CPU, then restore the setting.

    The book's models are tiny and latency-bound: each operation is too small
    to split, so extra intra-op threads only add synchronisation.  When two
    notebooks share two cores (as in the test suite), that made small models
    5 to 20 times slower.  ``None``, or a non-CPU ``device``, changes nothing.
    """
    on_cpu = device is None or torch.device(device).type == "cpu"
    if num_threads is None or not on_cpu:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
