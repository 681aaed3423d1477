"""The fully visible Boltzmann machine (eq. 12): energy, activity rule (eq. 15), Gibbs sampler, exact
enumeration, the learning rule through the Trainer, checkpoints and the CLI."""

import copy
import json

import pytest
import torch

import boltzlab as bl
from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, DomainError, ShapeError
from boltzlab.training import TrainConfig, Trainer
from conftest import all_states

DT = torch.float64


def random_bm(n=6, scale=1.0, seed=0, symmetric=False, self_interaction=True):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=g, dtype=DT) * scale
    if symmetric:
        w = (w + w.t()) / 2
    if not self_interaction:
        w.fill_diagonal_(0)
    return bl.BoltzmannMachine(w, torch.randn(n, generator=g, dtype=DT) * 0.5, torch.rand(n, generator=g, dtype=DT),
                               self_interaction=self_interaction, dtype=DT)


def _index(x):
    return (x.double() @ (2.0 ** torch.arange(x.shape[1], dtype=DT))).long()


def _tv(samples, model, beta=1.0):
    states, p = bl.visible_distribution(model, beta)
    exact = torch.zeros(len(p), dtype=DT)
    exact[_index(states)] = p
    emp = torch.bincount(_index(samples), minlength=len(p)).double() / len(samples)
    return float(0.5 * (emp - exact).abs().sum())


