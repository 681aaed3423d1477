"""Reproduction entries for the lecture notes on energy-based models (unpublished) (``boltzlab reproduce NAME``).

* ``theory-scaling``: the first-order solution of the Boltzmann machine on weakly correlated binary data
  (12 units, all |Pearson| < 0.05) and its error against the coupling strength: slope 2 (second order).
* ``theory-checks``: every statement of the paper that boltzlab.theory implements, measured against exact
  enumeration, with the printed forms of the statements that need a correction (the numbers of
  docs/theory.md).
"""

from __future__ import annotations

from typing import Any, Callable

import matplotlib.ticker
import numpy as np
import torch

from .registry import Study, entry

DT = torch.float64


@entry("theory-scaling", "first-order BM on weakly correlated data (12 units): error vs coupling has slope 2")
def theory_scaling(study: Study) -> dict[str, Any]:
    """Exact samples of the 4x4 Ising model at beta = 0.3 (the first 12 sites), made weakly correlated by the
    zoom-in trick with delta = 0.36 (all |Pearson| < 0.05); the full theory report on them."""
    out = study.out
    from ..data import load_dataset
    from ..theory import data_moments, zoom_in
    from .pipelines.theory_report import run_report
    n = study.size(5000, 20_000)
    x = torch.from_numpy(load_dataset(f"ising:L=4,beta=0.3,n={n}", seed=0)[:, :12].astype(np.float64))
    y = zoom_in(x, 0.36, 1, seed=0)
    res = run_report(y, out, source=data_moments(x), zoom={"delta": 0.36, "copies": 1},
                     n_factors=study.size(5, 9), progress=False, title="(Ising 4x4 sites 0-11, zoom-in 0.36)")
    scan = res["scaling"]["correlations_scaled"]
    for what, key in (("means", "slope_mean"), ("covariances", "slope_cov")):
        study.figure(f"first-order error of the {what} vs max |W|: log-log slope", scan[key], 2.0, 0.15, "exact",
                     "Theorem 27: the first-order BM is exact to second order in the couplings")
    study.figure("along the zoom-in: covariance error slope", res["scaling"]["zoom_in"]["slope_cov"], 2.0, 0.15,
                 "exact", "Theorems 27 and 38: the zoom-in sends the couplings to 0 linearly in 1/2 - delta")
    return {"data": f"ising:L=4,beta=0.3,n={n}, sites 0-11, zoom-in delta=0.36", **res}


def _slope(eps: np.ndarray, fn: Callable[[float], float]) -> tuple[float, list[float]]:
    from ..theory import loglog_slope
    errs = [fn(float(e)) for e in eps]
    return loglog_slope(eps, errs), errs


def _rand_bm(n: int, seed: int):
    from ..models import BoltzmannMachine
    g = torch.Generator().manual_seed(seed)
    return BoltzmannMachine(torch.randn(n, n, generator=g, dtype=DT), torch.randn(n, generator=g, dtype=DT) * 0.7,
                            torch.rand(n, generator=g, dtype=DT), dtype=DT)


def _rand_rbm(t: float, seed: int = 9, random_h_hat: bool = False):
    from ..models import BinaryRBM
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(6, 3, generator=g, dtype=DT) * t
    b = torch.randn(6, generator=g, dtype=DT)
    c = torch.randn(3, generator=g, dtype=DT) * t
    vh = torch.rand(6, generator=g, dtype=DT)
    hh = torch.rand(3, generator=g, dtype=DT) if random_h_hat else torch.full((3,), 0.5, dtype=DT)
    return BinaryRBM(u, b, c, visible_offset=vh, hidden_offset=hh, dtype=DT)


