"""Closed forms that the book states, each tested against simulation or autograd.

A formula printed in a chapter lives here exactly once; the notebook calls it,
prints it and asserts that a simulation agrees.  Submodules are named after the
idea, not the chapter.
"""

from .backprop import shared_bias_forward, shared_bias_gradients
from .counting import conv2d_param_count, locally_connected2d_param_count, tying_ratio
from .rnn_gradients import (
    jacobian_norms_over_lags,
    norm_power_bound,
    orthogonal_jacobian_bracket,
    power_norms,
    scaled_orthogonal,
    shifted_jordan,
    spectral_norm,
    spectral_radius,
)
from .soft_sharing import (
    difference_shrinkage,
    precision_weighted_mean,
    soft_sharing_map,
    soft_sharing_neg_log_posterior,
    soft_sharing_posterior_covariance,
    soft_sharing_posterior_precision,
)

__all__ = [
    "conv2d_param_count",
    "locally_connected2d_param_count",
    "tying_ratio",
    # Part I, sections 5-7
    "shared_bias_forward",
    "shared_bias_gradients",
    "jacobian_norms_over_lags",
    "norm_power_bound",
    "orthogonal_jacobian_bracket",
    "power_norms",
    "scaled_orthogonal",
    "shifted_jordan",
    "spectral_norm",
    "spectral_radius",
    "difference_shrinkage",
    "precision_weighted_mean",
    "soft_sharing_map",
    "soft_sharing_neg_log_posterior",
    "soft_sharing_posterior_covariance",
    "soft_sharing_posterior_precision",
]

# Part I, sections 2-4: tying across time, across depth, and the convolution matrix.
from .depth import (  # noqa: E402
    ACTIVATION_LIPSCHITZ,
    a_priori_distance_bound,
    contraction_distance_bound,
    damped_contraction_factor,
    iterations_for_tolerance,
    mlp_lipschitz_bound,
    residual_lipschitz_bound,
    residual_stack_param_count,
)
from .time_sharing import (  # noqa: E402
    ar1_covariance,
    ar1_variances,
    crossover_amplitude,
    crossover_amplitude_leading,
    drift_path,
    drift_spread_factor,
    excess_error_gap,
    misspecification_bias,
    tied_estimator_variance,
    tied_excess_error,
    tied_limit,
    untied_estimator_variance,
    untied_excess_error,
)
from .toeplitz import (  # noqa: E402
    conv2d_matrix_free_parameters,
    conv2d_matrix_nnz,
    conv2d_matrix_shape,
    locally_connected2d_matrix_free_parameters,
)

__all__ += [
    "ACTIVATION_LIPSCHITZ",
    "a_priori_distance_bound",
    "contraction_distance_bound",
    "damped_contraction_factor",
    "iterations_for_tolerance",
    "mlp_lipschitz_bound",
    "residual_lipschitz_bound",
    "residual_stack_param_count",
    "ar1_covariance",
    "ar1_variances",
    "crossover_amplitude",
    "crossover_amplitude_leading",
    "drift_path",
    "drift_spread_factor",
    "excess_error_gap",
    "misspecification_bias",
    "tied_estimator_variance",
    "tied_excess_error",
    "tied_limit",
    "untied_estimator_variance",
    "untied_excess_error",
    "conv2d_matrix_free_parameters",
    "conv2d_matrix_nnz",
    "conv2d_matrix_shape",
    "locally_connected2d_matrix_free_parameters",
]

# Part I, sections 9-10: degeneracy of the tied autoencoder; projector spectra.
from .identifiability import (  # noqa: E402
    degeneracy_dim,
    gram_map_rank,
    orbit_dim,
    orthogonal_group_dim,
    overcomplete_degeneracy_dim,
    untied_degeneracy_dim,
)
from .projectors import (  # noqa: E402
    projector_frobenius_sq,
    projector_rank,
    projector_singular_values,
    projector_spectral_measure,
    retained_energy,
)

__all__ += [
    "degeneracy_dim",
    "gram_map_rank",
    "orbit_dim",
    "orthogonal_group_dim",
    "overcomplete_degeneracy_dim",
    "untied_degeneracy_dim",
    "projector_frobenius_sq",
    "projector_rank",
    "projector_singular_values",
    "projector_spectral_measure",
    "retained_energy",
]

# Part II, statistical learning: soft sharing of K means, James-Stein, Bayes risks.
from .shrinkage import (  # noqa: E402
    bayes_lambda,
    bayes_risk,
    empirical_bayes_lambda,
    james_stein,
    james_stein_bayes_risk,
    james_stein_factor,
    james_stein_risk,
    kept_fraction,
    mle_risk,
    posterior_mean,
    shrinkage_factor,
    soft_sharing_bayes_risk,
    soft_sharing_estimate,
    soft_sharing_objective,
    soft_sharing_risk,
)

__all__ += [
    "bayes_lambda",
    "bayes_risk",
    "empirical_bayes_lambda",
    "james_stein",
    "james_stein_bayes_risk",
    "james_stein_factor",
    "james_stein_risk",
    "kept_fraction",
    "mle_risk",
    "posterior_mean",
    "shrinkage_factor",
    "soft_sharing_bayes_risk",
    "soft_sharing_estimate",
    "soft_sharing_objective",
    "soft_sharing_risk",
]

# Part II, compression: bucket loads and hashed inner products (HashedNets).
from .hashing import (  # noqa: E402
    bucket_load_mean,
    bucket_load_variance,
    expected_unused_fraction,
    hashed_inner_product_mean,
)

__all__ += [
    "bucket_load_mean",
    "bucket_load_variance",
    "expected_unused_fraction",
    "hashed_inner_product_mean",
]

# Part II, sets and graphs: equivariant weights as tying patterns (orbits on index pairs).
from .commutant import (  # noqa: E402
    commutant_basis,
    commutant_dimension,
    cyclic_commutant_dimension,
    cyclic_group_generators,
    pair_orbits,
    permutation_matrix,
    symmetric_commutant_dimension,
    symmetric_group_generators,
    tied_matrix,
)

__all__ += [
    "commutant_basis",
    "commutant_dimension",
    "cyclic_commutant_dimension",
    "cyclic_group_generators",
    "pair_orbits",
    "permutation_matrix",
    "symmetric_commutant_dimension",
    "symmetric_group_generators",
    "tied_matrix",
]

# Part II, recurrent networks and Transformers: parameter counts with and without sharing.
from .counting import (  # noqa: E402
    attention_param_count,
    bert_param_count,
    feedforward_param_count,
    rnn_param_count,
    transformer_lm_param_count,
    untied_rnn_param_count,
)

__all__ += [
    "attention_param_count",
    "bert_param_count",
    "feedforward_param_count",
    "rnn_param_count",
    "transformer_lm_param_count",
    "untied_rnn_param_count",
]
