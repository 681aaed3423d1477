"""Batched replicas: R RBMs sampled as one batched computation against R separate block-Gibbs runs.

Both produce the same chains (tests/test_replicas.py); this measures the time.  The batched form does one
``baddbmm`` per half-sweep for all replicas; the separate form one ``addmm`` per replica.  Small models leave
a GPU mostly idle, which is where batching pays; on a CPU the two should be close.

    .venv-bench/bin/python benchmarks/replicas_throughput.py                       # CPU
    python3 benchmarks/replicas_throughput.py --device cuda --replicas 20 --chains 10000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import boltzlab as bl

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--n-visible", type=int, default=784)
    ap.add_argument("--n-hidden", type=int, default=100)
    ap.add_argument("--chains", type=int, default=500)
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    models = [bl.BinaryRBM.initialize(args.n_visible, args.n_hidden, 0.05, seed=s, device=dev)
              for s in range(args.replicas)]
    batch = bl.sampling.ReplicaBatch(models)
    v0 = torch.stack([m.visible.random_state(args.chains, bl.Rng(s, dev)) for s, m in enumerate(models)])

    def batched() -> float:
        rngs = [bl.Rng(s, dev) for s in range(args.replicas)]
        _sync(dev)
        t0 = time.perf_counter()
        batch.gibbs(v0, args.sweeps, 1.0, rngs)
        _sync(dev)
        return time.perf_counter() - t0

    def separate() -> float:
        rngs = [bl.Rng(s, dev) for s in range(args.replicas)]
        _sync(dev)
        t0 = time.perf_counter()
        for m, v, g in zip(models, v0, rngs):
            bl.block_gibbs(m, v, args.sweeps, 1.0, g)
        _sync(dev)
        return time.perf_counter() - t0

    batched(), separate()  # warm-up
    tb, ts = [], []
    for _ in range(args.repeats):
        tb.append(batched())
        ts.append(separate())
    med_b, med_s = statistics.median(tb), statistics.median(ts)
    result = {"benchmark": "batched_replicas", "device": dev,
              "device_name": torch.cuda.get_device_name() if dev.startswith("cuda") else f"cpu x{args.threads}",
              "replicas": args.replicas, "shape": [args.n_visible, args.n_hidden], "chains": args.chains,
              "sweeps": args.sweeps, "torch": torch.__version__,
              "seconds": {"batched": med_b, "separate": med_s},
              "replica_sweeps_per_second": {"batched": args.replicas * args.sweeps / med_b,
                                            "separate": args.replicas * args.sweeps / med_s},
              "speedup_batched": med_s / med_b}
    return report(result, args.out)


if __name__ == "__main__":
    main()
