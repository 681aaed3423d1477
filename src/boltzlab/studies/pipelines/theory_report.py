"""The theory report on a data set: perturbative against trained parameters, exact against first-order
marginals, and the error of the first-order solution against the coupling strength.

Used by ``boltzlab theory report`` and by the reproduction entries; writes PNG plots and returns the
numbers (the caller writes them as JSON).  Every model here is small enough to enumerate (n <= 16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.ticker
import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import IntractableError
from ...models.bm import BoltzmannMachine
from ...theory.maxent import fit_bm_exact, maxent_residual
from ...theory.moments import Moments, data_moments, distribution_moments, exact_distribution
from ...theory.perturbation import (coupling_scan, first_order_errors, first_order_log_ratio, perturbative_bm, scan_slopes,
                           validity, zeroth_order_log_prob)
from ...theory.rbm_perturbation import effective_bm, solve_rbm_perturbation
from ...theory.zoom import zoom_in_moments

MAX_UNITS = 16


def _state_index(x: torch.Tensor) -> torch.Tensor:
    return (x.double() @ (2.0 ** torch.arange(x.shape[1], dtype=torch.float64))).long()


def _offdiag(a: torch.Tensor) -> torch.Tensor:
    n = a.shape[0]
    return a[~torch.eye(n, dtype=torch.bool)]


def _moment_errors(model: Any, target: Moments) -> dict[str, float]:
    got = distribution_moments(*exact_distribution(model))
    return {"mean_error": float((got.mean - target.mean).abs().max()),
            "cov_error": float(_offdiag(got.cov - target.cov).abs().max())}


def _group_summary(res: dict[str, Any]) -> dict[str, Any]:
    return {"max_abs": res["max_abs"], "relative": res["relative"], "groups": res["groups"]}


def zoom_scan(source: Moments, deltas: Any, copies: int, progress: Any = None) -> dict[str, Any]:
    """Errors of the first-order solution on zoomed data (expected moments, Theorem 38) against delta."""
    rows = []
    for d in deltas:
        mom = zoom_in_moments(source, float(d), copies)
        rows.append({"delta": float(d), **first_order_errors(mom)})
        if progress is not None:
            progress.update(1)
    return {"rows": rows, "copies": copies, **scan_slopes(rows)}


def run_report(x: torch.Tensor, out: Path, *, source: Moments | None = None, zoom: dict[str, Any] | None = None,
               n_hidden: int = 2, n_factors: int = 9, trained: BoltzmannMachine | None = None,
               progress: bool = True, title: str = "") -> dict[str, Any]:
    """All checks of the report on binary data ``x`` (N, n); plots into ``out``; returns the numbers.

    ``source`` are the moments of the data before a zoom-in (``zoom = {"delta", "copies"}``), used for the
    zoom-in scan; without them the scan zooms the data themselves (copies = 1).
    """
    from ...plots import save_figure, subplots
    n = x.shape[1]
    if n > MAX_UNITS:
        raise IntractableError(f"the report enumerates 2^n states; {n} units is above the limit of {MAX_UNITS} "
                               "(select fewer units)")
    out.mkdir(parents=True, exist_ok=True)
    mom = data_moments(x)
    copies = int(zoom["copies"]) if zoom else 1
    src = source if source is not None else mom
    eps0 = 0.5 - (float(zoom["delta"]) if zoom else 0.0)
    deltas = 0.5 - eps0 * np.geomspace(0.05, 1.0, n_factors)
    factors = np.geomspace(0.01, 1.0, n_factors)
    bar = tqdm(total=2 * n_factors + 3, desc="theory", disable=not progress, dynamic_ncols=True)
    result: dict[str, Any] = {"n_samples": int(x.shape[0]), "n_units": n, "zoom": zoom, "validity": validity(mom)}

    # first-order solutions (Theorem 27, Corollaries 28 and 30) against the data, exactly
    bm28 = perturbative_bm(mom, self_interaction=False)
    bm30 = perturbative_bm(mom, self_interaction=True)
    states, p28 = exact_distribution(bm28)
    _, p30 = exact_distribution(bm30)
    result["first_order"] = {
        "corollary_28": {**_moment_errors(bm28, mom), "maxent_residual": _group_summary(maxent_residual(bm28, x))},
        "corollary_30_vs_28_max_abs_log_p": float((p30.log() - p28.log()).abs().max()),
    }
    bar.update(1)

    # trained: exact maximum likelihood (the learning rule with exact model expectations)
    fit = fit_bm_exact(mom, init=bm28)
    tr = fit.model
    result["trained"] = {"method": "exact maximum likelihood (trust-region Newton on eq. 7)",
                         "iterations": fit.iterations, "converged": fit.converged, "gradient_max": fit.gradient_max,
                         "nll": fit.nll, **_moment_errors(tr, mom),
                         "maxent_residual": _group_summary(maxent_residual(tr, x)),
                         "weights_rms_difference": float(_offdiag(tr.weights.detach() - bm28.weights.detach())
                                                         .pow(2).mean().sqrt()),
                         "bias_rms_difference": float((tr.bias.detach() - bm28.bias.detach()).pow(2).mean().sqrt()),
                         "weights_rms": float(_offdiag(tr.weights.detach()).pow(2).mean().sqrt())}
    result["first_order"]["corollary_28"]["nll"] = float(
        -(torch.log(p28)[_state_index(x)]).mean())
    other = None
    if trained is not None:
        other = BoltzmannMachine(trained.weights.detach().double(), trained.bias.detach().double(),
                                 trained.centers.double(), self_interaction=trained.self_interaction,
                                 dtype=torch.float64)
        other.set_centers(mom.mean)
        result["checkpoint"] = {**_moment_errors(other, mom),
                                "maxent_residual": _group_summary(maxent_residual(other, x)),
                                "weights_rms_difference_to_exact": float(_offdiag(
                                    other.symmetric_coupling() - tr.weights.detach()).pow(2).mean().sqrt())}
    bar.update(1)

    # marginals: data, exact first-order model, and its expansion p_0 + p_1 (Theorem 24)
    counts = torch.bincount(_state_index(x), minlength=2 ** n).double()
    p_data = counts / counts.sum()
    idx = _state_index(states)
    p_data = p_data[idx]
    b28, w28 = bm28.bias.detach(), bm28.weights.detach()
    p_exp = torch.exp(zeroth_order_log_prob(b28, states)) * (1 + first_order_log_ratio(w28, b28, states, mom.mean))
    result["marginals"] = {
        "tv_first_order_vs_data": float(0.5 * (p28 - p_data).abs().sum()),
        "tv_trained_vs_data": float(0.5 * (exact_distribution(tr)[1] - p_data).abs().sum()),
        "tv_expansion_vs_exact_first_order": float(0.5 * (p_exp - p28).abs().sum()),
    }

    # RBM perturbation (Theorem 32) and Lemma 31 on its solution
    sol = solve_rbm_perturbation(mom, n_hidden)
    _, p_rbm = exact_distribution(sol.rbm)
    _, p_eff = exact_distribution(effective_bm(sol.rbm))
    result["rbm"] = {"n_hidden": n_hidden, "residual": sol.residual, "exactly_solvable": sol.exact,
                     **_moment_errors(sol.rbm, mom),
                     "lemma31_max_abs_log_p": float((p_rbm.log() - p_eff.log()).abs().max())}
    bar.update(1)

    # error against coupling strength: correlations scaled (mixture) and zoom-in scan
    scan = coupling_scan(mom, factors, progress=bar)
    zscan = zoom_scan(src, deltas, copies, progress=bar)
    bar.close()
    result["scaling"] = {"correlations_scaled": scan, "zoom_in": zscan}

    # ---------------------------------------------------------------- plots
    plots = []
    fig, axes = subplots(1, 3, figsize=(14, 4.2))
    ax = axes[0]
    wf, wt = _offdiag(w28).numpy(), _offdiag(tr.weights.detach()).numpy()
    ax.scatter(wt, wf, s=10, label="first order (Cor. 28)")
    if other is not None:
        ax.scatter(wt, _offdiag(other.symmetric_coupling()).numpy(), s=10, marker="x", label="checkpoint")
    lim = max(np.abs(wt).max(), np.abs(wf).max(), 1e-3) * 1.1
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
    ax.set_xlabel("W (exact maximum likelihood)"); ax.set_ylabel("W (perturbative)")
    ax.set_title("couplings W_ab, a != b"); ax.legend(fontsize=8)
    ax = axes[1]
    bt, bf = tr.bias.detach().numpy(), b28.numpy()
    ax.scatter(bt, bf, s=14)
    lo, hi = min(bt.min(), bf.min()), max(bt.max(), bf.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel("b (exact maximum likelihood)"); ax.set_ylabel("b = logit(x_hat) (eq. 41)")
    ax.set_title("biases")
    ax = axes[2]
    weff = _offdiag(0.25 * sol.rbm.weights.detach() @ sol.rbm.weights.detach().t()).numpy()
    ax.scatter(wf, weff, s=10)
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
    ax.set_xlabel("W (BM first order, eq. 42)"); ax.set_ylabel("(1/4) U U^T (RBM least squares)")
    ax.set_title(f"RBM, {n_hidden} hidden: relative residual {sol.residual['relative']:.2g}")
    for a in axes:
        a.grid(alpha=0.3)
    plots.append(str(save_figure(fig, out / "parameters.png", f"perturbative vs trained parameters {title}")))

    fig, axes = subplots(1, 3, figsize=(14, 4.2))
    m28 = distribution_moments(states, p28)
    mtr = distribution_moments(states, exact_distribution(tr)[1])
    ax = axes[0]
    ax.scatter(mom.mean.numpy(), (m28.mean - mom.mean).numpy(), s=14, label="first order")
    ax.scatter(mom.mean.numpy(), (mtr.mean - mom.mean).numpy(), s=14, marker="x", label="trained")
    ax.axhline(0, color="k", lw=1)
    ax.set_xlabel("data mean x_hat"); ax.set_ylabel("model mean - data mean (exact)")
    ax.set_title("one-unit marginals"); ax.legend(fontsize=8)
    ax = axes[1]
    cd = _offdiag(mom.cov).numpy()
    ax.scatter(cd, _offdiag(m28.cov).numpy(), s=10, label="first order")
    ax.scatter(cd, _offdiag(mtr.cov).numpy(), s=10, marker="x", label="trained")
    allc = np.concatenate([cd, _offdiag(m28.cov).numpy(), _offdiag(mtr.cov).numpy()])
    ax.plot([allc.min(), allc.max()], [allc.min(), allc.max()], "k--", lw=1)
    ax.set_xlabel("data covariance"); ax.set_ylabel("model covariance (exact)")
    ax.set_title("pair marginals"); ax.legend(fontsize=8)
    ax = axes[2]
    pe = p28.numpy()
    floor = 0.2 * min(float(pe.min()), 0.5 / max(x.shape[0], 1))
    ax.loglog(pe, p_data.numpy().clip(min=0.5 / max(x.shape[0], 1)), ".", ms=2, color="0.7",
              label="data frequency (0 shown at 1/2N)")
    pex = p_exp.numpy()
    ax.loglog(pe, pex.clip(min=floor), ".", ms=3, color="tab:orange",
              label=f"p_0 + p_1 (Theorem 24); {int((pex <= floor).sum())} at or below the floor")
    lo, hi = float(pe.min()), float(pe.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="exact")
    ax.set_ylim(floor / 1.5, max(hi, float(pex.max())) * 1.5)
    ax.set_xlabel("exact probability of the state (first-order BM)"); ax.set_ylabel("probability")
    ax.set_title(f"states: TV(p_0 + p_1, exact) = {result['marginals']['tv_expansion_vs_exact_first_order']:.3f}")
    ax.legend(fontsize=8)
    if hi / lo >= 10:
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[1].tick_params(axis="x", labelrotation=30)
    for a in axes:
        a.grid(alpha=0.3)
    plots.append(str(save_figure(fig, out / "marginals.png", f"exact vs first-order marginals {title}")))

    fig, ax = subplots(figsize=(7, 5))
    for s, label, mk in ((scan, "correlations scaled", "o"), (zscan, f"zoom-in (x{copies} copies)", "s")):
        xs = np.array([r["max_abs_coupling"] for r in s["rows"]])
        ax.loglog(xs, [r["mean_error"] for r in s["rows"]], marker=mk, ls="-",
                  label=f"means, {label} (slope {s['slope_mean']:.2f})")
        ax.loglog(xs, [r["cov_error"] for r in s["rows"]], marker=mk, ls="--",
                  label=f"covariances, {label} (slope {s['slope_cov']:.2f})")
    ax.text(0.98, 0.02, f"slopes fitted on the {scan['slope_points']} weakest points "
            f"(max |Pearson| <= {scan['slope_max_pearson']:.3f})", transform=ax.transAxes, ha="right",
            fontsize=7)
    xs = np.array([r["max_abs_coupling"] for r in scan["rows"]])
    ref = scan["rows"][0]["cov_error"] * (xs / xs[0]) ** 2
    ax.loglog(xs, ref, "k:", lw=1.5, label="slope 2 (second order)")
    ax.set_xlabel("coupling strength max |W_ab| of the first-order solution")
    ax.set_ylabel("max |model - data| (exact enumeration)")
    ax.set_title(f"first-order BM error vs coupling ({n} units)")
    ax.legend(fontsize=7); ax.grid(alpha=0.3, which="both")
    plots.append(str(save_figure(fig, out / "scaling.png", title)))
    result["plots"] = plots
    return result
