"""Reproduction entries for ../shared/papers/nonequilibrium-thermodynamics-of-rbms.md (docs/thermodynamics.md).

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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import BinaryRBM
from .registry import Study, entry


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
    out, quick = study.out, study.quick
    from ..plots import plt, save_figure
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
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
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
    save_figure(fig, out / "detailed_balance.png", "exact 4x3 RBM (weights N(0, 1.5^2))")
    return {"shape": [4, 3], "beta1": b1, "beta2": b2, "steps": steps, "detailed_balance_max_log_ratio": db,
            "xft_max_abs_deviation": xft, "plots": [str(out / "detailed_balance.png")]}


@entry("thermo-xft-sampled", "sampled heat exchange on a 6x4 RBM against its exact P(Q); a wrong-temperature "
                             "sampler fails")
def thermo_xft_sampled(study: Study) -> dict[str, Any]:
    """heat_exchange with exact T1 equilibrium reached by 200 sweeps, T2 = 2 and 0.7, 200,000 chains (20,000
    with --quick); the fitted slope against beta1 - beta2 and the exact P(Q); then the same experiment with
    the T2 kernel secretly at 1.3 / T2."""
    out, quick = study.out, study.quick
    from ..sampling.kernels import PalindromicSweep
    from ..thermo.exact import heat_distribution
    from ..thermo.xft import heat_exchange, plot_xft

    class WrongTemperature(PalindromicSweep):
        def at(self, model=None, beta=None):
            k = super().at(model, beta)
            k.beta *= 1.3
            return k

    rbm = _rbm(6, 4, 1.0, 1)
    n = 20_000 if quick else 200_000
    res: dict[str, Any] = {"shape": [6, 4], "chains": n}
    for label, kern in (("correct", "palindromic"), ("wrong_temperature", WrongTemperature(rbm))):
        r = heat_exchange(rbm, 1.0, [2.0, 0.7], n, 200, 1, kern, 1.0, seed=3)
        res[label] = {f"{run.t2:g}": {k: run.fit[k] for k in ("slope", "slope_stderr", "p_value")} |
                      {"expected": run.expected_slope, "z": (run.fit["slope"] - run.expected_slope) / run.fit["slope_stderr"]}
                      for run in r.runs}
        plot_xft(r, out / f"xft_{label}.png")
    exact = {}
    for t2 in (2.0, 0.7):
        q, p = heat_distribution(rbm, 1.0, 1 / t2, "palindromic")
        exact[f"{t2:g}"] = {"mean_q": float((q * p).sum()), "std_q": float(np.sqrt((q * q * p).sum() - (q * p).sum() ** 2))}
    res["exact"] = exact
    res["plots"] = [str(out / "xft_correct.png"), str(out / "xft_wrong_temperature.png")]
    return res


@entry("thermo-work", "Jarzynski and Crooks on an inverse-temperature ramp, exact per kernel and sampled")
def thermo_work(study: Study) -> dict[str, Any]:
    """beta 0.2 -> 1 in 5 steps on a 5x4 RBM: exact Jarzynski and Crooks residuals (generating functions) for
    each kernel (the plain sweep satisfies Jarzynski but not Crooks), and 100,000 sampled forward and reverse
    works (10,000 with --quick) with the palindromic sweep against the exact Delta f."""
    out, quick = study.out, study.quick
    from ..thermo import BetaRamp, crooks_exact_check, plot_work, work_experiment
    rbm = _rbm(5, 4, 1.5, 2)
    proto = BetaRamp.linear(rbm, 0.2, 1.0, 5)
    exact = {k: crooks_exact_check(proto, k) for k in ("palindromic", "random-scan", "visible", "plain")}
    res, wf, wr = work_experiment(proto, 10_000 if quick else 100_000, "palindromic", seed=0)
    plot_work(res, wf, wr, out / "work.png", "beta 0.2 -> 1 on a 5x4 RBM, palindromic sweep")
    return {"exact_by_kernel": {k: {"jarzynski_residual": v["jarzynski_residual"],
                                    "max_crooks_residual": v["max_crooks_residual"]} for k, v in exact.items()},
            "sampled": {k: res[k] for k in ("delta_f", "forward", "reverse", "second_law")} |
            {"crooks": {k: v for k, v in res["crooks"].items() if k != "bins"}},
            "plots": [str(out / "work.png")]}


@entry("thermo-curves", "free energy, energy, entropy and heat capacity against T: exact and AIS (12x8 RBM)")
def thermo_curves(study: Study) -> dict[str, Any]:
    """Exact curves (autograd through the enumerated free energy) and one AIS pass along the inverse-
    temperature path (500 runs, 2,000 steps; 200 and 500 with --quick), with the z-scores of AIS."""
    out, quick = study.out, study.quick
    from ..thermo import ais_curves, exact_curves, plot_curves
    rbm = _rbm(12, 8, 1.0, 3)
    betas = np.sort(1 / np.geomspace(0.4, 3.0, 12))
    ex = exact_curves(rbm, betas)
    ai = ais_curves(rbm, betas, 200 if quick else 500, 500 if quick else 2000, seed=0)
    z = {k: ((np.array(ai[k]) - np.array(ex[k])) / np.array(ai[k + "_stderr"])).tolist()
         for k in ("log_z", "energy", "entropy", "heat_capacity")}
    plot_curves([ex, ai], ["exact", "AIS"], out / "curves.png", "12x8 RBM")
    return {"exact": ex, "ais": ai, "z_scores": z,
            "max_abs_z": {k: float(np.max(np.abs(v))) for k, v in z.items()}, "plots": [str(out / "curves.png")]}


@entry("thermo-cd", "contrastive divergence as a relaxation along a CD-1 training run, exactly (9x4 on Ising 3x3)")
def thermo_cd(study: Study) -> dict[str, Any]:
    """Train a 9x4 binary RBM with CD-1 on 2,000 exact samples of the 3x3 Ising model (beta 0.4) and evaluate
    CD_n = KL(p_D||p) - KL(p_n||p) and its energy and entropy terms at every epoch, exactly."""
    out, quick = study.out, study.quick
    from ..data import load_dataset
    from ..thermo import cd_along_run, plot_cd
    from ..training import TrainConfig, Trainer
    x = load_dataset("ising:L=3,beta=0.4,n=2000")
    cfg = TrainConfig(n_hidden=4, method="cd", k=1, epochs=4 if quick else 15, batch_size=50, lr=0.05,
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
    plot_cd(run, out / "cd.png", "CD-1 updates", "9x4 RBM on 3x3 Ising data (plain sweep)")
    residual = max(abs(r["identity_residual"]) for p in run["points"] for r in p["rows"])
    return {"run": run, "max_identity_residual": residual, "plots": [str(out / "cd.png")]}
