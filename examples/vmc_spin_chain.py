"""Variational Monte Carlo for a spin chain: an RBM wave function for the transverse-field Ising model.

    python examples/vmc_spin_chain.py --sites 20 --field 1.0
    python examples/vmc_spin_chain.py --model heisenberg --sites 12
    python examples/vmc_spin_chain.py --quick

The neural-network quantum state of Carleo & Troyer (Science 355, 602 (2017)): Psi(s) is the marginal of
an RBM with alpha * N hidden units, optimised by stochastic reconfiguration (Sorella, PRL 80, 4558 (1998)).
The reference is exact: free fermions for the TFIM chain (Pfeuty, Ann. Phys. 57, 79 (1970)) and the Bethe
ansatz for the Heisenberg chain, or Lanczos diagonalisation.  Writes ``energy.png`` and ``result.json``
into ``--out``.
"""

import argparse
import json
import tempfile
from pathlib import Path

from boltzlab.quantum import lattice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tfim", choices=["tfim", "heisenberg"])
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--field", type=float, default=1.0, help="transverse field h (TFIM)")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-spins-"))
    out.mkdir(parents=True, exist_ok=True)
    sites = 8 if args.quick else args.sites

    ham = lattice.make_hamiltonian(args.model, str(sites), field=args.field)
    reference = lattice.reference_energy(ham)
    heisenberg = args.model == "heisenberg"
    ansatz = lattice.RBMSpinState(sites, alpha=2 if heisenberg else 1, marshall=heisenberg,
                                  sublattice=ham.lattice.sublattice, seed=0)
    config = lattice.SpinVMCConfig(n_chains=200 if args.quick else 1000,
                                   iterations=40 if args.quick else args.iterations,
                                   move="exchange" if heisenberg else "local", eval_steps=20 if args.quick else 100,
                                   seed=0)
    vmc = lattice.SpinVMC(ham, ansatz, config, exact_energy=None if reference is None else reference.energy)
    vmc.run()
    est = vmc.estimate()
    plot = lattice.plot_history(vmc.history, out / "energy.png", None if reference is None else reference.energy)
    result = {"model": args.model, "sites": sites, "field": args.field, **est.to_dict(),
              "reference": None if reference is None else {"energy": reference.energy, "source": reference.source},
              "plot": str(plot)}
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    ref = "" if reference is None else f", reference {reference.energy:.6f} ({reference.source})"
    print(f"E = {est.energy:.6f} +- {est.stderr:.6f}{ref}; relative error {est.relative_error}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
