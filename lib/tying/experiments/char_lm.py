"""Part II, recurrent networks: a character-level language model and truncated backpropagation.

The text is the Python documentation that ships with the standard library
(:mod:`pydoc_data.topics`, about 465,000 characters), so nothing is
downloaded.  The model is a small Elman network (or GRU/LSTM) over characters;
:func:`lag_gradients` splits the gradient of its tied recurrent matrix into one
term per time lag, which is what truncated backpropagation through time cuts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, limit_threads, seed_everything
from ..training import progress_enabled

__all__ = [
    "load_text",
    "build_vocabulary",
    "encode",
    "decode",
    "split_blocks",
    "CharLM",
    "sample_batch",
    "train_char_lm",
    "bits_per_char",
    "unigram_bits_per_char",
    "generate",
    "lag_gradients",
    "chunked_tbptt_gradient",
    "run_char_lm",
    "run_truncation_study",
]

LN2 = math.log(2.0)


# -- data ---------------------------------------------------------------------
def load_text(n_chars: int | None = None) -> str:
    """The help texts of :mod:`pydoc_data.topics`, concatenated in sorted key order.

    Args:
        n_chars: keep only the first ``n_chars`` characters (``None``: all of them).
    """
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    return text if n_chars is None else text[:n_chars]


def build_vocabulary(text: str) -> list[str]:
    """The distinct characters of ``text``, sorted: index ``i`` stands for ``chars[i]``."""
    return sorted(set(text))


def encode(text: str, chars: Sequence[str]) -> torch.Tensor:
    """Character ids (int64) of ``text``; raises ``KeyError`` for a character outside ``chars``."""
    index = {c: i for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in text], dtype=torch.int64)


def decode(ids: torch.Tensor | Sequence[int], chars: Sequence[str]) -> str:
    return "".join(chars[int(i)] for i in ids)


def split_blocks(
    ids: torch.Tensor, block: int = 5_000, every: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``ids`` into blocks of ``block`` tokens; every ``every``-th block is held out.

    Interleaving keeps the held-out text spread over all topics instead of
    being the alphabetically last ones.  Returns ``(train, validation)``.
    """
    n_blocks = math.ceil(len(ids) / block)
    if n_blocks < every:
        raise ValueError(
            f"{len(ids)} tokens make {n_blocks} blocks of {block}; at least {every} are needed "
            "to hold one out"
        )
    chunks = [ids[i * block : (i + 1) * block] for i in range(n_blocks)]
    val = [c for i, c in enumerate(chunks) if i % every == every - 1]
    train = [c for i, c in enumerate(chunks) if i % every != every - 1]
    return torch.cat(train), torch.cat(val)


def sample_batch(
    ids: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows: inputs ``(B, T)`` and the next characters ``(B, T)``."""
    starts = torch.randint(len(ids) - seq_len - 1, (batch_size,), generator=generator)
    offsets = torch.arange(seq_len + 1)
    windows = ids[starts[:, None] + offsets]
    return windows[:, :-1], windows[:, 1:]


# -- model --------------------------------------------------------------------
class CharLM(nn.Module):
    r"""A character-level language model: embedding, one recurrent layer, linear read-out.

    .. math::
        h_t = \operatorname{cell}(E_{c_t}, h_{t-1}), \qquad
        p(c_{t+1} \mid c_{\le t}) = \operatorname{softmax}(W_o h_t + b_o)

    The same cell weights are applied at every step, so the model has the same
    number of parameters for a sequence of 10 characters as for 10 million.

    Args:
        vocab_size: number of distinct characters :math:`V`.
        hidden_size: recurrent state size :math:`H`.
        embedding_size: character vector size (defaults to ``hidden_size``).
        cell: ``"rnn"`` (tanh Elman network, the default), ``"gru"`` or ``"lstm"``.
        device, dtype: where and how to allocate the parameters.

    Shape:
        - Input: ``(N, T)`` character ids and an optional state.
        - Output: logits ``(N, T, V)`` and the final state.

    Examples:
        >>> model = CharLM(50, hidden_size=32)
        >>> logits, h = model(torch.randint(50, (4, 10)))
        >>> logits.shape
        torch.Size([4, 10, 50])
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 128,
        embedding_size: int | None = None,
        cell: str = "rnn",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        recurrent = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if cell not in recurrent:
            raise ValueError(f"cell must be one of {sorted(recurrent)}, got {cell!r}")
        embedding_size = embedding_size or hidden_size
        self.cell = cell
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, **factory)
        self.rnn = recurrent[cell](embedding_size, hidden_size, batch_first=True, **factory)
        self.head = nn.Linear(hidden_size, vocab_size, **factory)

    def forward(self, idx: torch.Tensor, state=None):
        hidden, state = self.rnn(self.embedding(idx), state)
        return self.head(hidden), state

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, vocab_size={self.vocab_size}, hidden_size={self.hidden_size}"


