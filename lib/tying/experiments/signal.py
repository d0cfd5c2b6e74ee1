"""Part II, "Signal processing": convolution, circulant and Toeplitz matrices, and timing.

:func:`time_circulant_vs_dense` measures an FFT circulant layer against a dense
``nn.Linear`` of the same size and returns plain numbers, so the chapter and
the benchmark suite can share it.  :func:`toeplitz_matrix` builds the matrix of
a linear (non-circular) convolution, the other structured matrix of the chapter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..device import get_device, limit_threads, synchronize
from ..layers.circulant import circulant_linear

__all__ = [
    "circular_convolution",
    "dft_matrix",
    "toeplitz_matrix",
    "time_call",
    "loglog_slope",
    "limit_threads",
    "time_circulant_vs_dense",
]


def circular_convolution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The defining sum :math:`(a \circledast b)_i = \sum_j a_j\, b_{(i-j) \bmod n}`, with no FFT.

    ``O(n^2)``: it is the reference the convolution theorem is checked against.
    """
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"signals must have the same length, got {a.shape[-1]} and {b.shape[-1]}")
    n = a.shape[-1]
    i = torch.arange(n, device=a.device)
    shifted = b[..., (i[:, None] - i[None, :]) % n]  # shifted[..., i, j] = b[(i - j) mod n]
    return (shifted * a[..., None, :]).sum(dim=-1)


