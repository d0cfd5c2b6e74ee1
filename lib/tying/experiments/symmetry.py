"""Part II, chapter 1: translation and rotation symmetry in convolutions.

Two experiments: a numerical check that a convolution commutes with shifts
(exactly with circular padding, away from the border with zero padding), and a
rotation experiment on the scikit-learn digits, where a C4 group CNN and a
plain CNN of about the same size are trained on upright digits and tested on
rotated ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import digits, train_test_split_indices
from ..device import get_device, seed_everything
from ..layers.group_conv import GroupConv2d, LiftingConv2d, RotationPool
from ..training import accuracy, fit, progress_enabled

__all__ = [
    "translation_error_maps",
    "rotate_images",
    "make_rotation_net",
    "rotation_accuracy",
    "run_rotation_experiment",
]


def translation_error_maps(
    image: torch.Tensor,
    shift: tuple[int, int] = (2, 3),
    kernel_size: int = 5,
    channels: int = 4,
    seed: int = 0,
) -> dict:
    """Compare ``conv(shift(x))`` with ``shift(conv(x))`` for circular and zero padding.

    ``shift`` is a cyclic shift (:func:`torch.roll`) by ``(rows, cols)``; a random
    ``Conv2d`` with 'same' padding is built twice, once with ``padding_mode="circular"``
    and once with zero padding, from the same weights.

    Returns:
        ``{"image", "shift", "circular", "zeros"}`` where each padding entry is
        the per-pixel absolute difference, maximised over channels, as a
        ``(H, W)`` float64 numpy array.
    """
    if image.dim() != 2:
        raise ValueError(f"expected one (H, W) image, got {tuple(image.shape)}")
    x = image.to(torch.float64)[None, None]
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(channels, 1, kernel_size, kernel_size, generator=gen, dtype=torch.float64)
    out = {"image": image.cpu().numpy(), "shift": tuple(shift)}
    for mode in ("circular", "zeros"):
        conv = nn.Conv2d(
            1, channels, kernel_size, padding="same", padding_mode=mode, bias=False
        ).double()
        with torch.no_grad():
            conv.weight.copy_(weight)
            a = conv(torch.roll(x, shift, dims=(-2, -1)))
            b = torch.roll(conv(x), shift, dims=(-2, -1))
        out[mode] = (a - b).abs().amax(dim=1)[0].numpy()
    return out


def rotate_images(images: torch.Tensor, angle: float) -> torch.Tensor:
    """Rotate a batch ``(N, C, H, W)`` counter-clockwise by ``angle`` degrees about its centre.

    Multiples of 90° use :func:`torch.rot90`, which is exact; other angles use
    bilinear interpolation (``grid_sample``) with zeros outside the frame, which
    blurs an 8x8 digit a little.  The direction matches ``torch.rot90(x, 1)``.
    """
    if images.dim() != 4:
        raise ValueError(f"rotate_images expects (N, C, H, W), got {tuple(images.shape)}")
    angle = float(angle) % 360.0
    if math.isclose(angle % 90.0, 0.0, abs_tol=1e-9) or math.isclose(angle % 90.0, 90.0):
        return torch.rot90(images, round(angle / 90.0) % 4, dims=(-2, -1))
    theta = math.radians(angle)
    c, s = math.cos(theta), math.sin(theta)
    # affine_grid maps output coordinates (x right, y down) to input coordinates;
    # this matrix makes the result agree with rot90's direction.
    matrix = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=images.dtype, device=images.device)
    grid = F.affine_grid(matrix.expand(len(images), 2, 3), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def make_rotation_net(
    kind: str,
    channels: int = 16,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """A plain CNN (``kind="plain"``) or a C4 group CNN (``kind="c4"``) for 8x8 digits.

    Both: two 3x3 layers with 2x2 max-pooling between them, global average
    pooling and a linear read-out.  The plain network has ``channels`` and
    ``2 * channels`` feature maps (it is the tied network of Part I, chapter 1).
    The group network has ``channels // 2`` and ``channels`` channels, each with
    four orientations, which gives it about the same number of parameters
    (a C4 -> C4 filter has four times the entries of a plain one); a
    max over the orientations before the read-out makes it rotation-invariant.
    """
    factory = {"device": device, "dtype": dtype}
    if kind == "plain":
        return nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1, **factory),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1, **factory),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(2 * channels, 10, **factory),
        )
    if kind == "c4":
        if channels % 2:
            raise ValueError(f"channels must be even for the C4 network, got {channels}")
        half = channels // 2
        return nn.Sequential(
            LiftingConv2d(1, half, 3, **factory),
            nn.ReLU(),
            # (N, C, 4, 8, 8) -> (N, C, 4, 4, 4): 2x2 blocks of an even grid rotate onto blocks.
            nn.MaxPool3d(kernel_size=(1, 2, 2)),
            GroupConv2d(half, channels, 3, **factory),
            nn.ReLU(),
            RotationPool("max"),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, 10, **factory),
        )
    raise ValueError(f"kind must be 'plain' or 'c4', got {kind!r}")


@torch.no_grad()
def rotation_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, angles: Sequence[float]
) -> np.ndarray:
    """Accuracy of ``model`` on ``images`` rotated by each angle (degrees)."""
    return np.array([accuracy(model, rotate_images(images, a), labels) for a in angles])


def run_rotation_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    angles: Sequence[float] = tuple(range(0, 360, 15)),
    *,
    channels: int = 16,
    steps: int = 300,
    batch_size: int = 256,
    lr: float = 1e-2,
    n_examples: int = 6,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train a plain and a C4 CNN on upright digits; test them on rotated test digits.

    For every seed the digits are split 70/30 (stratified, as in Part I); both
    models are trained with Adam on all upright training images (the same
    minibatches for both) and evaluated on the test images rotated by every
    angle in ``angles``.  ``angles`` must contain 0, 90, 180 and 270.

    Returns:
        ``{"angles", "seeds", "seconds", "examples", "plain": {...}, "c4": {...}}``
        where each model entry holds ``params`` (int), ``accuracy``
        (``(len(seeds), len(angles))``), ``train_accuracy`` (``(len(seeds),)``)
        and ``predictions`` (``(len(angles), n_examples)``, first seed) for the
        example images ``examples`` (``(n_examples, 8, 8)`` test images with
        their ``example_labels``; ``rotated_examples`` holds them at every angle,
        ``(len(angles), n_examples, 8, 8)``).
    """
    angles = [float(a) for a in angles]
    if not {0.0, 90.0, 180.0, 270.0} <= set(angles):
        raise ValueError("angles must include 0, 90, 180 and 270")
    device = get_device(device)
    images, labels = digits(device=device)
    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(seeds), desc="training runs")
    start = time.perf_counter()
    results: dict = {"angles": angles, "seeds": list(seeds)}
    for kind in ("plain", "c4"):
        results[kind] = {
            "params": sum(p.numel() for p in make_rotation_net(kind, channels).parameters()),
            "accuracy": np.zeros((len(seeds), len(angles))),
            "train_accuracy": np.zeros(len(seeds)),
        }
    for s, seed in enumerate(seeds):
        train_idx, test_idx = train_test_split_indices(labels, test_fraction=0.3, seed=seed)
        x_train, y_train = images[train_idx], labels[train_idx]
        x_test, y_test = images[test_idx], labels[test_idx]
        if s == 0:
            examples = x_test[:n_examples]
            results["examples"] = examples[:, 0].cpu().numpy()
            results["example_labels"] = y_test[:n_examples].cpu().numpy()
            results["rotated_examples"] = np.stack(
                [rotate_images(examples, a)[:, 0].cpu().numpy() for a in angles]
            )
        for kind in ("plain", "c4"):
            seed_everything(seed)
            model = make_rotation_net(kind, channels, device=device)
            fit(
                model,
                x_train,
                y_train,
                steps=steps,
                lr=lr,
                batch_size=batch_size,
                generator=torch.Generator().manual_seed(seed),
                progress=False,
            )
            entry = results[kind]
            entry["train_accuracy"][s] = accuracy(model, x_train, y_train)
            entry["accuracy"][s] = rotation_accuracy(model, x_test, y_test, angles)
            if s == 0:
                with torch.no_grad():
                    entry["predictions"] = np.stack(
                        [model(rotate_images(examples, a)).argmax(-1).cpu().numpy() for a in angles]
                    )
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results