def _detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _chunked_loss(model: CharLM, x: torch.Tensor, y: torch.Tensor, k: int | None):
    """Mean cross-entropy over ``(x, y)`` with the state detached every ``k`` steps.

    The detached state still carries the *values* forward, but no gradient
    flows back across a chunk boundary.  One backward pass over all chunks
    gives the same gradients as one pass per chunk, with less overhead.
    Returns the mean loss in nats (a float); gradients are left in ``.grad``.
    """
    t = x.shape[1]
    k = t if k is None else k
    state, losses = None, []
    for start in range(0, t, k):
        logits, state = model(x[:, start : start + k], state)
        losses.append(
            F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                y[:, start : start + k].reshape(-1),
                reduction="sum",
            )
        )
        state = _detach(state)
    loss = torch.stack(losses).sum() / y.numel()
    loss.backward()
    return loss.item()


def train_char_lm(
    model: CharLM,
    train_ids: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 32,
    seq_len: int = 64,
    lr: float = 3e-3,
    tbptt: int | None = None,
    clip: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool | None = None,
    desc: str = "char LM",
) -> list[float]:
    """Train with Adam on random windows; returns the training loss (bits per character) per step.

    Args:
        tbptt: backpropagate through at most this many steps (the state is
            detached every ``tbptt`` characters); ``None`` is full BPTT over the window.
        clip: gradient-norm clipping (Pascanu et al., 2013); ``0`` disables it.
    """
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    show = progress_enabled() if progress is None else progress
    iterator: object = range(steps)
    if show:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=desc, leave=False)
    history = []
    model.train()
    for _ in iterator:  # type: ignore[attr-defined]
        x, y = sample_batch(train_ids, batch_size, seq_len, generator)
        optimiser.zero_grad(set_to_none=True)
        loss = _chunked_loss(model, x.to(device), y.to(device), tbptt)
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        history.append(loss / LN2)
    model.eval()
    return history


@torch.no_grad()
def bits_per_char(
    model: CharLM, ids: torch.Tensor, *, streams: int = 16, chunk: int = 256
) -> float:
    """Cross-entropy in bits per character, reading ``ids`` as ``streams`` parallel streams.

    The state is carried from chunk to chunk, so every prediction after the
    first few characters of a stream has a long context (no gradient is needed,
    hence no truncation).
    """
    model.eval()
    device = next(model.parameters()).device
    n = (len(ids) - 1) // streams
    x = ids[: n * streams].view(streams, n).to(device)
    y = ids[1 : n * streams + 1].view(streams, n).to(device)
    state, total = None, 0.0
    for start in range(0, n, chunk):
        logits, state = model(x[:, start : start + chunk], state)
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            y[:, start : start + chunk].reshape(-1),
            reduction="sum",
        ).item()
    return total / (n * streams) / LN2


def unigram_bits_per_char(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int) -> float:
    """Bits per character of the best context-free model: character frequencies (add-one smoothed)."""
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1.0
    log_p = torch.log2(counts / counts.sum())
    return float(-log_p[val_ids].mean())


