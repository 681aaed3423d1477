"""AIS, reverse AIS and parallel tempering against exact enumeration, over many seeds."""

import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import ConfigError, IntractableError
from boltzlab.partition import make_schedule, salakhutdinov_murray
from boltzlab.partition.ais import log_mean_exp, runs_needed
from boltzlab.sampling import ParallelTempering
from boltzlab.sampling.path import RBMPath, base_rate_visible
from boltzlab.units import BinaryLayer, GaussianLayer
from conftest import random_rbm
from test_sampling import BOUND, _tv

SEEDS = 30


def exact_samples(model, n: int, seed: int) -> torch.Tensor:
    states, p = bl.visible_distribution(model)
    idx = torch.multinomial(p, n, replacement=True, generator=torch.Generator().manual_seed(seed))
    return states[idx]


def errors(fn, exact: float, seeds: int = SEEDS) -> tuple[np.ndarray, np.ndarray]:
    res = [fn(s) for s in range(seeds)]
    return np.array([r.log_z - exact for r in res]), np.array([r.stderr for r in res])


# ---------------------------------------------------------------- schedules and the path
def test_schedules():
    sm = salakhutdinov_murray()
    assert len(sm) == 14_501 and sm[0] == 0 and sm[-1] == 1
    steps = np.diff(sm)
    assert np.allclose(steps[:500], 1e-3) and np.allclose(steps[500:4500], 1e-4) and np.allclose(steps[4500:], 1e-5)
    assert np.allclose(make_schedule("sm08", 14_501), sm, atol=1e-12)
    for kind in ("linear", "geometric", "sm08"):
        t = make_schedule(kind, 50)
        assert len(t) == 50 and t[0] == 0 and t[-1] == 1 and np.all(np.diff(t) > 0)
    with pytest.raises(ConfigError):
        make_schedule("linear", 1)
    with pytest.raises(ConfigError):
        make_schedule("cubic", 10)


@pytest.mark.parametrize("base", ["model", "uniform", "data", "samples"])
def test_path_end_points_are_base_and_target(base):
    """ln f_1 is the target's -F(v); ln f_0 - ln Z_0 is the base's normalised log-probability."""
    rbm = random_rbm(6, 4, seed=2, offsets=True)
    data = exact_samples(rbm, 200, 0)
    path = RBMPath(rbm, base=base, data=data)
    states, _ = bl.visible_distribution(rbm)
    s = path.stats(states)
    assert torch.allclose(path.log_f(s, 1.0), -rbm.free_energy(states).double(), atol=1e-10)
    assert abs(float(torch.logsumexp(path.log_f(s, 0.0), 0)) - path.log_z_base) < 1e-10
    # Intermediate points: ln sum_v f_t(v) is the exact ln Z of the interpolated model.
    t = 0.37
    z_t = float(torch.logsumexp(path.log_f(s, t), 0))
    lo, hi = (path.log_z_base, bl.exact_log_z(rbm))
    assert min(lo, hi) - 5 < z_t < max(lo, hi) + 5


def test_base_rate_of_salakhutdinov_murray():
    x = torch.zeros(10, 3, dtype=torch.float64)
    x[:, 0] = 1          # always on: (count + 5) / (N + 5) = 1 would be an infinite bias; capped at N / (N + 5)
    x[:4, 2] = 1
    layer = BinaryLayer(3, dtype=torch.float64)
    base = base_rate_visible(layer, x, pseudocount=5)
    p = torch.tensor([10 / 15, 5 / 15, 9 / 15], dtype=torch.float64)
    assert torch.allclose(base.bias.detach(), torch.log(p) - torch.log1p(-p))
    assert torch.isfinite(base.bias).all()


