"""Fashion-MNIST at full scale from its IDX files: time per epoch and peak memory, against a 1,000-image run.

The 60,000 training and 10,000 test images (Debian package ``dataset-fashion-mnist``, ``make fashion-mnist``)
are memory-mapped (:func:`boltzlab.data.open_dataset`; the gzipped IDX files are decompressed once into a
cache) and read one minibatch at a time, so the peak memory of training and evaluation is set by the
minibatch, the chains and the model, not by the data set.  Each run happens in its own process and
reports its peak resident set size (``ru_maxrss``): the full run (60,000 images) and a run on the first
1,000 images with the same batch size, chains and model.  Evaluation: ln Z by AIS and the test-set
log-likelihood, streamed over the 10,000 test images.

    python benchmarks/fashion_mnist.py --out benchmarks/results          # both runs and the comparison
    python benchmarks/fashion_mnist.py --n-train 1000 --epochs 1         # one run, JSON on stdout
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

DEFAULT_DATA = Path("/usr/share/datasets/fashion-mnist")


def one_run(args: argparse.Namespace) -> dict:
    """Train and evaluate in this process; the peak RSS is this process's."""
    import torch

    import boltzlab as bl
    from boltzlab.data import ArrayDataset, open_dataset
    from boltzlab.training import TrainConfig, Trainer

    torch.set_num_threads(args.threads)
    train = open_dataset(args.data, "train", binarize=0.5)
    test = open_dataset(args.data, "test", binarize=0.5)
    if args.n_train < len(train):  # the first images, read through the same memory map
        train = ArrayDataset(train.array[:args.n_train], scale=train.scale, binarize=train.threshold)
    config = TrainConfig(n_hidden=args.hidden, method="pcd", k=args.k, batch_size=args.batch_size,
                         n_chains=args.chains, epochs=args.epochs, optimizer="adam", lr=1e-3, seed=0,
                         monitor_samples=1000)
    t0 = time.perf_counter()
    trainer = Trainer.create(train, config, progress=False)
    setup = time.perf_counter() - t0
    history = trainer.fit()
    model = trainer.model
    t1 = time.perf_counter()
    ais = bl.ais_log_z(model, n_runs=args.ais_runs, n_betas=args.ais_betas, seed=0)
    ll, ll_err = bl.log_likelihood(model, test, ais)
    evaluation = time.perf_counter() - t1
    seconds = [history[0]["seconds"]] + [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])]
    return {"n_train": len(train), "n_test": len(test), "n_visible": model.n_visible, "n_hidden": model.n_hidden,
            "batch_size": args.batch_size, "chains": args.chains, "k": args.k, "epochs": args.epochs,
            "threads": args.threads, "setup_seconds": round(setup, 3),
            "seconds_per_epoch": [round(s, 3) for s in seconds], "evaluation_seconds": round(evaluation, 3),
            "log_z": ais.log_z, "log_z_stderr": ais.stderr, "test_log_likelihood": ll,
            "test_log_likelihood_stderr": ll_err,
            "pseudo_log_likelihood": history[-1].get("pseudo_log_likelihood"),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def compare(args: argparse.Namespace, passthrough: list[str]) -> dict:
    """The full run and the 1,000-image run, each in a fresh process."""
    runs = {}
    for name, n in (("small", 1000), ("full", 10 ** 9)):
        cmd = [sys.executable, __file__, "--n-train", str(n), *passthrough]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs[name] = json.loads(proc.stdout)
        r = runs[name]
        print(f"{name:5s}: {r['n_train']:6d} images, {np.mean(r['seconds_per_epoch']):8.2f} s/epoch, "
              f"peak RSS {r['peak_rss_mib']:7.1f} MiB, test LL {r['test_log_likelihood']:.2f} "
              f"+- {r['test_log_likelihood_stderr']:.2f}", file=sys.stderr)
    ratio = runs["full"]["peak_rss_mib"] / runs["small"]["peak_rss_mib"]
    result = {"benchmark": "fashion_mnist", "peak_rss_ratio_full_to_small": ratio, "bound": 1.5,
              "within_bound": ratio <= 1.5, **runs}
    print(f"peak memory full / 1,000 images: {ratio:.3f} (bound 1.5)", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="directory with the Fashion-MNIST IDX files")
    ap.add_argument("--n-train", type=int, default=None, help="one run on this many training images")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--chains", type=int, default=100)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-betas", type=int, default=1000)
    ap.add_argument("--out", default=None, help="folder for fashion_mnist.json")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        raise SystemExit(f"boltzlab: error: {args.data}: no such directory (make fashion-mnist installs it)")
    if args.n_train is not None:
        result = one_run(args)
        print(json.dumps(result))
        return result
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    if "--out" in passthrough:
        i = passthrough.index("--out")
        del passthrough[i:i + 2]
    result = compare(args, passthrough)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "fashion_mnist.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
