"""Where a block-Gibbs sweep's time goes: each phase timed inside the loop, and the same draws timed alone.

A sweep of `benchmarks/gibbs_throughput.py` is four phases: the product v @ W, the draw of h, the product
h @ W^T and the draw of v.  This script times each phase inside a running loop (the products through the
routine the sampler picked, the draws through the layers' ``sample_``), and then the same two draws once more
right after themselves, away from any product.  The difference is what the draws lose by following a matrix
product on this machine (on a 2-core AMD EPYC the first compute-heavy pass after a long AVX-512 product runs
slower than the same pass repeated; benchmarks/RESULTS.md).

    .venv/bin/python benchmarks/gibbs_phases.py            # 784x500, 2000 chains, 2 threads
"""

from __future__ import annotations

import argparse
import time

import torch

import boltzlab as bl
from boltzlab.sampling.gibbs import _CPU_FLOAT32


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-visible", type=int, default=784)
    ap.add_argument("--n-hidden", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2000)
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the JSON result here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    rbm = bl.BinaryRBM(torch.randn(args.n_visible, args.n_hidden, generator=g) * 0.01,
                       torch.zeros(args.n_visible), torch.zeros(args.n_hidden))
    rng = bl.Rng(0)
    v = rbm.visible.random_state(args.chains, rng)
    w = rbm.weights.detach()
    wt = w.t()
    hid, vis = rbm.hidden, rbm.visible
    fh = torch.empty(args.chains, args.n_hidden)
    fv = torch.empty(args.chains, args.n_visible)
    bl.block_gibbs(rbm, v, 3, 1.0, rng)  # choose the products, compile the draws
    names = ("product v W", "draw h", "product h W^T", "draw v", "draw h again", "draw v again")
    spent = dict.fromkeys(names, 0.0)
    scratch_h, scratch_v = torch.empty_like(fh), torch.empty_like(fv)
    clock = time.perf_counter
    for _ in range(args.sweeps):
        t0 = clock()
        _CPU_FLOAT32(v, w, None, fh)
        t1 = clock()
        scratch_h.copy_(fh)  # the same fields, drawn again below (not timed)
        t2 = clock()
        h = hid.sample_(fh, 1.0, rng)
        t3 = clock()
        _CPU_FLOAT32(h, wt, None, fv)
        t4 = clock()
        scratch_v.copy_(fv)
        t5 = clock()
        v = vis.sample_(fv, 1.0, rng)
        t6 = clock()
        hid.sample_(scratch_h, 1.0, rng)
        t7 = clock()
        vis.sample_(scratch_v, 1.0, rng)
        t8 = clock()
        for name, (a, b) in zip(names, ((t0, t1), (t2, t3), (t3, t4), (t5, t6), (t6, t7), (t7, t8))):
            spent[name] += b - a
    ms = {k: 1e3 * t / args.sweeps for k, t in spent.items()}
    products = ms["product v W"] + ms["product h W^T"]
    draws, again = ms["draw h"] + ms["draw v"], ms["draw h again"] + ms["draw v again"]
    result = {"benchmark": "gibbs_phases", "shape": [args.n_visible, args.n_hidden], "chains": args.chains,
              "threads": args.threads, "sweeps": args.sweeps, "torch": torch.__version__,
              "products_chosen": sorted(set(_CPU_FLOAT32.choices.values())), "ms_per_sweep": ms,
              "products_ms": products, "draws_after_products_ms": draws, "draws_repeated_ms": again,
              "products_share_of_sweep": products / (products + draws),
              "products_share_if_draws_cost_as_repeated": products / (products + again)}
    from _report import report
    return report(result, args.out)


if __name__ == "__main__":
    main()
