"""`boltzlab vmc ...`: variational Monte Carlo with neural-network quantum states (docs/vmc.md).

* ``vmc qdot --particles 2 --dim 2 --omega 1.0 [--no-interaction] --json``: electrons in a harmonic trap
  (quantum dots) with Gaussian-binary RBM, Pade-Jastrow and Slater-determinant wave functions; prints at
  least ``energy``, ``stderr`` (blocking) and ``variance``.
* ``vmc spins ...``: lattice spin chains (registered by :mod:`boltzlab.cli.vmc_spins_cmds`).

Each run writes PNG plots (optimisation history, one-body density, pair distances) and a JSON of its
numbers into ``--out``; ``--checkpoint`` with ``--resume`` continues an interrupted run exactly.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..quantum.qdot.vmc import NETWORK_MANY_BODY
from .common import Parser, add_run_options, emit_json, finite_float, non_negative_int, positive_float, positive_int, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vmc", help="variational Monte Carlo with RBM wave functions (quantum dots, spin chains)",
                       description="Neural-network quantum states (Carleo & Troyer, Science 355, 602 (2017)).")
    vsub = p.add_subparsers(dest="vmc_command", metavar="SYSTEM", parser_class=Parser, required=True)
    _register_qdot(vsub)
    from . import vmc_spins_cmds
    vmc_spins_cmds.register(vsub)


def _register_qdot(vsub: argparse._SubParsersAction) -> None:
    q = vsub.add_parser("qdot", help="electrons in a harmonic trap (quantum dots) in 1, 2 or 3 dimensions",
                        description="VMC for N particles in a D-dimensional harmonic trap with optional Coulomb "
                                    "repulsion (natural units). Prints energy, stderr (blocking) and variance.")
    q.add_argument("--particles", type=positive_int, default=2, help="number of particles N (default 2)")
    q.add_argument("--dim", type=int, choices=[1, 2, 3], default=2, help="dimension D (default 2)")
    q.add_argument("--omega", type=positive_float, default=1.0, help="trap frequency (default 1)")
    q.add_argument("--no-interaction", action="store_true", help="switch the Coulomb repulsion off")
    q.add_argument("--ansatz", default="auto",
                   choices=["auto", "rbm", "rbm-jastrow", "slater", "slater-jastrow", "slater-rbm", "slater-rbm-jastrow",
                            "backflow-jastrow"],
                   help="wave function; auto (default): rbm(-jastrow) for N <= 2, backflow-jastrow for interacting "
                        "closed shells N > 2 in D >= 2, slater-rbm otherwise; backflow-jastrow: feed-forward "
                        "backflow and Jastrow networks (width --hidden)")
    q.add_argument("--hidden", type=non_negative_int, default=None,
                   help="RBM hidden units, or the network width of backflow-jastrow (default 2 and 16)")
    q.add_argument("--many-body", type=non_negative_int, default=None,
                   help="backflow-jastrow: pair features m of the many-body Jastrow sum_i F(omega r_i^2, spin-resolved "
                        f"sums of phi(omega r_ij^2)) (default {NETWORK_MANY_BODY}; 0: pair Jastrow only)")
    q.add_argument("--power", type=float, choices=[1.0, 0.5], default=1.0,
                   help="1: Psi = F (default); 0.5: Psi = sqrt(F), i.e. |Psi|^2 = P_rbm")
    q.add_argument("--sigma", type=positive_float, default=None,
                   help="RBM sigma (default: exact for the free trap, 1/sqrt(omega) or 1/sqrt(2 omega))")
    q.add_argument("--train-sigma", action="store_true", help="make ln sigma^2 a variational parameter")
    q.add_argument("--init-scale", type=finite_float, default=0.1, help="std of the random initial RBM parameters")
    q.add_argument("--optimizer", choices=["adam", "sgd", "sr"], default="sr", help="optimiser (default sr)")
    q.add_argument("--lr", type=positive_float, default=0.05, help="learning rate (default 0.05)")
    q.add_argument("--lr-decay", type=finite_float, default=0.0, help="inverse-time decay lr / (1 + d t)")
    q.add_argument("--diag-shift", type=finite_float, default=1e-3, help="SR diagonal shift (default 1e-3)")
    q.add_argument("--iterations", type=non_negative_int, default=None,
                   help="optimisation iterations (default 300; 600 for backflow-jastrow)")
    q.add_argument("--walkers", type=positive_int, default=256, help="parallel walkers (default 256)")
    q.add_argument("--steps", type=positive_int, default=10, help="samples per walker per iteration (default 10)")
    q.add_argument("--sweeps", type=positive_int, default=1,
                   help="sweeps (all particles moved once) per sample; > 1 thins correlated samples (default 1)")
    q.add_argument("--burn-in", type=non_negative_int, default=100, help="burn-in sweeps, step adapts (default 100)")
    q.add_argument("--eval-steps", type=positive_int, default=2000, help="samples per walker of the final measurement (default 2000)")
    q.add_argument("--eval-burn-in", type=non_negative_int, default=200, help="burn-in before the measurement")
    q.add_argument("--method", choices=["importance", "metropolis"], default="importance",
                   help="sampler: importance (Langevin drift) or metropolis (default importance)")
    q.add_argument("--moves", choices=["auto", "all", "single"], default="auto",
                   help="move all particles at once or one at a time (auto: one at a time when supported)")
    q.add_argument("--step", type=positive_float, default=None, help="initial step (dt for importance sampling)")
    q.add_argument("--tol", type=finite_float, default=0.0, help="stop when 10 successive energies span < tol")
    add_run_options(q, "runs/vmc-qdot")
    q.add_argument("--checkpoint", default=None, help="checkpoint file (written every --checkpoint-every its)")
    q.add_argument("--checkpoint-every", type=positive_int, default=10, help="iterations between checkpoints (default 10)")
    q.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    q.add_argument("--overwrite", action="store_true", help="start over even if --checkpoint exists")
    q.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    q.set_defaults(func=cmd_qdot)


def auto_ansatz(particles: int, interaction: bool) -> str:
    if particles <= 2:
        return "rbm-jastrow" if interaction and particles == 2 else "rbm"
    return "backflow-jastrow" if interaction and particles % 2 == 0 else "slater-rbm"


def cmd_qdot(args: argparse.Namespace) -> int:
    from ..errors import ConfigError, require
    from ..quantum.qdot import QDotConfig, run_qdot
    require(not args.resume or args.checkpoint, "--resume needs --checkpoint FILE")
    if args.checkpoint and (Path(args.checkpoint).exists() or args.overwrite):
        from .vmc_spins_cmds import check_vmc_checkpoint
        check_vmc_checkpoint(Path(args.checkpoint), "vmc", args)
    interaction = not args.no_interaction
    ansatz = args.ansatz if args.ansatz != "auto" else auto_ansatz(args.particles, interaction and args.dim > 1)
    if args.dim == 1 and interaction and args.particles > 1:
        raise ConfigError("Coulomb repulsion in 1D is not integrable at contact; use --no-interaction in 1D")
    if not math.isfinite(args.init_scale) or args.init_scale < 0:
        raise ConfigError(f"--init-scale must be >= 0, got {args.init_scale}")
    network = ansatz == "backflow-jastrow"
    hidden = args.hidden if args.hidden is not None else (16 if network else 2)
    iterations = args.iterations if args.iterations is not None else (600 if network else 300)
    many_body = args.many_body if args.many_body is not None else (NETWORK_MANY_BODY if network else 0)
    cfg = QDotConfig(particles=args.particles, dim=args.dim, omega=args.omega, interaction=interaction,
                     ansatz=ansatz, hidden=hidden, many_body=many_body, power=args.power, sigma=args.sigma,
                     train_sigma=args.train_sigma, init_scale=args.init_scale, optimizer=args.optimizer, lr=args.lr,
                     lr_decay=args.lr_decay, diag_shift=args.diag_shift, iterations=iterations,
                     walkers=args.walkers, steps=args.steps, sweeps=args.sweeps, burn_in=args.burn_in,
                     eval_steps=args.eval_steps,
                     eval_burn_in=args.eval_burn_in, method=args.method, moves=args.moves, step=args.step,
                     tol=args.tol, seed=args.seed, device=args.device)
    quiet = args.json
    res = run_qdot(cfg, out=Path(args.out), progress=not args.no_progress,
                   checkpoint=Path(args.checkpoint) if args.checkpoint else None, resume=args.resume,
                   checkpoint_every=args.checkpoint_every, plots=not args.no_plots, log=lambda m: say(m, quiet))
    if res.get("below_exact_flag"):
        say(f"WARNING: E = {res['energy']:.6f} +- {res['stderr']:.1e} lies more than 3 standard errors below the "
            f"exact {res['exact']}: biased estimator or underestimated error bar", False)
    if args.json:
        emit_json(res)
    else:
        say(f"E = {res['energy']:.6f} +- {res['stderr']:.2e} (blocking), variance {res['variance']:.3e}, "
            f"acceptance {res['acceptance']:.3f}; wrote {args.out}/result.json and plots")
        if res.get("exact") is not None:
            say(f"exact {res['exact']}: E - exact = {res['energy'] - res['exact']:+.2e}")
        elif res.get("reference") is not None:
            say(f"DMC reference {res['reference']}: E - ref = {res['energy'] - res['reference']:+.2e}")
    return 0
