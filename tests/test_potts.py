"""Potts RBMs against brute force: ln Z, the Gibbs sampler's distribution, the zero-sum gauge, the learning
rule against autograd of the exact log-likelihood, training with every chain start and sample weights,
estimators (AIS) and checkpoints for every hidden type."""

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from scipy import integrate

import boltzlab as bl
from boltzlab.models.potts import exact_samples, random_potts_rbm
from boltzlab.training import TrainConfig, Trainer

HIDDEN = ["binary", "drelu", "relu", "gaussian", "spin"]


def _model(hidden, n=3, q=3, m=2, seed=0, centered=False):
    rbm = random_potts_rbm(n, q, m, hidden=hidden, weight_std=0.8, seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():  # unequal, non-gauge-fixed parameters everywhere
        rbm.weights.add_(0.3 * torch.randn(rbm.weights.shape, generator=g, dtype=torch.float64))
        rbm.visible.bias.add_(0.5 * torch.randn(rbm.visible.bias.shape, generator=g, dtype=torch.float64))
        for name, p in rbm.hidden.named_parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    if centered:
        rbm.set_offsets(torch.rand(n * q, generator=g, dtype=torch.float64) / q,
                        0.5 * torch.rand(m, generator=g, dtype=torch.float64))
    return rbm


def _brute_log_z_binary(W, a, b):
    """ln sum_{v,h} exp(-E) for binary hidden units, straight from the energy formula of the API."""
    n, q, m = W.shape
    terms = []
    for v in itertools.product(range(q), repeat=n):
        for h in itertools.product((0.0, 1.0), repeat=m):
            e = -sum(a[i, v[i]] for i in range(n)) - sum(W[i, v[i], mu] * h[mu] for i in range(n) for mu in range(m))
            e -= sum(b[mu] * h[mu] for mu in range(m))
            terms.append(-float(e))
    return float(np.logaddexp.reduce(terms))


def test_public_api_energy_free_energy_and_exact_log_z():
    g = torch.Generator().manual_seed(1)
    n, q, m = 3, 4, 3
    W = torch.randn(n, q, m, generator=g, dtype=torch.float64)
    a = torch.randn(n, q, generator=g, dtype=torch.float64)
    b = torch.randn(m, generator=g, dtype=torch.float64)
    rbm = bl.PottsRBM(weights=W, visible_bias=a, hidden_bias=b, dtype=torch.float64)
    v = torch.tensor([[0, 3, 1], [2, 2, 0]])
    h = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    e = torch.stack([-(a[range(n), vv].sum() + (W[range(n), vv] * hh).sum() + b @ hh) for vv, hh in zip(v, h)])
    assert torch.allclose(rbm.energy(v, h), e, rtol=0, atol=1e-12)
    f = torch.stack([-torch.logsumexp(torch.stack([-rbm.energy(vv[None], torch.tensor(hh, dtype=torch.float64)[None])[0]
                                                    for hh in itertools.product((0.0, 1.0), repeat=m)]), 0) for vv in v])
    assert torch.allclose(rbm.free_energy(v), f, rtol=0, atol=1e-12)
    assert abs(bl.exact_log_z(rbm) - _brute_log_z_binary(W.numpy(), a.numpy(), b.numpy())) < 1e-10
    vs, hs = rbm.sample(7, steps=3, beta=0.5, seed=0)
    assert vs.dtype == torch.int64 and vs.shape == (7, n) and int(vs.min()) >= 0 and int(vs.max()) < q
    assert hs.shape == (7, m)
    with pytest.raises(bl.DomainError):
        rbm.free_energy(torch.tensor([[0, 4, 1]]))
    with pytest.raises(bl.ShapeError):
        bl.PottsRBM(weights=W.reshape(n * q, m))


def test_potts_drelu_log_z_against_quadrature():
    rbm = _model("drelu", n=2, q=3, m=2)
    hid = rbm.hidden
    W = rbm.potts_weights.detach().numpy()
    a = rbm.visible.bias.detach().numpy()
    gp, gm = hid.precision_pos.detach().numpy(), hid.precision_neg.detach().numpy()
    tp, tm = hid.bias_pos.detach().numpy(), hid.bias_neg.detach().numpy()
    total = []
    for v in itertools.product(range(3), repeat=2):
        lp = sum(a[i, v[i]] for i in range(2))
        for mu in range(2):
            inp = sum(W[i, v[i], mu] for i in range(2))
            f = lambda x: math.exp(-(0.5 * (gp[mu] if x > 0 else gm[mu]) * x * x  # noqa: E731
                                     - (tp[mu] if x > 0 else tm[mu]) * x) + inp * x)
            z = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0]
                    for lo, hi in ((-np.inf, 0), (0, np.inf)))
            lp += math.log(z)
        total.append(lp)
    assert abs(bl.exact_log_z(rbm) - float(np.logaddexp.reduce(total))) < 1e-9


