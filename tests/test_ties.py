"""Tied parameters in practice: the checks in tying.ties against every pitfall of Part II, §8."""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager

import pytest
import torch
from torch import nn

from tying import assert_tied
from tying.ties import tie_, tied_groups, ties_across_units


class TiedCharLM(nn.Module):
    """The chapter's model: the output layer reuses the embedding (tie made in tie_weights)."""

    def __init__(self, vocab_size: int, dim: int = 32, *, tie: bool = True) -> None:
        super().__init__()
        self.tie = tie
        self.embed = nn.Embedding(vocab_size, dim)
        self.body = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)
        self.tie_weights()

    def tie_weights(self) -> None:
        if self.tie:
            self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.body(self.embed(tokens))))


def torch_roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def build_on_meta(vocab_size: int, dim: int, device: str, *, retie: bool) -> TiedCharLM:
    with torch.device("meta"):
        model = TiedCharLM(vocab_size, dim)
    model.to_empty(device=device)
    if retie:
        model.tie_weights()
    return model


TIE = ("embed.weight", "head.weight")


@pytest.fixture
def lm() -> TiedCharLM:
    torch.manual_seed(0)
    return TiedCharLM(11, 4)


# --- assert_tied and tied_groups ---------------------------------------------------------


def test_assert_tied_passes_on_a_tie(lm):
    assert_tied(lm, *TIE)
    assert lm.head.weight is lm.embed.weight


def test_assert_tied_rejects_a_copy_and_says_so(lm):
    lm.head.weight = nn.Parameter(lm.embed.weight.detach().clone())
    with pytest.raises(AssertionError, match="same values .* separate memory"):
        assert_tied(lm, *TIE)


def test_assert_tied_rejects_different_values(lm):
    untied = TiedCharLM(11, 4, tie=False)
    with pytest.raises(AssertionError, match="separate tensor .* different values"):
        assert_tied(untied, *TIE)


def test_assert_tied_rejects_aliasing_parameters(lm):
    # Two Parameter objects over one memory: the half-broken tie of load_state_dict(assign=True).
    lm.head.weight = nn.Parameter(lm.embed.weight.data)
    assert lm.head.weight.data_ptr() == lm.embed.weight.data_ptr()
    with pytest.raises(AssertionError, match="shares memory .* different Parameter object"):
        assert_tied(lm, *TIE)


def test_assert_tied_rejects_a_different_view():
    m = nn.ModuleDict({"a": nn.Linear(4, 4, bias=False), "b": nn.Linear(4, 4, bias=False)})
    m["b"].weight = nn.Parameter(m["a"].weight.data.t())
    with pytest.raises(AssertionError, match="different shape, stride or offset"):
        assert_tied(m, "a.weight", "b.weight")


def test_assert_tied_checks_every_name_and_validates_arguments(lm):
    lm.body.weight = nn.Parameter(torch.zeros(4, 4))
    with pytest.raises(AssertionError, match="body.weight"):
        assert_tied(lm, "embed.weight", "head.weight", "body.weight")
    with pytest.raises(ValueError, match="at least two"):
        assert_tied(lm, "embed.weight")
    with pytest.raises(ValueError, match="no parameter or buffer named 'nope.weight'"):
        assert_tied(lm, "embed.weight", "nope.weight")


def test_tied_groups_by_parameter_and_by_storage(lm):
    assert tied_groups(lm) == [list(TIE)]
    assert tied_groups(TiedCharLM(11, 4, tie=False)) == []
    lm.head.weight = nn.Parameter(lm.embed.weight.data)  # aliasing, not tied
    assert tied_groups(lm) == []
    assert tied_groups(lm, by="storage") == [list(TIE)]
    with pytest.raises(ValueError):
        tied_groups(lm, by="value")


def test_tied_groups_sees_three_way_ties_and_buffers():
    m = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
    m[1].weight = m[0].weight
    m[2].weight = m[0].weight
    m[0].register_buffer("stat", torch.zeros(2))
    m[1].register_buffer("stat", m[0].stat)
    assert tied_groups(m) == [["0.weight", "1.weight", "2.weight"]]
    assert ["0.stat", "1.stat"] in tied_groups(m, include_buffers=True)


def test_tie_restores_a_broken_tie_and_checks_shapes(lm):
    lm.head.weight = nn.Parameter(torch.zeros_like(lm.embed.weight))
    kept = lm.embed.weight.detach().clone()
    returned = tie_(lm, *TIE)
    assert returned is lm.embed.weight
    assert_tied(lm, *TIE)
    assert torch.equal(lm.head.weight, kept), "the source's values are kept"
    with pytest.raises(ValueError, match="shape"):
        tie_(lm, "embed.weight", "body.weight")
    with pytest.raises(ValueError):
        tie_(lm, "embed.weight")


# --- what preserves a tie ----------------------------------------------------------------


