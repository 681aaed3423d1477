"""Parallel trajectory tempering and the log-likelihood along training, against exact enumeration."""

import copy

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import CheckpointError, ConfigError, ShapeError
from boltzlab.partition.pseudolikelihood import fit_pseudolikelihood
from boltzlab.sampling.trajectory import (TrajectoryTempering, independent_log_z, independent_model,
                                          interpolate_models, load_trajectory, mode_fractions, select_models,
                                          trajectory_from_trainer, trajectory_log_z)
from boltzlab.training import TrainConfig, Trainer
from conftest import random_rbm
from test_sampling import BOUND, _tv


def two_mode_data(n_visible=16, n=1000, weight=0.75, noise=0.05, seed=1):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n_visible, generator=g) < 0.5).double()
    b = 1 - a
    x = torch.where((torch.rand(n, generator=g) < weight)[:, None], a, b)
    x = torch.where(torch.rand(n, n_visible, generator=g) < noise, 1 - x, x)
    return x, torch.stack([a, b])


@pytest.fixture(scope="module")
def two_mode_trajectory():
    """A 16x4 RBM trained by exact maximum likelihood on two well-separated modes (weights 0.75 / 0.25)."""
    x, patterns = two_mode_data()
    model = bl.BinaryRBM.initialize(16, 4, 0.01, seed=0, dtype=torch.float64)
    model.visible.init_from_data(x)
    models = [copy.deepcopy(model)]
    fit_pseudolikelihood(model, x, epochs=100, lr=0.05, objective="exact",
                         on_epoch=lambda e, m: models.append(copy.deepcopy(m)) if e % 10 == 0 else None)
    return x, patterns, models


def exact_mode_weight(model, patterns) -> float:
    states, p = bl.visible_distribution(model)
    return float(p[torch.cdist(states, patterns).argmin(1) == 0].sum())


def test_ptt_recovers_mode_weights_where_gibbs_fails(two_mode_trajectory):
    x, patterns, models = two_mode_trajectory
    target = models[-1]
    exact = exact_mode_weight(target, patterns)
    assert 0.65 < exact < 0.85  # the model learnt the data's unequal weights
    sel = select_models(models, 0.3, n_chains=200, pilot_steps=50, seed=0)
    assert sel.labels[-1] == len(models) - 1 and len(sel.models) < len(models)
    ptt = TrajectoryTempering(sel.models, 200, seed=1)
    steps, burn = 1000, 300
    fractions = []
    ptt.run(steps, callback=lambda p: fractions.append(float(mode_fractions(p.samples, patterns)[0]))
            if p.steps > burn else None)
    assert abs(np.mean(fractions) - exact) < 0.02
    assert ptt.acceptance.min() > 0.2
    # Plain block Gibbs from random starts with the same budget of sweeps stays in the starting basins.
    rng = bl.Rng(0)
    v = target.sample_chains(target.visible.random_state(200, rng), steps * ptt.n_replicas, 1.0, rng)
    assert abs(float(mode_fractions(v, patterns)[0]) - exact) > 0.1


def test_trajectory_log_likelihood_matches_exact(two_mode_trajectory):
    x, _, models = two_mode_trajectory
    res = trajectory_log_z(models, [10 * i for i in range(len(models))], n_chains=500, n_between=20, data=x,
                           seed=0)
    exact_z = np.array([bl.exact_log_z(m) for m in models])
    exact_ll = np.array([bl.exact_log_likelihood(m, x) for m in models])
    assert np.abs(res.log_z - exact_z).max() < 0.1
    assert np.abs(res.log_likelihood - exact_ll).max() < 0.1
    assert res.log_likelihood[-1] > res.log_likelihood[0] + 3  # training improved it
    d = res.to_dict()
    assert len(d["log_z"]) == len(models) and d["steps"][-1] == 10 * (len(models) - 1)


def test_ptt_samples_exact_distribution():
    """Three related models; the top replica's histogram is within the TV bound of the exact marginal."""
    base = random_rbm(6, 3, scale=1.5, seed=1)
    models = []
    for s in (0.3, 1.0, 2.0):
        m = copy.deepcopy(base)
        with torch.no_grad():
            m.weights.mul_(s)
        models.append(m)
    ptt = TrajectoryTempering(models, 40_000, seed=0)
    ptt.run(40)
    assert _tv(ptt.samples, models[-1], 1.0) < BOUND
    assert _tv(ptt.samples, models[-2], 1.0) > 3 * BOUND  # a wrong target would be seen
    assert ptt.acceptance.shape == (3,) and (ptt.acceptance > 0).all()
    summary = ptt.summary()
    assert summary["n_replicas"] == 4 and summary["steps"] == 40


