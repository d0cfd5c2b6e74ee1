"""Atomistic descriptors and the per-element energy model."""

import numpy as np
import pytest
import torch

from tying.layers import (
    AtomicEnergyModel,
    angular_symmetry_functions,
    cosine_cutoff,
    pairwise_distances,
    radial_symmetry_functions,
)

D = torch.float64
CENTERS = (0.9, 1.4, 2.0)


def cluster(n=6, seed=0):
    """Random atoms of two elements in a box, no two closer than 0.85."""
    rng = np.random.default_rng(seed)
    z = torch.tensor(rng.integers(0, 2, size=n))
    while True:
        pos = rng.uniform(-1.5, 1.5, size=(n, 3))
        gaps = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 9 * np.eye(n)
        if gaps.min() >= 0.85:
            return torch.tensor(pos), z


def radial(pos, z):
    return radial_symmetry_functions(pos, z, 2, CENTERS, eta=2.0, cutoff=2.5)


def angular(pos, z):
    return angular_symmetry_functions(pos, z, 2, zetas=(1.0, 2.0), eta=0.5, cutoff=2.5)


def random_rotation(seed=0):
    q, r = torch.linalg.qr(
        torch.randn(3, 3, dtype=D, generator=torch.Generator().manual_seed(seed))
    )
    return q * torch.sign(torch.diagonal(r))


def test_cosine_cutoff():
    r = torch.tensor([0.0, 1.25, 2.5, 3.0], dtype=D)
    assert torch.allclose(cosine_cutoff(r, 2.5), torch.tensor([1.0, 0.5, 0.0, 0.0], dtype=D))
    with pytest.raises(ValueError):
        cosine_cutoff(r, 0.0)


def test_pairwise_distances_have_finite_gradients():
    pos, _ = cluster()
    pos.requires_grad_(True)
    d = pairwise_distances(pos)
    assert torch.allclose(d, torch.cdist(pos, pos), atol=1e-12)
    d.sum().backward()
    assert torch.isfinite(pos.grad).all()


def test_radial_matches_a_loop():
    pos, z = cluster(5, seed=3)
    g = radial(pos, z)
    for i in range(5):
        for s in range(2):
            for m, mu in enumerate(CENTERS):
                total = 0.0
                for j in range(5):
                    if j != i and z[j] == s:
                        r = (pos[i] - pos[j]).norm()
                        total += torch.exp(-2.0 * (r - mu) ** 2) * cosine_cutoff(r, 2.5)
                assert torch.isclose(g[i, s * 3 + m], torch.as_tensor(total, dtype=D), atol=1e-12)


def test_angular_matches_a_loop():
    pos, z = cluster(5, seed=4)
    g = angular(pos, z)
    assert g.shape == (5, 3 * 2 * 2)
    pairs = [(0, 0), (0, 1), (1, 1)]
    col = 0
    for s, t in pairs:
        for zeta in (1.0, 2.0):
            for lam in (-1.0, 1.0):
                for i in range(5):
                    total = torch.zeros((), dtype=D)
                    for j in range(5):
                        for k in range(5):
                            if len({i, j, k}) < 3 or z[j] != s or z[k] != t:
                                continue
                            rij, rik, rjk = (
                                (pos[i] - pos[j]).norm(),
                                (pos[i] - pos[k]).norm(),
                                (pos[j] - pos[k]).norm(),
                            )
                            cos = torch.dot(pos[j] - pos[i], pos[k] - pos[i]) / (rij * rik)
                            fc = cosine_cutoff(torch.stack([rij, rik, rjk]), 2.5).prod()
                            total += (
                                (1 + lam * cos) ** zeta
                                * torch.exp(-0.5 * (rij**2 + rik**2 + rjk**2))
                                * fc
                            )
                    assert torch.isclose(g[i, col], 2 ** (1 - zeta) * total, atol=1e-12)
                col += 1


@pytest.mark.parametrize("describe_fn", [radial, angular])
def test_descriptors_are_invariant(describe_fn):
    pos, z = cluster(7, seed=1)
    g = describe_fn(pos, z)
    rot = random_rotation()
    shift = torch.tensor([1.0, -2.0, 0.3], dtype=D)
    assert torch.allclose(describe_fn(pos @ rot.T + shift, z), g, atol=1e-12)
    reflect = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=D))
    assert torch.allclose(describe_fn(pos @ reflect, z), g, atol=1e-12)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(describe_fn(pos[perm], z[perm]), g[perm], atol=1e-12)


def test_padding_and_batches():
    pos, z = cluster(5, seed=2)
    padded_pos = torch.cat([pos, torch.zeros(2, 3, dtype=D)])
    padded_z = torch.cat([z, torch.tensor([-1, -1])])
    g = radial(padded_pos, padded_z)
    assert torch.allclose(g[:5], radial(pos, z)) and torch.count_nonzero(g[5:]) == 0
    batch = radial(torch.stack([padded_pos, padded_pos]), torch.stack([padded_z, padded_z]))
    assert torch.allclose(batch[1], g)
    with pytest.raises(ValueError):
        radial(pos, z[:4])
    with pytest.raises(TypeError):
        radial(pos, z.float())


def test_model_is_permutation_invariant_and_extensive():
    pos, z = cluster(8, seed=5)
    model = AtomicEnergyModel(2, 6, hidden=(16,), dtype=D)
    e = model(radial(pos, z), z)
    for seed in range(3):
        perm = torch.randperm(8, generator=torch.Generator().manual_seed(seed))
        assert abs(model(radial(pos[perm], z[perm]), z[perm]) - e) < 1e-12
    far = torch.cat([pos, pos + torch.tensor([20.0, 0.0, 0.0], dtype=D)])
    zz = torch.cat([z, z])
    assert torch.isclose(model(radial(far, zz), zz), 2 * e, atol=1e-12)


def test_model_shares_one_network_per_type_and_batches():
    model = AtomicEnergyModel(3, 4, hidden=(5, 5), dtype=D)
    g = torch.randn(6, 4, dtype=D)
    t = torch.tensor([0, 2, 0, 1, 2, 0])
    atomic = model.atomic_energies(g, t)
    for i in range(6):
        assert torch.isclose(atomic[i], model.nets[int(t[i])](g[i]).squeeze())
    molecule = torch.tensor([0, 0, 1, 1, 1, 2])
    per_mol = model(g, t, molecule)
    assert torch.allclose(
        per_mol, torch.stack([atomic[:2].sum(), atomic[2:5].sum(), atomic[5:].sum()])
    )
    padded = torch.zeros(3, 3, 4, dtype=D)
    types = torch.full((3, 3), -1)
    for m, idx in enumerate(([0, 1], [2, 3, 4], [5])):
        padded[m, : len(idx)], types[m, : len(idx)] = g[idx], t[idx]
    assert torch.allclose(model(padded, types), per_mol)
    assert model(g, t, molecule, num_molecules=5).shape == (5,)


def test_forces_are_differentiable():
    pos, z = cluster(4, seed=6)
    model = AtomicEnergyModel(2, 6, hidden=(8,), dtype=D)
    pos.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: model(radial(p, z), z), (pos,))


def test_model_bad_inputs():
    model = AtomicEnergyModel(2, 4)
    with pytest.raises(ValueError, match=r"\(A, 4\)"):
        model(torch.randn(3, 5), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="num_types"):
        model(torch.randn(3, 4), torch.tensor([0, 2, 0]))
    with pytest.raises(ValueError):
        model(torch.randn(3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        AtomicEnergyModel(2, 4, activation="relu6")
    assert "num_types=2" in repr(model)
