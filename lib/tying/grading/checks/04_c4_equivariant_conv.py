"""A rotation-equivariant convolution by tying.

Checks of ``solutions/04_c4_equivariant_conv.ipynb``: the bank of four rotated
copies of every filter (values, and gradients that reach the one filter), the
lifting convolution ``(N, C_in, H, W) -> (N, C_out, 4, H, W)``, the action of a
rotation on such feature maps and an equivariance test, parameter counts against
four independent filters, and a rotation-invariant pooling.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tying.grading import (
    Question,
    as_integer,
    attribute,
    build_module,
    case,
    check,
    expect_close,
    expect_integer,
    expect_scalar,
    expect_shape,
    fail,
)
from tying.layers import LiftingConv2d, rotate_c4

TITLE = "A rotation-equivariant convolution by tying"

QUESTIONS = {
    "q1": Question(
        "Four rotated copies of one filter",
        "torch.rot90(weight, r, dims=(-2, -1)) rotates every k x k filter by r * 90 degrees. Stack "
        "the four rotations r = 0, 1, 2, 3 along a new axis 1 (torch.stack(..., dim=1)). Do not "
        "copy values into a new Parameter: the bank must be computed from weight, so that "
        "gradients flow back to it.",
    ),
    "q2": Question(
        "The lifting convolution",
        "rotated_filters(self.weight) has shape (C_out, 4, C_in, k, k); flatten its first two axes "
        "into C_out * 4 filters, run F.conv2d(x, bank, padding=self.padding), reshape the result "
        "(N, C_out * 4, H, W) to (N, C_out, 4, H, W) with .unflatten(1, (C_out, 4)), and add "
        "self.bias[:, None, None, None] (one bias per channel, shared by its four orientations).",
    ),
    "q3": Question(
        "Rotating feature maps, and testing equivariance",
        "Rotate the spatial axes with torch.rot90(y, k, dims=(-2, -1)) and shift the orientation "
        "axis with torch.roll(..., shifts=k, dims=2): after the input turns by 90 degrees, the "
        "response that orientation r - 1 gave now comes from orientation r. The error compares "
        "layer(torch.rot90(x, k, dims=(-2, -1))) with rotate_features(layer(x), k); return the "
        "largest absolute difference as a float.",
    ),
    "q4": Question(
        "Parameter counts, tied and untied",
        "The lifting layer learns C_out filters of C_in x k x k weights and C_out biases; the four "
        "rotated copies cost nothing. Four independent filters per channel are an ordinary "
        "convolution with 4 * C_out output channels, each with its own weights and bias.",
    ),
    "q5": Question(
        "A rotation-invariant summary",
        "First y.amax(dim=2) (the largest response over the four orientations), which leaves "
        "(N, C, H, W) maps that simply rotate with the input; then .mean(dim=(-2, -1)), which no "
        "rotation of the maps can change.",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _reference_bank(weight: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.rot90(weight, r, dims=(-2, -1)) for r in range(4)], dim=1)


def _reference_lifting(x, weight, bias, padding):
    maps = [F.conv2d(x, torch.rot90(weight, r, dims=(-2, -1)), padding=padding) for r in range(4)]
    return torch.stack(maps, dim=2) + bias[:, None, None, None]


@check("q1", points=1, timeout=5)
def filter_bank_values(answers):
    bank = answers.function("rotated_filters")
    for seed, shape in [(1, (6, 2, 3, 3)), (2, (1, 1, 5, 5)), (3, (2, 3, 4, 4))]:
        weight = torch.randn(shape, generator=_g(seed), dtype=torch.float64)
        with case(f"weight of shape {shape}"):
            got = bank(weight.clone())
            expect_close(
                got,
                _reference_bank(weight),
                name="rotated_filters(weight)",
                atol=1e-12,
                dtype=torch.float64,
            )


@check("q1", points=1, timeout=5)
def filter_bank_is_tied(answers):
    bank = answers.function("rotated_filters")
    weight = torch.randn(3, 2, 3, 3, generator=_g(4), dtype=torch.float64, requires_grad=True)
    got = bank(weight)
    expect_shape(got, (3, 4, 2, 3, 3), name="rotated_filters(weight)")
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        fail(
            "`rotated_filters(weight)` is not connected to weight by autograd: the four copies "
            "must be computed from weight (rot90 and stack), not copied out of it"
        )
    G = torch.randn(got.shape, generator=_g(5), dtype=torch.float64)
    (grad,) = torch.autograd.grad((got * G.to(got.dtype)).sum(), weight, allow_unused=True)
    if grad is None:
        fail("no gradient reaches `weight` from `rotated_filters(weight)`")
    reference = weight.detach().clone().requires_grad_(True)
    (expected,) = torch.autograd.grad((_reference_bank(reference) * G).sum(), reference)
    # One filter, four uses: its gradient is the sum of the four (rotated back) gradients.
    expect_close(
        grad, expected, name="the gradient of <bank, G> with respect to weight", atol=1e-10
    )


def _randomised_lifting(answers, c_in: int, c_out: int, k: int, seed: int):
    """The reader's LiftingConv, copied, with new random weights; and those weights."""
    label = f"LiftingConv({c_in}, {c_out}, {k})"
    model = copy.deepcopy(build_module(answers, "LiftingConv", c_in, c_out, k))
    weight = attribute(model, "weight", name=label)
    bias = attribute(model, "bias", name=label)
    g = _g(seed)
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=g))
        bias.copy_(torch.randn(bias.shape, generator=g))
    return label, model, weight, bias


