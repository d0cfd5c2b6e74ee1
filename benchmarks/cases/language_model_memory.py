"""Parameter memory of tied against untied language models: a tied tensor is counted and stored once."""

from __future__ import annotations

import io

import torch

from tying.layers import TinyTransformerLM

NAME = "LM parameter memory"


def _stored_bytes(model: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def run(quick: bool, device: torch.device) -> list[dict]:
    configs = [(500, 32)] if quick else [(2_000, 64), (10_000, 128), (32_000, 256)]
    rows = []
    for vocab, d in configs:
        shape = f"V={vocab}, d={d}, 2 layers"
        sizes = {}
        for tied in (True, False):
            torch.manual_seed(0)
            model = TinyTransformerLM(vocab, 64, d_model=d, n_heads=4, n_layers=2, tie_embeddings=tied, device=device)
            params = sum(p.numel() for p in model.parameters())
            unique_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
            stored = _stored_bytes(model)
            sizes[tied] = (params, stored)
            rows.append(
                {"case": NAME, "shape": shape, "impl": "tied" if tied else "untied", "mode": "memory", "library": tied,
                 # memory rows carry bytes in the timing fields so ratios read as "× the tied size"
                 "median_s": float(stored), "min_s": float(stored), "max_s": float(stored), "repeats": 1, "calls_per_repeat": 0,
                 "params": params, "memory_bytes": unique_bytes, "vocab": vocab, "d_model": d, "note": f"torch.save size {stored:,} B"}
            )
        saved = sizes[False][0] - sizes[True][0]
        if saved != vocab * d:
            raise AssertionError(f"tying should save exactly V*d = {vocab * d} parameters, saved {saved}")
    return rows
