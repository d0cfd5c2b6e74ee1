"""Checking, listing and restoring tied parameters in real PyTorch models.

In PyTorch a tie is nothing but Python object identity: two module attributes
refer to one :class:`torch.nn.Parameter`.  Every tool that re-creates
parameters (meta-device materialisation, ``load_state_dict(assign=True)``,
format converters, sharding wrappers) can break that identity without a
warning.  The functions here make the tie checkable:

* :func:`assert_tied` fails, with a message that says *how* the tie is broken,
  unless the named parameters are one and the same tensor;
* :func:`tied_groups` lists the names that share a parameter (or memory);
* :func:`tie_` points names back at one parameter, like Hugging Face's
  ``tie_weights()``;
* :func:`ties_across_units` checks that a proposed sharding plan (for example
  the modules given to ``fully_shard``) keeps every tied group in one unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["assert_tied", "tied_groups", "tie_", "ties_across_units"]


def _lookup(model: nn.Module, name: str) -> torch.Tensor:
    try:
        return model.get_parameter(name)
    except AttributeError:
        pass
    try:
        return model.get_buffer(name)
    except AttributeError:
        raise ValueError(f"the model has no parameter or buffer named {name!r}") from None


def _storage_key(t: torch.Tensor) -> tuple | None:
    """(device, storage address) or ``None`` for tensors without real memory (meta)."""
    if t.device.type == "meta":
        return None
    return (t.device, t.untyped_storage().data_ptr())


def _why_not_tied(a_name: str, a: torch.Tensor, b_name: str, b: torch.Tensor) -> str:
    """One sentence on how ``b`` differs from ``a`` when they are not the same object."""
    if _storage_key(a) is not None and _storage_key(a) == _storage_key(b):
        same_view = (
            a.shape == b.shape
            and a.stride() == b.stride()
            and a.storage_offset() == b.storage_offset()
        )
        if same_view:
            return (
                f"{b_name!r} shares memory with {a_name!r} but is a different Parameter object "
                "(half-broken tie: parameters() lists both and an optimiser updates the memory twice)"
            )
        return f"{b_name!r} views the memory of {a_name!r} with a different shape, stride or offset"
    if a.device.type == "meta" or b.device.type == "meta":
        return f"{b_name!r} and {a_name!r} are different tensors on the meta device (no data yet)"
    if a.shape != b.shape:
        return f"{b_name!r} has shape {tuple(b.shape)} but {a_name!r} has shape {tuple(a.shape)}"
    if a.dtype == b.dtype and a.device == b.device and torch.equal(a.detach(), b.detach()):
        return (
            f"{b_name!r} holds the same values as {a_name!r} in separate memory (a copy, not a tie)"
        )
    return f"{b_name!r} is a separate tensor from {a_name!r} with different values"


def assert_tied(model: nn.Module, *names: str) -> None:
    """Raise ``AssertionError`` unless every name refers to the very same parameter.

    Tied means one object: the same :class:`~torch.nn.Parameter` (hence the same
    memory, shape and stride), listed once by ``model.parameters()``.  Equal
    values in separate memory, or separate Parameter objects that alias one
    memory, are reported as broken ties, with the reason.

    Args:
        model: the module that owns the parameters.
        names: two or more dotted names as in ``named_parameters()``
            (``"embed.weight"``, ``"head.weight"``); buffers are accepted too.

    Raises:
        ValueError: fewer than two names, or a name the model does not have.
        AssertionError: the parameters are not all the same tensor.

    Examples:
        >>> lm = nn.ModuleDict({"embed": nn.Embedding(5, 3), "head": nn.Linear(3, 5, bias=False)})
        >>> lm["head"].weight = lm["embed"].weight
        >>> assert_tied(lm, "embed.weight", "head.weight")
    """
    if len(names) < 2:
        raise ValueError(f"assert_tied needs at least two names, got {list(names)}")
    tensors = [_lookup(model, name) for name in names]
    first_name, first = names[0], tensors[0]
    problems = [
        _why_not_tied(first_name, first, name, t)
        for name, t in zip(names[1:], tensors[1:])
        if t is not first
    ]
    if not problems and isinstance(first, nn.Parameter):
        # Identity implies this; checked anyway so the promise in the docstring is tested.
        listed = sum(p is first for p in model.parameters())
        if listed != 1:
            problems.append(f"{first_name!r} appears {listed} times in parameters()")
    if problems:
        raise AssertionError(f"not tied: {', '.join(map(repr, names))}: " + "; ".join(problems))


def tied_groups(
    model: nn.Module, *, by: str = "parameter", include_buffers: bool = False
) -> list[list[str]]:
    """Groups of two or more names that share a parameter, in the order ``named_parameters`` gives.

    Args:
        model: any module.
        by: ``"parameter"`` (default) groups names bound to the same Parameter object,
            which is what a tie is.  ``"storage"`` groups names whose tensors share
            memory, which is what ``safetensors`` refuses and what a half-broken tie
            still has.  Meta tensors have no memory and are left out of ``"storage"``.
        include_buffers: also consider buffers.

    Uses ``named_parameters(remove_duplicate=False)``: the default iteration lists
    a shared parameter only under its first name, which hides exactly what we want to see.
    """
    if by not in ("parameter", "storage"):
        raise ValueError(f"by must be 'parameter' or 'storage', got {by!r}")
    named = list(model.named_parameters(remove_duplicate=False))
    if include_buffers:
        named += list(model.named_buffers(remove_duplicate=False))
    groups: dict[object, list[str]] = {}
    for name, tensor in named:
        key = id(tensor) if by == "parameter" else _storage_key(tensor)
        if key is None:
            continue
        groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    module_path, _, attribute = name.rpartition(".")
    return (model.get_submodule(module_path) if module_path else model), attribute


def tie_(model: nn.Module, source: str, *targets: str) -> nn.Parameter:
    """Bind every target name to the Parameter named ``source``, in place; return that Parameter.

    This is what a model's ``tie_weights()`` does, as a function of names.  Call
    it after anything that may have re-created parameters (``to_empty``,
    ``load_state_dict(assign=True)``, loading a checkpoint that stores one copy).
    The target's current values are discarded; the source's are kept.

    Raises:
        ValueError: no targets, an unknown name, or a target whose shape differs from the source's.
    """
    if not targets:
        raise ValueError("tie_ needs a source and at least one target name")
    parameter = model.get_parameter(source)
    for name in targets:
        current = _lookup(model, name)
        if current.shape != parameter.shape:
            raise ValueError(
                f"cannot tie {name!r} of shape {tuple(current.shape)} to {source!r} "
                f"of shape {tuple(parameter.shape)}"
            )
        module, attribute = _owner(model, name)
        setattr(module, attribute, parameter)
    return parameter


def ties_across_units(
    model: nn.Module, units: Sequence[str | Sequence[str]]
) -> list[tuple[list[str], list[str]]]:
    """Tied groups that a sharding plan would split between units; an empty list means the plan is safe.

    The plan mirrors FSDP2: each entry of ``units`` is the name of a submodule,
    or a list of names sharded together (``fully_shard([a, b])``); the root
    module ``""`` is always a unit and takes every parameter reference not
    inside another unit.  A reference belongs to the innermost unit that
    contains its module.  A tied parameter referenced from two units would be
    managed twice, which FSDP refuses (or, in older versions, silently mis-shards).

    Returns:
        ``(tied names, units they fall in)`` for every tied group split across units.
    """
    labels: dict[str, str] = {"": "<root>"}
    for unit in units:
        members = [unit] if isinstance(unit, str) else list(unit)
        label = " + ".join(members)
        for member in members:
            model.get_submodule(member)  # raises AttributeError for a typo
            labels[member] = label

    def unit_of(name: str) -> str:
        module_path = name.rpartition(".")[0]
        best = ""
        for prefix in labels:
            inside = prefix == "" or module_path == prefix or module_path.startswith(prefix + ".")
            if inside and len(prefix) > len(best):
                best = prefix
        return labels[best]

    split = []
    for group in tied_groups(model):
        owners = list(dict.fromkeys(unit_of(name) for name in group))
        if len(owners) > 1:
            split.append((group, owners))
    return split
