"""Pseudo-likelihood against a brute-force conditional from the exact joint distribution."""


import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import ConfigError, IntractableError
from boltzlab.models import RBM
from boltzlab.partition.pseudolikelihood import (_conditional_fast, _conditional_generic, conditional_log_probs,
                                                 fit_pseudolikelihood, log_z_differentiable, pseudo_log_likelihood)
from boltzlab.units import BinaryLayer, GaussianLayer
from conftest import random_rbm


def brute_force_pl(model, v: torch.Tensor) -> np.ndarray:
    """sum_i ln p(v_i | v_-i) from the exact visible distribution, by table lookup."""
    states, p = bl.visible_distribution(model)
    table = {tuple(s.tolist()): float(q) for s, q in zip(states, p)}
    values = model.visible.unit_values.tolist()
    out = []
    for row in v.tolist():
        total = 0.0
        for i in range(len(row)):
            alts = [table[tuple(row[:i] + [x] + row[i + 1:])] for x in values]
            total += np.log(table[tuple(row)] / sum(alts))
        out.append(total)
    return np.array(out)


def models():
    g = torch.Generator().manual_seed(7)
    gauss = RBM(BinaryLayer(5, torch.randn(5, generator=g, dtype=torch.float64), dtype=torch.float64),
                GaussianLayer(3, torch.randn(3, generator=g, dtype=torch.float64), dtype=torch.float64),
                torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.4)
    return {"binary": random_rbm(6, 4, seed=2, offsets=True), "spin": random_rbm(5, 3, seed=3, cls=bl.SpinRBM),
            "binary-gaussian": gauss,
            "bm": bl.BoltzmannMachine(torch.randn(5, 5, generator=g, dtype=torch.float64) * 0.5,
                                      torch.randn(5, generator=g, dtype=torch.float64) * 0.3, dtype=torch.float64)}


@pytest.mark.parametrize("name", ["binary", "spin", "binary-gaussian", "bm"])
def test_pl_equals_brute_force(name):
    model = models()[name]
    states, _ = bl.visible_distribution(model)
    v = states[torch.randperm(len(states), generator=torch.Generator().manual_seed(0))[:12]]
    pl = pseudo_log_likelihood(model, v, reduction="none").detach().numpy()
    assert np.abs(pl - brute_force_pl(model, v)).max() < 1e-10
    # the full conditional table sums to one
    lp = conditional_log_probs(model, v)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2], dtype=lp.dtype), atol=1e-12)


def test_fast_path_equals_generic_path():
    for model in (random_rbm(7, 4, seed=5, offsets=True), random_rbm(6, 3, seed=6, cls=bl.SpinRBM)):
        v = model.visible.random_state(9, bl.Rng(1))
        sites = torch.arange(model.n_visible)
        a = _conditional_fast(model, v, sites, 1 << 20)
        b = _conditional_generic(model, v, sites, 1 << 20)
        assert torch.allclose(a, b, atol=1e-12)


def test_random_site_estimator():
    model = random_rbm(6, 4, seed=2)
    v = model.visible.random_state(50, bl.Rng(3))
    with torch.no_grad():
        full = float(pseudo_log_likelihood(model, v))
        assert abs(float(pseudo_log_likelihood(model, v, sites=6)) - full) < 1e-10  # all sites: same number
        est = np.mean([float(pseudo_log_likelihood(model, v, sites=1, seed=s)) for s in range(200)])
        per_site = (-conditional_log_probs(model, v).gather(2, v.long().unsqueeze(2)).squeeze(2) * 6)
    se = float(per_site.std()) / np.sqrt(50 * 200)
    assert abs(est - full) < 5 * se


def test_gradient_is_autograd_exact():
    """The autograd gradient of PL against central finite differences of PL itself."""
    model = random_rbm(4, 3, seed=8, offsets=True)
    v = model.visible.random_state(6, bl.Rng(0))
    model.zero_grad()
    pseudo_log_likelihood(model, v).backward()
    for p in (model.weights, model.visible.bias, model.hidden.bias):
        numeric = torch.zeros_like(p)
        for i in range(p.numel()):
            with torch.no_grad():
                p.view(-1)[i] += 1e-6
                up = float(pseudo_log_likelihood(model, v))
                p.view(-1)[i] -= 2e-6
                down = float(pseudo_log_likelihood(model, v))
                p.view(-1)[i] += 1e-6
            numeric.view(-1)[i] = (up - down) / 2e-6
        assert torch.allclose(p.grad, numeric, atol=1e-7)


