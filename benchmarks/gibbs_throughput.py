"""Block-Gibbs throughput: boltzlab against the two-matmul floor and against `rbms` (PyPI), in one run.

One sweep = h ~ p(h | v) then v ~ p(v | h) for every chain.  The floor is the two matrix products of a
sweep alone (v @ W into a preallocated (chains, n_hidden) buffer and h @ W^T into a (chains, n_visible)
buffer), the least any block-Gibbs implementation must do, timed with ``torch.mm`` and (CPU) with
oneDNN's product; the faster sets the floor.  boltzlab's sampler picks between the two by measuring them
at first use (``products_chosen`` in the output names its pick per shape).  Timings are interleaved over
repeats and the median is reported.

    .venv-bench/bin/python benchmarks/gibbs_throughput.py            # 784x500, 2000 chains, CPU
    .venv-bench/bin/python benchmarks/gibbs_throughput.py --device cuda --chains 100000
    .venv-bench/bin/python benchmarks/gibbs_throughput.py --visible gaussian   # Gaussian-binary, no peer

With ``--visible gaussian`` the visible half-sweep draws N((W h + theta) / gamma, 1 / gamma) per unit (the
conditional of boltzlab.units.gaussian); `rbms` has
no Gaussian-binary sampler, so only the floor is compared.
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
from _report import floor_products, report  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_floor(w: torch.Tensor, v: torch.Tensor, sweeps: int, device: str, product) -> float:
    h = torch.empty(v.shape[0], w.shape[1], dtype=w.dtype, device=w.device)
    fv = torch.empty_like(v)
    wt = w.t()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(sweeps):
        product(v, w, h)
        product(h, wt, fv)
    _sync(device)
    return time.perf_counter() - t0


def time_boltzlab(rbm, v: torch.Tensor, sweeps: int, rng, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    bl.block_gibbs(rbm, v, sweeps, 1.0, rng)
    _sync(device)
    return time.perf_counter() - t0


def products_chosen() -> dict[str, str]:
    """The routine the sampler measured fastest for each float32 CPU product shape (x @ m)."""
    from boltzlab.sampling.gibbs import _CPU_FLOAT32
    return {"x".join(map(str, x)) + " @ " + "x".join(map(str, m)): name
            for (x, m, _, _), name in _CPU_FLOAT32.choices.items()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-visible", type=int, default=784)
    ap.add_argument("--n-hidden", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2000)
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--visible", choices=("binary", "gaussian"), default="binary", help="visible unit type")
    ap.add_argument("--no-peer", action="store_true", help="skip rbms (e.g. where it is not installed)")
    ap.add_argument("--out", default=None, help="write the JSON result here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    g = torch.Generator().manual_seed(0)
    w = torch.randn(args.n_visible, args.n_hidden, generator=g) * 0.01
    a = torch.zeros(args.n_visible)
    b = torch.zeros(args.n_hidden)
    if args.visible == "binary":
        rbm = bl.BinaryRBM(w, a, b, device=dev)
    else:
        rbm = bl.make_rbm(args.n_visible, args.n_hidden, "gaussian", "binary", device=dev)
        with torch.no_grad():
            rbm.weights.copy_(w)
    rng = bl.Rng(0, dev)
    v = rbm.visible.random_state(args.chains, rng)
    wd = rbm.weights.detach()
    products = floor_products(dev)
    time_floor(wd, v, 2, dev, products["torch.mm"])
    time_boltzlab(rbm, v, 2, rng, dev)
    peer = None
    if not args.no_peer and dev == "cpu" and args.visible == "binary":
        try:
            import peers  # noqa: F401
            import rbms  # noqa: F401
            peer = peers
        except ImportError:
            print("rbms not installed: run `make bench-setup`; peer skipped", file=sys.stderr)
    floors, ours_t, peer_t = {name: [] for name in products}, [], []
    for _ in range(args.repeats):
        for name, product in products.items():
            floors[name].append(time_floor(wd, v, args.sweeps, dev, product))
        ours_t.append(time_boltzlab(rbm, v, args.sweeps, rng, dev))
        if peer is not None:
            r = peer.rbms_block_gibbs(w.numpy(), a.numpy(), b.numpy(), args.chains, args.sweeps, seed=0,
                                      warmup=1, n_threads=args.threads)
            peer_t.append(r["seconds"])
    floor_t = min(floors.values(), key=statistics.median)  # the faster product sets the floor
    med = {k: statistics.median(t) for k, t in (("floor", floor_t), ("boltzlab", ours_t), ("rbms", peer_t)) if t}
    rate = {k: args.sweeps / t for k, t in med.items()}
    result = {
        "benchmark": "block_gibbs_throughput", "device": dev,
        "device_name": torch.cuda.get_device_name() if dev.startswith("cuda") else f"cpu x{args.threads} threads",
        "visible": args.visible, "shape": [args.n_visible, args.n_hidden], "chains": args.chains, "sweeps": args.sweeps,
        "repeats": args.repeats, "torch": torch.__version__,
        "sweeps_per_second": rate,
        "floor_sweeps_per_second_by_product": {n: args.sweeps / statistics.median(t) for n, t in floors.items()},
        "chain_sweeps_per_second": {k: r * args.chains for k, r in rate.items()},
        "ratio_to_floor": {k: rate[k] / rate["floor"] for k in rate if k != "floor"},
        "products_chosen": products_chosen(),
    }
    if "rbms" in rate:
        result["speedup_vs_rbms"] = rate["boltzlab"] / rate["rbms"]
    return report(result, args.out)


if __name__ == "__main__":
    main()
