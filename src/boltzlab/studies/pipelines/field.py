"""Study pipelines of the scalar-field RBM (Aarts, Lucini, Park, Phys. Rev. D 109, 034521 (2024)): each
function trains or measures, writes PNG plots into ``out`` and returns a JSON-able dictionary of its numbers
(the ``boltzlab field ...`` commands and the ``boltzlab reproduce field-*`` entries call them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ...errors import ConfigError
from ...field.dynamics import (flow_jacobian_rates, integrate_flow, integrate_two_node, mode_flow, relaxation_rates,
                       two_node_fixed_point)
from ...field.kl import data_averaged_nll, gaussian_kl, kl_aligned, kl_monte_carlo, kl_scalar_theory
from ...field.lattice import action_density, free_field_samples, lattice_kernel, lattice_spectrum
from ...field.model import ScalarFieldRBM, two_point
from ...field.train import FieldHistory, FieldTrainConfig, target_from_kernel, train_field


# Where training of the scalar-field RBM ends (Aarts, Lucini, Park, Phys. Rev. D 109, 034521 (2024)): the learnt
# spectrum (eq. 33, 84) and the model at the fixed point for a data set's two-point function (eq. 13, 84, 85).
def expected_spectrum(kappa: Any, mu2: float, n_hidden: int) -> np.ndarray:
    """What training converges to (eq. 33, 84, Sec. V C-D): the N_h smallest kappa below mu^2 are learnt,
    every other eigenvalue sits at mu^2; ascending."""
    kap = np.sort(np.asarray(kappa, dtype=float))
    out = np.full_like(kap, float(mu2))
    n = min(int(n_hidden), len(kap))
    out[:n] = np.minimum(kap[:n], mu2)
    return np.sort(out)


def data_spectrum(second_moment: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of <phi phi^T> (eq. 85): 1/kappa_a."""
    c, o = torch.linalg.eigh(torch.as_tensor(second_moment, dtype=torch.float64))
    return c.flip(0).clamp_min(0).numpy(), o.flip(1).numpy()


def fixed_point_model(second_moment: torch.Tensor, mu2: float, n_hidden: int, sigma_h2: float = 1.0
                      ) -> ScalarFieldRBM:
    """The RBM at the fixed point of training (eq. 13 restricted to N_h modes, eq. 84): W = O_n sqrt((mu^2 -
    kappa_n)_+ / sigma_h^2) over the N_h smallest kappa = 1/c of the data's two-point function."""
    c, o = data_spectrum(second_moment)
    nv = len(c)
    n = int(n_hidden)
    kappa = np.where(c[:n] > 0, 1.0 / np.maximum(c[:n], 1e-300), np.inf)
    s = np.sqrt(np.clip(mu2 - kappa, 0.0, None) / sigma_h2)
    w = o[:, :n] * s
    return ScalarFieldRBM(nv, n, mu2=mu2, sigma_h2=sigma_h2, weights=torch.as_tensor(w), dtype=torch.float64)


# ---------------------------------------------------------------------------------------------- helpers
def make_model(n_visible: int, n_hidden: int, mu2: float, *, sigma_h2: float = 1.0, learn_mu2: bool = False,
               init: str = "random", init_std: float = 0.1, seed: int = 0, target_kernel: Any = None,
               dtype: torch.dtype = torch.float64, device: Any = None) -> ScalarFieldRBM:
    """A ScalarFieldRBM initialised at random N(0, init_std^2), at the Cholesky or the symmetric solution."""
    m = ScalarFieldRBM(n_visible, n_hidden, mu2=mu2, sigma_h2=sigma_h2, learn_mu2=learn_mu2, dtype=dtype,
                       device=device)
    if init == "random":
        return m.init_random(init_std, seed)
    if target_kernel is None:
        raise ConfigError(f"--init {init} needs a known target kernel (a lattice), not a data set")
    if init == "cholesky":
        return m.init_cholesky(target_kernel)
    if init == "symmetric":
        return m.init_symmetric(target_kernel)
    raise ConfigError(f"unknown initialisation {init!r}; use random, cholesky or symmetric")


def _eigen_axes(ax: Any, hist: FieldHistory, kappa: np.ndarray | None, x: str = "epoch", title: str = "",
                log: bool = False) -> None:
    xs = hist.array(x)
    eig = hist.array("eigenvalues")
    for a in range(eig.shape[1]):
        ax.plot(xs, eig[:, a], lw=1, color=("C0" if a % 2 == 0 else "C1"))
    if kappa is not None:
        for k in np.unique(np.round(kappa, 9)):
            ax.axhline(k, color="k", ls="--", lw=0.7)
    mu2 = hist.array("mu2")
    ax.plot(xs, mu2[:, 0] if mu2.shape[1] == 1 else mu2.max(1), color="k", lw=1.5, label="mu^2")
    ax.set_xlabel("epoch" if x == "epoch" else "t = sum of learning rates")
    ax.set_ylabel("RBM eigenvalues lambda")
    if log:
        ax.set_xscale("symlog", linthresh=max(xs[1] if len(xs) > 1 else 1, 1))
    ax.set_title(title)
    ax.grid(alpha=0.3)


