"""Stochastic thermodynamics of RBMs against exact enumeration: kernels, detailed balance, the heat-exchange
relation, Jarzynski/Crooks, equilibrium curves and CD as a process.  Every statistical check is paired with
the same statistic from a sampler at the wrong temperature, which must fail the bound."""

import json
import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, IntractableError
from boltzlab.random import Rng
from boltzlab.sampling import PalindromicSweep, make_kernel
from boltzlab.sampling.kernels import joint_energy
from boltzlab.thermo import (BetaRamp, Interpolation, JointSpace, ModelSequence, ais_curves, ais_work, crooks_exact_check,
                             detailed_balance, exact_cd, exact_curves, exact_joint_samples, fit_crooks, fit_xft,
                             heat_distribution, heat_exchange, jarzynski, sample_work, time_reversal,
                             transition_matrix, work_experiment, xft_deviation)
from conftest import all_states, random_rbm


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tests run many tiny matrix products, which two threads on a busy machine slow down 1000-fold."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class WrongTemperature(PalindromicSweep):
    """The mutation: a palindromic sweep that runs at 1.6 times the inverse temperature it is asked for."""

    factor = 1.6

    def at(self, model=None, beta=None):
        k = super().at(model, beta)
        k.beta *= self.factor
        return k


def _joint_index(js: JointSpace, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    iv = js.visible_index(v)
    vals = js.model.hidden.unit_values.double()
    digits = (h.double().unsqueeze(-1) == vals).double().argmax(-1)
    ih = (digits.double() @ (float(len(vals)) ** torch.arange(h.shape[1], dtype=torch.float64))).long()
    return iv * js.n_hidden_states + ih


def _tv(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(0.5 * (a - b).abs().sum())


# ---------------------------------------------------------------------- kernels
@pytest.mark.parametrize("name, fraction, cls", [
    ("plain", 1.0, bl.BinaryRBM), ("palindromic", 1.0, bl.BinaryRBM), ("palindromic", 0.4, bl.SpinRBM),
    ("random-scan", 1.0, bl.SpinRBM), ("random-scan", 0.5, bl.BinaryRBM)])
def test_kernel_samplers_match_their_exact_matrices(name, fraction, cls):
    """Chains started in one joint state and run K = 2 steps: the empirical distribution equals row s0 of the
    exact T^2 (TV below the noise bound); the sampler at another temperature does not."""
    rbm = random_rbm(3, 2, scale=1.5, seed=5, cls=cls, offsets=cls is bl.BinaryRBM)
    beta, n = 0.8, 40_000
    js = JointSpace(rbm)
    t, _ = transition_matrix(rbm, name, beta, steps=2, fraction=fraction)
    s0 = 5
    v0 = js.visible_states[s0 // js.n_hidden_states].expand(n, -1).clone()
    h0 = js.hidden_states[s0 % js.n_hidden_states].expand(n, -1).clone()
    bound = 0.03  # sqrt(32 / (2 pi 40000)) ~ 0.011 for an exact sampler
    for b, ok in ((beta, True), (1.6 * beta, False)):
        v, h = make_kernel(name, rbm, b, fraction).run(v0, h0, 2, Rng(1))
        emp = torch.bincount(_joint_index(js, v, h), minlength=js.n_states).double() / n
        tv = _tv(emp, t[s0])
        assert (tv < bound) if ok else (tv > 2 * bound), (name, b, tv)
    assert torch.equal(v0, js.visible_states[s0 // js.n_hidden_states].expand(n, -1))  # inputs untouched


def test_exact_joint_samples():
    """exact_joint_samples draws p_beta(v, h) (smaller layer from its marginal, the other from its
    conditional): TV to the enumerated joint below the noise bound, and far from p at another beta."""
    for nv, nh in ((3, 4), (4, 2)):  # either layer the smaller one
        rbm = random_rbm(nv, nh, scale=1.5, seed=9, offsets=True)
        js = JointSpace(rbm)
        v, h = exact_joint_samples(rbm, 40_000, 0.7, Rng(0))
        emp = torch.bincount(_joint_index(js, v, h), minlength=js.n_states).double() / 40_000
        assert _tv(emp, js.log_prob(0.7).exp().reshape(-1)) < 0.03
        assert _tv(emp, js.log_prob(1.4).exp().reshape(-1)) > 0.06


def test_visible_chain_matches_exact_and_kernel_validation():
    rbm = random_rbm(4, 3, scale=1.5, seed=6)
    t, p = transition_matrix(rbm, "visible", 1.0, steps=3)
    assert t.shape == (16, 16) and torch.allclose(p @ t, p, atol=1e-15)
    js = JointSpace(rbm)
    v0 = js.visible_states[9].expand(30_000, -1).clone()
    v, h = make_kernel("visible", rbm, 1.0).run(v0, None, 3, Rng(2))
    assert h is None
    emp = torch.bincount(js.visible_index(v), minlength=16).double() / 30_000
    assert _tv(emp, t[9]) < 0.03
    with pytest.raises(ConfigError):
        make_kernel("metropolis", rbm)
    with pytest.raises(ConfigError):
        make_kernel("plain", rbm, 1.0, 0.5)
    with pytest.raises(ConfigError):
        make_kernel("random-scan", rbm, 1.0, 0.0)
    with pytest.raises(ConfigError):
        make_kernel("palindromic", rbm, -1.0)
    e = joint_energy(rbm, js.visible_states[:3], js.hidden_states[:3])
    assert torch.allclose(e, rbm.energy(js.visible_states[:3], js.hidden_states[:3]).double(), atol=1e-12)


# ---------------------------------------------------------------------- detailed balance and the XFT, exactly
def test_detailed_balance_fails_for_the_plain_sweep_only():
    """Section 2's one-step derivation does not hold: the plain sweep is stationary but not reversible on
    (v, h), its reversal is A_v A_h; the palindromic sweep, the random scan and the visible chain are."""
    rbm = random_rbm(4, 3, scale=1.5, seed=0)
    for k in ("plain", "palindromic", "random-scan", "visible"):
        for steps in (1, 2):
            t, p = transition_matrix(rbm, k, 0.7, steps)
            db = detailed_balance(t, p)
            assert db["stationarity"] < 1e-14 and db["row_sums"] < 1e-13
            if k == "plain":
                assert db["max_log_ratio"] > 0.3, (k, steps, db)
            else:
                assert db["max_log_ratio"] < 1e-12, (k, steps, db)
    a_h, a_v = JointSpace(rbm).half_matrices(0.7)
    t, p = transition_matrix(rbm, "plain", 0.7)
    assert torch.allclose(t, a_h @ a_v, atol=1e-15)
    assert torch.allclose(time_reversal(t, p), a_v @ a_h, atol=1e-13)


def test_exact_heat_exchange_4x3():
    """On the 4x3 RBM of the issue: the XFT fails for the plain sweep and holds to 1e-9 (here ~1e-14) for the
    palindromic sweep and the random scan; the plain sweep paired with its reversal satisfies it; a T2 kernel
    at the wrong temperature breaks it."""
    rbm = random_rbm(4, 3, scale=1.5, seed=0)
    b1, b2 = 1.0, 0.5
    dev = {k: xft_deviation(*heat_distribution(rbm, b1, b2, k, steps=s), b1 - b2)
           for k, s in (("plain", 1), ("palindromic", 1), ("random-scan", 1), ("palindromic", 3))}
    assert dev["plain"]["max_abs_deviation"] > 1.0
    for k in ("palindromic", "random-scan"):
        assert dev[k]["max_abs_deviation"] < 1e-9 and dev[k]["n_values"] > 100
    qf, pf = heat_distribution(rbm, b1, b2, "plain")
    qr, pr = heat_distribution(rbm, b1, b2, "plain", reversed_kernel=True)
    assert abs(pf.sum() - 1) < 1e-12
    assert xft_deviation(qf, pf, b1 - b2, mirror=(qr, pr))["max_abs_deviation"] < 1e-9
    q, p = heat_distribution(rbm, b1, b2, PalindromicSweep(rbm, b2 * 1.2))
    assert xft_deviation(q, p, b1 - b2)["max_abs_deviation"] > 0.1
    q, p = heat_distribution(rbm, b1, b2, "palindromic", steps=2, fraction=0.3)
    assert xft_deviation(q, p, b1 - b2)["max_abs_deviation"] < 1e-9
    with pytest.raises(ConfigError):
        heat_distribution(rbm, b1, b2, "visible")
    with pytest.raises(IntractableError):
        transition_matrix(random_rbm(8, 6), "plain")


# ---------------------------------------------------------------------- the XFT from samples
def test_fit_xft_on_heat_that_obeys_the_relation():
    """Gaussian heat with <Q> = a sigma^2 / 2 obeys P(Q)/P(-Q) = exp(a Q) exactly; the fit finds a within its
    error, and a mean shifted by 10% (the relation broken) is rejected."""
    g = np.random.default_rng(0)
    a, s = 0.5, 3.0
    q = g.normal(a * s * s / 2, s, 50_000)
    fit = fit_xft(q, a)
    assert abs(fit["z_score"]) < 4 and fit["p_value"] > 1e-3
    assert abs(fit["slope_binned"] - a) < 4 * fit["slope_binned_stderr"] + 0.01
    bad = fit_xft(g.normal(1.1 * a * s * s / 2, s, 50_000), a)
    assert abs(bad["z_score"]) > 6 and bad["p_value"] < 1e-6
    none = fit_xft(g.normal(100, 1, 1000), a)
    assert none["slope"] is None and "overlap" in none["warning"]


def test_sampled_xft_on_a_small_rbm_and_wrong_temperature():
    rbm = random_rbm(6, 4, scale=1.0, seed=1)
    r = heat_exchange(rbm, 1.0, [2.0, 0.7], chains=20_000, equilibrate=100, fraction=1.0, seed=3, batch_size=8192)
    for run in r.runs + [r.control]:
        assert abs(run.fit["slope"] - run.expected_slope) < 4 * run.fit["slope_stderr"], run.to_dict(False)
        assert run.fit["p_value"] > 1e-4
        # The sampled heat has the exact mean of the process from p_1.
        q, p = heat_distribution(rbm, 1.0, run.beta2, "palindromic")
        mean = float((q * p).sum())
        assert abs(run.q.mean() - mean) < 4 * run.q.std() / math.sqrt(run.q.size)
    d = r.to_dict()
    assert d["expected_slope"] == 0.5 and d["chains"] == 20_000 and len(d["runs"]) == 2
    assert d["control"]["expected_slope"] == 0.0
    wrong = heat_exchange(rbm, 1.0, [2.0, 0.7], chains=20_000, equilibrate=100, fraction=1.0, seed=3,
                          kernel=WrongTemperature(rbm))
    for run in wrong.runs + [wrong.control]:
        assert abs(run.fit["slope"] - run.expected_slope) > 10 * run.fit["slope_stderr"], run.to_dict(False)


def test_heat_exchange_auto_fraction_and_options():
    rbm = random_rbm(20, 12, scale=0.8, seed=2)
    r = heat_exchange(rbm, 1.0, 4.0, chains=4000, equilibrate=30, seed=0, control=False)
    run = r.runs[0]
    assert r.control is None and 0 < run.kernel["fraction"] <= 1
    assert abs(run.expected_slope) * run.fit["std_q"] < 3.0  # gentle enough to overlap
    assert abs(run.fit["slope"] - 0.75) < 4 * run.fit["slope_stderr"]
    data = (torch.rand(50, 20, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    r2 = heat_exchange(rbm, 1.0, 0.8, chains=500, equilibrate=5, init=data, fraction=0.5, kernel="random-scan",
                       seed=1, batch_size=200)
    assert r2.init.startswith("data") and r2.runs[0].q.size == 500 and r2.batch_size == 200
    for bad in (dict(t2=0.0), dict(t2=float("nan")), dict(chains=1), dict(kernel="visible"), dict(fraction=1.5),
                dict(fraction="half"), dict(steps=0)):
        kw = dict(t2=2.0, chains=100, equilibrate=1) | bad
        with pytest.raises(ConfigError):
            heat_exchange(rbm, 1.0, **kw)


# ---------------------------------------------------------------------- work: Jarzynski and Crooks
def test_exact_jarzynski_and_crooks_by_kernel():
    """Generating functions: Jarzynski holds for every invariant kernel, Crooks only for reversible ones; a
    kernel at the wrong temperature breaks Jarzynski."""
    rbm = random_rbm(4, 3, scale=1.5, seed=0)
    other = random_rbm(4, 3, scale=1.5, seed=5)
    for proto in (BetaRamp.linear(rbm, 0.2, 1.0, 4), BetaRamp.linear(rbm, 0.0, 1.0, 3),
                  Interpolation(rbm, other, 5, beta=0.8)):
        for k in ("palindromic", "random-scan", "visible", "plain"):
            c = crooks_exact_check(proto, k)
            assert abs(c["jarzynski_residual"]) < 1e-12
            if k == "plain":
                assert c["max_crooks_residual"] > 1e-3
            else:
                assert c["max_crooks_residual"] < 1e-12, (proto.kind, k, c)
        assert abs(crooks_exact_check(proto, WrongTemperature(rbm))["jarzynski_residual"]) > 0.01
    assert abs(crooks_exact_check(BetaRamp.linear(rbm, 0.2, 1.0, 4), "palindromic", sweeps=3)
               ["max_crooks_residual"]) < 1e-12


def test_sampled_work_against_exact_and_wrong_temperature():
    rbm = random_rbm(5, 3, scale=1.5, seed=4)
    proto = BetaRamp.linear(rbm, 0.2, 1.0, 4)
    res, wf, wr = work_experiment(proto, 20_000, "palindromic", seed=0)
    assert res["delta_f_method"] == "exact" and res["init"] == "exact"
    for z in (res["forward"]["jarzynski_z"], res["reverse"]["jarzynski_z"], res["crooks"]["delta_f_bar_z"],
              res["crooks"]["slope_z"]):
        assert abs(z) < 4, res
    exact = res["exact"]
    assert abs(res["forward"]["mean_work"] - exact["mean_work"]) < 4 * res["forward"]["mean_work_stderr"]
    assert abs(res["reverse"]["mean_work"] - exact["mean_work_reverse"]) < 4 * res["reverse"]["mean_work_stderr"]
    assert res["second_law"]["forward_gap"] > 0 and res["second_law"]["reverse_gap"] > 0
    bad, _, _ = work_experiment(proto, 20_000, WrongTemperature(rbm), seed=0)
    assert abs(bad["exact"]["jarzynski_residual"]) > 0.1
    assert abs(bad["forward"]["jarzynski_z"]) > 10 and abs(bad["crooks"]["delta_f_bar_z"]) > 10


def test_work_from_equilibrated_chains_and_visible_kernel():
    rbm = random_rbm(6, 4, scale=1.0, seed=7)
    proto = BetaRamp.linear(rbm, 0.5, 1.0, 3)
    w = sample_work(proto, 5000, "visible", init="equilibrate", equilibrate=50, seed=1)
    df = crooks_exact_check(proto, "visible")["delta_f"]
    j = jarzynski(w, df)
    assert abs(j["jarzynski_z"]) < 4 and w.dtype == torch.float64 and w.shape == (5000,)


def test_ais_protocol_is_the_ais_estimator():
    """Forward AIS works are -log_weights of ais_log_z; BAR on forward and reverse AIS matches the exact ln Z."""
    rbm = random_rbm(8, 5, scale=1.0, seed=3)
    res, wf, wr = ais_work(rbm, 400, 100, burn_in=100, seed=0)
    exact = bl.exact_log_z(rbm)
    assert res["delta_f_method"] == "exact"
    assert abs(res["log_z"]["bar"] - exact) < 4 * res["log_z"]["bar_stderr"] + 0.01
    assert abs(res["forward"]["jarzynski_z"]) < 4
    a = bl.ais_log_z(rbm, 400, 100, base="model", rng=Rng(0))
    assert np.allclose(wf, -a.log_weights.numpy())
    with pytest.raises(ConfigError):
        ais_work(rbm, 10, 10, base="samples")


def test_fit_crooks_on_gaussian_works():
    """Gaussian forward works N(df + s^2/2, s^2) and reverse N(-df + s^2/2, s^2) obey Crooks exactly."""
    g = np.random.default_rng(1)
    df, s = -1.3, 1.2
    wf = g.normal(df + s * s / 2, s, 20_000)
    wr = g.normal(-df + s * s / 2, s, 20_000)
    c = fit_crooks(wf, wr, df)
    assert abs(c["slope_z"]) < 4 and abs(c["delta_f_bar_z"]) < 4
    assert abs(jarzynski(wf, df)["jarzynski_z"]) < 4
    bad = fit_crooks(wf + 0.3, wr, df)
    assert abs(bad["delta_f_bar_z"]) > 10


# ---------------------------------------------------------------------- protocols
def test_protocol_points_and_checkpoint_sequences(tmp_path):
    a, b = random_rbm(4, 3, seed=1, offsets=True), random_rbm(4, 3, seed=2, offsets=True)
    proto = Interpolation(a, b, [0.0, 0.25, 1.0])
    m, beta = proto.point(0)
    assert beta == 1.0 and all(torch.equal(x, y) for x, y in zip(m.state_dict().values(), a.state_dict().values()))
    m, _ = proto.point(2)
    assert all(torch.allclose(x, y) for x, y in zip(m.state_dict().values(), b.state_dict().values()))
    m, _ = proto.point(1)
    assert torch.allclose(m.weights, 0.75 * a.weights + 0.25 * b.weights)
    assert proto.reversed().point(0)[0] is m and len(proto.reversed()) == 3
    with pytest.raises(ConfigError):
        Interpolation(a, random_rbm(4, 2), 3)
    with pytest.raises(ConfigError):
        BetaRamp(a, [1.0])
    with pytest.raises(ConfigError):
        BetaRamp(a, [1.0, -0.5])
    from boltzlab.training import TrainConfig, Trainer
    x = (torch.rand(60, 5, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    cfg = TrainConfig(n_hidden=3, epochs=2, batch_size=20, keep_checkpoints=True, dtype="float64")
    Trainer.create(x, cfg, out_dir=tmp_path / "run", progress=False).fit()
    seq = ModelSequence.from_run(tmp_path / "run")
    assert len(seq) == 2 and seq.labels == [3, 6]
    c = crooks_exact_check(seq, "palindromic")
    assert abs(c["jarzynski_residual"]) < 1e-12 and c["max_crooks_residual"] < 1e-12


# ---------------------------------------------------------------------- equilibrium curves
@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
def test_exact_curves_against_brute_force(cls):
    rbm = random_rbm(6, 4, scale=1.0, seed=2, cls=cls, offsets=cls is bl.BinaryRBM)
    betas = [0.3, 1.0, 2.0]
    c = exact_curves(rbm, betas)
    vals = tuple(rbm.visible.unit_values.tolist())
    vv, hh = all_states(6, vals), all_states(4, vals)
    e = rbm.energy(vv.repeat_interleave(len(hh), 0), hh.repeat(len(vv), 1)).double().detach()
    for i, b in enumerate(betas):
        p = torch.softmax(-b * e, 0)
        mean = float((p * e).sum())
        assert abs(c["log_z"][i] - float(torch.logsumexp(-b * e, 0))) < 1e-10
        assert abs(c["energy"][i] - mean) < 1e-10
        assert abs(c["heat_capacity"][i] - b * b * float((p * (e - mean) ** 2).sum())) < 1e-9
        assert abs(c["entropy"][i] + float((p * p.log()).sum())) < 1e-10  # Shannon entropy (eq. 5-8)
    # Thermodynamics: S = -dF/dT.
    t0, eps = 1.0, 1e-5
    f = exact_curves(rbm, [1 / (t0 - eps), 1 / (t0 + eps)])["free_energy"]
    assert abs(-(f[0] - f[1]) / (2 * eps) - c["entropy"][1]) < 1e-5  # betas sorted: 1/(t0+eps) first
    with pytest.raises(ConfigError):
        exact_curves(rbm, [0.0, 1.0])


def test_ais_curves_within_their_error_bars():
    rbm = random_rbm(8, 5, scale=1.0, seed=2, offsets=True)
    betas = [0.5, 1.0, 1.5]
    ex = exact_curves(rbm, betas)
    ai = ais_curves(rbm, betas, n_runs=300, n_steps=300, seed=0, bootstrap=100)
    for key in ("log_z", "energy", "entropy", "heat_capacity"):
        err = np.array(ai[key + "_stderr"])
        assert np.all(err > 0) and np.all(np.abs(np.array(ai[key]) - ex[key]) < 4 * err + 1e-3), key
    g = bl.RBM(bl.units.GaussianLayer(3, dtype=torch.float64), bl.units.BinaryLayer(2, dtype=torch.float64))
    with pytest.raises(IntractableError):
        ais_curves(g, [1.0])


# ---------------------------------------------------------------------- CD as a process
def test_exact_cd_identities_and_sampled_relaxation():
    """CD_n = energy term + entropy term to rounding; CD_n >= 0, non-decreasing, -> KL(p_D||p) = the
    dissipated work of the quench; and the exact p_n is what the plain sweep produces from the data (a
    sampler at the wrong temperature is not)."""
    rbm = random_rbm(5, 3, scale=1.2, seed=8)
    data = (torch.rand(400, 5, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    for k in ("plain", "palindromic", "random-scan"):
        r = exact_cd(rbm, data, [0, 1, 2, 5, 200], k)
        cds = [row["cd"] for row in r["rows"]]
        assert cds[0] == 0 and all(b >= a - 1e-12 for a, b in zip(cds, cds[1:]))
        assert all(abs(row["identity_residual"]) < 1e-12 for row in r["rows"])
        assert abs(cds[-1] - r["kl_data"]) < 1e-8 and abs(r["quench_dissipation"] - r["kl_data"]) < 1e-12
    js = JointSpace(rbm)
    n, steps = 40_000, 2
    p_d = torch.bincount(js.visible_index(data), minlength=js.n_visible_states).double() / len(data)
    exact = js.apply(p_d[:, None] * js.hidden_given_visible(1.0), make_kernel("plain", js.model, 1.0), steps)
    g = torch.Generator().manual_seed(3)
    v0 = data[torch.randint(len(data), (n,), generator=g)]
    for beta, ok in ((1.0, True), (1.6, False)):
        rng = Rng(4)
        k = make_kernel("plain", rbm, beta)
        v, h = k.run(*k.start(v0, rng), steps, rng)
        emp = torch.bincount(_joint_index(js, v, h), minlength=js.n_states).double() / n
        tv = _tv(emp, exact.reshape(-1))
        assert (tv < 0.035) if ok else (tv > 0.07), (beta, tv)


# ---------------------------------------------------------------------- command line
@pytest.fixture
def npz_model(tmp_path):
    rbm = random_rbm(7, 4, seed=3).to(torch.float32)
    path = tmp_path / "m.npz"
    np.savez(path, weights=rbm.weights.detach().numpy(), visible_bias=rbm.visible.bias.detach().numpy(),
             hidden_bias=rbm.hidden.bias.detach().numpy())
    return path


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_xft_public_interface(npz_model, tmp_path, capsys):
    out = tmp_path / "xft"
    code, stdout, err = _run(["thermo", "xft", npz_model, "--t1", 1, "--t2", 2, "--chains", 10_000,
                              "--equilibrate", 30, "--json", "--no-progress", "--out", out], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert res["expected_slope"] == pytest.approx(1 / 1 - 1 / 2)
    assert abs(res["slope"] - 0.5) < 4 * res["slope_stderr"] and res["slope_stderr"] > 0
    assert json.loads((out / "xft.json").read_text())["slope"] == res["slope"]
    assert (out / "xft.png").stat().st_size > 10_000 and (out / "equilibration.png").stat().st_size > 5_000


@pytest.mark.parametrize("args, pattern", [
    (["--t2", "0"], "t2"), (["--t2", "nan"], "t2"), (["--chains", "0"], "chains"),
    (["--kernel", "visible"], "kernel"), (["--init", "data"], "--data"), (["--fraction", "2"], "fraction"),
    (["--device", "nosuch"], "device"), (["--kernel", "plain", "--fraction", "0.5"], "fraction")])
def test_cli_xft_bad_input_exit_2(npz_model, tmp_path, capsys, args, pattern):
    code, out, err = _run(["thermo", "xft", npz_model, "--chains", 100, "--out", tmp_path / "o", *args], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("boltzlab: error:"), err
    assert pattern in err


def test_cli_xft_missing_or_wrong_model(tmp_path, capsys):
    code, _, err = _run(["thermo", "xft", tmp_path / "none.npz"], capsys)
    assert code == 2 and "no such model file" in err
    bm = bl.BoltzmannMachine(n_units=4)
    bl.save_model(bm, tmp_path / "bm.pt")
    code, _, err = _run(["thermo", "xft", tmp_path / "bm.pt", "--chains", 10], capsys)
    assert code == 2 and "RBM" in err and err.count("\n") == 1


def test_cli_work_curves_cd(npz_model, tmp_path, capsys):
    code, stdout, err = _run(["thermo", "work", npz_model, "--beta-from", 0.3, "--points", 4, "--chains", 4000,
                              "--json", "--no-progress", "--out", tmp_path / "w"], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert res["delta_f_method"] == "exact" and abs(res["forward"]["jarzynski_z"]) < 4
    assert (tmp_path / "w" / "work.png").stat().st_size > 10_000
    code, stdout, err = _run(["thermo", "curves", npz_model, "--points", 5, "--json", "--out", tmp_path / "c"],
                             capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert res["method"] == "exact" and len(res["exact"]["entropy"]) == 5
    np.save(tmp_path / "d.npy", (np.random.default_rng(0).random((100, 7)) < 0.3).astype(np.float32))
    code, stdout, err = _run(["thermo", "cd", npz_model, "--data", tmp_path / "d.npy", "--steps", 1, 3, "--json",
                              "--out", tmp_path / "cd"], capsys)
    assert code == 0, err
    rows = json.loads(stdout)["points"][0]["rows"]
    assert [r["n"] for r in rows] == [1, 3] and all(abs(r["identity_residual"]) < 1e-9 for r in rows)
    np.save(tmp_path / "bad.npy", np.zeros((10, 5), dtype=np.float32))
    code, _, err = _run(["thermo", "cd", npz_model, "--data", tmp_path / "bad.npy", "--out", tmp_path / "cd2"],
                        capsys)
    assert code == 2 and "visible units" in err
    code, _, err = _run(["thermo", "work", npz_model, npz_model, "--protocol", "beta-ramp", "--out", tmp_path / "w2"],
                        capsys)
    assert code == 2 and "takes 1 model" in err
    code, _, err = _run(["thermo", "curves", npz_model, "--t-min", 2, "--t-max", 1, "--out", tmp_path / "c2"], capsys)
    assert code == 2 and "t-min" in err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_heat_exchange_follows_the_model():
    rbm = random_rbm(6, 4, scale=1.0, seed=1).to("cuda", torch.float32)
    r = heat_exchange(rbm, 1.0, 2.0, chains=50_000, equilibrate=100, fraction=1.0, seed=0)
    run = r.runs[0]
    assert r.device.startswith("cuda") and r.dtype == "float32"
    assert abs(run.fit["slope"] - 0.5) < 4 * run.fit["slope_stderr"]
