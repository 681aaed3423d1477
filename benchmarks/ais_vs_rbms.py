"""AIS on a 784x500 MNIST-trained RBM: boltzlab against `rbms` (PyPI) at the same runs and betas, one run.

The model is trained by boltzlab (PCD-5, 200 chains, 50 epochs, centered) on the first 8,000 binarised
MNIST test images (../shared/data/mnist), or read from ``--model``.  Both libraries then estimate ln Z with
the same number of runs and intermediate distributions:

* ``rbms``: ``compute_partition_function_ais`` (base: the model's visible biases, hidden part uniform,
  linear schedule, float32 accumulation);
* ``boltzlab, same protocol``: ``base="model", schedule="linear"`` (the same path and schedule);
* ``boltzlab, default``: base rate of the training data and the sm08 schedule.

It reports seconds, the estimates, the spread over ``--repeats`` seeds, and the held-out log-likelihood
each estimate implies on the last 2,000 test images, and the ratio of the times.

    .venv-bench/bin/python benchmarks/ais_vs_rbms.py --betas 10000 --runs 100
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


def mnist_model(x: np.ndarray, path: Path) -> bl.BinaryRBM:
    if path.exists():
        return bl.load_model(path)
    cfg = TrainConfig(n_hidden=500, method="pcd", k=5, batch_size=100, n_chains=200, epochs=50, lr=0.01,
                      lr_schedule="linear", lr_decay=0.1, centered=True, l2=1e-4, seed=0, monitor_exact_max_log2=0)
    trainer = Trainer.create(torch.as_tensor(x), cfg, progress=True)
    trainer.fit()
    bl.save_model(trainer.model, path)
    return trainer.model


def rbms_ais(model: bl.BinaryRBM, runs: int, betas: int, seed: int) -> tuple[float, float]:
    import peers
    from rbms.partition_function.ais import compute_partition_function_ais
    params = peers._make_bbrbm(model.weights.detach().numpy(), model.visible.bias.detach().numpy(),
                               model.hidden.bias.detach().numpy())
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    log_z = compute_partition_function_ais(num_chains=runs, num_beta=betas, params=params)
    return float(log_z), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--model", default="benchmarks/results/mnist-784x500.pt",
                    help="a trained 784x500 model; trained and written here when missing")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--betas", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = mnist_test_bits(args.mnist)
    train, test = x[:8000], x[8000:]
    Path(args.model).parent.mkdir(parents=True, exist_ok=True)
    model = mnist_model(train, Path(args.model)).double()
    # Uncentre once (p(v, h) unchanged; the energy shifts by the constant v_hat^T W h_hat), so that both
    # libraries see the same energy function and hence the same ln Z.
    model.set_offsets(torch.zeros_like(model.visible_offset), torch.zeros_like(model.hidden_offset))
    model = model.to(torch.float32)
    for p in model.parameters():
        p.requires_grad_(False)

    def ll(log_z: float) -> float:
        return bl.log_likelihood(model, test, log_z)[0]

    runs: dict[str, list[tuple[float, float, float]]] = {"boltzlab_same_protocol": [], "boltzlab_default": []}
    if not args.no_peer:
        runs["rbms"] = []
    for s in range(args.repeats):
        r = bl.ais_log_z(model, args.runs, args.betas, seed=s, base="model", schedule="linear")
        runs["boltzlab_same_protocol"].append((r.log_z, r.stderr, r.seconds))
        r = bl.ais_log_z(model, args.runs, args.betas, seed=s, data=train)
        runs["boltzlab_default"].append((r.log_z, r.stderr, r.seconds))
        if not args.no_peer:
            z, sec = rbms_ais(model, args.runs, args.betas, s)
            runs["rbms"].append((z, float("nan"), sec))
        print(f"repeat {s}: " + ", ".join(f"{k} {v[-1][0]:.3f} ({v[-1][2]:.1f} s)" for k, v in runs.items()),
              file=sys.stderr)
    summary = {}
    for name, rows in runs.items():
        a = np.array(rows)
        summary[name] = {"log_z_mean": float(a[:, 0].mean()), "log_z_spread": float(a[:, 0].std(ddof=1))
                         if len(a) > 1 else None, "reported_stderr_mean": float(np.nanmean(a[:, 1]))
                         if not np.all(np.isnan(a[:, 1])) else None, "seconds_mean": float(a[:, 2].mean()),
                         "held_out_log_likelihood": ll(float(a[:, 0].mean())), "estimates": a[:, 0].tolist()}
    result = {"benchmark": "ais_vs_rbms", "model": "784x500 PCD-5 on 8,000 MNIST images", "runs": args.runs,
              "betas": args.betas, "repeats": args.repeats, "threads": args.threads, "results": summary}
    if "rbms" in summary:
        result["speedup_vs_rbms_same_protocol"] = (summary["rbms"]["seconds_mean"]
                                                   / summary["boltzlab_same_protocol"]["seconds_mean"])
        result["log_z_difference_vs_rbms"] = (summary["boltzlab_same_protocol"]["log_z_mean"]
                                              - summary["rbms"]["log_z_mean"])
    return report(result, args.out)


if __name__ == "__main__":
    main()
