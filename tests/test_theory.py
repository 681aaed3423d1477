"""Every statement of ../shared/papers/energy-based-models-theory.md that boltzlab.theory implements, checked
against exact enumeration on small models; corrected statements are checked in their corrected form and
the printed form is shown to fail where it does."""

import json
import re

import numpy as np
import pytest
import torch
from scipy import stats

import boltzlab as bl
from boltzlab import theory as th
from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, DomainError
from conftest import all_states, random_rbm

DT = torch.float64
EPS = np.geomspace(0.02, 0.16, 4)   # coupling scales for the order-of-remainder fits


def _bm(n, scale=1.0, seed=0, centers=None):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=g, dtype=DT) * scale
    b = torch.randn(n, generator=g, dtype=DT) * 0.7
    c = torch.rand(n, generator=g, dtype=DT) if centers is None else centers
    return bl.BoltzmannMachine(w, b, c, dtype=DT)


def _rbm(nv, nh, seed=0, scale=1.0, c_scale=1.0, h_hat=None):
    g = torch.Generator().manual_seed(seed)
    hh = torch.full((nh,), 0.5, dtype=DT) if h_hat is None else h_hat
    return bl.BinaryRBM(torch.randn(nv, nh, generator=g, dtype=DT) * scale, torch.randn(nv, generator=g, dtype=DT),
                        torch.randn(nh, generator=g, dtype=DT) * c_scale,
                        visible_offset=torch.rand(nv, generator=g, dtype=DT), hidden_offset=hh, dtype=DT)


def _max_log_diff(p, q):
    return float((p.log() - q.log()).abs().max())


# ------------------------------------------------------------------------------- effective theory
def test_eq22_effective_energy_theorem7_marginal_and_eq10_gradient():
    rbm = random_rbm(5, 3, seed=2, offsets=True)
    v = all_states(5)
    # eq. 22 (with its constant) is -ln sum_h exp(-E(v, h)) by brute force, and the model's own free energy
    e22 = th.effective_energy(rbm, v, keep_constant=True).detach()
    assert torch.allclose(e22, th.brute_force_effective_energy(rbm, v), atol=1e-12)
    assert torch.allclose(e22, rbm.free_energy(v), atol=1e-12)
    d = th.effective_energy(rbm, v).detach() - e22            # the dropped constant is one number
    assert float(d.max() - d.min()) < 1e-12 and abs(float(d[0])) > 1e-3
    # Theorem 7 (eq. 9): the marginal of the joint equals exp(-E_eff) / Z
    states, p = th.brute_force_marginal(rbm)
    assert torch.allclose(torch.softmax(-th.effective_energy(rbm, states), 0), p, atol=1e-14)
    # Lemma 8 (eq. 10): dE_eff/dtheta = E_{h|v}[dE/dtheta], per sample, for E_eff of eq. 8 (eq. 22 with its
    # constant); the constant eq. 22 drops, -v_hat^T U h_hat, depends on U, so the printed form's U-gradient is
    # off by v_hat h_hat^T (the same for every v, so the learning rule, eq. 11, is unaffected)
    ref = th.effective_energy_gradient(rbm, v)
    params = [rbm.weights, rbm.visible.bias, rbm.hidden.bias]
    for i in (0, 7, 31):
        grads = torch.autograd.grad(th.effective_energy(rbm, v[i:i + 1], keep_constant=True).sum(), params)
        for got, key in zip(grads, ("weights", "visible.bias", "hidden.bias")):
            assert torch.allclose(got, ref[key][i], atol=1e-12), key
        (printed,) = torch.autograd.grad(th.effective_energy(rbm, v[i:i + 1]).sum(), [rbm.weights])
        assert torch.allclose(printed - ref["weights"][i], torch.outer(rbm.visible_offset, rbm.hidden_offset))


def test_remark14_rbm_is_a_bm_with_block_couplings():
    rbm = random_rbm(4, 3, seed=3, offsets=True)
    bm = th.rbm_as_bm(rbm)
    x = all_states(7)
    assert torch.allclose(bm.energy(x), rbm.energy(x[:, :4], x[:, 4:]), atol=1e-12)
    _, p_joint = th.exact_distribution(bm)
    p_v = p_joint.reshape(8, 16).sum(0)             # unit 0 is the fastest digit: v indexes the low bits
    assert torch.allclose(p_v, bl.visible_distribution(rbm)[1], atol=1e-14)


