"""Closed forms that the book states, each tested against simulation or autograd.

A formula printed in a chapter lives here exactly once; the notebook calls it,
prints it and asserts that a simulation agrees.  Submodules are named after the
idea, not the chapter.
"""

from .counting import conv2d_param_count, locally_connected2d_param_count, tying_ratio

__all__ = ["conv2d_param_count", "locally_connected2d_param_count", "tying_ratio"]