@torch.no_grad()
def generate(
    model: CharLM,
    prompt: str,
    chars: Sequence[str],
    n_chars: int = 200,
    temperature: float = 0.7,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by sampling one character at a time (reproducible through ``seed``)."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    out = []
    with limit_threads(1):
        logits, state = model(encode(prompt, chars)[None].to(device))
        for _ in range(n_chars):
            probs = F.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            out.append(chars[nxt])
            logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prompt + "".join(out)


# -- truncation -----------------------------------------------------------------
def _loss_and_hidden(model: CharLM, x: torch.Tensor, y: torch.Tensor):
    """Hidden states of the tanh RNN and the gradient of the loss with respect to each of them
    *directly* through the read-out at the same step (no recurrence)."""
    with torch.no_grad():
        hidden, _ = model.rnn(model.embedding(x))
    leaf = hidden.detach().requires_grad_()
    logits = model.head(leaf)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    (direct,) = torch.autograd.grad(loss, leaf)
    return hidden, direct


def lag_gradients(model: CharLM, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The gradient of the mean loss with respect to the tied :math:`W_{hh}`, split by time lag.

    Because :math:`W_{hh}` is used at every step, its gradient is a sum over
    pairs (loss at step :math:`t`, use at step :math:`s \le t`).  Grouping the
    pairs by their lag :math:`\ell = t - s` gives

    .. math::
        \frac{\partial L}{\partial W_{hh}} = \sum_{\ell=0}^{T-1} G_\ell, \qquad
        G_\ell = \sum_{t} \delta^{(t)}_{t-\ell}\, h_{t-\ell-1}^\top ,

    where :math:`\delta^{(t)}_s = \partial L_t / \partial a_s` is the error of
    the loss at step :math:`t` back-propagated to the pre-activation at step
    :math:`s`.  Truncating backpropagation to :math:`k` steps per loss keeps
    :math:`G_0, \dots, G_{k-1}` and drops the rest.

    All losses are propagated back together, one lag per iteration, so the cost
    is :math:`T` products of shape ``(B T, H) x (H, H)``.

    Args:
        model: a :class:`CharLM` with ``cell="rnn"`` (tanh), started from a zero state.
        x, y: inputs and targets, ``(B, T)``.

    Returns:
        ``(T, H, H)``: ``G[l]`` is the contribution of lag ``l``.
    """
    if model.cell != "rnn" or model.rnn.nonlinearity != "tanh":
        raise ValueError("lag_gradients needs a CharLM with cell='rnn' (tanh)")
    w_hh = model.rnn.weight_hh_l0.detach()
    hidden, direct = _loss_and_hidden(model, x, y)
    b, t, h = hidden.shape
    previous = torch.cat([hidden.new_zeros(b, 1, h), hidden[:, :-1]], dim=1)  # h_{s-1}
    derivative = 1.0 - hidden**2  # tanh'(a_s)
    # error[:, s] = dL_{s+l} / da_s for the current lag l, for every s that has such a loss.
    error = direct * derivative
    lags = []
    for lag in range(t):
        n = t - lag
        lags.append(torch.einsum("bsi,bsj->ij", error[:, :n], previous[:, :n]))
        if n > 1:
            error = (error[:, 1:n] @ w_hh) * derivative[:, : n - 1]
    return torch.stack(lags)


def chunked_tbptt_gradient(
    model: CharLM, x: torch.Tensor, y: torch.Tensor, k: int | None
) -> torch.Tensor:
    """Autograd's gradient of ``W_hh`` when the state is detached every ``k`` steps (PyTorch practice)."""
    model.zero_grad(set_to_none=True)
    _chunked_loss(model, x, y, k)
    grad = model.rnn.weight_hh_l0.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return grad


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a * b).sum() / (a.norm() * b.norm()))


