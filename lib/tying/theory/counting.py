"""Parameter counts of tied and untied layers, in closed form.

Convolutions share one kernel across positions, recurrent networks share one
cell across time, and Transformers can share their embedding with their output
layer and their layers with each other.  Each function is the count a chapter
states; the tests compare every one with the modules it describes.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "conv2d_param_count",
    "locally_connected2d_param_count",
    "tying_ratio",
    "rnn_param_count",
    "untied_rnn_param_count",
    "attention_param_count",
    "feedforward_param_count",
    "transformer_lm_param_count",
    "bert_param_count",
]


def conv2d_param_count(
    in_channels: int, out_channels: int, kernel_size: tuple[int, int], bias: bool = True
) -> int:
    """:math:`C_\\text{out}(k_H k_W C_\\text{in} + 1)`: one kernel and one bias per output channel."""
    kh, kw = kernel_size
    return out_channels * (kh * kw * in_channels + int(bias))


def locally_connected2d_param_count(
    in_channels: int,
    out_channels: int,
    kernel_size: tuple[int, int],
    out_size: tuple[int, int],
    bias: bool = True,
) -> int:
    """:math:`H_\\text{out} W_\\text{out} C_\\text{out}(k_H k_W C_\\text{in} + 1)`: a kernel per output unit."""
    h_out, w_out = out_size
    return h_out * w_out * conv2d_param_count(in_channels, out_channels, kernel_size, bias)


def tying_ratio(out_size: tuple[int, int]) -> Fraction:
    """Tied over untied parameter count, :math:`1/(H_\\text{out} W_\\text{out})`, as an exact fraction.

    The kernel size and channel counts cancel: sharing divides the count by the
    number of positions the kernel is reused at.
    """
    h_out, w_out = out_size
    return Fraction(1, h_out * w_out)


_GATES = {"rnn": 1, "gru": 3, "lstm": 4}
_SHARE_MODES = ("none", "attention", "ffn", "all")


def rnn_param_count(input_size: int, hidden_size: int, cell: str = "rnn", bias: bool = True) -> int:
    r""":math:`g\,(H I + H^2 + 2H)` for one layer of ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``.

    :math:`g` is the number of gates (1, 3, 4).  PyTorch keeps two bias
    vectors, :math:`b_{ih}` and :math:`b_{hh}`, per gate.  The count does not
    depend on the sequence length: that is what sharing across time means.
    """
    if cell not in _GATES:
        raise ValueError(f"cell must be one of {sorted(_GATES)}, got {cell!r}")
    g, h = _GATES[cell], hidden_size
    return g * (h * input_size + h * h + (2 * h if bias else 0))


def untied_rnn_param_count(
    seq_len: int, input_size: int, hidden_size: int, bias: bool = True
) -> int:
    r""":math:`T\,(H I + H^2 + 2H)`: a tanh RNN unrolled for :math:`T` steps with a weight set per step."""
    return seq_len * rnn_param_count(input_size, hidden_size, "rnn", bias)


def attention_param_count(d_model: int, bias: bool = True) -> int:
    r""":math:`4d^2 + 4d`: the query, key, value and output projections of multi-head attention.

    The number of heads does not appear: heads split :math:`d`, they do not add to it.
    """
    return 4 * d_model * d_model + (4 * d_model if bias else 0)


def feedforward_param_count(d_model: int, hidden: int) -> int:
    r""":math:`2 d m + m + d`: the two linear maps :math:`d \to m \to d` with their biases."""
    return 2 * d_model * hidden + hidden + d_model


def transformer_lm_param_count(
    vocab_size: int,
    context_size: int,
    d_model: int,
    n_layers: int,
    ffn_mult: int = 4,
    *,
    tie_embeddings: bool = True,
    share: str = "none",
) -> int:
    r"""Parameters of :class:`tying.layers.TinyTransformerLM`.

    .. math::
        n = \underbrace{V d + C d}_\text{embeddings}
          + n_A\,(4d^2 + 6d) + n_F\,(2 d m + m + 3d) + 2d
          + [\text{untied}]\, V d,

    where :math:`m` = ``ffn_mult`` :math:`\cdot d`, each sub-layer carries its
    own LayerNorm (:math:`2d`), and :math:`n_A, n_F` are the numbers of
    *distinct* attention and feed-forward sub-layers: :math:`1` when shared,
    :math:`L` otherwise.  ``universal_steps`` does not appear: repeating
    the stack adds depth, not parameters.
    """
    if share not in _SHARE_MODES:
        raise ValueError(f"share must be one of {_SHARE_MODES}, got {share!r}")
    d, hidden = d_model, ffn_mult * d_model
    n_attention = 1 if share in ("attention", "all") else n_layers
    n_feedforward = 1 if share in ("ffn", "all") else n_layers
    embeddings = vocab_size * d + context_size * d
    attention = attention_param_count(d) + 2 * d
    feedforward = feedforward_param_count(d, hidden) + 2 * d
    head = 0 if tie_embeddings else vocab_size * d
    return embeddings + n_attention * attention + n_feedforward * feedforward + 2 * d + head


def bert_param_count(
    vocab_size: int = 30_000,
    embedding_size: int = 128,
    hidden_size: int = 768,
    n_layers: int = 12,
    ffn_size: int = 3072,
    max_positions: int = 512,
    type_vocab_size: int = 2,
    *,
    share: str = "none",
    pooler: bool = False,
) -> int:
    r"""Parameters of a BERT/ALBERT encoder (post-norm layers, factorised embedding when :math:`E \ne H`).

    .. math::
        n = (V + P + 2) E + 2E + [E \ne H](E H + H)
          + n_A (4H^2 + 4H + 2H) + n_F (2 H F + F + H + 2H)
          + [\text{pooler}] (H^2 + H),

    with :math:`n_A, n_F \in \{1, L\}` as in :func:`transformer_lm_param_count`.
    BERT-base is ``embedding_size=768``; ALBERT-base factorises the embedding
    with ``embedding_size=128``.  The masked-language-model head is not
    counted: its output matrix is the (tied) input embedding.
    """
    if share not in _SHARE_MODES:
        raise ValueError(f"share must be one of {_SHARE_MODES}, got {share!r}")
    e, h = embedding_size, hidden_size
    embeddings = (vocab_size + max_positions + type_vocab_size) * e + 2 * e
    if e != h:
        embeddings += e * h + h
    attention = attention_param_count(h) + 2 * h
    feedforward = feedforward_param_count(h, ffn_size) + 2 * h
    n_attention = 1 if share in ("attention", "all") else n_layers
    n_feedforward = 1 if share in ("ffn", "all") else n_layers
    total = embeddings + n_attention * attention + n_feedforward * feedforward
    return total + (h * h + h if pooler else 0)