def test_parameters_state_dict_and_optimizer_see_one_tensor(lm):
    assert len(list(lm.parameters())) == 3
    assert [n for n, _ in lm.named_parameters(remove_duplicate=False)].count("head.weight") == 1
    state = lm.state_dict()
    assert set(TIE) <= set(state)
    assert state[TIE[0]].data_ptr() == state[TIE[1]].data_ptr()
    optimiser = torch.optim.Adam(lm.parameters(), lr=0.1)
    lm(torch.arange(11)).sum().backward()
    optimiser.step()
    assert len(optimiser.state) == 3
    assert_tied(lm, *TIE)


def test_gradient_of_the_tie_is_the_sum_of_both_uses(lm):
    tokens = torch.arange(11)
    lm(tokens).square().sum().backward()
    tied_grad = lm.embed.weight.grad.clone()
    untied = TiedCharLM(11, 4, tie=False)
    untied.load_state_dict(lm.state_dict())
    untied(tokens).square().sum().backward()
    torch.testing.assert_close(tied_grad, untied.embed.weight.grad + untied.head.weight.grad)


def test_save_load_and_conversions_preserve_the_tie(lm, tmp_path):
    path = tmp_path / "lm.pt"
    torch.save(lm.state_dict(), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded[TIE[0]].data_ptr() == loaded[TIE[1]].data_ptr(), "sharing survives the file"
    fresh = TiedCharLM(11, 4)
    fresh.load_state_dict(loaded)
    assert_tied(fresh, *TIE)
    torch.testing.assert_close(fresh.embed.weight, lm.embed.weight)
    lm.double()
    assert_tied(lm, *TIE)
    assert lm.head.weight.dtype == torch.float64
    lm.to("cpu")
    assert_tied(lm, *TIE)


# --- the pitfalls, reproduced and fixed ----------------------------------------------------


def test_meta_device_to_empty_unties_and_tie_weights_fixes_it():
    broken = build_on_meta(11, 4, "cpu", retie=False)
    with pytest.raises(AssertionError, match="not tied"):
        assert_tied(broken, *TIE)
    assert len(list(broken.parameters())) == 4
    fixed = build_on_meta(11, 4, "cpu", retie=True)
    assert_tied(fixed, *TIE)
    assert len(list(fixed.parameters())) == 3


def test_the_tie_holds_on_the_meta_device_itself():
    with torch.device("meta"):
        model = TiedCharLM(11, 4)
    assert_tied(model, *TIE)
    assert tied_groups(model, by="storage") == [], "meta tensors have no memory to compare"


def test_assign_true_breaks_the_tie_and_retying_fixes_it(lm):
    model = TiedCharLM(11, 4)
    model.load_state_dict(torch_roundtrip(lm.state_dict()), assign=True)
    with pytest.raises(AssertionError, match="different Parameter object"):
        assert_tied(model, *TIE)
    model.tie_weights()
    assert_tied(model, *TIE)
    copy_mode = TiedCharLM(11, 4)
    copy_mode.load_state_dict(torch_roundtrip(lm.state_dict()))
    assert_tied(copy_mode, *TIE)


def _one_step(model, optimiser_cls, **kwargs):
    optimiser = optimiser_cls(model.parameters(), lr=0.1, **kwargs)
    before = model.embed.weight.detach().clone()
    model(torch.arange(11)).logsumexp(-1).sum().backward()
    optimiser.step()
    return model.embed.weight.detach() - before


@pytest.mark.parametrize(
    ("optimiser_cls", "kwargs", "same"),
    [
        (torch.optim.SGD, {}, True),
        (torch.optim.SGD, {"weight_decay": 0.1}, False),
        (torch.optim.Adam, {}, False),
    ],
)
def test_half_broken_tie_changes_the_update(lm, optimiser_cls, kwargs, same):
    # Plain SGD adds the two partial gradients, as the tie would; decay and Adam do not.
    state = lm.state_dict()
    tied = TiedCharLM(11, 4)
    tied.load_state_dict(state)
    aliased = TiedCharLM(11, 4)
    aliased.load_state_dict(torch_roundtrip(state), assign=True)
    step_tied = _one_step(tied, optimiser_cls, **kwargs)
    step_aliased = _one_step(aliased, optimiser_cls, **kwargs)
    assert torch.allclose(step_tied, step_aliased, atol=1e-6) == same


def test_safetensors_refuses_shared_memory_and_save_model_fixes_it(lm, tmp_path):
    from safetensors.torch import load_file, load_model, save_file, save_model

    with pytest.raises(RuntimeError, match="share memory"):
        save_file(lm.state_dict(), tmp_path / "x.safetensors")
    # Fix 1: save_model drops the duplicate name; load_model re-fills a tied model.
    save_model(lm, tmp_path / "m.safetensors")
    stored = load_file(tmp_path / "m.safetensors")
    assert len(stored) == len(lm.state_dict()) - 1 and len(set(TIE) & set(stored)) == 1
    fresh = TiedCharLM(11, 4)
    missing, unexpected = load_model(fresh, tmp_path / "m.safetensors")
    assert not missing and not unexpected
    assert_tied(fresh, *TIE)
    torch.testing.assert_close(fresh.head.weight, lm.head.weight)
    # Fix 2: drop the alias yourself, load non-strictly, and check only the alias is missing.
    state = {k: v for k, v in lm.state_dict().items() if k != "head.weight"}
    save_file(state, tmp_path / "f.safetensors")
    other = TiedCharLM(11, 4)
    result = other.load_state_dict(load_file(tmp_path / "f.safetensors"), strict=False)
    assert result.missing_keys == ["head.weight"] and not result.unexpected_keys
    assert_tied(other, *TIE)
    torch.testing.assert_close(other.head.weight, lm.head.weight)


def test_ties_across_units_follows_the_innermost_unit(lm):
    assert ties_across_units(lm, []) == []
    assert ties_across_units(lm, ["body"]) == []
    assert ties_across_units(lm, [["embed", "head"]]) == []
    assert ties_across_units(lm, ["embed"]) == [(list(TIE), ["embed", "<root>"])]
    assert ties_across_units(lm, ["embed", "head"]) == [(list(TIE), ["embed", "head"])]
    with pytest.raises(AttributeError):
        ties_across_units(lm, ["decoder"])


@contextmanager
def _single_process_group():
    import torch.distributed as dist

    with tempfile.TemporaryDirectory() as folder:
        store = os.path.join(folder, "store")
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


def _shard_and_step(fully_shard, plan):
    """Shard as the plan says, then one step; (error message or None, parameter names)."""
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cpu", (1,))
    torch.manual_seed(0)
    model = TiedCharLM(16, 8)
    error = None
    try:
        for unit in plan:
            modules = [model.get_submodule(m) for m in ([unit] if isinstance(unit, str) else unit)]
            fully_shard(modules if len(modules) > 1 else modules[0], mesh=mesh)
        fully_shard(model, mesh=mesh)
        tokens = torch.arange(16)
        nn.functional.cross_entropy(model(tokens), tokens.roll(1)).backward()
    except ValueError as refusal:
        error = str(refusal)
    return error, [n for n, _ in model.named_parameters()]


def _fsdp2():
    if not torch.distributed.is_available():
        pytest.skip("torch.distributed not built")
    fsdp = pytest.importorskip("torch.distributed.fsdp", reason="public FSDP2 needs torch >= 2.6")
    if not hasattr(fsdp, "fully_shard"):
        pytest.skip("this torch has no public fully_shard")
    return fsdp.fully_shard


PLANS = [["embed"], ["head"], ["body"], [["embed", "head"]], [["embed", "head"], "body"]]


def test_fully_shard_agrees_with_ties_across_units():
    """Both behaviours the chapter explains: torch >= 2.13 refuses a split tie, earlier
    versions run and leave the model untied. Either way the split plans, and only they,
    lose the tie, exactly as ties_across_units predicts."""
    fully_shard = _fsdp2()
    lm = TiedCharLM(16, 8)
    predicted = [bool(ties_across_units(lm, plan)) for plan in PLANS]
    assert predicted == [True, True, False, False, False]
    with _single_process_group():
        outcomes = [_shard_and_step(fully_shard, plan) for plan in PLANS]
    refuses = any(error is not None for error, _ in outcomes)
    for split, (error, names) in zip(predicted, outcomes):
        assert ("head.weight" in names) == split
        assert (error is not None) == (split and refuses)
    if refuses:
        assert "fully_shard([" in outcomes[0][0]
    assert not torch.distributed.is_initialized()


def test_fully_shard_without_the_duplicate_check_unties_silently(monkeypatch):
    """The other branch of the chapter, on this torch: remove torch 2.13's check (as in
    torch <= 2.12) and a split plan runs, with head.weight now a parameter of its own."""
    fully_shard = _fsdp2()
    state = pytest.importorskip("torch.distributed.fsdp._fully_shard._fsdp_state")
    if not hasattr(state.FSDPState, "_validate_no_duplicate_params"):
        pytest.skip("this torch has no duplicate check: the plain test covers it")
    monkeypatch.setattr(state.FSDPState, "_validate_no_duplicate_params", lambda self: None)
    with _single_process_group():
        split = _shard_and_step(fully_shard, ["embed"])
        together = _shard_and_step(fully_shard, [["embed", "head"]])
    assert split[0] is None and "head.weight" in split[1], "ran, and the tie is gone"
    assert together[0] is None and "head.weight" not in together[1]


def test_torch_roundtrip_keeps_sharing():
    w = torch.randn(3)
    out = torch_roundtrip({"a": w, "b": w})
    assert out["a"].data_ptr() == out["b"].data_ptr()
    assert torch.equal(out["a"], w) and out["a"].data_ptr() != w.data_ptr()
