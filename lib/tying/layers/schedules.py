r"""Schedules for the strength :math:`\lambda` of a soft tie.

A schedule is a callable ``schedule(step) -> float`` giving the tying strength
at an optimisation step.  Starting at zero and growing is a *curriculum* on
the tie (Part I, section 8): the parameters first explore untied and are then
pulled together.  It is the quadratic-penalty method of constrained
optimisation, in which the penalty weight is increased in stages.

All schedules are plain Python objects (no tensors), so they can be shared
between runs and evaluated on any device.  Every ramp is constant at
``lambda_max`` once it has finished, and ``warmup`` steps at ``0`` can be put in
front of any of them.
"""

from __future__ import annotations

import math

__all__ = [
    "Schedule",
    "ConstantSchedule",
    "LinearRamp",
    "CosineRamp",
    "ExponentialRamp",
]


def _check_nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")


class Schedule:
    """Base class: a tying strength that depends on the step.

    Subclasses implement :meth:`value`; calling the schedule checks the step
    and returns ``value(step)`` as a float.
    """

    def value(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, step: int) -> float:
        if step < 0:
            raise ValueError(f"step must be non-negative, got {step}")
        return float(self.value(int(step)))

    def values(self, steps: int) -> list[float]:
        """The strengths at steps ``0, 1, ..., steps - 1``, e.g. for plotting."""
        return [self(t) for t in range(steps)]


class ConstantSchedule(Schedule):
    r""":math:`\lambda(t) = \lambda` at every step.

    ``ConstantSchedule(0.0)`` leaves the parameters untied; a large constant
    imposes the tie from the first step.

    Example:
        >>> ConstantSchedule(2.0)(0), ConstantSchedule(2.0)(10_000)
        (2.0, 2.0)
    """

    def __init__(self, strength: float) -> None:
        _check_nonnegative(strength=strength)
        self.strength = float(strength)

    def value(self, step: int) -> float:
        return self.strength

    def __repr__(self) -> str:
        return f"ConstantSchedule({self.strength:g})"


class _Ramp(Schedule):
    """Shared bookkeeping: ``warmup`` steps at zero, then a ramp of ``steps`` steps to ``lambda_max``."""

    def __init__(self, lambda_max: float, steps: int, warmup: int = 0) -> None:
        _check_nonnegative(lambda_max=lambda_max, steps=steps, warmup=warmup)
        self.lambda_max = float(lambda_max)
        self.steps = int(steps)
        self.warmup = int(warmup)

    def progress(self, step: int) -> float:
        """Fraction of the ramp done at ``step``, clipped to ``[0, 1]``."""
        if step < self.warmup:
            return 0.0
        if self.steps == 0:
            return 1.0
        return min((step - self.warmup) / self.steps, 1.0)

    def shape(self, s: float) -> float:  # pragma: no cover - abstract
        """The ramp's profile on ``[0, 1]``, with ``shape(0) = 0`` and ``shape(1) = 1``."""
        raise NotImplementedError

    def value(self, step: int) -> float:
        if step < self.warmup:
            return 0.0
        return self.lambda_max * self.shape(self.progress(step))

    def __repr__(self) -> str:
        extra = f", warmup={self.warmup}" if self.warmup else ""
        return f"{type(self).__name__}(lambda_max={self.lambda_max:g}, steps={self.steps}{extra})"


class LinearRamp(_Ramp):
    r""":math:`\lambda(t) = \lambda_\max \min(t/T, 1)`: a straight line from 0 to :math:`\lambda_\max` in :math:`T` steps.

    Args:
        lambda_max: the final strength.
        steps: the ramp length :math:`T`; ``0`` means :math:`\lambda_\max` from the start.
        warmup: steps at :math:`\lambda = 0` before the ramp begins (``t`` counts from its end).

    Example:
        >>> ramp = LinearRamp(2.0, steps=100)
        >>> ramp(0), ramp(50), ramp(100), ramp(1_000)
        (0.0, 1.0, 2.0, 2.0)
    """

    def shape(self, s: float) -> float:
        return s


class CosineRamp(_Ramp):
    r""":math:`\lambda(t) = \tfrac{\lambda_\max}{2}\bigl(1 - \cos(\pi \min(t/T, 1))\bigr)`.

    Starts and ends with zero slope, so the strength changes gently at both ends.
    Same arguments as :class:`LinearRamp`.

    Example:
        >>> ramp = CosineRamp(2.0, steps=100)
        >>> ramp(0), round(ramp(50), 6), ramp(100)
        (0.0, 1.0, 2.0)
    """

    def shape(self, s: float) -> float:
        return 0.5 * (1.0 - math.cos(math.pi * s))


class ExponentialRamp(_Ramp):
    r"""Geometric growth: :math:`\lambda(t) = \lambda_0 (\lambda_\max/\lambda_0)^{\min(t/T, 1)}`.

    The strength is multiplied by the same factor at every step, the classical
    way of raising a penalty weight.  A geometric ramp cannot start at zero, so
    it starts at ``lambda_start`` (default :math:`10^{-3}\lambda_\max`); use
    ``warmup`` for an initial stretch at exactly zero.

    Args:
        lambda_max: the final strength.
        steps: the ramp length :math:`T`.
        lambda_start: the strength :math:`\lambda_0` at the first ramp step.
        warmup: steps at :math:`\lambda = 0` before the ramp begins.

    Example:
        >>> ramp = ExponentialRamp(1.0, steps=2, lambda_start=0.01)
        >>> ramp(0), round(ramp(1), 6), ramp(2)
        (0.01, 0.1, 1.0)
    """

    def __init__(
        self,
        lambda_max: float,
        steps: int,
        lambda_start: float | None = None,
        warmup: int = 0,
    ) -> None:
        super().__init__(lambda_max, steps, warmup)
        start = 1e-3 * self.lambda_max if lambda_start is None else float(lambda_start)
        if self.lambda_max > 0 and not 0 < start <= self.lambda_max:
            raise ValueError(
                f"lambda_start must lie in (0, lambda_max={self.lambda_max:g}], got {start!r}"
            )
        self.lambda_start = start

    def value(self, step: int) -> float:
        if step < self.warmup or self.lambda_max == 0:
            return 0.0
        s = self.progress(step)
        return self.lambda_start * (self.lambda_max / self.lambda_start) ** s

    def __repr__(self) -> str:
        extra = f", warmup={self.warmup}" if self.warmup else ""
        return (
            f"ExponentialRamp(lambda_max={self.lambda_max:g}, steps={self.steps}, "
            f"lambda_start={self.lambda_start:g}{extra})"
        )
