r"""Atomistic models: one network per chemical element, shared by every atom of that element.

A Behler–Parrinello potential (Behler and Parrinello, 2007) writes the energy
of a structure as a sum of atomic contributions,

.. math::
    E = \sum_{i=1}^{N} \mathrm{NN}_{Z_i}(G_i),

where :math:`G_i` describes the neighbourhood of atom :math:`i` by
*symmetry functions* (sums over neighbours of functions of distances and
angles) and :math:`\mathrm{NN}_{Z}` is one network per element :math:`Z`.
Tying the network across all atoms of an element is what makes the energy
invariant to relabelling atoms and lets one model handle any number of them.

Descriptors here follow Behler (2011): a smooth cosine cutoff, Gaussian radial
functions and (optionally) the angular functions, each resolved by the element
of the neighbour(s).  Species are integer labels ``0 .. S-1``; a negative label
marks a padding slot, so molecules of different sizes can share one batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._validation import check_tensor

__all__ = [
    "cosine_cutoff",
    "pairwise_distances",
    "radial_symmetry_functions",
    "angular_symmetry_functions",
    "AtomicEnergyModel",
]

_ACTIVATIONS = {"tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus}


def _check_structure(positions: torch.Tensor, species: torch.Tensor) -> None:
    check_tensor(positions, "positions")
    if positions.dim() not in (2, 3) or positions.shape[-1] != 3:
        raise ValueError(f"positions must be (N, 3) or (B, N, 3), got {tuple(positions.shape)}")
    if species.shape != positions.shape[:-1]:
        raise ValueError(
            f"species must have shape {tuple(positions.shape[:-1])} to match positions, "
            f"got {tuple(species.shape)}"
        )
    if species.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"species must be an integer tensor, got {species.dtype}")


def cosine_cutoff(r: torch.Tensor, cutoff: float) -> torch.Tensor:
    r""":math:`f_c(r) = \tfrac12\big(\cos(\pi r / r_c) + 1\big)` for :math:`r < r_c`, else 0.

    It and its first derivative go to zero at the cutoff, so atoms entering or
    leaving the sphere change nothing abruptly.
    """
    if cutoff <= 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    inside = r < cutoff
    return torch.where(inside, 0.5 * (torch.cos(math.pi * r / cutoff) + 1.0), torch.zeros_like(r))


def pairwise_distances(positions: torch.Tensor) -> torch.Tensor:
    """``(..., N, N)`` distances; the diagonal is exactly zero (and its gradient finite)."""
    diff = positions.unsqueeze(-2) - positions.unsqueeze(-3)
    sq = (diff**2).sum(-1)
    eye = torch.eye(positions.shape[-2], dtype=torch.bool, device=positions.device)
    # sqrt has an infinite derivative at 0: keep the diagonal away from it.
    return torch.where(
        eye, torch.zeros_like(sq), torch.sqrt(torch.where(eye, torch.ones_like(sq), sq))
    )


def _neighbour_weights(species: torch.Tensor, num_species: int) -> torch.Tensor:
    """``(..., N, N, S)``: 1 where ``j != i``, both atoms are real and atom ``j`` is of element ``s``."""
    n = species.shape[-1]
    real = species >= 0
    eye = torch.eye(n, dtype=torch.bool, device=species.device)
    pair = real.unsqueeze(-1) & real.unsqueeze(-2) & ~eye
    onehot = nn.functional.one_hot(species.clamp(min=0), num_species).to(
        torch.bool
    ) & real.unsqueeze(-1)
    return pair.unsqueeze(-1) & onehot.unsqueeze(-3)


def radial_symmetry_functions(
    positions: torch.Tensor,
    species: torch.Tensor,
    num_species: int,
    centers: Sequence[float] | torch.Tensor,
    eta: float,
    cutoff: float,
) -> torch.Tensor:
    r"""Element-resolved radial symmetry functions (Behler's :math:`G^2`).

    .. math::
        G_{i,(s,m)} = \sum_{j \ne i,\; Z_j = s} e^{-\eta (r_{ij} - \mu_m)^2} f_c(r_{ij}),

    one value for every neighbour element :math:`s` and Gaussian centre
    :math:`\mu_m`.  Sums over neighbours make :math:`G_i` invariant to
    translations, rotations and reflections of the structure and to any
    relabelling of the *other* atoms.

    Args:
        positions: ``(N, 3)`` or ``(B, N, 3)``.
        species: ``(N,)`` or ``(B, N)`` integers in ``[0, num_species)``; negative marks padding.
        num_species: number of elements :math:`S`.
        centers: Gaussian centres :math:`\mu_m`, ``M`` values.
        eta: Gaussian width parameter :math:`\eta`.
        cutoff: cutoff radius :math:`r_c`.

    Returns:
        ``(N, S*M)`` or ``(B, N, S*M)``, ordered element-major; rows of padding atoms are zero.
    """
    _check_structure(positions, species)
    mu = torch.as_tensor(centers, dtype=positions.dtype, device=positions.device)
    r = pairwise_distances(positions)
    radial = torch.exp(-eta * (r.unsqueeze(-1) - mu) ** 2) * cosine_cutoff(r, cutoff).unsqueeze(-1)
    weights = _neighbour_weights(species, num_species).to(positions.dtype)  # (..., N, N, S)
    g = torch.einsum("...ijs,...ijm->...ism", weights, radial)
    return g.reshape(*g.shape[:-2], num_species * len(mu))


def angular_symmetry_functions(
    positions: torch.Tensor,
    species: torch.Tensor,
    num_species: int,
    zetas: Sequence[float],
    eta: float,
    cutoff: float,
    lambdas: Sequence[float] = (-1.0, 1.0),
) -> torch.Tensor:
    r"""Element-pair-resolved angular symmetry functions (Behler's :math:`G^4`).

    .. math::
        G_{i,(s,t,\zeta,\lambda)} = 2^{1-\zeta} \sum_{\substack{j \ne k \ne i \\ Z_j = s,\, Z_k = t}}
        (1 + \lambda \cos\theta_{ijk})^{\zeta}\, e^{-\eta (r_{ij}^2 + r_{ik}^2 + r_{jk}^2)}
        f_c(r_{ij}) f_c(r_{ik}) f_c(r_{jk}),

    for every unordered element pair :math:`s \le t`.  Costs :math:`O(N^3)` per
    structure: meant for the small clusters of the book.

    Returns:
        ``(N, P*Z*L)`` or ``(B, N, P*Z*L)`` with :math:`P = S(S+1)/2` element pairs,
        ``Z = len(zetas)`` and ``L = len(lambdas)``.
    """
    _check_structure(positions, species)
    r = pairwise_distances(positions)
    fc = cosine_cutoff(r, cutoff)
    diff = positions.unsqueeze(-2) - positions.unsqueeze(-3)  # diff[..., i, j] = x_i - x_j
    safe = torch.where(r > 0, r, torch.ones_like(r))
    unit = diff / safe.unsqueeze(-1)
    cos = torch.einsum("...ijc,...ikc->...ijk", unit, unit)  # angle j-i-k
    radial = torch.exp(-eta * r**2) * fc
    # term[i, j, k] = exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) fc_ij fc_ik fc_jk
    term = radial.unsqueeze(-1) * radial.unsqueeze(-2) * radial.unsqueeze(-3)
    w = _neighbour_weights(species, num_species).to(positions.dtype)  # (..., i, j, s)
    n = positions.shape[-2]
    distinct = ~torch.eye(n, dtype=torch.bool, device=positions.device)  # j != k
    out = []
    for s in range(num_species):
        for t in range(s, num_species):
            mask = w[..., :, :, s].unsqueeze(-1) * w[..., :, :, t].unsqueeze(-2) * distinct
            for zeta in zetas:
                for lam in lambdas:
                    shape = (1.0 + lam * cos).clamp(min=0.0) ** zeta
                    g = (2.0 ** (1.0 - zeta)) * (shape * term * mask).sum(dim=(-1, -2))
                    out.append(g)
    return torch.stack(out, dim=-1)


class AtomicEnergyModel(nn.Module):
    r"""Energy as a sum of atomic energies, with one MLP per atom *type* shared by all atoms of that type.

    .. math::
        E = \sum_{i} \mathrm{NN}_{Z_i}(G_i), \qquad
        \mathrm{NN}_Z : \mathbb R^D \to \mathbb R \text{ an MLP, one per type } Z .

    With types = chemical elements this is the Behler–Parrinello model: the
    network of an element is tied across every atom of that element, so
    permuting atoms of the same element cannot change the energy, and a
    structure of any size is handled by the same weights.  Passing the atom's
    *index* as its type instead gives the untied control model, one network
    per position in a fixed atom order.

    Args:
        num_types: number of atom types :math:`S` (networks).
        descriptor_size: length :math:`D` of each atom's descriptor :math:`G_i`.
        hidden: widths of the hidden layers of every network.
        activation: ``"tanh"`` (default, as Behler and Parrinello), ``"silu"`` or ``"softplus"``.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - ``descriptors``: :math:`(A, D)` for :math:`A` atoms, with ``types`` :math:`(A)` and optionally
          ``molecule`` :math:`(A)` giving each atom's structure index; **or** padded
          :math:`(B, N, D)` with ``types`` :math:`(B, N)`, negative types marking padding.
        - Output: :math:`(M)` energies (``molecule`` given, ``M = num_molecules`` or ``max + 1``),
          :math:`(B)` for padded input, or a scalar for one structure.

    Attributes:
        nets: ``nn.ModuleList`` of the :math:`S` networks.

    Examples:
        >>> model = AtomicEnergyModel(num_types=2, descriptor_size=16)
        >>> g, z = torch.randn(5, 16), torch.tensor([0, 0, 1, 0, 1])
        >>> e = model(g, z)                 # one structure of five atoms
        >>> perm = torch.tensor([3, 1, 2, 0, 4])  # swap two atoms of type 0
        >>> torch.allclose(model(g[perm], z[perm]), e)
        True
    """

    def __init__(
        self,
        num_types: int,
        descriptor_size: int,
        hidden: Sequence[int] = (32, 32),
        activation: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if num_types <= 0 or descriptor_size <= 0:
            raise ValueError(
                f"num_types and descriptor_size must be positive, got {num_types}, {descriptor_size}"
            )
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        factory = {"device": device, "dtype": dtype}
        self.num_types = num_types
        self.descriptor_size = descriptor_size
        self.hidden = tuple(hidden)
        self.activation = activation
        widths = [descriptor_size, *self.hidden]

        def mlp() -> nn.Sequential:
            layers: list[nn.Module] = []
            for a, b in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(a, b, **factory), _ACTIVATIONS[activation]()]
            layers.append(nn.Linear(widths[-1], 1, **factory))
            return nn.Sequential(*layers)

        self.nets = nn.ModuleList(mlp() for _ in range(num_types))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset every network as ``nn.Linear`` does, with the last layer scaled down tenfold.

        A small read-out makes every atomic energy start near zero, so the sum
        over many atoms does not start far from the targets.
        """
        for net in self.nets:
            for module in net:
                if isinstance(module, nn.Linear):
                    module.reset_parameters()
            with torch.no_grad():
                net[-1].weight.mul_(0.1)
                net[-1].bias.zero_()

    def atomic_energies(self, descriptors: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """``(A,)``: the contribution :math:`\\mathrm{NN}_{Z_i}(G_i)` of every atom (zero for padding)."""
        check_tensor(descriptors, "descriptors")
        if descriptors.dim() != 2 or descriptors.shape[-1] != self.descriptor_size:
            raise ValueError(
                f"{type(self).__name__} expected descriptors of shape (A, {self.descriptor_size}), "
                f"got {tuple(descriptors.shape)}"
            )
        if types.shape != descriptors.shape[:1]:
            raise ValueError(
                f"types must have shape ({descriptors.shape[0]},), got {tuple(types.shape)}"
            )
        if types.numel() and int(types.max()) >= self.num_types:
            raise ValueError(
                f"types must be < num_types = {self.num_types}, got {int(types.max())}"
            )
        energies = descriptors.new_zeros(descriptors.shape[0])
        for t, net in enumerate(self.nets):
            idx = torch.nonzero(types == t, as_tuple=True)[0]
            if idx.numel():
                energies = energies.index_put((idx,), net(descriptors[idx]).squeeze(-1))
        return energies

    def forward(
        self,
        descriptors: torch.Tensor,
        types: torch.Tensor,
        molecule: torch.Tensor | None = None,
        num_molecules: int | None = None,
    ) -> torch.Tensor:
        if descriptors.dim() == 3:  # padded batch (B, N, D)
            if types.shape != descriptors.shape[:2]:
                raise ValueError(
                    f"types must have shape {tuple(descriptors.shape[:2])}, got {tuple(types.shape)}"
                )
            b, n, _ = descriptors.shape
            real = types.reshape(-1) >= 0
            molecule = torch.arange(b, device=descriptors.device).repeat_interleave(n)[real]
            return self.forward(
                descriptors.reshape(b * n, -1)[real], types.reshape(-1)[real], molecule, b
            )
        atomic = self.atomic_energies(descriptors, types)
        if molecule is None:
            return atomic.sum()
        if molecule.shape != atomic.shape:
            raise ValueError(
                f"molecule must have shape {tuple(atomic.shape)}, got {tuple(molecule.shape)}"
            )
        m = num_molecules if num_molecules is not None else int(molecule.max()) + 1
        return atomic.new_zeros(m).index_add(0, molecule, atomic)

    def extra_repr(self) -> str:
        return (
            f"num_types={self.num_types}, descriptor_size={self.descriptor_size}, "
            f"hidden={self.hidden}, activation={self.activation!r}"
        )
