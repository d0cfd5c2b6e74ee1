"""Part II, chapter 4: sets and graphs.

* Digit sums: sets of 2 to 6 handwritten digits, the target is the sum of
  their values.  A Deep Sets model (one element network shared by every member)
  is compared with an MLP on the zero-padded concatenation, on set sizes seen
  in training and on larger ones.
* Graphs: random graphs whose node targets (the degree and the number of
  walks of length two) a two-round message-passing network learns with one
  message function shared by all edges; it is trained on small graphs and
  tested on larger ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..data import digits, train_test_split_indices
from ..device import get_device, seed_everything
from ..layers.message_passing import SharedMessagePassing
from ..layers.sets import DeepSets
from ..training import progress_enabled

__all__ = [
    "sample_digit_sets",
    "make_set_model",
    "evaluate_set_model",
    "run_digit_sum_experiment",
    "random_graph",
    "graph_targets",
    "batch_graphs",
    "GraphRegressor",
    "run_graph_experiment",
    "hexagon_and_two_triangles",
]


# ---------------------------------------------------------------------------
# Sets of digits
# ---------------------------------------------------------------------------


def sample_digit_sets(
    images: torch.Tensor,
    labels: torch.Tensor,
    n_sets: int,
    size: int,
    generator: torch.Generator,
    pad_to: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n_sets`` sets of ``size`` digit images (with replacement) and their sums.

    Args:
        images: ``(M, 1, 8, 8)`` or ``(M, 64)``; flattened to 64 features.
        labels: ``(M,)`` digit values.
        pad_to: if given, append zero elements so every set has ``pad_to`` slots.

    Returns:
        ``x`` of shape ``(n_sets, size or pad_to, 64)`` and the float sums ``(n_sets,)``.
    """
    if pad_to is not None and pad_to < size:
        raise ValueError(f"cannot pad sets of size {size} to {pad_to}")
    flat = images.reshape(len(images), -1)
    idx = torch.randint(len(flat), (n_sets, size), generator=generator).to(flat.device)
    x = flat[idx]
    y = labels[idx].sum(dim=1).to(flat.dtype)
    if pad_to is not None and pad_to > size:
        x = torch.cat([x, x.new_zeros(n_sets, pad_to - size, x.shape[-1])], dim=1)
    return x, y


