r"""Message passing on graphs with one message function shared by every edge.

A graph neural network of the message-passing kind (Gilmer et al., 2017)
updates every node from the messages its neighbours send,

.. math::
    m_{ij} = \phi(h_i, h_j, e_{ij}), \qquad
    h_i' = \psi\Big(h_i, \sum_{j \in \mathcal{N}(i)} m_{ij}\Big),

and the whole point is that :math:`\phi` is **one** network, tied across all
edges, and :math:`\psi` one network tied across all nodes.  Relabelling the
nodes therefore relabels the output and nothing else (permutation
equivariance), and the parameter count does not depend on the size of the graph.

Graphs are given as in PyTorch Geometric: node features ``x`` of shape
``(num_nodes, F)``, an ``edge_index`` of shape ``(2, E)`` whose column
``(j, i)`` is an edge carrying a message *from* ``j`` *to* ``i``, and optional
``edge_attr`` ``(E, F_e)``.  Several graphs form a batch by stacking them as
one disconnected graph.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_tensor, check_trailing_shape

__all__ = ["aggregate_messages", "SharedMessagePassing"]


def aggregate_messages(
    messages: torch.Tensor, target: torch.Tensor, num_nodes: int, aggregation: str = "sum"
) -> torch.Tensor:
    """Add (or average) the rows of ``messages`` ``(E, d)`` into the nodes ``target`` ``(E,)``.

    Returns ``(num_nodes, d)``; a node without incoming edges receives zeros.
    """
    out = messages.new_zeros(num_nodes, messages.shape[-1])
    out.index_add_(0, target, messages)
    if aggregation == "mean":
        count = torch.bincount(target, minlength=num_nodes).clamp(min=1).to(out.dtype)
        out = out / count.unsqueeze(-1)
    elif aggregation != "sum":
        raise ValueError(f"aggregation must be 'sum' or 'mean', got {aggregation!r}")
    return out


class SharedMessagePassing(nn.Module):
    r"""One round of message passing whose message and update networks are shared.

    .. math::
        m_{ij} = \phi\big([h_i, h_j, e_{ij}]\big), \qquad
        h_i' = \psi\Big(\big[h_i,\ \textstyle\sum_{j \to i} m_{ij}\big]\Big),

    with :math:`\phi` and :math:`\psi` two-layer perceptrons.  Every edge uses the
    same :math:`\phi` and every node the same :math:`\psi`: a graph with a million
    edges has exactly as many parameters as one with three.  Sum aggregation is
    the default because it keeps count of the neighbours (a mean would not see
    the degree).

    Args:
        node_features: size :math:`F` of the input node features :math:`h_i`.
        out_features: size of the output node features :math:`h_i'`.
        edge_features: size :math:`F_e` of the edge features (``0``: none).
        hidden: width of the message and of the hidden layers of :math:`\phi, \psi`.
        aggregation: ``"sum"`` (default) or ``"mean"``.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - x: :math:`(V, F)`.
        - edge_index: :math:`(2, E)`, integer; column :math:`(j, i)` sends :math:`j \to i`.
        - edge_attr: :math:`(E, F_e)` when ``edge_features > 0``, else ``None``.
        - Output: :math:`(V, \text{out\_features})`.

    Attributes:
        message: the shared edge network :math:`\phi`.
        update: the shared node network :math:`\psi`.

    Examples:
        >>> layer = SharedMessagePassing(3, 8)
        >>> x = torch.randn(4, 3)
        >>> edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])  # a path
        >>> layer(x, edge_index).shape
        torch.Size([4, 8])
        >>> perm = torch.tensor([2, 0, 3, 1])  # new label of each old node
        >>> inverse = torch.argsort(perm)
        >>> y = layer(x[inverse], perm[edge_index])
        >>> torch.allclose(y, layer(x, edge_index)[inverse], atol=1e-6)
        True
    """

    def __init__(
        self,
        node_features: int,
        out_features: int,
        edge_features: int = 0,
        hidden: int = 32,
        aggregation: str = "sum",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if node_features <= 0 or out_features <= 0 or hidden <= 0 or edge_features < 0:
            raise ValueError(
                "sizes must be positive (edge_features may be 0), got "
                f"node={node_features}, out={out_features}, edge={edge_features}, hidden={hidden}"
            )
        if aggregation not in ("sum", "mean"):
            raise ValueError(f"aggregation must be 'sum' or 'mean', got {aggregation!r}")
        factory = {"device": device, "dtype": dtype}
        self.node_features = node_features
        self.out_features = out_features
        self.edge_features = edge_features
        self.hidden = hidden
        self.aggregation = aggregation
        self.message = nn.Sequential(
            nn.Linear(2 * node_features + edge_features, hidden, **factory),
            nn.ReLU(),
            nn.Linear(hidden, hidden, **factory),
        )
        self.update = nn.Sequential(
            nn.Linear(node_features + hidden, hidden, **factory),
            nn.ReLU(),
            nn.Linear(hidden, out_features, **factory),
        )

    def reset_parameters(self) -> None:
        """Re-initialise both shared networks as ``nn.Linear`` does."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor | None = None,
    ) -> torch.Tensor:
        name = type(self).__name__
        check_trailing_shape(
            x, (self.node_features,), layer=name, batch_optional=False, symbols=("F",)
        )
        num_nodes = x.shape[0]
        if (
            not isinstance(edge_index, torch.Tensor)
            or edge_index.dtype not in (torch.int64, torch.int32)
            or edge_index.dim() != 2
            or edge_index.shape[0] != 2
        ):
            raise ValueError(f"{name} expected an integer edge_index of shape (2, E)")
        if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
            raise ValueError(f"{name}: edge_index refers to nodes outside 0..{num_nodes - 1}")
        source, target = edge_index.long()
        parts = [x[target], x[source]]
        if self.edge_features:
            if edge_attr is None:
                raise ValueError(f"{name} was built with edge_features={self.edge_features}")
            check_tensor(edge_attr, "edge_attr")
            if edge_attr.shape != (edge_index.shape[1], self.edge_features):
                raise ValueError(
                    f"{name} expected edge_attr of shape ({edge_index.shape[1]}, "
                    f"{self.edge_features}), got {tuple(edge_attr.shape)}"
                )
            parts.append(edge_attr)
        elif edge_attr is not None:
            raise ValueError(f"{name} was built without edge features but got edge_attr")
        messages = self.message(torch.cat(parts, dim=-1))  # one phi for every edge
        pooled = aggregate_messages(messages, target, num_nodes, self.aggregation)
        return self.update(torch.cat([x, pooled], dim=-1))

    def extra_repr(self) -> str:
        return (
            f"node_features={self.node_features}, out_features={self.out_features}, "
            f"edge_features={self.edge_features}, hidden={self.hidden}, "
            f"aggregation={self.aggregation!r}"
        )