# ------------------------------------------------------------------------------- maximum entropy
def test_theorem3_residual_vanishes_at_the_fit_and_equals_the_nll_gradient():
    g = torch.Generator().manual_seed(1)
    data = (torch.rand(500, 6, generator=g) < 0.35).double()
    data[:150, :3] = 1
    mom = th.data_moments(data)
    fit = th.fit_bm_exact(mom)
    assert fit.converged and fit.gradient_max < 1e-8
    assert abs(fit.nll + bl.exact_log_likelihood(fit.model, data)) < 1e-10
    res = th.maxent_residual(fit.model, data)
    assert res["max_abs"] < 1e-8 and set(res["groups"]) == {"weights", "visible.bias"}
    # away from the fit the residual is the gradient of the exact mean NLL (eq. 7)
    bm = th.perturbative_bm(mom)
    res = th.maxent_residual(bm, data)
    states = all_states(6)
    nll = bm.visible_free_energy(data).mean() + torch.logsumexp(-bm.visible_free_energy(states), 0)
    gw, gb = torch.autograd.grad(nll, [bm.weights, bm.bias])
    assert torch.allclose(res["data"]["weights"] - res["model"]["weights"], gw, atol=1e-12)
    assert torch.allclose(res["data"]["visible.bias"] - res["model"]["visible.bias"], gb, atol=1e-12)
    assert res["max_abs"] > 1e-3
    # an RBM works too (eq. 11: the residual of E_eff's derivatives)
    rbm = random_rbm(6, 2, seed=4)
    assert set(th.maxent_residual(rbm, data)["groups"]) == {"weights", "visible.bias", "hidden.bias"}


def test_theorem3_entropy_is_maximal_for_the_bm_but_not_for_an_rbm_marginal():
    """eq. 4 with p_D := p_E: feasible perturbations lower H for a BM (energy linear in theta); for the visible
    marginal of an RBM (E_eff nonlinear in theta) the first-order change sum_v d(v) E_eff(v) is not zero."""
    bm = th.perturbative_bm(th.exact_moments(_bm(5, 0.5, seed=5)))
    r = th.entropy_perturbations(bm, n_directions=10)
    assert r["max_abs_first_order"] < 1e-12 and r["max_entropy_change"] < 0
    r = th.entropy_perturbations(_rbm(5, 2, seed=6, scale=1.5), n_directions=10)
    assert r["max_abs_first_order"] > 1e-3 and r["max_entropy_change"] > 0


# ------------------------------------------------------------------------------- BM, 0th order
def test_lemma17_18_independent_model():
    b = torch.tensor([0.3, -1.2, 2.0, 0.0], dtype=DT)
    bm0 = bl.BoltzmannMachine(torch.zeros(4, 4), b, torch.rand(4), dtype=DT)
    x, p = th.exact_distribution(bm0)
    assert torch.allclose(th.zeroth_order_log_prob(b, x).exp(), p, atol=1e-14)
    bb = b.clone().requires_grad_(True)
    for s in x[[0, 5, 15]]:
        (grad,) = torch.autograd.grad(th.zeroth_order_log_prob(bb, s[None]).exp().sum(), [bb])
        p0 = th.zeroth_order_log_prob(b, s[None]).exp()
        assert torch.allclose(grad, p0 * (s - torch.sigmoid(b)), atol=1e-14)    # eq. 26, all units at once


def test_lemmas19_to_22_moments_of_p0():
    b = torch.tensor([0.4, -1.5, 1.1, 2.2], dtype=DT)
    s = torch.sigmoid(b)
    x = all_states(4)
    p = th.zeroth_order_log_prob(b, x).exp()
    z = x - s
    assert torch.allclose(th.moment_tensor(s, 1), p @ x, atol=1e-14)                      # eq. 27
    assert torch.allclose(th.moment_tensor(s, 2), torch.einsum("s,sa,sb->ab", p, z, z), atol=1e-14)   # eq. 28
    assert torch.allclose(th.moment_tensor(s, 3), torch.einsum("s,sa,sb,sc->abc", p, z, z, z), atol=1e-14)
    v4 = torch.einsum("s,sa,sb,sc,sd->abcd", p, z, z, z, z)
    assert torch.allclose(th.moment_tensor(s, 4), v4, atol=1e-14)                         # eq. 30-31
    assert th.connected_fourth_moment(s).abs().max() > 1e-2
    with pytest.raises(ConfigError):
        th.moment_tensor(s, 5)


# ------------------------------------------------------------------------------- BM, 1st order
def _slope_and_errors(fn, eps=EPS):
    errs = [fn(float(e)) for e in eps]
    return th.loglog_slope(eps, errs), errs