def _tv(samples, states, p):
    """Total variation between the empirical distribution of ``samples`` and ``p`` over ``states``."""
    q = int(states.max()) + 1
    code = lambda x: (x.long() * q ** torch.arange(x.shape[1])).sum(1)  # noqa: E731
    counts = torch.bincount(code(samples), minlength=q ** states.shape[1]).double()
    emp = counts[code(states)] / len(samples)
    return 0.5 * float((emp - p).abs().sum())


@pytest.mark.parametrize("hidden", ["binary", "drelu"])
def test_gibbs_sampler_distribution(hidden):
    rbm = _model(hidden, centered=True)
    states, p = bl.visible_distribution(rbm)
    n = 20_000
    v, _ = rbm.sample(n, steps=100, seed=4)  # the dReLU model needs ~100 sweeps from random starts
    # E[TV] ~ 0.4 sum_k sqrt(p_k / n) for a multinomial sample: the bound is 2.5 times that
    bound = float(torch.sqrt(p / n).sum())
    assert _tv(v, states, p) < bound
    # A wrong conditional would exceed it: visible draws at beta = 0.8, or (exactly) the model whose
    # weights lost their per-site means without the hidden fields absorbing them (rbms #27)
    assert 0.5 * float((bl.visible_distribution(rbm, beta=0.8)[1] - p).abs().sum()) > 2 * bound
    v_wrong, _ = _wrong_visible_temperature(rbm, n)
    assert _tv(v_wrong, states, p) > bound


def _wrong_visible_temperature(rbm, n):
    """Block Gibbs whose visible conditional is drawn at beta = 0.8 (a wrong conditional)."""
    from boltzlab.random import Rng
    rng = Rng(9)
    v = rbm.visible.random_state(n, rng)
    for _ in range(30):
        h = rbm.sample_hidden(v, 1.0, rng)
        v = rbm.sample_visible(h, 0.8, rng)
    return v, h


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("centered", [False, True])
def test_zero_sum_gauge_leaves_p_of_v_unchanged(hidden, centered):
    rbm = _model(hidden, centered=centered)
    states, p = bl.visible_distribution(rbm)
    gauged = copy.deepcopy(rbm)
    gauged.apply_gauge_()
    w = gauged.potts_weights.detach()
    assert float(w.sum(1).abs().max()) < 1e-12
    assert float(gauged.visible.bias.detach().sum(1).abs().max()) < 1e-12
    logp = torch.log(p)
    logp_g = torch.log(bl.visible_distribution(gauged)[1])
    assert float((logp - logp_g).abs().max()) < 1e-12
    # the trap of rbms #27: weights projected, hidden fields not moved -> p(v) changes
    buggy = copy.deepcopy(rbm)
    with torch.no_grad():
        buggy.potts_weights.sub_(buggy.potts_weights.mean(1, keepdim=True))
    assert float((torch.log(bl.visible_distribution(buggy)[1]) - logp).abs().max()) > 1e-3
    # gauge-free option: nothing moves
    free = copy.deepcopy(rbm)
    free.visible.gauge = "none"
    free.apply_gauge_()
    assert torch.equal(free.weights, rbm.weights)


def test_offsets_and_penalties_respect_the_gauge():
    rbm = _model("drelu", centered=False)
    states, p = bl.visible_distribution(rbm)
    rbm.set_offsets(torch.full((9,), 1 / 3, dtype=torch.float64), torch.tensor([0.2, -0.1], dtype=torch.float64))
    assert float((bl.visible_distribution(rbm)[1] - p).abs().max()) < 1e-13
    x = torch.randn(9, 2, dtype=torch.float64)
    proj = rbm.gauge_free_part(x)
    assert float(proj.view(3, 3, 2).sum(1).abs().max()) < 1e-13
    assert torch.allclose(rbm.gauge_free_part(proj), proj)


