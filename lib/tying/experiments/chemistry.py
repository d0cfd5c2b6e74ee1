"""Part II, "Computational chemistry": synthetic clusters with exact energies, and a tied/untied comparison.

The labels come from a physical pair potential, not from a learned model:
a Morse potential with element-dependent parameters, smoothly cut off at the
same radius the descriptors use, so the exact energy is a sum of local atomic
terms and a per-element network *can* represent it.

Atoms of two elements, ``A`` (0) and ``B`` (1), are placed one at a time next
to an already placed atom (so clusters are connected) and rejected when they
come closer than ``r_min`` to any atom.  Every cluster is stored in a
*canonical order*: all ``A`` atoms first, then all ``B`` atoms, each in the
order they were placed, much as files of real molecules list atoms in a
conventional order.  A model that reads atoms by position can learn that
order; one that is tied across atoms cannot depend on it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..device import get_device, seed_everything
from ..layers.atomistic import (
    AtomicEnergyModel,
    cosine_cutoff,
    pairwise_distances,
    radial_symmetry_functions,
)
from ..training import progress_enabled
from .signal import limit_threads

__all__ = [
    "MorsePotential",
    "random_cluster",
    "make_clusters",
    "shuffle_atoms",
    "DescriptorConfig",
    "describe",
    "index_types",
    "untied_inputs",
    "coordination_numbers",
    "run_atomistic_comparison",
]


@dataclass(frozen=True)
class MorsePotential:
    r"""Pairwise Morse energies with element-dependent parameters and a smooth cutoff.

    .. math::
        E = \sum_{i<j} D_{ab}\Big[\big(1 - e^{-\alpha_{ab}(r_{ij} - r^0_{ab})}\big)^2 - 1\Big]\, f_c(r_{ij}),
        \qquad a = Z_i,\; b = Z_j,

    with the cosine cutoff :math:`f_c` of :func:`~tying.layers.atomistic.cosine_cutoff`.
    Parameters are symmetric ``2 x 2`` tables indexed by element; the defaults
    make ``B`` larger and more weakly bound than ``A``.
    """

    depth: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.8), (0.8, 0.6))
    alpha: tuple[tuple[float, float], tuple[float, float]] = ((2.0, 1.8), (1.8, 1.6))
    r0: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 1.15), (1.15, 1.3))
    cutoff: float = 2.5

    def energy(self, positions: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        """Total energy of ``(N, 3)`` or ``(B, N, 3)`` structures (negative species = padding)."""
        dtype, dev = positions.dtype, positions.device
        tables = [
            torch.tensor(t, dtype=dtype, device=dev) for t in (self.depth, self.alpha, self.r0)
        ]
        z = species.clamp(min=0)
        zi, zj = z.unsqueeze(-1), z.unsqueeze(-2)
        d, a, r0 = (t[zi, zj] for t in tables)
        r = pairwise_distances(positions)
        pair = d * ((1 - torch.exp(-a * (r - r0))) ** 2 - 1) * cosine_cutoff(r, self.cutoff)
        real = species >= 0
        n = species.shape[-1]
        upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=dev), diagonal=1)
        keep = real.unsqueeze(-1) & real.unsqueeze(-2) & upper
        return (pair * keep).sum(dim=(-1, -2))


def random_cluster(
    species: Sequence[int],
    rng: np.random.Generator,
    r_min: float = 0.85,
    bond: tuple[float, float] = (0.9, 1.5),
    max_tries: int = 10_000,
) -> np.ndarray:
    """Positions ``(N, 3)`` for atoms of the given species, grown one atom at a time.

    Each new atom is put at a random direction and a distance drawn uniformly
    from ``bond`` around a randomly chosen placed atom, and redrawn if it would
    come closer than ``r_min`` to any placed atom.
    """
    positions = [np.zeros(3)]
    tries = 0
    while len(positions) < len(species):
        tries += 1
        if tries > max_tries:
            raise RuntimeError("could not place all atoms; loosen r_min or bond")
        anchor = positions[rng.integers(len(positions))]
        direction = rng.standard_normal(3)
        candidate = anchor + rng.uniform(*bond) * direction / np.linalg.norm(direction)
        if min(np.linalg.norm(candidate - p) for p in positions) >= r_min:
            positions.append(candidate)
    pos = np.array(positions)
    return pos - pos.mean(axis=0)


def make_clusters(
    n_clusters: int,
    sizes: Sequence[int],
    *,
    seed: int = 0,
    max_atoms: int | None = None,
    fraction_b: float = 0.5,
    fragments: int = 1,
    separation: float = 10.0,
    potential: MorsePotential | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict:
    """``n_clusters`` random clusters with sizes drawn from ``sizes``, in canonical order, padded.

    With ``fragments > 1`` every structure is made of that many independent
    clusters of the drawn size, lined up along the x axis with gaps of
    ``separation`` (beyond the cutoff, so they do not interact): a bigger
    system built only from environments of the kind seen in training.

    Returns:
        ``{"positions": (M, N_max, 3), "species": (M, N_max) int64 with -1 padding,
        "n_atoms": (M,), "energy": (M,)}`` (float64 tensors by default), where the
        energy is exact under ``potential``.
    """
    potential = potential or MorsePotential()
    rng = np.random.default_rng(seed)
    if fragments < 1:
        raise ValueError(f"fragments must be at least 1, got {fragments}")
    if separation <= potential.cutoff:
        raise ValueError(f"separation must exceed the cutoff {potential.cutoff}, got {separation}")
    n_max = max_atoms or fragments * max(sizes)
    if fragments * max(sizes) > n_max:
        raise ValueError(
            f"structures of up to {fragments * max(sizes)} atoms do not fit max_atoms={n_max}"
        )
    positions = np.zeros((n_clusters, n_max, 3))
    species = -np.ones((n_clusters, n_max), dtype=np.int64)
    n_atoms = fragments * rng.choice(np.asarray(sizes), size=n_clusters)
    for m, n in enumerate(n_atoms):
        z = (rng.random(n) < fraction_b).astype(np.int64)
        per = n // fragments
        parts = [random_cluster(z[f * per : (f + 1) * per], rng) for f in range(fragments)]
        for f in range(1, fragments):  # the gap between neighbouring fragments is `separation`
            parts[f][:, 0] += parts[f - 1][:, 0].max() + separation - parts[f][:, 0].min()
        pos = np.concatenate(parts)
        order = np.argsort(z, kind="stable")  # canonical: A atoms first, then B, in placement order
        positions[m, :n], species[m, :n] = pos[order], z[order]
    pos_t = torch.tensor(positions, dtype=dtype)
    species_t = torch.tensor(species)
    return {
        "positions": pos_t,
        "species": species_t,
        "n_atoms": torch.tensor(n_atoms),
        "energy": potential.energy(pos_t, species_t),
    }


def shuffle_atoms(data: dict, seed: int = 0) -> dict:
    """The same clusters with the real atoms of each one listed in a random order (padding stays last)."""
    g = torch.Generator().manual_seed(seed)
    positions, species = data["positions"].clone(), data["species"].clone()
    for m, n in enumerate(data["n_atoms"].tolist()):
        perm = torch.randperm(n, generator=g)
        positions[m, :n] = positions[m, :n][perm]
        species[m, :n] = species[m, :n][perm]
    return {**data, "positions": positions, "species": species}


@dataclass(frozen=True)
class DescriptorConfig:
    """Radial symmetry functions: ``len(centers)`` Gaussians per neighbour element."""

    centers: tuple[float, ...] = field(
        default_factory=lambda: tuple(float(c) for c in np.linspace(0.8, 2.4, 8).round(4))
    )
    eta: float = 4.0
    cutoff: float = 2.5
    num_species: int = 2

    @property
    def size(self) -> int:
        return self.num_species * len(self.centers)


def describe(data: dict, config: DescriptorConfig | None = None) -> torch.Tensor:
    """Descriptors ``(M, N_max, S*K)`` of a padded batch of clusters (zero rows for padding)."""
    config = config or DescriptorConfig()
    return radial_symmetry_functions(
        data["positions"],
        data["species"],
        config.num_species,
        config.centers,
        config.eta,
        config.cutoff,
    )


def index_types(species: torch.Tensor) -> torch.Tensor:
    """Per-atom-index types for the untied model: atom ``k`` of a cluster gets type ``k`` (padding -1)."""
    index = torch.arange(species.shape[-1], device=species.device).expand_as(species)
    return torch.where(species >= 0, index, torch.full_like(species, -1))


def coordination_numbers(data: dict, cutoff: float = 2.5) -> np.ndarray:
    """How many neighbours each real atom has within ``cutoff``: one integer per atom, all clusters."""
    r = pairwise_distances(data["positions"])
    real = data["species"] >= 0
    eye = torch.eye(r.shape[-1], dtype=torch.bool)
    pair = real.unsqueeze(-1) & real.unsqueeze(-2) & ~eye
    return ((r < cutoff) & pair).sum(-1)[real].numpy()


def untied_inputs(
    descriptors: torch.Tensor, species: torch.Tensor, num_species: int
) -> torch.Tensor:
    """The untied networks are not per element, so they are told each atom's element explicitly."""
    onehot = torch.nn.functional.one_hot(species.clamp(min=0), num_species).to(descriptors.dtype)
    return torch.cat([descriptors, onehot * (species >= 0).unsqueeze(-1)], dim=-1)


