"""Tying the embeddings of a language model.

Checks of ``solutions/08_embedding_tying_lm.ipynb``:

- ``lm_head.weight`` and ``emb.weight`` are one parameter, and the tie saves
  exactly ``V d`` parameters;
- the standard deviations of the two initialisations, and the predicted
  standard deviation of the initial logits, compared with a real tied model;
- an in-place re-initialisation that keeps the tie and starts the loss at ln V;
- a training loop that lowers the loss and keeps the tie.

Questions 2 to 4 run on a model built here (the notebook's architecture), so
that each can be answered and graded on its own.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tying.grading import (
    Question,
    as_numpy,
    attribute,
    case,
    check,
    count_parameters,
    expect_finite,
    expect_integer,
    expect_module,
    expect_same_parameter,
    expect_scalar,
    expect_shape,
    fail,
    same_tensor,
)

TITLE = "Tying the embeddings of a language model"

QUESTIONS = {
    "q1": Question(
        "Tie the output layer to the embedding",
        "One Parameter object in two places: self.lm_head.weight = self.emb.weight. Both are "
        "stored as (vocab_size, d), so no transpose is needed, and copying values (clone(), "
        ".data = ...) does not tie. The untied model has two V x d matrices, the tied one has one.",
    ),
    "q2": Question(
        "How large are the first logits?",
        "Look up nn.Embedding's default initialisation in its documentation; U(-a, a) has "
        "variance a^2 / 3. Given z, a logit sum_k e_vk z_k has variance sigma^2 |z|^2: "
        "z.pow(2).sum(dim=-1) is |z_t|^2 at every position; take its mean over all positions, "
        "the square root, multiply by sigma, and return .item(). For the rough number, |z|^2 is "
        "about |e_u|^2, a sum of d squares of standard deviation sigma.",
    ),
    "q3": Question(
        "Fix the initialisation",
        "Write into the existing tensor: with torch.no_grad(): model.emb.weight.uniform_(-a, a). "
        "Assigning a new nn.Parameter to model.emb.weight would untie the model. Return the model.",
    ),
    "q4": Question(
        "Train it",
        "Make torch.Generator().manual_seed(seed) and torch.optim.Adam(model.parameters(), lr=lr). "
        "Each step: starts = torch.randint(0, len(ids) - seq_len, (batch_size,), generator=...), "
        "windows = ids[starts[:, None] + torch.arange(seq_len + 1)], inputs windows[:, :-1], targets "
        "windows[:, 1:]; F.cross_entropy on logits.reshape(-1, V) and targets.reshape(-1); "
        "zero_grad, backward, step; append loss.item().",
    ),
}

_TOKEN = re.compile(r"[a-z_]+|[0-9]+|\S")


def _one_thread(check_function: Callable[[Any], None]) -> Callable[[Any], None]:
    """Run a check with torch on one CPU thread, then restore the setting.

    A GRU this small gains nothing from a second thread, and when two notebooks are
    graded at once on two cores, extra threads wait for each other: a check of a
    second can then take ten.
    """

    @functools.wraps(check_function)
    def run(answers: Any) -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            check_function(answers)
        finally:
            torch.set_num_threads(before)

    return run


@functools.lru_cache(maxsize=2)
def _corpus(vocab_size: int) -> torch.Tensor:
    """The notebook's corpus (Python's help pages as word ids), with ``vocab_size`` tokens.

    The frozen copy shipped with the package, so the check gives the same
    numbers on every Python version.
    """
    from tying.data import python_help_text

    text = python_help_text().lower()
    tokens = _TOKEN.findall(text)
    counts = Counter(tokens)
    vocab = ["<unk>", *sorted(counts, key=lambda w: (-counts[w], w))[: vocab_size - 1]]
    index = {word: i for i, word in enumerate(vocab)}
    return torch.tensor([index.get(word, 0) for word in tokens], dtype=torch.int64)


class _TinyLM(nn.Module):
    """The notebook's architecture, tied, built by the check (independent of the reader's class)."""

    def __init__(self, vocab_size: int, d: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab_size, d)
        self.rnn = nn.GRU(d, d, batch_first=True)
        self.lm_head = nn.Linear(d, vocab_size, bias=False)
        self.lm_head.weight = self.emb.weight

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        e = self.emb(idx)
        h, _ = self.rnn(e)
        return e + h

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.features(idx))


def _model(vocab_size: int, d: int, seed: int) -> _TinyLM:
    # The default initialisation draws from torch's global generator: keep the notebook's state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _TinyLM(vocab_size, d)


def _batch(ids: torch.Tensor, n: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(ids) - length, (n,), generator=g)
    windows = ids[starts[:, None] + torch.arange(length + 1)]
    return windows[:, :-1], windows[:, 1:]


def _reader_model(answers, *args, **kwargs) -> nn.Module:
    cls = answers.get("TinyLM")
    if not isinstance(cls, type):
        fail(f"`TinyLM` should be the class itself, got {type(cls).__name__}")
    call = (
        "TinyLM(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"
    )
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random state alone
        torch.manual_seed(0)
        model = answers.run(cls, *args, what=call, **kwargs)
    expect_module(model, name=call)
    return model


@check("q1", points=2, timeout=5)
@_one_thread
def tie_is_one_parameter(answers):
    model = _reader_model(answers, 50, 8)
    name = "TinyLM(50, 8)"
    head = attribute(model, "lm_head.weight", name=name)
    emb = attribute(model, "emb.weight", name=name)
    expect_same_parameter(head, emb, module=model, names=("lm_head.weight", "emb.weight"))
    idx = torch.randint(0, 50, (2, 5), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = answers.run(model, idx, what=f"{name}(idx)")
    expect_shape(logits, (2, 5, 50), name=f"{name}(idx) for idx of shape (2, 5)")


@check("q1", points=1, timeout=5)
@_one_thread
def tie_saves_v_times_d(answers):
    for vocab_size, d in [(50, 8), (512, 64)]:
        with case(f"V = {vocab_size}, d = {d}"):
            tied = _reader_model(answers, vocab_size, d)
            untied = _reader_model(answers, vocab_size, d, tie=False)
            saved = count_parameters(untied) - count_parameters(tied)
            if saved != vocab_size * d:
                fail(
                    f"the tied model has {saved:,} parameters fewer than the untied one, "
                    "which is not the size of one embedding matrix"
                )
    expect_integer(answers.get("n_saved"), 512 * 64, name="n_saved", what="count")


@check("q2", points=1, timeout=5)
def initial_standard_deviations(answers):
    default = answers.get("sigma_default")
    expect_scalar(default, 1.0, name="sigma_default", atol=1e-9)
    uniform = answers.get("sigma_uniform")
    if isinstance(uniform, (int, float)) and abs(uniform - 0.1) < 1e-12:
        fail("`sigma_uniform` is the half-width a of U(-a, a), not its standard deviation")
    expect_scalar(uniform, 0.1 / math.sqrt(3), name="sigma_uniform", atol=1e-9)


@check("q2", points=1, timeout=5)
def rough_prediction_at_the_default(answers):
    rough = answers.get("rough_std_default")
    # sigma^2 sqrt(d) = 8 neglects the GRU; a real model measures about 8.4.
    expect_scalar(rough, 8.2, name="rough_std_default", atol=0.5, rtol=0)


def _logit_std_reference(sigma: float, z: torch.Tensor) -> float:
    return sigma * float(z.pow(2).sum(dim=-1).mean().sqrt())


@check("q2", points=1, timeout=5)
def logit_std_formula(answers):
    predict = answers.function("expected_logit_std")
    g = torch.Generator().manual_seed(20)
    for shape, sigma in [((10, 16), 0.3), ((3, 4, 8), 1.0), ((1, 5), 0.05)]:
        z = 0.5 + torch.randn(shape, generator=g, dtype=torch.float64)
        with case(f"z of shape {shape}, sigma = {sigma}"):
            expect_scalar(
                predict(sigma, z.clone()),
                _logit_std_reference(sigma, z),
                name="expected_logit_std(sigma, z)",
                atol=1e-9,
            )


@check("q2", points=1, timeout=8)
@_one_thread
def logit_std_predicts_a_real_model(answers):
    predict = answers.function("expected_logit_std")
    vocab_size, d = 256, 32
    model = _model(vocab_size, d, seed=21)  # nn.Embedding's default initialisation
    x, _ = _batch(_corpus(vocab_size), 16, 24, seed=22)
    with torch.no_grad():
        z = model.features(x)
        logits = model.lm_head(z)
    # Tokens absent from a window have embedding rows independent of that window's z.
    absent = torch.ones(x.shape[0], vocab_size, dtype=torch.bool).scatter_(1, x, False)
    measured = float(logits.permute(0, 2, 1)[absent].std())
    sigma = float(model.emb.weight.detach().std())
    predicted = predict(sigma, z.clone())
    expect_scalar(predicted, _logit_std_reference(sigma, z), name="expected_logit_std", rtol=1e-5)
    if abs(float(as_numpy(predicted)) / measured - 1) > 0.05:
        fail(
            f"on a tied model with N(0, 1) embeddings the prediction is off the measured logit std "
            f"by {abs(float(as_numpy(predicted)) / measured - 1):.0%}"
        )


def _initialised(answers, model: nn.Module, *args) -> nn.Module:
    init = answers.function("init_tied_embedding_")
    call = "init_tied_embedding_(model" + "".join(f", {a!r}" for a in args) + ")"
    returned = init(model, *args)
    if returned is not model:
        fail(f"`{call}` should return the model it was given (it changes it in place)")
    if not same_tensor(model.lm_head.weight, model.emb.weight):
        fail(
            f"after `{call}` the output layer and the embedding are two tensors: write into the "
            "existing weight in place instead of assigning a new Parameter"
        )
    return model


@check("q3", points=1, timeout=5)
def init_keeps_the_tie_and_the_range(answers):
    for a in (0.1, 0.05):
        model = _model(256, 32, seed=30)
        args = () if a == 0.1 else (a,)
        with case(f"a = {a}" + (" (the default)" if not args else "")):
            _initialised(answers, model, *args)
            weight = model.emb.weight.detach()
            expect_finite(weight, name="the embedding after init_tied_embedding_")
            largest = float(weight.abs().max())
            if largest > a:
                fail(f"entries of the embedding reach {largest:.3g}, outside [-a, a]")
            ratio = float(weight.std()) / (a / math.sqrt(3))
            if abs(ratio - 1) > 0.1:
                fail(
                    f"the embedding's standard deviation is {ratio:.2f} times that of U(-a, a); "
                    "are the values uniform over the whole interval?"
                )


@check("q3", points=1, timeout=8)
@_one_thread
def init_starts_the_loss_at_log_v(answers):
    vocab_size = 256
    model = _initialised(answers, _model(vocab_size, 32, seed=31))
    x, y = _batch(_corpus(vocab_size), 16, 24, seed=32)
    with torch.no_grad():
        loss = float(F.cross_entropy(model(x).reshape(-1, vocab_size), y.reshape(-1)))
    if not math.isfinite(loss) or abs(loss - math.log(vocab_size)) > 0.1:
        fail(
            f"after init_tied_embedding_ the initial loss differs from ln V by "
            f"{abs(loss - math.log(vocab_size)):.3g} nats (expected within 0.1: "
            "near-uniform predictions)"
        )


def _fixed_model(vocab_size: int, d: int, seed: int) -> _TinyLM:
    model = _model(vocab_size, d, seed)
    with torch.no_grad():
        model.emb.weight.uniform_(-0.1, 0.1, generator=torch.Generator().manual_seed(seed))
    return model


def _losses(answers, model, ids, steps, **kwargs) -> list[float]:
    train = answers.function("train_lm")
    losses = train(model, ids, steps, **kwargs)
    label = f"train_lm(model, ids, {steps}, ...)"
    if not isinstance(losses, (list, tuple)):
        fail(f"`{label}` should return a list of losses, got {type(losses).__name__}")
    if len(losses) != steps:
        fail(f"`{label}` returned {len(losses)} losses, expected one per step ({steps})")
    for value in losses:
        expect_scalar(value, 0.0, name=f"each loss of {label}", atol=math.inf)
    return [float(as_numpy(v)) for v in losses]


@check("q4", points=1, timeout=10)
@_one_thread
def training_lowers_the_loss_and_keeps_the_tie(answers):
    vocab_size = 256
    model = _fixed_model(vocab_size, 32, seed=40)
    before = model.emb.weight.detach().clone()
    losses = _losses(
        answers, model, _corpus(vocab_size), 30, batch_size=8, seq_len=16, lr=1e-2, seed=3
    )
    if not same_tensor(model.lm_head.weight, model.emb.weight):
        fail("after train_lm the output layer and the embedding are no longer one tensor")
    if float((model.emb.weight.detach() - before).abs().max()) == 0:
        fail(
            "train_lm did not change the embedding: is the optimiser stepping the model's parameters?"
        )
    first, last = losses[0], sum(losses[-5:]) / 5
    if not last < first - 0.5:
        fail(
            f"over 30 steps of Adam (lr = 0.01) the loss went from {first:.2f} to {last:.2f} "
            "(mean of the last five); expected a drop of more than 0.5 nats"
        )


@check("q4", points=1, timeout=10)
@_one_thread
def training_is_seeded_and_measures_nats_per_token(answers):
    vocab_size = 256
    ids = _corpus(vocab_size)
    settings = {"batch_size": 4, "seq_len": 12, "lr": 1e-2}
    model = _fixed_model(vocab_size, 16, seed=41)
    runs = [
        _losses(answers, copy.deepcopy(model), ids, 3, seed=seed, **settings) for seed in (5, 5, 6)
    ]
    if runs[0] != runs[1]:
        fail(
            "two runs with the same seed gave different losses: draw the batches with a "
            "torch.Generator seeded with `seed`"
        )
    if runs[0] == runs[2]:
        fail("runs with seeds 5 and 6 gave the same losses: the batches should depend on the seed")
    # At U(-0.1, 0.1) the first batch's loss, before any update, is close to ln V per token.
    if abs(runs[0][0] - math.log(vocab_size)) > 0.1:
        fail(
            f"the first loss differs from ln V = {math.log(vocab_size):.2f} by "
            f"{abs(runs[0][0] - math.log(vocab_size)):.2f} nats for a model with near-uniform "
            "predictions: record the mean cross-entropy per token, computed before the update"
        )
