"""Reproduction entries for lattice spins (docs/vmc.md, "Lattice spins").

* ``vmc-spins-chains``: TFIM chains (h = 1; 12 and 16 sites) and the Heisenberg chain (12 sites), RBM + SR,
  against Lanczos (relative error below 1e-3).
* ``vmc-spins-80``: the 80-site TFIM chain at h = 0.5, 1, 2 against free fermions (relative error <= 1e-4) and
  the 80-site Heisenberg chain against the Bethe ansatz (<= 1e-3), translation-symmetric RBM, alpha = 2.
* ``vmc-heisenberg-2d``: the 10 x 10 Heisenberg antiferromagnet against Sandvik's QMC (within 1%).

Every run is also checked not to lie below its reference by more than 3 standard errors.
"""

from __future__ import annotations

import math
from typing import Any

from .registry import Study, entry


def _run(study: Study, name: str, model: str, lattice: str, field: float = 1.0, symmetric: bool = True,
         alpha: int = 2, iterations: int | None = None, chains: int = 1000, eval_steps: int = 200,
         tolerance: float = 1e-3) -> dict[str, Any]:
    """One run with the CLI's defaults (SR, cosine learning rate to a tenth, 1000 samples; Heisenberg: Marshall
    sign, exchange moves, lr 0.05, 600 iterations; TFIM: lr 0.1, 400 iterations); declares its figures."""
    from ..quantum.lattice import (RBMSpinState, SpinVMC, SpinVMCConfig, SymmetricRBMSpinState, make_hamiltonian,
                                   plot_history, reference_energy)
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