def run_atomistic_comparison(
    *,
    n_train: int = 300,
    n_test: int = 200,
    n_large: int = 100,
    train_sizes: Sequence[int] = (4, 5, 6, 7, 8),
    large_size: int = 12,
    hidden: Sequence[int] = (32, 32),
    steps: int = 1500,
    lr: float = 3e-3,
    seeds: Sequence[int] = (0,),
    config: DescriptorConfig | None = None,
    num_threads: int | None = 1,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train a tied (per-element) and an untied (per-atom-index) atomic energy model on the same clusters.

    Both models sum one network output per atom over the same radial
    descriptors; the tied one has one network per element, the untied one a
    network per position in the canonical atom order (with the element given
    as a one-hot input), for positions up to ``large_size``.  Both are trained
    full-batch with Adam on the mean squared error of total energies, on
    ``n_train`` clusters of ``train_sizes`` atoms, and evaluated on

    * ``"test"``: ``n_test`` new clusters of the training sizes, canonical order;
    * ``"shuffled"``: the same clusters with their atoms listed in random order;
    * ``"large"``: ``n_large`` clusters of ``large_size`` atoms, canonical order;
    * ``"separated"``: ``n_large`` systems of ``large_size`` atoms made of two
      non-interacting clusters of half that size (local environments like the training ones).

    Errors are mean absolute errors *per atom*, in the potential's energy unit.
    The networks are small, so on a CPU they are trained on ``num_threads``
    threads (see :func:`~tying.experiments.signal.limit_threads`).

    Returns:
        ``{"tied": {...}, "untied": {...}, "params", "seconds", "energy_scale", ...}``
        where each model entry holds arrays over ``seeds`` for ``"train"``,
        ``"test"``, ``"shuffled"``, ``"large"`` and ``"separated"``, plus
        ``"losses"`` (the last seed's training curve), ``"predictions"``
        (energies predicted on each set) and ``"model"`` (the last seed's trained
        model); ``"energies"`` holds the exact energies of each set.
    """
    device = get_device(device)
    config = config or DescriptorConfig()
    show = progress_enabled() if progress is None else progress
    start = time.perf_counter()
    splits = ("train", "test", "shuffled", "large", "separated")
    results: dict = {
        "seeds": list(seeds),
        "train_sizes": list(train_sizes),
        "large_size": large_size,
        "tied": {k: np.zeros(len(seeds)) for k in splits},
        "untied": {k: np.zeros(len(seeds)) for k in splits},
    }
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(seeds) * steps, desc="training steps")
    with limit_threads(num_threads, device):
        for s, seed in enumerate(seeds):
            data = {
                "train": make_clusters(
                    n_train, train_sizes, seed=1000 * seed + 1, max_atoms=large_size
                ),
                "test": make_clusters(
                    n_test, train_sizes, seed=1000 * seed + 2, max_atoms=large_size
                ),
                "large": make_clusters(
                    n_large, (large_size,), seed=1000 * seed + 3, max_atoms=large_size
                ),
                "separated": make_clusters(
                    n_large,
                    (large_size // 2,),
                    seed=1000 * seed + 5,
                    max_atoms=large_size,
                    fragments=2,
                ),
            }
            data["shuffled"] = shuffle_atoms(data["test"], seed=1000 * seed + 4)
            prepared = {}
            for name, d in data.items():
                g = describe(d, config).to(torch.float32)
                # Flatten the padded batch once: (atoms, features), types and molecule index.
                real = d["species"] >= 0
                molecule = torch.arange(len(real)).unsqueeze(1).expand_as(real)[real].to(device)
                untied_x = untied_inputs(g, d["species"], config.num_species)
                prepared[name] = {
                    "tied": (
                        g[real].to(device),
                        d["species"][real].to(device),
                        molecule,
                        len(real),
                    ),
                    "untied": (
                        untied_x[real].to(device),
                        index_types(d["species"])[real].to(device),
                        molecule,
                        len(real),
                    ),
                    "energy": d["energy"].to(torch.float32).to(device),
                    "n_atoms": d["n_atoms"].to(torch.float32).to(device),
                }
            scale = prepared["train"]["energy"].std().item()
            results["energy_scale"] = scale
            for kind in ("tied", "untied"):
                seed_everything(seed)
                if kind == "tied":
                    model = AtomicEnergyModel(
                        config.num_species, config.size, hidden, device=device
                    )
                else:
                    model = AtomicEnergyModel(
                        large_size, config.size + config.num_species, hidden, device=device
                    )
                results.setdefault("params", {})[kind] = sum(p.numel() for p in model.parameters())
                optimiser = torch.optim.Adam(model.parameters(), lr=lr)
                inputs = prepared["train"][kind]
                target = prepared["train"]["energy"] / scale
                losses = []
                for _ in range(steps):
                    optimiser.zero_grad(set_to_none=True)
                    loss = (model(*inputs) - target).pow(2).mean()
                    loss.backward()
                    optimiser.step()
                    losses.append(loss.item())
                    if bar is not None:
                        bar.update()
                results[kind]["losses"] = losses
                with torch.no_grad():
                    for name in splits:
                        pred = model(*prepared[name][kind]) * scale
                        err = (pred - prepared[name]["energy"]).abs() / prepared[name]["n_atoms"]
                        results[kind][name][s] = err.mean().item()
                        results[kind].setdefault("predictions", {})[name] = pred.cpu().numpy()
                        results.setdefault("energies", {})[name] = (
                            prepared[name]["energy"].cpu().numpy()
                        )
                results[kind]["model"] = model
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results