# -- experiments --------------------------------------------------------------
def run_char_lm(
    *,
    n_chars: int | None = None,
    hidden_size: int = 128,
    cell: str = "rnn",
    steps: int = 400,
    batch_size: int = 32,
    seq_len: int = 64,
    lr: float = 3e-3,
    tbptt: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> dict:
    """Train one character-level model on the pydoc text and measure it.

    Returns:
        a dict with ``model``, ``chars``, ``train_ids``, ``val_ids``, ``history``
        (training bits per character per step), ``val_bpc``, ``unigram_bpc``,
        ``params`` and ``seconds``.
    """
    device = get_device(device)
    text = load_text(n_chars)
    chars = build_vocabulary(text)
    train_ids, val_ids = split_blocks(encode(text, chars))
    seed_everything(seed)
    model = CharLM(len(chars), hidden_size, cell=cell, device=device)
    start = time.perf_counter()
    with limit_threads(1):
        history = train_char_lm(
            model,
            train_ids,
            steps=steps,
            batch_size=batch_size,
            seq_len=seq_len,
            lr=lr,
            tbptt=tbptt,
            generator=torch.Generator().manual_seed(seed),
            progress=progress,
        )
        val_bpc = bits_per_char(model, val_ids)
    seconds = time.perf_counter() - start
    return {
        "model": model,
        "chars": chars,
        "train_ids": train_ids,
        "val_ids": val_ids,
        "history": np.array(history),
        "val_bpc": val_bpc,
        "unigram_bpc": unigram_bits_per_char(train_ids, val_ids, len(chars)),
        "params": sum(p.numel() for p in model.parameters()),
        "seconds": seconds,
    }


def run_truncation_study(
    model: CharLM,
    ids: torch.Tensor,
    *,
    seq_len: int = 128,
    batch_size: int = 32,
    chunk_ks: Sequence[int] = (1, 5, 20),
    seed: int = 0,
) -> dict:
    """How much of the tied gradient of ``W_hh`` survives truncation to ``k`` steps, for every ``k``.

    One batch of ``batch_size`` windows of ``seq_len`` characters is drawn from
    ``ids``.  The exact gradient is split by lag (:func:`lag_gradients`) and
    compared with autograd; then, for every truncation length ``k = 1 .. T``,
    the kept part :math:`\\sum_{\\ell<k} G_\\ell` is compared with the full
    gradient.  For the lengths in ``chunk_ks`` the gradient that PyTorch
    practice produces (detach the state every ``k`` steps) is computed too.

    Returns:
        a dict with ``ks`` (1..T), ``lag_norms`` (``‖G_ℓ‖_F``), ``cosine`` and
        ``norm_ratio`` (of the truncated gradient against the full one),
        ``autograd_error`` (relative difference between the sum of the lags
        and autograd's full gradient), and ``chunked`` (``k -> (cosine, norm ratio)``).
    """
    device = next(model.parameters()).device
    x, y = sample_batch(ids, batch_size, seq_len, torch.Generator().manual_seed(seed))
    x, y = x.to(device), y.to(device)
    with limit_threads(1):
        lags = lag_gradients(model, x, y)
        full = lags.sum(0)
        autograd_full = chunked_tbptt_gradient(model, x, y, None)
        chunked = {}
        for k in chunk_ks:
            g = chunked_tbptt_gradient(model, x, y, k)
            chunked[int(k)] = (_cosine(g, autograd_full), float(g.norm() / autograd_full.norm()))
    kept = lags.cumsum(0)
    ks = np.arange(1, seq_len + 1)
    return {
        "ks": ks,
        "seq_len": seq_len,
        "lag_norms": lags.flatten(1).norm(dim=1).cpu().numpy(),
        "cosine": np.array([_cosine(kept[k - 1], full) for k in ks]),
        "norm_ratio": (kept.flatten(1).norm(dim=1) / full.norm()).cpu().numpy(),
        "autograd_error": float((full - autograd_full).norm() / autograd_full.norm()),
        "chunked": chunked,
    }
