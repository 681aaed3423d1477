"""PCD training speed: boltzlab's Trainer against `rbms` (PyPI) at equal settings, side by side.

Both train a 784x500 binary RBM on the binarised MNIST test images with the same persistent chains,
minibatch size, Gibbs sweeps per update and number of updates (by default the peer's own training
defaults: 2000 chains, minibatch 2000, 100 sweeps per update), the centered gradient and plain SGD.  The
peer is driven through its own ``fit_batch_pcd`` (see ``peers.rbms_pcd_train``), which rescales every
gradient to unit norm; boltzlab takes the plain gradient.  That changes the step, not the work done per
update.  Reported: seconds per update (median over interleaved repeats) and the ratio.  The floor is the
matrix-product work of one update alone: 2k products for k Gibbs sweeps, plus the data and model terms of
the gradient (two hidden-input products and two weight-gradient products), timed with ``torch.mm`` and
with oneDNN's product (what boltzlab's sampler uses for float32 on the CPU); the faster of the two is the
floor.

    .venv-bench/bin/python benchmarks/pcd_vs_rbms.py          # rbms's defaults: 2000 chains, batch 2000, k 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import DEFAULT_MNIST, floor_products, mnist_test_bits, report  # noqa: E402


def time_boltzlab(data: np.ndarray, args: argparse.Namespace, seed: int) -> float:
    cfg = TrainConfig(n_hidden=args.hidden, method="pcd", k=args.k, batch_size=args.batch_size,
                      n_chains=args.chains, epochs=10**6, max_updates=args.updates + 1, lr=args.lr,
                      momentum=0.0, centered=True, seed=seed, monitor_exact_max_log2=0, monitor_samples=0)
    tr = Trainer.create(torch.from_numpy(data), cfg, progress=False)
    tr.perm = tr.rng.permutation(len(data))
    tr.update(tr.train[tr.perm[:args.batch_size]])  # warm-up update, untimed (as the peer's chain set-up)
    t0 = time.perf_counter()
    for i in range(1, args.updates + 1):
        j = (i * args.batch_size) % len(data)
        tr.update(tr.train[tr.perm[j:j + args.batch_size]])
    return (time.perf_counter() - t0) / args.updates


def time_floor(args: argparse.Namespace, product) -> float:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(784, args.hidden, generator=g) * 0.01
    v = (torch.rand(args.chains, 784, generator=g) < 0.5).float()
    x = (torch.rand(args.batch_size, 784, generator=g) < 0.5).float()
    h = torch.empty(args.chains, args.hidden)
    fv = torch.empty_like(v)  # not fed back: repeated products with a small W would underflow to denormals
    hx = torch.empty(args.batch_size, args.hidden)
    gw, gm = torch.empty_like(w), torch.empty_like(w)
    t0 = time.perf_counter()
    for _ in range(args.updates):
        for _ in range(args.k):
            product(v, w, h)
            product(h, w.t(), fv)
        product(x, w, hx)
        product(v, w, h)
        product(x.t(), hx, gw)
        product(v.t(), h, gm)
    return (time.perf_counter() - t0) / args.updates


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--k", type=int, default=100, help="Gibbs sweeps per update (rbms's default)")
    ap.add_argument("--updates", type=int, default=3, help="timed updates per repeat")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = mnist_test_bits(args.mnist).astype(np.float32)

    import peers
    products = floor_products()
    ours, theirs, floors = [], [], {name: [] for name in products}
    for rep in range(args.repeats):
        for name, product in products.items():
            floors[name].append(time_floor(args, product))
        ours.append(time_boltzlab(data, args, rep))
        r = peers.rbms_pcd_train(data, args.hidden, args.chains, args.batch_size, args.k, args.updates,
                                 args.lr, seed=rep, n_threads=args.threads)
        theirs.append(r["seconds_per_update"])
    floor_med = {name: statistics.median(t) for name, t in floors.items()}
    floor = min(floors.values(), key=statistics.median)
    med = {"floor": statistics.median(floor), "boltzlab": statistics.median(ours),
           "rbms": statistics.median(theirs)}
    result = {
        "benchmark": "pcd_training_speed", "device": "cpu", "threads": args.threads, "torch": torch.__version__,
        "shape": [784, args.hidden], "chains": args.chains, "batch_size": args.batch_size, "k": args.k,
        "updates_per_repeat": args.updates, "repeats": args.repeats,
        "seconds_per_update": med,
        "floor_by_product": floor_med,
        "all_seconds_per_update": {"floor": floor, "boltzlab": ours, "rbms": theirs},
        "speedup_vs_rbms": med["rbms"] / med["boltzlab"],
        "fraction_of_floor": {"boltzlab": med["floor"] / med["boltzlab"], "rbms": med["floor"] / med["rbms"]},
        # a 2x lead over the peer needs this fraction of the floor for the whole update: above ~0.85 it is
        # out of reach of any sampler whose draws cost more than nothing
        "fraction_of_floor_needed_for_2x": 2 * med["floor"] / med["rbms"],
    }
    return report(result, args.out)


if __name__ == "__main__":
    main()
