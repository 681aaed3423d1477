"""Reproduction entries for Figs. 14-17 of the scalar-field RBM paper (Sec. VI) from trained models.

Training towards the two-point function of the MNIST test images (../shared/data/mnist).  Sizes: the full
tier trains on 14 x 14 images (2 x 2 pixel blocks averaged, N_v = 196) on a CPU and on the paper's 784 pixels
on a GPU; the quick tier on 7 x 7 images (N_v = 49).  The paper ran 10^6 epochs; the stable learning rate
kappa_min^2 / (mu^2 - kappa_min) limits every run to a t = sum of learning rates where only the infrared modes
have converged, so each run is checked against the mode flow eq. (81) at the same t (studies.pipelines.field_mnist).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch

from .registry import Study, entry

MU2 = 100.0


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One torch CPU thread: these matrices are small, and threads spinning on shared cores cost more than they give."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _setup(study: Study) -> dict[str, Any]:
    from ..data import load_dataset
    from .pipelines.field_mnist import pool_images
    cuda = torch.cuda.is_available() and not study.quick
    pool = 4 if study.quick else (1 if cuda else 2)
    rows = 2000 if study.quick else 10000
    x = pool_images(load_dataset(str(study.mnist()))[:rows], pool)
    side = 28 // pool
    scale = (f"{x.shape[0]} MNIST test images at {side} x {side} (N_v = {x.shape[1]}"
             + (", the paper's size" if pool == 1 else f", {pool} x {pool} pixel blocks averaged: reduced") + ")")
    return {"x": x, "side": side, "scale": scale, "device": "cuda" if cuda else "cpu"}


def _spectrum_entry(study: Study, learn_mu2: bool, fig: str) -> dict[str, Any]:
    from .pipelines.field_mnist import spectrum_figure, train_on_data
    s = _setup(study)
    x = s["x"]
    epochs = study.size(quick=1500, full=20_000)
    with one_thread():
        run = train_on_data(x, x.shape[1], MU2, epochs, decay=0.99, decay_every=128, learn_mu2=learn_mu2,
                            device=s["device"], progress=study.progress)
    hist = run["history"]
    lam = np.sort(np.asarray(hist.eigenvalues[-1]))
    kappa = run["kappa"]
    src = "target kappa of the data (eq. 85)"
    study.figure("lowest RBM eigenvalue vs the lowest target kappa", float(lam[0]), float(kappa[0]), 0.01, "relative",
                 src)
    if learn_mu2:
        from ..field.model import two_point
        mu2, t = hist.array("mu2")[:, 0], hist.array("time")
        predicted = -0.5 * (float(torch.trace(two_point(torch.as_tensor(x)))) - x.shape[1] / MU2)
        study.figure("initial d mu^2/dt against eq. (22), -(1/2) tr(C_data - C_model(0))",
                     (mu2[1] - mu2[0]) / t[1], predicted, 0.05, "relative", "eq. (22) at W(0) ~ 0")
    else:
        study.figure("largest relative deviation of the trained spectrum from eq. (81) at the same t",
                     run["flow_max_relative_deviation"], 0.0, 0.01, "upper", "mode flow eq. (81)")
        study.figure("infrared modes converged (within 0.1% of kappa): trained vs eq. (81)",
                     run["modes_converged_trained"], run["modes_converged_by_flow"], 2, "exact", "mode flow eq. (81)")
    study.save(spectrum_figure(run, f"{fig}: {s['scale']}, mu^2 {'learnt' if learn_mu2 else '= 100'}"),
               f"{fig.lower().replace('. ', '')}_spectrum.png")
    return {"scale": s["scale"], "epochs": epochs, "lr": run["lr"], "t_final": run["t_final"],
            "modes_below_mu2": int((kappa < MU2).sum()), "final_mu2": hist.mu2[-1],
            "final_eigenvalues": lam.tolist(), **{k: run[k] for k in ("flow_max_relative_deviation",
            "modes_converged_by_flow", "modes_converged_trained", "modes_below_mu2_learnable") if k in run}}


@entry("field-mnist-fig14", "Fig. 14: N_v = N_h scalar-field RBM trained on MNIST at mu^2 = 100, eigenvalues vs "
                            "epochs, against the mode flow eq. (81)")
def fig14(study: Study) -> dict[str, Any]:
    return _spectrum_entry(study, False, "Fig. 14")


@entry("field-mnist-fig15", "Fig. 15: as Fig. 14 with a learnable mu^2")
def fig15(study: Study) -> dict[str, Any]:
    return _spectrum_entry(study, True, "Fig. 15")


def _scan(study: Study) -> dict[str, Any]:
    """The trained N_h scan shared by Figs. 16 and 17 (cached per tier and size)."""
    from .pipelines.field_mnist import hidden_scan
    s = _setup(study)
    nv = s["x"].shape[1]
    hidden = [h for h in ([2, 4, 8, 16, 32] if study.quick else [8, 16, 32, 64, 100, 150]) if h < nv] + [nv]
    epochs = study.size(quick=1000, full=5000)
    key = {"tier": study.tier, "nv": nv, "hidden": hidden, "epochs": epochs, "mu2": MU2, "device": s["device"]}
    path = study.cache_dir("field-mnist-hidden-scan", key) / "scan.pt"
    if path.exists():
        scan = torch.load(path, weights_only=False)
    else:
        with one_thread():
            scan = hidden_scan(s["x"], hidden, MU2, epochs, decay=0.99, decay_every=128, device=s["device"],
                               progress=study.progress)
        torch.save(scan, path)
    return {**scan, "scale": s["scale"], "side": s["side"]}


@entry("field-mnist-fig16", "Fig. 16: images regenerated by trained scalar-field RBMs with N_h hidden nodes "
                            "(mu^2 = 100)")
def fig16(study: Study) -> dict[str, Any]:
    from .pipelines.field_mnist import regenerated_figure
    scan = _scan(study)
    rows = scan["rows"]
    mse = [r["mse_trained"] for r in rows]
    study.figure("regeneration error falls with N_h: MSE(largest N_h) / MSE(smallest N_h)", mse[-1] / mse[0], 0.0, 1.0,
                 "upper", "Fig. 16")
    study.figure("regeneration error falls with N_h: MSE(smallest N_h) - MSE(largest N_h) of the fixed points",
                 rows[0]["mse_fixed_point"] - rows[-1]["mse_fixed_point"], 0.0, 0.0, "lower", "eq. (84)")
    study.save(regenerated_figure(scan, scan["side"]), "fig16_regenerated.png", f"Fig. 16: {scan['scale']}")
    return {"scale": scan["scale"], "epochs": scan["epochs"], "rows": rows}


@entry("field-mnist-fig17", "Fig. 17: data-averaged KL (eq. 86) of trained scalar-field RBMs vs N_h at mu^2 = 100")
def fig17(study: Study) -> dict[str, Any]:
    from .pipelines.field_mnist import kl_figure
    scan = _scan(study)
    rows = scan["rows"]
    kl = [r["kl_trained_minus_best"] for r in rows]
    study.figure("KL falls from the smallest to the largest N_h [nats]", kl[0] - kl[-1], 0.0, 0.0, "lower", "Fig. 17")
    study.figure("trained KL above the fixed point's at every N_h (the fixed point is the optimum) [nats]",
                 min(r["kl_trained_minus_best"] - r["kl_fixed_point_minus_best"] for r in rows), 0.0, 1e-6, "lower",
                 "fixed point of training (eq. 84)")
    study.save(kl_figure(scan), "fig17_kl.png", f"Fig. 17: {scan['scale']}")
    return {"scale": scan["scale"], "epochs": scan["epochs"], "modes_below_mu2": scan["modes_below_mu2"], "rows": rows}
