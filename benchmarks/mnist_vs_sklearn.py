"""Held-out exact log-likelihood on MNIST: boltzlab PCD against scikit-learn's BernoulliRBM, side by side.

Data: the 10,000 MNIST test images (../shared/data/mnist), binarised at 0.5; the first 8,000 train, the
last 2,000 are held out.  Both models have 16 hidden units, so log Z is exact (2^16 hidden states) and
the comparison carries no estimator error.  Both train with the same minibatch size and the same number
of parameter updates; each uses its own learning algorithm (scikit-learn: PCD-1 with batch-size chains
and plain SGD; boltzlab: PCD-k with persistent chains, momentum and the centered gradient).

    .venv-bench/bin/python benchmarks/mnist_vs_sklearn.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import boltzlab as bl
from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import DEFAULT_MNIST, mnist_test_bits, report  # noqa: E402


def held_out_ll(weights, vbias, hbias, test: np.ndarray) -> float:
    rbm = bl.BinaryRBM(weights, vbias, hbias, dtype=torch.float64)
    return bl.exact_log_likelihood(rbm, test)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=10, help="scikit-learn n_iter; sets the update count")
    ap.add_argument("--sklearn-lr", type=float, default=0.1, help="scikit-learn's own default")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--chains", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = mnist_test_bits(args.mnist)
    train, test = x[:8000].astype(np.float32), x[8000:].astype(np.float32)

    import peers
    t0 = time.perf_counter()
    sk = peers.sklearn_bernoulli_rbm(train, args.hidden, args.batch_size, args.epochs, args.sklearn_lr,
                                     args.seed, n_threads=args.threads)
    sk_seconds = time.perf_counter() - t0
    n_updates = sk["n_updates"]
    sk_ll = held_out_ll(sk["weights"], sk["visible_bias"], sk["hidden_bias"], test)

    cfg = TrainConfig(n_hidden=args.hidden, method="pcd", k=args.k, batch_size=args.batch_size,
                      n_chains=args.chains, epochs=10**6, max_updates=n_updates, lr=args.lr, momentum=0.9,
                      centered=True, lr_schedule="linear", lr_decay=0.1, seed=args.seed, monitor_samples=500)
    t0 = time.perf_counter()
    trainer = Trainer.create(torch.as_tensor(train), cfg, progress=False)
    trainer.config.monitor_exact_max_log2 = 0  # no per-epoch monitoring inside the timed loop
    trainer.fit()
    ours_seconds = time.perf_counter() - t0
    ours_ll = bl.exact_log_likelihood(trainer.model, test)
    result = {
        "benchmark": "mnist_heldout_ll_vs_sklearn", "n_train": len(train), "n_test": len(test),
        "hidden": args.hidden, "batch_size": args.batch_size, "updates": n_updates,
        "sklearn": {"held_out_log_likelihood": sk_ll, "seconds": sk_seconds, "learning_rate": args.sklearn_lr,
                    "algorithm": "PCD-1, batch-size chains, SGD"},
        "boltzlab": {"held_out_log_likelihood": ours_ll, "seconds": ours_seconds, "updates": trainer.step,
                     "algorithm": f"PCD-{args.k}, {args.chains} chains, SGD+momentum 0.9, centered, lr {args.lr} decaying linearly to {args.lr / 10:g}"},
        "difference_nats": ours_ll - sk_ll,
    }
    return report(result, args.out)


if __name__ == "__main__":
    main()
