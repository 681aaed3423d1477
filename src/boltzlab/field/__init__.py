"""Scalar-field RBMs and lattice field theory targets (Aarts, Lucini, Park, PRD 109, 034521 (2024)).

    import boltzlab as bl
    m = bl.ScalarFieldRBM(10, 10, mu2=9.0, sigma_h2=1.0, learn_mu2=False).init_random(0.1, seed=0)
    K = bl.field.lattice_kernel(shape=(10,), m2=4.0)      # eq. (77); (4, 4) for eq. (83)
    hist = bl.field.train_field(m, bl.field.target_from_kernel(K),
                                bl.field.FieldTrainConfig(epochs=60_000, lr=0.1, decay=0.99, decay_every=128))
    m.kernel(); m.spectrum()                              # K and its eigenvalues, ascending

See docs/field-theory.md.
"""

from .bernoulli import GaussianBernoulliRBM, series_coefficients, train_gaussian_bernoulli
from .dynamics import (flow_jacobian_rates, integrate_flow, integrate_two_node, mode_flow, relaxation_rates,
                       two_node_fixed_point)
from .kl import data_averaged_nll, gaussian_kl, kl_aligned, kl_monte_carlo, kl_scalar_theory
from .lattice import action_density, free_field_samples, lattice_kernel, lattice_spectrum, parse_lattice
from .model import MassLayer, ScalarFieldRBM, gaussian_samples, two_point
from .train import (FieldHistory, FieldTrainConfig, stable_learning_rate, target_from_kernel, train_field,
                    weight_part_norms)

__all__ = ["ScalarFieldRBM", "MassLayer", "GaussianBernoulliRBM", "lattice_kernel", "lattice_spectrum",
           "free_field_samples", "action_density", "gaussian_samples", "two_point", "parse_lattice",
           "FieldTrainConfig", "FieldHistory", "train_field", "stable_learning_rate", "target_from_kernel",
           "weight_part_norms",
           "integrate_flow", "mode_flow", "integrate_two_node", "two_node_fixed_point", "relaxation_rates",
           "flow_jacobian_rates", "gaussian_kl", "kl_aligned", "kl_scalar_theory", "kl_monte_carlo",
           "data_averaged_nll", "series_coefficients", "train_gaussian_bernoulli"]
