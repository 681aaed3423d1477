"""Learning curves behind docs/training.md: the demo recipe with one setting changed at a time.

The `boltzlab demo` data (exact samples of the 8x8 periodic Ising model at beta = 0.4, 4,000 train /
1,000 held out) and an RBM (64 x 16, centered, minibatch 50, 500 chains, 40 epochs, linear decay of the
learning rate to 0.1x), trained with the variants below; the exact held-out log-likelihood of the raw
model and of its parameter average is recorded after every epoch, and each final model is scored by the
fraction of the gap between independent units and the true Ising model that it closes.  ``exact`` variants
replace the sampled negative phase by the exact model average (``method="exact"``: ln Z summed over the
2^16 hidden states and differentiated), which removes the chains and keeps the optimiser: the ceiling of
the architecture and step budget.

The first group starts from the recipe `make demo` shipped first (lr 0.05, momentum 0.9) and changes one
cause of oscillation at a time; the ``demo-*`` group starts from the current demo recipe and asks what
stops it short of 90% of the gap (negative-phase bias, the step schedule, the run length, the capacity).

    python benchmarks/training_curves.py --out training_curves.json --figure training_curves.png
    python benchmarks/training_curves.py --variants demo,demo-exact --out gap.json --figure gap.png
    python benchmarks/training_curves.py --variants pcd5,exact --epochs 10     # a shorter look
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from boltzlab.data import train_test_split
from boltzlab.data.ising import default_dataset, ising2d_exact_stats
from boltzlab.models import BinaryRBM
from boltzlab.partition import exact_log_likelihood
from boltzlab.studies.demo import BETA, L, N_SAMPLES, ising_log_prob
from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402

BASE = dict(n_hidden=16, method="pcd", k=5, batch_size=50, n_chains=500, lr=0.05, momentum=0.9, centered=True,
            seed=0, lr_schedule="linear", lr_decay=0.1, monitor_samples=200, watch="off")
DEMO = {"lr": 0.25, "momentum": 0.5, "watch": "adapt"}  # the demo recipe before this study
VARIANTS = {
    "pcd5": {},                                          # as `make demo` shipped it
    "exact": {"method": "exact"},                        # no chains: the exact model average
    "pcd50": {"k": 50},                                  # chains ten times closer to equilibrium
    "momentum0.5": {"lr": 0.25, "momentum": 0.5},        # the same effective step lr / (1 - momentum)
    "lr0.01": {"lr": 0.01},                              # a five times shorter step
    "pt": {"method": "pt", "k": 1},                      # parallel tempering, 8 rungs
    "watch": {"watch": "adapt"},                         # the monitor halves the step on oscillation
    "demo": DEMO,
    "demo-exact": {**DEMO, "method": "exact"},           # the same without negative-phase bias
    "demo-nowatch": {**DEMO, "watch": "warn"},           # the step is never halved
    "demo-polyak": {**DEMO, "watch": "warn", "average": "polyak"},  # uniform mean of the second half
    "demo-exact-nowatch": {**DEMO, "method": "exact", "watch": "warn"},
    "demo-pcd50": {**DEMO, "k": 50},
    "demo-nodecay": {**DEMO, "lr_decay": 1.0},           # a constant step
    "demo-decay0.01": {**DEMO, "watch": "warn", "lr_decay": 0.01},  # the step decays nearly to zero
    "demo-80": {**DEMO, "epochs": 80},                   # twice the updates
    "demo-exact-80": {**DEMO, "method": "exact", "epochs": 80},
    "demo-exact-160": {**DEMO, "method": "exact", "epochs": 160},
    "demo-h20": {**DEMO, "n_hidden": 20},                # more capacity (2^20 hidden states, still exact)
    "demo-exact-h20": {**DEMO, "n_hidden": 20, "method": "exact"},
}


def references(train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """Held-out log-likelihood of independent units (fitted to ``train``) and of the true Ising model."""
    indep = BinaryRBM(torch.zeros(L * L, 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-6)
    truth = float(ising_log_prob(test, BETA, ising2d_exact_stats(L, BETA)["log_z"]).mean())
    return exact_log_likelihood(indep, test), truth


def run(name: str, epochs: int, train: np.ndarray, test: np.ndarray, refs: tuple[float, float],
        seed: int = 0) -> dict:
    opts = {**BASE, "epochs": epochs, "seed": seed, **VARIANTS[name]}
    tr = Trainer.create(torch.as_tensor(train), TrainConfig(**opts), test=torch.as_tensor(test), progress=False)
    hist = tr.fit()
    ll = np.array([r["test_log_likelihood"] for r in hist])
    avg = np.array([r.get("test_log_likelihood_averaged", np.nan) for r in hist], dtype=float)
    low, truth = refs
    averaged = hist[-1].get("test_log_likelihood_averaged")
    keys = ("test_log_likelihood", "test_log_likelihood_averaged", "chain_autocorrelation_time",
            "sample_minus_data_log_prob", "min_exchange_acceptance", "lr", "diagnosis")
    return {"final": float(ll[-1]), "final_averaged": averaged,
            "gap_closed": (float(ll[-1]) - low) / (truth - low),
            "gap_closed_averaged": None if averaged is None else (averaged - low) / (truth - low),
            "updates": tr.step, "final_lr": tr.optimizer.param_groups[0]["lr"],
            "mean_change_second_half": float(np.abs(np.diff(ll[len(ll) // 2:])).mean()),
            "mean_change_second_half_averaged": float(np.abs(np.diff(avg[len(avg) // 2:])).mean()),
            "epochs": [{k: r.get(k) for k in keys} for r in hist]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="pcd5,exact,pcd50,momentum0.5,lr0.01,pt,watch",
                    help=f"comma-separated, from: {', '.join(VARIANTS)}")
    ap.add_argument("--epochs", type=int, default=40, help="epochs of variants that do not set their own")
    ap.add_argument("--seed", type=int, default=0, help="training seed (initial weights, chains, minibatches)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = default_dataset(n_samples=N_SAMPLES, L=L, beta=BETA, seed=0)
    train, test = train_test_split(x, test_fraction=0.2, seed=0)
    refs = references(train, test)
    curves = {}
    for name in args.variants.split(","):
        curves[name] = c = run(name, args.epochs, train, test, refs, args.seed)
        print(f"{name}: final {c['final']:.3f} ({100 * c['gap_closed']:.1f}% of the gap), averaged "
              f"{c['final_averaged']:.3f} ({100 * c['gap_closed_averaged']:.1f}%); second half "
              f"{c['mean_change_second_half']:.3f} nats/epoch (averaged {c['mean_change_second_half_averaged']:.3f})",
              file=sys.stderr, flush=True)
    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, c in curves.items():
            ll = [e["test_log_likelihood"] for e in c["epochs"]]
            ax.plot(range(1, len(ll) + 1), ll, label=f"{name} ({100 * c['gap_closed']:.1f}% of the gap, "
                                                     f"{c['mean_change_second_half']:.2f} nats/epoch)")
        low, truth = refs
        ax.axhline(low + 0.9 * (truth - low), color="k", ls=":", lw=1, label="90% of the gap")
        ax.set_ylim(-45, -26)
        ax.set_xlabel("epoch")
        ax.set_ylabel("exact held-out log-likelihood (nats)")
        ax.set_title("demo data: learning curves of the variants")
        ax.legend(fontsize=7)
        fig.savefig(args.figure, dpi=120, bbox_inches="tight")
    return report({"benchmark": "training_curves", "references": dict(zip(("independent", "truth"), refs)),
                   "curves": curves}, args.out)


if __name__ == "__main__":
    main()
