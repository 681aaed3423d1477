"""Figures of the analyses (matplotlib), drawn by the studies and the commands: heat exchange, equilibration,
work, equilibrium curves and contrastive divergence (docs/thermodynamics.md; importable from
:mod:`boltzlab.thermo` as well), the energy of a lattice VMC run (also :mod:`boltzlab.quantum.lattice`), and
sequence logos and site frequencies of Potts models (docs/units-and-sequences.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..plots import finish_figure, save_figure, subplots
from ..plots.logo import draw_logo


def plot_xft(result: "XFTResult") -> Any:
    """Per T2 process: the histograms of Q and -Q on shared bins, and ln P(Q)/P(-Q) against Q with the
    predicted line (beta_1 - beta_2) Q and the fit."""
    runs = result.runs + ([result.control] if result.control is not None else [])
    fig, axes = subplots(len(runs), 2, figsize=(11, 3.4 * len(runs)), squeeze=False)
    for row, r in zip(axes, runs):
        q = r.q
        lim = float(np.quantile(np.abs(q), 0.999)) if q.size else 1.0
        edges = np.linspace(-lim, lim, 81)
        dens, _ = np.histogram(q, edges, density=True)
        mirror, _ = np.histogram(-q, edges, density=True)
        mid = 0.5 * (edges[1:] + edges[:-1])
        ax = row[0]
        ax.step(mid, np.where(dens > 0, dens, np.nan), where="mid", label="P(Q)")
        ax.step(mid, np.where(mirror > 0, mirror, np.nan), where="mid", label="P(-Q)")
        ax.set_yscale("log")
        ax.set_xlabel("Q = E(s') - E(s)")
        ax.set_ylabel("density")
        label = "control T2 = T1" if r is result.control else f"T2 = {r.t2:g}"
        ax.set_title(f"{label}: {r.kernel['label']}, K = {r.steps}", fontsize=10)
        ax.legend(fontsize=8)
        ax = row[1]
        bins = r.fit.get("bins") or []
        if bins:
            x = np.array([b["x"] for b in bins])
            y = np.array([b["log_ratio"] for b in bins])
            err = np.array([b["log_ratio_stderr"] for b in bins])
            ax.errorbar(np.concatenate([-x[::-1], x]), np.concatenate([-y[::-1], y]),
                        np.concatenate([err[::-1], err]), fmt="o", ms=3, capsize=2, label="measured")
            xs = np.linspace(-x.max(), x.max(), 50)
            ax.plot(xs, r.expected_slope * xs, "k-", lw=1,
                    label=f"XFT: (beta1 - beta2) Q, slope {r.expected_slope:.4g}")
            if r.fit.get("slope") is not None:
                ax.plot(xs, r.fit["slope"] * xs, "r--", lw=1,
                        label=f"fit {r.fit['slope']:.4g} +- {r.fit['slope_stderr']:.2g}")
        else:
            ax.text(0.5, 0.5, "no overlap of P(Q) and P(-Q)", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("Q")
        ax.set_ylabel("ln P(Q) / P(-Q)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return finish_figure(fig, f"heat exchange: T1 = {result.t1:g}, {result.chains} chains, "
                                  f"{result.equilibrate} sweeps at T1")


def plot_trace(result: "XFTResult") -> Any:
    """Mean joint energy of the ensemble against the block-Gibbs sweeps at T1 (equilibration diagnostic):
    all sweeps, and the last 90% magnified (where a residual drift shows)."""
    tr = result.trace
    x = np.array(tr["sweeps"], dtype=float)
    y, err = np.array(tr["mean_energy"]), np.array(tr["stderr"])
    fig, axes = subplots(1, 2, figsize=(11, 4))
    first = x >= 1
    axes[0].errorbar(x[first], y[first], err[first], marker="o", ms=3, capsize=2)
    axes[0].set_xscale("log")
    axes[0].set_title(f"equilibration at T1 = {result.t1:g} from {result.init} starts "
                      f"(<E> = {y[0]:.4g} at sweep 0)", fontsize=10)
    late = x >= max(1.0, 0.1 * x.max())
    axes[1].errorbar(x[late], y[late], err[late], marker="o", ms=3, capsize=2)
    axes[1].set_title(f"drift of <E> since sweep {tr.get('drift_from_sweep', '?')}: {tr['drift_last_half']:.3g} "
                      f"({tr['drift_last_half_in_stderr']:.1f} stderr)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("block-Gibbs sweeps at T1")
        ax.set_ylabel("<E(v, h)> over the ensemble")
        ax.grid(alpha=0.3)
    return finish_figure(fig)


def plot_work(res: dict[str, Any], wf: np.ndarray, wr: np.ndarray, title: str = ""):
    """Histograms of w_F and -w_R, and ln P_F(w) / P_R(-w) against w with the Crooks line w - Delta f."""
    fig, axes = subplots(1, 2, figsize=(12, 4))
    lo = float(min(wf.min(), (-wr).min()))
    hi = float(max(wf.max(), (-wr).max()))
    edges = np.linspace(lo, hi, 80)
    axes[0].hist(wf, edges, density=True, alpha=0.6, label="P_F(w), forward")
    axes[0].hist(-wr, edges, density=True, alpha=0.6, label="P_R(-w), reverse")
    df = res["delta_f"]
    axes[0].axvline(df, color="k", ls="--", lw=1, label=f"Delta f = {df:.4g}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("w (reduced work, units of kT)")
    axes[0].set_ylabel("density")
    fw, rv = res["forward"], res["reverse"]
    axes[0].set_title(f"Jarzynski: {fw['delta_f_jarzynski']:.4f} +- {fw['delta_f_jarzynski_stderr']:.2g} (F), "
                      f"{-rv['delta_f_jarzynski']:.4f} +- {rv['delta_f_jarzynski_stderr']:.2g} (R)", fontsize=9)
    axes[0].legend(fontsize=8)
    c = res["crooks"]
    bins = c.get("bins") or []
    if bins:
        x = np.array([b["w"] for b in bins])
        axes[1].errorbar(x, [b["log_ratio"] for b in bins], [b["log_ratio_stderr"] for b in bins], fmt="o", ms=3,
                         capsize=2, label="measured")
        axes[1].plot(x, x - df, "k-", lw=1, label="Crooks: w - Delta f")
    else:
        axes[1].text(0.5, 0.5, "no overlap of P_F(w) and P_R(-w)", ha="center", va="center",
                     transform=axes[1].transAxes)
    slope = c.get("slope")
    axes[1].set_title(f"slope {slope:.4f} +- {c.get('slope_stderr') or float('nan'):.2g} (1 expected); "
                      f"BAR Delta f {c['delta_f_bar']:.4f}" if slope is not None else "Crooks", fontsize=9)
    axes[1].set_xlabel("w")
    axes[1].set_ylabel("ln P_F(w) / P_R(-w)")
    axes[1].grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    return finish_figure(fig, title)


def plot_curves(curves: Sequence[dict[str, Any]], labels: Sequence[str], title: str = ""):
    """F, <E>, S and C against T for one or more sets of curves (error bars where given)."""
    fig, axes = subplots(1, 4, figsize=(16, 3.8))
    names = {"free_energy": "free energy F = -ln Z / beta", "energy": "energy <E>",
             "entropy": "entropy S = ln Z + beta <E>", "heat_capacity": "heat capacity C = beta^2 Var E"}
    for c, label in zip(curves, labels):
        t = np.asarray(c["temperature"])
        for ax, key in zip(axes, names):
            y = np.asarray(c[key])
            err = c.get(key + "_stderr")
            if err is not None:
                ax.errorbar(t, y, err, marker="o", ms=3, capsize=2, label=label)
            else:
                ax.plot(t, y, marker=".", label=label)
    for ax, key in zip(axes, names):
        ax.set_xlabel("temperature T = 1 / beta")
        ax.set_title(names[key], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return finish_figure(fig, title)


def plot_cd(run: dict[str, Any], xlabel: str = "training step", title: str = ""):
    """CD_n, its energy and entropy terms, and KL(p_D || p) along a training run."""
    pts = run["points"]
    if len(pts) == 1:  # one model: the relaxation against the number of steps n
        rows = pts[0]["rows"]
        n = np.array([r["n"] for r in rows], dtype=float)
        fig, ax = subplots(figsize=(7, 4.5))
        ax.plot(n, [r["cd"] for r in rows], marker="o", label="CD_n (joint state)")
        ax.plot(n, [r["cd_visible"] for r in rows], marker="s", ms=3, label="CD_n (visible marginal)")
        ax.plot(n, [r.get("energy_term", np.nan) for r in rows], marker=".", label="-beta(<E>_n - <E>_D)")
        ax.plot(n, [r["entropy_term"] for r in rows], marker=".", label="S_n - S_D")
        ax.axhline(pts[0]["kl_data"], color="k", ls="--", lw=1, label="KL(p_D || p) = CD_inf")
        ax.set_xlabel("Gibbs steps n")
        ax.set_ylabel("nats")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return finish_figure(fig, title)
    x = np.array([p["label"] for p in pts], dtype=float)
    fig, axes = subplots(1, 3, figsize=(15, 4))
    axes[0].plot(x, [p["kl_data"] for p in pts], "k-", marker="o", ms=3, label="KL(p_D || p) = CD_inf")
    for j, n in enumerate(run["steps"]):
        axes[0].plot(x, [p["rows"][j]["cd"] for p in pts], marker=".", label=f"CD_{n}")
        axes[1].plot(x, [p["rows"][j].get("energy_term", np.nan) for p in pts], marker=".",
                     label=f"-beta(<E>_{n} - <E>_D)")
        axes[2].plot(x, [p["rows"][j]["entropy_term"] for p in pts], marker=".", label=f"S_{n} - S_D")
    titles = ["CD_n = KL(p_D||p) - KL(p_n||p) (entropy production)", "energy term (-beta <Q>)",
              "entropy term"]
    for ax, t in zip(axes, titles):
        ax.set_xlabel(xlabel)
        ax.set_title(t, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("nats")
    return finish_figure(fig, title)


def plot_history(history: list[dict[str, float]], path: str | Path, exact: float | None = None,
                 title: str = "") -> Path:
    """Energy against iteration with its per-iteration error band and the exact energy; relative error (log)."""
    it = np.array([r["iteration"] for r in history])
    e = np.array([r["energy"] for r in history])
    se = np.array([r["stderr"] for r in history])
    fig, axes = subplots(1, 2 if exact is not None else 1, figsize=(11 if exact is not None else 6, 4),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(it, e, lw=1, label="VMC <E_L> per iteration")
    ax.fill_between(it, e - se, e + se, alpha=0.3)
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1, label=f"reference {exact:.6f}")
        lo = exact - 0.02 * abs(exact)
        ax.set_ylim(lo, max(np.percentile(e, 95) if len(e) else exact, exact + 0.05 * abs(exact)))
    ax.set_xlabel("iteration"); ax.set_ylabel("energy"); ax.legend(); ax.grid(alpha=0.3)
    ax.set_title("energy")
    if exact is not None:
        ax = axes[0, 1]
        rel = np.abs(e - exact) / abs(exact)
        ax.semilogy(it, np.maximum(rel, 1e-12), lw=1)
        ax.axhline(1e-3, color="r", ls=":", lw=1, label="1e-3")
        ax.set_xlabel("iteration"); ax.set_ylabel("|E - E_exact| / |E_exact|"); ax.legend(); ax.grid(alpha=0.3)
        ax.set_title("relative error")
    return save_figure(fig, path, title)


def weight_logos(weights: np.ndarray, symbols: str, n_units: int = 6, max_sites: int = 80,
                 title: str = "") -> Figure:
    """Logos of the ``n_units`` hidden units with the largest ||W_mu||, each over its ``max_sites`` most
    weighted sites (in sequence order) when the sequence is longer."""
    w = np.asarray(weights, dtype=float)  # (n_sites, q, n_hidden)
    norms = np.sqrt((w ** 2).sum((0, 1)))
    order = np.argsort(-norms)[:max(1, min(n_units, w.shape[2]))]
    fig, axes = subplots(len(order), 1, figsize=(min(2 + 0.22 * min(w.shape[0], max_sites), 20),
                                                      1.9 * len(order)), squeeze=False)
    for ax, mu in zip(axes[:, 0], order):
        wm = w[:, :, mu]
        sites = np.arange(w.shape[0])
        if w.shape[0] > max_sites:
            sites = np.sort(np.argsort(-np.abs(wm).sum(1))[:max_sites])
        draw_logo(ax, wm[sites], symbols, sites)
        ax.set_ylabel(f"h{mu}\n|W|={norms[mu]:.2f}", fontsize=8)
    axes[-1, 0].set_xlabel("site")
    return finish_figure(fig, title or "hidden-unit weights W_{i a mu} as sequence logos")


def frequency_comparison(f_data: np.ndarray, f_model: np.ndarray, title: str = "") -> Figure:
    """Scatter of single-site frequencies f_i(a): (weighted) data against model samples."""
    fig, ax = subplots(figsize=(4.5, 4.2))
    ax.scatter(f_data.ravel(), f_model.ravel(), s=6, alpha=0.6)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    r = float(np.corrcoef(f_data.ravel(), f_model.ravel())[0, 1])
    ax.set_xlabel("data f_i(a) (sequence-weighted)")
    ax.set_ylabel("model samples f_i(a)")
    ax.set_title(f"single-site frequencies, r = {r:.3f}")
    ax.grid(alpha=0.3)
    return finish_figure(fig, title)
