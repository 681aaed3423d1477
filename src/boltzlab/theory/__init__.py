"""The theory of energy-based models made computable (the lecture notes on energy-based models (unpublished)).

Every statement of the paper's sections 2-4 and Appendix A is a function here, checked in
tests/test_theory.py against exact enumeration on small models (docs/theory.md lists them with the
corrections found).  Quick tour::

    import boltzlab as bl
    b, W = bl.theory.mean_field_bm(data, self_interaction=False)    # Corollary 28 (eq. 41-42)
    bm = bl.BoltzmannMachine(weights=W, bias=b, centers=data.mean(0))  # eq. 12
    W_eff, b_eff = bl.theory.rbm_to_bm(rbm)                          # Lemma 31 (eq. 46-47)
    bl.theory.validity(bl.theory.data_moments(data))                 # Remarks 34-35
    y = bl.theory.zoom_in(data, delta=0.3, copies=2)                 # Definition 36
    bl.theory.maxent_residual(model, data)                           # Theorem 3 / eq. 5
"""

from .effective import (brute_force_effective_energy, brute_force_marginal, effective_energy,
                        effective_energy_gradient, rbm_as_bm)
from .maxent import ExactFit, energy_gradient_expectation, entropy_perturbations, fit_bm_exact, maxent_residual
from .moments import Moments, data_moments, distribution_moments, exact_distribution, exact_moments
from .perturbation import (connected_fourth_moment, coupling_scan, first_order_covariance, first_order_log_ratio,
                           first_order_mean, first_order_solution, loglog_slope, mean_field_bm, moment_tensor,
                           perturbative_bm, scaled_covariance, scan_slopes, validity, zeroth_order_log_prob)
from .rbm_perturbation import (RBMPerturbation, effective_bm, gauge_transform, perturbation_residual,
                               random_orthogonal, rbm_to_bm, solve_rbm_perturbation)
from .temperature import effective_energy_at, high_temperature_log_ratio, uniform_mean_energy
from .zoom import zoom_in, zoom_in_mean, zoom_in_mean_std, zoom_in_moments

__all__ = [
    "Moments", "data_moments", "distribution_moments", "exact_distribution", "exact_moments",
    "effective_energy", "brute_force_effective_energy", "brute_force_marginal", "effective_energy_gradient",
    "rbm_as_bm",
    "energy_gradient_expectation", "maxent_residual", "fit_bm_exact", "ExactFit", "entropy_perturbations",
    "zeroth_order_log_prob", "moment_tensor", "connected_fourth_moment", "first_order_log_ratio",
    "first_order_mean", "first_order_covariance", "first_order_solution", "mean_field_bm", "perturbative_bm",
    "scaled_covariance", "validity", "coupling_scan", "scan_slopes", "loglog_slope",
    "rbm_to_bm", "effective_bm", "gauge_transform", "random_orthogonal", "perturbation_residual",
    "solve_rbm_perturbation", "RBMPerturbation",
    "effective_energy_at", "high_temperature_log_ratio", "uniform_mean_energy",
    "zoom_in", "zoom_in_mean", "zoom_in_moments", "zoom_in_mean_std",
]
