"""Sequence-identity reweighting at scale: time and peak memory of boltzlab's tiled computation, checked
against `rbms`' ``compute_weights`` (its per-sequence loop) on the sizes where the peer finishes.

Alignments are synthetic: ``n`` sequences of length ``L`` over q = 21 states, drawn as noisy copies of
n/20 ancestors (each site resampled with probability 0.05 to 0.4), so that many pairs lie above and
below the 0.8 identity threshold and the weights are far from uniform.  Each size runs in a fresh
subprocess so that its peak resident memory (ru_maxrss) is its own.

    .venv-bench/bin/python benchmarks/reweighting_scale.py --sizes 2000,10000,100000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402


def synthetic_alignment(n: int, length: int, q: int = 21, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ancestors = rng.integers(0, q, (max(1, n // 20), length), dtype=np.uint8)
    x = ancestors[rng.integers(0, len(ancestors), n)]
    noise = rng.random((n, 1)) * 0.35 + 0.05
    flip = rng.random((n, length)) < noise
    x[flip] = rng.integers(0, q, int(flip.sum()), dtype=np.uint8)
    return x


def one_size(n: int, length: int, threads: int, peer: bool, chunk: int, device: str = "cpu") -> dict:
    import torch
    torch.set_num_threads(threads)
    from boltzlab.data.alignment import sequence_weights
    x = synthetic_alignment(n, length)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    w = sequence_weights(x, 0.8, q=21, chunk=chunk, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"n": n, "length": length, "threads": threads, "chunk": chunk, "seconds": seconds,
           "peak_rss_mb": peak / 1024, "rss_before_mb": base / 1024, "data_mb": x.nbytes / 2 ** 20,
           "effective_sequences": float(w.sum()), "min_weight": float(w.min()), "device": device}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    if peer:
        from rbms.dataset.fasta_utils import compute_weights
        t0 = time.perf_counter()
        wp = compute_weights(x.astype(np.int64), 0.8).reshape(-1)
        out["rbms_seconds"] = time.perf_counter() - t0
        out["max_abs_difference_vs_rbms"] = float(np.abs(wp - w).max())
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000,100000")
    ap.add_argument("--length", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--peer-max", type=int, default=10000, help="run rbms' compute_weights up to this size")
    ap.add_argument("--device", default="cpu", help="e.g. cuda (peak GPU memory is reported too)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", default="benchmarks/results/reweighting_scale.json")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one_size(args.one, args.length, args.threads, args.one <= args.peer_max, args.chunk,
                                  args.device)))
        return {}
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--length", str(args.length), "--threads",
               str(args.threads), "--chunk", str(args.chunk), "--peer-max", str(args.peer_max), "--device", args.device]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(res.stdout.strip().splitlines()[-1])
        rows.append(row)
        peer = (f"  rbms {row['rbms_seconds']:.1f} s (max |dw| {row['max_abs_difference_vs_rbms']:.1e})"
                if "rbms_seconds" in row else "")
        print(f"n={n:>7} L={args.length}: {row['seconds']:8.1f} s, peak RSS {row['peak_rss_mb']:7.0f} MB "
              f"(data {row['data_mb']:.0f} MB), N_eff {row['effective_sequences']:.0f}{peer}", file=sys.stderr)
    return report({"benchmark": "reweighting_scale", "rows": rows}, args.out)


if __name__ == "__main__":
    main()
