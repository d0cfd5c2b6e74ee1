"""Numbers computed in a cell, quoted in the prose of the built book.

The book's prose writes ``{glue:text}`n_params:,``` and myst-nb fills in the
value the notebook computed, so the text cannot drift from the maths.
:func:`glue` records such a value.  In the book build (and wherever myst-nb
is installed) it records the value the way :func:`myst_nb.glue` does with
``display=False``, without importing myst-nb (which takes seconds); elsewhere
(Colab, a bare kernel) it does nothing, because the cell that computes the
number already prints or asserts it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["glue"]

# myst-nb reads outputs whose metadata carries this "scrapbook" record; the
# prefix keeps them hidden from every renderer (myst_nb.ext.glue.GLUE_PREFIX).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the page's prose, and return it.

    Args:
        name: the key the Markdown refers to (letters, digits, ``_`` and ``-``).
        value: any object; its plain-text form is what the page shows, and a
            format spec in the reference (``{glue:text}`name:.2f```,
            ``{glue:text}`name:,d```) applies to numbers.  numpy and torch
            scalars are glued as Python numbers.

    Example:
        >>> ratio = glue("ratio", 476_672 / 608)
    """
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"glue names are letters, digits, '_' and '-', got {name!r}")
    # numpy and torch scalars print as ``np.float64(0.25)`` or ``tensor(0.25)``,
    # which a format spec in the prose cannot read: glue the plain number.
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()
    if importlib.util.find_spec("myst_nb") is None:
        return value
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display
    except ImportError:
        return value
    if get_ipython() is None:
        return value
    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    return value