def test_swap_rule_uses_free_energy_differences():
    """ln a of exchanging v_i, v_j between models i, j, checked against exact log-probabilities."""
    a, b = random_rbm(5, 3, seed=2), random_rbm(5, 3, seed=3)
    ptt = TrajectoryTempering([a, b], 4, add_base=False, seed=0)
    vi, vj = a.visible.random_state(4, bl.Rng(1)), a.visible.random_state(4, bl.Rng(2))
    lp = lambda m, v: bl.exact_log_prob(m, v)
    expected = lp(a, vj) + lp(b, vi) - lp(a, vi) - lp(b, vj)
    assert torch.allclose(-ptt.log_acceptance(0, 1, vi, vj), -expected, atol=1e-10)


def test_independent_model_and_interpolation():
    m = random_rbm(6, 4, seed=4, offsets=True)
    base = independent_model(m)
    assert abs(independent_log_z(base) - bl.exact_log_z(base)) < 1e-10
    other = random_rbm(6, 4, seed=5, offsets=True)
    mid = interpolate_models(m, other, 0.25)
    assert torch.allclose(mid.weights, 0.75 * m.weights + 0.25 * other.weights)
    assert torch.allclose(mid.visible_offset, 0.75 * m.visible_offset + 0.25 * other.visible_offset)


def test_trainer_records_trajectory_and_checkpoint_round_trip(tmp_path):
    x, _ = two_mode_data(n_visible=8, n=200)
    cfg = TrainConfig(n_hidden=3, epochs=3, batch_size=50, save_every=2, dtype="float64", lr=0.05)
    trainer = Trainer.create(x.numpy(), cfg, out_dir=tmp_path, progress=False)
    trainer.fit()
    assert [e["step"] for e in trainer.trajectory] == [0, 2, 4, 6, 8, 10, 12]
    models, steps = load_trajectory(tmp_path)
    mem, mem_steps = trajectory_from_trainer(trainer)
    assert steps == mem_steps and torch.equal(models[-1].weights, mem[-1].weights)
    assert torch.equal(models[-1].weights, trainer.model.weights.detach())
    assert not torch.equal(models[0].weights, models[-1].weights)
    # Resuming keeps the trajectory.
    resumed = Trainer.resume(tmp_path / "checkpoint.pt", x.numpy(), epochs=4, progress=False)
    resumed.fit()
    assert [e["step"] for e in resumed.trajectory][-3:] == [12, 14, 16]


def test_trajectory_ends_with_the_final_model():
    x, _ = two_mode_data(n_visible=8, n=200)
    cfg = TrainConfig(n_hidden=3, epochs=3, batch_size=50, save_every=5, dtype="float64", lr=0.05)
    trainer = Trainer.create(x.numpy(), cfg, progress=False)
    trainer.fit()
    assert [e["step"] for e in trainer.trajectory] == [0, 5, 10, 12]
    models, _ = trajectory_from_trainer(trainer)
    assert torch.equal(models[-1].weights, trainer.model.weights.detach())


def test_bad_inputs(tmp_path):
    a = random_rbm(5, 3, seed=2)
    with pytest.raises(ShapeError):
        TrajectoryTempering([a, random_rbm(6, 3)], 10)
    with pytest.raises(ConfigError):
        TrajectoryTempering([a], 0)
    with pytest.raises(ConfigError):
        select_models([a, a], target=1.5)
    with pytest.raises(ConfigError):
        trajectory_log_z([a], n_chains=1)
    with pytest.raises(ConfigError):
        TrainConfig(save_every=-1)
    with pytest.raises(CheckpointError):
        load_trajectory(tmp_path)


# ---------------------------------------------------------------------------------------------- Potts and CUDA
def test_potts_trajectory_tempering_and_ais():
    potts = pytest.importorskip("boltzlab.models.potts")
    g = torch.Generator().manual_seed(4)
    w = torch.randn(4, 3, 2, generator=g, dtype=torch.float64)
    a = torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5
    models = [potts.PottsRBM(w * s, a, torch.zeros(2, dtype=torch.float64), dtype=torch.float64)
              for s in (0.3, 1.0, 2.0)]
    ptt = TrajectoryTempering(models, 20_000, seed=0)
    ptt.run(30)
    assert _tv(ptt.samples, models[-1], 1.0) < 2 * BOUND  # 81 states
    res = trajectory_log_z(models, n_chains=500, n_between=20, seed=0)
    assert np.abs(res.log_z - np.array([bl.exact_log_z(m) for m in models])).max() < 0.05


