"""HashedLinear against a dense layer with the same number of free parameters, and against the full dense layer."""

from __future__ import annotations

import torch
from torch import nn

from tying.layers import HashedLinear

from ..harness import MODES, time_mode

NAME = "HashedLinear"


def run(quick: bool, device: torch.device) -> list[dict]:
    configs = [(64, 128, 8)] if quick else [(784, 1000, 8), (784, 1000, 64), (2048, 2048, 16)]
    batch = 8 if quick else 64
    repeats = 1 if quick else 5
    rows = []
    for n_in, n_out, factor in configs:
        torch.manual_seed(0)
        buckets = n_in * n_out // factor
        hashed = HashedLinear(n_in, n_out, buckets, device=device)
        width = max(1, buckets // n_in)  # a dense layer storing about as many weights
        same_budget = nn.Linear(n_in, width, device=device)
        full = nn.Linear(n_in, n_out, device=device)
        x = torch.randn(batch, n_in, device=device)
        shape = f"{n_in}->{n_out}, 1/{factor}, batch={batch}"
        layers = (
            ("hashed (virtual width)", hashed, True, f"width {n_out}"),
            ("dense, same budget", same_budget, False, f"width {width}"),
            ("dense, full width", full, False, f"width {n_out}"),
        )
        for impl, layer, library, note in layers:
            for mode in MODES:
                timing = time_mode(layer, x, mode, device=device, repeats=repeats)
                params = sum(p.numel() for p in layer.parameters())
                rows.append({"case": NAME, "shape": shape, "impl": impl, "mode": mode, "library": library, "params": params, "note": note, **timing.as_dict()})
    return rows
