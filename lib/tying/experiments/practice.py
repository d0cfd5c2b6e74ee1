"""Part II, tying in practice: a tiny tied language model and the ways real tooling breaks its tie.

Everything here runs on a CPU in seconds.  The model is a character-level
next-character predictor whose output layer reuses the input embedding, the
tie that language models use (Press & Wolf, 2017; Inan et al., 2017).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ..device import get_device, limit_threads, seed_everything
from ..ties import ties_across_units
from ..training import fit

__all__ = [
    "TiedCharLM",
    "char_bigrams",
    "torch_roundtrip",
    "build_on_meta",
    "run_tie_breaking_training",
    "checkpoint_sizes",
    "SharedLinear",
    "single_process_group",
    "try_fully_shard",
]


class TiedCharLM(nn.Module):
    """Embedding -> Linear -> tanh -> output layer whose weight *is* the embedding matrix.

    Args:
        vocab_size: number of characters.
        dim: embedding width.
        tie: tie the output weight to the embedding (default); ``False`` gives the untied twin.

    The tie is made in :meth:`tie_weights`, as Hugging Face models do, so that it
    can be made again after anything re-creates the parameters.
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int = 32,
        *,
        tie: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.tie = tie
        self.embed = nn.Embedding(vocab_size, dim, **factory)
        self.body = nn.Linear(dim, dim, **factory)
        self.head = nn.Linear(dim, vocab_size, bias=False, **factory)
        self.tie_weights()

    def tie_weights(self) -> None:
        """Point the output layer at the embedding's Parameter (no copy)."""
        if self.tie:
            self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.body(self.embed(tokens))))


def char_bigrams(
    n_chars: int = 20_000, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(current character, next character) pairs from the Python documentation in the standard library.

    Returns ``inputs`` and ``targets`` (int64, ``(n_chars - 1,)``) and the vocabulary.
    """
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))[:n_chars]
    vocab = sorted(set(text))
    lookup = {ch: i for i, ch in enumerate(vocab)}
    ids = torch.tensor([lookup[ch] for ch in text], dtype=torch.int64, device=device)
    return ids[:-1], ids[1:], vocab


def torch_roundtrip(obj: object) -> object:
    """``torch.save`` then ``torch.load`` through memory, as a checkpoint on disk would be."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def build_on_meta(
    vocab_size: int, dim: int, device: torch.device | str, *, retie: bool
) -> TiedCharLM:
    """Build on the meta device (no memory), then materialise with ``to_empty``.

    ``to_empty`` gives every parameter *name* fresh memory, so the tie made in
    ``__init__`` does not survive; ``retie=True`` calls ``tie_weights()`` afterwards.
    The memory is uninitialised: load a checkpoint or call ``reset_parameters`` next.
    """
    with torch.device("meta"):
        model = TiedCharLM(vocab_size, dim)
    model.to_empty(device=device)
    if retie:
        model.tie_weights()
    return model


