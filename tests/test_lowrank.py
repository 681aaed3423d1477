"""Low-rank pretraining: grid partition function against enumeration, exact RBM conversion, improvement."""

import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import ConfigError, DomainError
from boltzlab.training.lowrank import (_log2cosh, fit_lowrank, large_deviation_entropy, lowrank_rbm,
                                       principal_directions)
from test_ptt import two_mode_data

N = 16


@pytest.fixture(scope="module")
def data():
    x, _ = two_mode_data(N, 2000, noise=0.15)
    return x


@pytest.fixture(scope="module")
def spins_all():
    states, _ = bl.visible_distribution(bl.BinaryRBM.initialize(N, 1, dtype=torch.float64))
    return 2 * states - 1


@pytest.mark.parametrize("dim", [1, 2])
def test_grid_log_z_matches_enumeration(data, spins_all, dim):
    """ln Z of the fitted low-rank model by the grid sum against the sum over all 2^16 configurations."""
    m = fit_lowrank(data, 6, dim)
    s = spins_all
    exact = float(torch.logsumexp(s @ m.fields + N * m.g(m.project(s)), 0))
    assert abs(float(m.log_z()) - exact) < 0.1
    # Without the fluctuation determinant the grid sum is visibly worse (the correction matters).
    ok = torch.isfinite(m.log_omega)
    _, logdet, _, _ = large_deviation_entropy(m.grid[ok], m.directions, m.fields)
    lo = m.log_omega[ok] + 0.5 * logdet
    crude = float(_log2cosh(m.fields).sum() + torch.logsumexp(lo + N * m.g(m.grid[ok]), 0) - torch.logsumexp(lo, 0))
    assert abs(crude - exact) > abs(float(m.log_z()) - exact)


def test_entropy_saddle_point(data):
    """S_b(m) = (1/N) ln sum_s e^{b.s} delta(m(s) - m) is largest at the independent model's mean projection
    (mu = 0), where it equals (1/N) sum_i ln 2cosh b_i; it falls away from it; unreachable m are flagged."""
    s = 2 * data - 1
    u = principal_directions(s, 2)
    assert torch.allclose(u @ u.t(), torch.eye(2, dtype=torch.float64), atol=1e-12)
    b = torch.atanh(s.mean(0).clamp(-0.99, 0.99))
    m0 = (torch.tanh(b) @ u.t() / math.sqrt(N)).unsqueeze(0)
    pts = torch.cat([m0, m0 + 0.05, m0 - torch.tensor([[0.1, 0.0]], dtype=torch.float64)])
    ent, _, ok, mu = large_deviation_entropy(pts, u, b)
    assert torch.allclose(torch.tanh(b + math.sqrt(N) * mu @ u) @ u.t() / math.sqrt(N), pts, atol=1e-9)
    assert ok.all()
    expected = float(_log2cosh(b).mean())
    assert abs(float(ent[0]) - expected) < 1e-10
    assert (ent[1:] < ent[0]).all()
    far = torch.tensor([[50.0, 0.0]], dtype=torch.float64)  # outside the reachable set |m| <= sqrt(N)
    assert not bool(large_deviation_entropy(far, u, b)[2][0])


def test_rbm_conversion_is_exact_up_to_softplus_terms(data):
    """-F_RBM(v) = b.s + N g(m(s)) + sum_k ln(1 + exp(-2|x_k|)) + const, with x_k the hidden inputs."""
    rbm, m = lowrank_rbm(data, 5, 2, dtype=torch.float64)
    v = data[:50]
    s = 2 * v - 1
    x = N * (m.project(s) @ m.normals.t() - m.offsets) * m.q
    rhs = s @ m.fields + N * m.g(m.project(s)) + torch.log1p(torch.exp(-2 * x.abs())).sum(1)
    lhs = -rbm.free_energy(v)
    diff = (lhs - rhs).detach()
    assert float(diff.max() - diff.min()) < 1e-9


def test_lowrank_init_beats_independent_model(data):
    rbm, m = lowrank_rbm(data, 6, 2, dtype=torch.float64)
    ind = bl.BinaryRBM.initialize(N, 6, 0.0, dtype=torch.float64)
    ind.visible.init_from_data(data)
    ll_rank = bl.exact_log_likelihood(rbm, data)
    assert ll_rank > bl.exact_log_likelihood(ind, data) + 1.0
    # the RBM's exact LL is close to the low-rank model's own (grid) LL
    assert abs(ll_rank - float(m.log_prob(2 * data - 1).mean())) < 0.3
    assert m.summary()["n_active_features"] >= 1 and (m.q >= 0).all()


def test_bad_inputs(data):
    with pytest.raises(ConfigError):
        fit_lowrank(data, 4, dim=5)
    with pytest.raises(ConfigError):
        fit_lowrank(data, 0)
    with pytest.raises(DomainError):
        fit_lowrank(data * 0.5, 4)
    bad = data.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(DomainError):
        fit_lowrank(bad, 4)
    with pytest.raises(ConfigError):
        fit_lowrank(data[:1], 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_conversion(data):
    rbm, m = lowrank_rbm(data, 5, 2, dtype=torch.float32, device="cuda")
    assert rbm.device.type == "cuda"
    cpu = m.to_rbm(torch.float64)
    assert abs(bl.exact_log_likelihood(rbm, data.float().cuda()) - bl.exact_log_likelihood(cpu, data)) < 1e-3


def test_cli_pretrain(tmp_path, capsys, data):
    import json
    from boltzlab.cli.main import main
    np.save(tmp_path / "x.npy", data.numpy().astype(np.float32))
    code = main(["pretrain", "--data", str(tmp_path / "x.npy"), "--dim", "1", "--hidden", "4", "--epochs", "1",
                 "--batch-size", "200", "--k", "2", "--out", str(tmp_path / "o"), "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    res = json.loads(out)
    assert res["initial_test_log_likelihood"]["lowrank"] > res["initial_test_log_likelihood"]["random"] + 1.0
    assert set(res["final_test_log_likelihood"]) == {"lowrank", "random"}
    assert (tmp_path / "o" / "log_likelihood.png").exists() and (tmp_path / "o" / "lowrank_density.png").exists()
    assert bl.load_model(tmp_path / "o" / "lowrank_init.pt").n_hidden == 4
    # bad input: one line, exit 2
    for args in (["--dim", "7"], ["--test-fraction", "1.5"]):
        code = main(["pretrain", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o2"), *args])
        _, err = capsys.readouterr()
        assert code == 2 and err.startswith("boltzlab: error:") and err.count("\n") == 1
    np.save(tmp_path / "bad.npy", np.full((10, 4), 3.0, dtype=np.float32))
    code = main(["pretrain", "--data", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "o3")])
    _, err = capsys.readouterr()
    assert code == 2 and "outside [0, 1]" in err


def test_samples_follow_the_low_rank_model(data, spins_all):
    """Samples (grid point, then the tilted independent measure) against the exact low-rank distribution."""
    m = fit_lowrank(data, 6, 1)
    s = spins_all
    logp = s @ m.fields + N * m.g(m.project(s))
    p = torch.softmax(logp, 0)
    x = m.sample(20_000, seed=0)
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0}
    proj = m.project(2 * x - 1)[:, 0]
    exact = m.project(s)[:, 0]
    assert abs(float(proj.mean()) - float(p @ exact)) < 0.02
    # mode weight (sign of the projection on the top direction)
    assert abs(float((proj > 0).double().mean()) - float(p[exact > 0].sum())) < 0.03
    # per-unit means
    assert (x.mean(0) - p @ ((s + 1) / 2)).abs().max() < 0.03
