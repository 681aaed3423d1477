"""`boltzlab reciprocal ...`: RBMs in reciprocal space; the analyses are in :mod:`boltzlab.studies.reciprocal_figures`.

Every subcommand takes one model or a series of checkpoints (files, or run directories whose
``checkpoints/step_*.pt`` are then used in training order), writes PNG plots and a JSON of its numbers
into ``--out``, and prints the numbers with ``--json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..studies import reciprocal_figures as study
from .common import (Parser, add_run_options, emit_json, image_shape, int_list, non_negative_int, out_dir,
                     positive_float, positive_int, reporting, say)
from .model_cmds import add_data_options

MODELS_HELP = ("model files (boltzlab checkpoints or .npz) or run directories (their checkpoints/step_*.pt, "
               "else checkpoint.pt); several form a series, ordered by training step")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reciprocal", help="RBMs in reciprocal space: spectra, symmetry, modes, replica studies",
                       description="RBMs in reciprocal space: the SVD of W and its "
                                   "Marchenko-Pastur law, rotational symmetry breaking, reciprocal variables, "
                                   "energy landscapes, hierarchical learning, the Landau free energy of a mode, "
                                   "and replica studies.  See docs/reciprocal-space.md.")
    rs = p.add_subparsers(dest="reciprocal_command", metavar="ANALYSIS", parser_class=Parser, required=True)

    def common(q: argparse.ArgumentParser, name: str, models: bool = True) -> None:
        if models:
            q.add_argument("models", nargs="+", metavar="MODEL", help=MODELS_HELP)
        add_run_options(q, f"runs/reciprocal/{name}")
        q.add_argument("--threads", type=positive_int, default=None,
                       help="torch CPU threads (default: torch's; 1 is fastest on busy shared cores)")

    def data_opts(q: argparse.ArgumentParser, required: bool) -> None:
        q.add_argument("--data", required=required, help="data to project (a file, an MNIST directory, 'ising:...')")
        add_data_options(q)

    q = rs.add_parser("spectrum", help="singular values against Marchenko-Pastur (eq. 20), tracked over checkpoints")
    common(q, "spectrum")
    q.add_argument("--sigma", type=positive_float, default=None, help="weight std of the MP law (default: RMS of W)")
    q.add_argument("--top", type=positive_int, default=10, help="leading singular values tracked (default 10)")
    q.set_defaults(func=_threaded(study.spectrum))

    q = rs.add_parser("symmetry", help="rotation test: JS divergence of W before/after random rotations (Fig. 4)")
    common(q, "symmetry")
    q.add_argument("--fraction", type=positive_float, default=0.1,
                   help="rotations per mode-space dimension: ceil(fraction N) of U, ceil(fraction M) of V (default 0.1)")
    q.add_argument("--method", choices=["planes", "haar"], default="planes",
                   help="random plane rotations (the paper's) or one Haar rotation (default planes)")
    q.add_argument("--null-draws", type=positive_int, default=5, help="symmetric null matrices (default 5, >= 2)")
    q.set_defaults(func=_threaded(study.symmetry))

    q = rs.add_parser("variables", help="reciprocal variables of random states, data and Gibbs samples vs eq. 51 (Fig. 5)")
    common(q, "variables")
    data_opts(q, required=False)
    q.add_argument("--samples", type=positive_int, default=10_000, help="random states projected (default 10000)")
    q.add_argument("--gibbs", type=non_negative_int, default=0, metavar="N", help="also N Gibbs chains (default 0: none)")
    q.add_argument("--steps", type=positive_int, default=200, help="Gibbs sweeps per chain (default 200)")
    q.add_argument("--modes", type=int_list, default=None, help="modes (1-based) to plot (default 1,2,3,m/2,m)")
    q.set_defaults(func=_threaded(study.variables))

    q = rs.add_parser("kurtosis", help="kurtosis of hidden reciprocal variables of fresh RBMs vs hidden size (Fig. 3e)")
    common(q, "kurtosis", models=False)
    q.add_argument("--visible", type=positive_int, default=784, help="visible units (default 784)")
    q.add_argument("--hidden", type=int_list, default=[500, 700, 784, 1200, 2000],
                   help="hidden sizes (default 500,700,784,1200,2000)")
    q.add_argument("--sigma", type=positive_float, default=0.01, help="weight std (default 0.01)")
    q.add_argument("--samples", type=positive_int, default=20_000, help="random hidden states (default 20000)")
    q.set_defaults(func=_threaded(study.kurtosis))

    q = rs.add_parser("landscape", help="per-mode energy landscapes with data and Gibbs projections (Fig. 1 right, Fig. 2)")
    common(q, "landscape")
    data_opts(q, required=True)
    q.add_argument("--modes", type=int_list, default=None, help="modes (1-based) (default 1,2,3,m)")
    q.add_argument("--gibbs", type=non_negative_int, default=200, metavar="N", help="Gibbs chains to project (default 200; 0: none)")
    q.add_argument("--steps", type=positive_int, default=200, help="Gibbs sweeps per chain (default 200)")
    q.add_argument("--max-points", type=positive_int, default=1000, help="data points drawn per panel (default 1000)")
    q.set_defaults(func=_threaded(study.landscape))

    q = rs.add_parser("hierarchy", help="samples decoded through rotated singular vectors (Fig. 6)")
    common(q, "hierarchy")
    q.add_argument("--n", type=positive_int, default=10, help="samples (default 10)")
    q.add_argument("--steps", type=positive_int, default=1000, help="Gibbs sweeps (default 1000)")
    q.add_argument("--top", type=positive_int, default=2, help="leading modes rotated by pi (even; default 2)")
    q.add_argument("--protect", type=non_negative_int, default=5, help="leading modes kept out of the random rotations (default 5)")
    q.add_argument("--rotations", type=positive_int, default=10, help="random rotations outside them (default 10)")
    q.add_argument("--image-shape", type=image_shape, default=None, help="HxW (default: square)")
    q.set_defaults(func=_threaded(study.hierarchy))

    q = rs.add_parser("landau", help="mean-field free energy of a mode (eq. 55) along training (Figs. 7-8)")
    common(q, "landau")
    data_opts(q, required=True)
    q.add_argument("--mode", type=positive_int, default=1, help="the mode, 1-based (default 1)")
    q.add_argument("--variable", choices=["u", "w", "both"], default="both", help="u, w or both (default both)")
    q.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    q.add_argument("--gibbs", type=non_negative_int, default=200, metavar="N", help="Gibbs chains per checkpoint (default 200; 0: none)")
    q.add_argument("--steps", type=positive_int, default=200, help="Gibbs sweeps per chain (default 200)")
    q.set_defaults(func=_threaded(study.landau))

    q = rs.add_parser("replicas", help="replica study from a TOML file: AIS/reverse-AIS log-likelihoods (Fig. 1)")
    q.add_argument("--config", required=True, help="study file, e.g. examples/replica-study.toml")
    q.add_argument("--out", type=out_dir, default=None, help="output directory (default: [study] out of the file)")
    q.add_argument("--overwrite", action="store_true", help="replace a finished study in --out")
    q.add_argument("--json", action="store_true", help="print the summary as JSON")
    q.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    q.set_defaults(func=cmd_replicas)


# ---------------------------------------------------------------------------------------------- helpers
def _threaded(fn):
    """Run an analysis with ``--threads`` torch threads (restored afterwards) and report its numbers."""
    def run(args: argparse.Namespace) -> tuple[dict, str]:
        old = torch.get_num_threads()
        if args.threads:
            torch.set_num_threads(args.threads)
        try:
            res = fn(args)
        finally:
            torch.set_num_threads(old)
        return res, f"wrote {res.pop('json')} and " + ", ".join(Path(p).name for p in res.get("plots", []))
    return reporting(run)


def cmd_replicas(args: argparse.Namespace) -> int:
    from ..studies.pipelines.replica import load_study, run_study
    spec = load_study(args.config)
    out = Path(args.out or spec.out)
    if (out / "results.json").exists() and not args.overwrite:
        raise CheckpointError(f"{out} already holds a finished study; pass --overwrite to replace it")
    result = run_study(spec, out, progress=not args.no_progress, log=None if args.json else say)
    summary = {"out": str(out), "seconds": result["seconds"], "summary": result["summary"], "plots": result["plots"]}
    if args.json:
        emit_json(summary)
    else:
        say(f"wrote {out}/results.json and " + ", ".join(Path(p).name for p in result["plots"]))
    return 0