@pytest.mark.parametrize("hidden", ["gaussian", "relu", "drelu"])
def test_continuous_hidden_units(hidden):
    """PTT and trajectory AIS need only free energies and Gibbs sweeps: continuous hidden layers work too."""
    from boltzlab.units import Layer
    if hidden not in Layer.registry:
        pytest.skip(f"{hidden} units not available")
    g = torch.Generator().manual_seed(5)
    w = torch.randn(6, 3, generator=g, dtype=torch.float64) * 0.7
    models = []
    for s in (0.2, 0.6, 1.0):
        m = bl.make_rbm(6, 3, "binary", hidden, dtype=torch.float64)
        with torch.no_grad():
            m.weights.copy_(w * s)
        models.append(m)
    ptt = TrajectoryTempering(models, 20_000, seed=0)
    ptt.run(20)
    assert _tv(ptt.samples, models[-1], 1.0) < BOUND
    res = trajectory_log_z(models, n_chains=500, n_between=20, seed=0)
    assert np.abs(res.log_z - np.array([bl.exact_log_z(m) for m in models])).max() < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_ptt_and_trajectory_ais(two_mode_trajectory):
    x, patterns, models = two_mode_trajectory
    cuda = [copy.deepcopy(m).to("cuda", torch.float32) for m in models]
    res = trajectory_log_z(cuda, n_chains=500, n_between=20, data=x.float().cuda(), seed=0)
    exact = np.array([bl.exact_log_likelihood(m, x) for m in models])
    assert np.abs(res.log_likelihood - exact).max() < 0.1
    sel = select_models(cuda, 0.3, n_chains=200, pilot_steps=50, seed=0)
    ptt = TrajectoryTempering(sel.models, 200, seed=1)
    fr = []
    ptt.run(1000, callback=lambda p: fr.append(float(mode_fractions(p.samples, patterns)[0])) if p.steps > 300 else None)
    assert abs(np.mean(fr) - exact_mode_weight(models[-1], patterns)) < 0.02


# ---------------------------------------------------------------------------------------------- command line
def run_cli(args, capsys):
    from boltzlab.cli.main import main
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_ptt_and_trajectory_ll(tmp_path, capsys):
    import json
    x, _ = two_mode_data(n_visible=8, n=300)
    np.save(tmp_path / "x.npy", x.numpy().astype(np.float32))
    code, _, err = run_cli(["train", "--data", tmp_path / "x.npy", "--hidden", 3, "--epochs", 3, "--batch-size", 30,
                            "--save-every", 10, "--out", tmp_path / "run", "--no-progress", "--lr", 0.05], capsys)
    assert code == 0, err
    code, out, err = run_cli(["ptt", tmp_path / "run", "--chains", 100, "--steps", 50, "--pilot-steps", 20,
                              "--out", tmp_path / "ptt", "--json", "--no-progress"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["saved_models"] == 4 and len(res["acceptance"]) == res["n_replicas"] - 1  # steps 0, 10, 20 and the last, 24
    assert (tmp_path / "ptt" / "swap_rates.png").stat().st_size > 0
    assert np.load(tmp_path / "ptt" / "samples.npz")["v"].shape == (100, 8)
    code, out, err = run_cli(["trajectory-ll", tmp_path / "run", "--data", tmp_path / "x.npy", "--chains", 300,
                              "--between", 20, "--out", tmp_path / "tll", "--json", "--no-progress"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["max_abs_error_log_likelihood"] < 0.1 and len(res["log_likelihood"]) == 4
    assert (tmp_path / "tll" / "log_likelihood.png").exists()


def test_cli_bad_inputs(tmp_path, capsys):
    x, _ = two_mode_data(n_visible=8, n=100)
    np.save(tmp_path / "x.npy", x.numpy().astype(np.float32))
    code, _, err = run_cli(["train", "--data", tmp_path / "x.npy", "--hidden", 3, "--epochs", 1,
                            "--out", tmp_path / "run", "--no-progress"], capsys)
    assert code == 0
    code, _, err = run_cli(["ptt", tmp_path / "run", "--out", tmp_path / "o"], capsys)
    assert code == 2 and err.startswith("boltzlab: error:") and "--save-every" in err and err.count("\n") == 1
    code, _, err = run_cli(["ptt", tmp_path / "missing", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "no such checkpoint" in err
    code, _, err = run_cli(["ptt", tmp_path / "run", "--target", 1.5], capsys)
    assert code == 2 and "boltzlab: error:" in err
    code, _, err = run_cli(["train", "--data", tmp_path / "x.npy", "--save-every", -3, "--out", tmp_path / "r2",
                            "--no-progress"], capsys)
    assert code == 2 and "save_every" in err
