"""Progress for the sweeps a chapter runs: a bar for live readers, silence in the book.

A chapter writes its sweep as a plain loop on the page::

    for seed in progress(range(5), desc="seeds"):
        ...

and gets a ``tqdm`` bar in Jupyter, on Colab or in a terminal.  The built book
and the test suite set ``TYING_PROGRESS=0``; then :func:`progress` returns the
iterable untouched, so no bar (and no widget) is saved into a page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars are on unless the environment sets ``TYING_PROGRESS=0``."""
    return os.environ.get("TYING_PROGRESS", "1") != "0"


def progress(
    iterable: Iterable[T], *, desc: str | None = None, total: int | None = None
) -> Iterable[T] | Iterator[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar that disappears when done.

    Args:
        iterable: what the loop runs over (seeds, settings, steps).
        desc: the bar's label.
        total: its length, when ``iterable`` has no ``len``.

    Returns:
        ``iterable`` itself when bars are off (see :func:`progress_enabled`).
    """
    if not progress_enabled():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