@pytest.mark.parametrize("hidden", ["binary", "drelu"])
def test_learning_rule_equals_autograd_of_the_exact_log_likelihood(hidden):
    rbm = _model(hidden, centered=True)
    data = exact_samples(rbm, 40, seed=1)
    weights = torch.rand(40, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    params = [p for p in rbm.parameters() if p.requires_grad]
    states = rbm.visible.enumerate_states(0, 27)
    # (1) the learning rule with exact model expectations: <dF>_data,w - <dF>_model
    p = bl.visible_distribution(rbm)[1].detach()
    surrogate = (weights * rbm.visible_free_energy(data)).sum() / weights.sum() - (p * rbm.visible_free_energy(states)).sum()
    g1 = torch.autograd.grad(surrogate, params)
    # (2) autograd of minus the weighted exact log-likelihood, ln Z by enumeration of all v
    log_z = torch.logsumexp(-rbm.visible_free_energy(states), 0)
    nll = -((weights * (-rbm.visible_free_energy(data) - log_z)).sum() / weights.sum())
    g2 = torch.autograd.grad(nll, params)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_trainer_update_uses_the_weighted_learning_rule():
    true = _model("binary")
    data = exact_samples(true, 30, seed=3)
    weights = torch.linspace(0.2, 2.0, 30, dtype=torch.float64)
    cfg = TrainConfig(visible_units="potts", n_hidden=2, n_states=3, gauge="none", optimizer="sgd", lr=1.0,
                      momentum=0.0, batch_size=30, method="pcd", dtype="float64", init_visible_from_data=False)
    tr = Trainer.create(data, cfg, weights=weights, progress=False)
    neg = exact_samples(true, 30, seed=4).double()
    tr.negative.samples = lambda batch: neg
    before = copy.deepcopy(tr.model)
    tr.update(data.double(), tr.weights)
    f = (weights * before.visible_free_energy(data.double())).sum() / weights.sum() - before.visible_free_energy(neg).mean()
    grads = torch.autograd.grad(f, [before.weights, before.visible.bias, before.hidden.bias])
    for new, old, g in zip([tr.model.weights, tr.model.visible.bias, tr.model.hidden.bias],
                           [before.weights, before.visible.bias, before.hidden.bias], grads):
        assert torch.allclose(new - old, -g, atol=1e-12)


@pytest.mark.parametrize("method,hidden,centered", [("pcd", "binary", False), ("cd", "drelu", False),
                                                    ("rdm", "binary", True), ("pcd", "relu", True)])
def test_training_on_data_from_a_known_potts_model(method, hidden, centered):
    true = random_potts_rbm(5, 3, 2, weight_std=1.2, seed=7)
    train, test = exact_samples(true, 600, seed=1), exact_samples(true, 600, seed=2)
    cfg = TrainConfig(visible_units="potts", hidden_units=hidden, n_hidden=3, method=method, k=5, batch_size=50,
                      epochs=6, optimizer="adam", lr=0.02, centered=centered, dtype="float64", seed=0,
                      l2=1e-4)
    tr = Trainer.create(train, cfg, test=test, progress=False)
    hist = tr.fit()
    true_ll = bl.exact_log_likelihood(true, test)
    indep = hist[0]["test_log_likelihood"]
    final = hist[-1]["test_log_likelihood"]
    assert final > indep - 0.02 and final > true_ll - 0.25
    w = tr.model.potts_weights.detach()
    assert float(w.sum(1).abs().max()) < 1e-10  # the gauge held through training


def test_weighted_metrics_and_duplicates_agree():
    """Integer weights are the same as repeating the samples, in the monitored log-likelihood."""
    true = _model("binary")
    data = exact_samples(true, 10, seed=5)
    w = torch.tensor([1, 2, 3, 1, 1, 2, 1, 1, 4, 1], dtype=torch.float64)
    rep = data.repeat_interleave(w.long(), 0)
    from boltzlab.training.metrics import epoch_metrics
    a = epoch_metrics(true, data.double(), data.double(), 20, 1000, 0, w, w)
    b = epoch_metrics(true, rep.double(), rep.double(), 20, 1000, 0)
    assert abs(a["test_log_likelihood"] - b["test_log_likelihood"]) < 1e-12


@pytest.mark.parametrize("hidden", ["binary", "relu", "drelu", "gaussian"])
def test_ais_and_checkpoints_for_every_hidden_type(hidden, tmp_path):
    rbm = _model(hidden, n=4, q=3, m=3, centered=True)
    exact = bl.exact_log_z(rbm)
    r = bl.ais_log_z(rbm, n_runs=100, n_betas=300, seed=0)
    assert abs(r.log_z - exact) < 4 * r.stderr + 0.02
    data = exact_samples(rbm, 200, seed=0)
    rr = bl.rais_log_z(rbm, data=data, n_runs=100, n_betas=300, seed=0)
    assert abs(rr.log_z - exact) < 4 * rr.stderr + 0.05
    path = tmp_path / "m.pt"
    bl.save_model(rbm, path)
    back = bl.load_model(path)
    assert type(back) is bl.PottsRBM and back.hidden.type_name == hidden
    assert abs(bl.exact_log_z(back) - exact) < 1e-12


def test_exact_samples_through_the_hidden_layer():
    """Ancestral sampling through enumerated hidden states gives the exact visible distribution too."""
    rbm = _model("binary")
    states, p = bl.visible_distribution(rbm)
    x = exact_samples(rbm, 40_000, seed=0, max_log2_states=2)  # visible 27 states > 2^2: hidden path
    assert _tv(x, states, p) < float(torch.sqrt(p / 40_000).sum())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("hidden", ["binary", "drelu"])
def test_cuda_potts_sampler_gauge_and_training(hidden):
    rbm = _model(hidden, centered=True)
    states, p = bl.visible_distribution(rbm)
    gpu = copy.deepcopy(rbm).to("cuda", torch.float32)
    v, h = gpu.sample(30_000, steps=100, seed=4)
    assert v.is_cuda and h.is_cuda
    assert _tv(v.cpu(), states, p) < float(torch.sqrt(p / 30_000).sum())
    gpu.apply_gauge_()
    logp = torch.log(bl.visible_distribution(gpu)[1]).cpu()
    assert float((logp - torch.log(p)).abs().max()) < 1e-4
    data = exact_samples(rbm, 300, seed=1)
    cfg = TrainConfig(visible_units="potts", hidden_units=hidden, n_hidden=3, epochs=2, batch_size=50,
                      device="cuda", centered=True)
    tr = Trainer.create(data, cfg, weights=torch.rand(300), progress=False)
    hist = tr.fit()
    assert hist[-1].get("test_log_likelihood") is None and hist[-1]["train_log_likelihood"] is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_reweighting_equals_cpu():
    from boltzlab.data.alignment import sequence_weights
    x = np.random.default_rng(0).integers(0, 21, (500, 300))
    x[250:] = x[:250]
    assert np.array_equal(sequence_weights(x, 0.8, q=21, chunk=128, device="cuda"),
                          sequence_weights(x, 0.8, q=21, chunk=128))


@pytest.mark.parametrize("q", [2, 3])
def test_binary_visible_potts_hidden_exact_log_z_equals_brute_force(q):
    """Potts units are an ordinary layer on the hidden side too: ln Z by enumerating either layer equals
    the sum over every joint state of exp(-E(v, h))."""
    from conftest import brute_force_log_z
    rbm = bl.make_rbm(4, 3, "binary", "potts", hidden_states=q, weight_std=0.8, seed=2, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        rbm.visible.bias.copy_(torch.randn(4, generator=g, dtype=torch.float64))
        rbm.hidden.bias.add_(torch.randn(3, q, generator=g, dtype=torch.float64))
    rbm.set_offsets(torch.full((4,), 0.3, dtype=torch.float64), None)
    assert type(rbm) is bl.RBM and rbm.hidden.n_states == q
    reference = brute_force_log_z(rbm)
    assert abs(bl.exact_log_z(rbm) - reference) < 1e-10                       # enumerates the 2^4 visible states
    assert abs(float(rbm.exact_log_z(max_log2_states=20).detach()) - reference) < 1e-10
    states = rbm.hidden.enumerate_states(0, q ** 3)                           # and through the hidden layer
    assert abs(float(torch.logsumexp(-rbm.free_energy_hidden(states), 0).detach()) - reference) < 1e-10


def test_potts_hidden_units_train_from_python_and_cli(tmp_path):
    """Data from a mixture of two patterns (one hidden Potts unit picks none, the first or the second): an RBM
    with binary visible and Potts hidden units learns it from the Python API and from the CLI."""
    from boltzlab.cli.main import main
    true = bl.make_rbm(6, 1, "binary", "potts", hidden_states=3, weight_std=0.0, dtype=torch.float64, gauge="none")
    with torch.no_grad():
        true.weights[:3, 0] = 4.0
        true.weights[3:, 1] = 4.0
        true.visible.bias.fill_(-2.0)
    train, test = exact_samples(true, 600, seed=1), exact_samples(true, 600, seed=2)
    true_ll = bl.exact_log_likelihood(true, test)                                   # -2.93; independent sites -4.16
    cfg = TrainConfig(hidden_units="potts", hidden_states=3, n_hidden=1, method="pcd", k=5, batch_size=50,
                      epochs=10, optimizer="adam", lr=0.02, weight_std=0.1, dtype="float64", seed=0)
    tr = Trainer.create(train, cfg, test=test, progress=False)
    hist = tr.fit()
    assert tr.model.hidden.type_name == "potts" and tr.model.hidden.n_states == 3
    assert hist[0]["test_log_likelihood"] < true_ll - 1.0 and hist[-1]["test_log_likelihood"] > true_ll - 0.15
    assert float(tr.model.weights.detach().view(6, 1, 3).sum(2).abs().max()) < 1e-10   # hidden zero-sum gauge
    np.save(tmp_path / "x.npy", train.numpy())
    code = main(["train", "--data", str(tmp_path / "x.npy"), "--hidden-units", "potts", "--hidden-states", "3",
                 "--hidden", "1", "--epochs", "2", "--batch-size", "50", "--out", str(tmp_path / "run"),
                 "--no-progress"])
    back = bl.load_model(tmp_path / "run" / "checkpoint.pt")
    assert code == 0 and back.hidden.type_name == "potts" and back.hidden.n_states == 3
