"""Reproduction entries for the nonequilibrium thermodynamics of RBMs (Salazar, Phys. Rev. E 96, 022131 (2017))
(docs/thermodynamics.md).

* ``thermo-detailed-balance``: the exact 4x3 demonstration that the plain sweep h|v, v|h is not reversible
  on (v, h) and the heat-exchange relation fails for it, while the palindromic sweep (and the random scan)
  satisfy both to rounding error; with the corrected relation for the plain sweep.
* ``thermo-xft-sampled``: the sampled XFT experiment on a 6x4 RBM against its exact P(Q), and the same
  statistic with a sampler at the wrong temperature.
* ``thermo-work``: Jarzynski and Crooks on an inverse-temperature ramp, exact and sampled, per kernel.
* ``thermo-curves``: F, <E>, S, C against T, exact and AIS, on a 12x8 RBM.
* ``thermo-cd``: contrastive divergence as a relaxation along a CD-1 training run of a 9x4 RBM on 3x3 Ising
  data, exactly.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from ..models import BinaryRBM
from .registry import Study, entry


PAPER = "Salazar, PRE 96, 022131 (2017)"


def _rbm(nv: int, nh: int, scale: float, seed: int) -> BinaryRBM:
    g = torch.Generator().manual_seed(seed)
    return BinaryRBM(torch.randn(nv, nh, generator=g, dtype=torch.float64) * scale,
                     torch.randn(nv, generator=g, dtype=torch.float64) * 0.5,
                     torch.randn(nh, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)


@entry("thermo-detailed-balance", "exact 4x3 RBM: the plain Gibbs sweep breaks detailed balance and the XFT; "
                                  "the palindromic sweep holds both to rounding error")
def thermo_detailed_balance(study: Study) -> dict[str, Any]:
    """Exact K-step transition matrices of every kernel on a 4x3 binary RBM (128 joint states): the largest
    |ln p(s)T(s->s') - ln p(s')T(s'->s)|, and the exact heat distribution of one T2 = 2 step from T1 = 1:
    max_q |ln P(q)/P(-q) - (beta1 - beta2) q| for each kernel, and for the plain sweep paired with its
    time reversal A_v A_h (the corrected relation)."""
    from ..plots import subplots
    from ..thermo.exact import detailed_balance, heat_distribution, transition_matrix, xft_deviation
    rbm = _rbm(4, 3, 1.5, 0)
    b1, b2 = 1.0, 0.5
    kernels = ["plain", "palindromic", "random-scan", "visible"]
    db: dict[str, list[float]] = {}
    steps = [1, 2, 3, 4, 5]
    for k in kernels:
        db[k] = [detailed_balance(*transition_matrix(rbm, k, b2, s))["max_log_ratio"] for s in steps]
    xft: dict[str, Any] = {}
    curves = {}
    for k in ["plain", "palindromic", "random-scan"]:
        q, p = heat_distribution(rbm, b1, b2, k)
        d = xft_deviation(q, p, b1 - b2)
        xft[k] = d["max_abs_deviation"]
        curves[k] = d
    qf, pf = heat_distribution(rbm, b1, b2, "plain")
    qr, pr = heat_distribution(rbm, b1, b2, "plain", reversed_kernel=True)
    corr = xft_deviation(qf, pf, b1 - b2, mirror=(qr, pr))
    xft["plain with its reversal A_v A_h"] = corr["max_abs_deviation"]
    fig, axes = subplots(1, 3, figsize=(16, 4.3))
    for k, style in zip(kernels, ("-o", "--s", ":^", "-.d")):
        axes[0].semilogy(steps, np.maximum(db[k], 1e-17), style, ms=7 if k == "palindromic" else 4, label=k)
    axes[0].set_xlabel("K (steps)")
    axes[0].set_ylabel("max |ln p(s)T^K(s->s') - ln p(s')T^K(s'->s)|")
    axes[0].set_title("detailed balance on (v, h) (v alone for 'visible')", fontsize=10)
    axes[0].legend(fontsize=8)
    for k, mk in (("plain", "x"), ("palindromic", "o")):
        d = curves[k]
        axes[1].plot(d["q"], d["log_ratio"], mk, ms=2, alpha=0.5, label=f"{k} sweep")
    qq = np.linspace(0, float(curves["palindromic"]["q"].max()), 10)
    axes[1].plot(qq, (b1 - b2) * qq, "k-", lw=1, label="(beta1 - beta2) Q")
    axes[1].set_xlabel("Q")
    axes[1].set_ylabel("ln P(Q) / P(-Q), exact")
    axes[1].set_title("heat exchange, T1 = 1 -> T2 = 2, one step", fontsize=10)
    axes[1].legend(fontsize=8)
    for k in ["plain", "palindromic", "random-scan"]:
        d = curves[k]
        axes[2].semilogy(d["q"], np.maximum(np.abs(d["log_ratio"] - (b1 - b2) * d["q"]), 1e-17), ".", ms=2,
                         label=f"{k}: max {xft[k]:.1e}")
    axes[2].semilogy(corr["q"], np.maximum(np.abs(corr["log_ratio"] - (b1 - b2) * corr["q"]), 1e-17), ".", ms=2,
                     label=f"plain vs reversal: max {corr['max_abs_deviation']:.1e}")
    axes[2].set_xlabel("Q")
    axes[2].set_ylabel("|ln P(Q)/P(-Q) - (beta1 - beta2) Q|")
    axes[2].set_title("deviation from the XFT (1e-17 = exactly 0)", fontsize=10)
    axes[2].legend(fontsize=7)
    for a in axes:
        a.grid(alpha=0.3)
    study.save(fig, "detailed_balance.png", "exact 4x3 RBM (weights N(0, 1.5^2))")
    exact = "exact transition matrices (128 joint states)"
    for k in ("palindromic", "random-scan", "visible"):
        study.figure(f"detailed balance, {k} kernel: max log ratio over K = 1..5", max(db[k]), 0.0, 1e-12, "exact",
                     f"{PAPER}, sec. 2: reversible kernels satisfy detailed balance ({exact})")
    study.figure("detailed balance, plain sweep h|v, v|h, K = 1 (the paper's claim fails)", db["plain"][0], 1.0,
                 0.0, "lower", f"{PAPER}, sec. 2 claims it for the plain sweep; it is not reversible ({exact})")
    for k in ("palindromic", "random-scan", "plain with its reversal A_v A_h"):
        study.figure(f"XFT, {k}: max |ln P(Q)/P(-Q) - (beta1 - beta2) Q|", xft[k], 0.0, 1e-12, "exact",
                     f"{PAPER}, eq. of sec. 3.2 (for a non-reversible kernel: against its time reversal)")
    study.figure("XFT, plain sweep as the paper runs it (fails)", xft["plain"], 1.0, 0.0, "lower",
                 f"{PAPER}, sec. 3.2-3.3: the plain sweep breaks the XFT ({exact})")
    return {"shape": [4, 3], "beta1": b1, "beta2": b2, "steps": steps, "detailed_balance_max_log_ratio": db,
            "xft_max_abs_deviation": xft}


@entry("thermo-xft-sampled", "sampled heat exchange on a 6x4 RBM against its exact P(Q); a wrong-temperature "
                             "sampler fails")
def thermo_xft_sampled(study: Study) -> dict[str, Any]:
    """heat_exchange with exact T1 equilibrium reached by 200 sweeps, T2 = 2 and 0.7, 200,000 chains (20,000
    with --quick); the fitted slope against beta1 - beta2 and the exact P(Q); then the same experiment with
    the T2 kernel secretly at 1.3 / T2."""
    from ..sampling.kernels import PalindromicSweep
    from ..thermo.exact import heat_distribution
    from ..thermo.xft import heat_exchange
    from .report_plots import plot_xft

    class WrongTemperature(PalindromicSweep):
        def at(self, model=None, beta=None):
            k = super().at(model, beta)
            k.beta *= 1.3
            return k

    rbm = _rbm(6, 4, 1.0, 1)
    n = study.size(20_000, 200_000)
    res: dict[str, Any] = {"shape": [6, 4], "chains": n}
    for label, kern in (("correct", "palindromic"), ("wrong_temperature", WrongTemperature(rbm))):
        r = heat_exchange(rbm, 1.0, [2.0, 0.7], n, 200, 1, kern, 1.0, seed=3)
        res[label] = {f"{run.t2:g}": {k: run.fit[k] for k in ("slope", "slope_stderr", "p_value")} |
                      {"expected": run.expected_slope, "z": (run.fit["slope"] - run.expected_slope) / run.fit["slope_stderr"]}
                      for run in r.runs}
        study.save(plot_xft(r), f"xft_{label}.png")
    exact = {}
    for t2 in (2.0, 0.7):
        q, p = heat_distribution(rbm, 1.0, 1 / t2, "palindromic")
        exact[f"{t2:g}"] = {"mean_q": float((q * p).sum()), "std_q": float(np.sqrt((q * q * p).sum() - (q * p).sum() ** 2))}
    res["exact"] = exact
    for t2, fit in res["correct"].items():
        study.figure(f"XFT slope, T2 = {t2}", fit["slope"], fit["expected"], 4, "stderr",
                     f"{PAPER}, sec. 3.3: slope beta1 - beta2", stderr=fit["slope_stderr"])
        wrong = res["wrong_temperature"][t2]
        study.figure(f"XFT slope with the T2 kernel at 1.3 / T2, T2 = {t2}: |z|", abs(wrong["z"]), 10.0, 0.0, "lower",
                     "a sampler at the wrong temperature must fail the statistic by many standard errors")
    return res


@entry("thermo-work", "Jarzynski and Crooks on an inverse-temperature ramp, exact per kernel and sampled")
def thermo_work(study: Study) -> dict[str, Any]:
    """beta 0.2 -> 1 in 5 steps on a 5x4 RBM: exact Jarzynski and Crooks residuals (generating functions) for
    each kernel (the plain sweep satisfies Jarzynski but not Crooks), and 100,000 sampled forward and reverse
    works (10,000 with --quick) with the palindromic sweep against the exact Delta f."""
    from ..thermo import BetaRamp, crooks_exact_check, work_experiment
    from .report_plots import plot_work
    rbm = _rbm(5, 4, 1.5, 2)
    proto = BetaRamp.linear(rbm, 0.2, 1.0, 5)
    exact = {k: crooks_exact_check(proto, k) for k in ("palindromic", "random-scan", "visible", "plain")}
    res, wf, wr = work_experiment(proto, study.size(10_000, 100_000), "palindromic", seed=0)
    study.save(plot_work(res, wf, wr, "beta 0.2 -> 1 on a 5x4 RBM, palindromic sweep"), "work.png")
    gen = "exact generating functions G(lambda) = <exp(-lambda w)> by dynamic programming"
    for k, v in exact.items():
        study.figure(f"Jarzynski residual, {k} kernel", abs(v["jarzynski_residual"]), 0.0, 1e-12, "exact",
                     f"Jarzynski, PRL 78, 2690 (1997): needs only invariance ({gen})")
    for k in ("palindromic", "random-scan", "visible"):
        study.figure(f"Crooks residual, {k} kernel", exact[k]["max_crooks_residual"], 0.0, 1e-12, "exact",
                     f"Crooks, PRE 60, 2721 (1999): needs reversibility ({gen})")
    study.figure("Crooks residual, plain sweep (not reversible: fails)", exact["plain"]["max_crooks_residual"], 1e-3,
                 0.0, "lower", f"Crooks needs reversibility; the plain sweep is not reversible ({gen})")
    df = res["delta_f"]
    for way, sign in (("forward", 1), ("reverse", -1)):
        j = res[way]
        study.figure(f"Jarzynski {way} estimate of Delta f", sign * j["delta_f_jarzynski"], df, 4, "stderr",
                     "exact Delta f by enumeration", stderr=j["delta_f_jarzynski_stderr"])
    c = res["crooks"]
    study.figure("BAR estimate of Delta f", c["delta_f_bar"], df, 4, "stderr", "exact Delta f by enumeration",
                 stderr=c["delta_f_bar_stderr"])
    study.figure("Crooks slope of ln P_F(w) / P_R(-w)", c["slope"], 1.0, 4, "stderr", "Crooks, PRE 60, 2721 (1999)",
                 stderr=c["slope_stderr"])
    return {"exact_by_kernel": {k: {"jarzynski_residual": v["jarzynski_residual"],
                                    "max_crooks_residual": v["max_crooks_residual"]} for k, v in exact.items()},
            "sampled": {k: res[k] for k in ("delta_f", "forward", "reverse", "second_law")} |
            {"crooks": {k: v for k, v in res["crooks"].items() if k != "bins"}}}


@entry("thermo-curves", "free energy, energy, entropy and heat capacity against T: exact and AIS (12x8 RBM)")
def thermo_curves(study: Study) -> dict[str, Any]:
    """Exact curves (autograd through the enumerated free energy) and one AIS pass along the inverse-
    temperature path (500 runs, 2,000 steps; 200 and 500 with --quick), with the z-scores of AIS."""
    from ..thermo import ais_curves, exact_curves
    from .report_plots import plot_curves
    rbm = _rbm(12, 8, 1.0, 3)
    betas = np.sort(1 / np.geomspace(0.4, 3.0, 12))
    ex = exact_curves(rbm, betas)
    ai = ais_curves(rbm, betas, study.size(200, 500), study.size(500, 2000), seed=0)
    z = {k: ((np.array(ai[k]) - np.array(ex[k])) / np.array(ai[k + "_stderr"])).tolist()
         for k in ("log_z", "energy", "entropy", "heat_capacity")}
    study.save(plot_curves([ex, ai], ["exact", "AIS"], "12x8 RBM"), "curves.png")
    high_t = betas < 1.0  # T > 1; the lowest temperatures of this coupled model are multimodal (docs)
    for k in ("log_z", "energy", "entropy", "heat_capacity"):
        zz = np.abs(np.array(z[k]))
        study.figure(f"AIS {k}, T > 1: max |AIS - exact| / bootstrap stderr", zz[high_t].max(), 0.0, 4.0, "upper",
                     f"{PAPER}, eq. 5-8; exact curves by enumeration and autograd")
        study.figure(f"AIS {k}, all T: max |z|", zz.max(), 0.0, 6.0, "upper",
                     "exact curves; at T = 0.4 the bootstrap under-covers (docs/thermodynamics.md)")
    return {"exact": ex, "ais": ai, "z_scores": z,
            "max_abs_z": {k: float(np.max(np.abs(v))) for k, v in z.items()}}


@entry("thermo-cd", "contrastive divergence as a relaxation along a CD-1 training run, exactly (9x4 on Ising 3x3)")
def thermo_cd(study: Study) -> dict[str, Any]:
    """Train a 9x4 binary RBM with CD-1 on 2,000 exact samples of the 3x3 Ising model (beta 0.4) and evaluate
    CD_n = KL(p_D||p) - KL(p_n||p) and its energy and entropy terms at every epoch, exactly."""
    from ..data import load_dataset
    from ..thermo import cd_along_run
    from .report_plots import plot_cd
    from ..training import TrainConfig, Trainer
    x = load_dataset("ising:L=3,beta=0.4,n=2000")
    cfg = TrainConfig(n_hidden=4, method="cd", k=1, epochs=study.size(4, 15), batch_size=50, lr=0.05,
                      dtype="float64", seed=0)
    snaps: list[Any] = []
    holder: dict[str, Any] = {}

    def keep(rec: dict[str, Any]) -> None:
        snaps.append((rec["step"], copy.deepcopy(holder["trainer"].model)))

    trainer = Trainer.create(x, cfg, progress=False, on_epoch=keep)
    holder["trainer"] = trainer
    snaps.append((0, copy.deepcopy(trainer.model)))
    trainer.fit()
    run = cd_along_run([m for _, m in snaps], x, (1, 2, 5, 25), "plain", 1.0, [s for s, _ in snaps])
    study.save(plot_cd(run, "CD-1 updates", "9x4 RBM on 3x3 Ising data (plain sweep)"), "cd.png")
    residual = max(abs(r["identity_residual"]) for p in run["points"] for r in p["rows"])
    study.figure("CD_n = energy term + entropy term, max residual", residual, 0.0, 1e-10, "exact",
                 f"{PAPER}, sec. 4: contrastive divergence as a relaxation (exact enumeration)")
    cd_min = min(r["cd"] for p in run["points"] for r in p["rows"])
    study.figure("CD_n >= 0 along the run (min over epochs and n)", cd_min, 0.0, 1e-12, "lower",
                 f"{PAPER}, sec. 4: KL(p_n || p) <= KL(p_D || p) (data-processing inequality)")
    return {"run": run, "max_identity_residual": residual}
