"""`boltzlab demo`: an RBM learns the 2D Ising model, judged by exact log-likelihoods.

The embedded data set is exact samples of the 8x8 periodic Ising model at beta = 0.4
(:func:`boltzlab.data.ising.default_dataset`).  Because the data come from a known Boltzmann distribution,
the demo can say how good the trained RBM is in absolute terms: its exact held-out log-likelihood
(2^16 hidden states enumerated) sits between that of independent units and that of the true Ising model,
and the magnetisation distribution of its samples is compared with the exact one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..data import train_test_split
from ..data.ising import default_dataset, ising2d_exact_stats
from ..models import BinaryRBM
from ..partition import exact_log_likelihood
from ..training import TrainConfig, Trainer

L, BETA, N_SAMPLES = 8, 0.4, 5000
N_HIDDEN, EPOCHS = 16, 40


def ising_log_prob(x01: np.ndarray, beta: float, log_z: float) -> np.ndarray:
    """ln p(s) = beta sum_<ij> s_i s_j - ln Z for flattened {0,1} configurations of the L x L torus."""
    s = (2.0 * x01 - 1.0).reshape(-1, L, L)
    bonds = (s * np.roll(s, 1, axis=1)).sum((1, 2)) + (s * np.roll(s, 1, axis=2)).sum((1, 2))
    return beta * bonds - log_z


def run_demo(out: Path, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    from ..plots import image_grid, learning_curves, save_figure, subplots, weight_filters
    out.mkdir(parents=True, exist_ok=True)
    x = default_dataset(n_samples=N_SAMPLES, L=L, beta=BETA, seed=0)
    train, test = train_test_split(x, test_fraction=0.2, seed=0)
    # Momentum 0.5 at the effective step lr / (1 - momentum) = 0.5: the persistent chains follow the model
    # with a delay of tens of updates (chain_autocorrelation_time in metrics.jsonl) and momentum 0.9 added
    # ten more, so the learning rule, a delayed feedback loop, oscillated.  The step decays linearly to a
    # hundredth, so the iterate settles, and the result is the parameter average (EMA), which filters what
    # jitter is left; the raw model is saved too (docs/training.md has the measured curves).
    cfg = TrainConfig(n_hidden=N_HIDDEN, method="pcd", k=5, batch_size=50, n_chains=500,
                      epochs=3 if quick else EPOCHS, lr=0.25, momentum=0.5, centered=True, seed=0,
                      lr_schedule="linear", lr_decay=0.01, monitor_samples=1000, watch="off", average="ema")
    trainer = Trainer.create(torch.as_tensor(train), cfg, test=torch.as_tensor(test), out_dir=out,
                             progress=progress)
    history = trainer.fit()
    model = trainer.average.model

    exact = ising2d_exact_stats(L, BETA)
    truth_test = float(ising_log_prob(test, BETA, exact["log_z"]).mean())
    indep = BinaryRBM(torch.zeros(L * L, 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-6)
    indep_test = exact_log_likelihood(indep, test)
    rbm_test = exact_log_likelihood(model, test)
    raw_test = exact_log_likelihood(trainer.model, test)

    def steadiness(key: str) -> float | None:
        """Mean |epoch-to-epoch change| of the exact held-out log-likelihood over the second half."""
        curve = np.array([r[key] for r in history])
        return float(np.abs(np.diff(curve[len(curve) // 2:])).mean()) if len(curve) > 2 else None

    v, _ = model.sample(5000, steps=2000, seed=1)
    m_model = (2 * v.double().mean(1) - 1).numpy()
    m_data = 2 * test.mean(1) - 1
    fig, ax = subplots(figsize=(6, 4))
    bins = np.linspace(-1 - 1 / L**2, 1 + 1 / L**2, L * L // 2 + 2)
    ax.hist(m_data, bins=bins, density=True, alpha=0.5, label="held-out data")
    ax.hist(m_model, bins=bins, density=True, histtype="step", lw=2, label="RBM samples")
    width = 2 / L**2
    ax.plot(exact["magnetisation_values"], exact["magnetisation_pmf"] / width, "k.", ms=4, label="exact Ising")
    ax.set_xlabel("magnetisation per site m"); ax.set_ylabel("density")
    ax.set_title(f"{L}x{L} Ising, beta={BETA}: magnetisation distribution"); ax.legend()
    save_figure(fig, out / "magnetisation.png")

    save_figure(learning_curves(history, title=f"RBM 64x{N_HIDDEN}, PCD-5, centered, on 8x8 Ising"),
                out / "learning_curves.png")
    save_figure(image_grid(test[:32], (L, L), n_cols=8, title="held-out Ising configurations"), out / "data.png")
    save_figure(image_grid(v[:32].numpy(), (L, L), n_cols=8, title="RBM samples (2000 sweeps)"), out / "samples.png")
    save_figure(weight_filters(model.weights.detach().numpy(), (L, L)), out / "filters.png")

    abs_m = {"exact": exact["abs_magnetisation"], "data": float(np.abs(m_data).mean()),
             "rbm": float(np.abs(m_model).mean())}
    report = {
        "data": {"model": "2D Ising, periodic", "L": L, "beta": BETA, "n_train": len(train), "n_test": len(test)},
        "rbm": {"n_visible": L * L, "n_hidden": N_HIDDEN, "updates": trainer.step, "epochs": trainer.epoch,
                "method": "PCD-5, 500 chains, SGD lr 0.25 momentum 0.5, centered, linear lr decay to 0.01x; "
                          "the result is the parameter average (EMA, decay 0.99)",
                "final_lr": trainer.optimizer.param_groups[0]["lr"]},
        "held_out_log_likelihood": {"rbm_exact": rbm_test, "independent_units": indep_test,
                                    "true_ising_model": truth_test, "raw_rbm_exact": raw_test},
        "gap_closed": (rbm_test - indep_test) / (truth_test - indep_test),
        "gap_closed_raw": (raw_test - indep_test) / (truth_test - indep_test),
        "mean_change_per_epoch_second_half": steadiness("test_log_likelihood_averaged"),
        "mean_change_per_epoch_second_half_raw": steadiness("test_log_likelihood"),
        "abs_magnetisation": abs_m,
        "plots": [str(out / n) for n in ("learning_curves.png", "samples.png", "data.png", "filters.png",
                                          "magnetisation.png")],
        "model": str(out / "averaged.pt"),
        "checkpoint": str(out / "checkpoint.pt"),
    }
    atomic_write_json(out / "report.json", report)
    md = [
        "# boltzlab demo: an RBM learns the 2D Ising model", "",
        f"Data: {N_SAMPLES} exact samples of the {L}x{L} periodic Ising model at beta = {BETA} "
        f"({len(train)} train, {len(test)} held out).", "",
        f"RBM: 64 visible x {N_HIDDEN} hidden binary units, {report['rbm']['method']}, {trainer.step} updates.", "",
        "| held-out log-likelihood (nats per configuration) | value |", "| --- | --- |",
        f"| independent units (best product model) | {indep_test:.3f} |",
        f"| **RBM, parameter average (averaged.pt; exact, 2^{N_HIDDEN} hidden states enumerated)** "
        f"| **{rbm_test:.3f}** |",
        f"| RBM, last iterate (checkpoint.pt) | {raw_test:.3f} |",
        f"| true Ising model (the best possible) | {truth_test:.3f} |", "",
        f"The RBM closes {100 * report['gap_closed']:.1f}% of the gap between independent units and the truth "
        f"(the last iterate {100 * report['gap_closed_raw']:.1f}%).",
        "" if report["mean_change_per_epoch_second_half"] is None else "Second half of training: the held-out "
        f"log-likelihood moves by {report['mean_change_per_epoch_second_half']:.2f} nats per epoch on average "
        f"(the last iterate's by {report['mean_change_per_epoch_second_half_raw']:.2f}).",
        "", f"<|m|>: exact {abs_m['exact']:.3f}, held-out data {abs_m['data']:.3f}, RBM samples {abs_m['rbm']:.3f}.",
        "", "Plots: " + ", ".join(Path(p).name for p in report["plots"]), "",
    ]
    (out / "report.md").write_text("\n".join(md))
    return report
