"""PNG plots of quantum-dot VMC runs: optimisation history, one-body density, pair distances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...plots import save_figure, subplots

__all__ = ["plot_history", "plot_observables", "plot_energy_vs_omega"]


def plot_history(history: list[dict[str, Any]], path: Path, exact: float | None, cfg: Any) -> Path:
    """Energy (with blocking error bars) and energy variance per optimisation iteration."""
    fig, axes = subplots(1, 2, figsize=(11, 4))
    if history:
        it = np.array([h["iteration"] for h in history])
        e = np.array([h["energy"] for h in history])
        s = np.array([h["stderr"] for h in history])
        v = np.array([h["variance"] for h in history])
        axes[0].errorbar(it, e, yerr=s, fmt=".", ms=3, lw=0.6, label="<E_L> per iteration")
        if exact is not None:
            axes[0].axhline(exact, color="k", ls="--", lw=1, label=f"exact {exact:g}")
        lo = np.nanpercentile(e, 1)
        hi = np.nanpercentile(e[len(e) // 4:], 99) if len(e) > 4 else np.nanmax(e)
        pad = 0.1 * max(hi - lo, 1e-6)
        axes[0].set_ylim(lo - pad, hi + 3 * pad)
        axes[1].semilogy(it, np.maximum(v, 1e-16), ".", ms=3)
    axes[0].set_xlabel("iteration"); axes[0].set_ylabel("energy (hbar omega units, a.u.)"); axes[0].legend()
    axes[1].set_xlabel("iteration"); axes[1].set_ylabel("variance of E_L")
    for a in axes:
        a.grid(alpha=0.3)
    wave = cfg.ansatz + (f" + many-body Jastrow (M={cfg.many_body})" if cfg.many_body else "")
    title = (f"VMC {wave}: N={cfg.particles}, D={cfg.dim}, omega={cfg.omega:g}, "
             f"{'Coulomb' if cfg.interaction else 'no interaction'}")
    return save_figure(fig, path, title)


def plot_observables(res: dict[str, Any], out: Path, cfg: Any) -> list[Path]:
    """One-body density (radial profile, and the 2D map for D = 2) and the pair-distance distribution."""
    paths = []
    n_panels = 1 + ("_density2d" in res) + ("_pair" in res)
    fig, axes = subplots(1, n_panels, figsize=(5 * n_panels, 4.2))
    axes = np.atleast_1d(axes)
    k = 0
    rad = res["_radial"]
    axes[k].plot(rad["r"], rad["rho"])
    axes[k].set_xlabel("r"); axes[k].set_ylabel("rho(r) (one-body density, integrates to N)")
    axes[k].set_title("radial one-body density"); axes[k].grid(alpha=0.3)
    k += 1
    if "_density2d" in res:
        d = res["_density2d"]
        im = axes[k].imshow(d["rho"].T, origin="lower", extent=d["extent"], cmap="viridis")
        fig.colorbar(im, ax=axes[k], fraction=0.046)
        axes[k].set_xlabel("x"); axes[k].set_ylabel("y"); axes[k].set_title("one-body density rho(x, y)")
        k += 1
    if "_pair" in res:
        p = res["_pair"]
        axes[k].plot(p["r"], p["p"])
        axes[k].set_xlabel("r_ij"); axes[k].set_ylabel("probability density")
        axes[k].set_title("pair-distance distribution"); axes[k].grid(alpha=0.3)
    title = (f"N={cfg.particles}, D={cfg.dim}, omega={cfg.omega:g}: E = {res['energy']:.6f} +- {res['stderr']:.1e}")
    paths.append(save_figure(fig, Path(out) / "observables.png", title))
    return paths


def plot_energy_vs_omega(omegas: list[float], energies: list[float], errors: list[float], path: Path,
                         label: str, reference: dict[float, float] | None = None) -> Path:
    fig, ax = subplots(figsize=(6, 4))
    ax.errorbar(omegas, energies, yerr=errors, fmt="o-", label=label)
    if reference:
        ks = sorted(reference)
        ax.plot(ks, [reference[k] for k in ks], "k--", label="reference")
    ax.set_xlabel("omega"); ax.set_ylabel("energy"); ax.legend(); ax.grid(alpha=0.3)
    return save_figure(fig, path, "energy against trap frequency")