class _Squeeze(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(-1)


def make_set_model(
    kind: str,
    *,
    max_size: int = 12,
    hidden: int = 64,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """``"deepsets"``: ``rho(sum_i phi(x_i))``; ``"mlp"``: an MLP on ``max_size`` padded slots.

    The Deep Sets element network ``phi`` is a two-layer perceptron 64 -> hidden -> hidden
    shared by every element, and ``rho`` is linear: the target is itself a sum, so
    a linear read-out of the summed embeddings can represent it exactly for any set
    size.  The MLP sees the elements concatenated in the order given, zero-padded to
    ``max_size`` slots, through two hidden layers of ``hidden`` units.  Both
    return one number per set.
    """
    factory = {"device": device, "dtype": dtype}
    if kind == "deepsets":
        phi = nn.Sequential(
            nn.Linear(64, hidden, **factory),
            nn.ReLU(),
            nn.Linear(hidden, hidden, **factory),
            nn.ReLU(),
        )
        return DeepSets(phi, nn.Sequential(nn.Linear(hidden, 1, **factory), _Squeeze()))
    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(max_size * 64, hidden, **factory),
            nn.ReLU(),
            nn.Linear(hidden, hidden, **factory),
            nn.ReLU(),
            nn.Linear(hidden, 1, **factory),
            _Squeeze(),
        )
    raise ValueError(f"kind must be 'deepsets' or 'mlp', got {kind!r}")


@torch.no_grad()
def evaluate_set_model(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    sizes: Sequence[int],
    *,
    n_sets: int = 500,
    pad_to: int | None = None,
    seed: int = 12345,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute error and exact accuracy (rounded prediction = true sum) per set size.

    ``model`` may be any callable mapping ``(N, n, 64)`` to ``(N,)`` predictions.
    """
    if isinstance(model, nn.Module):
        model.eval()
    gen = torch.Generator().manual_seed(seed)
    mae, acc = [], []
    for size in sizes:
        x, y = sample_digit_sets(images, labels, n_sets, size, gen, pad_to)
        pred = model(x)
        mae.append((pred - y).abs().mean().item())
        acc.append((pred.round() == y).float().mean().item())
    return np.array(mae), np.array(acc)


def run_digit_sum_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    train_sizes: Sequence[int] = (2, 3, 4, 5, 6),
    test_sizes: Sequence[int] = tuple(range(1, 13)),
    *,
    steps: int = 1200,
    batch_size: int = 64,
    lr: float = 1e-2,
    hidden: int = 128,
    n_test_sets: int = 500,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train Deep Sets and a padded MLP to add up sets of digits; test on every size in ``test_sizes``.

    Training sets draw their digits from the training split and their size
    uniformly from ``train_sizes`` (one size per minibatch); test sets draw from
    the held-out split.  The MLP is built with ``max(test_sizes)`` slots so that
    it *can* be given the larger test sets, whose extra slots it only ever saw
    as zeros in training.  Both models see the same sets in the same order.
    Loss: mean absolute error of the sum (Adam).

    Returns:
        ``{"train_sizes", "test_sizes", "seeds", "seconds", "baseline_mae", "deepsets": {...},
        "mlp": {...}}``, each model entry with ``params`` and arrays ``mae`` and
        ``accuracy`` of shape ``(len(seeds), len(test_sizes))``.  ``baseline_mae``
        ``(len(seeds), len(test_sizes))`` is the error of the constant guess
        ``n * mean digit``, which knows the set size but looks at no image.
    """
    device = get_device(device)
    images, labels = digits(device=device)
    max_size = max(max(test_sizes), max(train_sizes))
    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(seeds), desc="training runs")
    start = time.perf_counter()
    shape = (len(seeds), len(test_sizes))
    results: dict = {
        "train_sizes": list(train_sizes),
        "test_sizes": list(test_sizes),
        "seeds": list(seeds),
    }
    for kind in ("deepsets", "mlp"):
        model = make_set_model(kind, max_size=max_size, hidden=hidden)
        results[kind] = {
            "params": sum(p.numel() for p in model.parameters()),
            "mae": np.zeros(shape),
            "accuracy": np.zeros(shape),
        }
    results["baseline_mae"] = np.zeros(shape)
    for s, seed in enumerate(seeds):
        train_idx, test_idx = train_test_split_indices(labels, test_fraction=0.3, seed=seed)
        mean_digit = labels[train_idx].float().mean()
        results["baseline_mae"][s] = evaluate_set_model(
            lambda x, m=float(mean_digit): x.new_full((len(x),), m * x.shape[1]),
            images[test_idx],
            labels[test_idx],
            test_sizes,
            n_sets=n_test_sets,
        )[0]
        for kind in ("deepsets", "mlp"):
            seed_everything(seed)
            model = make_set_model(kind, max_size=max_size, hidden=hidden, device=device)
            optimiser = torch.optim.Adam(model.parameters(), lr=lr)
            gen = torch.Generator().manual_seed(seed)
            pad = max_size if kind == "mlp" else None
            model.train()
            for _ in range(steps):
                size = train_sizes[int(torch.randint(len(train_sizes), (1,), generator=gen))]
                x, y = sample_digit_sets(
                    images[train_idx], labels[train_idx], batch_size, size, gen, pad
                )
                optimiser.zero_grad(set_to_none=True)
                loss = nn.functional.l1_loss(model(x), y)
                loss.backward()
                optimiser.step()
            mae, acc = evaluate_set_model(
                model,
                images[test_idx],
                labels[test_idx],
                test_sizes,
                n_sets=n_test_sets,
                pad_to=pad,
            )
            results[kind]["mae"][s] = mae
            results[kind]["accuracy"][s] = acc
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results


# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------


def random_graph(n: int, mean_degree: float, generator: torch.Generator) -> torch.Tensor:
    """An Erdős–Rényi graph on ``n`` nodes with edge probability ``mean_degree / (n - 1)``.

    Returns the ``edge_index`` ``(2, 2|E|)`` with both directions of every edge,
    so the expected degree is ``mean_degree`` whatever ``n`` is.
    """
    if n < 2:
        raise ValueError(f"need at least two nodes, got {n}")
    p = min(1.0, mean_degree / (n - 1))
    upper = torch.triu(torch.rand(n, n, generator=generator) < p, diagonal=1)
    i, j = upper.nonzero(as_tuple=True)
    return torch.stack([torch.cat([i, j]), torch.cat([j, i])])


def graph_targets(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    r"""Per-node targets ``(num_nodes, 2)``: the degree :math:`(A\mathbf 1)_i` and the number
    of walks of length two that start at the node, :math:`(A^2\mathbf 1)_i = \sum_{j \sim i} \deg j`."""
    adjacency = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    adjacency[edge_index[1], edge_index[0]] = 1.0
    degree = adjacency.sum(dim=1)
    return torch.stack([degree, adjacency @ degree], dim=1)


def batch_graphs(
    sizes: Sequence[int], mean_degree: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Several random graphs as one disconnected graph: ``(x, edge_index, targets)``.

    Node features ``x`` are all ones ``(V, 1)``: the network must find the
    structure from the edges alone.
    """
    edges, targets, offset = [], [], 0
    for n in sizes:
        e = random_graph(n, mean_degree, generator)
        targets.append(graph_targets(e, n))
        edges.append(e + offset)
        offset += n
    x = torch.ones(offset, 1)
    return x, torch.cat(edges, dim=1), torch.cat(targets).float()


class GraphRegressor(nn.Module):
    """Two rounds of :class:`SharedMessagePassing` and a linear per-node read-out."""

    def __init__(
        self,
        hidden: int = 32,
        outputs: int = 2,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.round1 = SharedMessagePassing(1, hidden, hidden=hidden, **factory)
        self.round2 = SharedMessagePassing(hidden, hidden, hidden=hidden, **factory)
        self.readout = nn.Linear(hidden, outputs, **factory)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.round1(x, edge_index))
        h = torch.relu(self.round2(h, edge_index))
        return self.readout(h)


def run_graph_experiment(
    train_sizes: tuple[int, int] = (8, 16),
    test_sizes: Sequence[int] = (12, 50, 200),
    *,
    mean_degree: float = 3.0,
    steps: int = 600,
    graphs_per_batch: int = 16,
    lr: float = 3e-3,
    hidden: int = 32,
    n_test_nodes: int = 2000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict:
    """Train a :class:`GraphRegressor` on small random graphs; test it on larger ones.

    Each step draws ``graphs_per_batch`` graphs with sizes uniform in
    ``train_sizes`` (inclusive) and mean degree ``mean_degree``.  For each test
    size, graphs of that size are drawn until about ``n_test_nodes`` nodes are
    collected.  Loss: mean squared error on both targets.

    Returns:
        ``{"test_sizes", "params", "mae" (len(test_sizes), 2), "mean_target"
        (len(test_sizes), 2), "losses", "seconds"}``; column 0 is the degree,
        column 1 the number of two-step walks.
    """
    device = get_device(device)
    seed_everything(seed)
    start = time.perf_counter()
    model = GraphRegressor(hidden, device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    lo, hi = train_sizes
    for _ in range(steps):
        sizes = torch.randint(lo, hi + 1, (graphs_per_batch,), generator=gen).tolist()
        x, edge_index, y = batch_graphs(sizes, mean_degree, gen)
        x, edge_index, y = x.to(device), edge_index.to(device), y.to(device)
        optimiser.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x, edge_index), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    model.eval()
    test_gen = torch.Generator().manual_seed(seed + 999)
    mae, mean_target = [], []
    with torch.no_grad():
        for n in test_sizes:
            count = max(1, round(n_test_nodes / n))
            x, edge_index, y = batch_graphs([n] * count, mean_degree, test_gen)
            pred = model(x.to(device), edge_index.to(device)).cpu()
            mae.append((pred - y).abs().mean(dim=0).numpy())
            mean_target.append(y.mean(dim=0).numpy())
    return {
        "test_sizes": list(test_sizes),
        "train_sizes": tuple(train_sizes),
        "params": sum(p.numel() for p in model.parameters()),
        "mae": np.stack(mae),
        "mean_target": np.stack(mean_target),
        "losses": np.array(losses),
        "model": model,
        "seconds": time.perf_counter() - start,
    }


def hexagon_and_two_triangles() -> tuple[torch.Tensor, torch.Tensor]:
    """Two graphs on six nodes, both 2-regular: a 6-cycle, and two disjoint triangles.

    Every node has degree two in both, so message passing that starts from
    identical node features cannot tell them apart, although each node of the
    second lies on a triangle and no node of the first does.
    """

    def cycle(nodes: list[int]) -> list[tuple[int, int]]:
        return [(a, nodes[(k + 1) % len(nodes)]) for k, a in enumerate(nodes)]

    def both_ways(pairs: list[tuple[int, int]]) -> torch.Tensor:
        src = [a for a, b in pairs] + [b for a, b in pairs]
        dst = [b for a, b in pairs] + [a for a, b in pairs]
        return torch.tensor([src, dst])

    return both_ways(cycle(list(range(6)))), both_ways(cycle([0, 1, 2]) + cycle([3, 4, 5]))
