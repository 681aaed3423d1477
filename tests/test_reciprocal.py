"""RBMs in reciprocal space (../shared/papers/rbm-reciprocal-space.md): transform, Marchenko-Pastur, eq. 51,
rotation test, mean-field free energy (eq. 55), hierarchy, replica studies and the CLI."""

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

import boltzlab as bl
from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, DomainError
from boltzlab.random import Rng
from boltzlab.reciprocal import (MarchenkoPastur, analyze, exact_kurtosis, haar_kurtosis, hierarchy_images,
                                 kurtosis_vs_hidden, mode_free_energy, reciprocal_transform, rotation_test)
from boltzlab.reciprocal.landau import saddlepoint_potential
from boltzlab.studies.pipelines.replica import CPU_STUDY, load_study, run_study, study_from_dict
from boltzlab.reciprocal.statistics import moments_from_sums, power_sums
from boltzlab.reciprocal.symmetry import haar_orthogonal, js_divergence, plane_rotation, random_plane
from conftest import all_states, random_rbm

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread per test process: small SVDs and QRs slow down by 100x when threads oversubscribe
    shared cores (pytest -n 2 on two cores)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the transform (eq. 14-19)
@pytest.mark.parametrize("nv, nh, offsets, cls", [(7, 4, False, bl.BinaryRBM), (5, 8, True, bl.BinaryRBM),
                                                   (6, 6, True, bl.BinaryRBM), (6, 4, True, bl.SpinRBM)])
def test_mode_energies_sum_to_energy(nv, nh, offsets, cls):
    """Per-mode energies plus the constant equal E(v, h) on every joint state (float64, to 1e-12)."""
    rbm = random_rbm(nv, nh, scale=1.5, seed=nv * nh, cls=cls, offsets=offsets)
    if offsets:
        assert rbm.centered
    t = bl.reciprocal.reciprocal_transform(rbm)
    values = tuple(rbm.visible.unit_values.tolist())
    vv, hh = all_states(nv, values), all_states(nh, values)
    v, h = vv.repeat_interleave(len(hh), 0), hh.repeat(len(vv), 1)
    e = rbm.energy(v, h).detach()
    parts = t.mode_energies(v, h)
    assert parts.shape == (len(v), max(nv, nh))
    assert torch.allclose(parts.sum(-1) + t.constant, e, atol=1e-12, rtol=0)
    # the (u, w) form of eq. 19 gives the same coupled-mode energies
    u, w = t.rotated(t.x(v), t.y(h))
    assert torch.allclose(t.mode_energy_uw(u, w), parts[:, :t.n_modes], atol=1e-11, rtol=0)
    x, y = t.unrotated(u, w)
    assert torch.allclose(x, t.x(v)[:, :t.n_modes], atol=1e-12) and torch.allclose(y, t.y(h)[:, :t.n_modes], atol=1e-12)


def test_transform_float32_and_structure():
    rbm = random_rbm(30, 20, scale=0.5, seed=2, offsets=True).to(torch.float32)
    t = reciprocal_transform(rbm)
    assert t.U.dtype == torch.float32
    rng = Rng(0)
    v, h = rbm.visible.random_state(64, rng), rbm.hidden.random_state(64, rng)
    e = rbm.energy(v, h).detach()
    assert torch.allclose(t.energy(v, h), e, rtol=1e-5, atol=1e-4)
    # orthogonality, descending singular values, sign convention, W rebuilt from the factors
    assert torch.allclose(t.U.T @ t.U, torch.eye(30), atol=1e-5) and torch.allclose(t.V.T @ t.V, torch.eye(20), atol=1e-5)
    s = t.singular_values
    assert bool((s[:-1] >= s[1:]).all())
    assert bool((t.U.sum(0) >= 0).all())
    assert torch.allclose(t.weights_from(), rbm.weights.detach(), atol=1e-5)


