"""Both renderings of FrameSlider: the live widget and the static HTML."""

import re

import pytest

from tying.widgets import MAX_FRAMES, FrameSlider, Param


def draw(fig, a, b="x"):
    ax = fig.subplots()
    ax.plot([0, 1], [0, a])
    ax.set_title(f"a={a} b={b}")


def make():
    return FrameSlider(
        draw,
        {"a": Param([1, 2, 3], label="σ", fmt="{:.1f}"), "b": ["x", "y"]},
        figsize=(2, 1.5),
        dpi=40,
    )


def test_callback_returns_png_and_is_timed():
    slider = make()
    png = slider.callback(a=2, b="y")
    assert png.startswith(b"\x89PNG")
    assert len(slider.latencies_ms) == 1 and slider.latencies_ms[0] > 0


def test_frames_differ_per_value_and_cover_the_grid():
    slider = make()
    frames = slider.frames()
    assert len(frames) == 6 == slider.n_frames
    assert len(set(frames)) == 6


def test_static_html_has_inputs_frames_and_script():
    slider = make()
    page = slider.static_html()
    assert page.count('type="range"') == 2
    assert page.count('class="tying-slider-frame"') == 6
    assert (
        len(re.findall(r'data-frame="\d+" alt="[^"]*" width=', page)) == 1
    )  # only the initial frame is visible
    assert "<script>" in page and "addEventListener" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    # initial = middle value of each slider: a=2 (index 1), b="x" (index 0) -> frame 1*2+0
    assert 'data-current="2"' in page
    assert ">σ<" in page and ">2.0<" in page


def test_mimebundle_offers_widget_and_static_html():
    bundle = make()._repr_mimebundle_()
    assert "text/html" in bundle and "tying-slider" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<FrameSlider")


def test_live_widget_redraws_on_slider_change():
    slider = make()
    box = slider.widget()
    *sliders, image = box.children
    first = image.value
    sliders[0].value = 2  # index of a=3
    assert image.value != first
    assert image.value == slider.callback(a=3, b="x")


def test_budget_and_bad_arguments():
    with pytest.raises(ValueError, match="budget"):
        FrameSlider(draw, {"a": list(range(MAX_FRAMES + 1))})
    with pytest.raises(ValueError, match="initial"):
        Param([1, 2], initial=3)
    with pytest.raises(TypeError, match="expected values"):
        make().figure(a=1)


def test_instances_are_registered_and_callbacks_can_be_timed():
    slider = make()
    assert any(s is slider for s in FrameSlider.instances())
    timings = slider.time_callbacks(repeats=2)
    assert len(timings) == 2 * slider.n_frames and min(timings) > 0


def test_a_live_move_shows_the_precomputed_frame():
    slider = make()
    timings = slider.time_live_updates(repeats=2)
    # 6 positions visited twice; a move changes one or both sliders.
    assert len(timings) >= 2 * (slider.n_frames - 1) and min(timings) > 0
    assert len(slider._cache) == slider.n_frames, "every frame rendered once"
    box = slider.widget()
    box.children[0].value = 0  # the sliders hold indices into the values
    assert bytes(box.children[-1].value) == slider.callback(a=1, b="x")


def test_frames_do_not_depend_on_the_frames_drawn_before():
    """The renderer is shared between frames; no frame may leak into the next."""
    shared, direct = make(), make()
    for a in (1, 2, 3):
        shared.callback(a=a, b="x")
    direct.callback(a=1, b="x")  # the first frame sets the panel positions
    assert shared.callback(a=3, b="y") == direct.callback(a=3, b="y")


def test_later_frames_are_not_laid_out_again(monkeypatch):
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    calls = []
    original = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(
        ConstrainedLayoutEngine,
        "execute",
        lambda self, fig: calls.append(fig) or original(self, fig),
    )
    slider = make()
    slider.callback(a=1, b="x")
    assert len(calls) == 1, "the first frame is laid out once"
    slider.callback(a=2, b="x")
    slider.callback(a=3, b="y")
    assert len(calls) == 1, "later frames reuse the first frame's panel positions"


def test_callback_frees_its_figures_and_restores_the_collector():
    import gc

    slider = FrameSlider(draw, {"a": Param([1, 2, 3])}, figsize=(2, 1.5), dpi=40)
    # Start from a process with no garbage at all.  One full collection is not always
    # enough: finalizers it runs (weakref callbacks of earlier tests' figures) can drop
    # the last reference to more cyclic garbage, which only the next collection finds;
    # after a long test session that was once a whole 29,161-object figure.
    for _ in range(10):
        if gc.collect() == 0:
            break
    else:
        pytest.fail("the process kept producing cyclic garbage on its own")
    slider.callback(a=2)
    # The frame's figure (a web of reference cycles) is already collected when the
    # callback returns, so a full collection right after it finds almost nothing; left
    # to the collector it would find the whole figure, thousands of objects.
    assert gc.collect() < 50
    assert gc.isenabled()
    gc.disable()
    try:
        slider.callback(a=3)
        assert not gc.isenabled(), "a caller's choice to pause the collector is kept"
    finally:
        gc.enable()


# -- accessibility of the static slider ----------------------------------------
def _frames(page):
    return re.findall(r'<img class="tying-slider-frame"[^>]*>', page)


def test_each_frame_alt_names_the_values_it_shows():
    slider = FrameSlider(
        draw,
        {"a": Param([1, 2, 3], label="σ", fmt="{:.1f}"), "b": ["x", "y"]},
        figsize=(2, 1.5),
        dpi=40,
        alt="A line of slope {a} ({a:.2f} exactly), curve {b}",
    )
    alts = [re.search(r'alt="([^"]*)"', tag).group(1) for tag in _frames(slider.static_html())]
    assert alts[0] == "A line of slope 1.0 (1.00 exactly), curve x"
    assert alts[5] == "A line of slope 3.0 (3.00 exactly), curve y"
    assert len(set(alts)) == 6


