"""The heat-exchange experiment as section 3.3 of the nonequilibrium-thermodynamics paper writes it: a tempered,
verified T1 ensemble, one full Gibbs step at T2, the overlap of P(Q) and P(-Q); against exact P(Q)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from boltzlab.errors import ConfigError
from boltzlab.studies.thermo_paper_protocol import (full_step_heat, overlap, paper_protocol, protocol_figure,
                                                       tempered_ensemble)
from boltzlab.thermo import exact_curves, heat_distribution
from conftest import random_rbm


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def rbm():
    return random_rbm(6, 4, scale=1.0, seed=0)


@pytest.fixture(scope="module")
def result(rbm):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    r = paper_protocol(rbm, 8000, 1.0, (2.0, 0.7), replicas=4, beta_min=0.5, sweeps=40, seed=1)
    torch.set_num_threads(old)
    return r


def test_tempered_ensemble_is_at_t1_and_verified(rbm, result):
    ens = result.ensemble
    exact = exact_curves(rbm, [1.0])["energy"][0]
    se = ens.energy.std() / math.sqrt(ens.chains)
    assert abs(ens.energy.mean() - exact) < 4 * se
    assert ens.stationary and abs(ens.stationarity["z"]) < 3
    assert min(ens.acceptance) > 0.5 and ens.round_trips > 0
    hot = exact_curves(rbm, [1 / 1.3])["energy"][0]
    assert abs(ens.energy.mean() - hot) > 8 * se       # the check separates T1 = 1 from T1 = 1.3


def test_stationarity_check_flags_an_ensemble_still_relaxing():
    """Cold, strongly coupled model, one replica pair near the target, a few sweeps: the energy still falls."""
    slow = random_rbm(12, 8, scale=2.5, seed=3)
    ens = tempered_ensemble(slow, 4000, 1.0, replicas=2, beta_min=0.95, sweeps=4, seed=0)
    assert not ens.stationary and ens.stationarity["difference"] < 0


def test_full_step_heat_matches_exact_p_of_q(rbm, result):
    """Mean heat and the minority fraction of each full-step process against the exact P(Q) of that process."""
    for kernel, by_t2 in result.full_step.items():
        for t2, o in by_t2.items():
            q, p = heat_distribution(rbm, 1.0, 1 / float(t2), kernel)
            mean = float((q * p).sum())
            assert abs(o["mean_q"] - mean) < 4 * o["std_q"] / math.sqrt(o["chains"])
            rare = float(p[q < 0].sum()) if float(t2) > 1 else float(p[q > 0].sum())
            assert abs(o["minority_fraction"] - rare) < 4 * math.sqrt(rare * (1 - rare) / o["chains"])
    pal = result.full_step["palindromic"]
    for t2, o in pal.items():
        assert o["measurable"] and abs(o["z"]) < 4
    assert set(result.gentle) == {"2", "0.7", "control"} and abs(result.gentle["control"]["slope"]) < 4 * \
        result.gentle["control"]["slope_stderr"]


def test_overlap_on_gaussian_heat():
    """Gaussian heat obeying the relation: <Q> = a s^2 / 2, minority fraction Phi(-a s / 2)."""
    rng = np.random.default_rng(0)
    a, s = 0.5, 3.0
    q = rng.normal(a * s * s / 2, s, 200_000)
    o = overlap(q, a)
    assert o["minority_fraction_gaussian"] == pytest.approx(stats.norm.sf(a * s / 2), rel=0.02)
    assert o["minority_fraction"] == pytest.approx(stats.norm.sf(a * s / 2), rel=0.03)
    assert abs(o["z"]) < 4
    assert o["chains_for_minority_target"] == pytest.approx(100 / o["minority_fraction"], rel=0.01)
    assert o["chains_for_relative_error"] == pytest.approx(
        len(q) * (o["slope_stderr"] / (0.05 * a)) ** 2, rel=0.01)
    far = rng.normal(a * 20 ** 2 / 2, 20.0, 10_000)          # z = a s / 2 = 5: no negative value
    o = overlap(far, a)
    assert not o["measurable"] and o["minority"] == 0
    assert o["chains_for_minority_target"] > 1e7


def test_full_step_refuses_partial_kernels(rbm, result):
    with pytest.raises(ConfigError, match="full Gibbs step"):
        full_step_heat(rbm, result.ensemble, [2.0], kernels=["random-scan"])
    with pytest.raises(ConfigError):
        tempered_ensemble(rbm, 100, 0.0)


def test_protocol_figure(result):
    import matplotlib.figure
    assert isinstance(protocol_figure(result), matplotlib.figure.Figure)