def _rel_errors(lam: np.ndarray, expected: np.ndarray) -> dict[str, Any]:
    rel = np.abs(lam - expected) / np.abs(expected)
    return {"max_relative_error": float(rel.max()), "relative_errors": rel.tolist()}


# ---------------------------------------------------------------------------------------------- train
def train_lattice(out: Path, shape: Sequence[int], m2: float, mu2: float, n_hidden: int | None = None, *,
                  config: FieldTrainConfig, sigma_h2: float = 1.0, learn_mu2: bool = False, init: str = "random",
                  init_std: float = 0.1, progress: bool = False, data: Any = None, tag: str = "",
                  device: Any = None, dtype: torch.dtype = torch.float64) -> dict[str, Any]:
    """Train a ScalarFieldRBM on a lattice free field (target kernel, or ``data`` configurations) and plot
    the eigenvalues per epoch against kappa (Figs. 3, 5, 7, 9-12), the singular values (Figs. 6-7) and the
    standardised norms of the parts of W (Figs. 3-4)."""
    from ...plots import save_figure, subplots
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    k = lattice_kernel(shape, m2)
    kappa = lattice_spectrum(shape, m2).numpy()
    nv = k.shape[0]
    nh = int(n_hidden or nv)
    target = target_from_kernel(k) if data is None else two_point(data)
    model = make_model(nv, nh, mu2, sigma_h2=sigma_h2, learn_mu2=learn_mu2, init=init, init_std=init_std,
                       seed=config.seed, target_kernel=k, dtype=dtype, device=device)
    w0 = model.weights.detach().double().cpu().clone()
    hist = train_field(model, target, config, progress=progress)
    lam = model.spectrum().double().cpu().numpy()
    final_mu2 = float(model.mu2.detach().max())
    expected = expected_spectrum(kappa, final_mu2, nh)
    prefix = f"{tag}_" if tag else ""
    name = "x".join(str(s) for s in shape)
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    _eigen_axes(axes[0], hist, kappa, title=f"{name} lattice, m^2={m2:g}, mu^2={mu2:g}{' (learnt)' if learn_mu2 else ''}, "
                                            f"N_h={nh}, {config.method}")
    axes[0].legend(loc="lower right")
    sv = hist.array("singular_values")
    for a in range(sv.shape[1]):
        axes[1].plot(hist.array("epoch"), sv[:, a], lw=1)
    axes[1].set_xlabel("epoch"); axes[1].set_ylabel("singular values xi_a of W"); axes[1].grid(alpha=0.3)
    axes[1].set_title("singular values (largest <-> smallest eigenvalue)")
    plots = [save_figure(fig, out / f"{prefix}eigenvalues.png")]
    fig, axes = subplots(1, 2, figsize=(12, 4))
    groups = (("diagonal", "lower", "upper"), ("symmetric", "antisymmetric"))
    for ax, keys in zip(axes, groups):
        for key in keys:
            if key not in hist.norms:
                continue
            y = np.asarray(hist.norms[key])
            z = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
            ax.plot(hist.array("epoch"), z, lw=1, label=f"{key}: mean {y.mean():.3g}, std {y.std():.2g}")
        ax.set_xlabel("epoch"); ax.set_ylabel("(||part|| - mean) / std"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
    axes[0].set_title("L2 norms of W's diagonal / lower / upper parts (Fig. 3)")
    axes[1].set_title("symmetric / antisymmetric parts (Fig. 4)")
    plots.append(save_figure(fig, out / f"{prefix}norms.png"))
    result: dict[str, Any] = {
        "lattice": list(shape), "m2": m2, "mu2_initial": mu2, "mu2": final_mu2, "n_visible": nv, "n_hidden": nh,
        "sigma_h2": sigma_h2, "learn_mu2": learn_mu2, "init": init, "config": config.__dict__,
        "eigenvalues": lam.tolist(), "target_eigenvalues": np.sort(kappa).tolist(),
        "expected_eigenvalues": expected.tolist(), **_rel_errors(lam, expected),
        "singular_values": model.singular_values().double().cpu().tolist(),
        "final_norms": {key: v[-1] for key, v in hist.norms.items()},
        "plots": [str(p) for p in plots]}
    result["weights_initial"] = w0.tolist()
    result["weights"] = model.weights.detach().double().cpu().tolist()
    result["history"] = hist.as_dict()
    return result


# ---------------------------------------------------------------------------------------------- action density
def action_histograms(out: Path, model: ScalarFieldRBM, shape: Sequence[int], m2: float, n: int = 10_000,
                      steps: int = 200, seed: int = 0) -> dict[str, Any]:
    """Action density s = S(phi)/N_v (target action, eq. 76) of RBM block-Gibbs samples against exact samples
    of the free field and the analytic chi^2_{N_v}/(2 N_v) law (equipartition, Fig. 5); KS tests."""
    from scipy import stats

    from ...plots import save_figure, subplots
    k = lattice_kernel(shape, m2)
    nv = k.shape[0]
    if model.n_visible != nv:
        raise ConfigError(f"the model has {model.n_visible} visible nodes; the {shape} lattice has {nv}")
    v, _ = model.sample(int(n), steps=int(steps), seed=seed)
    s_rbm = action_density(v.double().cpu(), k).numpy()
    s_ex = action_density(free_field_samples(shape, m2, int(n), seed=seed + 1), k).numpy()
    law = stats.chi2(nv, scale=1.0 / (2 * nv))
    ks_rbm = stats.kstest(s_rbm, law.cdf)
    ks_ex = stats.kstest(s_ex, law.cdf)
    ks2 = stats.ks_2samp(s_rbm, s_ex)
    fig, ax = subplots(figsize=(6, 4))
    bins = np.linspace(0, max(s_rbm.max(), s_ex.max()), 60)
    ax.hist(s_ex, bins, density=True, alpha=0.5, label="exact samples of the free field")
    ax.hist(s_rbm, bins, density=True, alpha=0.5, label=f"RBM samples (block Gibbs, {steps} sweeps)")
    xs = np.linspace(1e-3, bins[-1], 300)
    ax.plot(xs, law.pdf(xs), "k", lw=1.2, label="chi^2_N / (2N) (equipartition)")
    ax.axvline(0.5, color="gray", ls=":")
    ax.set_xlabel("action density S/N_v"); ax.set_ylabel("density"); ax.legend(fontsize=8)
    ax.set_title(f"action density, {'x'.join(map(str, shape))} lattice, m^2={m2:g}")
    plot = save_figure(fig, out / "action_density.png")
    return {"n_samples": int(n), "mean_rbm": float(s_rbm.mean()), "mean_exact": float(s_ex.mean()),
            "mean_equipartition": 0.5, "std_rbm": float(s_rbm.std()), "std_exact": float(s_ex.std()),
            "std_analytic": float(law.std()), "ks_rbm_vs_analytic_p": float(ks_rbm.pvalue),
            "ks_exact_vs_analytic_p": float(ks_ex.pvalue), "ks_rbm_vs_exact_p": float(ks2.pvalue),
            "plots": [str(plot)]}


# ---------------------------------------------------------------------------------------------- UV regularisation
def uv_regularisation(out: Path, shape: Sequence[int], m2: float, mu2_values: Sequence[float],
                      hidden_values: Sequence[int], mu2_for_hidden: float, config: FieldTrainConfig,
                      progress: bool = False) -> dict[str, Any]:
    """UV cutoff by mu^2 (Fig. 10, Fig. 12 left) and by N_h (Fig. 11, Fig. 12 right): training runs whose final
    eigenvalues are compared with the regularised spectrum of eq. (84)."""
    from ...plots import save_figure, subplots
    kappa = lattice_spectrum(shape, m2).numpy()
    nv = len(kappa)
    runs = [("mu2", float(mu), nv) for mu in mu2_values] + [("hidden", float(mu2_for_hidden), int(nh))
                                                            for nh in hidden_values]
    if not runs:
        raise ConfigError("give at least one --mu2-list or --hidden-list value")
    cols = min(4, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    results = []
    for ax, (kind, mu2, nh) in zip(axes.flat, runs):
        r = train_lattice(out, shape, m2, mu2, nh, config=config, progress=progress, tag=f"{kind}_{mu2:g}_{nh}")
        hist = FieldHistory(**r.pop("history"))
        for key in ("weights", "weights_initial"):
            r.pop(key)
        _eigen_axes(ax, hist, kappa, title=f"mu^2={mu2:g}, N_h={nh}")
        results.append({"cut_by": kind, **r})
    for ax in list(axes.flat)[len(runs):]:
        ax.axis("off")
    plot = save_figure(fig, Path(out) / "uv_regularisation.png",
                       f"UV regularisation, {'x'.join(map(str, shape))} lattice, m^2={m2:g}")
    return {"lattice": list(shape), "m2": m2, "target_eigenvalues": np.sort(kappa).tolist(), "runs": results,
            "max_relative_error": max(r["max_relative_error"] for r in results), "plots": [str(plot)]}


# ---------------------------------------------------------------------------------------------- data sets
def mnist_spectrum(out: Path, data: np.ndarray, mu2: float) -> dict[str, Any]:
    """Eigenvalues 1/kappa of the data's correlation matrix <phi_i phi_j> (Fig. 13) and the number of modes
    with kappa < mu^2 (those an RBM with mass mu^2 can learn, Sec. VI)."""
    from ...plots import save_figure, subplots
    c, _ = data_spectrum(two_point(data))
    kappa = np.where(c > 1e-12, 1.0 / np.maximum(c, 1e-300), np.inf)
    n_below = int((kappa < mu2).sum())
    fig, axes = subplots(1, 2, figsize=(11, 4))
    axes[0].plot(np.arange(1, len(c) + 1), c, ".", ms=3)
    axes[0].set_xlabel("mode a"); axes[0].set_ylabel("eigenvalue 1/kappa_a of <phi_i phi_j>")
    axes[0].text(0.55, 0.95, "ten largest:\n" + "\n".join(f"{x:.3g}" for x in c[:10]), transform=axes[0].transAxes,
                 va="top", fontsize=8, family="monospace")
    axes[0].set_title(f"correlation spectrum ({data.shape[0]} images)"); axes[0].grid(alpha=0.3)
    finite = np.isfinite(kappa)
    axes[1].semilogy(np.arange(1, finite.sum() + 1), kappa[finite], ".", ms=3)
    axes[1].axhline(mu2, color="r", label=f"mu^2 = {mu2:g}: {n_below} modes below")
    axes[1].set_xlabel("mode a"); axes[1].set_ylabel("kappa_a"); axes[1].legend(); axes[1].grid(alpha=0.3)
    axes[1].set_title("kernel eigenvalues kappa (IR left, UV right)")
    plot = save_figure(fig, Path(out) / "mnist_spectrum.png")
    return {"n_images": int(data.shape[0]), "n_visible": int(data.shape[1]), "mu2": mu2,
            "largest_correlation_eigenvalues": c[:10].tolist(), "modes_below_mu2": n_below,
            "zero_modes": int((~finite).sum()), "plots": [str(plot)]}


def kl_vs_hidden(out: Path, data: np.ndarray, mu2: float, hidden_values: Sequence[int], *, epochs: int = 0,
                 lr: float | None = None, seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Data-averaged KL (eq. 86, up to its constant) of RBMs with N_h hidden nodes at fixed mu^2 (Fig. 17).

    Each N_h is evaluated at the fixed point of training (the N_h most infrared modes below mu^2 learnt); with
    ``epochs`` > 0 also after that many exact-gradient epochs from a random start.  The analytic form
    (eq. B7 with b_i of eq. B4) is reported alongside."""
    from ...plots import save_figure, subplots
    c_data = two_point(data)
    c, _ = data_spectrum(c_data)
    kappa = np.where(c > 1e-12, 1.0 / np.maximum(c, 1e-300), np.inf)
    nv = len(c)
    rows = []
    full = fixed_point_model(c_data, mu2, nv)
    ref = data_averaged_nll(full, c_data)
    kap_f = np.sort(kappa[np.isfinite(kappa)])
    best_b7 = kl_aligned(kap_f, np.minimum(kap_f, mu2))
    for nh in hidden_values:
        m = fixed_point_model(c_data, mu2, int(nh))
        nll = data_averaged_nll(m, c_data)
        # eq. (B7) with b_i of eq. (B4) over the modes the data populate (zero modes add the same to every N_h)
        b = np.where(np.arange(len(kap_f)) < int(nh), np.minimum(kap_f, mu2), mu2)
        row = {"n_hidden": int(nh), "nll_fixed_point": nll, "kl_minus_best": nll - ref,
               "kl_b7_minus_best": kl_aligned(kap_f, b) - best_b7}
        if epochs > 0:
            trained = ScalarFieldRBM(nv, int(nh), mu2=mu2, dtype=torch.float64).init_random(0.01, seed)
            step = lr if lr is not None else 0.5 * float(kap_f[0]) ** 2 / mu2   # below 2 / (largest rate 2 gamma)
            train_field(trained, c_data, FieldTrainConfig(epochs=epochs, lr=step, method="exact",
                                                          record_every=max(1, epochs)), progress=progress)
            row["nll_trained"] = data_averaged_nll(trained, c_data)
        rows.append(row)
    best = {"nll": ref}
    fig, ax = subplots(figsize=(6, 4))
    ax.semilogx([r["n_hidden"] for r in rows], [r["kl_minus_best"] for r in rows], "o-", label="fixed point of training")
    if epochs > 0:
        ax.semilogx([r["n_hidden"] for r in rows], [r["nll_trained"] - ref for r in rows], "s--",
                    label=f"after {epochs} exact-gradient epochs")
    n_below = int((kappa < mu2).sum())
    ax.axvline(n_below, color="gray", ls=":", label=f"{n_below} modes below mu^2 = {mu2:g}")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("N_h"); ax.set_ylabel("KL(p_data || p_model) - KL at N_h = N_v  [nats]")
    ax.set_title("data-averaged KL (eq. 86) vs hidden nodes"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
    plot = save_figure(fig, Path(out) / "kl_vs_hidden.png")
    return {"mu2": mu2, "modes_below_mu2": n_below, "best": best, "rows": rows, "plots": [str(plot)]}


def regenerate_images(out: Path, data: np.ndarray, mu2: float, hidden_values: Sequence[int], n_images: int = 8,
                      shape: tuple[int, int] | None = None) -> dict[str, Any]:
    """Images passed once forward and back through the RBM at its fixed point, phi' = E[phi | h = E[h | phi]]
    = (sigma_h^2/mu^2) W W^T phi, for several N_h (Fig. 16); mean squared errors per N_h."""
    from ...plots import guess_image_shape, save_figure, subplots
    c_data = two_point(data)
    x = torch.as_tensor(data[:n_images], dtype=torch.float64)
    shape = shape or guess_image_shape(data.shape[1]) or (1, data.shape[1])
    rows, mse = [x.numpy()], {}
    for nh in hidden_values:
        m = fixed_point_model(c_data, mu2, int(nh))
        with torch.no_grad():
            rec = m.mean_visible(m.mean_hidden(x))
        rows.append(rec.numpy())
        mse[int(nh)] = float(((rec - x) ** 2).mean())
    fig, axes = subplots(len(rows), n_images, figsize=(1.2 * n_images, 1.25 * len(rows)), squeeze=False)
    labels = ["data"] + [f"N_h={nh}" for nh in hidden_values]
    for r, (imgs, label) in enumerate(zip(rows, labels)):
        for j in range(n_images):
            ax = axes[r, j]
            ax.imshow(imgs[j].reshape(shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]); ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    plot = save_figure(fig, Path(out) / "regenerated.png", f"regenerated images, mu^2 = {mu2:g}")
    return {"mu2": mu2, "hidden": [int(h) for h in hidden_values], "mse": mse, "plots": [str(plot)]}


# ---------------------------------------------------------------------------------------------- learning flow
def flow_overlay(out: Path, shape: Sequence[int], m2: float, mu2: float, n_hidden: int | None,
                 config: FieldTrainConfig, learn_mu2: bool = False, progress: bool = False) -> dict[str, Any]:
    """Stochastic (PCD or exact) training against the continuous-time flow eq. (26)-(27) integrated from the
    same W(0), at t = sum of learning rates; plus eq. (81) per mode from the initial projections (Fig. 6)."""
    from ...plots import save_figure, subplots
    r = train_lattice(out, shape, m2, mu2, n_hidden, config=config, learn_mu2=learn_mu2, progress=progress,
                      tag="flow")
    hist = FieldHistory(**r.pop("history"))
    w0 = np.asarray(r.pop("weights_initial"))
    r.pop("weights")
    k = lattice_kernel(shape, m2)
    times = hist.array("time")
    flow = integrate_flow(w0, mu2, target_from_kernel(k), times, learn_mu2=learn_mu2)
    kap, o = np.linalg.eigh(k.numpy())
    xi2 = np.diag(o.T @ w0 @ w0.T @ o)
    modes = mode_flow(xi2, kap, mu2, times)
    eig = hist.array("eigenvalues")
    dev = np.abs(flow["eigenvalues"] - eig)
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    for a in range(eig.shape[1]):
        axes[0].plot(times, eig[:, a], ".", ms=2, color=f"C{a % 10}")
        axes[0].plot(times, flow["eigenvalues"][:, a], "-", lw=1, color=f"C{a % 10}")
    for kk in np.unique(np.round(kap, 9)):
        axes[0].axhline(kk, color="k", ls="--", lw=0.6)
    axes[0].set_xscale("symlog", linthresh=1.0)
    axes[0].set_xlabel("t = sum of learning rates"); axes[0].set_ylabel("lambda")
    axes[0].set_title(f"training ({config.method}, dots) vs flow eq. (26) (lines)")
    sv = hist.array("singular_values")
    for a in range(sv.shape[1]):
        axes[1].plot(times, sv[:, a] ** 2, ".", ms=2, color=f"C{a % 10}")
    for a in range(modes.shape[1]):
        axes[1].plot(times, modes[:, a], "--", lw=1, color="gray")
    axes[1].set_xscale("symlog", linthresh=1.0)
    axes[1].set_xlabel("t"); axes[1].set_ylabel("xi^2")
    axes[1].set_title("xi_a^2 from training (dots) and eq. (81) per mode (dashed)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
    plot = save_figure(fig, Path(out) / "flow_overlay.png")
    r.update({"flow_final_eigenvalues": flow["eigenvalues"][-1].tolist(),
              "max_abs_deviation_training_vs_flow": float(dev.max()),
              "final_abs_deviation_training_vs_flow": float(dev[-1].max()),
              "mode_equation_final_eigenvalues": np.sort(mu2 - modes[-1]).tolist()})
    r["plots"].append(str(plot))
    return r


def two_node_study(out: Path, config: FieldTrainConfig | None = None, seed: int = 0) -> dict[str, Any]:
    """N_v = 2 (Sec. IV C, Fig. 2): the three cases of Fig. 2 integrated with eq. (53)-(57), the fixed points
    (eq. 59-62), PCD training of a 2x2 RBM laid over the flow, and the relaxation rates (eq. 67) against the
    exact linearisation and a fit of the late-time decay."""
    from ...plots import save_figure, subplots
    cases = [("mu2 > k2 > k1", (0.2, 0.4), 1.0, False), ("k1 > mu2 > k2", (0.7, 0.2), 0.4, False),
             ("learnt mu2, k2 > mu2(0) > k1", (0.2, 0.7), 0.4, True)]
    cfg = config or FieldTrainConfig(epochs=4000, lr=0.002, chains=512, record_every=20, seed=seed)
    fig, axes = subplots(len(cases), 3, figsize=(13, 3.3 * len(cases)))
    res: dict[str, Any] = {"cases": []}
    theta0 = 0.0
    for row, (label, kap, mu2, learn) in enumerate(cases):
        t_end = 60.0 if not learn else 400.0
        t = np.linspace(0, t_end, 400)
        red = integrate_two_node((0.3, 0.1), 0.5, 0.2, mu2, kap, t, theta0=theta0, learn_mu2=learn)
        fp = two_node_fixed_point(kap, mu2)
        # PCD on the same problem, from W(0) = R(0.5) diag(0.3, 0.1) R(0.2)^T
        rot = lambda a: np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])  # noqa: E731
        w0 = rot(0.5) @ np.diag([0.3, 0.1]) @ rot(0.2).T
        m = ScalarFieldRBM(2, 2, mu2=mu2, learn_mu2=learn, weights=torch.as_tensor(w0), dtype=torch.float64)
        c = dict(cfg.__dict__)
        c["epochs"] = int(min(t_end, 60.0) / cfg.lr)
        c["record_every"] = max(1, c["epochs"] // 150)
        hist = train_field(m, torch.diag(torch.tensor([1 / kap[0], 1 / kap[1]], dtype=torch.float64)),
                           FieldTrainConfig(**c))
        ax = axes[row, 0]
        ax.plot(t, red["xi"][:, 0], label="xi_1"); ax.plot(t, red["xi"][:, 1], label="xi_2")
        sv = hist.array("singular_values")
        ax.plot(hist.array("time"), sv[:, 0], ".", ms=2, color="C0"); ax.plot(hist.array("time"), sv[:, 1], ".", ms=2,
                                                                            color="C1")
        ax.set_title(f"{label}: singular values"); ax.set_xlabel("t")
        ax = axes[row, 1]
        ax.plot(t, red["eigenvalues"][:, 0], label="lambda_1"); ax.plot(t, red["eigenvalues"][:, 1], label="lambda_2")
        ax.plot(t, red["mu2"], "k", lw=1, label="mu^2")
        eg = hist.array("eigenvalues")
        ax.plot(hist.array("time"), eg[:, 0], ".", ms=2, color="C0"); ax.plot(hist.array("time"), eg[:, 1], ".",
                                                                            ms=2, color="C1")
        for kk in kap:
            ax.axhline(kk, color="k", ls="--", lw=0.6)
        ax.set_title(f"kappa = {kap}, mu^2(0) = {mu2:g}"); ax.set_xlabel("t"); ax.legend(fontsize=7)
        ax = axes[row, 2]
        ax.plot(t, red["theta_u"] - theta0, label="dtheta = theta_U - theta_0")
        ax.plot(t, red["theta_v"], label="theta_V")
        ax.set_title("angles (PCD: dots of panels 1-2)"); ax.set_xlabel("t"); ax.legend(fontsize=7)
        for a in axes[row]:
            a.grid(alpha=0.3)
        res["cases"].append({"label": label, "kappa": list(kap), "mu2_initial": mu2, "learn_mu2": learn,
                             "flow_final_eigenvalues": sorted(red["eigenvalues"][-1].tolist()),
                             "flow_final_mu2": float(red["mu2"][-1]),
                             "flow_final_dtheta": float(red["theta_u"][-1] - theta0),
                             "fixed_point": fp if not learn else {"eigenvalues": sorted(kap), "mu2": max(kap)},
                             "pcd_final_eigenvalues": m.spectrum().tolist(),
                             "pcd_final_mu2": float(m.mu2.detach())})
    plots = [save_figure(fig, Path(out) / "two_node.png", "N_v = N_h = 2: eq. (53)-(57) (lines) and PCD (dots)")]
    # relaxation rates
    kap, mu2 = (0.2, 0.4), 1.0
    rates = relaxation_rates(kap, mu2)
    jac = flow_jacobian_rates(kap, mu2)
    t = np.linspace(0, 1.5, 300)
    red = integrate_two_node((math.sqrt(mu2 - kap[0]) * 1.05, math.sqrt(mu2 - kap[1]) * 0.95), 0.05, 0.0, mu2, kap, t,
                             rtol=1e-13, atol=1e-30)
    x = red["xi"] ** 2 - np.array([mu2 - kap[0], mu2 - kap[1]])
    dth = red["theta_u"]

    def fit(y: np.ndarray) -> float:
        """Late-time decay rate: slope of ln|y| where |y| is between 1e-4 and 1e-10 of its start."""
        a = np.abs(y)
        sel = (a < 1e-4 * a[0]) & (a > 1e-10 * a[0])
        if sel.sum() < 5:
            sel = t > 0.5 * t[-1]
        return float(-np.polyfit(t[sel], np.log(a[sel]), 1)[0])
    res["relaxation"] = {"kappa": list(kap), "mu2": mu2, **rates, "jacobian_eigenvalues": jac.tolist(),
                         "fitted_rate_dtheta": fit(dth), "fitted_rate_x1": fit(x[:, 0]),
                         "fitted_rate_x2": fit(x[:, 1]),
                         "note": "x_i = sigma_h^2 xi_i^2 - (mu^2 - kappa_i) relaxes at 2 min(gamma_i, gamma_dtheta); "
                                 "dtheta at gamma_dtheta (units of sigma_h^2 t)"}
    fig, ax = subplots(figsize=(6, 4))
    ax.semilogy(t, np.abs(x[:, 0]), label=f"|x_1|, fit {fit(x[:, 0]):.2f}")
    ax.semilogy(t, np.abs(x[:, 1]), label=f"|x_2|, fit {fit(x[:, 1]):.2f}")
    ax.semilogy(t, np.abs(dth), label=f"|dtheta|, fit {fit(dth):.2f}")
    for name, g in (("2 gamma_1", 2 * rates["gamma_1"]), ("2 gamma_2", 2 * rates["gamma_2"]),
                    ("gamma_dtheta", rates["gamma_dtheta"])):
        ax.semilogy(t, 0.05 * np.exp(-g * t), ":", lw=1, label=f"exp(-{name} t), {name} = {g:.2f}")
    ax.set_ylim(1e-14, 1); ax.set_xlabel("t (sigma_h^2 = 1)"); ax.legend(fontsize=7); ax.grid(alpha=0.3)
    ax.set_title(f"approach to the fixed point, kappa = {kap}, mu^2 = {mu2:g}")
    plots.append(save_figure(fig, Path(out) / "relaxation.png"))
    res["plots"] = [str(p) for p in plots]
    return res


# ---------------------------------------------------------------------------------------------- KL (App. B)
def kl_check(out: Path, shape: Sequence[int], m2: float, mu2: float, hidden_values: Sequence[int],
             config: FieldTrainConfig, n_mc: int = 200_000, progress: bool = False) -> dict[str, Any]:
    """Eq. (B8) against the KL of the trained models evaluated numerically: the closed Gaussian form in any
    basis (no alignment assumed) and a Monte Carlo average of ln p - ln q over exact target samples."""
    from ...plots import save_figure, subplots
    k = lattice_kernel(shape, m2)
    kappa = lattice_spectrum(shape, m2).numpy()
    nv = k.shape[0]
    rows = []
    for nh in hidden_values:
        m = ScalarFieldRBM(nv, int(nh), mu2=mu2, dtype=torch.float64).init_random(0.1, config.seed)
        train_field(m, target_from_kernel(k), config, progress=progress)
        b8 = kl_scalar_theory(kappa, mu2, int(nh))
        b7 = kl_aligned(kappa, np.sort(m.spectrum().numpy()))
        num = gaussian_kl(k, m.kernel().detach())
        mc, err = kl_monte_carlo(k, m, n_mc, seed=config.seed)
        rows.append({"n_hidden": int(nh), "kl_b8": b8, "kl_b7_trained_eigenvalues": b7, "kl_numerical": num,
                     "kl_monte_carlo": mc, "kl_monte_carlo_stderr": err,
                     "relative_difference_b8_vs_numerical": abs(num - b8) / b8 if b8 > 0 else abs(num)})
    fig, ax = subplots(figsize=(6, 4))
    nh = [r["n_hidden"] for r in rows]
    ax.plot(nh, [r["kl_b8"] for r in rows], "o-", label="eq. (B8)")
    ax.plot(nh, [r["kl_numerical"] for r in rows], "x", ms=9, label="trained RBM, Gaussian KL (any basis)")
    ax.errorbar(nh, [r["kl_monte_carlo"] for r in rows], [2 * r["kl_monte_carlo_stderr"] for r in rows], fmt="s",
                mfc="none", label=f"trained RBM, Monte Carlo ({n_mc} samples, 2 s.e.)")
    ax.set_xlabel("N_h"); ax.set_ylabel("KL(p || q)"); ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_title(f"{'x'.join(map(str, shape))} lattice, m^2={m2:g}, mu^2={mu2:g}"); ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    plot = save_figure(fig, Path(out) / "kl_analytic.png")
    positive = [r["relative_difference_b8_vs_numerical"] for r in rows if r["kl_b8"] > 0]
    return {"lattice": list(shape), "m2": m2, "mu2": mu2, "rows": rows,
            "max_relative_difference": max(positive) if positive else None, "plots": [str(plot)]}


# ---------------------------------------------------------------------------------------------- Gaussian-Bernoulli
def bernoulli_study(out: Path, n_hidden: int = 3, mu2: float = 2.0, n_samples: int = 100_000, epochs: int = 500,
                    seed: int = 0) -> dict[str, Any]:
    """Sec. VII on tiny systems: (i) N_v = 1: p(phi) from block Gibbs and from the exact sampler against
    numerical integration of exp(-S) (eq. 91), ln Z by enumeration against quadrature; (ii) N_v = 2, eta = 0: the
    induced couplings (eq. 93, 95) against autograd derivatives of S at phi = 0, and eq. (92) against eq. (91);
    (iii) training (PCD and the enumerated exact gradient) on samples of a known GB-RBM."""
    from scipy.integrate import quad
    from torch.autograd.functional import hessian, jacobian

    from ...partition import exact_log_z
    from ...plots import save_figure, subplots
    from ...field.bernoulli import GaussianBernoulliRBM, moments_by_quadrature, train_gaussian_bernoulli
    f64 = torch.float64
    g = torch.Generator().manual_seed(seed)
    m1 = GaussianBernoulliRBM(1, n_hidden, mu2=mu2, weights=torch.randn(1, n_hidden, generator=g, dtype=f64),
                              eta=torch.randn(n_hidden, generator=g, dtype=f64) * 0.3, dtype=f64)
    q = moments_by_quadrature(m1)
    v, _ = m1.sample(n_samples, steps=500, seed=seed)   # mixing time between the modes ~ 33 sweeps
    x = m1.sample_exact(n_samples, seed=seed + 1)
    res: dict[str, Any] = {"n_hidden": n_hidden, "mu2": mu2,
                           "log_z_quadrature": q[0], "log_z_enumeration": float(m1.exact_log_z().detach()),
                           "log_z_generic_exact": float(exact_log_z(m1)),
                           "phi2_quadrature": q[2], "phi2_gibbs": float((v ** 2).mean()),
                           "phi2_exact_sampler": float((x ** 2).mean()),
                           "phi4_quadrature": q[4], "phi4_gibbs": float((v ** 4).mean()),
                           "phi2_stderr": math.sqrt((q[4] - q[2] ** 2) / n_samples)}
    # the weight of the phi > 0 side tests that the chains equilibrated between the modes (<phi^2> barely does)
    with torch.no_grad():
        weight = lambda t: math.exp(-float(m1.effective_action(torch.tensor([[t]], dtype=f64))))  # noqa: E731
        p_pos = quad(weight, 0, np.inf)[0] / quad(weight, -np.inf, np.inf)[0]
    res.update({"p_positive_quadrature": p_pos, "p_positive_gibbs": float((v > 0).double().mean()),
                "p_positive_exact_sampler": float((x > 0).double().mean()),
                "p_positive_stderr": math.sqrt(p_pos * (1 - p_pos) / n_samples)})
    fig, axes = subplots(1, 2, figsize=(11, 4))
    grid = np.linspace(float(v.min()), float(v.max()), 400)
    with torch.no_grad():
        dens = np.exp(-m1.effective_action(torch.as_tensor(grid[:, None])).numpy() - q[0])
    axes[0].hist(v.numpy()[:, 0], 120, density=True, alpha=0.5, label="block Gibbs (500 sweeps)")
    axes[0].hist(x.numpy()[:, 0], 120, density=True, alpha=0.4, label="exact sampler (enumerated h)")
    axes[0].plot(grid, dens, "k", lw=1, label="exp(-S(phi)) / Z, eq. (91)")
    axes[0].set_xlabel("phi"); axes[0].set_title(f"N_v = 1, N_h = {n_hidden}, mu^2 = {mu2:g}"); axes[0].legend(fontsize=8)
    # (ii) couplings
    w2 = torch.randn(2, n_hidden, generator=g, dtype=f64)
    m2 = GaussianBernoulliRBM(2, n_hidden, mu2=mu2 + float((w2 @ w2.t()).max()), weights=w2, dtype=f64)
    s = lambda p: m2.effective_action(p.reshape(1, 2))[0]  # noqa: E731
    zero = torch.zeros(2, dtype=f64)
    d4 = jacobian(lambda p: jacobian(lambda r: hessian(s, r, create_graph=True), p, create_graph=True), zero)
    d2 = hessian(s, zero)
    phi = torch.randn(1000, 2, generator=g, dtype=f64) * 0.1
    with torch.no_grad():
        exact = m2.effective_action(phi) + n_hidden * math.log(2)
        series = {n: float((m2.effective_action_series(phi, n) - exact).abs().max()) for n in (1, 2, 3, 4)}
    res.update({"quartic_couplings": m2.quartic_couplings().tolist(),
                "max_abs_error_fourth_derivative_vs_2_lambda": float((d4 - 2 * m2.quartic_couplings()).abs().max()),
                "max_abs_error_hessian_vs_K": float((d2 - m2.quadratic_kernel()).abs().max()),
                "series_truncation_error_|phi|~0.1": series})
    # (iii) training
    truth = GaussianBernoulliRBM(2, 2, mu2=2.0, weights=torch.randn(2, 2, generator=g, dtype=f64), dtype=f64)
    data = truth.sample_exact(2000, seed=seed + 2)
    true_ll = float(truth.exact_log_likelihood(data).detach())
    curves = {}
    for exact_grad in (True, False):
        fresh = GaussianBernoulliRBM(2, 2, mu2=1.0, learn_mu2=True, dtype=f64,
                                     weights=torch.randn(2, 2, generator=torch.Generator().manual_seed(seed),
                                                         dtype=f64) * 0.5)
        curves["exact" if exact_grad else "pcd"] = train_gaussian_bernoulli(fresh, data, epochs=epochs, lr=0.05,
                                                                            chains=500, seed=seed, exact=exact_grad)
    ep = np.linspace(0, epochs, len(curves["pcd"]))
    for k, c in curves.items():
        axes[1].plot(ep, c, "o-", ms=3, label=f"{k} gradient")
    axes[1].axhline(true_ll, color="k", ls="--", label="generating model")
    axes[1].set_xlabel("epoch"); axes[1].set_ylabel("exact mean log-likelihood"); axes[1].legend(fontsize=8)
    axes[1].set_title("training a 2x2 Gaussian-Bernoulli RBM")
    for a in axes:
        a.grid(alpha=0.3)
    res.update({"train_true_log_likelihood": true_ll, "train_curves": curves,
                "plots": [str(save_figure(fig, Path(out) / "gaussian_bernoulli.png"))]})
    return res
