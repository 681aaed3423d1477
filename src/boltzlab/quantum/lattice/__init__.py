"""Lattice spin systems for variational Monte Carlo with RBM wave functions.

* :mod:`.hamiltonians` - periodic chains and square lattices; transverse-field Ising and Heisenberg models.
* :mod:`.exact` - sparse Hamiltonian, Lanczos ground state, free-fermion TFIM energies, exact expectations.
* :mod:`.ansatz` - the :class:`SpinAnsatz` interface and the binary RBM state (real/complex, Marshall sign).
* :mod:`.sampler` - vectorised Metropolis chains with local and exchange moves (O(M) proposals).
* :mod:`.vmc` - the run settings and :class:`SpinVMC`, the driver of :mod:`boltzlab.quantum.vmc` with these parts.

See docs/vmc.md (section "Lattice spins").
"""

from .ansatz import RBMSpinState, SpinAnsatz, SymmetricRBMSpinState
from .exact import (Reference, all_configurations, exact_expectation, ground_state, heisenberg_chain_energy,
                    reference_energy, sparse_hamiltonian, tfim_chain_energy)
from .hamiltonians import Heisenberg, Lattice, SpinHamiltonian, TransverseFieldIsing, make_hamiltonian
from .sampler import MetropolisSpinSampler
from .vmc import SpinVMC, SpinVMCConfig

__all__ = ["Lattice", "SpinHamiltonian", "TransverseFieldIsing", "Heisenberg", "make_hamiltonian",
           "all_configurations", "exact_expectation", "ground_state", "sparse_hamiltonian", "tfim_chain_energy",
           "heisenberg_chain_energy", "reference_energy", "Reference",
           "SpinAnsatz", "RBMSpinState", "SymmetricRBMSpinState", "MetropolisSpinSampler", "SpinVMC", "SpinVMCConfig", "plot_history"]


def __getattr__(name: str):  # the figure lives with the others the analyses draw (matplotlib loaded on use)
    if name == "plot_history":
        from ...studies.report_plots import plot_history
        return plot_history
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