@entry("theory-checks", "every statement of the EBM theory paper against exact enumeration, with corrections")
def theory_checks(study: Study) -> dict[str, Any]:
    """Errors and log-log slopes of every expansion in the lecture notes on energy-based models (unpublished), in the
    corrected form and, where the paper's printed form differs, in that form too."""
    from .. import theory as th
    from ..models import BoltzmannMachine
    from ..plots import subplots
    eps = np.geomspace(0.02, 0.16, study.size(4, 6))
    r: dict[str, Any] = {"eps": eps.tolist()}
    curves: dict[str, dict[str, list[float]]] = {}

    def log_diff(p: torch.Tensor, q: torch.Tensor) -> float:
        return float((p.log() - q.log()).abs().max())

    # Theorem 7, eq. 10, eq. 22
    rbm = _rand_rbm(1.0, random_h_hat=True)
    v, p = th.brute_force_marginal(rbm)
    e22 = th.effective_energy(rbm, v, keep_constant=True)
    r["theorem7_max_abs_p_error"] = float((torch.softmax(-e22.detach(), 0) - p).abs().max())
    ref = th.effective_energy_gradient(rbm, v[5:6])
    (gfull,) = torch.autograd.grad(th.effective_energy(rbm, v[5:6], keep_constant=True).sum(), [rbm.weights])
    (gprinted,) = torch.autograd.grad(th.effective_energy(rbm, v[5:6]).sum(), [rbm.weights])
    r["eq10_max_abs_error_eq8_form"] = float((gfull - ref["weights"][0]).abs().max())
    r["eq10_max_abs_error_printed_eq22"] = float((gprinted - ref["weights"][0]).abs().max())

    # Theorem 3
    g = torch.Generator().manual_seed(1)
    data = (torch.rand(500, 6, generator=g) < 0.35).double()
    data[:150, :3] = 1
    fit = th.fit_bm_exact(th.data_moments(data))
    r["theorem3_residual_at_exact_fit"] = th.maxent_residual(fit.model, data)["max_abs"]
    r["theorem3_residual_first_order"] = th.maxent_residual(th.perturbative_bm(th.data_moments(data)), data)["max_abs"]
    ent_bm = th.entropy_perturbations(th.perturbative_bm(th.exact_moments(_rand_bm(5, 5))), n_directions=10)
    ent_rbm = th.entropy_perturbations(_rand_rbm(1.5), n_directions=10)
    r["theorem3_entropy"] = {k: {"max_abs_first_order": e["max_abs_first_order"],
                                 "max_entropy_change": e["max_entropy_change"]}
                             for k, e in (("bm", ent_bm), ("rbm_marginal", ent_rbm))}

    # Lemmas 19-22
    b = torch.tensor([0.4, -1.5, 1.1, 2.2], dtype=DT)
    s = torch.sigmoid(b)
    bm0 = BoltzmannMachine(torch.zeros(4, 4), b, torch.zeros(4), dtype=DT)
    x, p0 = th.exact_distribution(bm0)
    z = x - s
    r["lemma17_max_abs_error"] = float((th.zeroth_order_log_prob(b, x).exp() - p0).abs().max())
    emp = {2: torch.einsum("s,sa,sb->ab", p0, z, z), 3: torch.einsum("s,sa,sb,sc->abc", p0, z, z, z),
           4: torch.einsum("s,sa,sb,sc,sd->abcd", p0, z, z, z, z)}
    r["lemmas19_22_max_abs_error"] = max([float((th.moment_tensor(s, 1) - p0 @ x).abs().max())]
                                         + [float((th.moment_tensor(s, k) - emp[k]).abs().max()) for k in (2, 3, 4)])

    # Theorem 24, Lemmas 25-26
    base = _rand_bm(5, 7)
    w, bb, c = base.weights.detach(), base.bias.detach(), base.centers
    x = th.exact_distribution(base)[0]
    p0 = th.zeroth_order_log_prob(bb, x).exp()

    def t24(e: float, centers: torch.Tensor, formula: Any) -> float:
        p = th.exact_distribution(BoltzmannMachine(e * w, bb, centers, dtype=DT))[1]
        return float((p - p0 * (1 + th.first_order_log_ratio(e * w, bb, x, formula))).abs().max())

    sig = torch.sigmoid(bb)
    for key, fn in (("theorem24_general", lambda e: t24(e, c, c)),
                    ("theorem24_printed_at_x_hat_sigma", lambda e: t24(e, sig, None)),
                    ("theorem24_printed_x_hat_not_sigma", lambda e: t24(e, c, None)),
                    ("lemma25_means", lambda e: float((th.exact_moments(BoltzmannMachine(e * w, bb, c, dtype=DT)).mean
                                                       - th.first_order_mean(e * w, bb, c)).abs().max())),
                    ("lemma26_covariances", lambda e: float((th.exact_moments(BoltzmannMachine(e * w, bb, c, dtype=DT)).cov
                                                             - th.first_order_covariance(e * w, bb, c)).abs().max()))):
        slope, errs = _slope(eps, fn)
        r[key] = {"slope": slope, "errors": errs}
        curves.setdefault("BM in W (Thm 24, Lem 25-26)", {})[key] = errs

    # Corollaries 28 / 30, eq. 44
    g = torch.Generator().manual_seed(3)
    data = (torch.rand(400, 5, generator=g) < torch.tensor([0.2, 0.4, 0.5, 0.6, 0.85])).double()
    data[:80, :2] = 1
    mom = th.data_moments(data)
    b28, w28 = th.mean_field_bm(data)
    b30, w30 = th.mean_field_bm(data, self_interaction=True)
    p28 = th.exact_distribution(BoltzmannMachine(w28, b28, mom.mean, dtype=DT))[1]
    p30 = th.exact_distribution(BoltzmannMachine(w30, b30, mom.mean, dtype=DT))[1]
    r["corollary30_vs_28_max_abs_log_p"] = log_diff(p28, p30)
    r["eq44"] = {"x_hat": mom.mean.tolist(), "exact_sigma_b": torch.sigmoid(b30).tolist(),
                 "printed_2x_minus_half": (2 * mom.mean - 0.5).tolist()}
    r["lemma29_min_eigenvalue"] = float(torch.linalg.eigvalsh(th.scaled_covariance(mom.cov)).min())

    # Remark 34: spectral radius, not max |r|
    g = torch.Generator().manual_seed(4)
    signs = torch.sign(torch.randn(12, 12, generator=g, dtype=DT)).triu(1)
    rows = []
    for name, pattern in (("all positive", torch.ones(12, 12, dtype=DT)), ("random signs", signs + signs.t())):
        for rr in (0.05, 0.02, 0.01):
            cov = 0.25 * torch.where(torch.eye(12, dtype=torch.bool), torch.ones(12, 12, dtype=DT), rr * pattern)
            m = th.Moments(torch.full((12,), 0.5, dtype=DT), cov)
            rows.append({"pattern": name, "pearson": rr, "spectral_radius": th.validity(m)["pearson_spectral_radius"],
                         "relative_cov_error": th.perturbation.first_order_errors(m)["cov_error"] / (0.25 * rr)})
    r["remark34"] = rows

    # Lemma 31, Remark 33 gauge, Theorem 32
    def l31(t: float, random_h_hat: bool = False) -> float:
        rb = _rand_rbm(t, random_h_hat=random_h_hat)
        return log_diff(th.exact_distribution(rb)[1], th.exact_distribution(th.effective_bm(rb))[1])

    o = th.random_orthogonal(3, seed=1)
    for key, fn in (("lemma31", l31), ("lemma31_random_h_hat", lambda t: l31(t, True)),
                    ("remark33_gauge_exact_marginal", lambda t: log_diff(
                        th.exact_distribution(_rand_rbm(t))[1],
                        th.exact_distribution(th.gauge_transform(_rand_rbm(t), o))[1]))):
        slope, errs = _slope(eps, fn)
        r[key] = {"slope": slope, "errors": errs}
        curves.setdefault("RBM in U (Lem 31, Rem 33)", {})[key] = errs
    g = torch.Generator().manual_seed(5)
    mean = 0.3 + 0.4 * torch.rand(7, generator=g, dtype=DT)
    vv = mean * (1 - mean)
    u0 = torch.randn(7, 2, generator=g, dtype=DT) * 0.3
    cov = torch.where(torch.eye(7, dtype=torch.bool), torch.diag(vv), 0.25 * u0 @ u0.t() * torch.outer(vv, vv))
    r["theorem32"] = {f"rank2_target_{k}_hidden": th.solve_rbm_perturbation(th.Moments(mean, cov), k).residual
                      for k in (1, 2)}

    # zoom-in
    n_rows, delta, pp, reps = 2000, 0.05, 0.05, 2000
    gg = torch.Generator().manual_seed(7)
    x1 = (torch.rand(n_rows, 1, generator=gg) < pp).double()
    means = th.zoom_in(x1.repeat(1, reps), delta, seed=2).mean(0)
    r["theorem38_spread"] = {"measured": float(means.std()),
                             "conditional": float(th.zoom_in_mean_std(x1.mean(), delta, n_rows)),
                             "paper": float(th.zoom_in_mean_std(x1.mean(), delta, n_rows, conditional=False)),
                             "x_hat": float(x1.mean()), "delta": delta, "n": n_rows, "replicas": reps}
    r["theorem38_mean_limit_eps_1e-3"] = float(th.zoom_in_mean(x1.mean(), 0.5 - 1e-3))

    # Appendix A and eq. 61
    rb = _rand_rbm(1.0, seed=11)
    vs = th.exact_distribution(rb)[0]

    def app_a(beta: float) -> tuple[float, float]:
        w_eff, b_eff = th.rbm_to_bm(rb, beta)
        e = th.effective_energy_at(rb, vs, beta)
        y = vs - rb.visible_offset
        d = e - (-0.5 * ((y @ w_eff) * y).sum(1) - vs @ b_eff)
        bm = BoltzmannMachine(w_eff, b_eff, rb.visible_offset, dtype=DT)
        return float((d - d.mean()).abs().max()), log_diff(th.exact_distribution(rb, beta)[1],
                                                           th.exact_distribution(bm, beta)[1])

    rows_a = np.array([app_a(float(b)) for b in eps])
    r["appendixA_E_eff"] = {"slope": th.loglog_slope(eps, rows_a[:, 0]), "errors": rows_a[:, 0].tolist()}
    r["appendixA_log_p"] = {"slope": th.loglog_slope(eps, rows_a[:, 1]), "errors": rows_a[:, 1].tolist()}
    curves["temperature (App. A, eq. 61)"] = {"appendixA_E_eff": rows_a[:, 0].tolist(),
                                              "appendixA_log_p": rows_a[:, 1].tolist()}
    bm = _rand_bm(5, 12)
    xs = th.exact_distribution(bm)[0]
    for form in ("corrected", "paper"):
        slope, errs = _slope(eps, lambda be: float((th.exact_distribution(bm, be)[1] - (
            1 + th.high_temperature_log_ratio(bm, xs, be, form)) / 2 ** 5).abs().max()))
        r[f"eq61_{form}"] = {"slope": slope, "errors": errs}
        curves["temperature (App. A, eq. 61)"][f"eq61_{form}"] = errs

    fig, axes = subplots(1, len(curves), figsize=(5.2 * len(curves), 4.2))
    for ax, (title, cs) in zip(np.atleast_1d(axes), curves.items()):
        for key, errs in cs.items():
            slope = r[key]["slope"]
            ax.loglog(eps, errs, marker="o", label=f"{key}: slope {slope:.2f}")
        ax.set_xlabel("expansion parameter (coupling scale or beta)"); ax.set_ylabel("max error vs exact")
        ax.set_title(title); ax.legend(fontsize=7); ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    study.save(fig, "theory_checks.png", "remainders of the expansions against exact enumeration")
    _declare_theory_figures(study, r)
    return r


