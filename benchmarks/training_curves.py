"""Learning curves behind docs/training.md: the demo recipe with one cause of oscillation changed at a time.

The `boltzlab demo` data (exact samples of the 8x8 periodic Ising model at beta = 0.4, 4,000 train /
1,000 held out) and its RBM (64 x 16, centered, minibatch 50, 500 chains, 40 epochs, linear decay of the
learning rate to 0.1x), trained with the variants below; the exact held-out log-likelihood is recorded
after every epoch.  ``exact`` replaces the sampled negative phase by the exact model average (ln Z summed
over the 2^16 hidden states and differentiated), which removes the chains and keeps the optimiser.

    python benchmarks/training_curves.py --out training_curves.json --figure training_curves.png
    python benchmarks/training_curves.py --variants pcd5,exact --epochs 10     # a shorter look
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from boltzlab.data import train_test_split
from boltzlab.data.ising import default_dataset
from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402

BASE = dict(n_hidden=16, method="pcd", k=5, batch_size=50, n_chains=500, lr=0.05, momentum=0.9, centered=True,
            seed=0, lr_schedule="linear", lr_decay=0.1, monitor_samples=200, watch="off")
VARIANTS = {
    "pcd5": {},                                          # as `make demo` shipped it
    "exact": {"exact": True},                            # no chains: the exact model average
    "pcd50": {"k": 50},                                  # chains ten times closer to equilibrium
    "momentum0.5": {"lr": 0.25, "momentum": 0.5},        # the same effective step lr / (1 - momentum)
    "lr0.01": {"lr": 0.01},                              # a five times shorter step
    "pt": {"method": "pt", "k": 1},                      # parallel tempering, 8 rungs
    "watch": {"watch": "adapt"},                         # the monitor halves the step on oscillation
}


class ExactTrainer(Trainer):
    """The learning rule with the model term -ln Z(theta) itself (enumerated over the hidden states)."""

    def _negative_samples(self, batch: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the exact negative phase draws no samples")

    def update(self, batch: torch.Tensor, batch_weights: torch.Tensor | None = None) -> None:
        local, _, _ = self._begin_update(batch, batch_weights)
        m = self.model
        self.optimizer.zero_grad(set_to_none=False)
        log_z = torch.logsumexp(-m.free_energy_hidden(self._hidden_states()), 0)
        (m.visible_free_energy(local).mean() + log_z).backward()
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        self.step += 1
        if self.average is not None:
            self.average.update(m, self.step)

    def _hidden_states(self) -> torch.Tensor:
        n = self.model.n_hidden
        idx = torch.arange(1 << n, device=self.model.device)
        return ((idx[:, None] >> torch.arange(n, device=idx.device)) & 1).to(self.model.dtype)


def run(name: str, epochs: int, train: np.ndarray, test: np.ndarray) -> dict:
    opts = {**BASE, **VARIANTS[name], "epochs": epochs}
    cls = ExactTrainer if opts.pop("exact", False) else Trainer
    tr = cls.create(torch.as_tensor(train), TrainConfig(**opts), test=torch.as_tensor(test), progress=False)
    hist = tr.fit()
    ll = np.array([r["test_log_likelihood"] for r in hist])
    second = ll[len(ll) // 2:]
    keys = ("test_log_likelihood", "test_log_likelihood_averaged", "chain_autocorrelation_time",
            "sample_minus_data_log_prob", "min_exchange_acceptance", "lr", "diagnosis")
    return {"final": float(ll[-1]), "final_averaged": hist[-1].get("test_log_likelihood_averaged"),
            "mean_change_second_half": float(np.abs(np.diff(second)).mean()),
            "epochs": [{k: r.get(k) for k in keys} for r in hist]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = default_dataset(n_samples=5000, L=8, beta=0.4, seed=0)
    train, test = train_test_split(x, test_fraction=0.2, seed=0)
    curves = {name: run(name, args.epochs, train, test) for name in args.variants.split(",")}
    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, c in curves.items():
            ll = [e["test_log_likelihood"] for e in c["epochs"]]
            ax.plot(range(1, len(ll) + 1), ll, label=f"{name} ({c['mean_change_second_half']:.2f} nats/epoch)")
        ax.set_ylim(-45, -26)
        ax.set_xlabel("epoch")
        ax.set_ylabel("exact held-out log-likelihood (nats)")
        ax.set_title("demo recipe: what makes the curve oscillate")
        ax.legend(fontsize=8)
        fig.savefig(args.figure, dpi=120, bbox_inches="tight")
    return report({"benchmark": "training_curves", "curves": curves}, args.out)


if __name__ == "__main__":
    main()
