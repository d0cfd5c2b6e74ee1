import pytest
import torch

from tying.data import digits, shift_images, train_test_split_indices


def test_digits_are_offline_tensors():
    images, labels = digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (1797,) and labels.dtype == torch.int64
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert set(labels.tolist()) == set(range(10))


def test_shift_moves_content_without_wrapping():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = 1.0
    assert shift_images(x, 1, 2)[0, 0, 2, 3] == 1.0
    assert shift_images(x, -1, 0)[0, 0, 0, 1] == 1.0
    assert shift_images(x, 0, 3).sum() == 0  # moved out of the frame: gone, not wrapped
    assert torch.equal(shift_images(x, 0, 0), x)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        shift_images(torch.zeros(4, 4), 1, 1)


def test_split_is_stratified_disjoint_and_balanced_in_prefixes():
    _, labels = digits()
    train, test = train_test_split_indices(labels, 0.3, seed=0)
    assert len(set(train.tolist()) & set(test.tolist())) == 0
    assert len(train) + len(test) == len(labels)
    counts = torch.bincount(labels[train[:50]], minlength=10)
    assert counts.min() >= 4  # a 50-image prefix has every class
    with pytest.raises(ValueError):
        train_test_split_indices(labels, 1.5)


def test_python_help_text_is_the_frozen_corpus_on_every_python():
    import hashlib

    from tying.data import PYTHON_HELP_CHARS, python_help_text

    text = python_help_text()
    assert len(text) == PYTHON_HELP_CHARS == 464_970
    # The frozen file, not the running interpreter's pydoc_data: its digest is fixed.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == "37d06970fc926e60c16dff401e441b84752446a36b6b64516c229fdec77e992c"
    assert text.startswith('The "assert" statement')
    assert python_help_text(100) == text[:100]
    assert python_help_text(0) == ""


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
def test_python_help_text_refuses_bad_lengths(bad):
    from tying.data import python_help_text

    with pytest.raises((TypeError, ValueError), match="n_chars"):
        python_help_text(bad)
