"""Scalar-field RBM (../shared/papers/scalar-field-rbm-uv-regulator.md): closed forms against sampling,
numerical integration and autograd; training against the exact spectrum; the learning flow; KL; the
Gaussian-Bernoulli extension; the CLI."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

import boltzlab as bl
from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, DomainError, ShapeError
from boltzlab.field import (FieldTrainConfig, GaussianBernoulliRBM, ScalarFieldRBM, data_averaged_nll,
                            flow_jacobian_rates, gaussian_kl, integrate_flow, integrate_two_node, kl_aligned,
                            kl_monte_carlo, kl_scalar_theory, lattice_kernel, lattice_spectrum, mode_flow,
                            relaxation_rates, series_coefficients, target_from_kernel, train_field,
                            two_node_fixed_point)
from boltzlab.field.bernoulli import moments_by_quadrature, train_gaussian_bernoulli

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def rand_model(nv=5, nh=4, mu2=3.0, std=0.4, seed=0, **kw):
    return ScalarFieldRBM(nv, nh, mu2=mu2, dtype=F64, **kw).init_random(std, seed)


def cov_z(samples: torch.Tensor, cov: torch.Tensor, mean: torch.Tensor | None = None) -> float:
    """Largest |z|-score of the sample covariance entries against ``cov`` (Wishart variances)."""
    n = samples.shape[0]
    x = samples - (mean if mean is not None else 0)
    emp = x.t() @ x / n
    d = torch.diagonal(cov)
    var = (torch.outer(d, d) + cov ** 2) / n
    return float(((emp - cov).abs() / var.sqrt()).max())


# ------------------------------------------------------------------ lattice targets
@pytest.mark.parametrize("shape", [(10,), (4, 4), (3, 5), (2,), (1,)])
def test_lattice_kernel_spectrum_is_analytic(shape):
    k = lattice_kernel(shape=shape, m2=4.0)
    assert torch.equal(k, k.t())
    assert torch.allclose(torch.linalg.eigvalsh(k), lattice_spectrum(shape, 4.0), atol=1e-12)


def test_lattice_kernel_structure_and_errors():
    k = lattice_kernel(shape=(10,), m2=4.0)
    assert k[0, 0] == 6 and k[0, 1] == -1 and k[0, 9] == -1 and k[0, 5] == 0       # eq. (77)
    k2 = lattice_kernel((4, 4), 4.0)
    assert (k2 != 0).sum(1).tolist() == [5] * 16 and float(k2[0, 0]) == 8.0       # 4 neighbours (Fig. 8)
    assert sorted(set(np.round(lattice_spectrum((4, 4), 4.0).numpy(), 9))) == [4, 6, 8, 10, 12]
    with pytest.raises(ConfigError):
        lattice_kernel((10,), m2=-1.0)
    with pytest.raises(ShapeError):
        lattice_kernel((0,), 1.0)


# ------------------------------------------------------------------ closed forms
def test_kernel_spectrum_and_uv_cutoff_by_hidden_nodes():
    m = rand_model(6, 3, mu2=5.0, std=0.5)
    w = m.weights.detach()
    assert torch.allclose(m.kernel(), 5.0 * torch.eye(6, dtype=F64) - w @ w.t())        # eq. (9)
    lam = m.spectrum()
    assert torch.all(lam[1:] >= lam[:-1])
    xi = m.singular_values()
    assert torch.allclose(lam[:3], (5.0 - xi ** 2).sort().values, atol=1e-12)          # eq. (33)
    assert torch.allclose(lam[3:], torch.full((3,), 5.0, dtype=F64), atol=1e-12)       # eq. (84)


def test_exact_sampler_covariance_is_inverse_kernel():
    m = rand_model(5, 5, mu2=3.0, std=0.35, eta=[0.5, -0.3, 0.2, 0.1, 0.0])
    cov = torch.linalg.inv(m.kernel().detach())
    x = m.sample_exact(40_000, seed=1)
    assert torch.allclose(m.covariance(), cov, atol=1e-12)
    mean = cov @ (m.weights.detach() @ m.eta)                      # <phi> = K^{-1} J
    assert torch.allclose(m.mean(), mean, atol=1e-12)
    assert float(((x.mean(0) - mean).abs() / (torch.diagonal(cov) / len(x)).sqrt()).max()) < 4.5
    assert cov_z(x, cov, mean) < 4.5
    assert cov_z(x, torch.linalg.inv(m.mass_matrix().detach()), mean) > 10     # a wrong covariance fails


def test_block_gibbs_covariance_is_inverse_kernel():
    """The generic block Gibbs sampler (Gaussian conditionals of both layers) reaches K^{-1}."""
    m = rand_model(4, 3, mu2=2.0, std=0.5, seed=3)
    v, h = m.sample(20_000, steps=30, seed=2)
    assert cov_z(v, m.covariance()) < 5
    assert v.shape == (20_000, 4) and h.shape == (20_000, 3)


def test_log_z_matches_numerical_integration():
    """ln Z of the joint action (phi, h), N_v = N_h = 1 with a source, by 2D quadrature of exp(-E)."""
    m = ScalarFieldRBM(1, 1, mu2=2.0, sigma_h2=0.7, weights=[[0.9]], eta=[0.4], dtype=F64)
    g = torch.linspace(-12, 12, 601, dtype=F64)
    p, h = torch.meshgrid(g, g, indexing="ij")
    with torch.no_grad():
        e = m.energy(p.reshape(-1, 1), h.reshape(-1, 1)).reshape(601, 601).numpy()
    z = integrate.trapezoid(integrate.trapezoid(np.exp(-e), g.numpy()), g.numpy())   # Gaussian: spectral accuracy
    assert abs(m.log_z() - math.log(z)) < 1e-9
    phi = torch.randn(7, 1, dtype=F64)
    ref = stats.norm(float(m.mean()), math.sqrt(float(m.covariance()))).logpdf(phi.numpy()[:, 0])
    assert np.allclose(m.log_prob(phi).detach().numpy(), ref, atol=1e-10)


def test_model_must_exist():
    with pytest.raises(DomainError, match="does not exist"):
        ScalarFieldRBM(3, 3, mu2=1.0, weights=2 * torch.eye(3), dtype=F64)
    with pytest.raises(DomainError, match="NaN"):
        ScalarFieldRBM(3, 3, mu2=1.0, weights=torch.full((3, 3), float("nan")), dtype=F64)
    with pytest.raises(ConfigError):
        ScalarFieldRBM(3, 3, mu2=-1.0)
    with pytest.raises(ConfigError, match="eq. \\(14\\)"):
        ScalarFieldRBM(10, 10, mu2=7.0, dtype=F64).init_cholesky(lattice_kernel(10, 4.0))


@pytest.mark.parametrize("init", ["init_cholesky", "init_symmetric"])
def test_exact_solutions(init):
    k = lattice_kernel((10,), 4.0)
    m = getattr(ScalarFieldRBM(10, 10, mu2=9.0, dtype=F64), init)(k)
    assert torch.allclose(m.kernel(), k, atol=1e-12)                               # eq. (12)
    w = m.weights.detach()
    if init == "init_cholesky":
        assert torch.equal(w, torch.tril(w)) and bool((torch.diagonal(w) > 0).all())
    else:
        assert torch.allclose(w, w.t(), atol=1e-12)


# ------------------------------------------------------------------ gradient against autograd
@pytest.mark.parametrize("local", [False, True])
def test_exact_gradient_matches_autograd(local):
    m = rand_model(5, 4, mu2=3.0, std=0.25, seed=1, learn_mu2=True, local_mu2=local, sigma_h2=1.3)
    c = target_from_kernel(lattice_kernel((5,), 1.5))
    ll = m.gaussian_log_likelihood(c)
    gw, gmu = torch.autograd.grad(ll, [m.weights, m.visible.mu2])
    d_w, d_mu2 = m.exact_gradient(c)                                               # eq. (20), (22)
    assert torch.allclose(d_w, gw, atol=1e-12) and torch.allclose(d_mu2, gmu, atol=1e-12)
    if local:
        # In the parametrisation mu_i^2 = m_i^2 of chanjure/SRBM, eq. (22) per site reads
        # dL/dm_i = -m_i (C^target_ii - (K^{-1})_ii); that code's data term -(C^target m)_i is not the gradient.
        mvec = m.mu2.detach().sqrt().requires_grad_(True)
        with torch.no_grad():
            m.visible.mu2.copy_(mvec.detach() ** 2)
        w = m.weights.detach()
        k = torch.diag(mvec ** 2) - 1.3 * w @ w.t()
        ll_m = -0.5 * (k * c).sum() + 0.5 * torch.logdet(k)
        (g_m,) = torch.autograd.grad(ll_m, [mvec])
        ours = -mvec.detach() * (torch.diagonal(c) - torch.diagonal(m.covariance()))
        assert torch.allclose(ours, g_m, atol=1e-12) and torch.allclose(2 * mvec.detach() * d_mu2, g_m, atol=1e-12)
        srbm = -(c @ mvec.detach()) + mvec.detach() * torch.diagonal(m.covariance())
        assert float((srbm - g_m).abs().max()) > 0.1


def test_log_likelihood_is_data_term_from_configurations():
    """The two-point function of configurations (eq. 21) gives the mean exact log-likelihood of those data."""
    m = rand_model(4, 4, mu2=3.0, std=0.4, seed=2)
    x = bl.field.free_field_samples((4,), 2.0, 500, seed=0)
    ll = m.gaussian_log_likelihood(bl.field.two_point(x))
    assert abs(float(ll.detach()) - float(m.log_prob(x).detach().mean())) < 1e-10


# ------------------------------------------------------------------ training
def test_exact_training_learns_spectrum_and_uv_cutoffs():
    k = lattice_kernel((6,), 1.0)
    kap = lattice_spectrum((6,), 1.0)                                  # 1, 2, 2, 4, 4, 5
    cfg = FieldTrainConfig(epochs=2500, lr=0.1, method="exact", record_every=100)
    m = ScalarFieldRBM(6, 6, mu2=6.0, dtype=F64).init_random(0.1, 0)
    hist = train_field(m, target_from_kernel(k), cfg)
    assert torch.allclose(m.spectrum(), kap, rtol=1e-4)
    assert hist.epoch[-1] == 2500 and len(hist.eigenvalues) == 26
    m = ScalarFieldRBM(6, 6, mu2=3.0, dtype=F64).init_random(0.1, 0)      # cutoff by mu^2 (Sec. V C)
    train_field(m, target_from_kernel(k), cfg)
    assert torch.allclose(m.spectrum(), torch.clamp(kap, max=3.0), rtol=1e-3)
    m = ScalarFieldRBM(6, 3, mu2=6.0, dtype=F64).init_random(0.1, 0)      # cutoff by N_h (Sec. V D)
    train_field(m, target_from_kernel(k), cfg)
    assert torch.allclose(m.spectrum(), torch.tensor([1.0, 2, 2, 6, 6, 6], dtype=F64), rtol=1e-3)


def test_pcd_training_with_decay_and_learnable_mass():
    k = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    m = ScalarFieldRBM(3, 3, mu2=2.5, learn_mu2=True, dtype=F64).init_random(0.1, 0)
    cfg = FieldTrainConfig(epochs=6000, lr=0.05, decay=0.98, decay_every=64, chains=256, record_every=1000)
    hist = train_field(m, target_from_kernel(k), cfg)
    lam = m.spectrum()
    assert float(m.mu2.detach()) == pytest.approx(3.0, rel=0.02)     # mu^2 grows to the top eigenvalue it had cut off (Fig. 7)
    assert torch.allclose(lam, torch.tensor([1.0, 2.0, 3.0], dtype=F64), rtol=0.03)
    assert hist.lr[-1] == pytest.approx(0.05 * 0.98 ** (6000 // 64))             # eq. (A2)


def test_training_stops_at_the_domain_boundary():
    m = ScalarFieldRBM(4, 4, mu2=1.5, dtype=F64).init_random(0.1, 0)
    committed = [m.weights.detach().clone()]
    with pytest.raises(DomainError, match="domain of existence"):
        train_field(m, target_from_kernel(lattice_kernel((4,), 0.05)),
                    FieldTrainConfig(epochs=50, lr=0.02, method="exact"),
                    callback=lambda epoch, model: committed.append(model.weights.detach().clone()))
    assert 1 < len(committed) < 51                               # some updates went through, then one was refused
    assert m.exists() and torch.equal(m.weights.detach(), committed[-1])    # last valid W kept, nothing clipped
    with pytest.raises(ConfigError, match="eta"):
        train_field(rand_model(3, 3, eta=[0.1, 0.0, 0.0]), torch.eye(3, dtype=F64), FieldTrainConfig(epochs=1))
    with pytest.raises(ConfigError):
        train_field(m, torch.eye(4, dtype=F64), FieldTrainConfig(decay=1.5))


def test_euler_stability_limit_of_the_learning_rate():
    """Eq. (25) with a constant rate converges only below kappa_min^2 / (sigma_h^2 (mu^2 - kappa_min))."""
    k = torch.diag(torch.tensor([0.05, 1.0], dtype=F64))
    lim = bl.field.stable_learning_rate([0.05, 1.0, 2.0], 1.5)           # 2.0 > mu^2 plays no part
    assert lim == pytest.approx(0.05 ** 2 / 1.45)
    lows = {}
    for factor in (0.9, 1.1):
        m = ScalarFieldRBM(2, 2, mu2=1.5, dtype=F64).init_random(0.1, 0)
        seen = []
        train_field(m, target_from_kernel(k), FieldTrainConfig(epochs=3000, lr=factor * lim, method="exact",
                                                               record_every=3000),
                    callback=lambda e, model: seen.append(float(model.spectrum()[0])) if e > 2990 else None)
        lows[factor] = np.array(seen)
    assert np.abs(lows[0.9] - 0.05).max() < 1e-9                          # converged
    assert np.abs(lows[1.1] - 0.05).min() > 0.01                          # a 2-cycle about kappa_min
    assert bl.field.stable_learning_rate([4.0, 8.0], 3.0) == math.inf


# ------------------------------------------------------------------ learning flow
def test_two_node_equations_match_matrix_flow():
    """Eq. (53)-(57) (with eq. 55 derived from eq. 44) against the full flow of eq. (26)."""
    rot = lambda a: np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    kap, th0, mu2 = (0.2, 0.4), 0.1, 1.0
    w0 = rot(0.4) @ np.diag([0.5, 0.2]) @ rot(-0.3).T
    target = np.linalg.inv(rot(th0) @ np.diag(kap) @ rot(th0).T)
    t = np.linspace(0, 3, 7)
    full = integrate_flow(w0, mu2, target, t)
    red = integrate_two_node((0.5, 0.2), 0.4, -0.3, mu2, kap, t, theta0=th0)
    assert np.abs(full["singular_values"] - red["xi"]).max() < 1e-6
    late = integrate_two_node((0.5, 0.2), 0.4, -0.3, mu2, kap, [0, 200], theta0=th0)
    fp = two_node_fixed_point(kap, mu2)
    assert np.allclose(late["eigenvalues"][-1], fp["eigenvalues"], atol=1e-6)    # eq. (59)
    assert abs(late["theta_u"][-1] - th0 - fp["dtheta"]) < 1e-6
    learn = integrate_two_node((0.3, 0.1), 0.5, 0.0, 0.4, (0.2, 0.7), [0, 400], learn_mu2=True)
    assert np.allclose(np.sort(learn["eigenvalues"][-1]), [0.2, 0.7], atol=1e-4)  # Fig. 2 bottom row


def test_relaxation_rates():
    r = relaxation_rates((0.2, 0.4), 1.0)
    jac = flow_jacobian_rates((0.2, 0.4), 1.0)
    expected = np.sort([-2 * r["gamma_1"], -2 * r["gamma_2"], -r["gamma_dtheta"], 0.0])
    assert np.allclose(jac, expected, atol=1e-9)


def test_mode_equation_in_the_eigenbasis():
    """Starting aligned with the target's eigenvectors, each mode follows eq. (81) exactly."""
    k = lattice_kernel((6,), 1.0)
    kap, o = torch.linalg.eigh(k)
    xi0 = torch.linspace(0.1, 0.3, 6, dtype=F64)
    t = np.linspace(0, 20, 5)
    full = integrate_flow(o * xi0, 6.0, target_from_kernel(k), t)
    modes = mode_flow(xi0.numpy() ** 2, kap.numpy(), 6.0, t)
    assert np.allclose(np.sort(6.0 - modes, 1), full["eigenvalues"], atol=1e-6)


