"""The full tiers that need a GPU, in one run of at most ~9 minutes on one H100/H200.

    python benchmarks/gpu_paper_runs.py --out $OUT            # on the GPU machine (the full tiers)
    python benchmarks/gpu_paper_runs.py --smoke --out /tmp/x  # on a CPU: the same stages at the quick tier

Stages, in order of priority (each is a ``boltzlab reproduce`` entry at its full tier; the entries choose CUDA
when it is present and state their scale and reductions in their JSON):

1. ``thermo-xft-paper-protocol``: sec. 3.3 as written on the 784x500 MNIST model, 2x10^6 chains, T1 ensemble by
   parallel tempering (4 rungs from beta = 0.8, 200 sweeps; the paper: 300 plain sweeps from random states).
2. ``reciprocal-fig1``, ``-fig3f``, ``-fig4``, ``-fig8``: one replica study at M = 500, 784, 1200, 3000
   (reductions in :data:`boltzlab.studies.reciprocal_paper.REDUCTIONS_GPU`) and the Landau analysis of Fig. 8.
3. ``field-mnist-fig14``, ``-fig15``, ``-fig16``, ``-fig17``: scalar-field RBMs on the 784-pixel images.

A stage starts only if its estimated time fits in what is left of ``--budget`` (default 540 s); skipped stages
are listed.  Every finished stage writes its JSON and PNGs under ``--out`` at once, so a run cut short still
returns what it finished.  Trained models and checkpoints go to ``--cache`` (not under ``--out``); the
784x500 headline model is trained there by the first stage unless the cache already holds it (carry
``runs/cache`` to the GPU machine to skip that).  The summary is ``OUT/gpu_paper_runs.json``, with the device,
the command and the seconds of every stage, ready for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

#: (entry, estimated seconds of its full tier on an H100/H200, quick-tier seconds on 2 CPU cores).
STAGES = [
    ("thermo-xft-paper-protocol", 150, 15),
    ("reciprocal-fig1", 240, 15),
    ("reciprocal-fig3f", 15, 3),
    ("reciprocal-fig4", 5, 3),
    ("reciprocal-fig8", 60, 15),
    ("field-mnist-fig14", 100, 5),
    ("field-mnist-fig15", 100, 5),
    ("field-mnist-fig16", 150, 10),
    ("field-mnist-fig17", 5, 3),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="quick tier on the CPU (tests this script at small size)")
    ap.add_argument("--out", default=os.environ.get("OUT", "runs/gpu-paper"), help="results (JSON, PNG)")
    ap.add_argument("--cache", default="runs/cache", help="trained models and checkpoints (default runs/cache)")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds; a stage starts only if it fits")
    ap.add_argument("--mnist", default=None, help="MNIST directory (default: $BOLTZLAB_MNIST, ../shared/data/mnist)")
    ap.add_argument("--only", nargs="*", default=None, help="run only these entries")
    args = ap.parse_args(argv)
    import torch

    from boltzlab.studies import run_entry
    out, cache = Path(args.out), Path(args.cache)
    out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    device = (f"CPU ({platform.processor() or platform.machine()}), quick tier" if args.smoke
              else torch.cuda.get_device_name(0) if cuda else "CPU")
    if not cuda and not args.smoke:
        print("boltzlab: error: no CUDA device; run with --smoke to test the stages on the CPU", file=sys.stderr)
        return 2
    summary = {"command": " ".join(["python", "benchmarks/gpu_paper_runs.py", *(argv or sys.argv[1:])]),
               "device": device, "torch": torch.__version__, "tier": "quick" if args.smoke else "full",
               "budget_s": args.budget, "stages": [], "skipped": []}
    start = time.perf_counter()
    for name, est_full, est_quick in STAGES:
        if args.only and name not in args.only:
            continue
        est = est_quick if args.smoke else est_full
        left = args.budget - (time.perf_counter() - start)
        if est > left:
            summary["skipped"].append({"entry": name, "estimate_s": est, "left_s": round(left, 1)})
            print(f"skip {name}: needs ~{est} s, {left:.0f} s left", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            res = run_entry(name, out / name, quick=args.smoke, progress=False, cache_root=cache,
                            data={"mnist": args.mnist})
            row = {"entry": name, "ok": res["ok"], "seconds": round(time.perf_counter() - t0, 1),
                   "scale": res.get("scale"), "figures": [(f["name"], f["value"], f["ok"]) for f in res["figures"]]}
        except Exception as exc:  # noqa: BLE001  (a failed stage must not lose the others)
            row = {"entry": name, "ok": False, "seconds": round(time.perf_counter() - t0, 1),
                   "error": f"{type(exc).__name__}: {exc}"}
        summary["stages"].append(row)
        print(f"{name}: {'ok' if row['ok'] else 'FAILED'} in {row['seconds']} s", flush=True)
        (out / "gpu_paper_runs.json").write_text(json.dumps(summary, indent=1, default=str))
    summary["seconds"] = round(time.perf_counter() - start, 1)
    (out / "gpu_paper_runs.json").write_text(json.dumps(summary, indent=1, default=str))
    for stray in out.rglob("*.pt"):      # checkpoints belong in the cache, not in what comes back
        stray.unlink()
    shutil.rmtree(out / "cache", ignore_errors=True)
    print(f"done in {summary['seconds']} s on {device}; {len(summary['skipped'])} stage(s) skipped")
    return 0 if all(s["ok"] for s in summary["stages"]) else 1


if __name__ == "__main__":
    sys.exit(main())
