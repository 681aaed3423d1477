"""The one annealing loop and the one replica-exchange ladder, against exact enumeration."""

import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.random import Rng
from boltzlab.sampling import Ladder, ModelPath, ParallelTempering, RBMPath, anneal
from boltzlab.sampling.trajectory import TrajectoryTempering
from boltzlab.stats import log_mean_exp
from conftest import random_rbm

SEEDS = 12


def _z_scores(path, x0, schedule, log_z_start: float, exact: float) -> np.ndarray:
    out = []
    for seed in range(SEEDS):
        rng = Rng(seed)
        lme, se, _ = log_mean_exp(anneal(path, x0(rng), schedule, rng))
        out.append((log_z_start + lme - exact) / se)
    return np.array(out)


@pytest.mark.parametrize("which", ["rbm-path", "model-path-joint", "model-path-visible"])
def test_anneal_over_an_inverse_temperature_path_gives_ln_z(which):
    """ln Z_0 + ln mean w lands within a few standard errors of the exact ln Z for every seed, and a
    schedule run backwards (reverse AIS from the base's own samples) estimates -Delta ln Z the same way."""
    rbm = random_rbm(6, 4, scale=1.0, seed=3)
    exact = bl.exact_log_z(rbm)
    log_z0 = 10 * math.log(2)                       # beta = 0: uniform over 2^6 x 2^4 states
    schedule = np.linspace(0.0, 1.0, 40)
    if which == "rbm-path":
        path = RBMPath(rbm, base="uniform")
        x0 = lambda rng: path.sample_base(400, rng)
    else:
        joint = which == "model-path-joint"
        path = ModelPath([rbm, rbm], [0.0, 1.0], "palindromic" if joint else "visible")
        x0 = (lambda rng: (rbm.visible.random_state(400, rng), rbm.hidden.random_state(400, rng))) if joint \
            else (lambda rng: rbm.visible.random_state(400, rng))
    z = _z_scores(path, x0, schedule, log_z0, exact)
    assert np.all(np.abs(z) < 4), z
    assert abs(z.mean()) < 4 / math.sqrt(SEEDS)
    # A path whose end point is another model would be seen: its ln Z differs by many standard errors.
    other = bl.exact_log_z(rbm, 0.8)
    assert np.all(np.abs(_z_scores(path, x0, schedule, log_z0, other)) > 4)


def test_anneal_records_every_step_and_skips_the_last_transition():
    rbm = random_rbm(4, 3, seed=1)
    path = ModelPath([rbm, rbm], [0.0, 1.0])
    seen = []
    calls = []
    orig = path.transition
    path.transition = lambda s, t, rng: calls.append(t) or orig(s, t, rng)
    log_w = anneal(path, rbm.visible.random_state(5, Rng(0)), [0.0, 0.5, 1.0], Rng(0),
                   record=lambda k, lw, x, s: seen.append((k, lw.clone())))
    assert [k for k, _ in seen] == [1, 2] and calls == [0.5]
    assert torch.equal(seen[-1][1], log_w) and log_w.dtype == torch.float64


@torch.no_grad()
def _exact_acceptance(model_i, beta_i, model_j, beta_j) -> float:
    """E[min(1, a)] with x ~ p_i, y ~ p_j independent, by enumeration of both visible states."""
    states, p_i = bl.visible_distribution(model_i, beta_i)
    _, p_j = bl.visible_distribution(model_j, beta_j)
    f_i = -model_i.visible_free_energy(states, beta_i)
    f_j = -model_j.visible_free_energy(states, beta_j)
    log_a = (f_i[None, :] + f_j[:, None]) - (f_i[:, None] + f_j[None, :])   # [x, y]: exchange x at i, y at j
    return float((p_i[:, None] * p_j[None, :] * torch.exp(log_a.clamp(max=0.0))).sum())


def _measured_acceptance(ladder: Ladder, burn_in: int, steps: int) -> float:
    ladder.run(burn_in)
    ladder.attempts[:] = 0
    ladder.accepts[:] = 0
    ladder.run(steps)
    return float(ladder.acceptance[0])


def test_ladder_exchange_acceptance_equals_its_exact_expectation():
    """In equilibrium the replicas are independent draws of p_{t_0} x p_{t_1}, so the exchange rate is
    E[min(1, a)] exactly; temperatures (parallel tempering) and models (trajectory tempering) alike."""
    rbm = random_rbm(5, 3, scale=1.5, seed=4)
    pt = ParallelTempering(rbm, 4000, betas=[0.4, 1.0], seed=0)
    expected = _exact_acceptance(rbm, 0.4, rbm, 1.0)
    assert 0.2 < expected < 0.9
    assert abs(_measured_acceptance(pt, 20, 40) - expected) < 0.015
    a, b = random_rbm(5, 3, scale=1.5, seed=5), random_rbm(5, 3, scale=1.5, seed=6)
    ptt = TrajectoryTempering([a, b], 4000, add_base=False, seed=0)
    expected = _exact_acceptance(a, 1.0, b, 1.0)
    assert 0.05 < expected < 0.95
    assert abs(_measured_acceptance(ptt, 20, 40) - expected) < 0.015
