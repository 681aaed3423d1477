"""Time to held-out log-likelihood on MNIST: boltzlab against `rbms` and scikit-learn, side by side.

Data: the 10,000 MNIST test images, binarised at 0.5; the first 8,000 train, the last 2,000 are held out.
Every learner trains a 784 x ``--hidden`` binary RBM (default 100) and is snapshotted at regular intervals
of its own training wall time (the snapshotting is not timed).  Afterwards every snapshot gets the same
held-out estimate: forward AIS (a stochastic lower bound on ln Z, so an upper estimate of the
log-likelihood) and reverse AIS (an upper bound on ln Z from the held-out data as starting states), the
log-likelihood reported as the bracket [ll(reverse), ll(forward)] and its midpoint.

* boltzlab: ``TrainConfig.recommended`` (the settings `boltzlab train` uses when given none), except
  ``--boltzlab-method`` / ``--boltzlab-lr`` when set;
* `rbms` at its defaults (PCD, 2000 chains, minibatch 2000, 100 sweeps per update, learning rate 0.01,
  centered, unit-norm gradient; ``peers.rbms_pcd_train``);
* scikit-learn ``BernoulliRBM`` at its defaults (PCD-1, minibatch 10, learning rate 0.1), one
  ``partial_fit`` per minibatch.

Reported: each learner's curve (wall seconds, bracket), each peer's final midpoint, the wall time at which
boltzlab's midpoint first reaches it, and whether boltzlab ends higher (its lower end above the peer's
upper end).  Figure: the three curves.

    .venv-bench/bin/python benchmarks/mnist_time_to_ll.py --seconds 600 --out mnist_time_to_ll.json \\
        --figure mnist_time_to_ll.png
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

Snapshot = tuple[float, np.ndarray, np.ndarray, np.ndarray]  # (train seconds, W, a, b) uncentered


def _uncentered(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = bl.BinaryRBM(model.weights.detach().double(), model.visible.bias.detach().double(),
                     model.hidden.bias.detach().double(), visible_offset=model.visible_offset.double(),
                     hidden_offset=model.hidden_offset.double(), dtype=torch.float64)
    m.set_offsets(torch.zeros(m.n_visible, dtype=torch.float64), torch.zeros(m.n_hidden, dtype=torch.float64))
    return m.weights.detach().numpy(), m.visible.bias.detach().numpy(), m.hidden.bias.detach().numpy()


def run_boltzlab(train: np.ndarray, args: argparse.Namespace) -> list[Snapshot]:
    overrides = {"n_hidden": args.hidden, "seed": args.seed, "monitor_exact_max_log2": 0, "monitor_samples": 0,
                 "epochs": 10 ** 6, "watch": "off"}
    if args.boltzlab_method:
        overrides["method"] = args.boltzlab_method
    if args.boltzlab_lr:
        overrides["lr"] = args.boltzlab_lr
    cfg = TrainConfig.recommended(n_samples=len(train), **overrides)
    tr = Trainer.create(torch.from_numpy(train), cfg, progress=False)
    model = tr.average.model if tr.average is not None else tr.model
    snaps: list[Snapshot] = []
    elapsed, next_snap = 0.0, args.seconds / args.snapshots
    while elapsed < args.seconds:
        t0 = time.perf_counter()
        tr.update(*tr._next_batch())
        tr.batch_index += 1
        if tr.batch_index >= tr.batches_per_epoch:
            tr.perm = None
        elapsed += time.perf_counter() - t0
        if elapsed >= next_snap:
            snaps.append((elapsed, *_uncentered(model)))
            next_snap += args.seconds / args.snapshots
    return snaps


def run_rbms(train: np.ndarray, args: argparse.Namespace) -> list[Snapshot]:
    """rbms's defaults; as many updates as fit in ``--seconds`` (estimated from a first short run)."""
    import peers
    probe = peers.rbms_pcd_train(train, args.hidden, 2000, 2000, 100, 2, 0.01, args.seed, n_threads=args.threads)
    n_updates = max(args.snapshots, int(args.seconds / probe["seconds_per_update"]))
    r = peers.rbms_pcd_train(train, args.hidden, 2000, 2000, 100, n_updates, 0.01, args.seed,
                             n_threads=args.threads, snapshot_every=max(1, n_updates // args.snapshots))
    return r["snapshots"]


def run_sklearn(train: np.ndarray, args: argparse.Namespace) -> list[Snapshot]:
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits
    model = BernoulliRBM(n_components=args.hidden, random_state=args.seed)  # its defaults: lr 0.1, batch 10
    snaps: list[Snapshot] = []
    elapsed, next_snap = 0.0, args.seconds / args.snapshots
    batch = model.batch_size
    with threadpool_limits(limits=args.threads):
        while elapsed < args.seconds:
            for i in range(0, len(train), batch):
                t0 = time.perf_counter()
                model.partial_fit(train[i:i + batch])
                elapsed += time.perf_counter() - t0
                if elapsed >= next_snap or elapsed >= args.seconds:
                    snaps.append((elapsed, model.components_.T.astype(np.float64), model.intercept_visible_.copy(),
                                  model.intercept_hidden_.copy()))
                    next_snap += args.seconds / args.snapshots
                if elapsed >= args.seconds:
                    break
    return snaps


def held_out(snap: Snapshot, test: np.ndarray, args: argparse.Namespace) -> dict:
    _, w, a, b = snap
    rbm = bl.BinaryRBM(w, a, b, dtype=torch.float64)
    br = bl.bracket(rbm, data=test[:args.reverse_starts], n_runs=args.ais_runs, n_betas=args.ais_betas, seed=0)
    hi, _ = bl.log_likelihood(rbm, test, br.lower)
    lo, _ = bl.log_likelihood(rbm, test, br.upper)
    return {"seconds": snap[0], "ll_low": lo, "ll_high": hi, "ll_mid": 0.5 * (lo + hi)}


def first_time_reaching(curve: list[dict], level: float) -> float | None:
    return next((p["seconds"] for p in curve if p["ll_mid"] >= level), None)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=600.0, help="training wall time of each learner")
    ap.add_argument("--snapshots", type=int, default=10)
    ap.add_argument("--boltzlab-method", default=None, help="override the recommended negative phase")
    ap.add_argument("--boltzlab-lr", type=float, default=None)
    ap.add_argument("--ais-runs", type=int, default=500)
    ap.add_argument("--ais-betas", type=int, default=20_000)
    ap.add_argument("--reverse-starts", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", default="rbms,sklearn")
    ap.add_argument("--out", default=None)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = mnist_test_bits(args.mnist)
    train, test = x[:8000], x[8000:]
    runners = {"boltzlab": run_boltzlab, "rbms": run_rbms, "sklearn": run_sklearn}
    names = ["boltzlab"] + [p for p in args.peers.split(",") if p]
    curves = {name: [held_out(s, test, args) for s in runners[name](train, args)] for name in names}
    ours = curves["boltzlab"]
    result = {"benchmark": "mnist_time_to_ll", "hidden": args.hidden, "train": len(train), "held_out": len(test),
              "seconds": args.seconds, "threads": args.threads, "curves": curves, "versus": {}}
    for peer in names[1:]:
        final = curves[peer][-1]
        result["versus"][peer] = {
            "peer_final_ll": final["ll_mid"], "peer_seconds": final["seconds"],
            "boltzlab_seconds_to_reach_it": first_time_reaching(ours, final["ll_mid"]),
            "boltzlab_final_ll": ours[-1]["ll_mid"],
            "boltzlab_ends_higher": ours[-1]["ll_low"] > final["ll_high"]}
    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            t = [p["seconds"] for p in curve]
            ax.plot(t, [p["ll_mid"] for p in curve], marker="o", label=name)
            ax.fill_between(t, [p["ll_low"] for p in curve], [p["ll_high"] for p in curve], alpha=0.2)
        ax.set_xlabel("training wall time (s)")
        ax.set_ylabel("held-out log-likelihood (nats, AIS bracket)")
        ax.set_title(f"MNIST 784x{args.hidden}: time to log-likelihood")
        ax.legend()
        fig.savefig(args.figure, dpi=120, bbox_inches="tight")
    return report(result, args.out)


if __name__ == "__main__":
    main()
