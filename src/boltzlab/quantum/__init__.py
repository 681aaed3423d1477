"""Neural-network quantum states: variational Monte Carlo with RBM wave functions.

../shared/papers/ml-for-quantum-many-body-talk.md ("Representing the wave function": |Psi(X)|^2 = P_rbm(X);
"Define the cost function": the energy gradient).  Subpackages:

* ``stats`` - :mod:`boltzlab.stats` (blocking standard errors of correlated chains, ``below_exact``).
* :mod:`boltzlab.quantum.optim` - SGD, Adam, stochastic reconfiguration, schedules, tolerance stop.
* :mod:`boltzlab.quantum.qdot` - particles in continuous space (harmonic trap, Coulomb), Gaussian-binary
  RBM, Pade-Jastrow and Slater-determinant wave functions, Metropolis / importance samplers, VMC driver.
* :mod:`boltzlab.quantum.lattice` - lattice spin chains (exact diagonalisation, RBM spin states, SR).
"""

from .. import stats
from . import lattice, optim, qdot
from .optim import SGD, Adam, StochasticReconfiguration, ToleranceStop, energy_gradient
from ..stats import BlockingResult, below_exact, blocking

__all__ = ["stats", "optim", "qdot", "lattice", "blocking", "below_exact", "BlockingResult", "SGD", "Adam",
           "StochasticReconfiguration", "ToleranceStop", "energy_gradient"]
