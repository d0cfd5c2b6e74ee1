"""The chapter experiments, run at a tiny size so that the code the book runs is tested."""

import numpy as np

from tying.experiments.inductive_bias import make_digit_net, run_size_sweep


def test_size_sweep_shapes_and_ranges():
    results = run_size_sweep(sizes=(20, 40), seeds=(0,), shifts=(0, 2), steps=5, progress=False)
    for kind in ("conv", "local"):
        r = results[kind]
        assert r["train"].shape == (1, 2) and r["shifted"].shape == (1, 2, 2)
        assert np.all((0 <= r["test"]) & (r["test"] <= 1))
        assert np.allclose(r["shifted"][:, :, 0], r["test"])  # shift 0 is the test set
    assert results["conv"]["params"] == 5_130 and results["local"]["params"] == 84_810


def test_networks_differ_only_in_tying():
    conv, local = make_digit_net("conv"), make_digit_net("local")
    kinds = [type(m).__name__ for m in conv], [type(m).__name__ for m in local]
    assert kinds[0] == [k.replace("LocallyConnected2d", "Conv2d") for k in kinds[1]]
