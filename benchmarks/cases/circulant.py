"""CirculantLinear (FFT, n parameters) against dense nn.Linear (n² parameters), n = 64 … 8192.

Reports the crossover n (the smallest n from which the FFT layer is faster) and
the slope of log time against log n for both, fitted over the upper half of the
sizes (n log n has a slope just above 1 there; a dense layer approaches 2 once
its n² weights dominate).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tying.layers import CirculantLinear

from ..harness import MODES, time_mode

NAME = "CirculantLinear"


def _slope(ns: list[int], times: list[float]) -> float:
    xs, ys = [math.log(n) for n in ns], [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def run(quick: bool, device: torch.device) -> list[dict]:
    ns = [64, 256] if quick else [64, 128, 256, 512, 1024, 2048, 4096, 8192]
    batch = 16
    repeats = 1 if quick else 5
    rows = []
    medians: dict[tuple[str, str], list[float]] = {}
    for n in ns:
        torch.manual_seed(0)
        circ = CirculantLinear(n, device=device)
        dense = nn.Linear(n, n, device=device)
        x = torch.randn(batch, n, device=device)
        for impl, layer, library in (("FFT circulant", circ, True), ("dense nn.Linear", dense, False)):
            for mode in MODES:
                timing = time_mode(layer, x, mode, device=device, repeats=repeats)
                params = sum(p.numel() for p in layer.parameters())
                rows.append({"case": NAME, "shape": f"n={n}, batch={batch}", "impl": impl, "mode": mode, "library": library, "params": params, "n": n, **timing.as_dict()})
                medians.setdefault((impl, mode), []).append(timing.median_s)
    for mode in MODES:
        fft, dense = medians[("FFT circulant", mode)], medians[("dense nn.Linear", mode)]
        crossover = next((n for i, n in enumerate(ns) if all(f < d for f, d in zip(fft[i:], dense[i:]))), None)
        # Asymptotic slopes: fit the upper half of the sizes, where fixed per-call costs no longer dominate.
        upper = slice(min(len(ns) // 2, len(ns) - 2), None)
        slope_fft, slope_dense = _slope(ns[upper], fft[upper]), _slope(ns[upper], dense[upper])
        slope_nlogn = _slope(ns[upper], [n * math.log(n) for n in ns[upper]])
        rows.append(
            {"case": NAME, "shape": f"n={ns[0]}..{ns[-1]}", "impl": "summary", "mode": mode, "library": True,
             "median_s": fft[-1], "min_s": fft[-1], "max_s": fft[-1], "repeats": repeats, "calls_per_repeat": 0,
             "crossover_n": crossover, "slope_fft": slope_fft, "slope_dense": slope_dense, "slope_nlogn": slope_nlogn,
             "slope_range": [ns[upper][0], ns[-1]],
             "note": f"crossover n = {crossover}; slope of log t against log n for n = {ns[upper][0]}..{ns[-1]}: "
                     f"FFT {slope_fft:.2f}, dense {slope_dense:.2f} (n log n: {slope_nlogn:.2f}, n²: 2)"}
        )
    return rows