def test_theorem24_first_order_term():
    """p_E(eps W) - p_0 (1 + eps p_1/p_0) = O(eps^2), for any centres; eq. 33 as printed (x_hat -> sigma)
    holds only when the centres are sigma (then O(eps^2)); with other centres it leaves an O(eps) error."""
    n = 5
    base = _bm(n, seed=7)
    w, b, c = base.weights.detach(), base.bias.detach(), base.centers
    x = th.exact_distribution(base)[0]          # the enumeration order of every exact_distribution below
    p0 = th.zeroth_order_log_prob(b, x).exp()

    def err(e, centers, formula_centers):
        p = th.exact_distribution(bl.BoltzmannMachine(e * w, b, centers, dtype=DT))[1]
        return float((p - p0 * (1 + th.first_order_log_ratio(e * w, b, x, formula_centers))).abs().max())

    slope, _ = _slope_and_errors(lambda e: err(e, c, c))
    assert 1.9 < slope < 2.1
    sig = torch.sigmoid(b)
    slope, _ = _slope_and_errors(lambda e: err(e, sig, None))       # eq. 33 at x_hat = sigma
    assert 1.9 < slope < 2.1
    slope, _ = _slope_and_errors(lambda e: err(e, c, None))         # eq. 33 with x_hat != sigma
    assert 0.9 < slope < 1.1


@pytest.mark.parametrize("centers", ["sigma", "other"])
def test_lemmas25_26_first_order_means_and_covariances(centers):
    n = 5
    base = _bm(n, seed=8)
    w, b = base.weights.detach(), base.bias.detach()
    c = torch.sigmoid(b) if centers == "sigma" else base.centers
    p0 = th.zeroth_order_log_prob(b, all_states(n)).exp()
    m0 = th.distribution_moments(all_states(n), p0)

    def errs(e):
        got = th.exact_moments(bl.BoltzmannMachine(e * w, b, c, dtype=DT))
        return (float((got.mean - th.first_order_mean(e * w, b, c)).abs().max()),
                float((got.cov - th.first_order_covariance(e * w, b, c)).abs().max()),
                float((got.mean - m0.mean).abs().max()))

    rows = np.array([errs(float(e)) for e in EPS])
    assert 1.9 < th.loglog_slope(EPS, rows[:, 0]) < 2.1      # eq. 34 (general centres)
    assert 1.9 < th.loglog_slope(EPS, rows[:, 1]) < 2.1      # eq. 35
    assert 0.9 < th.loglog_slope(EPS, rows[:, 2]) < 1.1      # the first-order terms are not zero
    if centers == "sigma":   # the printed forms: V^g + 1/2 W_ab V^{abg} and V + W_(ab) V V + 1/2 W V_c
        s = torch.sigmoid(b)
        v3 = th.moment_tensor(s, 3)
        assert torch.allclose(th.first_order_mean(w, b), s + 0.5 * torch.einsum("ab,abg->g", w, v3), atol=1e-14)
        v2 = th.moment_tensor(s, 2)
        ws = 0.5 * (w + w.t())
        eq35 = v2 + v2 @ ws @ v2 + 0.5 * torch.einsum("ab,abmn->mn", w, th.connected_fourth_moment(s))
        assert torch.allclose(th.first_order_covariance(w, b), eq35, atol=1e-14)


def _weak_moments(n=12, scale=0.3, seed=1):
    """Exact moments of a random BM: binary 'data' whose correlations are set by ``scale``."""
    g = torch.Generator().manual_seed(seed)
    j = torch.randn(n, n, generator=g, dtype=DT) * scale
    j = (j + j.t()) / 2
    j.fill_diagonal_(0)
    src = bl.BoltzmannMachine(j, torch.randn(n, generator=g, dtype=DT) * 0.8, torch.full((n,), 0.5), dtype=DT)
    return th.exact_moments(src)


def test_theorem27_solution_reproduces_moments_to_second_order_for_any_diagonal():
    mom = _weak_moments(6, seed=2)
    assert torch.allclose(torch.diagonal(mom.cov), mom.mean * (1 - mom.mean), atol=1e-14)   # eq. 38: identity
    diag = torch.linspace(-2, 3, 6, dtype=DT)
    errs = []
    for t in (0.1, 0.05, 0.025):
        cov = mom.cov * t + torch.diag(torch.diagonal(mom.cov) * (1 - t))
        m = th.Moments(mom.mean, cov)
        b, w = th.first_order_solution(m.mean, m.cov, diagonal=diag)
        assert torch.allclose(torch.diagonal(w), diag)
        got = th.exact_moments(bl.BoltzmannMachine(w, b, m.mean, dtype=DT))
        errs.append(float(max((got.mean - m.mean).abs().max(), (got.cov - m.cov).abs().max())))
    assert 3.5 < errs[0] / errs[1] < 4.5 and 3.5 < errs[1] / errs[2] < 4.5     # halving t quarters the error


