"""Scalar-field RBMs trained on image data: the spectrum along training (Figs. 14-15) and N_h scans of trained
models (Figs. 16-17).

Source: G. Aarts, B. Lucini, C. Park, "Scalar field restricted Boltzmann machine as an ultraviolet regulator",
PRD 109, 034521 (2024), Sec. VI, eq. (81), (84)-(86), Figs. 14-17.

Training is :func:`boltzlab.field.train.train_field` towards the data's two-point function (eq. 21, 85)
with the diminishing learning rate of App. A.  The stable constant learning rate of the discrete update is
kappa_min^2 / (mu^2 - kappa_min) (:func:`boltzlab.field.train.stable_learning_rate`): 6.4e-6 for the
784-pixel MNIST test images at mu^2 = 100, so the paper's 10^6 epochs reach t = sum of learning rates ~ 6,
and only the infrared modes converge.  Every run here is therefore checked against the flow of eq. (81)
integrated per data mode to the same t from the initial projections xi_a^2(0) = (O^T W W^T O)_aa (which is
what training at any epoch count must follow while the modes stay aligned), and against the fixed point
(eq. 84) for the modes that have converged.

``pool`` averages p x p pixel blocks (28 x 28 -> 14 x 14 at p = 2): a reduction for the CPU, stated by every
result that uses it.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from ...errors import ConfigError
from ...field.dynamics import mode_flow
from ...field.kl import data_averaged_nll
from ...field.model import ScalarFieldRBM, two_point
from ...field.train import FieldHistory, FieldTrainConfig, stable_learning_rate, train_field
from .field import data_spectrum, fixed_point_model


def pool_images(data: Any, pool: int = 1, side: int = 28) -> np.ndarray:
    """Average ``pool`` x ``pool`` blocks of square images of ``side`` pixels (pool = 1: unchanged)."""
    x = np.asarray(data, dtype=np.float64)
    if pool == 1:
        return x
    if side % pool or x.shape[1] != side * side:
        raise ConfigError(f"cannot pool {x.shape[1]}-pixel images of side {side} in {pool} x {pool} blocks")
    s = side // pool
    return x.reshape(-1, s, pool, s, pool).mean(axis=(2, 4)).reshape(-1, s * s)


def data_kappa(second_moment: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(kappa ascending with inf for zero modes, eigenvectors) of the data kernel K = <phi phi^T>^{-1} (eq. 85)."""
    c, o = data_spectrum(second_moment)
    kappa = np.where(c > 1e-12, 1.0 / np.maximum(c, 1e-300), np.inf)
    return kappa, o


