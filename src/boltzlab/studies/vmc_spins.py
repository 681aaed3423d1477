"""Reproduction entries for lattice spins (docs/vmc.md, "Lattice spins").

* ``vmc-spins-chains``: TFIM chains (h = 1; 12 and 16 sites) and the Heisenberg chain (12 sites), RBM + SR,
  against Lanczos (relative error below 1e-3).
* ``vmc-spins-80``: the 80-site TFIM chain at h = 0.5, 1, 2 against free fermions (relative error <= 1e-4) and
  the 80-site Heisenberg chain against the Bethe ansatz (<= 1e-3), translation-symmetric RBM, alpha = 2.
* ``vmc-heisenberg-2d``: the 10 x 10 Heisenberg antiferromagnet against Sandvik's QMC (within 1%).

Every run is also checked not to lie below its reference by more than 3 standard errors.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .registry import Study, entry


def _run(study: Study, name: str, model: str, lattice: str, field: float = 1.0, symmetric: bool = True,
         alpha: int = 2, iterations: int | None = None, chains: int = 1000, eval_steps: int = 200,
         tolerance: float = 1e-3) -> dict[str, Any]:
    """One run with the CLI's defaults (SR, cosine learning rate to a tenth, 1000 samples; Heisenberg: Marshall
    sign, exchange moves, lr 0.05, 600 iterations; TFIM: lr 0.1, 400 iterations); declares its figures."""
    from ..quantum.lattice import (RBMSpinState, SpinVMC, SpinVMCConfig, SymmetricRBMSpinState, make_hamiltonian,
                                   reference_energy)
    from .report_plots import plot_history
    heis = model == "heisenberg"
    ham = make_hamiltonian(model, lattice, field=field)
    ref = reference_energy(ham)
    lr = 0.05 if heis else 0.1
    cfg = SpinVMCConfig(n_chains=chains, iterations=iterations or (600 if heis else 400), lr=lr,
                        lr_schedule="cosine", lr_final=lr / 10, move="exchange" if heis else "local",
                        eval_steps=eval_steps)
    if symmetric:
        rbm = SymmetricRBMSpinState(ham.lattice, alpha=alpha, marshall=heis)
    else:
        rbm = RBMSpinState(ham.n_sites, alpha=alpha, marshall=heis, sublattice=ham.lattice.sublattice)
    vmc = SpinVMC(ham, rbm, cfg, exact_energy=ref.energy)
    vmc.exact_stderr = ref.stderr
    vmc.run(progress=study.progress)
    res = vmc.estimate(progress=study.progress)
    plot = plot_history(vmc.history, study.out / f"{name}.png", ref.energy,
                        title=f"{model} {lattice}{'' if heis else f', h = {field:g}'}, "
                              f"{'symmetric ' if symmetric else ''}RBM alpha {alpha}")
    study.plots.append(str(plot))
    study.figure(f"{name}: relative error", res.relative_error, 0.0, tolerance, "upper", ref.source)
    study.figure(f"{name}: not below the reference", res.energy, ref.energy,
                 3 * math.hypot(res.stderr, ref.stderr), "lower", ref.source)
    return {**res.to_dict(), "reference_source": ref.source, "n_parameters": vmc.n_parameters}


@entry("vmc-spins-chains", "RBM VMC of the TFIM chain (h = 1; 12 and 16 sites) and the Heisenberg chain (12 sites) "
                           "against Lanczos")
def vmc_spins_chains(study: Study) -> dict[str, Any]:
    """Plain RBM (TFIM alpha 1, Heisenberg alpha 2 with the Marshall sign); ``quick``: 8 sites, 200 chains, a
    third of the iterations, tolerance 1e-2."""
    cases = [("tfim", 12), ("tfim", 16), ("heisenberg", 12)] if not study.quick else [("tfim", 8), ("heisenberg", 8)]
    return {f"{m}-{n}": _run(study, f"{m}-{n}", m, str(n), symmetric=False, alpha=2 if m == "heisenberg" else 1,
                             iterations=study.size((600 if m == "heisenberg" else 300) // 3, None),
                             chains=study.size(200, 1000), eval_steps=study.size(30, 200),
                             tolerance=study.size(1e-2, 1e-3))
            for m, n in cases}


@entry("vmc-spins-80", "80-site chains: TFIM (h = 0.5, 1, 2) within 1e-4 of free fermions, Heisenberg within 1e-3 "
                       "of the Bethe ansatz (translation-symmetric RBM, alpha 2; issue 24)")
def vmc_spins_80(study: Study) -> dict[str, Any]:
    """``quick``: 12 sites, h = 1, 200 chains, 100 iterations, tolerances 2e-3 (TFIM) and 5e-3 (Heisenberg)."""
    n = study.size(12, 80)
    out = {}
    for h in study.size([1.0], [0.5, 1.0, 2.0]):
        out[f"tfim-{n}-h{h:g}"] = _run(study, f"tfim-{n}-h{h:g}", "tfim", str(n), field=h,
                                       iterations=study.size(100, None), chains=study.size(200, 1000),
                                       eval_steps=study.size(30, 200), tolerance=study.size(2e-3, 1e-4))
    out[f"heisenberg-{n}"] = _run(study, f"heisenberg-{n}", "heisenberg", str(n),
                                  iterations=study.size(100, None), chains=study.size(200, 1000),
                                  eval_steps=study.size(30, 200), tolerance=study.size(5e-3, 1e-3))
    return out


@entry("vmc-heisenberg-2d", "Heisenberg antiferromagnet 10 x 10 within 1% of Sandvik's QMC, Phys. Rev. B 56, 11678 "
                            "(1997) (translation-symmetric RBM, alpha 2, Marshall sign)")
def vmc_heisenberg_2d(study: Study) -> dict[str, Any]:
    """The reference is E/N = -0.671549(4) (spin-1/2 units; Sandvik 1997, Table I, L = 10), times 4 for Pauli
    matrices.  ``quick``: 4 x 4 against Lanczos within 3%."""
    lattice = study.size("4x4", "10x10")
    return {lattice: _run(study, f"heisenberg-{lattice}", "heisenberg", lattice,
                          iterations=study.size(100, 800), chains=study.size(200, 1000),
                          eval_steps=study.size(30, 200), tolerance=study.size(3e-2, 1e-2))}


def spins_run(args: argparse.Namespace) -> int:
    """`boltzlab vmc spins`: build the lattice, Hamiltonian and ansatz from the options, run (or resume) VMC,
    write the energy plot and SPINS_JSON into ``args.out`` and print the result."""
    import torch

    from ..checkpoint import atomic_write_json
    from ..cli.common import emit_json, say
    from ..cli.vmc_spins_cmds import SPINS_JSON, check_vmc_checkpoint
    from ..quantum.lattice import (Lattice, RBMSpinState, SpinVMC, SpinVMCConfig, SymmetricRBMSpinState,
                                   make_hamiltonian, reference_energy)
    from .report_plots import plot_history

    if args.sites is not None and args.lattice is not None:
        raise ConfigError("give either --sites or --lattice, not both")
    lattice = Lattice.parse(args.lattice) if args.lattice is not None else Lattice((args.sites or 12,))
    ham = make_hamiltonian(args.model, lattice, field=args.field, coupling=args.coupling)
    heis = args.model == "heisenberg"
    marshall = {"on": True, "off": False, "auto": heis and args.coupling > 0}[args.marshall]
    if marshall and not lattice.bipartite:
        raise ConfigError(f"the Marshall sign needs a bipartite lattice (even sides); {lattice} is not")
    move = args.move if args.move != "auto" else ("exchange" if heis else "local")
    if move == "exchange" and lattice.n_sites % 2:
        raise ConfigError("exchange moves keep S^z = 0 only for an even number of sites; use --move local")
    alpha = args.alpha if args.alpha is not None else 2.0
    if args.ansatz == "symmetric" and alpha != int(alpha):
        raise ConfigError(f"--alpha of the symmetric RBM counts filters and must be an integer, got {alpha:g}")
    device = torch.device(args.device)  # checked by the parser (torch_device)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer != "sr" else 0.05 if heis else 0.1)
    cfg = SpinVMCConfig(n_chains=args.samples, sweeps=args.sweeps, burn_in=args.burn_in,
                        iterations=args.iterations if args.iterations is not None else (600 if heis else 400),
                        optimizer=args.optimizer, lr=lr, lr_schedule=args.lr_schedule,
                        lr_final=args.lr_final if args.lr_final is not None else lr / 10,
                        diag_shift=args.diag_shift, sr_solver=args.sr_solver, max_distance=args.max_distance or None,
                        eval_steps=args.eval_steps, move=move, seed=args.seed)
    cfg.validate()
    if args.ansatz == "symmetric":
        ansatz = SymmetricRBMSpinState(lattice, alpha=int(alpha), complex=args.complex, marshall=marshall,
                                       seed=args.seed, dtype=dtype, device=device)
    else:
        ansatz = RBMSpinState(lattice.n_sites, alpha=alpha, complex=args.complex, marshall=marshall,
                              sublattice=lattice.sublattice, seed=args.seed, dtype=dtype, device=device)
    out = Path(args.out)
    ckpt = Path(args.checkpoint) if args.checkpoint else out / "checkpoint.pt"
    check_vmc_checkpoint(ckpt, "vmc", args)
    out.mkdir(parents=True, exist_ok=True)
    ref = None
    if args.exact != "no":
        t0 = time.perf_counter()
        ref = reference_energy(ham)
        if ref is None and args.exact == "yes":
            raise ConfigError(f"--exact yes: no reference energy is known for {args.model} on {lattice}")
        if ref is not None:
            se = f" +- {ref.stderr:.1e}" if ref.stderr else ""
            say(f"reference ground-state energy {ref.energy:.10f}{se} ({ref.source}; E/N = "
                f"{ref.energy / lattice.n_sites:.10f}) in {time.perf_counter() - t0:.1f} s", args.json)
    exact = ref.energy if ref is not None else None

    if args.resume:
        vmc = SpinVMC.load(ckpt, ham, ansatz, cfg)
        vmc.exact_energy = exact if exact is not None else vmc.exact_energy
        say(f"resumed {ckpt} at iteration {vmc.iteration}", args.json)
    else:
        vmc = SpinVMC(ham, ansatz, cfg, exact_energy=exact)
    vmc.exact_stderr = ref.stderr if ref is not None else 0.0
    vmc.run(cfg.iterations, progress=not args.no_progress, checkpoint=ckpt,
            checkpoint_every=args.checkpoint_every)
    res = vmc.estimate(progress=not args.no_progress)
    plot = plot_history(vmc.history, out / "energy.png", exact,
                        title=f"{args.model} {lattice} ({f'h={args.field:g}, ' if not heis else ''}"
                              f"J={args.coupling:g}), {args.ansatz} RBM alpha={alpha:g}"
                              f"{', Marshall sign' if marshall else ''}")
    out_d = {**ham.describe(), "n_sites": lattice.n_sites, **res.to_dict(),
             "ansatz": ansatz.describe(), "config": asdict(cfg),
             "energy_per_site": res.energy / lattice.n_sites, "checkpoint": str(ckpt), "plots": [str(plot)],
             "reference_source": ref.source if ref is not None else None,
             "reference_stderr": ref.stderr if ref is not None else None}
    atomic_write_json(out / SPINS_JSON, {**out_d, "history": vmc.history})
    if res.below_exact:
        say(f"boltzlab: warning: the VMC energy {res.energy:.6f} +- {res.stderr:.1e} lies more than 3 standard "
            f"errors below the reference {exact:.6f} ({ref.source}): an estimator or error-bar problem")
    if args.json:
        emit_json(out_d)
    else:
        rel = (f", relative error {res.relative_error:.2e} vs reference {exact:.8f} ({ref.source}), below "
               f"reference: {'YES' if res.below_exact else 'no'}" if exact is not None else ", no reference known")
        print(f"E = {res.energy:.8f} +- {res.stderr:.1e} (variance {res.variance:.3e}){rel}; "
              f"{res.seconds_per_iteration * 1e3:.1f} ms/iteration; wrote {out / SPINS_JSON} and {plot}")
    return 0