def dft_matrix(n: int, dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    r"""The unnormalised DFT matrix :math:`F_{kj} = e^{-2\pi i\, jk/n}`, so that ``F @ x == torch.fft.fft(x)``."""
    k = torch.arange(n, dtype=torch.float64, device=device)
    return torch.exp(-2j * math.pi * torch.outer(k, k) / n).to(dtype)


def toeplitz_matrix(kernel: torch.Tensor, n: int, mode: str = "full") -> torch.Tensor:
    r"""The matrix :math:`T` with :math:`T x = h * x`, the linear convolution of a length-``n`` signal.

    :math:`(h * x)_i = \sum_j h_j\, x_{i - j}`, so :math:`T_{ij} = h_{i-j}` (zero
    outside the kernel): constant along every diagonal, a Toeplitz matrix.

    Args:
        kernel: ``(L,)``, the filter :math:`h`.
        n: length of the input signal.
        mode: ``"full"`` (``n + L - 1`` outputs, every overlap) or ``"valid"``
            (``n - L + 1`` outputs, full overlaps only, what ``F.conv1d`` without
            padding returns).
    """
    if kernel.dim() != 1:
        raise ValueError(f"kernel must be 1-D, got shape {tuple(kernel.shape)}")
    length = kernel.shape[0]
    rows = n + length - 1
    i = torch.arange(rows, device=kernel.device)[:, None]
    j = torch.arange(n, device=kernel.device)[None, :]
    offset = i - j
    inside = (offset >= 0) & (offset < length)
    t = torch.where(inside, kernel[offset.clamp(0, length - 1)], kernel.new_zeros(()))
    if mode == "full":
        return t
    if mode == "valid":
        if n < length:
            raise ValueError(f"'valid' needs n >= kernel length, got n={n}, L={length}")
        return t[length - 1 : n]
    raise ValueError(f"mode must be 'full' or 'valid', got {mode!r}")


def time_call(
    fn: Callable[[], object],
    *,
    device: torch.device,
    repeats: int = 5,
    min_time: float = 2e-3,
    max_calls: int = 1 << 12,
) -> float:
    """The fastest of ``repeats`` measurements of the mean time of one call, in seconds.

    One warm-up call, then the number of calls per repeat is doubled until a
    repeat lasts ``min_time``, so fast and slow operations are both measured
    over a few milliseconds.  The device is synchronised before every clock
    read.  The minimum rather than the median is reported because on a shared
    machine other processes only ever add time: the fastest repeat is the one
    least disturbed (the advice of Python's ``timeit``).
    """
    fn()
    synchronize(device)
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= max_calls:
            break
        calls *= 2
    samples = [elapsed / calls]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        samples.append((time.perf_counter() - start) / calls)
    return min(samples)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the exponent ``p`` in ``y ~ x**p``."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(lx) < 2:
        raise ValueError("need at least two points for a slope")
    return float(np.polyfit(lx, ly, 1)[0])


def time_circulant_vs_dense(
    sizes: Sequence[int] = tuple(2**k for k in range(6, 14)),
    *,
    batch: int = 16,
    repeats: int = 5,
    dense_max: int | None = None,
    num_threads: int | None = 1,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    seed: int = 0,
) -> dict:
    """Forward time of ``y = C(c) x`` by FFT against ``y = W x`` with a dense ``n x n`` ``W``.

    Both sides compute the same kind of map on a batch of ``batch`` inputs,
    without bias and without autograd (``torch.no_grad``): the FFT side is
    :func:`~tying.layers.circulant.circulant_linear`, the dense side
    ``torch.nn.functional.linear`` with an ``n x n`` weight filled with a
    constant (the values do not change the time, and skipping random
    initialisation saves time at ``n = 8192``, where the weight alone is 268 MB
    in float32).  The dense side is skipped above ``dense_max``.

    ``num_threads=1`` (the default) times both on one CPU thread, which
    measures the algorithms rather than the thread pool and is far steadier on
    a shared machine; ``None`` keeps torch's setting.  Ignored on GPUs.

    Returns:
        A plain dict: ``sizes``, ``batch``, ``device``, ``dtype``, ``threads``,
        ``fft_s`` and ``dense_s`` (seconds per call, the fastest of ``repeats``;
    ``nan`` where skipped),
        ``fft_params`` and ``dense_params`` (``n`` and ``n**2``), ``crossover``
        (smallest ``n`` from which the FFT is faster at every measured larger
        size, or ``None``), ``slope_fft`` and ``slope_dense`` (log-log slopes
        over the sizes from 1024 up, or over the upper half when fewer).
    """
    device = get_device(device)
    on_cpu = device.type == "cpu"
    g = torch.Generator(device="cpu").manual_seed(seed)
    fft_s, dense_s = [], []
    with limit_threads(num_threads, device), torch.no_grad():
        for n in sizes:
            x = torch.randn(batch, n, generator=g, dtype=dtype).to(device)
            c = torch.randn(n, generator=g, dtype=dtype).to(device)
            fft_s.append(
                time_call(lambda x=x, c=c: circulant_linear(x, c), device=device, repeats=repeats)
            )
            if dense_max is None or n <= dense_max:
                w = torch.full((n, n), 1e-3, dtype=dtype, device=device)
                dense_s.append(
                    time_call(
                        lambda x=x, w=w: torch.nn.functional.linear(x, w),
                        device=device,
                        repeats=repeats,
                    )
                )
                del w
            else:
                dense_s.append(float("nan"))
    sizes = list(sizes)
    fft_arr, dense_arr = np.array(fft_s), np.array(dense_s)
    crossover = None
    faster = ~np.isnan(dense_arr) & (fft_arr < dense_arr)
    measured = ~np.isnan(dense_arr)
    for i in range(len(sizes)):
        if measured[i:].any() and faster[i:][measured[i:]].all():
            crossover = sizes[i]
            break
    upper = [i for i, n in enumerate(sizes) if n >= 1024]
    if len(upper) < 2:
        upper = list(range(len(sizes) // 2, len(sizes)))
    dense_upper = [i for i in upper if measured[i]]
    return {
        "sizes": sizes,
        "batch": batch,
        "device": str(device),
        "dtype": str(dtype).replace("torch.", ""),
        "threads": torch.get_num_threads() if num_threads is None or not on_cpu else num_threads,
        "fft_s": fft_s,
        "dense_s": dense_s,
        "fft_params": sizes,
        "dense_params": [n * n for n in sizes],
        "crossover": crossover,
        "slope_fft": loglog_slope([sizes[i] for i in upper], fft_arr[upper])
        if len(upper) >= 2
        else None,
        "slope_dense": loglog_slope([sizes[i] for i in dense_upper], dense_arr[dense_upper])
        if len(dense_upper) >= 2
        else None,
    }
