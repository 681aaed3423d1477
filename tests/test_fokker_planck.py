"""Sec. 4 of the reciprocal-space paper made computable: the saddle-point partition function (eq. 21-28), the
Gaussian Fokker-Planck / coupled-boson mode dynamics (eq. 29-48), checked against exact enumeration and
exact-gradient training of small RBMs."""

import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import ConfigError
from boltzlab.partition.exact import exact_log_z
from boltzlab.reciprocal.fokker_planck import fokker_planck_spectrum, mode_dynamics, saddle_point
from boltzlab.studies.pipelines.exact_dynamics import (exact_covariance, gibbs_relaxation, harmonic_rates_check,
                                                       mode_record, prototype_data, relaxation_along_training,
                                                       spectrum_figure, train_exactly, training_figure)
from conftest import random_rbm


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- the saddle point (eq. 26-28)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_saddle_point_bounds_and_approaches_exact_log_z(seed):
    """ln Z_sp <= ln Z (Gibbs-Bogoliubov); its error is O(beta^2), the Gaussian-corrected one O(beta^4)."""
    rbm = random_rbm(10, 6, seed=seed)
    errs_sp, errs_g = [], []
    for beta in (0.05, 0.1):
        sp = saddle_point(rbm, beta)
        exact = exact_log_z(rbm, beta)
        assert sp.converged and sp.log_z <= exact + 1e-12
        errs_sp.append(exact - sp.log_z)
        errs_g.append(abs(exact - sp.log_z_gaussian))
    assert 3.5 < errs_sp[1] / errs_sp[0] < 4.5
    assert errs_g[1] < 0.02 * errs_sp[1] and errs_g[1] / errs_g[0] > 8
    for beta in (0.4, 0.8):
        assert saddle_point(rbm, beta).log_z <= exact_log_z(rbm, beta) + 1e-12


def test_saddle_point_equations_and_high_temperature_limit():
    rbm = random_rbm(9, 5, seed=4, offsets=True)
    t = bl.reciprocal.reciprocal_transform(rbm)
    sp = saddle_point(rbm, 0.7)
    w, a, b = t.weights, t.visible_bias, t.hidden_bias
    assert torch.allclose(sp.visible_means, torch.sigmoid(0.7 * (a + w @ sp.hidden_means)), atol=1e-11)
    assert torch.allclose(sp.hidden_means, torch.sigmoid(0.7 * (b + sp.visible_means @ w)), atol=1e-11)
    assert torch.allclose(sp.x, sp.visible_means @ t.U, atol=1e-12)
    hot = saddle_point(rbm, 1e-6)          # eq. 28: the arithmetic mean over states
    ref = t.reference_moments()
    assert torch.allclose(hot.x, ref["mu_x"], atol=1e-5) and torch.allclose(hot.y, ref["mu_y"], atol=1e-5)
    with pytest.raises(ConfigError, match="beta"):
        saddle_point(rbm, 0.0)


def test_gaussian_saddle_point_diverges_at_the_mode_threshold():
    """At m = 1/2 the fluctuation matrix has s_i = beta lambda_i / 4: the same threshold as c_i = 4T - lambda_i."""
    rbm = random_rbm(8, 5, seed=5)
    with torch.no_grad():
        rbm.visible.bias.zero_()
        rbm.hidden.bias.zero_()
    sp = saddle_point(rbm, 1e-3)
    lam = bl.reciprocal.reciprocal_transform(rbm).singular_values
    assert torch.allclose(sp.fluctuation_singular_values.sort(descending=True).values, 1e-3 * lam / 4, rtol=1e-5)


# ---------------------------------------------------------------- the Fokker-Planck operator (eq. 33-48)
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_fokker_planck_rates_are_n_times_the_curvature(beta):
    """The numerical FP spectrum of U = c z^2/2 is n c (corrected eq. 48), not beta^2 n c / 4 (as written)."""
    r = harmonic_rates_check(2.0, beta)
    assert np.allclose(r["numerical"], r["corrected"], atol=1e-4)
    assert np.abs(r["numerical"][1:] - r["as_written"][1:]).min() > 0.5


def test_fokker_planck_spectrum_of_a_double_well_has_a_slow_kramers_rate():
    """A confining double well relaxes at every level: Gamma_1 > 0 but far below the well curvature."""
    rates = fokker_planck_spectrum(lambda z: (z * z - 1) ** 2 * 3.0, -2.5, 2.5, beta=2.0, n_grid=3001)
    assert abs(rates[0]) < 1e-8 and 0 < rates[1] < 0.05 * (24.0 - rates[1]) and rates[2] > 10 * rates[1]
    with pytest.raises(ConfigError):
        fokker_planck_spectrum(lambda z: z, 1.0, 0.0)