def test_alt_without_placeholders_gets_label_and_value():
    alts = [re.search(r'alt="([^"]*)"', t).group(1) for t in _frames(make().static_html())]
    assert alts[0] == "interactive figure; σ = 1.0, b = x"
    assert alts[3] == "interactive figure; σ = 2.0, b = y"


def test_alt_template_errors_are_caught_when_the_slider_is_made():
    with pytest.raises(ValueError, match="not slider parameters"):
        FrameSlider(draw, {"a": [1, 2]}, alt="slope {sigma}")
    with pytest.raises(ValueError, match="cannot be filled in"):
        FrameSlider(draw, {"b": ["x", "y"]}, alt="curve {b:.2f}")
    with pytest.raises(ValueError, match="describe"):
        FrameSlider(draw, {"a": [1, 2]}, alt=" ")


def test_static_controls_expose_the_shown_value_to_assistive_technology():
    page = make().static_html()
    inputs = re.findall(r'<input type="range"[^>]*>', page)
    assert len(inputs) == 2
    for tag in inputs:
        input_id = re.search(r'id="([^"]+)"', tag).group(1)
        # labelled, announced by value (not by index), and controlling the frames
        assert f'<label class="tying-slider-label" for="{input_id}"' in page
        assert re.search(f'<output[^>]*id="{input_id}-value"[^>]*for="{input_id}"', page)
        assert 'aria-controls="' in tag
    assert 'aria-valuetext="2.0"' in inputs[0] and 'value="1"' in inputs[0]
    assert 'aria-valuetext="x"' in inputs[1]
    outputs = re.findall(r"<output[^>]*>", page)
    assert all('aria-live="polite"' in o for o in outputs)
    assert 'setAttribute("aria-valuetext"' in page  # kept in step when the slider moves
    assert "callback" not in page and "latenc" not in page  # no timing on the page


def test_only_the_initial_frame_loads_eagerly():
    page = make().static_html()
    frames = _frames(page)
    eager = [f for f in frames if "hidden" not in f]
    assert len(eager) == 1 and 'data-frame="2"' in eager[0]
    assert "loading=" not in eager[0]
    lazy = [f for f in frames if " hidden " in f]
    assert len(lazy) == 5
    assert all('loading="lazy"' in f and 'decoding="async"' in f for f in lazy)
    # 2 x 1.5 inches at 40 dpi: each frame keeps its place before it loads
    assert all('width="80" height="60"' in f for f in frames)


def test_frame_text_stays_legible_on_a_phone():
    from matplotlib.text import Text

    from tying.widgets import MIN_PHONE_TEXT_PX, PHONE_COLUMN_PX

    def tiny(fig, a):
        ax = fig.subplots()
        ax.plot([0, 1], [0, a], label="line")
        ax.legend(fontsize=5)
        ax.tick_params(labelsize=4)
        ax.text(0.5, 0.5, "note", fontsize=3)

    slider = FrameSlider(tiny, {"a": [1, 2]}, figsize=(7.6, 3.2))
    fig = slider.figure(a=1)
    fig.canvas.draw()  # creates every tick label
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    shown_px = min(sizes) / 72 * PHONE_COLUMN_PX / slider.figsize[0]
    assert shown_px >= MIN_PHONE_TEXT_PX - 1e-9


# -- the live widget on ipywidgets 8 and 7 ---------------------------------------
VIEW = "application/vnd.jupyter.widget-view+json"


def test_widget_view_on_ipywidgets_8():
    bundle = make()._repr_mimebundle_()
    view = bundle[VIEW]
    assert view["model_id"] and view["version_major"] == 2


class FakeBox7:
    """What an ipywidgets 7.x VBox offers: a model id, and no _repr_mimebundle_."""

    def __init__(self, children):
        self.children = children
        self.model_id = "0123abcd"


def test_widget_view_on_ipywidgets_7_is_built_from_the_model_id(monkeypatch):
    import ipywidgets

    monkeypatch.setattr(ipywidgets, "VBox", FakeBox7)
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")
    assert not hasattr(ipywidgets.VBox([]), "_repr_mimebundle_")
    bundle = make()._repr_mimebundle_()
    assert bundle[VIEW] == {"version_major": 2, "version_minor": 0, "model_id": "0123abcd"}
    assert "tying-slider" in bundle["text/html"]


def test_a_failing_live_view_warns_once_and_keeps_the_static_frames(monkeypatch):
    slider = make()

    def broken():
        raise AttributeError("'VBox' object has no attribute 'comm'")

    monkeypatch.setattr(slider, "widget", broken)
    with pytest.warns(RuntimeWarning, match=r"no live slider \(AttributeError: 'VBox'") as caught:
        bundle = slider._repr_mimebundle_()
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert VIEW not in bundle and "tying-slider-frame" in bundle["text/html"]


def test_book_build_asks_for_static_sliders_only(monkeypatch, recwarn):
    monkeypatch.setenv("TYING_WIDGETS", "0")
    bundle = make()._repr_mimebundle_()
    assert VIEW not in bundle and "tying-slider" in bundle["text/html"]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_title_the_larger_font_widens_is_wrapped_to_its_panel():
    def titled(fig, a):
        left, right = fig.subplots(1, 2)
        left.set_title("a long panel title that no phone could show on one line", fontsize=6)
        right.set_title(f"$a = {a}$")  # maths is never broken

    fig = FrameSlider(titled, {"a": [1, 2]}, figsize=(7.6, 3.2)).figure(a=1)
    left, right = fig.axes
    assert "\n" in left.get_title() and "\n" not in right.get_title()
