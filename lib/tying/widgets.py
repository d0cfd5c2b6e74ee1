"""Sliders that work in a live kernel *and* in the static book.

One object, :class:`FrameSlider`, stands behind every slider in the book.  A
chapter supplies a cheap drawing function ``draw(fig, **values)`` and the
values each slider may take.  When the object is displayed it offers two
renderings in one MIME bundle:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets sliders above an
  image; moving a slider shows that position's frame, drawn by ``draw`` in
  the kernel (JupyterLab, Notebook, VS Code and Colab pick this one).  It
  works with ipywidgets 7 (Colab's) and 8;
* ``text/html``: every frame rendered in advance as a PNG, an
  ``<input type="range">`` per slider and a few lines of inline JavaScript
  that show the matching frame.  The book's HTML build is configured to
  prefer this one, so the slider still moves on a static web page with no
  kernel, no CDN and no JavaScript library.

Both renderings call the same ``draw``, so the frame a reader sees in the
book is the frame they would get in a kernel.  Each frame carries its own text
alternative naming the values it shows, each range input tells assistive
technology the value shown (``aria-valuetext``), and a polite live
``<output>`` announces it when it changes.  Frame text is kept legible on a
phone: fonts are raised so that the smallest text is still about
:data:`MIN_PHONE_TEXT_PX` pixels high when the frame is shrunk to a phone's
column (:data:`PHONE_COLUMN_PX`).

Every frame is rendered once, when the slider is displayed, so a live slider
move only swaps the image.  Drawing functions must still be fast (closed
forms or precomputed sweeps, never training), because every frame is drawn
while the page is built: each call is timed, :attr:`FrameSlider.latencies_ms`
keeps the measurements, and the budget script ``benchmarks/budgets.py``
reports both the live move and the fresh render of every frame against the
100 ms budget.  Nothing of that timing is shown on the page.

The book build sets ``TYING_WIDGETS=0`` for its kernels (see
``book/_ext/tying_book.py``): the page then carries only the static slider and
no widget state, so it needs no widget manager.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import html
import io
import itertools
import json
import os
import statistics
import string
import textwrap
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text

from .viz import STYLE

__all__ = [
    "Param",
    "FrameSlider",
    "MAX_FRAMES",
    "MAX_FRAME_BYTES",
    "PHONE_COLUMN_PX",
    "MIN_PHONE_TEXT_PX",
    "FRAME_SELECTOR",
    "live_widgets_enabled",
]

#: Budget from the design: one slider of 25 frames, or two of 7 x 7.
MAX_FRAMES = 49
#: Budget for the precomputed frames of one page, in bytes of PNG data.
MAX_FRAME_BYTES = 1_500_000
#: Width of the book's text column on a 390 px wide phone, in CSS pixels.
PHONE_COLUMN_PX = 358
#: The smallest text in a frame, in CSS pixels, when the frame is shown that wide.
MIN_PHONE_TEXT_PX = 8.0
#: CSS selector of every precomputed frame in the static HTML (the book's build
#: extension looks frames up with it).
FRAME_SELECTOR = "div.tying-slider img.tying-slider-frame[data-frame]"

_MIME_WIDGET = "application/vnd.jupyter.widget-view+json"
_FONT_SIZE_KEYS = (
    "font.size",
    "axes.titlesize",
    "axes.labelsize",
    "legend.fontsize",
    "legend.title_fontsize",
    "xtick.labelsize",
    "ytick.labelsize",
    "figure.titlesize",
    "figure.labelsize",
)
# Hides text visually but keeps it for screen readers (inline, so it also works
# where the book's stylesheet is absent, e.g. a notebook viewer).
_SR_ONLY = (
    "position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;"
    "clip:rect(0,0,0,0);white-space:nowrap;border:0"
)

# Every slider created in this process, so the budget script can time them all.
_INSTANCES: weakref.WeakSet = weakref.WeakSet()


def live_widgets_enabled() -> bool:
    """Live widgets are on unless the environment sets ``TYING_WIDGETS=0`` (the book build)."""
    return os.environ.get("TYING_WIDGETS", "1") != "0"


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


class _Shown:
    """A value inside an ``alt`` template: ``{n}`` gives the slider's shown text,
    ``{n:.2f}`` formats the raw value."""

    def __init__(self, param: Param, value: object) -> None:
        self.param, self.value = param, value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else self.param.show(self.value)

    def __str__(self) -> str:
        return self.param.show(self.value)


def _wrap_to(text: Text, room: float, renderer) -> None:
    """Break ``text`` into lines no wider than ``room`` pixels (plain text only)."""
    content = text.get_text()
    if not content or "$" in content or "\n" in content or room <= 0:
        return
    width = text.get_window_extent(renderer).width
    if width <= room:
        return
    per_line = max(8, int(len(content) * room / width))
    text.set_text(textwrap.fill(content, per_line, break_long_words=False))


class _FrameCanvas(FigureCanvasAgg):
    """An Agg canvas that draws with a renderer shared by all frames of a slider.

    Matplotlib caches the layout of every text and mathtext string per
    renderer; a fresh canvas per frame would parse and measure every label
    again (several milliseconds per mathtext label).
    """

    def __init__(self, figure: Figure, renderers: dict) -> None:
        super().__init__(figure)
        self._renderers = renderers

    def get_renderer(self) -> RendererAgg:
        width, height = self.figure.bbox.size
        key = (width, height, self.figure.dpi)
        if key not in self._renderers:
            self._renderers[key] = RendererAgg(width, height, self.figure.dpi)
        self.renderer = self._renderers[key]
        return self.renderer


def _texts(fig: Figure) -> list[Text]:
    """The figure's texts a draw function may have sized: titles, labels,
    annotations and legends (tick labels are sized through ``tick_params``)."""
    found = [*fig.texts]
    for name in ("_suptitle", "_supxlabel", "_supylabel"):
        if getattr(fig, name, None) is not None:
            found.append(getattr(fig, name))
    axes = list(fig.axes)
    for ax in axes:
        axes += [child for child in ax.child_axes if child not in axes]
        found += [ax.title, ax._left_title, ax._right_title]
        found += [ax.xaxis.label, ax.yaxis.label, *ax.texts]
        found += [a for a in ax.artists if isinstance(a, Text)]
        legends = [ax.get_legend(), *[c for c in ax.get_children() if isinstance(c, Legend)]]
        for legend in {id(lg): lg for lg in legends if lg is not None}.values():
            found += [*legend.texts, legend.get_title()]
    for legend in fig.legends:
        found += [*legend.texts, legend.get_title()]
    return found


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


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
        alt: text alternative of the figure, for screen readers.  It may name the
            parameters as ``{name}`` (the value as the slider shows it) or
            ``{name:.2f}`` (the raw value, formatted); each frame's alt is filled
            in with its own values.  Without placeholders, each frame's alt ends
            with "label = value" for every slider.

    Example:
        >>> def draw(fig, sigma):
        ...     ax = fig.subplots()
        ...     ax.plot([0, 1], [0, sigma])
        >>> slider = FrameSlider(draw, {"sigma": Param([0.5, 1.0, 2.0], label="σ")},
        ...                      alt="A line of slope {sigma}")
        >>> slider.frame_alt(sigma=2.0)
        'A line of slope 2.0'
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
    _renderers: dict = field(default_factory=dict, init=False, repr=False)

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
        if not isinstance(self.alt, str) or not self.alt.strip():
            raise ValueError("alt must describe the figure (what it shows), not be empty")
        try:
            unknown = [n for n in _placeholders(self.alt) if n not in self.params]
        except ValueError as error:  # an unbalanced brace
            raise ValueError(f"alt {self.alt!r} is not a valid template: {error}") from None
        if unknown:
            raise ValueError(
                f"alt names {unknown}, which are not slider parameters {sorted(self.params)}"
            )
        self.frame_alt(**self.initial_values())  # a bad format spec fails here, not in the book

    def __hash__(self) -> int:  # identity, so instances can live in a WeakSet
        return id(self)

    @staticmethod
    def instances() -> list[FrameSlider]:
        """Every FrameSlider alive in this process (used by ``benchmarks/budgets.py``)."""
        return list(_INSTANCES)

    def time_callbacks(self, repeats: int = 3) -> list[float]:
        """Render every slider position afresh ``repeats`` times (no cache); return
        wall times in ms.  This is the cost of a frame nobody has drawn yet."""
        timings = []
        for _ in range(repeats):
            for key in self._keys():
                start = time.perf_counter()
                self.callback(**self._values(key))
                timings.append((time.perf_counter() - start) * 1000.0)
        return timings

    def time_live_updates(self, repeats: int = 3) -> list[float]:
        """Move the live widget's sliders to every position ``repeats`` times; return
        the wall time of each move in ms, from setting a slider's value until the
        image shows the new frame (what a reader waits for in a kernel)."""
        box = self.widget()
        sliders, image = box.children[:-1], box.children[-1]
        timings = []
        for _ in range(repeats):
            for key in self._keys():
                for slider, index in zip(sliders, key):
                    if slider.value == index:
                        continue
                    start = time.perf_counter()
                    slider.value = index  # runs the widget's observer, as a drag does
                    timings.append((time.perf_counter() - start) * 1000.0)
                if bytes(image.value) != self._frame(key):
                    raise RuntimeError(f"the live image does not show frame {key}")
        box.close()
        return timings

    # -- text alternatives -------------------------------------------------
    def frame_alt(self, **values: object) -> str:
        """The text alternative of the frame for these slider values."""
        if _placeholders(self.alt):
            shown = {name: _Shown(self.params[name], values[name]) for name in self.params}
            try:
                return self.alt.format(**shown)
            except (ValueError, TypeError) as error:
                raise ValueError(f"alt {self.alt!r} cannot be filled in: {error}") from None
        settings = ", ".join(
            f"{p.label or name} = {p.show(values[name])}" for name, p in self.params.items()
        )
        return f"{self.alt.rstrip().rstrip('.')}; {settings}"

    # -- rendering ---------------------------------------------------------
    @property
    def n_frames(self) -> int:
        n = 1
        for p in self.params.values():
            n *= len(p.values)
        return n

    def initial_values(self) -> dict[str, object]:
        return {name: p.values[p.initial_index] for name, p in self.params.items()}

    @property
    def min_font_pt(self) -> float:
        """The smallest font size (points) that stays :data:`MIN_PHONE_TEXT_PX` high on a phone."""
        return MIN_PHONE_TEXT_PX * 72.0 * self.figsize[0] / PHONE_COLUMN_PX

    def _style(self) -> dict[str, object]:
        floor = self.min_font_pt
        # Frames are laid out by ``_fill``; a figure's own layout engine would
        # lay every frame out again when it is saved.
        style = {**STYLE, "figure.constrained_layout.use": False}
        for key in _FONT_SIZE_KEYS:
            size = style.get(key, mpl.rcParams[key])
            if isinstance(size, (int, float)):
                style[key] = max(float(size), floor)
            else:  # a relative size such as "large": let font.size carry the floor
                style[key] = size
        return style

    def _raise_small_text(self, fig: Figure) -> None:
        """Raise sizes a draw function set explicitly (``fontsize=7``) to the floor, and
        wrap a title that the larger font makes wider than its panel."""
        floor = self.min_font_pt
        for text in _texts(fig):
            if text.get_text() and text.get_fontsize() < floor:
                text.set_fontsize(floor)
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                for which in ("major", "minor"):
                    size = getattr(axis, f"_{which}_tick_kw", {}).get("labelsize")
                    if isinstance(size, (int, float)) and size < floor:
                        axis.set_tick_params(which=which, labelsize=floor)
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            room = ax.get_window_extent(renderer).width
            for title in (ax.title, ax._left_title, ax._right_title):
                _wrap_to(title, room, renderer)
        if fig._suptitle is not None:
            _wrap_to(fig._suptitle, 0.95 * fig.bbox.width, renderer)

    def _fill(self, fig: Figure, values: Mapping[str, object]) -> None:
        """Draw one frame into an empty figure and place its panels.

        Constrained layout costs more than the drawing itself, and every frame
        of a slider has the same panels: the first frame is laid out properly
        and later frames reuse its axes positions (a frame whose panels differ
        is laid out afresh).  The figure is left without a layout engine, so
        saving it draws it once.
        """
        unknown = set(values) - set(self.params)
        missing = set(self.params) - set(values)
        if unknown or missing:
            raise TypeError(f"expected values for {sorted(self.params)}, got {sorted(values)}")
        with mpl.rc_context(self._style()):
            self.draw(fig, **values)
            self._raise_small_text(fig)
            if self._positions is not None and len(fig.axes) == len(self._positions):
                for ax, position in zip(fig.axes, self._positions):
                    ax.set_position(position)
                fig.set_layout_engine(None)  # a draw function may have set one
                return
            fig.set_layout_engine("constrained")
            fig.get_layout_engine().execute(fig)
            if self._positions is None:
                self._positions = [ax.get_position() for ax in fig.axes]
            fig.set_layout_engine(None)  # the style turns constrained layout off

    def _new_figure(self, renderers: dict | None = None) -> Figure:
        with mpl.rc_context(self._style()):
            fig = Figure(figsize=self.figsize, dpi=self.dpi, layout=None)
        if renderers is None:
            FigureCanvasAgg(fig)
        else:
            _FrameCanvas(fig, renderers)
        return fig

    def figure(self, **values: object) -> Figure:
        """Draw the figure for one combination of values into a new figure."""
        fig = self._new_figure()
        self._fill(fig, values)
        return fig

    def callback(self, **values: object) -> bytes:
        """Render one frame to PNG bytes: what both renderings show for these values.

        Every frame is drawn by the same Agg renderer, so matplotlib's caches
        of text and mathtext layouts (kept per renderer) serve every frame.
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
            fig = self._new_figure(self._renderers)
            self._fill(fig, values)
            buffer = io.BytesIO()
            # A fixed canvas ("standard" bbox) keeps frames aligned when they are swapped;
            # light PNG compression keeps the redraw fast at a small cost in bytes.
            # Saving restores the figure's layout engine from the rc parameters,
            # so constrained layout must stay off here too.
            with mpl.rc_context({**self._style(), "savefig.bbox": "standard"}):
                fig.savefig(
                    buffer,
                    format="png",
                    dpi=self.dpi,
                    metadata={"Software": None},
                    pil_kwargs={"compress_level": 3},
                )
            del fig  # so that the collection below frees it
        finally:
            if collecting:
                gc.enable()
        gc.collect(1)
        png = buffer.getvalue()
        self.latencies_ms.append((time.perf_counter() - start) * 1000.0)
        return png

    def _values(self, key: tuple) -> dict[str, object]:
        return {name: p.values[i] for (name, p), i in zip(self.params.items(), key)}

    def _frame(self, key: tuple) -> bytes:
        if key not in self._cache:
            self._cache[key] = self.callback(**self._values(key))
        return self._cache[key]

    def _keys(self) -> list[tuple]:
        return list(itertools.product(*[range(len(p.values)) for p in self.params.values()]))

    def frames(self) -> list[bytes]:
        """All frames in row-major order of the sliders (the last slider varies fastest)."""
        return [self._frame(key) for key in self._keys()]

    @property
    def median_latency_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    # -- static HTML -------------------------------------------------------
    def static_html(self) -> str:
        """The self-contained slider: range inputs, PNG frames and a small script.

        Every frame is ``<img class="tying-slider-frame" data-frame="k" alt=...>``
        (see :data:`FRAME_SELECTOR`); the script only toggles their ``hidden``
        attribute, so the build may move a frame's ``src`` into a file.
        """
        frames = self.frames()
        total = sum(len(f) for f in frames)
        if total > MAX_FRAME_BYTES:
            raise ValueError(
                f"precomputed frames take {total / 1e6:.2f} MB, over the {MAX_FRAME_BYTES / 1e6:.1f} MB "
                "page budget; lower dpi, figsize or the number of values"
            )
        digest = hashlib.sha1(b"".join(frames) + self.alt.encode()).hexdigest()[:10]
        uid = f"tying-slider-{digest}"
        params = list(self.params.items())
        initial = [p.initial_index for _, p in params]
        shape = [len(p.values) for _, p in params]
        flat_initial = 0
        for i, n in zip(initial, shape):
            flat_initial = flat_initial * n + i
        frames_id = f"{uid}-frames"

        controls = []
        for j, ((name, p), i0) in enumerate(zip(params, initial)):
            label = html.escape(p.label or name)
            shown = html.escape(p.show(p.values[i0]))
            input_id = f"{uid}-p{j}"
            controls.append(
                '<div class="tying-slider-control" '
                'style="display:flex;flex-wrap:wrap;align-items:center;gap:0.2em 0.6em;margin:0.2em 0">'
                f'<label class="tying-slider-label" for="{input_id}" style="min-width:7em">{label}</label>'
                f'<input type="range" id="{input_id}" min="0" max="{len(p.values) - 1}" step="1" '
                f'value="{i0}" aria-valuetext="{shown}" aria-controls="{frames_id}" '
                f'data-param="{html.escape(name)}" style="flex:1 1 10em;max-width:22em;min-width:8em">'
                f'<output class="tying-slider-value" id="{input_id}-value" for="{input_id}" '
                'aria-live="polite" aria-atomic="true" style="min-width:4em;font-family:monospace">'
                f'<span style="{_SR_ONLY}">{label}: </span>'
                f'<span class="tying-slider-shown">{shown}</span></output></div>'
            )
        images = []
        for k, (key, png) in enumerate(zip(self._keys(), frames)):
            # Only the visible frame loads eagerly; the others wait until shown.
            extra = "" if k == flat_initial else ' hidden loading="lazy" decoding="async"'
            alt = html.escape(self.frame_alt(**self._values(key)))
            data = base64.b64encode(png).decode("ascii")
            # The PNG's own size, so a frame not yet loaded already takes its place.
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            images.append(
                f'<img class="tying-slider-frame" data-frame="{k}" alt="{alt}"{extra} '
                f'width="{width}" height="{height}" src="data:image/png;base64,{data}">'
            )
        labels = [[p.show(v) for v in p.values] for _, p in params]
        script = (
            "(function(){"
            f"var root=document.getElementById({json.dumps(uid)});"
            f"var labels={json.dumps(labels, ensure_ascii=False)};var shape={json.dumps(shape)};"
            'var inputs=root.querySelectorAll("input[type=range]");'
            'var frames=root.querySelectorAll(".tying-slider-frame");'
            "function show(){var k=0;for(var i=0;i<inputs.length;i++){"
            "var v=parseInt(inputs[i].value,10),t=labels[i][v];k=k*shape[i]+v;"
            'inputs[i].setAttribute("aria-valuetext",t);'
            'var o=document.getElementById(inputs[i].id+"-value").querySelector(".tying-slider-shown");'
            "if(o.textContent!==t){o.textContent=t;}}"
            "for(var j=0;j<frames.length;j++){"
            'frames[j].hidden=(parseInt(frames[j].getAttribute("data-frame"),10)!==k);}'
            'root.setAttribute("data-current",String(k));}'
            # Once a reader reaches for a slider, fetch the other frames so moves are instant.
            'function eager(){for(var j=0;j<frames.length;j++){frames[j].removeAttribute("loading");}}'
            "for(var i=0;i<inputs.length;i++){"
            'inputs[i].addEventListener("input",show);'
            'inputs[i].addEventListener("focus",eager);'
            'inputs[i].addEventListener("pointerdown",eager);}'
            "show();})();"
        )
        style = (
            f"#{uid} .tying-slider-frame{{max-width:100%;height:auto}}"
            f"#{uid} .tying-slider-frame[hidden]{{display:none!important}}"
            # On a phone the label takes its own row; the range and its value share the next.
            f"@media (max-width:600px){{#{uid} .tying-slider-label{{flex-basis:100%}}}}"
        )
        return (
            f'<div class="tying-slider" id="{uid}" data-current="{flat_initial}" '
            f'data-frames="{len(frames)}" data-frame-bytes="{total}">'
            f"<style>{style}</style>"
            f'<div class="tying-slider-controls">{"".join(controls)}</div>'
            f'<div class="tying-slider-frames" id="{frames_id}">{"".join(images)}</div>'
            f"<script>{script}</script></div>"
        )

    # -- live widget -------------------------------------------------------
    def widget(self):
        """ipywidgets sliders above an image that shows the frame for their values.

        Every frame is rendered when the widget is built (the static rendering
        needs them all anyway), so moving a slider only swaps the image.
        """
        import ipywidgets as widgets

        self.frames()
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

    def widget_view(self) -> dict:
        """The ``application/vnd.jupyter.widget-view+json`` entry for a live widget.

        ipywidgets 8 widgets have ``_repr_mimebundle_``; ipywidgets 7 widgets
        (Colab's) display themselves through ``_ipython_display_`` instead, so
        the view is built here from the widget's ``model_id``, as 7.x does.
        """
        box = self.widget()
        repr_bundle = getattr(box, "_repr_mimebundle_", None)
        if callable(repr_bundle):
            data = repr_bundle()
            if not data or _MIME_WIDGET not in data:
                raise RuntimeError("the widget offered no widget view")
            return {_MIME_WIDGET: data[_MIME_WIDGET]}
        model_id = getattr(box, "model_id", None)
        if not model_id:
            raise RuntimeError("the widget has no model id (is a kernel with comms running?)")
        # What ipywidgets 7's _ipython_display_ publishes (and 8's _repr_mimebundle_).
        return {_MIME_WIDGET: {"version_major": 2, "version_minor": 0, "model_id": model_id}}

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        bundle: dict = {}
        if live_widgets_enabled():
            try:
                bundle.update(self.widget_view())
            except Exception as error:  # the static frames below still work
                reason = str(error).splitlines()[0] if str(error) else ""
                warnings.warn(
                    f"FrameSlider: no live slider ({type(error).__name__}: {reason}); "
                    "showing the precomputed frames instead",
                    RuntimeWarning,
                    stacklevel=2,
                )
        bundle["text/html"] = self.static_html()
        names = ", ".join(self.params)
        bundle["text/plain"] = f"<FrameSlider over {names}: {self.n_frames} frames>"
        return bundle
