"""Hard parameter sharing across tasks: one trunk, one head per task.

Multi-task learning in its original form (Caruana, 1997) ties
the hidden layers of several networks together.  Every task keeps its own
output head, but the representation in front of the heads is one set of
weights trained by the gradients of all tasks at once.  Untying the trunk
gives back ``T`` independent networks, which is the control experiment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._validation import check_trailing_shape

__all__ = ["MultiTaskNet"]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "gelu": nn.functional.gelu}


class MultiTaskNet(nn.Module):
    r"""``T`` regression or classification tasks on the same inputs, with a shared or separate trunk.

    With ``shared=True`` (hard sharing) every task uses the same hidden layers
    and differs only in its linear head:

    .. math::
        h = \phi(W_L \cdots \phi(W_1 x + b_1) \cdots + b_L), \qquad
        y_t = V_t h + c_t, \quad t = 1, \dots, T .

    With ``shared=False`` the trunk is untied: task :math:`t` has its own
    :math:`W_\ell^{(t)}, b_\ell^{(t)}`, so the module is exactly ``T``
    independent networks of the same shape, evaluated in one batched pass.

    Args:
        in_features: size :math:`D` of each input.
        hidden_features: width of each hidden layer (an int means one layer).
        num_tasks: number of tasks :math:`T`.
        out_features: outputs per task :math:`O` (1 for scalar regression).
        shared: tie the trunk across tasks (``True``) or give every task its own.
        activation: ``"tanh"`` (default), ``"relu"`` or ``"gelu"``.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, D)` or :math:`(D)`, and optionally ``task`` of shape :math:`(N)` (int64).
        - Output: :math:`(N, T, O)` (every head on every input), or :math:`(N, O)`
          when ``task`` picks one head per input.  Unbatched inputs drop the :math:`N`.

    Attributes:
        trunk_weights: one tensor per hidden layer, :math:`(D_\text{in}, D_\text{out})`
            when shared and :math:`(T, D_\text{in}, D_\text{out})` when not.
        trunk_biases: matching biases, :math:`(D_\text{out})` or :math:`(T, D_\text{out})`.
        head_weight: :math:`(T, H, O)`, always one head per task.
        head_bias: :math:`(T, O)`.

    Examples:
        >>> net = MultiTaskNet(10, 32, num_tasks=8)
        >>> x, task = torch.randn(5, 10), torch.tensor([0, 3, 7, 7, 1])
        >>> net(x).shape, net(x, task).shape
        (torch.Size([5, 8, 1]), torch.Size([5, 1]))
        >>> sum(p.numel() for p in net.parameters())  # 10*32 + 32 + 8*(32 + 1)
        616
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | Sequence[int],
        num_tasks: int,
        out_features: int = 1,
        *,
        shared: bool = True,
        activation: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        widths = [hidden_features] if isinstance(hidden_features, int) else list(hidden_features)
        if in_features <= 0 or out_features <= 0 or num_tasks <= 0:
            raise ValueError(
                f"in_features, out_features and num_tasks must be positive, got "
                f"{in_features}, {out_features}, {num_tasks}"
            )
        if not widths or min(widths) <= 0:
            raise ValueError(f"hidden_features must be positive widths, got {hidden_features!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        self.in_features = in_features
        self.hidden_features = tuple(widths)
        self.num_tasks = num_tasks
        self.out_features = out_features
        self.shared = shared
        self.activation = activation
        lead = () if shared else (num_tasks,)
        sizes = [in_features, *widths]
        self.trunk_weights = nn.ParameterList(
            nn.Parameter(torch.empty(*lead, a, b, **factory)) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.trunk_biases = nn.ParameterList(
            nn.Parameter(torch.empty(*lead, b, **factory)) for b in sizes[1:]
        )
        self.head_weight = nn.Parameter(torch.empty(num_tasks, widths[-1], out_features, **factory))
        self.head_bias = nn.Parameter(torch.empty(num_tasks, out_features, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every layer as ``nn.Linear`` would: uniform in :math:`\\pm 1/\\sqrt{\\text{fan-in}}`."""
        for weight, bias in zip(self.trunk_weights, self.trunk_biases):
            bound = 1.0 / math.sqrt(weight.shape[-2])
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)
        bound = 1.0 / math.sqrt(self.head_weight.shape[-2])
        nn.init.uniform_(self.head_weight, -bound, bound)
        nn.init.uniform_(self.head_bias, -bound, bound)

    def features(self, input: torch.Tensor) -> torch.Tensor:
        """The trunk's output: :math:`(N, H)` when shared, :math:`(T, N, H)` when not."""
        phi = _ACTIVATIONS[self.activation]
        h = input
        for i, (weight, bias) in enumerate(zip(self.trunk_weights, self.trunk_biases)):
            if self.shared:
                h = phi(h @ weight + bias)
            elif i == 0:
                # One matmul fans the input out to every task's first layer at once.
                t, d, w = weight.shape
                h = (h @ weight.permute(1, 0, 2).reshape(d, t * w)).view(-1, t, w).transpose(0, 1)
                h = phi(h + bias.unsqueeze(1))
            else:
                h = phi(torch.bmm(h, weight) + bias.unsqueeze(1))
        return h

    def forward(self, input: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        unbatched = check_trailing_shape(input, (self.in_features,), layer=type(self).__name__)
        if unbatched:
            input = input.unsqueeze(0)
            if task is not None:
                task = torch.as_tensor(task).reshape(1)
        h = self.features(input)
        t, w, o = self.head_weight.shape
        if self.shared:
            out = (h @ self.head_weight.permute(1, 0, 2).reshape(w, t * o)).view(-1, t, o)
        else:
            out = torch.bmm(h, self.head_weight).transpose(0, 1)
        out = out + self.head_bias
        if task is not None:
            task = torch.as_tensor(task, device=input.device)
            if task.shape != (input.shape[0],) or task.dtype not in (torch.int64, torch.int32):
                raise ValueError(
                    f"task must be an integer tensor of shape ({input.shape[0]},), "
                    f"got {task.dtype} {tuple(task.shape)}"
                )
            if len(task) and (int(task.min()) < 0 or int(task.max()) >= self.num_tasks):
                raise ValueError(f"task indices must lie in [0, {self.num_tasks - 1}]")
            out = out[torch.arange(len(task), device=input.device), task.long()]
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"num_tasks={self.num_tasks}, out_features={self.out_features}, "
            f"shared={self.shared}, activation={self.activation!r}"
        )
