"""Sliders that work in a live kernel *and* in the static book.

One object, :class:`FrameSlider`, stands behind every slider in the book.  A
chapter supplies a cheap drawing function ``draw(fig, **values)`` and the
values each slider may take.  When the object is displayed it offers two
renderings in one MIME bundle:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets sliders above an
  image; moving a slider calls ``draw`` again in the kernel (JupyterLab,
  Notebook, VS Code and Colab pick this one);
* ``text/html``: every frame rendered in advance as a PNG, an
  ``<input type="range">`` per slider and a few lines of inline JavaScript
  that show the matching frame.  The book's HTML build is configured to
  prefer this one, so the slider still moves on a static web page with no
  kernel, no CDN and no JavaScript library.

Because both renderings call the same ``draw``, the frame a reader sees in the
book is the frame they would get in a kernel.  Drawing functions must be fast
(closed forms or precomputed sweeps, never training): each call is timed while
the static frames are rendered, and :attr:`FrameSlider.latencies_ms` keeps the
measurements for the book's budget script (100 ms per callback).
"""

from __future__ import annotations

import base64
import gc
import hashlib
import html
import io
import itertools
import json
import statistics
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib as mpl
from matplotlib.figure import Figure

from .viz import STYLE

__all__ = ["Param", "FrameSlider", "MAX_FRAMES", "MAX_FRAME_BYTES"]

#: Budget from the design: one slider of 25 frames, or two of 7 x 7.
MAX_FRAMES = 49
#: Budget for the precomputed frames of one page, in bytes of PNG data.
MAX_FRAME_BYTES = 1_500_000

# Every slider created in this process, so the budget script can time them all.
_INSTANCES: weakref.WeakSet = weakref.WeakSet()


@dataclass(frozen=True)
class Param:
    """The values one slider can take, with how to show them.

    Args:
        values: the allowed values, in slider order (any hashable objects).
        label: text shown next to the slider; defaults to the parameter name.
        fmt: a format string for the current value, e.g. ``"{:.2f}"``.
        initial: the value shown first; defaults to the middle one.
    """

    values: Sequence[object]
    label: str | None = None
    fmt: str = "{}"
    initial: object | None = None

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ValueError("a slider needs at least one value")
        if self.initial is not None and self.initial not in list(self.values):
            raise ValueError(f"initial value {self.initial!r} is not one of {list(self.values)!r}")

    @property
    def initial_index(self) -> int:
        if self.initial is None:
            return (len(self.values) - 1) // 2
        return list(self.values).index(self.initial)

    def show(self, value: object) -> str:
        return self.fmt.format(value)