def test_uniform_base_of_continuous_units_is_refused_and_binary_uniform_is_exact():
    g = GaussianLayer(3, dtype=torch.float64)
    rbm = bl.RBM(g, BinaryLayer(2, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(IntractableError, match="not normalisable"):
        bl.ais_log_z(rbm, 10, 10, base="uniform")
    rbm = random_rbm(5, 3, seed=0)
    assert abs(RBMPath(rbm, base="uniform").log_z_base - 8 * math.log(2)) < 1e-12


# ---------------------------------------------------------------- forward AIS
def test_ais_is_accurate_with_honest_error_bars():
    rbm = random_rbm(12, 8, scale=1.0, seed=3)
    exact = bl.exact_log_z(rbm)
    err, se = errors(lambda s: bl.ais_log_z(rbm, n_runs=100, n_betas=300, seed=s, schedule="linear"), exact)
    assert np.mean(np.abs(err) <= 3 * se) >= 0.9
    assert abs(err.mean()) < 3 * se.mean() / math.sqrt(SEEDS) + 0.01     # unbiased up to the small Jensen gap
    assert err.mean() < 0.01                                               # and low, if at all
    assert np.abs(err).max() < 0.2


def test_runs_needed():
    assert runs_needed(100, 0.1, 0.03, 1000) == 1000          # 1112 wanted, capped
    assert runs_needed(100, 0.06, 0.03, 1000) == 400
    assert runs_needed(100, 0.01, 0.03, 1000) == 100          # never fewer than the pilot
    assert runs_needed(100, float("inf"), 0.03, 500) == 500


def test_default_ais_sizes_itself_to_the_target_error():
    """Default n_runs: a pilot of 100 runs, then rounds until target_stderr; a warning at the cap."""
    rbm = random_rbm(12, 8, scale=1.0, seed=3)
    exact = bl.exact_log_z(rbm)
    easy = bl.ais_log_z(rbm, n_betas=300, seed=0, target_stderr=0.5)
    assert easy.n_runs == 100 and easy.extra["sizing"] == "auto"
    pilot = bl.ais_log_z(rbm, n_runs=100, n_betas=30, seed=0)
    wanted = runs_needed(100, pilot.stderr, 0.01, 10_000)
    assert 150 < wanted < 2000
    sized = bl.ais_log_z(rbm, n_betas=30, seed=0, target_stderr=0.01, max_runs=10_000)
    assert wanted <= sized.n_runs < 10_000                      # same pilot (same seed), then more rounds
    assert torch.equal(sized.log_weights[:100], pilot.log_weights)
    assert sized.stderr < 0.01 * 1.3 and abs(sized.log_z - exact) < 4 * sized.stderr
    with pytest.warns(RuntimeWarning, match="above the target"):
        capped = bl.ais_log_z(rbm, n_betas=30, seed=0, target_stderr=0.002, max_runs=150)
    assert capped.n_runs == 150
    with pytest.raises(ConfigError):
        bl.ais_log_z(rbm, n_betas=30, target_stderr=0.0)


@pytest.mark.parametrize("kind", ["spin", "centered", "float32", "gaussian-visible", "gaussian-hidden"])
def test_ais_on_every_model_kind(kind):
    g = torch.Generator().manual_seed(5)
    if kind == "spin":
        rbm = random_rbm(10, 6, scale=0.5, seed=4, cls=bl.SpinRBM)
    elif kind == "centered":
        rbm = random_rbm(10, 6, scale=1.0, seed=4, offsets=True)
    elif kind == "float32":
        rbm = random_rbm(10, 6, scale=1.0, seed=4).to(torch.float32)
    elif kind == "gaussian-visible":
        vis = GaussianLayer(12, torch.randn(12, generator=g, dtype=torch.float64),
                            1 + torch.rand(12, generator=g, dtype=torch.float64), dtype=torch.float64)
        hid = BinaryLayer(6, torch.randn(6, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
        rbm = bl.RBM(vis, hid, torch.randn(12, 6, generator=g, dtype=torch.float64) * 0.3)
    else:
        vis = BinaryLayer(10, torch.randn(10, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
        hid = GaussianLayer(5, torch.randn(5, generator=g, dtype=torch.float64),
                            1 + torch.rand(5, generator=g, dtype=torch.float64), dtype=torch.float64)
        rbm = bl.RBM(vis, hid, torch.randn(10, 5, generator=g, dtype=torch.float64) * 0.3)
    exact = bl.exact_log_z(rbm.double())
    r = bl.ais_log_z(rbm, n_runs=200, n_betas=500, seed=0)
    assert r.log_weights.dtype == torch.float64 and r.log_weights.shape == (200,)
    assert abs(r.log_z - exact) < max(4 * r.stderr, 0.02), (r.log_z, exact, r.stderr)


def test_ais_options_batching_bases_and_schedules():
    rbm = random_rbm(10, 6, scale=1.0, seed=7)
    exact = bl.exact_log_z(rbm)
    data = exact_samples(rbm, 500, 1)
    runs = [bl.ais_log_z(rbm, 90, 400, seed=1, batch_size=40),
            bl.ais_log_z(rbm, 90, 400, seed=1, schedule="geometric", base="uniform"),
            bl.ais_log_z(rbm, 90, 400, seed=1, schedule="adaptive", data=data),
            bl.ais_log_z(rbm, 90, 400, seed=1, base="model")]
    assert runs[0].n_runs == 90 and runs[2].base == "data" and runs[0].base == "samples"
    assert runs[2].extra["schedule"] == "adaptive" and np.all(np.diff(runs[2].betas) >= 0)
    for r in runs:
        assert abs(r.log_z - exact) < max(4 * r.stderr, 0.02)
        assert 1 <= r.ess <= r.n_runs
    with pytest.raises(ConfigError):
        bl.ais_log_z(rbm, 1, 10)
    with pytest.raises(ConfigError, match="preset"):
        bl.ais_log_z(rbm, 10, 10, preset="salakhutdinov-murray")


def test_salakhutdinov_murray_preset():
    rbm = random_rbm(8, 5, scale=1.0, seed=8)
    data = exact_samples(rbm, 300, 2)
    r = bl.ais_log_z(rbm, n_runs=50, seed=0, data=data, preset="salakhutdinov-murray")
    assert r.n_betas == 14_501 and r.base == "data" and r.extra["schedule"] == "salakhutdinov-murray"
    assert abs(r.log_z - bl.exact_log_z(rbm)) < max(4 * r.stderr, 0.01)


# ---------------------------------------------------------------- reverse AIS
def test_reverse_ais_from_exact_samples_brackets_and_the_inverse_weight_slip_does_not():
    rbm = random_rbm(10, 6, scale=1.0, seed=3, cls=bl.SpinRBM)
    exact = bl.exact_log_z(rbm)
    fwd, rev, slip = [], [], []
    for s in range(SEEDS):
        x = exact_samples(rbm, 100, 100 + s)
        a = bl.ais_log_z(rbm, 100, 200, seed=s, schedule="linear")
        r = bl.rais_log_z(rbm, x, 100, 200, seed=s, schedule="linear", estimator="lme")
        fwd.append(a.log_z - exact)
        rev.append(r.log_z - exact)
        slip.append(r.log_z_base + float(torch.logsumexp(-r.log_weights, 0)) - math.log(100) - exact)
    fwd, rev = np.array(fwd), np.array(rev)
    se_f, se_r = fwd.std() / math.sqrt(SEEDS), rev.std() / math.sqrt(SEEDS)
    assert fwd.mean() < 2 * se_f and rev.mean() > -2 * se_r          # AIS low, reverse AIS high, on average
    assert abs(fwd.mean()) < 0.1 and abs(rev.mean()) < 0.1
    assert abs(np.mean(slip)) > 10 * max(abs(rev.mean()), se_r)     # ln mean(1/w) is far off


def test_raise_is_conservative():
    """Reverse chains from samples of p: the mean of ln w_rev (RAISE) gives an upper estimate of ln Z."""
    rbm = random_rbm(12, 6, scale=1.0, seed=9)
    exact = bl.exact_log_z(rbm)
    base = exact_samples(rbm, 2000, 0)
    err = np.array([bl.rais_log_z(rbm, exact_samples(rbm, 60, 10 + s), 60, 200, seed=s, schedule="linear",
                                  base_data=base).log_z - exact for s in range(12)])
    # An upper bound in expectation: here the bias (~1e-4 nats) is below the spread of a 12-seed mean, so
    # the mean must not fall significantly below zero, and single estimates rarely fall below by much.
    assert err.mean() > -2 * err.std() / math.sqrt(len(err)) and np.mean(err > -0.01) >= 0.9


def test_bracket_and_log_likelihood():
    rbm = random_rbm(10, 6, scale=1.0, seed=11)
    x = exact_samples(rbm, 400, 3)
    b = bl.bracket(rbm, x, n_runs=100, n_betas=400, seed=0)
    exact = bl.exact_log_z(rbm)
    assert b.lower - 3 * b.ais.stderr <= exact <= b.upper + 3 * b.rais.stderr
    d = b.to_dict()
    assert d["lower"] == b.lower and "log_weights" not in d["ais"]
    ll, err = bl.log_likelihood(rbm, x, exact)
    assert abs(ll - bl.exact_log_likelihood(rbm, x)) < 1e-9 and err > 0
    ll2, err2 = bl.log_likelihood(rbm, x, b.ais)
    assert abs(ll2 - ll) < 4 * b.ais.stderr + 1e-9 and err2 > err


def test_log_mean_exp_is_stable():
    lw = torch.tensor([1000.0, 1000.0, 1000.0 + math.log(4)], dtype=torch.float64)
    m, se, ess = log_mean_exp(lw)
    assert abs(m - (1000 + math.log(2))) < 1e-12 and se > 0 and abs(ess - 36 / 18) < 1e-12


# ---------------------------------------------------------------- parallel tempering
def bimodal_rbm(nv: int = 10) -> bl.BinaryRBM:
    """One hidden unit coupling all visibles: modes 'all off' and 'all on' of equal weight."""
    return bl.BinaryRBM(torch.full((nv, 1), 4.0), torch.full((nv,), -2.0), torch.tensor([-20.0]),
                        dtype=torch.float64)


def test_parallel_tempering_mixes_where_gibbs_does_not():
    rbm = bimodal_rbm()
    init = torch.zeros(3000, 10, dtype=torch.float64)

    def upper(v):
        return float((v.sum(1) > 5).double().mean())
    v, _ = rbm.sample(3000, steps=200, init=init, seed=0)
    pt = ParallelTempering(rbm, 3000, n_replicas=8, beta_min=0.05, init=init, seed=0)
    vpt = pt.run(200)
    assert upper(v) < 0.42                  # exact value 0.5: Gibbs is stuck near its start
    assert abs(upper(vpt) - 0.5) < 0.03
    acc = pt.acceptance
    assert acc.shape == (7,) and np.all((acc > 0) & (acc <= 1)) and pt.round_trips > 0
    assert pt.summary()["steps"] == 200


def test_parallel_tempering_samples_the_exact_distribution():
    rbm = random_rbm(6, 4, scale=1.5, seed=1, offsets=True)
    pt = ParallelTempering(rbm, 60_000, n_replicas=4, beta_min=0.3, seed=2)
    v = pt.run(30)
    assert _tv(v, rbm, 1.0) < BOUND
    assert _tv(v, rbm, 0.6) > 2 * BOUND


def test_parallel_tempering_rejects_bad_ladders():
    rbm = random_rbm(4, 2, seed=0)
    with pytest.raises(ConfigError):
        ParallelTempering(rbm, 10, betas=[0.5, 0.9])
    with pytest.raises(ConfigError):
        ParallelTempering(rbm, 10, n_replicas=1)


def test_count_distribution_matches_the_listed_visible_distribution():
    """P(number of visible units on) from the Poisson-binomial recursion over hidden states equals the sum of
    the listed visible distribution (a dropped unit or a wrong weight p(h) moves it by far more than 1e-12)."""
    from boltzlab.models import BinaryRBM
    from boltzlab.partition import count_distribution, visible_distribution
    m = BinaryRBM.initialize(12, 5, weight_std=1.0, seed=3)
    states, p = visible_distribution(m)
    listed = torch.zeros(13, dtype=torch.float64).index_add_(0, states.sum(1).long(), p)
    assert torch.allclose(count_distribution(m), listed, atol=1e-12, rtol=0)
    assert torch.allclose(count_distribution(m, beta=0.5),
                          torch.zeros(13, dtype=torch.float64).index_add_(
                              0, states.sum(1).long(), visible_distribution(m, beta=0.5)[1]), atol=1e-12, rtol=0)
    with pytest.raises(IntractableError):
        count_distribution(bl.models.make_rbm(4, 2, "gaussian", "binary"))