def test_flow_matches_stochastic_training_time():
    """Exact-gradient steps follow the flow of eq. (26) at t = sum of learning rates, with the first-order
    (Euler) error: a 4x smaller learning rate brings the trajectories about 4x closer."""
    k = lattice_kernel((4,), 1.0)
    errs = []
    for lr, epochs in ((0.01, 400), (0.0025, 1600)):
        m = ScalarFieldRBM(4, 4, mu2=6.0, dtype=F64).init_random(0.1, 1)
        w0 = m.weights.detach().clone()
        hist = train_field(m, target_from_kernel(k), FieldTrainConfig(epochs=epochs, lr=lr, method="exact",
                                                                       record_every=epochs // 4))
        flow = integrate_flow(w0, 6.0, target_from_kernel(k), hist.time)
        errs.append(np.abs(flow["eigenvalues"] - np.array(hist.eigenvalues)).max())
        assert flow["eigenvalues"][-1, 0] < 1.1 and hist.eigenvalues[0][0] > 5.9     # the IR mode moved 5.9 -> 1
    assert errs[0] < 0.06 and 3 < errs[0] / errs[1] < 5


# ------------------------------------------------------------------ KL divergence
def test_kl_analytic_matches_numerical():
    k = lattice_kernel((6,), 1.0)
    kap = lattice_spectrum((6,), 1.0)
    m = ScalarFieldRBM(6, 3, mu2=6.0, dtype=F64).init_random(0.1, 0)
    train_field(m, target_from_kernel(k), FieldTrainConfig(epochs=2500, lr=0.1, method="exact"))
    b8 = kl_scalar_theory(kap, 6.0, 3)
    assert abs(gaussian_kl(k, m.kernel().detach()) - b8) < 1e-4 * b8
    mc, err = kl_monte_carlo(k, m, n=20_000, seed=0)
    assert abs(mc - b8) < 4 * err
    assert kl_aligned(kap, kap) == 0.0
    # eq. (86): data-averaged NLL differences are KL differences
    c = target_from_kernel(k)
    exact = ScalarFieldRBM(6, 6, mu2=6.0, dtype=F64).init_symmetric(k)
    assert abs(data_averaged_nll(m, c) - data_averaged_nll(exact, c) - b8) < 1e-4 * b8


# ------------------------------------------------------------------ Gaussian-Bernoulli RBM
def gb_model(nv=1, nh=3, seed=0, eta=True):
    g = torch.Generator().manual_seed(seed)
    return GaussianBernoulliRBM(nv, nh, mu2=2.0, weights=torch.randn(nv, nh, generator=g, dtype=F64),
                                eta=(torch.randn(nh, generator=g, dtype=F64) * 0.3 if eta else None), dtype=F64)


def test_gaussian_bernoulli_effective_action_and_log_z():
    m = gb_model()
    phi = torch.randn(6, 1, dtype=F64)
    assert torch.allclose(m.effective_action(phi), m.free_energy(phi), atol=1e-12)      # eq. (91)
    q = moments_by_quadrature(m)
    assert abs(q[0] - float(m.exact_log_z().detach())) < 1e-8 and abs(q[0] - bl.exact_log_z(m)) < 1e-8
    # p(phi) is bimodal (modes near -2 and +2): the weight of the right mode tests equilibration, which <phi^2>
    # alone does not (20 or 50 block-Gibbs sweeps from phi ~ 0 leave P(phi > 0) near 0.23 instead of 0.19).
    weight = lambda t: math.exp(-float(m.effective_action(torch.tensor([[t]], dtype=F64)).detach()))  # noqa: E731
    p_pos = integrate.quad(weight, 0, 40)[0] / integrate.quad(weight, -40, 40)[0]
    v, _ = m.sample(40_000, steps=200, seed=1)
    x = m.sample_exact(40_000, seed=2)
    for s in (v, x):
        p2 = (s ** 2).mean()
        assert abs(float(p2) - q[2]) < 5 * math.sqrt((q[4] - q[2] ** 2) / len(s))
        assert abs(float((s > 0).double().mean()) - p_pos) < 5 * math.sqrt(p_pos * (1 - p_pos) / len(s))


def test_quartic_couplings_and_series():
    assert series_coefficients(4) == [1.0, 2.0, 16.0, 272.0]
    m = gb_model(nv=2, nh=3, seed=1, eta=False)
    from torch.autograd.functional import jacobian, hessian
    s = lambda p: m.effective_action(p.reshape(1, 2))[0]
    d4 = jacobian(lambda p: jacobian(lambda q: hessian(s, q, create_graph=True), p, create_graph=True),
                  torch.zeros(2, dtype=F64))
    assert torch.allclose(d4, 2 * m.quartic_couplings(), atol=1e-8)      # d^4 of (1/12) lambda phi^4 is 2 lambda
    assert torch.allclose(hessian(s, torch.zeros(2, dtype=F64)), m.quadratic_kernel(), atol=1e-10)   # eq. (93)
    phi = torch.randn(5, 2, dtype=F64) * 0.05
    exact = m.effective_action(phi) + m.n_hidden * math.log(2)
    assert torch.allclose(m.effective_action_series(phi, 6), exact, atol=1e-13)


def test_gaussian_bernoulli_gradient_and_training():
    m = gb_model(nv=2, nh=2, seed=2, eta=False)
    m.visible.mu2.requires_grad_(True)
    data = gb_model(nv=2, nh=2, seed=5, eta=False).sample_exact(400, seed=3)
    ll = m.exact_log_likelihood(data)
    gw, gmu = torch.autograd.grad(ll, [m.weights, m.visible.mu2])
    d_w, d_mu = m.exact_gradient(data)
    assert torch.allclose(d_w, gw, atol=1e-10) and torch.allclose(d_mu, gmu, atol=1e-10)
    truth = gb_model(nv=2, nh=2, seed=5, eta=False)
    true_ll = float(truth.exact_log_likelihood(data).detach())
    finals = []
    for exact in (True, False):
        fresh = GaussianBernoulliRBM(2, 2, mu2=1.0, learn_mu2=True, dtype=F64,
                                     weights=torch.randn(2, 2, generator=torch.Generator().manual_seed(0), dtype=F64) * 0.5)
        curve = train_gaussian_bernoulli(fresh, data, epochs=500, lr=0.05, chains=200, seed=0, exact=exact)
        assert curve[-1] > curve[0] + 0.3 and curve[-1] > true_ll - 0.02
        finals.append(curve[-1])
    assert abs(finals[0] - finals[1]) < 0.01                       # PCD reaches the exact-gradient optimum


# ------------------------------------------------------------------ CLI
def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_train_json(tmp_path, capsys):
    code, out, _ = run(["field", "train", "--lattice", 4, "--m2", 1, "--mu2", 6, "--hidden", 4, "--method", "exact",
                        "--epochs", 2500, "--lr", 0.1, "--out", tmp_path, "--no-progress", "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert np.allclose(res["eigenvalues"], res["target_eigenvalues"], rtol=1e-3)
    assert res["target_eigenvalues"] == sorted(res["target_eigenvalues"])
    assert (tmp_path / "eigenvalues.png").stat().st_size > 1000 and (tmp_path / "train.json").exists()


@pytest.mark.parametrize("args, pattern", [
    (["--lattice", "0"], "lattice"),
    (["--lattice", "ax3"], "lattice"),
    (["--m2", "-1"], "m\\^2"),
    (["--lr", "100", "--method", "exact", "--m2", "0.05", "--mu2", "1.5"], "domain of existence"),
    (["--hidden", "20", "--init", "cholesky"], "N_h = N_v"),
])
def test_cli_bad_input(args, pattern, tmp_path, capsys):
    code, _, err = run(["field", "train", "--epochs", 20, "--out", tmp_path, "--no-progress", *args], capsys)
    assert code == 2 and err.startswith("boltzlab: error:") and len(err.strip().splitlines()) == 1
    assert __import__("re").search(pattern, err)


# ------------------------------------------------------------------ CUDA (skipped without a GPU)
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_field_model_sampling_and_training():
    cpu = rand_model(5, 5, mu2=3.0, std=0.35, seed=4)
    gpu = rand_model(5, 5, mu2=3.0, std=0.35, seed=4).to("cuda")
    assert torch.allclose(gpu.kernel().cpu(), cpu.kernel(), atol=1e-12) and gpu.spectrum().is_cuda
    x = gpu.sample_exact(40_000, seed=1)
    assert x.is_cuda and cov_z(x.cpu(), cpu.covariance()) < 4.5
    k = lattice_kernel((5,), 1.0)
    cfg = FieldTrainConfig(epochs=300, lr=0.1, method="exact", record_every=100)
    train_field(cpu, target_from_kernel(k), cfg)
    train_field(gpu, target_from_kernel(k).cuda(), cfg)
    assert gpu.weights.is_cuda and torch.allclose(gpu.weights.detach().cpu(), cpu.weights.detach(), atol=1e-9)
    g32 = ScalarFieldRBM(5, 5, mu2=6.0, learn_mu2=True, dtype=torch.float32, device="cuda").init_random(0.1, 0)
    train_field(g32, target_from_kernel(k), FieldTrainConfig(epochs=3000, lr=0.05, decay=0.98, decay_every=64,
                                                             chains=512, record_every=1000))
    assert g32.weights.is_cuda and g32.weights.dtype == torch.float32
    assert torch.allclose(g32.spectrum().double().cpu(), lattice_spectrum((5,), 1.0), rtol=0.05)


def test_cli_train_from_configurations(tmp_path, capsys):
    """--data: the target is the two-point function of the configurations (eq. 21); training reaches the
    spectrum of its inverse, not the lattice's."""
    x = bl.field.free_field_samples((4,), 1.0, 400, seed=3)
    np.save(tmp_path / "phi.npy", x.numpy())
    code, out, _ = run(["field", "train", "--lattice", 4, "--m2", 1, "--mu2", 8, "--data", tmp_path / "phi.npy",
                        "--method", "exact", "--epochs", 2500, "--out", tmp_path, "--no-progress", "--json"], capsys)
    res = json.loads(out)
    data_kappa = np.sort(1 / np.linalg.eigvalsh(bl.field.two_point(x).numpy()))
    assert code == 0 and np.allclose(res["eigenvalues"], data_kappa, rtol=1e-4)
    assert np.abs(data_kappa - np.array(res["target_eigenvalues"])).max() > 0.05      # finite-sample spectrum


def test_cli_action_and_kl(tmp_path, capsys):
    code, _, _ = run(["field", "train", "--lattice", 4, "--m2", 1, "--mu2", 6, "--method", "exact", "--epochs", 1500,
                      "--out", tmp_path / "t", "--no-progress"], capsys)
    assert code == 0 and (tmp_path / "t" / "model.npz").exists()
    code, out, _ = run(["field", "action", "--model", tmp_path / "t" / "model.npz", "--samples", 3000, "--steps", 30,
                        "--out", tmp_path / "a", "--no-progress", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and abs(res["mean_rbm"] - 0.5) < 0.02 and (tmp_path / "a" / "action_density.png").exists()
    code, out, _ = run(["field", "kl", "--lattice", 4, "--m2", 1, "--mu2", 6, "--hidden-list", "4,2", "--method",
                        "exact", "--epochs", 1500, "--decay", 1, "--mc-samples", 2000, "--out", tmp_path / "k",
                        "--no-progress", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["rows"][1]["kl_b8"] > 0.01 and res["max_relative_difference"] < 1e-3


@pytest.mark.parametrize("args, pattern", [
    (["action", "--model", "missing.npz"], "no such model file"),
    (["action", "--model", "corrupt.npz"], "not a scalar-field model file"),
    (["mnist-spectrum", "--data", "missing.npy"], "missing.npy"),
    (["kl", "--lattice", 4, "--hidden-list", "5"], "N_v = 4"),
])
def test_cli_bad_input_other_commands(args, pattern, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip file")
    code, _, err = run(["field", *args, "--out", tmp_path / "o", "--no-progress"], capsys)
    assert code == 2 and err.startswith("boltzlab: error:") and len(err.strip().splitlines()) == 1
    assert pattern in err
