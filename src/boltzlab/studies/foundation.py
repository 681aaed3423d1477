"""Reproduction entries of the foundation: the sampler, the learning rule and the annealed ln Z, each checked
against exact enumeration."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..models import BinaryRBM
from ..partition import visible_distribution
from ..random import Rng
from ..sampling import block_gibbs
from .registry import Study, entry


def _state_index(v: torch.Tensor) -> torch.Tensor:
    return (v.double() @ (2.0 ** torch.arange(v.shape[1], dtype=torch.float64))).long()


def _exact_sample_tv(p: torch.Tensor, n: int, draws: int = 50) -> dict[str, float]:
    """Mean and sd of the TV distance between the empirical distribution of ``n`` exact samples and ``p``."""
    counts = np.random.default_rng(0).multinomial(n, p.numpy() / float(p.sum()), size=draws)
    tv = 0.5 * np.abs(counts / n - p.numpy()).sum(1)
    return {"mean": float(tv.mean()), "sd": float(tv.std(ddof=1))}


@entry("gibbs-vs-exact", "block Gibbs at several beta against exact enumeration (TV distance vs sweeps)")
def gibbs_vs_exact(study: Study) -> dict[str, Any]:
    """Total variation between the empirical visible distribution of block-Gibbs chains and the exact
    marginal (eq. 9 with eq. 22) of a 10x6 binary RBM with strong couplings, against the number of sweeps,
    at beta = 1, 0.5 and 2.  The TV falls to the sampling-noise floor sqrt(K / (2 pi n)) of the ensemble."""
    from ..plots import subplots
    n_chains = study.size(20_000, 200_000)
    g = torch.Generator().manual_seed(3)
    rbm = BinaryRBM(torch.randn(10, 6, generator=g, dtype=torch.float64) * 1.5,
                    torch.randn(10, generator=g, dtype=torch.float64) * 0.5,
                    torch.randn(6, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
    sweeps = [1, 2, 4, 8, 16, 32, 64]
    result: dict[str, Any] = {"n_chains": n_chains, "shape": [10, 6], "sweeps": sweeps, "beta": {}}
    fig, ax = subplots(figsize=(6, 4))
    for beta in (0.5, 1.0, 2.0):
        states, p = visible_distribution(rbm, beta)
        exact = torch.zeros(2 ** 10, dtype=torch.float64)
        exact[_state_index(states)] = p
        rng = Rng(7, "cpu")
        v = rbm.visible.random_state(n_chains, rng)
        tv, done = [], 0
        for s in sweeps:
            v, _ = block_gibbs(rbm, v, s - done, beta, rng)
            done = s
            emp = torch.bincount(_state_index(v), minlength=2 ** 10).double() / n_chains
            tv.append(float(0.5 * (emp - exact).abs().sum()))
        floor = float(np.sqrt(2 ** 10 / (2 * np.pi * n_chains)))
        exact_tv = _exact_sample_tv(exact, n_chains)
        result["beta"][str(beta)] = {"tv": tv, "noise_floor_estimate": floor, "exact_samples_tv": exact_tv}
        study.figure(f"TV to exact p(v) after {sweeps[-1]} sweeps, beta = {beta:g}", tv[-1], exact_tv["mean"],
                     5 * exact_tv["sd"] + 0.05 * exact_tv["mean"], "upper",
                     f"TV of {n_chains} exact samples (mean of 50 multinomial draws from the enumerated p(v)); "
                     "tolerance 5 sd + 5%")
        ax.loglog(sweeps, tv, marker="o", label=f"beta = {beta:g}")
    ax.axhline(floor, color="gray", ls="--", label="noise floor ~ sqrt(K / 2 pi n)")
    ax.set_xlabel("block-Gibbs sweeps"); ax.set_ylabel("total variation to exact p(v)")
    ax.set_title(f"10x6 RBM, {n_chains} chains from random starts"); ax.legend(); ax.grid(alpha=0.3)
    study.save(fig, "gibbs_vs_exact.png")
    return result


@entry("ising-demo", "the demo: an RBM learns 2D Ising configurations; exact log-likelihood vs the true model")
def ising_demo(study: Study) -> dict[str, Any]:
    from .demo import run_demo
    rep = run_demo(study.out, quick=study.quick, progress=study.progress)
    ll = rep["held_out_log_likelihood"]
    study.figure("held-out LL: RBM - independent units", ll["rbm_exact"] - ll["independent_units"], 0.0, 0.0,
                 "lower", "the best product model (an RBM must learn the correlations)")
    study.figure("held-out LL: RBM - true Ising model", ll["rbm_exact"] - ll["true_ising_model"], 0.0,
                 0.5, "upper", "exact Ising log-probabilities (transfer matrix); no model beats the truth by more "
                               "than held-out noise")
    study.figure("fraction of the gap to the true model closed", rep["gap_closed"], study.size(0.3, 0.75), 0.0,
                 "lower", "the true Ising model closes the whole gap (1); a 64x16 RBM after 40 epochs closes most "
                          "of it (quick: 3 epochs)")
    return rep


@entry("ais-bracket", "AIS and reverse AIS bracket the exact ln Z and converge to it as the schedule refines")
def ais_bracket(study: Study) -> dict[str, Any]:
    """Forward AIS (a stochastic lower bound on ln Z) and reverse AIS from exact samples (an upper bound)
    against the exact ln Z of a 16x10 binary RBM with weights N(0, 4), as functions of the number of
    intermediate distributions; and the errors of forward AIS over many seeds in units of the reported
    standard error (honest error bars put about 99% of them within +-3)."""
    from ..partition import ais_log_z, exact_log_z, rais_log_z
    from ..plots import subplots
    quick = study.quick
    g = torch.Generator().manual_seed(4)
    rbm = BinaryRBM(torch.randn(16, 10, generator=g, dtype=torch.float64) * 2,
                    torch.randn(16, generator=g, dtype=torch.float64) * 0.5,
                    torch.randn(10, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
    exact = exact_log_z(rbm)
    states, p = visible_distribution(rbm)
    n_betas = [10, 30, 100, 300, 1000] if quick else [10, 30, 100, 300, 1000, 3000]
    seeds = 10 if quick else 40
    rows = []
    for k in n_betas:
        a, r = [], []
        for s in range(seeds):
            idx = torch.multinomial(p, 100, replacement=True, generator=torch.Generator().manual_seed(1000 + s))
            a.append(ais_log_z(rbm, 100, k, seed=s, schedule="linear", base="model").log_z - exact)
            r.append(rais_log_z(rbm, states[idx], 100, k, seed=s, schedule="linear", estimator="lme",
                                base="model").log_z - exact)
        rows.append({"n_betas": k, "ais_mean": float(np.mean(a)), "ais_sem": float(np.std(a) / np.sqrt(seeds)),
                     "rais_mean": float(np.mean(r)), "rais_sem": float(np.std(r) / np.sqrt(seeds))})
    z = []
    for s in range(40 if quick else 200):
        res = ais_log_z(rbm, 100, 300, seed=10_000 + s, schedule="linear")
        z.append((res.log_z - exact) / res.stderr)
    z = np.array(z)
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4))
    ks = [r["n_betas"] for r in rows]
    ax1.errorbar(ks, [r["ais_mean"] for r in rows], [r["ais_sem"] for r in rows], marker="o", capsize=3,
                 label="AIS (stochastic lower bound)")
    ax1.errorbar(ks, [r["rais_mean"] for r in rows], [r["rais_sem"] for r in rows], marker="s", capsize=3,
                 label="reverse AIS from exact samples (stochastic upper bound)")
    ax1.axhline(0, color="k", lw=1, label="exact ln Z")
    ax1.set_xscale("log"); ax1.set_xlabel("intermediate distributions"); ax1.set_ylabel("estimate - exact ln Z")
    ax1.set_title(f"16x10 RBM, 100 runs, mean over {seeds} seeds"); ax1.legend(fontsize=8); ax1.grid(alpha=0.3)
    ax2.hist(z, bins=25, color="tab:blue", alpha=0.8)
    ax2.axvline(-3, color="k", ls="--"); ax2.axvline(3, color="k", ls="--")
    ax2.set_xlabel("(AIS - exact) / reported stderr"); ax2.set_ylabel("seeds")
    ax2.set_title(f"{np.mean(np.abs(z) <= 3):.1%} of {len(z)} seeds within 3 stderr (300 betas)")
    study.save(fig, "ais_bracket.png")
    last = rows[-1]
    src = "exact ln Z by enumeration of the 2^10 hidden states"
    study.figure(f"AIS - exact ln Z ({last['n_betas']} betas)", last["ais_mean"], 0.0, 3, "stderr", src,
                 stderr=last["ais_sem"])
    study.figure(f"reverse AIS - exact ln Z ({last['n_betas']} betas)", last["rais_mean"], 0.0, 3, "stderr", src,
                 stderr=last["rais_sem"])
    study.figure("AIS - exact ln Z (10 betas): a lower bound (3 sem)", rows[0]["ais_mean"], 0.0,
                 3 * rows[0]["ais_sem"], "upper", "Jensen: E[ln Z_AIS] <= ln Z (Neal, Stat. Comput. 11, 125 (2001)); "
                                                  "tolerance 3 standard errors of the mean over seeds")
    study.figure("reverse AIS - exact ln Z (10 betas): an upper bound (3 sem)", rows[0]["rais_mean"], 0.0,
                 3 * rows[0]["rais_sem"], "lower", "Jensen: E[ln Z_RAISE] >= ln Z (Burda, Grosse, Salakhutdinov, "
                                                   "AISTATS 2015); tolerance 3 standard errors of the mean over seeds")
    frac = float(np.mean(np.abs(z) <= 3))
    study.figure("fraction of seeds with |AIS - exact| <= 3 stderr", frac, 0.99, study.size(0.06, 0.03), "lower",
                 "honest error bars: ~99% within 3 stderr; tolerance ~2.5 binomial sd at the number of seeds")
    return {"exact_log_z": exact, "by_n_betas": rows, "z_scores": z.tolist(), "fraction_within_3_stderr": frac}
