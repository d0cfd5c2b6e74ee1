import pytest
import torch

from tying.device import ENV_VAR, get_device, seed_everything, synchronize


def test_default_is_an_available_device(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    device = get_device()
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert device.type == expected
    torch.zeros(2, device=device)  # and it is usable


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert get_device() == torch.device("cpu")


def test_explicit_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "not-a-device")
    assert get_device("cpu") == torch.device("cpu")


def test_invalid_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "gpu0")
    with pytest.raises(ValueError, match="TYING_DEVICE"):
        get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device()


def test_seed_everything_makes_draws_repeatable():
    seed_everything(123)
    a = torch.randn(5)
    seed_everything(123)
    assert torch.equal(a, torch.randn(5))


def test_synchronize_runs_on_every_device():
    synchronize(get_device())


def test_limit_threads_restores_the_setting():
    from tying.device import limit_threads

    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with limit_threads(None):
        assert torch.get_num_threads() == before
