"""A tiny GPT-style language model in which every tie is a constructor argument.

Three kinds of sharing meet in a Transformer language model, and this file
makes each one a switch so that a chapter can flip it and measure the effect:

* ``tie_embeddings``: the output projection reuses the input embedding matrix
  (Press & Wolf, 2017; Inan et al., 2017), exactly as nanoGPT does with
  ``self.lm_head.weight = self.tok_emb.weight``;
* ``share``: the attention sub-layers, the feed-forward sub-layers, or both are
  one module reused by every layer (ALBERT's cross-layer sharing);
* ``universal_steps``: the whole stack is applied ``K`` times with the same
  weights (a Universal Transformer without adaptive halting).

The blocks are pre-norm (``x + f(LayerNorm(x))``) as in GPT-2 and nanoGPT.
Everything else is kept as small and readable as possible.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SHARE_MODES",
    "CausalSelfAttention",
    "FeedForward",
    "AttentionSublayer",
    "FeedForwardSublayer",
    "TinyTransformerLM",
]

#: The cross-layer sharing strategies of ALBERT's ablation (Lan et al., 2020, Table 4).
SHARE_MODES = ("none", "attention", "ffn", "all")


class CausalSelfAttention(nn.Module):
    r"""Multi-head self-attention in which position :math:`t` only sees positions :math:`\le t`.

    .. math::
        \operatorname{head}_j(X) = \operatorname{softmax}\!\Big(
            \frac{Q_j K_j^\top}{\sqrt{d_h}} + M\Big) V_j,
        \qquad M_{ts} = \begin{cases} 0 & s \le t \\ -\infty & s > t \end{cases}

    with :math:`[Q, K, V] = X W_{qkv} + b_{qkv}` split into ``n_heads`` heads of
    size :math:`d_h = d / n_\text{heads}`, followed by an output projection.
    The mask :math:`M` is what makes the layer usable for language modelling:
    the prediction at position :math:`t` cannot depend on later tokens.

    Args:
        d_model: width :math:`d` of the token vectors.
        n_heads: number of heads; must divide ``d_model``.
        bias: learn biases in both projections (default ``True``).
        device, dtype: where and how to allocate the parameters.

    Shape:
        - Input: :math:`(N, T, d)`.
        - Output: :math:`(N, T, d)`.

    Attributes:
        qkv: the :math:`d \to 3d` projection (:math:`3d^2 + 3d` parameters).
        proj: the :math:`d \to d` output projection (:math:`d^2 + d` parameters).

    Examples:
        >>> attn = CausalSelfAttention(16, n_heads=4)
        >>> attn(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"n_heads={n_heads} must divide d_model={d_model}")
        factory = {"device": device, "dtype": dtype}
        self.d_model = d_model
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias, **factory)
        self.proj = nn.Linear(d_model, d_model, bias=bias, **factory)

    def reset_parameters(self) -> None:
        self.qkv.reset_parameters()
        self.proj.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        # (N, T, d) -> (N, heads, T, d_h)
        q, k, v = (z.view(n, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(n, t, d))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}"


