"""Offline data sets: nothing here touches the network.

Every loader returns tensors on the requested device, so a notebook can write
``X, y = digits(device=device)`` and go.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import torch

__all__ = ["digits", "python_help_text", "shift_images", "train_test_split_indices"]

PYTHON_HELP_CHARS = 464_970


def digits(
    device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scikit-learn handwritten digits (bundled with scikit-learn, no download).

    1,797 grey-scale images of 8x8 pixels from UCI's optical digits set, ten
    classes.  Pixel values (0 to 16) are scaled to ``[0, 1]``.

    Returns:
        ``images`` of shape ``(1797, 1, 8, 8)`` and ``labels`` of shape
        ``(1797,)`` (int64), on ``device``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images / 16.0, dtype=dtype, device=device).unsqueeze(1)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64, device=device)
    return images, labels


def shift_images(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Translate a batch ``(N, C, H, W)`` by ``dy`` rows and ``dx`` columns, filling with zeros.

    Positive ``dy`` moves content down, positive ``dx`` moves it right.  Unlike
    :func:`torch.roll`, nothing wraps around: what leaves the frame is lost,
    as it would be for a camera that moved.
    """
    if images.dim() != 4:
        raise ValueError(f"shift_images expects (N, C, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return torch.zeros_like(images)
    out = torch.zeros_like(images)
    src_rows = slice(max(0, -dy), h - max(0, dy))
    dst_rows = slice(max(0, dy), h - max(0, -dy))
    src_cols = slice(max(0, -dx), w - max(0, dx))
    dst_cols = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_rows, dst_cols] = images[..., src_rows, src_cols]
    return out


def train_test_split_indices(
    labels: torch.Tensor, test_fraction: float = 0.3, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A stratified split: every class keeps its share in both halves.

    Returns index tensors ``(train_idx, test_idx)`` on the labels' device;
    the training indices are shuffled so that any prefix is itself a
    roughly class-balanced subset (handy for learning curves).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    y = labels.detach().cpu().numpy()
    train, test = [], []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test = int(round(test_fraction * len(idx)))
        test.extend(idx[:n_test])
        train.append(idx[n_test:])
    # Interleave classes so that prefixes of the training order stay balanced.
    longest = max(len(t) for t in train)
    order = [t[i] for i in range(longest) for t in train if i < len(t)]
    train_idx = torch.as_tensor(np.array(order), device=labels.device)
    test_idx = torch.as_tensor(rng.permutation(np.array(test)), device=labels.device)
    return train_idx, test_idx


def python_help_text(n_chars: int | None = None) -> str:
    """The book's English text corpus: Python's own help pages, frozen at 3.11.7.

    CPython ships the text that ``help("if")`` prints as
    ``pydoc_data.topics.topics``.  Its content changes with every release, so
    ``tying`` ships one frozen copy (464,970 characters, the topics joined in
    sorted key order; PSF licence, see ``tying/corpora/README.md``).  The
    result is the same on every Python version and needs no network.

    Args:
        n_chars: keep only the first ``n_chars`` characters (``None``: all).

    Example:
        >>> text = python_help_text()
        >>> len(text)
        464970
    """
    if n_chars is not None and (isinstance(n_chars, bool) or not isinstance(n_chars, int)):
        raise TypeError(f"n_chars must be an int or None, got {n_chars!r}")
    if n_chars is not None and n_chars < 0:
        raise ValueError(f"n_chars must be >= 0, got {n_chars}")
    raw = resources.files("tying").joinpath("corpora/python_help_3.11.7.txt").read_bytes()
    text = raw.decode("utf-8")
    return text if n_chars is None else text[:n_chars]