@dataclass
class FrameSlider:
    """A figure driven by one or more sliders, live in a kernel and static in the book.

    Args:
        draw: ``draw(fig, **values)`` fills an empty :class:`~matplotlib.figure.Figure`
            for one combination of slider values.  It must be cheap (≤ 100 ms).
        params: slider name → :class:`Param` (or a plain sequence of values).
            Names are passed to ``draw`` as keyword arguments.
        figsize: figure size in inches.
        dpi: resolution of the rendered frames.
        alt: text alternative for the image, for screen readers.

    Example:
        >>> def draw(fig, sigma):
        ...     ax = fig.subplots()
        ...     ax.plot([0, 1], [0, sigma])
        >>> slider = FrameSlider(draw, {"sigma": Param([0.5, 1.0, 2.0], label="σ")})
        >>> png = slider.callback(sigma=1.0)  # what moving the live slider runs
        >>> png[:4]
        b'\\x89PNG'
    """

    draw: Callable[..., object]
    params: Mapping[str, Param | Sequence[object]]
    figsize: tuple[float, float] = (7.5, 3.2)
    dpi: int = 80
    alt: str = "interactive figure"
    latencies_ms: list[float] = field(default_factory=list, init=False, repr=False)
    _cache: dict[tuple, bytes] = field(default_factory=dict, init=False, repr=False)
    _positions: list | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.params:
            raise ValueError("FrameSlider needs at least one parameter")
        self.params = {
            name: p if isinstance(p, Param) else Param(list(p)) for name, p in self.params.items()
        }
        _INSTANCES.add(self)
        n = self.n_frames
        if n > MAX_FRAMES:
            raise ValueError(
                f"{n} frames exceed the book's budget of {MAX_FRAMES} per slider figure "
                f"(one slider of 25 values, or two of 7 x 7); use fewer values"
            )

    def __hash__(self) -> int:  # identity, so instances can live in a WeakSet
        return id(self)

    @staticmethod
    def instances() -> list[FrameSlider]:
        """Every FrameSlider alive in this process (used by ``benchmarks/budgets.py``)."""
        return list(_INSTANCES)

    def time_callbacks(self, repeats: int = 3) -> list[float]:
        """Call the live callback for every slider position ``repeats`` times; return wall times in ms."""
        timings = []
        ranges = [range(len(p.values)) for p in self.params.values()]
        for _ in range(repeats):
            for key in itertools.product(*ranges):
                values = {name: p.values[i] for (name, p), i in zip(self.params.items(), key)}
                start = time.perf_counter()
                self.callback(**values)
                timings.append((time.perf_counter() - start) * 1000.0)
        return timings

    # -- rendering ---------------------------------------------------------
    @property
    def n_frames(self) -> int:
        n = 1
        for p in self.params.values():
            n *= len(p.values)
        return n

    def initial_values(self) -> dict[str, object]:
        return {name: p.values[p.initial_index] for name, p in self.params.items()}

    def figure(self, **values: object) -> Figure:
        """Draw the figure for one combination of values (no caching, no timing)."""
        unknown = set(values) - set(self.params)
        missing = set(self.params) - set(values)
        if unknown or missing:
            raise TypeError(f"expected values for {sorted(self.params)}, got {sorted(values)}")
        # Constrained layout costs more than the drawing itself, and every frame
        # of a slider has the same panels: lay out the first frame properly,
        # then reuse its axes positions (falling back when the panels differ).
        with mpl.rc_context(STYLE):
            fig = Figure(
                figsize=self.figsize,
                dpi=self.dpi,
                layout=None if self._positions else "constrained",
            )
            self.draw(fig, **values)
            if self._positions is None:
                fig.get_layout_engine().execute(fig)
                self._positions = [ax.get_position() for ax in fig.axes]
                fig.set_layout_engine("none")
            elif len(fig.axes) == len(self._positions):
                for ax, position in zip(fig.axes, self._positions):
                    ax.set_position(position)
            else:
                fig.set_layout_engine("constrained")
        return fig

    def callback(self, **values: object) -> bytes:
        """Render one frame to PNG bytes: exactly what a live slider move runs.

        The wall time of every call is appended to :attr:`latencies_ms`.
        """
        start = time.perf_counter()
        # A figure is a web of reference cycles, so every frame leaves cyclic garbage.
        # Left to itself the collector eventually makes a full pass over every object in
        # the kernel (100-300 ms once a notebook holds data), in the middle of some
        # redraw.  Pausing it while drawing and then collecting only the young
        # generations frees the frame's garbage while it is cheap to find.
        collecting = gc.isenabled()
        gc.disable()
        try:
            fig = self.figure(**values)
            buffer = io.BytesIO()
            # A fixed canvas ("standard" bbox) keeps frames aligned when they are swapped;
            # light PNG compression keeps the redraw fast at a small cost in bytes.
            with mpl.rc_context({**STYLE, "savefig.bbox": "standard"}):
                fig.savefig(
                    buffer,
                    format="png",
                    dpi=self.dpi,
                    metadata={"Software": None},
                    pil_kwargs={"compress_level": 3},
                )
            del fig
        finally:
            if collecting:
                gc.enable()
        gc.collect(1)
        png = buffer.getvalue()
        self.latencies_ms.append((time.perf_counter() - start) * 1000.0)
        return png

    def _frame(self, key: tuple) -> bytes:
        if key not in self._cache:
            values = {name: p.values[i] for (name, p), i in zip(self.params.items(), key)}
            self._cache[key] = self.callback(**values)
        return self._cache[key]

    def frames(self) -> list[bytes]:
        """All frames in row-major order of the sliders (the last slider varies fastest)."""
        ranges = [range(len(p.values)) for p in self.params.values()]
        return [self._frame(key) for key in itertools.product(*ranges)]

    @property
    def median_latency_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    # -- static HTML -------------------------------------------------------
    def static_html(self) -> str:
        """The self-contained slider: range inputs, PNG frames and a small script."""
        frames = self.frames()
        total = sum(len(f) for f in frames)
        if total > MAX_FRAME_BYTES:
            raise ValueError(
                f"precomputed frames take {total / 1e6:.2f} MB, over the {MAX_FRAME_BYTES / 1e6:.1f} MB "
                "page budget; lower dpi, figsize or the number of values"
            )
        digest = hashlib.sha1(b"".join(frames)).hexdigest()[:10]
        uid = f"tying-slider-{digest}"
        params = list(self.params.items())
        initial = [p.initial_index for _, p in params]
        shape = [len(p.values) for _, p in params]
        flat_initial = 0
        for i, n in zip(initial, shape):
            flat_initial = flat_initial * n + i

        controls = []
        for (name, p), i0 in zip(params, initial):
            label = html.escape(p.label or name)
            controls.append(
                '<label class="tying-slider-control" style="display:flex;align-items:center;gap:0.6em;margin:0.2em 0">'
                f'<span class="tying-slider-label" style="min-width:7em">{label}</span>'
                f'<input type="range" min="0" max="{len(p.values) - 1}" step="1" value="{i0}" '
                f'aria-label="{label}" data-param="{html.escape(name)}" style="flex:1;max-width:22em">'
                f'<output class="tying-slider-value" style="min-width:4em;font-family:monospace">'
                f"{html.escape(p.show(p.values[i0]))}</output></label>"
            )
        images = []
        for k, png in enumerate(frames):
            hidden = "" if k == flat_initial else ' style="display:none"'
            data = base64.b64encode(png).decode("ascii")
            images.append(
                f'<img class="tying-slider-frame" data-frame="{k}" alt="{html.escape(self.alt)}"'
                f'{hidden} src="data:image/png;base64,{data}">'
            )
        labels = [[p.show(v) for v in p.values] for _, p in params]
        script = (
            "(function(){"
            f"var root=document.getElementById({json.dumps(uid)});"
            f"var labels={json.dumps(labels)};var shape={json.dumps(shape)};"
            'var inputs=root.querySelectorAll("input[type=range]");'
            'var frames=root.querySelectorAll(".tying-slider-frame");'
            "function show(){var k=0;for(var i=0;i<inputs.length;i++){"
            "var v=parseInt(inputs[i].value,10);k=k*shape[i]+v;"
            "inputs[i].nextElementSibling.textContent=labels[i][v];}"
            'for(var j=0;j<frames.length;j++){frames[j].style.display=(j===k)?"":"none";}'
            'root.setAttribute("data-current",String(k));}'
            'for(var i=0;i<inputs.length;i++){inputs[i].addEventListener("input",show);}'
            "show();})();"
        )
        return (
            f'<div class="tying-slider" id="{uid}" data-current="{flat_initial}" '
            f'data-frames="{len(frames)}" data-frame-bytes="{total}" '
            f'data-median-callback-ms="{self.median_latency_ms:.1f}">'
            f'<div class="tying-slider-controls">{"".join(controls)}</div>'
            f'<div class="tying-slider-frames">{"".join(images)}</div>'
            f"<script>{script}</script></div>"
        )

    # -- live widget -------------------------------------------------------
    def widget(self):
        """ipywidgets sliders above an image that is redrawn on every move."""
        import ipywidgets as widgets

        params = list(self.params.items())
        image = widgets.Image(
            format="png", value=self._frame(tuple(p.initial_index for _, p in params))
        )
        sliders = [
            widgets.SelectionSlider(
                options=[(p.show(v), i) for i, v in enumerate(p.values)],
                value=p.initial_index,
                description=p.label or name,
                continuous_update=True,
                style={"description_width": "initial"},
                layout=widgets.Layout(width="28em"),
            )
            for name, p in params
        ]

        def redraw(_change: object = None) -> None:
            image.value = self._frame(tuple(s.value for s in sliders))

        for s in sliders:
            s.observe(redraw, names="value")
        return widgets.VBox([*sliders, image])

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        bundle: dict = {}
        try:
            bundle.update(self.widget()._repr_mimebundle_())
        except Exception:  # no ipywidgets, or no comm: the static rendering still works
            pass
        bundle["text/html"] = self.static_html()
        names = ", ".join(self.params)
        bundle["text/plain"] = f"<FrameSlider over {names}: {self.n_frames} frames>"
        return bundle