def test_corollaries28_30_and_lemma29():
    g = torch.Generator().manual_seed(3)
    data = (torch.rand(400, 5, generator=g) < torch.tensor([0.2, 0.4, 0.5, 0.6, 0.85])).double()
    data[:80, :2] = 1
    mom = th.data_moments(data)
    b28, w28 = bl.theory.mean_field_bm(data, self_interaction=False)            # the public API
    assert torch.all(torch.diagonal(w28) == 0) and torch.allclose(b28, torch.logit(mom.mean))   # eq. 41
    v = mom.mean * (1 - mom.mean)
    off = ~torch.eye(5, dtype=torch.bool)
    assert torch.allclose(w28[off], (mom.cov / torch.outer(v, v))[off])                       # eq. 42
    b30, w30 = bl.theory.mean_field_bm(data, self_interaction=True)
    assert torch.allclose(torch.diagonal(w30), 1 / v)                                           # eq. 43
    assert torch.allclose(w30, th.scaled_covariance(mom.cov))       # Cor. 30.1: W is Cov / (Var Var) ...
    assert torch.linalg.eigvalsh(w30).min() > -1e-10                # ... positive semi-definite (Lemma 29)
    # the diagonal only shifts the bias: Corollaries 28 and 30 give the same distribution
    p28 = th.exact_distribution(bl.BoltzmannMachine(w28, b28, mom.mean, dtype=DT))[1]
    p30 = th.exact_distribution(bl.BoltzmannMachine(w30, b30, mom.mean, dtype=DT))[1]
    assert _max_log_diff(p28, p30) < 1e-12
    # eq. 44 (sigma = 2 x_hat - 1/2) is the linearisation; it fails for means far from 1/2 (Remark 35)
    with pytest.raises(DomainError, match="eq. 44"):
        th.mean_field_bm(data, self_interaction=True, bias_rule="linearized")
    near = th.Moments(torch.tensor([0.45, 0.5, 0.55], dtype=DT), torch.diag(torch.tensor([0.2475, 0.25, 0.2475])))
    b_lin, _ = th.first_order_solution(near.mean, near.cov, True, bias_rule="linearized")
    assert torch.allclose(torch.sigmoid(b_lin), 2 * near.mean - 0.5)
    assert torch.allclose(torch.sigmoid(b30), torch.sigmoid(torch.logit(mom.mean) - (0.5 - mom.mean) / v))


def test_done_when_first_order_error_is_second_order_in_the_coupling():
    """Weakly correlated binary data (all |Pearson| < 0.05), 12 units: the first-order solution's exact means
    and covariances miss the data by an error whose log-log slope against the coupling is 2."""
    mom = _weak_moments(12, scale=0.3, seed=1)
    n = 12
    off = ~torch.eye(n, dtype=torch.bool)
    r = mom.pearson()[off].abs().max()
    mom = th.Moments(mom.mean, torch.where(off, mom.cov * (0.049 / r), mom.cov))   # max |Pearson| = 0.049
    assert th.validity(mom)["max_abs_pearson"] < 0.05
    scan = th.coupling_scan(mom, [1.0, 0.5, 0.25, 0.125])
    assert 1.85 < scan["slope_mean"] < 2.15 and 1.85 < scan["slope_cov"] < 2.15
    top = scan["rows"][0]
    assert top["cov_error"] < 0.1 * float(mom.cov[off].abs().max())              # and the error is small
    assert top["mean_error"] < 3e-3