SLOPES = {  # key of theory-checks: (expected log-log slope of the remainder, the statement it checks)
    "theorem24_general": (2.0, "Theorem 24 with general centres (corrected): remainder O(W^2)"),
    "theorem24_printed_at_x_hat_sigma": (2.0, "Theorem 24 / eq. 33 as printed, at x_hat = sigma(b)"),
    "lemma25_means": (2.0, "Lemma 25 with the general-centre term: means to second order"),
    "lemma26_covariances": (2.0, "Lemma 26 with the general-centre term: covariances to second order"),
    "lemma31": (4.0, "Lemma 31, corrected: |ln p_RBM - ln p_BM| = O(U^4) (the paper prints O(U^3))"),
    "lemma31_random_h_hat": (4.0, "Lemma 31 with random h_hat: O(U^4)"),
    "remark33_gauge_exact_marginal": (4.0, "Remark 33: the gauge U -> U O changes the RBM marginal at O(U^4)"),
    "appendixA_E_eff": (3.0, "Appendix A, corrected: E_eff(v; beta) remainder O(beta^3)"),
    "appendixA_log_p": (4.0, "Appendix A: ln p_RBM - ln p_BM = O(beta^4)"),
    "eq61_corrected": (2.0, "eq. 61 with the sign and the centre terms corrected: remainder O(beta^2)"),
}
PRINTED_FAILS = {  # the printed form of a statement: its remainder slope stays near 1 (wrong at first order)
    "theorem24_printed_x_hat_not_sigma": "eq. 33 as printed with centres x_hat != sigma(b)",
    "eq61_paper": "eq. 61 as printed (sign, no centre terms)",
}


