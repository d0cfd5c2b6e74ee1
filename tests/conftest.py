"""Shared fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def pytest_configure(config):
    """``TYING_TEST_DEVICE=cuda`` runs the layer tests with tensors on that device.

    ``tools/gpu_check.sh`` sets it on a machine with a GPU: every tensor and
    parameter a test creates without naming a device then lives there.
    """
    import os

    device = os.environ.get("TYING_TEST_DEVICE")
    if device:
        import torch

        torch.set_default_device(device)