def test_remarks34_35_diagnostics():
    g = torch.Generator().manual_seed(4)
    data = (torch.rand(1000, 6, generator=g) < 0.3).double()
    data[:200, :3] = 1
    v = th.validity(th.data_moments(data))
    r = np.corrcoef(data.numpy().T)
    assert abs(v["max_abs_pearson"] - np.abs(r - np.eye(6)).max()) < 1e-12
    assert abs(v["max_mean_offset"] - float((data.mean(0) - 0.5).abs().max())) < 1e-12
    # the relative error of the first-order covariances tracks the spectral radius of the Pearson matrix
    # (not max |r|): same max |r|, all-positive vs random-sign correlations of 12 units
    m = torch.full((12,), 0.5, dtype=DT)
    signs = torch.sign(torch.randn(12, 12, generator=g, dtype=DT)).triu(1)
    rel = {}
    for name, pattern in (("coherent", torch.ones(12, 12, dtype=DT)), ("random", signs + signs.t())):
        cov = 0.25 * torch.where(torch.eye(12, dtype=torch.bool), torch.ones(12, 12, dtype=DT), 0.01 * pattern)
        mom = th.Moments(m, cov)
        err = th.perturbation.first_order_errors(mom)["cov_error"] / 0.0025
        rel[name] = (err, th.validity(mom)["pearson_spectral_radius"])
    assert rel["coherent"][0] > 1.5 * rel["random"][0]
    for err, radius in rel.values():
        assert 0.5 * radius < err < 2 * radius


# ------------------------------------------------------------------------------- RBM perturbation
def test_lemma31_rbm_reduces_to_bm_with_fourth_order_remainder():
    def err(t, h_hat=None):
        rbm = _rbm(6, 3, seed=9, scale=t, c_scale=t, h_hat=h_hat)
        w, b = bl.theory.rbm_to_bm(rbm)                                     # the public API
        u = rbm.weights.detach()
        assert torch.allclose(w, 0.25 * u @ u.t())                          # eq. 46
        bm = bl.BoltzmannMachine(weights=w, bias=b, centers=rbm.visible_offset, dtype=DT)
        return _max_log_diff(th.exact_distribution(rbm)[1], th.exact_distribution(bm)[1])

    slope, errs = _slope_and_errors(err)
    assert 3.8 < slope < 4.2 and errs[0] < 1e-6            # O(U^4), one order better than eq. 45's O(U^3)
    g = torch.Generator().manual_seed(1)
    slope, _ = _slope_and_errors(lambda t: err(t, torch.rand(3, generator=g, dtype=DT)))   # any h_hat
    assert 3.8 < slope < 4.2
    # eq. 47 as printed (v^a inside the bias) gives the same energies on binary states, since v^2 = v
    rbm = _rbm(6, 3, seed=9, scale=0.1, c_scale=0.1)
    u, b, c, _, hh = th.effective.rbm_parameters(rbm)
    v = all_states(6)
    printed = -(v * (b - (v[:, :, None] * u * (hh - 0.5 - c / 4)).sum(-1))).sum(1)
    _, beff = th.rbm_to_bm(rbm)
    assert torch.allclose(printed, -(v @ beff), atol=1e-14)


def test_theorem32_least_squares_solution_and_remark33():
    g = torch.Generator().manual_seed(5)
    n = 7
    mean = 0.3 + 0.4 * torch.rand(n, generator=g, dtype=DT)
    v = mean * (1 - mean)
    u0 = torch.randn(n, 2, generator=g, dtype=DT) * 0.3
    target = 0.25 * u0 @ u0.t()
    cov = torch.where(torch.eye(n, dtype=torch.bool), torch.diag(v), target * torch.outer(v, v))
    mom = th.Moments(mean, cov)
    off = ~torch.eye(n, dtype=torch.bool)
    # solvable: a rank-2 target is matched exactly by 2 hidden units, up to U -> U O
    sol = th.solve_rbm_perturbation(mom, 2)
    assert sol.exact and sol.residual["relative"] < 1e-9 and sol.residual["bias_max"] < 1e-12
    u = sol.rbm.weights.detach()
    assert torch.allclose((0.25 * u @ u.t())[off], target[off], atol=1e-9)
    # Remark 33.1: one hidden unit cannot (n(n-1)/2 = 21 equations, 7 unknowns) ...
    one = th.solve_rbm_perturbation(mom, 1)
    assert not one.exact and one.residual["relative"] > 0.05
    # ... and the reported residual is a least-squares minimum: random restarts do no better
    a = (4 * target).numpy()
    best = np.inf
    rs = np.random.default_rng(0)
    for _ in range(5):
        from scipy.optimize import minimize
        f = lambda x: float(((np.outer(x, x) - a)[off.numpy()] ** 2).sum())   # noqa: E731
        best = min(best, minimize(f, rs.standard_normal(n), method="BFGS").fun)
    u1 = one.rbm.weights.detach().numpy()[:, 0]
    assert f(u1) <= best + 1e-9
    assert abs(np.sqrt(f(u1) / (16 * n * (n - 1))) - one.residual["offdiag_rms"]) < 1e-9
    # with n - 1 hidden units any symmetric target is solvable (a large enough diagonal makes it PSD)
    rnd = torch.randn(n, n, generator=g, dtype=DT)
    cov2 = torch.where(torch.eye(n, dtype=torch.bool), torch.diag(v), 0.01 * (rnd + rnd.t()) * torch.outer(v, v))
    assert th.solve_rbm_perturbation(th.Moments(mean, cov2), n - 1).exact
    # the solution reproduces the data moments to second order (it is Theorem 27's BM to O(U^2))
    errs = []
    for t in (1.0, 0.5):
        m_t = th.Moments(mean, torch.where(off, cov * t * 0.2, cov))
        got = th.exact_moments(th.solve_rbm_perturbation(m_t, 2).rbm)
        errs.append(float((got.cov - m_t.cov)[off].abs().max()))
    assert 3.3 < errs[0] / errs[1] < 4.7