def _declare_theory_figures(study: Study, r: dict[str, Any]) -> None:
    """Remainder slopes of every expansion (corrected forms: the order the statement claims; printed forms that
    fail: a slope below 1.5, i.e. the printed first-order term is wrong) and the exact identities."""
    paper = "the EBM theory notes"
    tol = study.size(0.25, 0.15)
    for key, (slope, what) in SLOPES.items():
        study.figure(f"{key}: remainder slope", r[key]["slope"], slope, tol, "exact", f"{paper}: {what}")
    for key, what in PRINTED_FAILS.items():
        study.figure(f"{key}: remainder slope (printed form fails)", r[key]["slope"], 1.5, 0.0, "upper",
                     f"{paper}: {what}; the corrected form has slope 2")
    for key, what, tol_abs in (
            ("theorem7_max_abs_p_error", "Theorem 7: exp(-E_eff of eq. 22) / Z = p(v)", 1e-12),
            ("eq10_max_abs_error_eq8_form", "Lemma 8 (eq. 10) for E_eff of eq. 8 (constant kept)", 1e-12),
            ("theorem3_residual_at_exact_fit", "Theorem 3 / eq. 5: moments match at the exact ML fit", 1e-8),
            ("lemma17_max_abs_error", "Lemma 17: the zeroth-order distribution", 1e-12),
            ("lemmas19_22_max_abs_error", "Lemmas 19-22: central moments of independent units", 1e-12),
            ("corollary30_vs_28_max_abs_log_p", "eq. 39 exact in the diagonal: Corollaries 28 and 30 agree", 1e-10)):
        study.figure(key, r[key], 0.0, tol_abs, "exact", f"{paper}: {what} (exact enumeration)")
    study.figure("eq10_max_abs_error_printed_eq22 (printed form fails)", r["eq10_max_abs_error_printed_eq22"], 0.1,
                 0.0, "lower", f"{paper}: eq. 22 as printed drops a U-dependent constant, so eq. 10 fails for it")
    t38 = r["theorem38_spread"]
    study.figure("Theorem 38: spread of zoomed means vs delta (1 - delta) / N", t38["measured"], t38["conditional"],
                 0.05, "relative", f"{paper}: Theorem 38, corrected spread for one given data set")
    study.figure("Theorem 38: means as delta -> 1/2 (eps = 1e-3)", r["theorem38_mean_limit_eps_1e-3"], 0.5, 1e-3,
                 "exact", f"{paper}: eq. 59, corrected: the means tend to 1/2, not 0")
    study.figure("Theorem 32: rank-2 target with 2 hidden units, relative residual",
                 r["theorem32"]["rank2_target_2_hidden"]["relative"], 0.0, 1e-8, "exact",
                 f"{paper}: Theorem 32 (solvable)")
