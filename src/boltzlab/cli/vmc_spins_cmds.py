"""`boltzlab vmc spins ...`: variational Monte Carlo for lattice spin models with RBM wave functions.

``boltzlab vmc spins --model tfim --sites 12 --field 1.0 --json`` prints at least ``energy`` and ``stderr``
(H = -sum Z_i Z_{i+1} - h sum X_i on a periodic chain).  ``--model heisenberg``, ``--lattice 4x4`` for square
lattices, ``--ansatz``, ``--alpha``, ``--samples``, ``--iterations``; the reference energy at every size where one
exists (free fermions, Bethe ansatz, Lanczos, QMC), with the relative error and a below-reference flag; PNG plot of
the energy against iteration and a JSON of the numbers in ``--out``;
``--checkpoint`` / ``--resume`` to continue a run exactly.  See docs/vmc.md, section "Lattice spins".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CheckpointError, ConfigError, require
from .common import add_run_options, finite_float, non_negative_int, positive_float, positive_int

SPINS_JSON = "vmc_spins.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spins", help="lattice spin models (transverse-field Ising, Heisenberg) with RBM states",
                       description="VMC with a binary RBM wave function (translation-symmetric or not, real or "
                                   "complex; Marshall sign for the Heisenberg antiferromagnet) on a periodic chain or "
                                   "square lattice, optimised by stochastic reconfiguration; prints the reference "
                                   "energy (free fermions, Bethe ansatz, Lanczos or QMC) at every size where one "
                                   f"exists. Writes OUT/{SPINS_JSON} and OUT/energy.png.")
    p.add_argument("--model", choices=["tfim", "heisenberg"], default="tfim",
                   help="tfim: -J sum Z Z - h sum X; heisenberg: J sum (XX + YY + ZZ) (Pauli matrices)")
    p.add_argument("--sites", type=positive_int, default=None, help="chain length L (default 12)")
    p.add_argument("--lattice", default=None, help="lattice as L or LxW, e.g. 4x4 (instead of --sites)")
    p.add_argument("--field", type=finite_float, default=1.0, help="transverse field h of the TFIM (default 1)")
    p.add_argument("--coupling", type=finite_float, default=1.0, help="coupling J (default 1)")
    p.add_argument("--ansatz", choices=["symmetric", "rbm"], default="symmetric",
                   help="symmetric: translation-invariant RBM (alpha filters); rbm: all couplings free "
                        "(default symmetric)")
    p.add_argument("--alpha", type=positive_float, default=None,
                   help="hidden-unit density M/N (number of filters of the symmetric RBM; default 2)")
    p.add_argument("--complex", action="store_true", help="complex RBM parameters")
    p.add_argument("--marshall", choices=["auto", "on", "off"], default="auto",
                   help="Marshall sign (-1)^{N_up(A)}; auto: on for the Heisenberg antiferromagnet (default)")
    p.add_argument("--samples", type=positive_int, default=1000,
                   help="samples per iteration = parallel Metropolis chains (default 1000)")
    p.add_argument("--sweeps", type=positive_int, default=1, help="sweeps (N proposals) per sample (default 1)")
    p.add_argument("--move", choices=["auto", "local", "exchange"], default="auto",
                   help="local spin flips or exchange of neighbours (auto: exchange for heisenberg)")
    p.add_argument("--burn-in", type=non_negative_int, default=20, help="sweeps before the first iteration")
    p.add_argument("--iterations", type=non_negative_int, default=None,
                   help="optimisation iterations (default 400 for tfim, 600 for heisenberg)")
    p.add_argument("--optimizer", choices=["sr", "adam", "sgd"], default="sr", help="optimiser (default sr)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default for sr 0.1 for tfim and 0.05 for heisenberg; 0.01 for adam and sgd)")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default="cosine",
                   help="learning rate constant, or cosine-annealed to --lr-final over the run (default cosine)")
    p.add_argument("--lr-final", type=finite_float, default=None, help="final learning rate (default lr / 10)")
    p.add_argument("--diag-shift", type=finite_float, default=0.01, help="SR diagonal shift (default 0.01)")
    p.add_argument("--sr-solver", choices=["auto", "dense", "cg", "minsr"], default="auto",
                   help="SR linear solver: dense (Cholesky), cg (conjugate gradients), minsr (sample space); "
                        "auto: minsr when parameters outnumber samples, else dense")
    p.add_argument("--max-distance", type=finite_float, default=0.5,
                   help="cap on a step's length sqrt(d^H S d) in the quantum metric (default 0.5; 0 = no cap)")
    p.add_argument("--eval-steps", type=positive_int, default=200,
                   help="sampling rounds of the final estimate, blocking error bar (default 200)")
    p.add_argument("--exact", choices=["auto", "yes", "no"], default="auto",
                   help="reference energy: auto = where one exists (free fermions and Bethe ansatz at any chain "
                        "length, Lanczos up to 20 sites, QMC for the 10x10 Heisenberg lattice); yes = fail "
                        "without one; no = none (default auto)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (default OUT/checkpoint.pt)")
    p.add_argument("--checkpoint-every", type=non_negative_int, default=50, help="iterations between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--overwrite", action="store_true", help="start over even if the checkpoint exists")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="real dtype (default float64)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="CPU threads of torch and BLAS (default 1: the tensors are small, more threads mostly add "
                        "overhead)")
    add_run_options(p, "runs/vmc/spins")
    p.set_defaults(func=cmd_spins)


def cmd_spins(args: argparse.Namespace) -> int:
    import torch
    from threadpoolctl import threadpool_limits

    from ..studies.vmc_spins import spins_run
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:  # SciPy's BLAS (the SR matrix) too: its default threads spin against other work on a busy machine
        with threadpool_limits(limits=args.threads, user_api="blas"):
            return spins_run(args)
    finally:
        torch.set_num_threads(threads)


def check_vmc_checkpoint(ckpt: Path, kind: str, args: argparse.Namespace) -> None:
    """--resume needs a checkpoint of this kind; without --resume an existing one is kept unless --overwrite."""
    from ..checkpoint import load_payload
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues the run in the checkpoint and --overwrite replaces it; give one")
    if args.resume:
        require(ckpt.is_file(), f"{ckpt}: no such checkpoint file (run without --resume first)", CheckpointError)
        found = load_payload(ckpt).get("kind")
        require(found == kind, f"{ckpt}: holds a {found or 'non-VMC'} state, not a {kind} checkpoint", CheckpointError)
    elif ckpt.exists() and not args.overwrite:
        raise CheckpointError(f"{ckpt} exists; pass --resume to continue that run or --overwrite to start over")