def _data(n=300, nv=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    d = (torch.rand(n, nv, generator=g) < 0.3).double()
    d[: n // 2, : nv // 2] = 1.0
    return d


def test_energy_is_eq12_with_general_couplings():
    bm = random_bm(5, seed=1)
    x = all_states(5)
    w, b, c = bm.weights.detach(), bm.bias.detach(), bm.centers
    ref = torch.stack([-0.5 * sum(w[a, bb] * (s[a] - c[a]) * (s[bb] - c[bb]) for a in range(5) for bb in range(5))
                       - (b * s).sum() for s in x])
    assert torch.allclose(bm.energy(x), ref, atol=1e-12)
    assert torch.allclose(bm.free_energy(x, beta=0.3), 0.3 * ref, atol=1e-12)
    # ln Z by enumeration equals the brute-force sum
    assert abs(bl.exact_log_z(bm) - float(torch.logsumexp(-ref, 0))) < 1e-10


@pytest.mark.parametrize("beta", [1.0, 0.7])
def test_activity_rule_eq15_for_any_centers(beta):
    """p(x_a = 1 | rest) from the exact joint equals sigmoid(beta (sum_{b!=a} W_(ab)(x_b - x_hat_b) + c_a))
    for a general (asymmetric, self-interacting) W and arbitrary centres (the paper: "for arbitrary
    replacement of x_hat")."""
    bm = random_bm(5, scale=1.5, seed=2)
    with torch.no_grad():
        bm.centers.copy_(torch.tensor([0.3, -1.0, 2.0, 0.5, 0.9], dtype=DT))
    x = all_states(5)
    cond = bm.conditional(x, beta)
    for a in range(5):
        on, off = x.clone(), x.clone()
        on[:, a], off[:, a] = 1.0, 0.0
        ref = torch.sigmoid(-beta * (bm.energy(on) - bm.energy(off)))
        assert torch.allclose(cond[:, a], ref, atol=1e-12)
    # c_a = b_a + (1/2 - x_hat_a) W_aa
    w = bm.weights.detach()
    assert torch.allclose(bm.effective_bias(), bm.bias.detach() + (0.5 - bm.centers) * torch.diagonal(w))


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_site_gibbs_matches_exact(beta):
    bm = random_bm(6, scale=0.8, seed=3)
    v, h = bm.sample(20_000, steps=20, beta=beta, seed=1)
    assert h.shape == (20_000, 0)
    assert _tv(v, bm, beta) < 0.04   # noise floor ~ sqrt(64 / (2 pi 2e4)) = 0.023
    assert _tv(v, bm, 3 * beta) > 0.1   # the bound has power: the chains are not at another temperature


def test_site_gibbs_float32_and_init():
    bm = random_bm(5, scale=0.8, seed=4).to(torch.float32)
    v, _ = bm.sample(20_000, steps=25, seed=2, init=torch.ones(20_000, 5))
    assert v.dtype == torch.float32
    assert _tv(v, bm) < 0.035


def test_learning_rule_eq7_equals_exact_gradient():
    """<dE/dtheta>_data - <dE/dtheta>_model (model average exact) is the gradient of the exact NLL."""
    bm = random_bm(6, seed=5)
    data = _data()
    states = all_states(6)
    log_z = torch.logsumexp(-bm.visible_free_energy(states), 0)
    nll = bm.visible_free_energy(data).mean() + log_z
    ref = torch.autograd.grad(nll, list(bm.parameters()))
    with torch.no_grad():
        p = torch.softmax(-bm.visible_free_energy(states), 0)
    surrogate = bm.visible_free_energy(data).mean() - (p * bm.visible_free_energy(states)).sum()
    got = torch.autograd.grad(surrogate, list(bm.parameters()))
    for a, b in zip(got, ref):
        assert torch.allclose(a, b, atol=1e-12)
    # the W gradient is symmetric, so training never changes the antisymmetric part of W
    assert torch.allclose(got[0], got[0].t(), atol=1e-14)


def test_self_interaction_off_holds_diagonal_at_zero():
    with pytest.raises(ConfigError, match="diagonal"):
        bl.BoltzmannMachine(torch.eye(3), self_interaction=False)
    bm = random_bm(5, seed=6, self_interaction=False)
    loss = bm.visible_free_energy(_data(50, 5)).mean()
    (g,) = torch.autograd.grad(loss, [bm.weights])
    assert torch.all(torch.diagonal(g) == 0) and g.abs().sum() > 0


def test_set_centers_keeps_the_distribution():
    bm = random_bm(5, seed=7)
    _, p = bl.visible_distribution(bm)
    bm.set_centers(torch.tensor([0.1, 0.9, 0.5, -0.3, 0.0], dtype=DT))
    _, q = bl.visible_distribution(bm)
    assert torch.allclose(p, q, atol=1e-12)
    moved = copy.deepcopy(bm)
    with torch.no_grad():
        moved.centers.add_(0.2)  # moving the buffer without re-expressing b changes p
    assert (bl.visible_distribution(moved)[1] - q).abs().max() > 1e-3


def test_bad_input_refused():
    with pytest.raises(ShapeError):
        bl.BoltzmannMachine(torch.zeros(3, 4))
    with pytest.raises(ShapeError):
        bl.BoltzmannMachine(torch.zeros(3, 3), centers=torch.zeros(2))
    bm = random_bm(3)
    with pytest.raises(DomainError):
        bm.energy(torch.tensor([[0.0, 0.5, 1.0]]))
    with pytest.raises(ConfigError, match="binary"):
        TrainConfig(model="bm", visible_units="spin")
    with pytest.raises(ConfigError, match="model"):
        TrainConfig(model="hopfield")


def test_trainer_step_is_the_exact_gradient():
    """One SGD step of the Trainer on a BM (Rdm-k, many chains) moves theta by -lr * the exact gradient."""
    data = _data()
    bm = random_bm(6, scale=1.5, seed=9)
    cfg = TrainConfig(model="bm", method="rdm", k=20, n_chains=30_000, batch_size=len(data), lr=1.0,
                      momentum=0.0, dtype="float64", seed=1, self_interaction=True)
    tr = Trainer(bm, data, cfg, progress=False)
    states = all_states(6)
    nll = bm.visible_free_energy(data).mean() + torch.logsumexp(-bm.visible_free_energy(states), 0)
    grads = torch.autograd.grad(nll, list(bm.parameters()))
    assert max(float(g.abs().max()) for g in grads) > 0.3   # a step the bound below can tell apart
    before = [p.detach().clone() for p in bm.parameters()]
    tr.update(data)
    for p0, p1, g in zip(before, bm.parameters(), grads):
        assert ((p0 - p1.detach()) - g).abs().max() < 2e-2   # Monte-Carlo error <= 0.5 / sqrt(3e4) per entry


@pytest.mark.parametrize("extra", [dict(method="pcd"), dict(method="cd", k=5, centered=True),
                                   dict(method="pcd", optimizer="adam", lr=0.02, l2=1e-3)])
def test_training_improves_exact_likelihood(extra):
    data = _data(400, 8, seed=3).float()
    cfg = TrainConfig(**{**dict(model="bm", epochs=4, batch_size=20, lr=0.05, seed=0, monitor_samples=400), **extra})
    tr = Trainer.create(data, cfg, progress=False)
    assert torch.allclose(tr.model.centers, data.mean(0))          # eq. 12: centres at the data means
    ll0 = bl.exact_log_likelihood(tr.model, data)
    hist = tr.fit()
    assert hist[-1]["train_log_likelihood"] > ll0 + 0.3
    assert torch.all(torch.diagonal(tr.model.weights) == 0)         # self_interaction off by default
    assert "reconstruction_error" not in hist[-1]


def test_checkpoint_roundtrip_and_resume(tmp_path):
    data = _data(200, 6, seed=4).float()
    cfg = TrainConfig(model="bm", epochs=3, batch_size=20, lr=0.05, seed=2, k=2)
    full = Trainer.create(data, cfg, progress=False)
    full.fit()
    part = Trainer.create(data, TrainConfig(**{**cfg.to_dict(), "epochs": 1}), out_dir=tmp_path, progress=False)
    part.fit()
    resumed = Trainer.resume(tmp_path / "checkpoint.pt", data, epochs=3, progress=False)
    resumed.fit()
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    bl.save_model(full.model, tmp_path / "bm.pt")
    loaded = bl.load_model(tmp_path / "bm.pt", dtype=torch.float64)
    assert isinstance(loaded, bl.BoltzmannMachine) and not loaded.self_interaction
    assert abs(bl.exact_log_z(loaded) - bl.exact_log_z(full.model)) < 1e-5


def test_cli_train_model_bm_and_use_it(tmp_path, capsys):
    out = tmp_path / "bm"
    code = main(["train", "--model", "bm", "--data", "ising:L=3,beta=0.4,n=400", "--epochs", "2",
                 "--batch-size", "40", "--lr", "0.05", "--out", str(out), "--json", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["final"]["train_log_likelihood"] < 0
    for name in ("checkpoint.pt", "metrics.jsonl", "learning_curves.png", "samples.png"):
        assert (out / name).stat().st_size > 0
    assert main(["logz", str(out / "checkpoint.pt"), "--json"]) == 0
    assert json.loads(capsys.readouterr()[0])["log_z"] > 0
    assert main(["sample", str(out / "checkpoint.pt"), "--n", "20", "--steps", "5", "--npz",
                 str(tmp_path / "s.npz"), "--json"]) == 0
    capsys.readouterr()
    code = main(["train", "--model", "bm", "--visible-units", "spin", "--data", "ising:L=3,n=100",
                 "--out", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr()[1]
    assert code == 2 and err.startswith("boltzlab: error:") and err.count("\n") == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_site_gibbs_exact_log_z_and_training():
    bm = random_bm(6, scale=0.8, seed=3)
    gpu = random_bm(6, scale=0.8, seed=3).to("cuda", torch.float32)
    v, _ = gpu.sample(20_000, steps=20, seed=1)
    assert v.is_cuda and _tv(v.cpu().double(), bm) < 0.04
    assert abs(bl.exact_log_z(bm.to("cuda")) - bl.exact_log_z(bm.cpu())) < 1e-9
    tr = Trainer.create(_data(200, 6).float(), TrainConfig(model="bm", epochs=2, batch_size=20, device="cuda",
                                                           centered=True), progress=False)
    assert tr.model.weights.is_cuda and tr.fit()[-1]["train_log_likelihood"] < 0
