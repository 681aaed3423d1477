"""Default `boltzlab train` on binarised MNIST: held-out log-likelihood against independent pixels.

The first ``--train`` of the 10,000 MNIST test images (../shared/data/mnist, binarised at 0.5) train, the
last ``--test`` are held out; ``boltzlab train --data train.npy --test-data test.npy --hidden N`` runs with
no training option, so every setting is the recommended one.  The held-out log-likelihood of the saved
model (checkpoint.pt) and of its parameter average (averaged.pt) is exact for up to 20 hidden units (2^N
hidden states) and bracketed by forward and reverse AIS otherwise; the reference is the best product
model (independent pixels with the training means).

    python benchmarks/mnist_defaults.py --hidden 16,64 --out mnist_defaults.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import boltzlab as bl
from boltzlab.cli.main import main as boltzlab
from boltzlab.io import load_model

sys.path.insert(0, str(Path(__file__).parent))
from _report import DEFAULT_MNIST, mnist_test_bits, report  # noqa: E402


def held_out(model, train: np.ndarray, test: np.ndarray, seed: int) -> dict:
    """Exact held-out log-likelihood, or the AIS bracket [forward, reverse] of it."""
    if model.n_hidden <= 20:
        return {"exact": bl.exact_log_likelihood(model, test)}
    b = bl.bracket(model, data=torch.as_tensor(train[:2000]), seed=seed)
    return {"lower": bl.log_likelihood(model, test, b.rais)[0], "upper": bl.log_likelihood(model, test, b.ais)[0]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--hidden", default="16,64", help="comma-separated hidden-layer sizes")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = mnist_test_bits(args.mnist).astype(np.float32)
    train, test = x[:args.train], x[-args.test:]
    indep = bl.BinaryRBM(torch.zeros(x.shape[1], 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-3)
    result = {"benchmark": "mnist_defaults", "n_train": len(train), "n_test": len(test),
              "independent_pixels": bl.exact_log_likelihood(indep, test), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/train.npy", train)
        np.save(f"{tmp}/test.npy", test)
        for hidden in map(int, args.hidden.split(",")):
            out = Path(tmp) / f"run{hidden}"
            t0 = time.perf_counter()
            rc = boltzlab(["train", "--data", f"{tmp}/train.npy", "--test-data", f"{tmp}/test.npy", "--hidden",
                           str(hidden), "--out", str(out), "--no-progress"])
            if rc:
                raise SystemExit(rc)
            run = {"hidden": hidden, "seconds": time.perf_counter() - t0,
                   "raw": held_out(load_model(out / "checkpoint.pt"), train, test, 0),
                   "averaged": held_out(load_model(out / "averaged.pt"), train, test, 0)}
            result["runs"].append(run)
            print(f"hidden {hidden}: {run}", file=sys.stderr, flush=True)
    return report(result, args.out)


if __name__ == "__main__":
    main()