@check("q2", points=1, timeout=5)
def lifting_output_shape(answers):
    label = "LiftingConv(2, 3, 3)"
    model = build_module(answers, "LiftingConv", 2, 3, 3)
    device = attribute(model, "weight", name=label).device
    x = torch.randn(2, 2, 7, 7, generator=_g(10)).to(device)
    with torch.no_grad():
        y = answers.run(model, x, what=f"{label}(x)")
    expect_shape(y, (2, 3, 4, 7, 7), name=f"{label}(x) for x of shape (2, 2, 7, 7)")


@check("q2", points=1, timeout=5)
def lifting_output_values(answers):
    for c_in, c_out, k, seed in [(2, 3, 3, 11), (1, 2, 5, 12)]:
        label, model, weight, bias = _randomised_lifting(answers, c_in, c_out, k, seed)
        x = torch.randn(2, c_in, 8, 8, generator=_g(seed + 100)).to(weight.device)
        with torch.no_grad():
            expected = _reference_lifting(x, weight, bias, k // 2)
            got = answers.run(model, x, what=f"{label}(x)")
        expect_close(got, expected, name=f"{label}(x) for x of shape {tuple(x.shape)}", atol=1e-4)


@check("q3", points=1, timeout=5)
def rotate_features_values(answers):
    rotate = answers.function("rotate_features")
    y = torch.randn(2, 3, 4, 5, 5, generator=_g(20), dtype=torch.float64)
    for k in range(4):
        with case(f"k = {k}"):
            got = rotate(y.clone(), k)
            expect_close(got, rotate_c4(y, k), name=f"rotate_features(y, {k})", atol=1e-12)


class _UntiedRotations(nn.Module):
    """Not equivariant: the four orientations use the same filter, never rotated."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight, padding=self.weight.shape[-1] // 2)
        return out.unsqueeze(2).expand(-1, -1, 4, -1, -1)


@check("q3", points=1, timeout=10)
def equivariance_error_values(answers):
    error = answers.function("equivariance_error")
    x = torch.randn(2, 1, 9, 9, generator=_g(21), dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(22)
        lifting = LiftingConv2d(1, 3, kernel_size=3, dtype=torch.float64)
    for k in (1, 2, 3):
        with case(f"an equivariant lifting layer, k = {k}"):
            got = error(lifting, x.clone(), k)
            expect_scalar(got, 0.0, name="equivariance_error", atol=1e-9, rtol=0)
    broken = _UntiedRotations(torch.randn(3, 1, 3, 3, generator=_g(23), dtype=torch.float64))
    for k in (1, 2):
        with torch.no_grad():
            expected = (
                (broken(torch.rot90(x, k, dims=(-2, -1))) - rotate_c4(broken(x), k))
                .abs()
                .max()
                .item()
            )
        with case(f"a layer whose four copies are not rotated, k = {k}"):
            got = error(broken, x.clone(), k)
            expect_scalar(got, expected, name="equivariance_error", atol=1e-9)


@check("q4", points=1, timeout=5)
def tied_count(answers):
    n_tied = as_integer(answers.get("n_tied"), name="n_tied")
    if n_tied == 16 * 3 * 5 * 5:
        fail("`n_tied` counts the filters but not the 16 biases")
    if n_tied == 4 * (16 * 3 * 5 * 5 + 16):
        fail("`n_tied` counts the four rotated copies as if they were learned separately")
    expect_integer(n_tied, 16 * (3 * 5 * 5 + 1), name="n_tied", what="count")


@check("q4", points=1, timeout=5)
def untied_count(answers):
    n_untied = as_integer(answers.get("n_untied"), name="n_untied")
    if n_untied == 64 * 3 * 5 * 5:
        fail("`n_untied` counts the filters but not the 64 biases")
    expect_integer(n_untied, 64 * (3 * 5 * 5 + 1), name="n_untied", what="count")


@check("q5", points=1, timeout=5)
def invariant_features_values(answers):
    pool = answers.function("invariant_features")
    y = torch.randn(2, 3, 4, 6, 6, generator=_g(30), dtype=torch.float64)
    expected = y.amax(dim=2).mean(dim=(-2, -1))
    expect_close(pool(y.clone()), expected, name="invariant_features(y)", atol=1e-10)


@check("q5", points=1, timeout=10)
def invariant_end_to_end(answers):
    pool = answers.function("invariant_features")
    label, model, weight, _ = _randomised_lifting(answers, 1, 4, 3, 31)
    x = torch.randn(3, 1, 10, 10, generator=_g(32)).to(weight.device)
    with torch.no_grad():
        reference = pool(answers.run(model, x, what=f"{label}(x)"))
        expect_shape(reference, (3, 4), name=f"invariant_features({label}(x))")
        for k in (1, 2, 3):
            turned = torch.rot90(x, k, dims=(-2, -1))
            with case(f"input rotated by {90 * k} degrees"):
                got = pool(answers.run(model, turned, what=f"{label}(x rotated)"))
                expect_close(
                    got, reference, name=f"invariant_features({label}(x rotated))", atol=1e-4
                )
