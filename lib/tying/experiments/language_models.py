"""Part II, Transformers: tying embeddings, sharing layers, repeating a block.

Every experiment trains :class:`tying.layers.TinyTransformerLM` on the same
word-level corpus: the help texts of the Python standard library
(:mod:`pydoc_data.topics`), lower-cased and split into words, numbers and
punctuation, with the rarest words mapped to ``<unk>``.  Nothing is downloaded.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..device import get_device, limit_threads, seed_everything
from ..layers.transformer import SHARE_MODES, TinyTransformerLM
from ..training import progress_enabled
from .char_lm import load_text, sample_batch, split_blocks

__all__ = [
    "UNK",
    "tokenize",
    "build_word_vocabulary",
    "load_word_corpus",
    "evaluate_loss",
    "train_lm",
    "EMBEDDING_CONDITIONS",
    "MODEL",
    "TRAINING",
    "run_embedding_tying",
    "initial_logit_study",
    "run_layer_sharing",
    "run_universal",
]

UNK = "<unk>"
_TOKEN = re.compile(r"[a-z_]+|[0-9]+|\S")

#: The settings of the embedding experiment: name -> (tie_embeddings, embedding_init).
EMBEDDING_CONDITIONS: dict[str, tuple[bool, str]] = {
    "untied": (False, "uniform"),
    "tied": (True, "uniform"),
    "tied, N(0,1) init": (True, "normal"),
}

#: The small model every experiment of the chapter starts from.
MODEL = {"d_model": 64, "n_heads": 4, "n_layers": 2, "context_size": 32}
#: How every model of the chapter is trained (see :func:`train_lm`).
TRAINING = {"steps": 200, "batch_size": 8, "lr": 3e-3, "eval_every": 25, "eval_windows": 32}


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters and underscores), numbers and single punctuation marks."""
    return _TOKEN.findall(text.lower())


def build_word_vocabulary(tokens: Sequence[str], size: int) -> list[str]:
    """``<unk>`` followed by the ``size - 1`` most frequent tokens (ties broken alphabetically)."""
    counts = Counter(tokens)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return [UNK, *ranked[: size - 1]]


def load_word_corpus(
    vocab_size: int = 1000, train_tokens: int | None = 10_000, block: int = 1000, every: int = 10
) -> dict:
    """The pydoc text as word ids, split into training and validation blocks.

    The vocabulary is built from the whole text, so that the validation set
    has no unseen ids; ``train_tokens`` then keeps only the first tokens of the
    training split (a small training set is where sharing has to pay off).

    Returns:
        ``{"train", "val"}`` (int64 tensors), ``vocab`` (list of tokens),
        ``n_tokens`` and ``coverage`` (share of tokens that are not ``<unk>``).
    """
    tokens = tokenize(load_text())
    vocab = build_word_vocabulary(tokens, vocab_size)
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([index.get(w, 0) for w in tokens], dtype=torch.int64)
    train, val = split_blocks(ids, block=block, every=every)
    if train_tokens is not None:
        train = train[:train_tokens]
    return {
        "train": train,
        "val": val,
        "vocab": vocab,
        "n_tokens": len(tokens),
        "coverage": float((ids != 0).double().mean()),
    }


@torch.no_grad()
def evaluate_loss(
    model: TinyTransformerLM, ids: torch.Tensor, max_windows: int | None = None
) -> float:
    """Mean cross-entropy (nats per token) over non-overlapping windows of ``ids``.

    With ``max_windows`` only that many windows, evenly spaced over ``ids``, are used.
    """
    model.eval()
    device = next(model.parameters()).device
    c = model.context_size
    n = (len(ids) - 1) // c
    x = ids[: n * c].view(n, c)
    y = ids[1 : n * c + 1].view(n, c)
    if max_windows is not None and max_windows < n:
        # Evenly spaced windows, so that a quick estimate covers the whole text.
        pick = torch.linspace(0, n - 1, max_windows).round().long()
        x, y, n = x[pick], y[pick], max_windows
    x, y = x.to(device), y.to(device)
    total = 0.0
    for start in range(0, n, 128):
        logits = model(x[start : start + 128])
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            y[start : start + 128].reshape(-1),
            reduction="sum",
        ).item()
    return total / (n * c)