def test_saddle_points_by_autograd():
    """grad E_i = 0 at (x0_i, y0_i), and the Hessian [[0, -lambda], [-lambda, 0]] has eigenvalues +-lambda."""
    rbm = random_rbm(6, 4, seed=5, offsets=True)
    t = reciprocal_transform(rbm)
    x0, y0 = t.saddle_points()
    for i in range(t.n_modes):
        lam, a0, b0 = t.singular_values[i], t.a0[i], t.b0[i]

        def energy(p):
            return -a0 * p[0] - b0 * p[1] - lam * p[0] * p[1]
        p = torch.stack([x0[i], y0[i]]).requires_grad_(True)
        (g,) = torch.autograd.grad(energy(p), p)
        assert g.abs().max() < 1e-12
        hess = torch.autograd.functional.hessian(energy, p.detach())
        assert torch.allclose(torch.linalg.eigvalsh(hess), torch.stack([-lam, lam]), atol=1e-12)
        assert torch.isclose(energy(p.detach()), t.saddle_energies()[i], atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_transform_and_analyses_on_cuda():
    rbm = random_rbm(12, 7, seed=9, offsets=True).to("cuda")
    t = reciprocal_transform(rbm)
    assert t.U.device.type == "cuda"
    rng = Rng(0, "cuda")
    v, h = rbm.visible.random_state(32, rng), rbm.hidden.random_state(32, rng)
    assert torch.allclose(t.energy(v, h), rbm.energy(v, h).detach(), atol=1e-10)
    cpu = reciprocal_transform(rbm.cpu())
    assert np.allclose(analyze(rbm.to("cuda")).singular_values, cpu.singular_values.numpy(), atol=1e-10)
    assert rotation_test(t, null_draws=2).js >= 0 and mode_free_energy(t, 0, "u").mean_field_minima()


def test_non_linear_units_refused():
    rbm = bl.make_rbm(5, 3, visible="gaussian", hidden="binary")
    with pytest.raises(ConfigError, match="binary or spin"):
        reciprocal_transform(rbm)


# ---------------------------------------------------------------- eq. 51 by enumeration
@pytest.mark.parametrize("cls, sigma", [(bl.BinaryRBM, 0.5), (bl.SpinRBM, 1.0)])
def test_eq51_moments_exact_by_enumeration(cls, sigma):
    """Over all 2^N states (the uniform reference measure) x_i has mean mu_x (eq. 51a), std sigma (51c) and
    Pearson kurtosis 3 - 2 sum U^4, with zero skewness."""
    rbm = random_rbm(10, 6, seed=11, cls=cls)
    t = reciprocal_transform(rbm)
    values = tuple(rbm.visible.unit_values.tolist())
    x = t.x(all_states(10, values)).numpy()
    ref = t.reference_moments()
    assert np.allclose(x.mean(0), ref["mu_x"].numpy(), atol=1e-12)
    assert np.allclose(x.std(0), sigma, atol=1e-12) and np.allclose(ref["sigma_x"].numpy(), sigma)
    assert np.allclose(stats.kurtosis(x, axis=0, fisher=False), exact_kurtosis(t.U).numpy(), atol=1e-10)
    assert np.allclose(stats.skew(x, axis=0), 0, atol=1e-9)
    y = t.y(all_states(6, values)).numpy()
    assert np.allclose(y.mean(0), ref["mu_y"].numpy(), atol=1e-12)


def test_kurtosis_power_sums_and_haar():
    rbm = bl.make_rbm(40, 30, seed=1, dtype=torch.float64)
    t = reciprocal_transform(rbm)
    sums = power_sums(t.V, rbm.hidden, 3000, Rng(4), chunk=700)
    h = rbm.hidden.random_state(3000, Rng(4))
    y = (h @ t.V).numpy()
    mom = moments_from_sums(sums, 3000)
    assert np.allclose(mom["kurtosis"], stats.kurtosis(y, axis=0, fisher=False), atol=1e-8)
    assert np.allclose(mom["variance"], y.var(0), atol=1e-10)
    res = kurtosis_vs_hidden(30, [10, 40, 160], sigma=0.01, n_samples=4000, seed=0)
    for r in res["rows"]:
        # Monte Carlo against the exact kurtosis of the drawn V (std of a kurtosis estimate ~ sqrt(24/n) / ...)
        assert abs(r["kurtosis_mc_mean"] - r["kurtosis_exact_mean"]) < 0.03
        assert abs(r["kurtosis_exact_mean"] - haar_kurtosis(r["n_hidden"])) < 0.08
    assert abs(res["fit_intercept_m_infinity"] - 3.0) < 0.05 and res["fit_slope_per_inverse_m"] < 0


# ---------------------------------------------------------------- Marchenko-Pastur (eq. 20)
@pytest.mark.parametrize("n, m", [(784, 500), (300, 700), (200, 200)])
def test_mp_cdf_closed_form_matches_quad(n, m):
    mp = MarchenkoPastur(n, m, 0.02)
    total = integrate.quad(mp.pdf, mp.lambda_minus, mp.lambda_plus, limit=200)[0]
    assert abs(total - 1) < 1e-7
    for q in np.linspace(0.05, 0.95, 7):
        lam = mp.lambda_minus + q * (mp.lambda_plus - mp.lambda_minus)
        assert abs(mp.cdf(lam) - integrate.quad(mp.pdf, mp.lambda_minus, lam, limit=200)[0]) < 1e-8
    assert mp.cdf(mp.lambda_minus - 1e-3) == 0 and mp.cdf(mp.lambda_plus + 1) == 1
    # the paper's maximum sigma sqrt|N - M| is the maximum of the singular-value density
    assert abs(mp.mode_numeric() - mp.mode_paper) < 1e-6 * mp.lambda_plus
    assert math.isclose(mp.lambda_plus * mp.lambda_minus, 0.02 ** 2 * abs(n - m), rel_tol=1e-12)


def test_analyze_fresh_and_structured():
    model = bl.make_rbm(400, 250, weight_std=0.01, seed=3)
    r = analyze(model)
    s_np = np.linalg.svd(model.weights.detach().double().numpy(), compute_uv=False)
    assert np.allclose(r.singular_values, s_np, rtol=1e-5) and bool(np.all(np.diff(r.singular_values) <= 0))
    assert r.mp_ks < 0.05 and r.n_above_edge == 0 and abs(r.sigma - 0.01) < 2e-4
    # a wrong sigma, or a low-rank spike, is far from the law: the statistic can fail
    assert analyze(model, sigma=0.013).mp_ks > 0.2
    w = model.weights.detach().clone()
    w += 0.5 * torch.outer(torch.ones(400), torch.ones(250)) / 300
    assert analyze(w).n_above_edge == 1
    with pytest.raises(DomainError, match="all-zero"):
        analyze(torch.zeros(5, 4))
    with pytest.raises(DomainError, match="NaN"):
        analyze(torch.full((5, 4), float("nan")))


# ---------------------------------------------------------------- rotations and the JS test (Fig. 4)
def test_rotations_are_orthogonal():
    gen = torch.Generator().manual_seed(0)
    q = haar_orthogonal(12, gen, torch.zeros(1, dtype=torch.float64))
    assert torch.allclose(q.T @ q, torch.eye(12, dtype=torch.float64), atol=1e-12)
    e1, e2 = random_plane(12, gen, q)
    r = plane_rotation(q, e1, e2, 0.7)
    assert torch.allclose(r.T @ r, torch.eye(12, dtype=torch.float64), atol=1e-12)
    # the complement of the plane is fixed: R z = z for z orthogonal to e1, e2
    z = torch.randn(12, generator=gen, dtype=torch.float64)
    z -= (z @ e1) * e1 + (z @ e2) * e2
    eye = torch.eye(12, dtype=torch.float64)
    assert torch.allclose(plane_rotation(eye, e1, e2, 0.7) @ z, z, atol=1e-12)
    assert torch.allclose(plane_rotation(eye, e1, e2, 0.7) @ e1, math.cos(0.7) * e1 + math.sin(0.7) * e2, atol=1e-12)


def test_js_divergence_limits():
    a = np.random.default_rng(0).normal(size=5000)
    assert js_divergence(a, a)[0] == 0.0
    assert js_divergence(a, a + 100)[0] > 0.95
    edges = np.linspace(-4, 4, 21)
    b = np.random.default_rng(1).normal(size=5000) * 1.5
    p = np.histogram(np.clip(a, -4, 4), edges)[0] / 5000
    q = np.histogram(np.clip(b, -4, 4), edges)[0] / 5000
    m = 0.5 * (p + q)
    kl = lambda x, y: special.rel_entr(x, y).sum() / math.log(2)  # noqa: E731
    assert math.isclose(js_divergence(a, b, edges)[0], 0.5 * kl(p, m) + 0.5 * kl(q, m), rel_tol=1e-9)


def test_rotation_test_fresh_vs_structured():
    fresh = reciprocal_transform(bl.make_rbm(150, 100, weight_std=0.01, seed=0, dtype=torch.float64))
    r = rotation_test(fresh, null_draws=4)
    assert not r.broken and r.ratio < 2
    # a "trained-like" W: a third of the visible units carry no weight, plus a strong rank-2 structure
    g = torch.Generator().manual_seed(1)
    w = torch.randn(150, 100, generator=g, dtype=torch.float64) * 0.01
    w[:50] = 0
    w[50:] += 0.3 * torch.randn(100, 2, generator=g, dtype=torch.float64) @ torch.randn(2, 100, generator=g, dtype=torch.float64)
    structured = reciprocal_transform(bl.BinaryRBM(w, dtype=torch.float64))
    r = rotation_test(structured, null_draws=4)
    assert r.broken and r.ratio > 10
    assert set(r.to_dict()) >= {"js", "js_null_mean", "symmetry_broken", "ratio_to_null"}


# ---------------------------------------------------------------- eq. 55
def test_mode_free_energy_cumulants_by_enumeration():
    """mu, k2, k4 of u_i and w_i equal the moments over all joint states; odd central moments vanish."""
    rbm = random_rbm(7, 5, seed=8, offsets=True)
    t = reciprocal_transform(rbm)
    vv, hh = all_states(7), all_states(5)
    v, h = vv.repeat_interleave(len(hh), 0), hh.repeat(len(vv), 1)
    for mode, var in ((0, "u"), (0, "w"), (3, "u")):
        f = mode_free_energy(t, mode, var)
        z = bl.reciprocal.project_mode(t, v, h, mode, var)
        d = z - z.mean()
        assert math.isclose(z.mean(), f.mu, abs_tol=1e-12)
        assert math.isclose((d ** 2).mean(), f.kappa2, rel_tol=1e-12)
        assert math.isclose((d ** 4).mean() - 3 * (d ** 2).mean() ** 2, f.kappa4, rel_tol=1e-10, abs_tol=1e-14)
        assert abs((d ** 3).mean()) < 1e-12  # odd cumulants: <Phi> = <Psi> = 0
        assert f.curvature == (-f.singular_value if var == "u" else f.singular_value)


def test_saddlepoint_potential_and_quartic_coefficients():
    a = np.random.default_rng(2).normal(size=30) * 0.5
    k2, k4 = (a ** 2).sum(), -2 * (a ** 4).sum()
    g = k4 / k2 ** 2
    # curvature at the mean: (1 + g/2) / k2 up to O(g^2); unnormalised, but integrating to 1 within O(1/D)
    hstep = 1e-3 * math.sqrt(k2)
    v = saddlepoint_potential(a, np.array([-hstep, 0.0, hstep]))
    assert abs((v[0] - 2 * v[1] + v[2]) / hstep ** 2 - (1 + g / 2) / k2) < 5 * g * g / k2 + 1e-6
    r = np.abs(a).sum()
    zs = np.linspace(-r, r, 20001)[1:-1]
    assert abs(np.trapezoid(np.exp(-saddlepoint_potential(a, zs)), zs) - 1) < 0.05
    # equal coefficients: z = 2B - D with B ~ Binomial(D, 1/2) on a lattice of spacing 1; the saddle-point density
    # matches the exact pmf to 5% out to z = +-46 (a Gaussian is off by a factor 67 there)
    k = np.arange(2, 49)
    pmf = stats.binom.pmf(k, 50, 0.5)
    approx = np.exp(-saddlepoint_potential(np.full(50, 0.5), 0.5 * (2 * k - 50)))
    assert np.max(np.abs(approx / pmf - 1)) < 0.05
    assert np.max(np.abs(stats.norm.pdf(0.5 * (2 * k - 50), 0, math.sqrt(12.5)) / pmf - 1)) > 10
    assert np.all(np.isinf(saddlepoint_potential(a, np.array([r, -r - 1]))))


def test_free_energy_minima():
    rbm = random_rbm(20, 12, scale=2.0, seed=4)
    t = reciprocal_transform(rbm)
    f = mode_free_energy(t, 0, "u")
    assert f.singular_value > 8  # a strong mode: -lambda/2 + Theta < 0, a double well
    d = f.to_dict()
    assert d["double_well"] and d["gaussian_minimum"] is None and len(d["quartic_minima"]) == 2
    for z in d["quartic_minima"]:
        eps = 1e-5
        assert abs(f.quartic(z + eps) - f.quartic(z - eps)) < 1e-6
    assert d["mean_field_minima"] and all(abs(z - f.mu) < f.half_width for z in d["mean_field_minima"])
    for z in d["mean_field_minima"]:
        assert f.mean_field(np.array([z]))[0] <= min(f.mean_field(np.array([z - 1e-3, z + 1e-3])))
    w = mode_free_energy(t, 0, "w").to_dict()
    assert not w["double_well"] and len(w["quartic_minima"]) == 1
    with pytest.raises(ConfigError, match="mode 13"):
        mode_free_energy(t, 12, "u")


# ---------------------------------------------------------------- Fig. 6
def test_hierarchy_top_rotation_flips_leading_modes():
    rbm = random_rbm(16, 8, seed=6, offsets=True)
    res = hierarchy_images(rbm, n_samples=5, steps=5, seed=0, top=2, protect=3, n_rotations=4)
    rows = list(res["rows"].values())
    t = reciprocal_transform(rbm)
    torch.manual_seed(0)
    _, h = rbm.sample(5, steps=5, rng=Rng(0))
    assert np.allclose(rows[1], rbm.mean_visible(h).detach().numpy(), atol=1e-12)
    w = t.weights_from()
    w_flip = w - 2 * sum(t.singular_values[i] * torch.outer(t.U[:, i], t.V[:, i]) for i in range(2))
    expect = torch.sigmoid(h @ w_flip.T + rbm.visible.bias - rbm.weights @ rbm.hidden_offset)
    assert np.allclose(rows[2], expect.detach().numpy(), atol=1e-10)
    assert all(i >= 3 and j >= 3 for i, j in res["planes_outside"])
    with pytest.raises(ConfigError, match="even"):
        hierarchy_images(rbm, top=3)


@pytest.mark.parametrize("nv, nh, rank", [(40, 8, 8), (30, 12, 5)])
def test_hierarchy_outside_planes_lie_in_the_range_of_w(nv, nh, rank):
    """Every "outside" plane changes W: both of its modes carry a non-zero singular value.

    With N = 40 visible modes and rank(W) = 8, planes drawn from all N modes would lie in the null space
    of W (and change nothing) with probability ~ (32 * 31) / (35 * 34) per plane."""
    rbm = random_rbm(nv, nh, seed=rank, offsets=True)
    if rank < nh:   # a rank-deficient W: the product of two thin matrices
        g = torch.Generator().manual_seed(1)
        w = torch.randn(nv, rank, generator=g, dtype=torch.float64) @ torch.randn(rank, nh, generator=g,
                                                                                  dtype=torch.float64)
        rbm.weights.data.copy_(0.3 * w)
    t = reciprocal_transform(rbm)
    assert bl.reciprocal.hierarchy.range_rank(t.singular_values) == rank
    res = hierarchy_images(rbm, n_samples=3, steps=2, seed=0, top=2, protect=2, n_rotations=20)
    assert len(res["planes_outside"]) == 20
    w0 = t.weights_from()
    for i, j in res["planes_outside"]:
        assert 2 <= i < rank and 2 <= j < rank and i != j
        u = bl.reciprocal.symmetry.rotate_modes(t.U, [(i, j)], [math.pi / 2])
        assert float((t.weights_from(U=u) - w0).abs().max()) > 1e-3 * float(w0.abs().max())
    rows = list(res["rows"].values())
    assert not np.allclose(rows[3], rows[1], atol=1e-6)
    with pytest.raises(ConfigError, match="rank"):
        hierarchy_images(rbm, top=2, protect=rank - 1)


# ---------------------------------------------------------------- replica studies (Fig. 1)
def test_example_study_files():
    with open(ROOT / "examples" / "replica-study.toml", "rb") as f:
        assert tomllib.load(f) == CPU_STUDY
    paper = load_study(ROOT / "examples" / "replica-study-paper.toml")
    assert paper.hidden == [500, 784, 1200, 3000] and paper.replicas == 5 and paper.device == "cuda"


@pytest.mark.parametrize("patch, pattern", [
    ({"study": {"hidden": [0]}}, "hidden"),
    ({"study": {"hidden": [4], "bogus": 1}}, "bogus"),
    ({"train": {"n_hidden": 5}}, "n_hidden"),
    ({"train": {"lr": -1.0}}, "lr"),
    ({"evaluate": {"ais_betas": 1}}, "ais_betas"),
    ({"data": {"train_rows": "abc"}}, "train_rows"),
    ({"extra": {}}, "extra"),
])
def test_study_validation(patch, pattern):
    raw = json.loads(json.dumps(CPU_STUDY))
    for table, vals in patch.items():
        raw.setdefault(table, {}).update(vals)
    with pytest.raises(ConfigError, match=pattern):
        study_from_dict(raw)


def test_tiny_study_against_exact(tmp_path):
    """AIS and reverse AIS log-likelihoods of a tiny study agree with exact enumeration of each checkpoint."""
    x = bl.data.load_dataset("ising:L=3,n=400", seed=0)
    np.save(tmp_path / "x.npy", x)
    raw = {"study": {"hidden": [3, 5], "replicas": 2, "threads": 1},
           "data": {"path": str(tmp_path / "x.npy"), "train_rows": "0:300", "test_rows": "300:"},
           "train": {"epochs": 2, "batch_size": 50, "lr": 0.1, "monitor_samples": 100},
           "evaluate": {"every_epochs": 1, "ais_runs": 32, "ais_betas": 200, "rais_runs": 32, "null_draws": 2}}
    res = run_study(study_from_dict(raw), tmp_path / "out", progress=False)
    assert len(res["runs"]) == 4 and all(len(r["evals"]) == 3 for r in res["runs"])
    test = torch.as_tensor(x[300:])
    for r in res["runs"]:
        ckpt = sorted(Path(r["dir"]).glob("checkpoints/step_*.pt"))[-1]
        exact = float(bl.exact_log_likelihood(bl.load_model(ckpt).double(), test.double()))
        assert abs(r["evals"][-1]["ll_ais"] - exact) < 0.1 and abs(r["evals"][-1]["ll_rais"] - exact) < 0.1
    assert set(res["summary"]) == {"3", "5"} and len(res["summary"]["5"]["ll_ais_mean"]) == 3
    for p in res["plots"]:
        assert Path(p).stat().st_size > 5000


# ---------------------------------------------------------------- the command line
@pytest.fixture
def run_dir(tmp_path_factory):
    """A 9 x 4 RBM trained on 3x3 Ising data with two kept checkpoints."""
    d = tmp_path_factory.mktemp("run")
    code = main(["train", "--data", "ising:L=3,n=300", "--hidden", "4", "--epochs", "2", "--keep-checkpoints",
                 "--out", str(d), "--no-progress"])
    assert code == 0
    return d


def test_cli_spectrum_and_symmetry(tmp_path, capsys):
    bl.save_model(bl.make_rbm(120, 60, weight_std=0.01, seed=0), tmp_path / "fresh.npz")
    bl.save_model(bl.make_rbm(120, 60, weight_std=0.01, seed=1), tmp_path / "fresh2.npz")
    code, out, _ = run(["reciprocal", "spectrum", tmp_path / "fresh.npz", tmp_path / "fresh2.npz", "--out",
                        tmp_path / "s", "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert all(m["mp_ks"] < 0.1 for m in res["models"]) and len(res["plots"]) == 2
    assert json.loads((tmp_path / "s" / "spectrum.json").read_text()) == res
    code, out, _ = run(["reciprocal", "symmetry", tmp_path / "fresh.npz", "--out", tmp_path / "y", "--json",
                        "--null-draws", "3"], capsys)
    assert code == 0 and not json.loads(out)["models"][0]["symmetry_broken"]
    assert (tmp_path / "y" / "weights_pdf.png").stat().st_size > 5000


def test_cli_model_series(run_dir, tmp_path, capsys):
    data = ["--data", "ising:L=3,n=300"]
    code, out, _ = run(["reciprocal", "landau", run_dir, *data, "--mode", "1", "--gibbs", "50", "--steps", "20",
                        "--out", tmp_path / "l", "--json", "--no-progress"], capsys)
    assert code == 0
    res = json.loads(out)
    steps = [m["step"] for m in res["models"]]
    assert len(steps) == 2 and steps == sorted(steps)
    rec = res["models"][-1]["u"]
    assert {"theta", "omega", "mu", "mean_field_minima", "data_mean", "gibbs_mean"} <= set(rec)
    assert rec["phi"] == 0 and rec["psi"] == 0
    code, out, _ = run(["reciprocal", "landscape", run_dir / "checkpoint.pt", *data, "--modes", "1,4", "--gibbs", "20",
                        "--steps", "5", "--out", tmp_path / "ls", "--json"], capsys)
    assert code == 0 and set(json.loads(out)["models"][0]["modes"]) == {"1", "4"}
    code, out, _ = run(["reciprocal", "variables", run_dir / "checkpoint.pt", *data, "--samples", "2000", "--gibbs",
                        "20", "--steps", "5", "--out", tmp_path / "v", "--json"], capsys)
    assert code == 0
    rnd = json.loads(out)["models"][0]["random states"]
    assert rnd["max_abs_z_mean_x"] < 5 and 0.9 < rnd["std_ratio_x_range"][0] <= rnd["std_ratio_x_range"][1] < 1.1
    code, out, _ = run(["reciprocal", "hierarchy", run_dir / "checkpoint.pt", "--n", "3", "--steps", "5", "--top", "2",
                        "--protect", "1", "--rotations", "2", "--image-shape", "3x3", "--out", tmp_path / "h",
                        "--json"], capsys)
    assert code == 0 and Path(json.loads(out)["plots"][0]).stat().st_size > 3000
    code, out, _ = run(["reciprocal", "kurtosis", "--visible", "20", "--hidden", "10,30", "--samples", "500",
                        "--out", tmp_path / "k", "--json", "--no-progress"], capsys)
    assert code == 0 and len(json.loads(out)["rows"]) == 2


@pytest.mark.parametrize("args, pattern", [
    (["spectrum", "MISSING.pt"], "no such model file"),
    (["landau", "{model}", "--data", "ising:L=3,n=50", "--mode", "9"], "mode(s) 9 do not exist"),
    (["landau", "{model}", "--data", "ising:L=4,n=50"], "visible units"),
    (["variables", "{model}", "--gibbs", "-1"], "--gibbs"),
    (["symmetry", "{model}", "--null-draws", "1"], "null-draws"),
    (["variables", "{gauss}"], "binary or spin"),
    (["replicas", "--config", "{bad_study}"], "unknown [study] option"),
    (["replicas", "--config", "{missing_study}"], "no such study file"),
])
def test_cli_bad_input_exit_2(tmp_path, capsys, args, pattern):
    model = tmp_path / "m.npz"
    bl.save_model(random_rbm(9, 4, seed=0).to(torch.float32), model)
    gauss = tmp_path / "g.pt"
    bl.save_model(bl.make_rbm(9, 4, visible="gaussian", hidden="binary"), gauss)
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nhidden = [4]\ncolour = "red"\n')
    names = {"model": model, "gauss": gauss, "bad_study": bad, "missing_study": tmp_path / "none.toml"}
    argv = ["reciprocal"] + [a.format(**names) for a in args]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("boltzlab: error:") and pattern in err


def test_reproduce_lists_entries(capsys):
    code, out, _ = run(["reproduce", "--list", "--json"], capsys)
    assert code == 0
    assert {"reciprocal-mp", "reciprocal-kurtosis", "reciprocal-training", "reciprocal-replicas"} <= set(json.loads(out))
