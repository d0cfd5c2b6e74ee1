"""conv2d_as_matrix: build time and memory (nnz) of the doubly block Toeplitz matrix, and its sparse product against F.conv2d.

Forward: the prebuilt matrix times the flattened batch.  Forward+backward: one
training step through the matrix (rebuild it from the kernel, multiply,
backpropagate to kernel and input) against the same step with F.conv2d.
"""

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
        build_row = {"case": NAME, "shape": shape, "impl": "build (CSR)", "mode": "build", "library": True, **build.as_dict(),
                     "nnz": nnz, "memory_bytes": memory, "dense_bytes": dense_bytes, "note": f"dense equivalent {dense_bytes / 1e6:.1f} MB"}
        rows.append(build_row)
        flat = x.reshape(batch, -1).T.contiguous()
        sparse_product = time_call(lambda: matrix @ flat, device=device, repeats=repeats)
        conv = time_call(lambda: F.conv2d(x, weight), device=device, repeats=repeats)
        rows.append({"case": NAME, "shape": shape, "impl": "sparse matmul", "mode": "forward", "library": True, **sparse_product.as_dict(), "nnz": nnz})
        rows.append({"case": NAME, "shape": shape, "impl": "F.conv2d", "mode": "forward", "library": False, **conv.as_dict()})

        # Training through the matrix: rebuild it from the kernel, multiply, and backpropagate
        # to both the kernel and the input, against the same step done by F.conv2d.  Autograd
        # forms the gradient of a sparse product with respect to the matrix densely, so the
        # step is only timed where that dense gradient fits in 1 GiB.
        if dense_bytes > 1 << 30:
            build_row["note"] += f"; training step not timed: its backward forms the dense {dense_bytes / 1e9:.1f} GB gradient of the matrix"
            continue
        w_train = weight.clone().requires_grad_()
        x_train = x.clone().requires_grad_()

        def matrix_step():
            w_train.grad = x_train.grad = None
            product = conv2d_as_matrix(w_train, hw, layout=torch.sparse_csr) @ x_train.reshape(batch, -1).T
            product.sum().backward()

        def conv_step():
            w_train.grad = x_train.grad = None
            F.conv2d(x_train, w_train).sum().backward()

        matrix_step()
        grads = (w_train.grad.clone(), x_train.grad.clone())
        conv_step()
        torch.testing.assert_close(grads, (w_train.grad, x_train.grad), rtol=1e-4, atol=1e-3)
        step = time_call(matrix_step, device=device, repeats=repeats)
        rows.append({"case": NAME, "shape": shape, "impl": "build + sparse matmul", "mode": "forward+backward", "library": True, **step.as_dict(), "nnz": nnz})
        conv_train = time_call(conv_step, device=device, repeats=repeats)
        rows.append({"case": NAME, "shape": shape, "impl": "F.conv2d", "mode": "forward+backward", "library": False, **conv_train.as_dict()})
    return rows