def train_lm(
    model: TinyTransformerLM,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    *,
    steps: int = 200,
    batch_size: int = 16,
    lr: float = 3e-3,
    eval_every: int = 25,
    eval_windows: int | None = 64,
    generator: torch.Generator | None = None,
) -> dict:
    """Adam on random windows of ``model.context_size`` tokens.

    The validation loss is measured before training and every ``eval_every``
    steps on the first ``eval_windows`` windows, and at the end on all of
    ``val_ids``.

    Returns:
        ``{"train_loss": (steps,), "eval_steps": (E,), "val_loss": (E,), "final_val_loss": float}``.
    """
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    train_loss, eval_steps, val_loss = [], [0], [evaluate_loss(model, val_ids, eval_windows)]
    for step in range(1, steps + 1):
        model.train()
        x, y = sample_batch(train_ids, batch_size, model.context_size, generator)
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        train_loss.append(loss.item())
        if step % eval_every == 0 and step < steps:
            eval_steps.append(step)
            val_loss.append(evaluate_loss(model, val_ids, eval_windows))
    final = evaluate_loss(model, val_ids)
    eval_steps.append(steps)
    val_loss.append(final if eval_windows is None else evaluate_loss(model, val_ids, eval_windows))
    return {
        "train_loss": np.array(train_loss),
        "eval_steps": np.array(eval_steps),
        "val_loss": np.array(val_loss),
        "final_val_loss": final,
    }


def _bar(total: int, desc: str, progress: bool | None):
    if not (progress_enabled() if progress is None else progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc)


def _train_one(
    corpus: dict, seed: int, training: dict, device, measure_train: bool = True, **model_kwargs
):
    """Build a model from ``seed`` (the seed also fixes the minibatches) and train it.

    ``measure_train`` also measures the final loss on (128 windows of) the training text.
    """
    seed_everything(seed)
    model = TinyTransformerLM(len(corpus["vocab"]), device=device, **{**MODEL, **model_kwargs})
    with limit_threads(1):
        history = train_lm(
            model,
            corpus["train"],
            corpus["val"],
            generator=torch.Generator().manual_seed(seed),
            **{**TRAINING, **training},
        )
        history["final_train_loss"] = (
            evaluate_loss(model, corpus["train"], max_windows=128) if measure_train else math.nan
        )
    return model, history


#: The sharing experiments report final losses only: no evaluation during training.
_FINAL_ONLY = {"eval_every": 10**9}


def _summary(model: TinyTransformerLM, runs: list[dict]) -> dict:
    return {
        "params": model.num_parameters(),
        "initial_loss": np.array([r["val_loss"][0] for r in runs]),
        "final_val_loss": np.array([r["final_val_loss"] for r in runs]),
        "final_train_loss": np.array([r["final_train_loss"] for r in runs]),
        "eval_steps": runs[0]["eval_steps"],
        "val_loss": np.stack([r["val_loss"] for r in runs]),
    }


def run_embedding_tying(
    conditions: Sequence[str] = tuple(EMBEDDING_CONDITIONS),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    corpus: dict | None = None,
    training: dict | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    **model_kwargs,
) -> dict:
    """Tied against untied input/output embeddings, and the initialisation trap.

    For each condition of :data:`EMBEDDING_CONDITIONS` and each seed a model is
    trained; the seed fixes the initialisation of the shared parts and the
    order of the minibatches, so the conditions see the same data.

    Args:
        corpus: from :func:`load_word_corpus` (default: its defaults).
        training: overrides of :data:`TRAINING` (``steps``, ``batch_size``, ``lr``, ...).
        model_kwargs: overrides of :data:`MODEL` (``d_model``, ``n_layers``, ...).

    Returns:
        ``{"conditions", "seeds", "vocab_size", "d_model", "seconds", name: {...}}``;
        each condition holds ``params``, ``initial_loss``, ``final_val_loss``
        and ``final_train_loss`` (arrays over seeds, nats per token),
        ``eval_steps`` and ``val_loss`` (seeds x evaluations).
    """
    device = get_device(device)
    corpus = corpus or load_word_corpus()
    bar = _bar(len(conditions) * len(seeds), "embedding tying", progress)
    start = time.perf_counter()
    results: dict = {
        "conditions": list(conditions),
        "seeds": list(seeds),
        "vocab_size": len(corpus["vocab"]),
        "d_model": {**MODEL, **model_kwargs}["d_model"],
    }
    for name in conditions:
        tie, init = EMBEDDING_CONDITIONS[name]
        runs = []
        for seed in seeds:
            model, history = _train_one(
                corpus, seed, training or {}, device,
                **{**model_kwargs, "tie_embeddings": tie, "embedding_init": init},
            )  # fmt: skip
            runs.append(history)
            if bar is not None:
                bar.update()
        results[name] = _summary(model, runs)
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results