@pytest.mark.parametrize("cls, kappa", [(bl.BinaryRBM, 4.0), (bl.SpinRBM, 1.0)])
def test_uniform_expansion_gives_uncoupled_modes(cls, kappa):
    """eq. 46: k = 1/sigma^2 I for any W, so the curvatures are kappa T -+ lambda_i and kappa T (uncoupled)."""
    rbm = random_rbm(9, 4, seed=7, cls=cls, offsets=cls is bl.BinaryRBM)
    beta = 0.8
    dyn = mode_dynamics(rbm, beta)
    lam = bl.reciprocal.reciprocal_transform(rbm).singular_values.double()
    t = kappa / beta
    expect = torch.cat([t - lam, t + lam, torch.full((9 - 4,), t, dtype=torch.float64)]).sort().values
    assert torch.allclose(dyn.curvatures, expect, atol=1e-10)
    assert dyn.non_converging == [i for i in range(len(expect)) if expect[i] < 0]
    assert torch.allclose(torch.linalg.eigvalsh(dyn.boson_matrix()),
                          (dyn.schroedinger_frequencies ** 2).sort().values, atol=1e-9)
    c = dyn.curvatures[dyn.curvatures > 0].numpy()[:3]
    assert len(c) >= 2
    singles_and_pairs = list(c) + [c[i] + c[j] for i in range(len(c)) for j in range(i, len(c))]
    rates = dyn.relaxation_rates(2, n_modes=3)
    assert np.allclose(rates, sorted(singles_and_pairs))
    assert np.allclose(dyn.paper_rates(2, 3), beta ** 2 / 4 * rates)


def test_stationary_covariance_against_exact_enumeration():
    """T H^{-1} against the exact Cov(v, h): the saddle-point expansion is the accurate one once biases matter."""
    weak = random_rbm(10, 6, scale=0.1, seed=3)
    with torch.no_grad():
        weak.visible.bias.zero_()
        weak.hidden.bias.zero_()
    exact = exact_covariance(weak)
    for expansion in ("uniform", "saddle"):
        g = mode_dynamics(weak, 1.0, expansion).stationary_covariance()
        assert float((g - exact).norm() / exact.norm()) < 0.02
    biased = random_rbm(10, 6, scale=0.5, seed=3)
    exact = exact_covariance(biased)
    err = {e: float((mode_dynamics(biased, 1.0, e).stationary_covariance() - exact).norm() / exact.norm())
           for e in ("uniform", "saddle")}
    assert err["saddle"] < 0.1 and err["uniform"] > 3 * err["saddle"]
    strong = random_rbm(10, 6, scale=1.0, seed=3)
    with pytest.raises(ConfigError, match="negative curvature"):
        mode_dynamics(strong, 1.0, "uniform").stationary_covariance()


def test_gibbs_relaxation_matches_a_sampled_autocorrelation():
    """rho_2 of the exact kernel bounds the lag-1 autocorrelation of any function of h; for one hidden unit
    the kernel is 2x2 and rho_2 is its closed-form second eigenvalue 1 - p(0->1) - p(1->0)."""
    rbm = random_rbm(6, 1, scale=2.0, seed=8)
    v = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=torch.float64)] * 6)
    pv_h = [torch.softmax(-rbm.energy(v, torch.full((64, 1), hv, dtype=torch.float64)).detach(), 0)
            for hv in (0.0, 1.0)]
    p1 = rbm.mean_hidden(v).detach()[:, 0]
    flip01, flip10 = float(pv_h[0] @ p1), float(pv_h[1] @ (1 - p1))
    assert gibbs_relaxation(rbm)["rho2"] == pytest.approx(abs(1 - flip01 - flip10), abs=1e-12)


# ---------------------------------------------------------------- against exact-gradient training
@pytest.fixture(scope="module")
def trajectory():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    h = relaxation_along_training(12, 4, epochs=300, lr=0.3, every=30, seed=0, n_prototypes=3, flip=0.05)
    torch.set_num_threads(old)
    return h


def test_training_creates_the_predicted_non_converging_mode_but_the_exact_chain_converges(trajectory):
    first_above = next(r for r in trajectory if r["lambda_1_over_4T"] > 1)
    assert trajectory[-1]["lambda_1_over_4T"] > 2
    assert trajectory[-1]["log_likelihood"] > trajectory[0]["log_likelihood"] + 4
    for r in trajectory:
        assert (r["non_converging_uniform"] > 0) == (r["lambda_1_over_4T"] > 1)
        assert r["non_converging_saddle"] == 0 and r["saddle_stability"] < 1
        assert 0 <= r["rho2"] < 1 and math.isfinite(r["tau_sweeps"])
    below = [r for r in trajectory if 0.3 < r["lambda_1_over_4T"] < 0.7]
    assert below and all(r["covariance_error_saddle"] < 0.05 < 0.5 < r["covariance_error_uniform"] for r in below)
    assert trajectory[-1]["tau_sweeps"] > 20 * max(r["tau_sweeps"] for r in below)
    assert first_above["tau_sweeps"] > 5 * max(r["tau_sweeps"] for r in below)


def test_train_exactly_follows_the_exact_gradient():
    rbm = bl.BinaryRBM.initialize(6, 3, weight_std=0.3, seed=1, dtype=torch.float64)
    data = prototype_data(6, n_samples=40, seed=2)
    hist = train_exactly(rbm, data, 3, lr=0.05, record=lambda m, e: {})
    lls = [r["log_likelihood"] for r in hist]
    assert all(b > a for a, b in zip(lls, lls[1:]))
    assert lls[-1] == pytest.approx(bl.partition.exact.exact_log_likelihood(rbm, data), abs=1e-10)
    with pytest.raises(ConfigError, match="at most"):
        mode_record(bl.BinaryRBM.initialize(20, 3, seed=0))


def test_figures(trajectory):
    import matplotlib.figure
    assert isinstance(training_figure(trajectory), matplotlib.figure.Figure)
    assert isinstance(spectrum_figure(mode_dynamics(random_rbm(6, 3, seed=0))), matplotlib.figure.Figure)