def test_remark33_gauge_symmetry_holds_for_the_equations_not_the_model():
    o = th.random_orthogonal(3, seed=1)
    assert torch.allclose(o.t() @ o, torch.eye(3, dtype=DT), atol=1e-12)

    def err(t):
        rbm = _rbm(6, 3, seed=10, scale=t, c_scale=t, h_hat=torch.rand(3, generator=torch.Generator().manual_seed(2),
                                                                        dtype=DT))
        rot = th.gauge_transform(rbm, o)
        (w1, b1), (w2, b2) = th.rbm_to_bm(rbm), th.rbm_to_bm(rot)
        assert torch.allclose(w1, w2, atol=1e-14) and torch.allclose(b1, b2, atol=1e-14)
        return _max_log_diff(th.exact_distribution(rbm)[1], th.exact_distribution(rot)[1])

    slope, errs = _slope_and_errors(err)
    assert 3.8 < slope < 4.2 and errs[-1] > 1e-6


# ------------------------------------------------------------------------------- zoom-in trick
def test_definition36_lemma37_zoom_in():
    g = torch.Generator().manual_seed(6)
    x = (torch.rand(20_000, 3, generator=g) < torch.tensor([0.1, 0.5, 0.8])).double()
    y = th.zoom_in(x, 0.2, copies=2, seed=1)
    assert y.shape == (20_000, 6) and set(y.unique().tolist()) <= {0.0, 1.0}
    for a in range(3):
        for i in range(2):
            col = y[:, a * 2 + i]
            n0, n1 = int((x[:, a] == 0).sum()), int((x[:, a] == 1).sum())
            assert abs(float(col[x[:, a] == 0].mean()) - 0.2) < 4 * np.sqrt(0.16 / n0)    # eq. 56
            assert abs(float(col[x[:, a] == 1].mean()) - 0.8) < 4 * np.sqrt(0.16 / n1)    # eq. 57
    pred = th.zoom_in_mean(x.mean(0), 0.2).repeat_interleave(2)                          # eq. 58
    assert torch.all((y.mean(0) - pred).abs() < 4 * np.sqrt(0.16 / 20_000))
    # the copies are independent given x: within x_a = 1 their covariance is noise
    sel = x[:, 1] == 1
    assert abs(float(torch.cov(y[sel][:, 2:4].t())[0, 1])) < 4 * 0.16 / np.sqrt(int(sel.sum()))
    with pytest.raises(ConfigError):
        th.zoom_in(x, 0.5)


