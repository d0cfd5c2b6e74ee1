r"""Soft tying: a penalty that pulls a group of parameters towards each other.

Hard tying makes parameters *equal*.  Soft tying leaves them free and adds

.. math::
    \Omega(\theta_1, \dots, \theta_k) = \lambda \sum_{i<j} \lVert \theta_i - \theta_j \rVert^2

to the loss, so that they are only *encouraged* to agree; :math:`\lambda = 0`
is no tying and :math:`\lambda \to \infty` is hard tying.  Read as a prior,
the penalty is a Gaussian on every difference :math:`\theta_i - \theta_j` with
variance :math:`1/(2\lambda)` (Part I, section 5).  A :class:`Schedule` makes
:math:`\lambda` depend on the step, which is how a curriculum on the tie is
written (Part I, section 8).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .schedules import ConstantSchedule, Schedule

__all__ = ["SoftTie", "soft_tie_penalty", "soft_tie_gradient", "REDUCTIONS"]

#: ``"pairs"``: sum over all pairs; ``"mean"``: sum of squared distances to the group mean.
REDUCTIONS = ("pairs", "mean")


def _check_group(params: Sequence[torch.Tensor]) -> None:
    if len(params) < 2:
        raise ValueError(f"a tie needs at least two tensors, got {len(params)}")
    shape = params[0].shape
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor) or not p.is_floating_point():
            raise TypeError(f"tensor {i} of the group is not a floating-point tensor")
        if p.shape != shape:
            raise ValueError(
                f"all tied tensors must have the same shape; tensor 0 has {tuple(shape)}, "
                f"tensor {i} has {tuple(p.shape)}"
            )


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def soft_tie_penalty(
    params: Sequence[torch.Tensor],
    strength: float | torch.Tensor = 1.0,
    reduction: str = "pairs",
) -> torch.Tensor:
    r"""The soft-tying penalty of a group of equally shaped tensors.

    .. math::
        \text{pairs:}\quad \lambda \sum_{i<j} \lVert \theta_i - \theta_j \rVert^2
        = \lambda\, k \sum_{i=1}^{k} \lVert \theta_i - \bar\theta \rVert^2, \qquad
        \text{mean:}\quad \lambda \sum_{i=1}^{k} \lVert \theta_i - \bar\theta \rVert^2,

    with :math:`\bar\theta = \frac1k \sum_i \theta_i`.  The identity on the left
    lets both be computed in :math:`O(k)` rather than :math:`O(k^2)`; for two
    tensors ``"pairs"`` is :math:`\lambda\lVert\theta_1 - \theta_2\rVert^2` and
    ``"mean"`` half of it.

    Args:
        params: :math:`k \ge 2` tensors of one shape.
        strength: :math:`\lambda \ge 0`, a number or a tensor that broadcasts
            against the tensors' shape (one strength per element, e.g. to run
            several strengths in one batch).
        reduction: ``"pairs"`` (default) or ``"mean"``.

    Returns:
        A scalar tensor.

    Example:
        >>> a, b = torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.0])
        >>> soft_tie_penalty([a, b], strength=0.5)
        tensor(2.)
    """
    params = list(params)
    _check_group(params)
    _check_reduction(reduction)
    stacked = torch.stack(params)
    squared = (stacked - stacked.mean(dim=0)).pow(2).sum(dim=0)
    if reduction == "pairs":
        squared = squared * len(params)
    return (strength * squared).sum()


def soft_tie_gradient(
    params: Sequence[torch.Tensor],
    strength: float | torch.Tensor = 1.0,
    reduction: str = "pairs",
) -> list[torch.Tensor]:
    r"""Closed-form gradient of :func:`soft_tie_penalty` with respect to each tensor.

    .. math::
        \frac{\partial \Omega}{\partial \theta_i} = 2\lambda\, c\,(\theta_i - \bar\theta),
        \qquad c = k \text{ (pairs)}, \quad c = 1 \text{ (mean)}:

    every parameter is pulled straight towards the group mean, harder the
    further it has strayed.  The tests compare this with autograd.
    """
    params = list(params)
    _check_group(params)
    _check_reduction(reduction)
    scale = 2.0 * (len(params) if reduction == "pairs" else 1.0)
    mean = torch.stack(params).mean(dim=0)
    return [scale * strength * (p - mean) for p in params]


class SoftTie(nn.Module):
    r"""A group of parameters softly tied together, with a strength that may follow a schedule.

    Calling the module returns the penalty to add to the loss,

    .. math::
        \Omega_t = \lambda(t) \sum_{i<j} \lVert \theta_i - \theta_j \rVert^2
        \quad(\texttt{reduction="pairs"}), \qquad
        \Omega_t = \lambda(t) \sum_i \lVert \theta_i - \bar\theta \rVert^2
        \quad(\texttt{reduction="mean"}),

    where :math:`t` is the module's step counter, advanced by :meth:`step`
    (once per optimiser step, like a learning-rate scheduler).  The two
    reductions differ by the factor :math:`k`, the size of the group.

    The tensors are *references*: pass the parameters of other modules and
    the penalty acts on them directly, nothing is copied.  They are kept in an
    :class:`~torch.nn.ParameterList`, so if the ``SoftTie`` is itself a
    submodule of the model that owns them, ``model.parameters()`` still yields
    each of them once (PyTorch removes duplicates), while ``state_dict`` lists
    them under both names.  The step counter is saved in ``state_dict`` too, so
    a curriculum resumes where it stopped.

    Args:
        params: :math:`k \ge 2` parameters of one shape.
        strength: :math:`\lambda`, a non-negative number or a :class:`Schedule`.
        reduction: ``"pairs"`` (default) or ``"mean"``.

    Shape:
        - Output: a scalar tensor on the parameters' device.

    Attributes:
        params: the tied parameters (a :class:`~torch.nn.ParameterList`).
        schedule: the :class:`Schedule` giving :math:`\lambda(t)`.
        step_count: the current step :math:`t`.

    Examples:
        >>> from tying.layers import LinearRamp
        >>> a = nn.Linear(3, 3, bias=False)
        >>> b = nn.Linear(3, 3, bias=False)
        >>> tie = SoftTie([a.weight, b.weight], strength=LinearRamp(1.0, steps=100))
        >>> tie().item()  # lambda(0) = 0: untied at first
        0.0
        >>> for _ in range(100):
        ...     tie.step()
        >>> torch.allclose(tie(), ((a.weight - b.weight) ** 2).sum())
        True
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        strength: float | Schedule = 1.0,
        reduction: str = "pairs",
    ) -> None:
        super().__init__()
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, nn.Parameter):
                # A plain tensor would be wrapped in a *new* Parameter by ParameterList,
                # and the penalty would act on a copy the optimiser never sees.
                raise TypeError(
                    f"SoftTie ties nn.Parameter objects; item {i} is a {type(p).__name__}. "
                    "Use soft_tie_penalty() for plain tensors."
                )
        _check_group(params)
        _check_reduction(reduction)
        self.params = nn.ParameterList(params)
        self.schedule = strength if isinstance(strength, Schedule) else ConstantSchedule(strength)
        self.reduction = reduction
        self.step_count = 0

    @property
    def strength(self) -> float:
        """:math:`\\lambda` at the current step."""
        return self.schedule(self.step_count)

    def step(self) -> None:
        """Advance the schedule by one step (call it after each optimiser step)."""
        self.step_count += 1

    def distance(self) -> torch.Tensor:
        """The penalty without :math:`\\lambda`: how far apart the group is (0 when tied)."""
        return soft_tie_penalty(list(self.params), 1.0, self.reduction)

    def forward(self, step: int | None = None) -> torch.Tensor:
        lam = self.schedule(self.step_count if step is None else step)
        return soft_tie_penalty(list(self.params), lam, self.reduction)

    def get_extra_state(self) -> dict:
        return {"step_count": self.step_count}

    def set_extra_state(self, state: dict) -> None:
        self.step_count = int(state["step_count"])

    def extra_repr(self) -> str:
        shape = tuple(self.params[0].shape)
        return (
            f"group={len(self.params)} x {shape}, strength={self.schedule!r}, "
            f"reduction={self.reduction!r}, step={self.step_count}"
        )