@torch.no_grad()
def initial_logit_study(
    sigmas: Sequence[float],
    *,
    corpus: dict | None = None,
    n_windows: int = 16,
    n_samples: int = 2000,
    seed: int = 0,
    device: torch.device | str | None = None,
    **model_kwargs,
) -> dict:
    """What a tied model predicts *before training* when its embedding is drawn from N(0, σ²).

    For each σ the same tied model is built (same seed, so only the embedding
    scale changes) and run on ``n_windows`` validation windows.

    Returns:
        ``sigmas``; ``loss`` (nats per token); ``logit_std``; ``copy_rate``, the
        share of positions whose arg-max prediction is the input token itself;
        ``logit_samples`` (``len(sigmas) x n_samples`` logits, for histograms);
        ``own_logits`` (each position's logit for its own input token, ``len(sigmas) x n_windows·C``);
        and ``uniform_loss`` = ln V, the loss of a model that predicts every
        token with probability 1/V.
    """
    device = get_device(device)
    corpus = corpus or load_word_corpus()
    v = len(corpus["vocab"])
    config = {**MODEL, **model_kwargs, "tie_embeddings": True}
    c = config["context_size"]
    x = corpus["val"][: n_windows * c].view(n_windows, c).to(device)
    y = corpus["val"][1 : n_windows * c + 1].view(n_windows, c).to(device)
    losses, stds, copies, samples, own = [], [], [], [], []
    pick = torch.Generator().manual_seed(seed)
    for sigma in sigmas:
        seed_everything(seed)
        model = TinyTransformerLM(v, device=device, **config)
        torch.nn.init.normal_(model.tok_emb.weight, std=float(sigma))
        model.eval()
        logits = model(x)
        losses.append(F.cross_entropy(logits.reshape(-1, v), y.reshape(-1)).item())
        stds.append(logits.std().item())
        copies.append((logits.argmax(-1) == x).double().mean().item())
        flat = logits.reshape(-1).cpu()
        samples.append(flat[torch.randint(len(flat), (n_samples,), generator=pick)].numpy())
        own.append(logits.gather(-1, x[..., None]).reshape(-1).cpu().numpy())
    return {
        "sigmas": np.array(sigmas, dtype=float),
        "uniform_loss": math.log(v),
        "loss": np.array(losses),
        "logit_std": np.array(stds),
        "copy_rate": np.array(copies),
        "logit_samples": np.stack(samples),
        "own_logits": np.stack(own),
    }


def run_layer_sharing(
    modes: Sequence[str] = SHARE_MODES,
    seeds: Sequence[int] = (0,),
    *,
    n_layers: int = 4,
    corpus: dict | None = None,
    training: dict | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    **model_kwargs,
) -> dict:
    """ALBERT's ablation in miniature: share nothing, the attention, the feed-forward, or all.

    Every model has tied embeddings and ``n_layers`` layers of computation;
    only the number of *distinct* sub-layers changes.  Only the final
    validation loss is measured (``final_train_loss`` is NaN).

    Returns:
        ``{"modes", "seeds", "n_layers", "seconds", mode: {...}}`` with the same
        per-mode entries as :func:`run_embedding_tying`.
    """
    device = get_device(device)
    corpus = corpus or load_word_corpus()
    bar = _bar(len(modes) * len(seeds), "layer sharing", progress)
    start = time.perf_counter()
    results: dict = {"modes": list(modes), "seeds": list(seeds), "n_layers": n_layers}
    for mode in modes:
        runs = []
        for seed in seeds:
            model, history = _train_one(
                corpus, seed, {**_FINAL_ONLY, **(training or {})}, device, measure_train=False,
                **{**model_kwargs, "n_layers": n_layers, "share": mode},
            )  # fmt: skip
            runs.append(history)
            if bar is not None:
                bar.update()
        results[mode] = _summary(model, runs)
    if bar is not None:
        bar.close()
    results["seconds"] = time.perf_counter() - start
    return results


def run_universal(
    ks: Sequence[int] = (1, 2, 4),
    seeds: Sequence[int] = (0,),
    *,
    corpus: dict | None = None,
    training: dict | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    **model_kwargs,
) -> dict:
    """One Transformer block applied ``K`` times (``n_layers=1, universal_steps=K``).

    Returns:
        ``{"ks", "seeds", "seconds", "params" (per K), "final_val_loss"
        (seeds x K), "seconds_per_run" (per K)}``.
    """
    device = get_device(device)
    corpus = corpus or load_word_corpus()
    bar = _bar(len(ks) * len(seeds), "universal transformer", progress)
    start = time.perf_counter()
    params, timings = [], []
    losses = np.zeros((len(seeds), len(ks)))
    for j, k in enumerate(ks):
        tic = time.perf_counter()
        for s, seed in enumerate(seeds):
            model, history = _train_one(
                corpus, seed, {**_FINAL_ONLY, **(training or {})}, device, measure_train=False,
                **{**model_kwargs, "n_layers": 1, "universal_steps": k},
            )  # fmt: skip
            losses[s, j] = history["final_val_loss"]
            if bar is not None:
                bar.update()
        timings.append((time.perf_counter() - tic) / len(seeds))
        params.append(model.num_parameters())
    if bar is not None:
        bar.close()
    return {
        "ks": list(ks),
        "seeds": list(seeds),
        "params": params,
        "final_val_loss": losses,
        "seconds_per_run": np.array(timings),
        "seconds": time.perf_counter() - start,
    }
