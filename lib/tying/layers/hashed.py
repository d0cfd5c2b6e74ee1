"""Random weight sharing by hashing (HashedNets).

A hashed layer keeps a large *virtual* weight matrix whose entries are not free:
entry ``(i, j)`` reads one of ``K`` real parameters, chosen by a fixed hash of
its position.  The tie pattern is random, but it is fixed before training and
costs nothing to store beyond a seed, so the layer has the shape of a wide
dense layer and the parameter count of a small one (Chen et al., 2015).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_tensor, format_shape

__all__ = ["HashedLinear", "hashed_linear", "hash_indices", "hash_signs", "mix32"]

_MASK32 = 0xFFFFFFFF
_MASK16 = 0xFFFF


def _mul32(x: torch.Tensor, constant: int) -> torch.Tensor:
    """``(x * constant) mod 2**32`` for ``0 <= x < 2**32`` without int64 overflow.

    The constant is split into 16-bit halves so that every intermediate product
    stays below ``2**48``; the result is therefore the same on every platform.
    """
    lo, hi = constant & _MASK16, constant >> 16
    return (x * lo + (((x * hi) & _MASK16) << 16)) & _MASK32


def mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (the ``lowbias32`` mixer of C. Wellons), vectorised over ``x``.

    ``x`` is an int64 tensor of values in ``[0, 2**32)``; the result has the same
    shape and range.  Neighbouring inputs give unrelated outputs, which is all
    that random weight sharing needs.
    """
    x = x & _MASK32
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _position_hash(out_features: int, in_features: int, seed: int, salt: int) -> torch.Tensor:
    """Hash of every position ``(i, j)`` of an ``out x in`` matrix, as int64 in ``[0, 2**32)``."""
    rows = torch.arange(out_features, dtype=torch.int64)[:, None]
    cols = torch.arange(in_features, dtype=torch.int64)[None, :]
    key = mix32(torch.tensor((seed * 0x9E3779B1 + salt) & _MASK32, dtype=torch.int64))
    # Hash the row, then combine with the column, so (i, j) and (j, i) differ.
    return mix32(mix32(rows ^ key) ^ cols)


def hash_indices(
    out_features: int, in_features: int, num_buckets: int, seed: int = 0
) -> torch.Tensor:
    """The bucket ``h(i, j) in {0, ..., K-1}`` of every virtual weight, shape ``(out, in)``, int64, on the CPU.

    A pure function of the sizes and the seed: the same call gives the same
    indices on every machine, so a saved model needs only its ``K`` real
    weights and the seed.
    """
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be at least 1, got {num_buckets}")
    return _position_hash(out_features, in_features, seed, salt=0) % num_buckets


