"""Shared input checks, so every layer in the book fails the same, readable way."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["format_shape", "check_tensor", "check_trailing_shape"]


def format_shape(dims: Sequence[object]) -> str:
    """``(N, 3, 32, 32)`` for ``["N", 3, 32, 32]``."""
    return "(" + ", ".join(str(d) for d in dims) + ")"


def check_tensor(x: object, name: str = "input") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_trailing_shape(
    x: torch.Tensor,
    expected: Sequence[int | None],
    *,
    layer: str,
    batch_optional: bool = True,
    symbols: Sequence[str] | None = None,
) -> bool:
    """Check that ``x`` has shape ``(N, *expected)`` (or ``expected`` when unbatched).

    ``None`` in ``expected`` accepts any size at that position; ``symbols`` gives
    the names printed for those free positions.  Returns ``True`` when the input
    was unbatched, so the caller can add and later remove the batch dimension.

    Raises:
        ValueError: naming the shape the layer expected and the one it got.
    """
    check_tensor(x)
    names = list(symbols) if symbols is not None else ["*"] * len(expected)
    shown = [n if e is None else e for e, n in zip(expected, names)]
    wanted = format_shape(["N", *shown])
    if batch_optional:
        wanted += f" or {format_shape(shown)}"

    k = len(expected)
    if x.dim() == k + 1:
        unbatched = False
    elif batch_optional and x.dim() == k:
        unbatched = True
    else:
        raise ValueError(f"{layer} expected input of shape {wanted}, got {format_shape(x.shape)}")
    tail = x.shape[-k:] if k else ()
    for got, want in zip(tail, expected):
        if want is not None and got != want:
            raise ValueError(
                f"{layer} expected input of shape {wanted}, got {format_shape(x.shape)}"
            )
    return unbatched
