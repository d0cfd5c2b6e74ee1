"""conv2d_as_matrix: build time and memory (nnz) of the doubly block Toeplitz matrix, and its sparse product against F.conv2d."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tying.layers import conv2d_as_matrix

from ..harness import time_call

NAME = "conv2d_as_matrix"


def run(quick: bool, device: torch.device) -> list[dict]:
    if device.type == "mps":  # no sparse products on MPS
        device = torch.device("cpu")
    sizes = [(2, 4, 8, 3, 2)] if quick else [(3, 8, 32, 5, 8), (16, 16, 32, 3, 8), (16, 32, 64, 3, 4)]
    repeats = 1 if quick else 5
    rows = []
    for c_in, c_out, hw, k, batch in sizes:
        torch.manual_seed(0)
        weight = torch.randn(c_out, c_in, k, k, device=device)
        x = torch.randn(batch, c_in, hw, hw, device=device)
        shape = f"N={batch}, C={c_in}->{c_out}, {hw}x{hw}, k={k}"
        build = time_call(lambda: conv2d_as_matrix(weight, hw, layout=torch.sparse_csr), device=device, repeats=repeats)
        matrix = conv2d_as_matrix(weight, hw, layout=torch.sparse_csr)
        nnz = int(matrix.values().numel())
        memory = sum(t.numel() * t.element_size() for t in (matrix.values(), matrix.col_indices(), matrix.crow_indices()))
        dense_bytes = matrix.shape[0] * matrix.shape[1] * 4
        rows.append(
            {"case": NAME, "shape": shape, "impl": "build (CSR)", "mode": "build", **build.as_dict(), "nnz": nnz,
             "memory_bytes": memory, "note": f"dense equivalent {dense_bytes / 1e6:.1f} MB"}
        )
        flat = x.reshape(batch, -1).T.contiguous()
        sparse_product = time_call(lambda: matrix @ flat, device=device, repeats=repeats)
        conv = time_call(lambda: F.conv2d(x, weight), device=device, repeats=repeats)
        rows.append({"case": NAME, "shape": shape, "impl": "sparse matmul", "mode": "forward", "library": True, **sparse_product.as_dict(), "nnz": nnz})
        rows.append({"case": NAME, "shape": shape, "impl": "F.conv2d", "mode": "forward", **conv.as_dict()})
        for row in rows[-3:]:
            row.setdefault("library", row["impl"] != "F.conv2d")
    return rows
