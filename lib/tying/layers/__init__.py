"""Tied and untied layers used throughout the book.

Each layer follows the anatomy of ``torch.nn``: a functional form that can be
tested on its own, a module whose docstring gives the formula, the shapes and
an example, ``reset_parameters`` and ``extra_repr``.  Every module accepts
``device=`` and ``dtype=`` like torch's own layers.
"""

from .local import (
    LocallyConnected2d,
    conv2d_output_size,
    locally_connected2d,
    locally_connected2d_loop,
)

__all__ = [
    "LocallyConnected2d",
    "conv2d_output_size",
    "locally_connected2d",
    "locally_connected2d_loop",
    "TiedRNN",
    "tied_rnn",
    "tied_rnn_step",
]

# Part I, sections 3-4: residual stacks tied across depth; layers as sparse matrices.
from .depth import (  # noqa: E402
    DampedBranch,
    MLPBranch,
    TiedResidualStack,
    UntiedResidualStack,
    residual_iterate,
)
from .recurrent import TiedRNN, tied_rnn, tied_rnn_step  # noqa: E402
from .toeplitz import (  # noqa: E402
    conv2d_as_matrix,
    locally_connected2d_as_matrix,
    toeplitz_defect,
)

__all__ += [
    "DampedBranch",
    "MLPBranch",
    "TiedResidualStack",
    "UntiedResidualStack",
    "residual_iterate",
    "conv2d_as_matrix",
    "locally_connected2d_as_matrix",
    "toeplitz_defect",
]

# Part I, sections 8-10: soft ties with schedules, the tied autoencoder, projector weights.
from .autoencoder import TiedAutoencoder, tied_autoencoder  # noqa: E402
from .projector import Projector, ProjectorLinear, random_projector  # noqa: E402
from .schedules import (  # noqa: E402
    ConstantSchedule,
    CosineRamp,
    ExponentialRamp,
    LinearRamp,
    Schedule,
)
from .soft_tie import SoftTie, soft_tie_gradient, soft_tie_penalty  # noqa: E402

__all__ += [
    "TiedAutoencoder",
    "tied_autoencoder",
    "Projector",
    "ProjectorLinear",
    "random_projector",
    "ConstantSchedule",
    "CosineRamp",
    "ExponentialRamp",
    "LinearRamp",
    "Schedule",
    "SoftTie",
    "soft_tie_gradient",
    "soft_tie_penalty",
]

# Part II, compression: random weight sharing by hashing (HashedNets).
from .hashed import HashedLinear, hash_indices, hash_signs, hashed_linear  # noqa: E402

__all__ += ["HashedLinear", "hash_indices", "hash_signs", "hashed_linear"]

# Part II, statistical learning / signal processing / chemistry: multi-task trunks,
# circulant (FFT) layers, per-element atomic networks.
from .atomistic import (  # noqa: E402
    AtomicEnergyModel,
    angular_symmetry_functions,
    cosine_cutoff,
    pairwise_distances,
    radial_symmetry_functions,
)
from .circulant import Circulant, CirculantLinear, circulant_linear, circulant_matrix  # noqa: E402
from .multitask import MultiTaskNet  # noqa: E402

__all__ += [
    "AtomicEnergyModel",
    "angular_symmetry_functions",
    "cosine_cutoff",
    "pairwise_distances",
    "radial_symmetry_functions",
    "Circulant",
    "CirculantLinear",
    "circulant_linear",
    "circulant_matrix",
    "MultiTaskNet",
]

# Part II, convolutions and symmetry / sets and graphs: C4 group convolutions,
# permutation-equivariant set layers, message passing with a shared edge function.
from .group_conv import (  # noqa: E402
    GroupConv2d,
    LiftingConv2d,
    RotationPool,
    group_conv2d,
    lifting_conv2d,
    rotate_c4,
)
from .message_passing import SharedMessagePassing, aggregate_messages  # noqa: E402
from .sets import DeepSets, PermEquivariant, perm_equivariant, set_pool  # noqa: E402

__all__ += [
    "GroupConv2d",
    "LiftingConv2d",
    "RotationPool",
    "group_conv2d",
    "lifting_conv2d",
    "rotate_c4",
    "SharedMessagePassing",
    "aggregate_messages",
    "DeepSets",
    "PermEquivariant",
    "perm_equivariant",
    "set_pool",
]

# Part II, recurrent networks and Transformers: the untied (unrolled) RNN, and a tiny
# GPT-style language model with switchable embedding tying and cross-layer sharing.
from .transformer import (  # noqa: E402
    SHARE_MODES,
    AttentionSublayer,
    CausalSelfAttention,
    FeedForward,
    FeedForwardSublayer,
    TinyTransformerLM,
)
from .untied_rnn import UntiedRNN, untied_rnn  # noqa: E402

__all__ += [
    "SHARE_MODES",
    "AttentionSublayer",
    "CausalSelfAttention",
    "FeedForward",
    "FeedForwardSublayer",
    "TinyTransformerLM",
    "UntiedRNN",
    "untied_rnn",
]