def run_tie_breaking_training(
    *,
    dim: int = 32,
    n_chars: int = 20_000,
    steps: int = 200,
    batch_size: int = 512,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict:
    """Train one initialisation of :class:`TiedCharLM` four ways and record what the tie did.

    * ``tied``: the model as built;
    * ``assign``: loaded with ``load_state_dict(checkpoint, assign=True)``: two
      Parameter objects aliasing one memory (a half-broken tie);
    * ``meta``: built on the meta device, ``to_empty``, checkpoint loaded: two
      separate tensors that start equal (a silently untied model);
    * ``meta_retied``: the same, with ``tie_weights()`` called after ``to_empty``.

    All four start from the same values and see the same minibatches (Adam).

    Returns:
        ``{"steps", "seconds", <variant>: {"loss", "params", "drift", "tied"}}`` with the
        loss after every step, the parameter count the optimiser saw, the final
        largest ``|embedding - output weight|`` and whether the tie held.
    """
    from ..ties import tied_groups

    device = get_device(device)
    inputs, targets, vocab = char_bigrams(n_chars, device=device)
    seed_everything(seed)
    reference = TiedCharLM(len(vocab), dim, device=device)
    checkpoint = torch_roundtrip(reference.state_dict())

    def make(variant: str) -> TiedCharLM:
        if variant == "tied":
            model = TiedCharLM(len(vocab), dim, device=device)
            model.load_state_dict(checkpoint)
        elif variant == "assign":
            model = TiedCharLM(len(vocab), dim, device=device)
            model.load_state_dict(torch_roundtrip(checkpoint), assign=True)
        else:
            model = build_on_meta(len(vocab), dim, device, retie=(variant == "meta_retied"))
            model.load_state_dict(checkpoint)
        return model

    start = time.perf_counter()
    results: dict = {"steps": steps}
    for variant in ("tied", "assign", "meta", "meta_retied"):
        model = make(variant)
        with limit_threads(1):
            history = fit(
                model,
                inputs,
                targets,
                steps=steps,
                lr=lr,
                weight_decay=weight_decay,
                batch_size=batch_size,
                generator=torch.Generator().manual_seed(seed),
                progress=False,
            )
        with torch.no_grad():
            drift = (model.embed.weight - model.head.weight).abs().max().item()
        results[variant] = {
            "loss": np.asarray(history),
            "params": sum(p.numel() for p in model.parameters()),
            "drift": drift,
            "tied": bool(tied_groups(model)),
        }
    results["seconds"] = time.perf_counter() - start
    return results


class SharedLinear(nn.Module):
    """Two names for one ``Linear(100, 100)``: the example of the safetensors documentation."""

    def __init__(self, features: int = 100) -> None:
        super().__init__()
        self.a = nn.Linear(features, features)
        self.b = self.a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def checkpoint_sizes(model: nn.Module) -> dict[str, int]:
    """Bytes on disk of ``model`` saved four ways.

    * ``torch_shared``: ``torch.save(model.state_dict())``: tied tensors stored once;
    * ``torch_copied``: the same after cloning every tensor (what an untied model costs);
    * ``safetensors_model``: ``safetensors.torch.save_model``, which drops duplicate names;
    * ``safetensors_file_error``: 1 if ``safetensors.torch.save_file`` refused the state dict, else 0.
    """
    from safetensors.torch import save_file, save_model

    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:

        def size_of(name: str) -> int:
            return os.path.getsize(os.path.join(folder, name))

        torch.save(model.state_dict(), os.path.join(folder, "shared.pt"))
        sizes["torch_shared"] = size_of("shared.pt")
        copied = {k: v.clone() for k, v in model.state_dict().items()}
        torch.save(copied, os.path.join(folder, "copied.pt"))
        sizes["torch_copied"] = size_of("copied.pt")
        save_model(model, os.path.join(folder, "model.safetensors"))
        sizes["safetensors_model"] = size_of("model.safetensors")
        try:
            save_file(model.state_dict(), os.path.join(folder, "file.safetensors"))
            sizes["safetensors_file_error"] = 0
        except RuntimeError:
            sizes["safetensors_file_error"] = 1
    return sizes


@contextmanager
def single_process_group() -> Iterator[None]:
    """A ``torch.distributed`` process group of one CPU process (gloo), torn down afterwards.

    Enough to run FSDP2's ``fully_shard`` on a laptop: with a world of one, every
    "shard" is the whole tensor, but the bookkeeping (which unit manages which
    parameter) is the same code a multi-GPU job runs.
    """
    import torch.distributed as dist

    if dist.is_initialized():
        yield
        return
    with tempfile.TemporaryDirectory() as folder:
        store = os.path.join(folder, "store")
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


def try_fully_shard(
    units: Sequence[str | Sequence[str]], *, vocab_size: int = 16, dim: int = 8
) -> dict:
    """Shard a fresh :class:`TiedCharLM` with FSDP2 as ``units`` propose, then run one step.

    Each entry of ``units`` is passed to ``fully_shard`` (a name, or a list of
    names sharded together), then the root is sharded, on a one-process CPU mesh.
    Must be called inside :func:`single_process_group`.

    Returns:
        ``{"error": message or None, "predicted": ties_across_units(...), "names": [...]}``
        where ``names`` are the parameter names the sharded model reports.
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (1,))
    seed_everything(0)
    model = TiedCharLM(vocab_size, dim)
    predicted = ties_across_units(model, units)
    for unit in units:
        members = [unit] if isinstance(unit, str) else list(unit)
        modules = [model.get_submodule(m) for m in members]
        fully_shard(modules if len(modules) > 1 else modules[0], mesh=mesh)
    fully_shard(model, mesh=mesh)
    error = None
    try:
        tokens = torch.arange(vocab_size)
        nn.functional.cross_entropy(model(tokens), tokens.roll(1)).backward()
    except ValueError as exc:  # FSDP2 refuses a parameter managed by two groups
        error = str(exc)
    return {
        "error": error,
        "predicted": predicted,
        "names": [name for name, _ in model.named_parameters()],
    }
