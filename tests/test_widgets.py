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
        len(re.findall(r'data-frame="\d+" alt="[^"]*" src=', page)) == 1
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
