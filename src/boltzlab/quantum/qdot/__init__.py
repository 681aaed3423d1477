"""Quantum dots: N particles in a D-dimensional harmonic trap with Coulomb repulsion, solved by VMC with
Gaussian-binary RBM, Pade-Jastrow and Slater-determinant wave functions
(Nordhagen et al., Frontiers in Physics 11 (2023); see docs/vmc.md)."""

from .ansatz import Ansatz, GaussianBinaryRBM, PadeJastrow, ProductAnsatz, default_spins
from .hamiltonian import HarmonicTrap
from .sampler import Sampler
from .slater import SlaterHermite, closed_shell_numbers, closed_shell_states, sherman_morrison_update
from .vmc import DMC_REFERENCE, PUBLISHED, Densities, QDotConfig, build_ansatz, build_vmc, run_qdot

__all__ = ["Ansatz", "GaussianBinaryRBM", "PadeJastrow", "ProductAnsatz", "SlaterHermite", "HarmonicTrap",
           "Sampler", "QDotConfig", "build_ansatz", "build_vmc", "Densities", "run_qdot", "closed_shell_states",
           "closed_shell_numbers", "sherman_morrison_update", "default_spins", "DMC_REFERENCE", "PUBLISHED"]