class FeedForward(nn.Module):
    r"""The position-wise two-layer perceptron :math:`\mathrm{GELU}(x W_1 + b_1) W_2 + b_2`.

    Args:
        d_model: width :math:`d` of the token vectors.
        hidden: width of the hidden layer (``4 * d_model`` in GPT-2 and BERT).
        device, dtype: where and how to allocate the parameters.

    Shape:
        - Input: :math:`(*, d)`; Output: :math:`(*, d)`.

    Examples:
        >>> FeedForward(16, 64)(torch.randn(3, 16)).shape
        torch.Size([3, 16])
    """

    def __init__(
        self,
        d_model: int,
        hidden: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.up = nn.Linear(d_model, hidden, **factory)
        self.down = nn.Linear(hidden, d_model, **factory)

    def reset_parameters(self) -> None:
        self.up.reset_parameters()
        self.down.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class AttentionSublayer(nn.Module):
    """``CausalSelfAttention(LayerNorm(x))``: the update a pre-norm block adds to its residual stream.

    The LayerNorm belongs to the sub-layer, so sharing "the attention" across
    layers shares its normalisation too, as ALBERT's ablation does.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model, device=device, dtype=dtype)
        self.attn = CausalSelfAttention(d_model, n_heads, device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        self.attn.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(self.norm(x))


class FeedForwardSublayer(nn.Module):
    """``FeedForward(LayerNorm(x))``: the second update of a pre-norm block."""

    def __init__(
        self,
        d_model: int,
        hidden: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model, device=device, dtype=dtype)
        self.ffn = FeedForward(d_model, hidden, device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        self.ffn.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.norm(x))


class TinyTransformerLM(nn.Module):
    r"""A decoder-only (GPT-style) language model with switchable parameter sharing.

    For token ids :math:`w_1, \dots, w_T` the model computes

    .. math::
        x^{(0)}_t &= E_{w_t} + P_t, \\
        x &\leftarrow x + A_{\ell}(x), \quad x \leftarrow x + F_{\ell}(x)
             \qquad \text{for } \ell = 1, \dots, L \text{ (repeated } K \text{ times)}, \\
        \text{logits}_t &= \operatorname{LayerNorm}(x_t)\, U^\top ,

    where :math:`E \in \mathbb{R}^{V \times d}` is the token embedding,
    :math:`P` a learned position embedding, :math:`A_\ell` and :math:`F_\ell`
    the attention and feed-forward sub-layers of layer :math:`\ell`, and
    :math:`U \in \mathbb{R}^{V \times d}` the output embedding.  The logits at
    position :math:`t` predict token :math:`w_{t+1}`.

    The three ties:

    * ``tie_embeddings=True`` sets :math:`U = E`: one tensor, registered once,
      that saves exactly :math:`V d` parameters;
    * ``share="attention"`` makes :math:`A_1 = \dots = A_L` (one module),
      ``share="ffn"`` makes :math:`F_1 = \dots = F_L`, ``share="all"`` both;
    * ``universal_steps=K`` runs the :math:`L` layers :math:`K` times.  With
      ``n_layers=1`` this is a Universal Transformer block applied :math:`K`
      times, and it is the same network as ``share="all", n_layers=K``.

    Args:
        vocab_size: number of token ids :math:`V`.
        context_size: the longest sequence the position embedding covers.
        d_model: width :math:`d`.
        n_heads: attention heads per layer.
        n_layers: distinct layer positions :math:`L` per pass.
        ffn_mult: hidden width of the feed-forward sub-layers, in multiples of ``d_model``.
        tie_embeddings: reuse the token embedding as the output projection.
        share: one of :data:`SHARE_MODES`.
        universal_steps: passes :math:`K` through the layers.
        embedding_init: ``"uniform"`` draws both embeddings from
            :math:`U(-r, r)` with ``r = init_range``; ``"normal"`` keeps
            :class:`torch.nn.Embedding`'s default :math:`N(0, 1)`, which makes a
            tied output layer start with logits of size :math:`\sqrt{d}` (see the
            Transformers chapter).
        init_range: :math:`r` for ``embedding_init="uniform"``.
        device, dtype: where and how to allocate the parameters.

    Shape:
        - Input: :math:`(N, T)` or :math:`(T,)` integer token ids, :math:`T \le` ``context_size``.
        - Output: :math:`(N, T, V)` or :math:`(T, V)` logits.

    Attributes:
        tok_emb: :class:`~torch.nn.Embedding` :math:`E`, shape :math:`(V, d)`.
        pos_emb: :class:`~torch.nn.Embedding` :math:`P`, shape :math:`(\text{context}, d)`.
        attention: ``nn.ModuleList`` of one (shared) or ``n_layers`` :class:`AttentionSublayer`.
        feedforward: ``nn.ModuleList`` of one (shared) or ``n_layers`` :class:`FeedForwardSublayer`.
        norm: the final LayerNorm.
        lm_head: :class:`~torch.nn.Linear` without bias; its weight *is* ``tok_emb.weight`` when tied.

    Examples:
        >>> model = TinyTransformerLM(100, context_size=16, d_model=32, n_heads=4, n_layers=2)
        >>> model.lm_head.weight is model.tok_emb.weight
        True
        >>> model(torch.randint(100, (3, 16))).shape
        torch.Size([3, 16, 100])
    """

    def __init__(
        self,
        vocab_size: int,
        context_size: int,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        ffn_mult: int = 4,
        *,
        tie_embeddings: bool = True,
        share: str = "none",
        universal_steps: int = 1,
        embedding_init: str = "uniform",
        init_range: float = 0.1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if share not in SHARE_MODES:
            raise ValueError(f"share must be one of {SHARE_MODES}, got {share!r}")
        if embedding_init not in ("uniform", "normal"):
            raise ValueError(
                f"embedding_init must be 'uniform' or 'normal', got {embedding_init!r}"
            )
        for name, value in (
            ("vocab_size", vocab_size),
            ("context_size", context_size),
            ("n_layers", n_layers),
            ("universal_steps", universal_steps),
            ("ffn_mult", ffn_mult),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not (math.isfinite(init_range) and init_range > 0):
            raise ValueError(f"init_range must be a positive number, got {init_range}")
        factory = {"device": device, "dtype": dtype}
        self.vocab_size = vocab_size
        self.context_size = context_size
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.ffn_mult = ffn_mult
        self.tie_embeddings = tie_embeddings
        self.share = share
        self.universal_steps = universal_steps
        self.embedding_init = embedding_init
        self.init_range = init_range

        self.tok_emb = nn.Embedding(vocab_size, d_model, **factory)
        self.pos_emb = nn.Embedding(context_size, d_model, **factory)
        n_attention = 1 if share in ("attention", "all") else n_layers
        n_feedforward = 1 if share in ("ffn", "all") else n_layers
        self.attention = nn.ModuleList(
            AttentionSublayer(d_model, n_heads, **factory) for _ in range(n_attention)
        )
        self.feedforward = nn.ModuleList(
            FeedForwardSublayer(d_model, ffn_mult * d_model, **factory)
            for _ in range(n_feedforward)
        )
        self.norm = nn.LayerNorm(d_model, **factory)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False, **factory)
        if tie_embeddings:
            # nanoGPT's tie: the head's weight *is* the embedding's weight, one Parameter.
            self.lm_head.weight = self.tok_emb.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation for every layer, then the chosen embedding init.

        The untied head is reset before the embeddings so that, when tied, the
        embedding's initialisation is the one that survives.
        """
        for sublayer in [*self.attention, *self.feedforward]:
            sublayer.reset_parameters()
        self.norm.reset_parameters()
        if not self.tie_embeddings:
            self.lm_head.reset_parameters()
        for embedding in (self.tok_emb, self.pos_emb):
            if self.embedding_init == "uniform":
                nn.init.uniform_(embedding.weight, -self.init_range, self.init_range)
            else:
                nn.init.normal_(embedding.weight)  # nn.Embedding's own default, N(0, 1)

    def layer_schedule(self) -> list[tuple[int, int]]:
        """``(attention index, feed-forward index)`` for every layer the input passes through.

        Its length is ``n_layers * universal_steps`` (the depth of the computation);
        the number of *distinct* indices is what costs parameters.
        """
        n_att, n_ffn = len(self.attention), len(self.feedforward)
        return [
            (i % n_att, i % n_ffn)
            for _ in range(self.universal_steps)
            for i in range(self.n_layers)
        ]

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if not isinstance(idx, torch.Tensor) or idx.is_floating_point() or idx.is_complex():
            raise TypeError("TinyTransformerLM expects a tensor of integer token ids")
        if idx.dim() not in (1, 2):
            raise ValueError(
                f"TinyTransformerLM expected token ids of shape (N, T) or (T,), got {tuple(idx.shape)}"
            )
        unbatched = idx.dim() == 1
        if unbatched:
            idx = idx.unsqueeze(0)
        t = idx.shape[1]
        if t > self.context_size:
            raise ValueError(
                f"sequence length {t} exceeds the context size {self.context_size} of this model"
            )
        positions = torch.arange(t, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(positions)
        for a, f in self.layer_schedule():
            x = x + self.attention[a](x)
            x = x + self.feedforward[f](x)
        logits = self.lm_head(self.norm(x))
        return logits.squeeze(0) if unbatched else logits

    def num_parameters(self) -> int:
        """Number of distinct scalars: ``parameters()`` yields a shared tensor once."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, context_size={self.context_size}, "
            f"d_model={self.d_model}, n_heads={self.n_heads}, n_layers={self.n_layers}, "
            f"tie_embeddings={self.tie_embeddings}, share={self.share!r}, "
            f"universal_steps={self.universal_steps}, embedding_init={self.embedding_init!r}"
        )
