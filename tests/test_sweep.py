"""tying.sweep: bars for live readers, none in the book or the tests."""

import pytest

from tying.sweep import progress, progress_enabled


def test_progress_is_the_iterable_itself_when_bars_are_off(monkeypatch):
    monkeypatch.setenv("TYING_PROGRESS", "0")
    items = [3, 1, 2]
    assert not progress_enabled()
    assert progress(items, desc="seeds") is items


def test_progress_wraps_in_tqdm_when_bars_are_on(monkeypatch, capsys):
    tqdm = pytest.importorskip("tqdm")
    monkeypatch.setenv("TYING_PROGRESS", "1")
    wrapped = progress(range(4), desc="seeds")
    assert isinstance(wrapped, tqdm.std.tqdm)
    assert list(wrapped) == [0, 1, 2, 3]
