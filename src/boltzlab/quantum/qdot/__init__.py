"""Quantum dots: N particles in a D-dimensional harmonic trap with Coulomb repulsion, solved by VMC with
Gaussian-binary RBM, Pade-Jastrow and Slater-determinant wave functions
(../shared/papers/ml-for-quantum-many-body-talk.md; see docs/vmc.md)."""

from .ansatz import Ansatz, GaussianBinaryRBM, PadeJastrow, ProductAnsatz, default_spins
from .hamiltonian import HarmonicTrap
from .sampler import Sampler
from .slater import SlaterHermite, closed_shell_numbers, closed_shell_states, sherman_morrison_update
from .vmc import (DMC_REFERENCE, PUBLISHED, QDotConfig, build_ansatz, evaluate, load_checkpoint, optimize, run_qdot,
                  save_checkpoint)

__all__ = ["Ansatz", "GaussianBinaryRBM", "PadeJastrow", "ProductAnsatz", "SlaterHermite", "HarmonicTrap",
           "Sampler", "QDotConfig", "build_ansatz", "optimize", "evaluate", "run_qdot", "save_checkpoint",
           "load_checkpoint", "closed_shell_states", "closed_shell_numbers", "sherman_morrison_update",
           "default_spins", "DMC_REFERENCE", "PUBLISHED"]
