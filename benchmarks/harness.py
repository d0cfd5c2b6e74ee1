"""Timing that a reader can trust: repeats, medians with min and max, and synchronisation.

Every figure is the median of several repeats (each repeat itself the mean of
enough calls to last a few milliseconds), reported with the min and max
across repeats.  Every comparison is a ratio of two medians measured in the
same run, on the same machine, one right after the other.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from tying.device import synchronize

__all__ = ["MODES", "Timing", "time_call", "time_mode", "machine_info", "copy_bandwidth"]

#: What every layer case measures: inference alone, and one training step's worth of work.
MODES = ("forward", "forward+backward")


@dataclass
class Timing:
    median_s: float
    min_s: float
    max_s: float
    repeats: int
    calls_per_repeat: int

    def as_dict(self) -> dict:
        return asdict(self)


def time_call(fn: Callable[[], object], *, device: torch.device, repeats: int = 5, min_time: float = 0.01, warmup: int = 1) -> Timing:
    """Time ``fn()``: ``warmup`` calls, then ``repeats`` measurements of the mean over enough calls to last ``min_time``."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    # Calibrate how many calls make one repeat last at least min_time.
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= 1 << 16:
            break
        calls *= 2
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        samples.append((time.perf_counter() - start) / calls)
    return Timing(statistics.median(samples), min(samples), max(samples), repeats, calls)


def time_mode(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str, *, device: torch.device, repeats: int = 5) -> Timing:
    """Time ``fn(x)`` in one of :data:`MODES`.

    ``"forward"`` runs without autograd; ``"forward+backward"`` takes gradients
    with respect to a copy of ``x`` and to every parameter ``fn`` uses.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    xi = x.clone().requires_grad_(mode != "forward")

    def call() -> torch.Tensor:
        if mode == "forward":
            with torch.no_grad():
                return fn(xi)
        out = fn(xi)
        out.sum().backward()
        return out

    return time_call(call, device=device, repeats=repeats)


def copy_bandwidth(device: torch.device, *, megabytes: int = 256, repeats: int = 5) -> dict:
    """Measured memory bandwidth of a large tensor clone: (read + write bytes) / time."""
    n = megabytes * (1 << 20) // 4
    x = torch.empty(n, dtype=torch.float32, device=device).uniform_()
    timing = time_call(lambda: x.clone(), device=device, repeats=repeats, min_time=0.05)
    bytes_moved = 2 * x.numel() * x.element_size()
    return {"megabytes": megabytes, "bytes_per_s": bytes_moved / timing.median_s, "timing": timing.as_dict()}


def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
