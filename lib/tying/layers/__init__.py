"""Tied and untied layers used throughout the book.

Each layer follows the anatomy of ``torch.nn``: a functional form that can be
tested on its own, a module whose docstring gives the formula, the shapes and
an example, ``reset_parameters`` and ``extra_repr``.  Every module accepts
``device=`` and ``dtype=`` like torch's own layers.
"""

from .local import (
    LocallyConnected2d,
    conv2d_output_size,
    locally_connected2d,
    locally_connected2d_loop,
)

__all__ = [
    "LocallyConnected2d",
    "conv2d_output_size",
    "locally_connected2d",
    "locally_connected2d_loop",
]
