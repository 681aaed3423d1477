"""RBM neural-network quantum states on spin chains (Carleo and Troyer, Science 355, 602 (2017), Fig. 2 and
Table 1) against Lanczos exact diagonalisation (docs/vmc.md, "Lattice spins").

* ``vmc-spins-chains``: the TFIM chain at h = 1 with 12 and 16 sites and the Heisenberg chain with 12 sites,
  RBM + SR, each against Lanczos exact diagonalisation (target: relative error below 1e-3).
"""

from __future__ import annotations

from typing import Any

from .registry import Study, entry


@entry("vmc-spins-chains", "RBM VMC of the TFIM chain (h = 1; 12 and 16 sites) and the Heisenberg chain (12 sites) "
                           "against Lanczos")
def vmc_spins_chains(study: Study) -> dict[str, Any]:
    """``SpinVMC`` with the CLI's defaults (1000 chains, SR lr 0.05 cosine to 0.005, shift 0.01; TFIM alpha 1,
    300 iterations; Heisenberg alpha 2, Marshall sign, exchange moves, 600 iterations); ``quick``: 8 sites,
    300 chains, a third of the iterations."""
    out, quick = study.out, study.quick
    import math
    from ..quantum.lattice import RBMSpinState, SpinVMC, SpinVMCConfig, ground_state, make_hamiltonian, plot_history
    cases = [("tfim", 12), ("tfim", 16), ("heisenberg", 12)] if not quick else [("tfim", 8), ("heisenberg", 8)]
    results: dict[str, Any] = {}
    for model, n in cases:
        heis = model == "heisenberg"
        ham = make_hamiltonian(model, str(n), field=1.0)
        exact = ground_state(ham)
        iterations = (600 if heis else 300) // (3 if quick else 1)
        cfg = SpinVMCConfig(n_chains=300 if quick else 1000, iterations=iterations, lr=0.05, lr_schedule="cosine",
                            lr_final=0.005, move="exchange" if heis else "local", eval_steps=50 if quick else 200)
        rbm = RBMSpinState(n, alpha=2.0 if heis else 1.0, marshall=heis, sublattice=ham.lattice.sublattice)
        vmc = SpinVMC(ham, rbm, cfg, exact_energy=exact)
        vmc.run()
        res = vmc.estimate()
        name = f"{model}-{n}"
        plot = plot_history(vmc.history, out / f"{name}.png", exact, title=f"{model}, {n} sites, RBM")
        results[name] = {**res.to_dict(), "met_1e-3": bool(res.relative_error < 1e-3), "plot": str(plot)}
        study.plots.append(str(plot))
        study.figure(f"{name}: |E - E_exact| / |E_exact|", res.relative_error, 0.0, study.size(2e-2, 1e-3), "upper",
                     "Lanczos exact diagonalisation; 1e-3 is the accuracy of Carleo and Troyer (2017), Fig. 2")
        study.figure(f"{name}: E >= E_exact (4 stderr)", res.energy, exact,
                     4 * res.stderr + 1e-9 * math.fabs(exact), "lower",
                     "variational principle; Lanczos ground-state energy")
    return results