def hash_signs(
    out_features: int, in_features: int, seed: int = 0, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The sign hash ``xi(i, j) in {-1, +1}`` of every virtual weight, shape ``(out, in)``.

    Independent of :func:`hash_indices` (a different salt).  Multiplying shared
    weights by random signs makes colliding entries cancel on average instead
    of adding up (Weinberger et al., 2009).
    """
    bits = _position_hash(out_features, in_features, seed, salt=1) & 1
    return (2 * bits - 1).to(dtype or torch.get_default_dtype())


def hashed_linear(
    input: torch.Tensor,
    weight: torch.Tensor,
    index: torch.Tensor,
    sign: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Functional form of :class:`HashedLinear`: ``y = x V^T + b`` with ``V_ij = xi_ij * w[h(i, j)]``.

    Args:
        input: ``(*, in)``.
        weight: the ``K`` real weights, shape ``(K,)``.
        index: ``h``, int64 of shape ``(out, in)`` with values in ``[0, K)``.
        sign: ``xi`` of shape ``(out, in)`` with entries ``+-1``, or ``None`` for no sign hash.
        bias: ``(out,)`` or ``None``.

    The virtual matrix is gathered once per call and multiplied densely, which
    is the fast choice when ``out x in`` fits in memory.  Autograd turns the
    gather into a scatter-add, so the gradient of a real weight is the sum of
    the gradients of all the virtual entries that read it.  The gather is an
    ``index_select`` rather than ``weight[index]`` because its backward, an
    ``index_add_``, is about twice as fast on a CPU as the accumulating
    ``index_put_`` behind advanced indexing (``benchmarks/`` times the layer).
    """
    virtual = weight.index_select(0, index.reshape(-1)).view(index.shape)
    if sign is not None:
        virtual = virtual * sign
    return F.linear(input, virtual, bias)


class HashedLinear(nn.Module):
    r"""A linear layer whose weight matrix is shared at random through a hash (HashedNets).

    The layer behaves like :class:`torch.nn.Linear` with an ``out x in`` weight
    matrix :math:`V`, but :math:`V` is *virtual*: each entry reads one of
    :math:`K` real weights :math:`w`, picked by a fixed hash :math:`h`, and is
    optionally multiplied by a fixed random sign :math:`\xi`:

    .. math::
        V_{ij} = \xi(i, j)\, w_{h(i, j)}, \qquad y = x V^\top + b .

    All entries that land in the same bucket are tied.  The compression factor
    is :math:`K / (\text{out}\cdot\text{in})`; the bias (if any) is not hashed.
    Because :math:`h` and :math:`\xi` are pure functions of the position and the
    seed, they are not saved in the ``state_dict``: a checkpoint holds only the
    :math:`K` real weights and the bias.  (This implementation keeps :math:`h`
    and :math:`\xi` in memory as buffers for speed; the paper recomputes the hash
    on the fly so that nothing but :math:`w` occupies memory.)

    By the chain rule the gradient of a real weight is the signed sum over its uses,
    :math:`\partial L/\partial w_k = \sum_{(i,j):\,h(i,j)=k} \xi(i,j)\,\partial L/\partial V_{ij}`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        num_buckets: :math:`K`, the number of real weights.  Give this or ``compression``.
        compression: the fraction :math:`K/(\text{out}\cdot\text{in})`, in ``(0, 1]``;
            :math:`K` is rounded up so at least one weight remains.
        bias: if ``True`` (default), learn an unhashed bias of size ``out``.
        signed: if ``True`` (default), use the sign hash :math:`\xi`.
        seed: selects the hash functions; layers with different seeds share differently.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(*, \text{in})`, any number of leading dimensions.
        - Output: :math:`(*, \text{out})`.

    Attributes:
        weight: the :math:`K` real weights, shape :math:`(K,)`.
        bias: learnable, shape :math:`(\text{out},)`.
        index: buffer :math:`h`, int64 of shape :math:`(\text{out}, \text{in})` (not saved).
        sign: buffer :math:`\xi`, shape :math:`(\text{out}, \text{in})` (not saved; ``None`` if unsigned).

    Examples:
        >>> layer = HashedLinear(64, 128, compression=1 / 8)
        >>> layer.weight.shape, layer(torch.randn(5, 64)).shape
        (torch.Size([1024]), torch.Size([5, 128]))
        >>> layer.virtual_weight().shape
        torch.Size([128, 64])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        num_buckets: int | None = None,
        *,
        compression: float | None = None,
        bias: bool = True,
        signed: bool = True,
        seed: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"feature counts must be positive, got in={in_features}, out={out_features}"
            )
        if (num_buckets is None) == (compression is None):
            raise ValueError("give exactly one of num_buckets and compression")
        if compression is not None:
            if not 0.0 < compression <= 1.0:
                raise ValueError(f"compression must lie in (0, 1], got {compression}")
            num_buckets = max(1, math.ceil(compression * in_features * out_features))
        assert num_buckets is not None
        if num_buckets < 1:
            raise ValueError(f"num_buckets must be at least 1, got {num_buckets}")
        self.in_features = in_features
        self.out_features = out_features
        self.num_buckets = int(num_buckets)
        self.signed = signed
        self.seed = seed
        self.weight = nn.Parameter(torch.empty(self.num_buckets, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        # The hash is recomputed from the seed, never loaded: persistent=False
        # keeps the checkpoint as small as the compression promises.
        self.register_buffer(
            "index",
            hash_indices(out_features, in_features, self.num_buckets, seed).to(device),
            persistent=False,
        )
        if signed:
            sign = hash_signs(out_features, in_features, seed, dtype=self.weight.dtype)
            self.register_buffer("sign", sign.to(device), persistent=False)
        else:
            self.register_buffer("sign", None, persistent=False)
        self.reset_parameters()

    @property
    def compression(self) -> float:
        """Real weights per virtual weight, :math:`K / (\\text{out}\\cdot\\text{in})`."""
        return self.num_buckets / (self.in_features * self.out_features)

    def reset_parameters(self) -> None:
        """Draw the real weights as ``nn.Linear`` draws its entries, so the virtual matrix looks alike."""
        bound = 1.0 / math.sqrt(self.in_features)  # what kaiming_uniform_(a=sqrt(5)) gives Linear
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def virtual_weight(self) -> torch.Tensor:
        """The ``(out, in)`` matrix :math:`V` the layer multiplies by (differentiable in ``weight``)."""
        virtual = self.weight[self.index]
        return virtual * self.sign if self.sign is not None else virtual

    def bucket_sizes(self) -> torch.Tensor:
        """How many virtual entries read each real weight, shape ``(K,)``; sums to ``out * in``."""
        return torch.bincount(self.index.flatten(), minlength=self.num_buckets)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_tensor(input)
        if input.dim() == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (*, {self.in_features}), "
                f"got {format_shape(input.shape)}"
            )
        return hashed_linear(input, self.weight, self.index, self.sign, self.bias)

    def extra_repr(self) -> str:
        s = (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"num_buckets={self.num_buckets}, compression={self.compression:.4g}"
        )
        if not self.signed:
            s += ", signed=False"
        if self.seed != 0:
            s += f", seed={self.seed}"
        if self.bias is None:
            s += ", bias=False"
        return s
