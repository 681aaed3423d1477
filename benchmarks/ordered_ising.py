"""Default `boltzlab train` on ordered-phase 2D Ising data: mode weights and held-out log-likelihood, exact.

For each case (L x L periodic lattice, inverse temperature beta, hidden units, training samples) the script
draws exact samples (:func:`boltzlab.data.ising2d`, transfer matrix), runs ``boltzlab train --data X.npy
--hidden N`` with no other option (it holds out a fifth of X), and judges the saved model (checkpoint.pt)
on fresh exact samples: the weight of the positive-magnetisation mode P(m > 0) (half of P(m = 0) counted
on each side), from the exact distribution of the number of up spins
(:func:`boltzlab.partition.count_distribution`), and the fraction of the held-out log-likelihood gap
between independent units (fitted to X) and the true Ising model that the RBM closes.  ``--extra`` adds
options to every run (e.g. ``--extra="--method pcd --k 8"``: plain PCD with the sweeps of the default).

    python benchmarks/ordered_ising.py --cases 5:0.6:8:2000,5:0.8:8:2000 --out ordered_ising.json
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from boltzlab.cli.main import main as boltzlab
from boltzlab.data.ising import ising2d, ising2d_exact_stats
from boltzlab.io import load_model
from boltzlab.models import BinaryRBM
from boltzlab.partition import count_distribution, exact_log_likelihood

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402

N_TEST = 5000
CASES = "4:0.8:8:1250,4:1.2:4:1250,5:0.6:8:2000,5:0.8:8:2000,5:0.8:16:1000,5:0.6:4:5000"


def judge(model, L: int, beta: float, train: np.ndarray, seed: int) -> dict:
    """Exact P(m > 0) of ``model`` and the fraction of the held-out gap it closes, on fresh exact samples."""
    n = L * L
    pmf = count_distribution(model).numpy()
    up = np.arange(n + 1)
    w_plus = float(pmf[2 * up > n].sum() + 0.5 * pmf[2 * up == n].sum())
    spins = ising2d(L, beta, N_TEST, seed=seed + 1000).astype(np.float64)
    bonds = (spins * np.roll(spins, 1, 1)).sum((1, 2)) + (spins * np.roll(spins, 1, 2)).sum((1, 2))
    truth = float((beta * bonds).mean() - ising2d_exact_stats(L, beta)["log_z"])
    test = (spins.reshape(-1, n) + 1) / 2
    indep = BinaryRBM(torch.zeros(n, 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-6)
    low = exact_log_likelihood(indep, test)
    ll = exact_log_likelihood(model, test)
    return {"w_plus": w_plus, "gap_closed": (ll - low) / (truth - low), "test_ll": ll,
            "independent_ll": low, "truth_ll": truth}


def run_case(L: int, beta: float, hidden: int, n: int, seed: int, extra: list[str], work: Path) -> dict:
    x = ((ising2d(L, beta, n, seed=seed).reshape(n, L * L) + 1) / 2).astype(np.float32)
    data, out = work / f"ising_{L}_{beta}_{hidden}_{n}_{seed}.npy", work / f"run_{L}_{beta}_{hidden}_{n}_{seed}"
    np.save(data, x)
    t0 = time.perf_counter()
    rc = boltzlab(["train", "--data", str(data), "--hidden", str(hidden), "--out", str(out), "--no-progress",
                   "--overwrite", *extra])
    if rc:
        raise SystemExit(rc)
    result = {"L": L, "beta": beta, "hidden": hidden, "n": n, "seed": seed, "seconds": time.perf_counter() - t0}
    up = x.sum(1)
    result["data_w_plus"] = float((up > L * L / 2).mean() + 0.5 * (up == L * L / 2).mean())
    result.update(judge(load_model(out / "checkpoint.pt"), L, beta, x, seed))
    result["averaged"] = judge(load_model(out / "averaged.pt"), L, beta, x, seed)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=CASES, help="comma-separated L:beta:hidden:samples")
    ap.add_argument("--seeds", default="1", help="comma-separated data seeds")
    ap.add_argument("--extra", default="", help="further `boltzlab train` options for every run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            L, beta, hidden, n = case.split(":")
            for seed in map(int, args.seeds.split(",")):
                r = run_case(int(L), float(beta), int(hidden), int(n), seed, shlex.split(args.extra), Path(tmp))
                results.append(r)
                print(f"{L}x{L} beta {beta} hidden {hidden} n {n} seed {seed}: data P(m>0) {r['data_w_plus']:.3f}, "
                      f"RBM P(m>0) {r['w_plus']:.3f}, gap "
                      f"{100 * r['gap_closed']:.1f}% (averaged {r['averaged']['w_plus']:.3f}, "
                      f"{100 * r['averaged']['gap_closed']:.1f}%), {r['seconds']:.0f} s", file=sys.stderr, flush=True)
    return report({"benchmark": "ordered_ising", "extra": args.extra, "cases": results}, args.out)


if __name__ == "__main__":
    main()
