"""LocallyConnected2d (vectorised) against a naive loop, a dense masked matrix and nn.Conv2d.

The dense masked-matrix baseline is the approach of Keras' ``LocallyConnected2D``
with ``implementation=2``: materialise the whole (inputs x outputs) weight
matrix, zero outside each unit's receptive field, and do one dense matmul.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from tying.layers import LocallyConnected2d, locally_connected2d_loop

from ..harness import MODES, time_mode

NAME = "LocallyConnected2d"


class DenseMaskedLocallyConnected2d(nn.Module):
    """Untied local layer as one dense (C_out·H_out·W_out) x (C_in·H·W) matrix with a fixed mask."""

    def __init__(self, local: LocallyConnected2d) -> None:
        super().__init__()
        c_in, (h, w) = local.in_channels, local.in_size
        eye = torch.eye(c_in * h * w, device=local.weight.device, dtype=local.weight.dtype).reshape(-1, c_in, h, w)
        with torch.no_grad():
            # Column j of the matrix is the response to the j-th unit input: build it by running the layer.
            dense = local(eye).reshape(c_in * h * w, -1).T.contiguous()
            if local.bias is not None:
                dense -= local.bias.reshape(-1, 1)
        self.mask = (dense != 0).to(dense.dtype)
        self.weight = nn.Parameter(dense)
        self.bias = nn.Parameter(local.bias.detach().reshape(-1).clone()) if local.bias is not None else None
        self.out_shape = (local.out_channels, *local.out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.linear(x.flatten(1), self.weight * self.mask, self.bias)
        return y.reshape(x.shape[0], *self.out_shape)


def unfold_bmm(local: LocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
    """The obvious vectorisation: ``F.unfold`` patches, transposed to the batched layout, one ``bmm``.

    Kept as a baseline because it is what most people write first: the
    transpose of the ``(N, C_in·kH·kW, L)`` patches makes it slower than the
    library's gather, which produces the batched layout directly.
    """
    h_out, w_out = local.out_size
    patches = F.unfold(x, local.kernel_size, dilation=local.dilation, padding=local.padding, stride=local.stride)
    kernels = local.weight.reshape(h_out * w_out, local.out_channels, -1)
    out = torch.bmm(kernels, patches.permute(2, 1, 0)).permute(2, 1, 0)
    out = out.reshape(x.shape[0], local.out_channels, h_out, w_out)
    return out + local.bias if local.bias is not None else out


def naive(local: LocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
    return locally_connected2d_loop(x, local.weight, local.bias, local.stride, local.padding, local.dilation)


def _bytes(local: LocallyConnected2d, batch: int) -> int:
    """Minimum traffic of one forward pass: weights and bias read once, input read, output written."""
    elem = local.weight.element_size()
    n_in = batch * local.in_channels * local.in_size[0] * local.in_size[1]
    n_out = batch * local.out_channels * local.out_size[0] * local.out_size[1]
    n_params = sum(p.numel() for p in local.parameters())
    return (n_params + n_in + n_out) * elem


def run(quick: bool, device: torch.device) -> list[dict]:
    sizes = [(4, 8, 8, 3, 2)] if quick else [(16, 16, 16, 3, 8), (32, 16, 32, 3, 8), (64, 32, 32, 3, 4)]
    repeats = 1 if quick else 5
    rows = []
    for c, c_out, hw, k, batch in sizes:
        torch.manual_seed(0)
        local = LocallyConnected2d(c, c_out, k, in_size=hw, padding=k // 2, device=device)
        conv = nn.Conv2d(c, c_out, k, padding=k // 2, device=device)
        x = torch.randn(batch, c, hw, hw, device=device)
        impls = {
            "vectorised": local,
            "naive loop": functools.partial(naive, local),
            "unfold + bmm": functools.partial(unfold_bmm, local),
            "Conv2d (tied)": conv,
        }
        dense_params = (c_out * hw * hw) * (c * hw * hw)
        if dense_params * 4 <= 512 * (1 << 20):  # the dense matrix must fit in 512 MB
            impls["dense masked matrix"] = DenseMaskedLocallyConnected2d(local)
        shape = f"N={batch}, C={c}->{c_out}, {hw}x{hw}, k={k}"
        with torch.no_grad():
            expected = local(x)
            for impl, fn in impls.items():
                if impl != "Conv2d (tied)":  # every other implementation computes the same layer
                    torch.testing.assert_close(fn(x), expected, rtol=1e-4, atol=1e-4, msg=f"{impl} disagrees with the library")
        for impl, fn in impls.items():
            for mode in MODES:
                if impl == "naive loop" and not quick and hw >= 32 and mode == "forward+backward":
                    reps = 1  # seconds per call: one repeat is enough to show the gap
                else:
                    reps = repeats
                timing = time_mode(fn, x, mode, device=device, repeats=reps)
                row = {"case": NAME, "shape": shape, "impl": impl, "mode": mode, "library": impl == "vectorised", **timing.as_dict()}
                if impl == "vectorised" and mode == "forward":
                    row["bytes"] = _bytes(local, batch)
                    row["bytes_per_s"] = row["bytes"] / timing.median_s
                if impl == "Conv2d (tied)":
                    row["same_layer"] = False
                    row["params"] = sum(p.numel() for p in conv.parameters())
                elif impl == "vectorised":
                    row["params"] = sum(p.numel() for p in local.parameters())
                elif impl == "dense masked matrix":
                    row["params"] = dense_params + c_out * hw * hw
                rows.append(row)
    return rows