def test_theorem38_limits_and_spread_of_the_means():
    g = torch.Generator().manual_seed(7)
    x = (torch.rand(400, 3, generator=g) < 0.3).double()
    x[:150, :2] = 1
    mom = th.data_moments(x)
    # expected moments of the zoomed data: means -> 1/2 (not 0 as printed), covariances -> 0 as (2 eps)^2
    for eps in (0.2, 0.02):
        z = th.zoom_in_moments(mom, 0.5 - eps, copies=2)
        assert torch.allclose(z.mean, 0.5 + (2 * mom.mean - 1).repeat_interleave(2) * eps)
        assert abs(float(z.cov[0, 2]) - 4 * eps ** 2 * float(mom.cov[0, 1])) < 1e-15
        assert abs(float(z.cov[0, 1]) - 4 * eps ** 2 * float(mom.cov[0, 0])) < 1e-15     # copies of one unit
    # ... and the simulated zoom-in averages to them: 200 replicas at once (columns of a repeated data set)
    reps = 200
    y = th.zoom_in(x.repeat(1, reps), 0.3, 2, seed=1).reshape(400, reps, 6)
    yc = y - y.mean(0)
    covs = torch.einsum("nra,nrb->rab", yc, yc) / 400
    z = th.zoom_in_moments(mom, 0.3, 2)
    assert (covs.mean(0) - z.cov).abs().max() < 4 * covs.std(0).max() / np.sqrt(reps)
    # spread of y_hat over the noise, for one fixed data set: sqrt(delta (1 - delta) / N), not the paper's sigma
    n_rows, delta, p, reps = 2000, 0.05, 0.05, 800
    x1 = (torch.rand(n_rows, 1, generator=g) < p).double()
    means = th.zoom_in(x1.repeat(1, reps), delta, seed=2).mean(0)
    sd = float(means.std())
    cond = float(th.zoom_in_mean_std(x1.mean(), delta, n_rows))
    paper = float(th.zoom_in_mean_std(x1.mean(), delta, n_rows, conditional=False))
    lo, hi = (np.sqrt(stats.chi2.ppf(q, reps - 1) / (reps - 1)) for q in (0.0005, 0.9995))
    assert lo < sd / cond < hi and not lo < sd / paper < hi       # the two differ by 30% here
    assert stats.kstest(((means - float(th.zoom_in_mean(x1.mean(), delta))) / cond).numpy(), "norm").pvalue > 1e-3
    # the paper's sigma is right when the rows are fresh draws from Bernoulli(p)
    fresh = th.zoom_in((torch.rand(n_rows, reps, generator=g) < p).double(), delta, seed=3).mean(0)
    paper_p = float(th.zoom_in_mean_std(torch.tensor(p), delta, n_rows, conditional=False))
    assert lo < float(fresh.std()) / paper_p < hi


# ------------------------------------------------------------------------------- temperature
def test_appendix_a_temperature_expansion():
    rbm = _rbm(5, 3, seed=11)
    v = all_states(5)

    def errs(beta):
        w, b = th.rbm_to_bm(rbm, beta)
        u = rbm.weights.detach()
        assert torch.allclose(w, beta / 4 * u @ u.t())      # eq. 60's (beta/8) sum U U^T times eq. 12's 2
        e = th.effective_energy_at(rbm, v, beta)
        y = v - rbm.visible_offset
        d = e - (-0.5 * ((y @ w) * y).sum(1) - v @ b)
        bm = bl.BoltzmannMachine(w, b, rbm.visible_offset, dtype=DT)
        return (float((d - d.mean()).abs().max()),
                _max_log_diff(th.exact_distribution(rbm, beta)[1], th.exact_distribution(bm, beta)[1]))

    rows = np.array([errs(float(b)) for b in EPS])
    assert 2.8 < th.loglog_slope(EPS, rows[:, 0]) < 3.2      # E_eff(v; beta): O(beta^3), not O(beta^2)
    assert 3.8 < th.loglog_slope(EPS, rows[:, 1]) < 4.2      # ln p: O(beta^4)
    # h_hat = 1/2, c = 0: b_eff -> b
    plain = _rbm(5, 3, seed=11, c_scale=0.0)
    assert torch.allclose(th.rbm_to_bm(plain, 0.1)[1], plain.visible.bias.detach())


def test_eq61_high_temperature_first_order_corrected():
    bm = _bm(5, seed=12)
    x = th.exact_distribution(bm)[0]
    assert abs(th.uniform_mean_energy(bm) - float(bm.energy(x).detach().mean())) < 1e-12

    def err(beta, form):
        p = th.exact_distribution(bm, beta)[1]
        return float((p - (1 + th.high_temperature_log_ratio(bm, x, beta, form)) / 32).abs().max())

    slope, _ = _slope_and_errors(lambda b: err(b, "corrected"))
    assert 1.9 < slope < 2.1
    slope, _ = _slope_and_errors(lambda b: err(b, "paper"))
    assert 0.9 < slope < 1.1                                # eq. 61 as printed is wrong at first order


# ------------------------------------------------------------------------------- command line
def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def weak_data(tmp_path):
    g = torch.Generator().manual_seed(8)
    src = bl.BoltzmannMachine(torch.randn(6, 6, generator=g, dtype=DT) * 0.2, torch.randn(6, generator=g, dtype=DT) * 0.5,
                              torch.full((6,), 0.5), dtype=DT)
    states, p = bl.visible_distribution(src)
    x = states[torch.multinomial(p, 3000, replacement=True, generator=g)].numpy()
    path = tmp_path / "weak.npy"
    np.save(path, x)
    return path