def test_pl_training_improves_exact_log_likelihood():
    teacher = random_rbm(8, 3, scale=1.5, seed=11)
    states, p = bl.visible_distribution(teacher)
    data = states[torch.multinomial(p, 500, replacement=True, generator=torch.Generator().manual_seed(0))]
    student = bl.BinaryRBM.initialize(8, 3, 0.01, seed=1, dtype=torch.float64)
    before = bl.exact_log_likelihood(student, data)
    history = fit_pseudolikelihood(student, data, epochs=100, lr=0.05)
    after = bl.exact_log_likelihood(student, data)
    best = bl.exact_log_likelihood(teacher, data)
    assert history[-1] > history[0]
    assert after > before + 0.5 and after > best - 0.15
    # The exact objective is a reference: its log Z is differentiable enumeration.
    assert abs(float(log_z_differentiable(student).detach()) - bl.exact_log_z(student)) < 1e-10


def test_potts_pl_equals_brute_force():
    potts = pytest.importorskip("boltzlab.models.potts")
    g = torch.Generator().manual_seed(3)
    model = potts.PottsRBM(torch.randn(4, 3, 2, generator=g, dtype=torch.float64),
                           torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5,
                           torch.randn(2, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
    states, _ = bl.visible_distribution(model)
    v = states[torch.randperm(len(states), generator=torch.Generator().manual_seed(0))[:10]]
    pl = pseudo_log_likelihood(model, v, reduction="none").detach().numpy()
    assert np.abs(pl - brute_force_pl(model, v)).max() < 1e-10
    sites = torch.arange(4)
    assert torch.allclose(_conditional_fast(model, v, sites, 1 << 20), _conditional_generic(model, v, sites, 1 << 20),
                          atol=1e-12)


def test_bad_inputs():
    gauss_vis = RBM(GaussianLayer(3, dtype=torch.float64), BinaryLayer(2, dtype=torch.float64))
    with pytest.raises(IntractableError):
        pseudo_log_likelihood(gauss_vis, torch.zeros(2, 3))
    model = random_rbm(4, 2)
    v = model.visible.random_state(3, bl.Rng(0))
    with pytest.raises(ConfigError):
        pseudo_log_likelihood(model, v, sites=9)
    with pytest.raises(ConfigError):
        pseudo_log_likelihood(model, v, reduction="sum")
    with pytest.raises(ConfigError):
        fit_pseudolikelihood(model, v, lr=-1.0)
    with pytest.raises(ConfigError):
        fit_pseudolikelihood(model, v, objective="contrastive")
    with pytest.raises(bl.DomainError):
        pseudo_log_likelihood(model, v + 0.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_pl_matches_cpu():
    model = random_rbm(6, 4, seed=2, offsets=True)
    v = model.visible.random_state(20, bl.Rng(0))
    cpu = pseudo_log_likelihood(model, v, reduction="none")
    gpu = pseudo_log_likelihood(model.to("cuda"), v.cuda(), reduction="none").cpu()
    assert torch.allclose(cpu, gpu, atol=1e-10)


def test_cli_pl(tmp_path, capsys):
    import json
    from boltzlab.cli.main import main
    model = random_rbm(6, 4, seed=2)
    bl.save_model(model, tmp_path / "m.pt")
    v = model.visible.random_state(30, bl.Rng(0))
    np.save(tmp_path / "x.npy", v.numpy().astype(np.float32))
    code = main(["pl", str(tmp_path / "m.pt"), "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    res = json.loads(out)
    assert abs(res["pseudo_log_likelihood"] - brute_force_pl(model, v).mean()) < 1e-5
    assert (tmp_path / "o" / "pl.json").exists() and (tmp_path / "o" / "pl_per_unit.png").exists()
    code = main(["pl", str(tmp_path / "m.pt"), "--data", str(tmp_path / "x.npy"), "--sites", "many"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("boltzlab: error:") and "--sites" in err
    np.save(tmp_path / "short.npy", v[:, :4].numpy().astype(np.float32))
    code = main(["pl", str(tmp_path / "m.pt"), "--data", str(tmp_path / "short.npy")])
    _, err = capsys.readouterr()
    assert code == 2 and "visible units" in err


def test_pseudo_log_likelihood_of_no_samples():
    """No rows: an empty per-sample result, and a clear error for the mean (not a reshape traceback)."""
    from boltzlab.errors import ShapeError
    m = bl.BinaryRBM(torch.randn(5, 3, dtype=torch.float64) * 0.1, dtype=torch.float64)
    assert bl.pseudo_log_likelihood(m, torch.zeros(0, 5), reduction="none").shape == (0,)
    with pytest.raises(ShapeError, match="no samples"):
        bl.pseudo_log_likelihood(m, torch.zeros(0, 5))
