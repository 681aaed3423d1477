"""AIS and reverse AIS against exact ln Z on RBMs with 20 hidden units (784 and 64 visible), many seeds.

Four models, each small enough for exact enumeration of its 2^20 hidden states:

* ``mnist-784x20-trained``: trained by boltzlab (PCD) on 8,000 binarised MNIST test images (../shared/data/mnist);
* ``mnist-784x20-random``: Gaussian weights of the trained model's standard deviation, its biases;
* ``ising-64x20-trained``: trained on exact samples of the 8x8 Ising model at beta = 0.4;
* ``ising-64x20-random``: Gaussian weights of that model's standard deviation, its biases.

For each seed: the default ``bl.ais_log_z(model, seed=s, data=train)`` (base rate of the training data;
random models have no data, so the base rate of model samples; the run count sized automatically to a
standard error of 0.03 nats, 100 to 1,000 runs; ``--runs N`` fixes it instead) and reverse AIS started
from held-out data (trained models: the RAISE estimator) or from 1,000-sweep model samples (random
models: log-mean-exp).  Reported: the mean and largest
error of AIS, the fraction of seeds with |error| <= 3 stderr, the mean reverse-AIS error, and how often the
pair brackets the exact value.

    .venv-bench/bin/python benchmarks/ais_accuracy.py --seeds 20 [--runs 100] [--models mnist-784x20-trained]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import boltzlab as bl
from boltzlab.data import default_dataset
from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import DEFAULT_MNIST, mnist_test_bits, report  # noqa: E402


def train(x: np.ndarray, hidden: int, epochs: int, seed: int) -> bl.BinaryRBM:
    cfg = TrainConfig(n_hidden=hidden, method="pcd", k=5, batch_size=50, n_chains=100, epochs=epochs, lr=0.02,
                      momentum=0.9, centered=True, lr_schedule="linear", lr_decay=0.1, seed=seed,
                      monitor_exact_max_log2=0)
    trainer = Trainer.create(torch.as_tensor(x), cfg, progress=False)
    trainer.fit()
    m = trainer.model
    m.set_offsets(torch.zeros_like(m.visible_offset), torch.zeros_like(m.hidden_offset))
    return m


def randomised(model: bl.BinaryRBM, seed: int) -> bl.BinaryRBM:
    g = torch.Generator().manual_seed(seed)
    w = model.weights.detach().double()
    return bl.BinaryRBM(torch.randn(w.shape, generator=g, dtype=torch.float64) * float(w.std()),
                        model.visible.bias.detach(), model.hidden.bias.detach(), dtype=torch.float32)


def evaluate(name: str, model, train: np.ndarray | None, data: np.ndarray | None, seeds: int,
             n_runs: int | None) -> dict:
    exact = bl.exact_log_z(model)
    rows = []
    t0 = time.perf_counter()
    for s in range(seeds):
        a = bl.ais_log_z(model, n_runs=n_runs, seed=s, data=train)
        reverse_runs = n_runs or 100
        if data is not None:
            r = bl.rais_log_z(model, data, n_runs=reverse_runs, seed=1000 + s)
        else:
            r = bl.rais_log_z(model, None, n_runs=reverse_runs, seed=1000 + s, burn_in=1000)
        rows.append((a.log_z - exact, a.stderr, r.log_z - exact, r.stderr, a.ess, a.n_runs))
        print(f"  {name} seed {s}: AIS {rows[-1][0]:+.4f} ± {a.stderr:.4f} ({a.n_runs} runs), "
              f"RAIS {rows[-1][2]:+.4f}", file=sys.stderr, flush=True)
    e = np.array(rows)
    out = {"model": name, "exact_log_z": exact, "weight_std": float(model.weights.detach().std()),
           "seeds": seeds, "n_runs": n_runs or "auto", "ais_mean_runs": float(e[:, 5].mean()),
           "rais_runs": n_runs or 100, "n_betas": a.n_betas, "schedule": a.extra["schedule"],
           "ais_mean_error": float(e[:, 0].mean()), "ais_max_abs_error": float(np.abs(e[:, 0]).max()),
           "ais_mean_stderr": float(e[:, 1].mean()),
           "ais_within_3_stderr": float(np.mean(np.abs(e[:, 0]) <= 3 * e[:, 1])),
           "ais_within_0.1_nats": float(np.mean(np.abs(e[:, 0]) <= 0.1)),
           "rais_mean_error": float(e[:, 2].mean()), "rais_max_abs_error": float(np.abs(e[:, 2]).max()),
           "rais_within_3_stderr": float(np.mean(np.abs(e[:, 2]) <= 3 * e[:, 3])),
           "bracket_of_means": bool(e[:, 0].mean() <= 0 <= e[:, 2].mean()),
           "bracket_fraction": float(np.mean((e[:, 0] <= 0) & (e[:, 2] >= 0))),
           "mean_ess": float(e[:, 4].mean()), "seconds": time.perf_counter() - t0}
    print(f"{name}: AIS {out['ais_mean_error']:+.4f} (max {out['ais_max_abs_error']:.4f}, "
          f"{out['ais_within_3_stderr']:.0%} within 3 se, {out['ais_within_0.1_nats']:.0%} within 0.1, "
          f"{out['ais_mean_runs']:.0f} runs), RAIS {out['rais_mean_error']:+.4f}", file=sys.stderr)
    return out


MODELS = ("mnist-784x20-trained", "mnist-784x20-random", "ising-64x20-trained", "ising-64x20-random")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=None, help="fixed AIS run count (default: automatic)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    chosen = [m for m in args.models.split(",") if m]
    if unknown := set(chosen) - set(MODELS):
        ap.error(f"unknown models: {', '.join(sorted(unknown))}")
    torch.set_num_threads(args.threads)
    results = []
    if any(m.startswith("mnist") for m in chosen):
        x = mnist_test_bits(args.mnist)
        mnist = train(x[:8000], 20, args.epochs, 0)
        if "mnist-784x20-trained" in chosen:
            results.append(evaluate("mnist-784x20-trained", mnist, x[:8000], x[8000:], args.seeds, args.runs))
        if "mnist-784x20-random" in chosen:
            results.append(evaluate("mnist-784x20-random", randomised(mnist, 1), None, None, args.seeds, args.runs))
    if any(m.startswith("ising") for m in chosen):
        ising_x = default_dataset(n_samples=6000, seed=0).astype(np.float32)
        ising = train(ising_x[:5000], 20, args.epochs * 4, 0)
        if "ising-64x20-trained" in chosen:
            results.append(evaluate("ising-64x20-trained", ising, ising_x[:5000], ising_x[5000:], args.seeds,
                                    args.runs))
        if "ising-64x20-random" in chosen:
            results.append(evaluate("ising-64x20-random", randomised(ising, 1), None, None, args.seeds, args.runs))
    return report({"benchmark": "ais_accuracy", "runs": args.runs or "auto", "results": results}, args.out)


if __name__ == "__main__":
    main()