def test_cli_theory_report(weak_data, tmp_path, capsys):
    from boltzlab.training import TrainConfig, Trainer
    x = torch.from_numpy(np.load(weak_data))
    tr = Trainer.create(x, TrainConfig(model="bm", epochs=1, batch_size=100, lr=0.05), progress=False)
    tr.fit()
    bl.save_model(tr.model, tmp_path / "bm.pt")
    out = tmp_path / "rep"
    code, stdout, err = _run(["theory", "report", "--data", weak_data, "--points", 4, "--out", out, "--json",
                              "--no-progress", "--trained", tmp_path / "bm.pt"], capsys)
    assert code == 0, err
    r = json.loads(stdout)
    assert r["checkpoint"]["maxent_residual"]["max_abs"] > r["trained"]["maxent_residual"]["max_abs"]
    assert r["n_units"] == 6 and r["trained"]["converged"] and r["trained"]["gradient_max"] < 1e-7
    assert r["trained"]["maxent_residual"]["max_abs"] < 1e-7
    assert r["first_order"]["corollary_30_vs_28_max_abs_log_p"] < 1e-10
    s = r["scaling"]["correlations_scaled"]
    assert 1.8 < s["slope_cov"] < 2.2
    assert json.loads((out / "theory_report.json").read_text())["columns"] == list(range(6))
    for name in ("parameters.png", "marginals.png", "scaling.png"):
        assert (out / name).stat().st_size > 10_000


def test_cli_theory_zoom_and_rbm_to_bm(weak_data, tmp_path, capsys):
    code, stdout, err = _run(["theory", "zoom", "--data", weak_data, "--delta", 0.3, "--copies", 2, "--units", "0:3",
                              "--npy", tmp_path / "z.npy", "--json"], capsys)
    assert code == 0, err
    r = json.loads(stdout)
    assert np.load(tmp_path / "z.npy").shape == (3000, 6) and r["max_abs_deviation"] < 5 * r["expected_deviation_scale"]
    rbm = random_rbm(5, 3, seed=1)
    bl.save_model(rbm, tmp_path / "rbm.pt")
    code, stdout, err = _run(["theory", "rbm-to-bm", tmp_path / "rbm.pt", "--save", tmp_path / "bm.pt", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["kl_rbm_to_bm"] > 0
    assert isinstance(bl.load_model(tmp_path / "bm.pt"), bl.BoltzmannMachine)


@pytest.mark.parametrize("make, args, pattern", [
    ("const", [], "constant"),
    ("weak", ["--zoom-delta", "0.7"], "delta"),
    ("weak", ["--units", "0:99x"], "--units"),
    ("weak", ["--units", "4,4"], "repeats"),
    ("wide", [], "at most 16|limited to 16|select"),
    ("nan", [], "NaN"),
    ("missing", [], "no such file"),
    ("weak", ["--points", "2"], "points"),
    ("weak", ["--trained", "rbm"], "not a Boltzmann machine"),
])
def test_cli_theory_bad_input_exit_2(weak_data, tmp_path, capsys, make, args, pattern):
    path = {"weak": weak_data, "missing": tmp_path / "nope.npy"}.get(make, tmp_path / f"{make}.npy")
    if make == "const":
        x = np.load(weak_data)
        x[:, 2] = 1
        np.save(path, x)
    elif make == "wide":
        np.save(path, np.random.default_rng(0).integers(0, 2, (50, 20)).astype(float))
        args = ["--units", "0:20"]
    elif args == ["--trained", "rbm"]:
        bl.save_model(random_rbm(6, 2), tmp_path / "rbm.pt")
        args = ["--trained", tmp_path / "rbm.pt"]
    elif make == "nan":
        x = np.load(weak_data)
        x[0, 0] = np.nan
        np.save(path, x)
    code, _, err = _run(["theory", "report", "--data", path, "--out", tmp_path / "o", "--no-progress", *args], capsys)
    assert not (tmp_path / "o" / "theory_report.json").exists()
    assert code == 2 and err.startswith("boltzlab: error:") and err.count("\n") == 1, err
    assert re.search(pattern, err), err


def test_reproduce_lists_the_theory_entries(capsys):
    code, out, _ = _run(["reproduce", "--list", "--json"], capsys)
    assert code == 0 and {"theory-scaling", "theory-checks"} <= set(json.loads(out))