def train_on_data(data: Any, n_hidden: int, mu2: float = 100.0, epochs: int = 2000, *, lr: float | None = None,
                  decay: float = 1.0, decay_every: int = 128, learn_mu2: bool = False, method: str = "exact",
                  init_std: float = 0.01, record_every: int | None = None, seed: int = 0, device: Any = None,
                  progress: bool = False) -> dict[str, Any]:
    """Train a ScalarFieldRBM (N_v = pixels, ``n_hidden``) on ``data`` and compare it with eq. (81) and eq. (84).

    ``lr`` defaults to 0.9 times the stable learning rate.  Returns the model, its history, the data's kappa,
    the eq. (81) prediction of xi_a^2 at the recorded t (per data mode, the N_h largest), and the largest
    relative deviation of the trained eigenvalues from it.
    """
    x = torch.as_tensor(np.asarray(data), dtype=torch.float64)
    c = two_point(x)
    kappa, o = data_kappa(c)
    nv = x.shape[1]
    step = float(lr) if lr is not None else 0.9 * stable_learning_rate(kappa[np.isfinite(kappa)], mu2)
    if not math.isfinite(step):
        raise ConfigError(f"no data mode lies below mu^2 = {mu2:g}: nothing to learn")
    model = ScalarFieldRBM(nv, int(n_hidden), mu2=mu2, learn_mu2=learn_mu2, dtype=torch.float64,
                           device=device).init_random(init_std, seed)
    w0 = model.weights.detach().double().cpu().numpy().copy()
    cfg = FieldTrainConfig(epochs=int(epochs), lr=step, decay=decay, decay_every=decay_every, method=method,
                           chains=512, record_every=int(record_every or max(1, epochs // 100)), seed=seed)
    hist = train_field(model, c.to(model.device), cfg, progress=progress)
    times = hist.array("time")
    xi2_0 = np.diag(o.T @ w0 @ w0.T @ o)
    out: dict[str, Any] = {"model": model, "history": hist, "kappa": kappa, "lr": step, "n_visible": nv,
                           "n_hidden": int(n_hidden), "mu2_initial": mu2, "epochs": int(epochs),
                           "t_final": float(times[-1])}
    if not learn_mu2:
        fin = np.isfinite(kappa)
        flow = mode_flow(xi2_0[fin], kappa[fin], mu2, times)          # (times, modes)
        pred = np.sort(mu2 - flow[-1])[: int(n_hidden)]
        lam = np.sort(np.asarray(hist.eigenvalues[-1]))[: len(pred)]
        out["flow_eigenvalues"] = np.sort(mu2 - flow, axis=1)
        out["flow_max_relative_deviation"] = float(np.max(np.abs(lam - pred) / pred))
        target = kappa[fin][: len(pred)]
        below = target < mu2
        out["modes_below_mu2_learnable"] = int(below.sum())
        out["modes_converged_by_flow"] = int((np.abs(pred - target)[below] < 1e-3 * target[below]).sum())
        out["modes_converged_trained"] = int((np.abs(lam - target)[below] < 1e-3 * target[below]).sum())
    return out


def spectrum_figure(run: dict[str, Any], title: str = "", last_fraction: float = 0.1):
    """Figs. 14-15: RBM eigenvalues against epochs with the target kappa (dashed, below mu^2); right: the last part."""
    from ...plots import subplots
    hist: FieldHistory = run["history"]
    ep = hist.array("epoch")
    eig = hist.array("eigenvalues")
    mu2 = hist.array("mu2")[:, 0]
    kappa = run["kappa"]
    shown = kappa[np.isfinite(kappa) & (kappa < mu2.max() * 1.05)]
    fig, axes = subplots(1, 2, figsize=(12, 4.3))
    start = int(len(ep) * (1 - last_fraction))
    for ax, sl in ((axes[0], slice(None)), (axes[1], slice(start, None))):
        ax.plot(ep[sl], eig[sl], color="tab:blue", lw=0.5)
        ax.plot(ep[sl], mu2[sl], color="k", lw=1.5, label="mu^2")
        for k in shown[:: max(1, len(shown) // 60)]:
            ax.axhline(k, color="k", ls="--", lw=0.4)
        if "flow_eigenvalues" in run and sl == slice(None):
            every = max(1, run["n_hidden"] // 30)
            ax.plot(ep, run["flow_eigenvalues"][:, ::every], color="tab:orange", lw=0.6, ls=":")
        ax.set_xlabel("epoch")
        ax.set_ylabel("RBM eigenvalues")
        ax.grid(alpha=0.3)
    axes[0].set_title(title or f"{run['n_visible']} x {run['n_hidden']}, lr {run['lr']:.3g}")
    axes[1].set_title(f"last {last_fraction:.0%} of the epochs")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def hidden_scan(data: Any, hidden_values: Sequence[int], mu2: float = 100.0, epochs: int = 2000, *,
                n_images: int = 8, seed: int = 0, progress: bool = False, **train_kw: Any) -> dict[str, Any]:
    """Figs. 16-17 from trained models: for each N_h, train, then the data-averaged KL (eq. 86, up to its
    constant) of the trained model beside the fixed point of training (eq. 84), and images passed once
    through the trained model, phi' = E[phi | h = E[h | phi]]."""
    x = torch.as_tensor(np.asarray(data), dtype=torch.float64)
    c = two_point(x)
    ref = data_averaged_nll(fixed_point_model(c, mu2, x.shape[1]), c)
    rows, images = [], {}
    for nh in hidden_values:
        run = train_on_data(data, int(nh), mu2, epochs, seed=seed, progress=progress, **train_kw)
        m = run["model"]
        fp = fixed_point_model(c, mu2, int(nh))
        with torch.no_grad():
            x_dev = x[:n_images].to(m.device)
            rec = m.mean_visible(m.mean_hidden(x_dev)).double().cpu()
            rec_fp = fp.mean_visible(fp.mean_hidden(x[:n_images]))
        images[int(nh)] = rec.numpy()
        rows.append({"n_hidden": int(nh), "kl_trained_minus_best": data_averaged_nll(m, c.to(m.device)) - ref,
                     "kl_fixed_point_minus_best": data_averaged_nll(fp, c) - ref,
                     "mse_trained": float(((rec - x[:n_images]) ** 2).mean()),
                     "mse_fixed_point": float(((rec_fp - x[:n_images]) ** 2).mean()),
                     "t_final": run["t_final"], "flow_max_relative_deviation": run.get("flow_max_relative_deviation")})
    kappa, _ = data_kappa(c)
    return {"rows": rows, "images": images, "data_images": x[:n_images].numpy(), "mu2": mu2,
            "modes_below_mu2": int((kappa < mu2).sum()), "epochs": int(epochs)}


def kl_figure(scan: dict[str, Any]):
    """Fig. 17: KL (eq. 86) minus its value at N_h = N_v's fixed point, trained and at the fixed point, vs N_h."""
    from ...plots import subplots
    rows = scan["rows"]
    nh = [r["n_hidden"] for r in rows]
    fig, ax = subplots(figsize=(6, 4))
    ax.semilogx(nh, [r["kl_trained_minus_best"] for r in rows], "o-", label=f"trained ({scan['epochs']} epochs)")
    ax.semilogx(nh, [r["kl_fixed_point_minus_best"] for r in rows], "s--", label="fixed point of training (eq. 84)")
    ax.axvline(scan["modes_below_mu2"], color="gray", ls=":", label=f"{scan['modes_below_mu2']} modes below mu^2")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("N_h")
    ax.set_ylabel("KL - KL(fixed point, N_h = N_v)  [nats]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def regenerated_figure(scan: dict[str, Any], side: int):
    """Fig. 16: data images and their regeneration through trained RBMs with each N_h."""
    from ...plots import subplots
    rows = [("data", scan["data_images"])] + [(f"N_h={k}", v) for k, v in scan["images"].items()]
    n = scan["data_images"].shape[0]
    fig, axes = subplots(len(rows), n, figsize=(1.2 * n, 1.25 * len(rows)), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[r, j]
            ax.imshow(imgs[j].reshape(side, side), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig
