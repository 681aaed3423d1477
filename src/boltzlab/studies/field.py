"""`boltzlab reproduce field-*`: the scalar-field RBM as a UV regulator (Aarts, Lucini, Park,
Phys. Rev. D 109, 034521 (2024), arXiv:2309.15002): learnt spectra against the lattice kernel, the cutoffs
set by mu^2 and N_h, the learning flow, the KL of App. B, MNIST (Sec. VI) and the Gaussian-Bernoulli model
(Sec. VII).  docs/field-theory.md quotes the full tier.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import Study, entry

M2 = 4.0
PAPER = "Aarts, Lucini, Park, PRD 109, 034521 (2024)"


def _cfg(epochs: int, method: str = "pcd", lr: float = 0.1, decay: float = 0.99, seed: int = 0, **kw: Any):
    from ..field import FieldTrainConfig
    return FieldTrainConfig(epochs=epochs, lr=lr, decay=decay, decay_every=128, method=method, chains=128,
                            record_every=max(1, epochs // 400), seed=seed, **kw)


def _slim(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in ("history", "weights", "weights_initial")}


@entry("field-random-start", "1D free field, N_v = N_h = 10, m^2 = 4, mu^2 = 9: PCD from W ~ N(0, 0.1) with lr decay "
                             "learns every kappa (Figs. 5, 18); action-density histograms")
def random_start(study: Study) -> dict[str, Any]:
    """Sec. V B: PCD (128 chains, one sweep per epoch, eta_0 = 0.1, r = 0.99 every 128 epochs) from a random
    start; the exact-gradient run of the same problem; the action density of RBM samples (Fig. 5)."""
    out = study.out
    from .pipelines.field import action_histograms, make_model, train_lattice
    pcd = train_lattice(out, (10,), M2, 9.0, 10, config=_cfg(study.size(3_000, 60_000)), tag="pcd")
    exact = train_lattice(out, (10,), M2, 9.0, 10, config=_cfg(3_000, "exact", lr=0.2, decay=1.0), tag="exact")
    model = make_model(10, 10, 9.0)
    import torch
    with torch.no_grad():
        model.weights.copy_(torch.as_tensor(pcd["weights"]))
    action = action_histograms(out, model, (10,), M2, n=study.size(5_000, 20_000), steps=100)
    study.figure("PCD: max relative error of lambda vs kappa", pcd["max_relative_error"], 0.0,
                 study.size(0.08, 0.01), "upper", PAPER + ", Sec. V B / Fig. 18: every kappa_k learnt (1%)")
    study.figure("exact gradient: max relative error of lambda vs kappa", exact["max_relative_error"], 0.0, 1e-5,
                 "upper", "eq. (26) fixed point: lambda = kappa exactly")
    study.figure("action density <S>/N_v of RBM samples", action["mean_rbm"], 0.5, study.size(0.05, 0.01),
                 "relative", PAPER + ", Fig. 5: equipartition <S>/N_v = 1/2")
    return {"pcd": _slim(pcd), "exact": _slim(exact), "action_density": action,
            "max_relative_error_pcd": pcd["max_relative_error"], "max_relative_error_exact": exact["max_relative_error"],
            "plots": pcd["plots"] + exact["plots"] + action["plots"]}


@entry("field-exact-inits", "Cholesky and symmetric initialisations stay at the exact solution under PCD (Figs. 3-4)")
def exact_inits(study: Study) -> dict[str, Any]:
    from .pipelines.field import train_lattice
    res: dict[str, Any] = {"plots": []}
    for init in ("cholesky", "symmetric"):
        r = train_lattice(study.out, (10,), M2, 9.0, 10, config=_cfg(study.size(1_000, 10_000), lr=0.01, decay=1.0),
                          init=init, tag=init)
        n = r["history"]["norms"]
        res[init] = {**_slim(r), "mean_norms": {k: float(np.mean(v)) for k, v in n.items()},
                     "std_norms": {k: float(np.std(v)) for k, v in n.items()}}
        res["plots"] += r["plots"]
        study.figure(f"{init} start: max relative error of lambda vs kappa", r["max_relative_error"], 0.0, 0.03,
                     "upper", PAPER + ", Figs. 3-4: PCD fluctuates about the exact solution")
    n = res["cholesky"]["mean_norms"]
    study.figure("Cholesky start: |upper triangle| / |lower triangle|", n["upper"] / n["lower"], 0.0, 0.05, "upper",
                 PAPER + ", Fig. 3: the lower-triangular solution stays lower-triangular")
    n = res["symmetric"]["mean_norms"]
    study.figure("symmetric start: |antisymmetric part| / |symmetric part|", n["antisymmetric"] / n["symmetric"], 0.0,
                 0.01, "upper", PAPER + ", Fig. 4: the symmetric solution stays symmetric")
    return res


@entry("field-mu2-cutoff", "UV cutoff by mu^2 = 6 (1D, N_v = N_h = 10): eigenvalues above 6 stay at mu^2, those below "
                           "are learnt (Fig. 10)")
def mu2_cutoff(study: Study) -> dict[str, Any]:
    from .pipelines.field import train_lattice
    r = train_lattice(study.out, (10,), M2, 6.0, 10, config=_cfg(study.size(3_000, 40_000)))
    lam = np.asarray(r["eigenvalues"])
    kap = np.asarray(r["target_eigenvalues"])
    above = kap > 6.0
    study.figure("kappa > mu^2: max |lambda - mu^2| / mu^2", np.max(np.abs(lam[above] - 6.0) / 6.0), 0.0,
                 study.size(1e-4, 1e-6),
                 "upper", PAPER + ", eq. (81) / Fig. 10: their singular values decay to 0")
    study.figure("kappa < mu^2: max relative error of lambda", np.max(np.abs(lam[~above] - kap[~above]) / kap[~above]),
                 0.0, study.size(0.08, 0.01), "upper", PAPER + ", Fig. 10: the modes below mu^2 are learnt (1%)")
    return {**_slim(r), "n_modes_above_mu2": int(above.sum()),
            "max_relative_error_above_mu2": float(np.max(np.abs(lam[above] - 6.0) / 6.0)),
            "max_relative_error_below_mu2": float(np.max(np.abs(lam[~above] - kap[~above]) / kap[~above]))}


@entry("field-hidden-cutoff", "UV cutoff by N_h = 9, 8, 7, 6 (1D, N_v = 10, mu^2 = 9): the top N_v - N_h eigenvalues "
                              "stay at mu^2 (Fig. 11)")
def hidden_cutoff(study: Study) -> dict[str, Any]:
    from .pipelines.field import uv_regularisation
    r = uv_regularisation(study.out, (10,), M2, [], study.size([6], [9, 8, 7, 6]), 9.0,
                          _cfg(study.size(3_000, 40_000)))
    for run in r["runs"]:
        lam = np.asarray(run["eigenvalues"])
        nh = run["n_hidden"]
        run["top_eigenvalues"] = lam[nh:].tolist()
        run["max_relative_error_top_at_mu2"] = float(np.max(np.abs(lam[nh:] - 9.0) / 9.0))
        run["max_relative_error_learnt"] = float(np.max(run["relative_errors"][:nh]))
        study.figure(f"N_h = {nh}: top N_v - N_h eigenvalues, max |lambda - mu^2| / mu^2",
                     run["max_relative_error_top_at_mu2"], 0.0, 1e-10, "upper",
                     PAPER + ", eq. (84) / Fig. 11: exact by rank")
        study.figure(f"N_h = {nh}: learnt eigenvalues, max relative error", run["max_relative_error_learnt"], 0.0,
                     study.size(0.08, 0.01), "upper", PAPER + ", Fig. 11: the N_h most infrared modes learnt (1%)")
    return r


@entry("field-2d", "4x4 lattice, m^2 = 4, mu^2 = 16: the degenerate eigenvalues 6, 8, 10 within 1% with lr decay "
                   "(Fig. 9); UV cutoffs mu^2 = 9 and N_h = 8 (Fig. 12)")
def lattice_2d(study: Study) -> dict[str, Any]:
    out, quick = study.out, study.quick
    from .pipelines.field import train_lattice, uv_regularisation
    decay = train_lattice(out, (4, 4), M2, 16.0, 16, config=_cfg(study.size(3_000, 80_000)), tag="decay")
    const = train_lattice(out, (4, 4), M2, 16.0, 16, config=_cfg(study.size(1_500, 20_000), lr=0.1, decay=1.0),
                          tag="constant")
    lam = np.asarray(decay["eigenvalues"])
    kap = np.asarray(decay["target_eigenvalues"])
    groups = {}
    for k in (6.0, 8.0, 10.0):
        sel = np.isclose(kap, k)
        groups[f"{k:g}"] = {"eigenvalues": lam[sel].tolist(),
                            "max_relative_error": float(np.max(np.abs(lam[sel] - k) / k))}
    res = {"decay": _slim(decay), "constant_lr": _slim(const), "degenerate_groups": groups,
           "max_relative_error_6_8_10": max(g["max_relative_error"] for g in groups.values()),
           "plots": decay["plots"] + const["plots"]}
    study.figure("lr decay: degenerate 6, 8, 10, max relative error", res["max_relative_error_6_8_10"], 0.0,
                 study.size(0.1, 0.01), "upper", PAPER + ", Fig. 9 right: within 1% with lr decay")
    if not quick:
        uv = uv_regularisation(out, (4, 4), M2, [9.0], [8], 16.0, _cfg(40_000))
        res["uv"] = uv
        res["plots"] += uv["plots"]
    return res


@entry("field-kl", "analytic KL of eq. (B8) against the numerically evaluated KL of trained RBMs (1D, mu^2 = 9)")
def kl(study: Study) -> dict[str, Any]:
    from .pipelines.field import kl_check
    r = kl_check(study.out, (10,), M2, 9.0, study.size([9, 6], [10, 9, 8, 7, 6, 5, 4]),
                 _cfg(study.size(2_000, 5_000), "exact", lr=0.2, decay=1.0), n_mc=study.size(50_000, 400_000))
    study.figure("max relative difference, eq. (B8) vs Gaussian KL of the trained RBM", r["max_relative_difference"],
                 0.0, study.size(0.1, 1e-3), "upper", PAPER + ", eq. (B8) at the fixed point of training (quick: "
                                                          "2,000 epochs leave N_h = 9 short of it)")
    for row in r["rows"]:
        study.figure(f"N_h = {row['n_hidden']}: Monte Carlo KL vs eq. (B8)", row["kl_monte_carlo"], row["kl_b8"], 4,
                     "stderr", PAPER + ", eq. (B8)", stderr=max(row["kl_monte_carlo_stderr"], 1e-12))
    return r


@entry("field-flow", "continuous-time learning equations (eq. 26, 81) laid over exact-gradient and PCD training (Fig. 6)")
def flow(study: Study) -> dict[str, Any]:
    out = study.out
    from .pipelines.field import flow_overlay
    ex = flow_overlay(out / "exact", (10,), M2, 9.0, 10, _cfg(study.size(2_000, 4_000), "exact", lr=0.05, decay=1.0))
    pcd = flow_overlay(out / "pcd", (10,), M2, 9.0, 10, _cfg(study.size(2_000, 20_000), lr=0.02, decay=1.0))
    study.figure("exact gradient vs eq. (26): max |lambda_train - lambda_flow|",
                 ex["max_abs_deviation_training_vs_flow"],
                 0.0, 0.03, "upper", PAPER + ", eq. (26), Fig. 6 (Euler error of the discrete updates)")
    study.figure("PCD vs eq. (26): final |lambda_train - lambda_flow|", pcd["final_abs_deviation_training_vs_flow"],
                 0.0, 0.2, "upper", PAPER + ", eq. (26), Fig. 6 (sampling noise of 128 chains)")
    return {"exact": _slim(ex), "pcd": _slim(pcd), "plots": ex["plots"] + pcd["plots"]}


@entry("field-two-node", "N_v = 2: eq. (53)-(57) vs PCD, fixed points (59-62) and relaxation rates (67) (Fig. 2)")
def two_node(study: Study) -> dict[str, Any]:
    from ..field import FieldTrainConfig
    from .pipelines.field import two_node_study
    # the PCD overlay (dots of Fig. 2) runs t / lr epochs; the quick tier takes 10x larger steps
    r = two_node_study(study.out, FieldTrainConfig(epochs=4000, lr=study.size(0.02, 0.002), chains=512,
                                                   record_every=20, seed=0))
    for case in r["cases"][:2]:
        study.figure(f"{case['label']}: flow end vs fixed point (eq. 59-62), max |d lambda|",
                     np.max(np.abs(np.subtract(case["flow_final_eigenvalues"],
                                               sorted(case["fixed_point"]["eigenvalues"])))),
                     0.0, 1e-3, "upper", PAPER + ", eq. (59)-(62)")
    learnt = r["cases"][2]
    study.figure("learnt mu^2: flow end vs kappa_max", learnt["flow_final_mu2"], max(learnt["kappa"]), 0.01,
                 "relative", PAPER + ", Fig. 2 bottom: mu^2 grows to the largest kappa")
    rel = r["relaxation"]
    study.figure("relaxation rate of dtheta vs gamma_dtheta (eq. 67)", rel["fitted_rate_dtheta"], rel["gamma_dtheta"],
                 0.01, "relative", PAPER + ", eq. (67)")
    study.figure("relaxation rate of x_2 vs 2 gamma_2 (eq. 67; the text's gamma_2 is half of it)",
                 rel["fitted_rate_x2"], 2 * rel["gamma_2"], 0.01, "relative",
                 PAPER + ", eq. (67), corrected: x_2 = xi_2^2 - (mu^2 - kappa_2) decays at 2 gamma_2")
    return r


@entry("field-mnist", "MNIST correlation spectrum and modes below mu^2 = 100 (Fig. 13), KL vs N_h (eq. 86, Fig. 17), "
                      "regenerated images (Fig. 16)")
def mnist(study: Study) -> dict[str, Any]:
    out, quick = study.out, study.quick
    from ..data import load_dataset
    from .pipelines.field import kl_vs_hidden, mnist_spectrum, regenerate_images
    data = load_dataset(str(study.mnist()))
    if quick:
        data = data[:2000]
    spec = mnist_spectrum(out, data, 100.0)
    # Fig. 17 at the fixed points of training (the N_h most infrared modes below mu^2 learnt, eq. 84): training
    # there from a random start needs ~1e6 epochs (the paper's count), since the stable learning rate is
    # kappa_min^2 / (mu^2 - kappa_min) = 6e-6 for MNIST (stable_learning_rate); `boltzlab field kl-hidden --epochs`
    klh = kl_vs_hidden(out, data, 100.0, [8, 16, 32, 64, 100, 150, 200, 246, 300, 400, 784])
    regen = regenerate_images(out, data, 100.0, [8, 16, 32, 64, 128, 246, 784])
    n_below = spec["modes_below_mu2"]
    if not quick:
        study.figure("MNIST test set: modes with kappa < mu^2 = 100", n_below, 246, 0, "exact",
                     "this repository's measurement on the 10,000 test images (the paper: 289 on the 60,000 "
                     "training images, Fig. 13)")
    beyond = [r["kl_minus_best"] for r in klh["rows"] if r["n_hidden"] >= n_below]
    study.figure("KL (eq. 86) for N_h >= modes below mu^2, minus its N_h = N_v value", max(np.abs(beyond)), 0.0,
                 1e-6, "exact", PAPER + ", eq. (84)/(86), Fig. 17: the cutoff set by mu^2")
    kls = [r["kl_minus_best"] for r in klh["rows"]]
    study.figure("KL decreases with N_h (max successive increase)", max(np.diff(kls)), 0.0, 1e-9, "upper",
                 PAPER + ", Fig. 17")
    mse = [regen["mse"][h] for h in sorted(regen["mse"])]
    study.figure("regeneration MSE decreases with N_h (max successive increase)", max(np.diff(mse)), 0.0,
                 1e-9, "upper", PAPER + ", Fig. 16")
    return {"spectrum": spec, "kl_vs_hidden": klh, "regenerate": regen,
            "plots": spec["plots"] + klh["plots"] + regen["plots"]}


@entry("field-bernoulli", "Gaussian-Bernoulli RBM (h = +-1): sampling vs quadrature, effective action, quartic "
                          "couplings (eq. 91-95), training")
def bernoulli(study: Study) -> dict[str, Any]:
    from .pipelines.field import bernoulli_study
    r = bernoulli_study(study.out, n_samples=study.size(20_000, 200_000), epochs=study.size(200, 500))
    study.figure("ln Z: enumeration of h vs quadrature of eq. (91)", r["log_z_enumeration"], r["log_z_quadrature"],
                 1e-10, "exact", PAPER + ", eq. (91): 1D quadrature")
    for what, sampler in (("block Gibbs", "gibbs"), ("exact sampler", "exact_sampler")):
        study.figure(f"P(phi > 0), {what}", r[f"p_positive_{sampler}"], r["p_positive_quadrature"], 4, "stderr",
                     "quadrature of eq. (91) (the two modes are unequal: P(phi > 0) checks the balance)",
                     stderr=r["p_positive_stderr"])
    study.figure("<phi^2>, block Gibbs", r["phi2_gibbs"], r["phi2_quadrature"], 4, "stderr",
                 "quadrature of eq. (91)", stderr=r["phi2_stderr"])
    study.figure("4th derivative of the effective action at 0 vs 2 lambda",
                 r["max_abs_error_fourth_derivative_vs_2_lambda"],
                 0.0, 1e-10, "exact", PAPER + ", eq. (93)-(95): quartic couplings")
    study.figure("Hessian of the effective action at 0 vs K", r["max_abs_error_hessian_vs_K"], 0.0, 1e-10, "exact",
                 PAPER + ", eq. (92)")
    study.figure("exact-gradient training: final LL - generating model's LL", r["train_curves"]["exact"][-1] -
                 r["train_true_log_likelihood"], 0.0, 0.02, "upper",
                 "the generating model's exact LL on its samples (a fit may exceed it by overfitting only slightly)")
    return r
