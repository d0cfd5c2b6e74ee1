"""``tying``: the companion library of the *Parameter Tying* textbook.

Submodules:
    layers      tied and untied ``nn.Module`` implementations and their functional forms
    theory      closed forms stated in the text, each tested against simulation
    ties        check, list and restore tied parameters in real models
    device      pick cuda / mps / cpu in one place (``TYING_DEVICE`` overrides)
    data        offline data sets, including the frozen text corpus (nothing is downloaded)
    training    one small training loop
    sweep       progress bars for a chapter's loops (silent in the built book)
    viz         the book's figure style and the plot helpers several chapters share
    widgets     sliders that work live in a kernel and static in the book
    glue        computed numbers quoted in the prose of the built book
    grading     checks, the in-notebook grader and ``python -m tying.grade``

The chapters' experiments are written out in the chapters themselves.
"""

from __future__ import annotations

import torch

from .device import get_device, seed_everything
from .ties import assert_tied

__version__ = "0.1.0"

__all__ = ["__version__", "assert_tied", "get_device", "seed_everything", "setup"]


def setup(
    seed: int = 0, *, device: str | torch.device | None = None, verbose: bool = True
) -> torch.device:
    """What the first cell of every notebook does: seed everything, style figures, pick a device.

    Returns the device chosen by :func:`tying.device.get_device`.
    """
    from .viz import use_style

    seed_everything(seed)
    use_style()
    _register_figure_display()
    chosen = get_device(device)
    if verbose:
        print(f"tying {__version__} | torch {torch.__version__} | device: {chosen} | seed: {seed}")
    return chosen


def _register_figure_display() -> None:
    """Let a bare ``fig`` at the end of a cell display as a PNG.

    The book draws on :class:`matplotlib.figure.Figure` objects outside pyplot
    (no global state, nothing shown twice), and IPython only knows how to show
    those once pyplot's inline backend is loaded.  Outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight", dpi=100))
