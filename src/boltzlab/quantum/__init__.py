"""Neural-network quantum states: variational Monte Carlo with RBM wave functions (Carleo & Troyer, Science 355,
602 (2017)).

* :mod:`boltzlab.quantum.vmc` - the one VMC driver (sampler, local energy and ansatz plugged in).
* :mod:`boltzlab.quantum.optim` - the energy gradient and stochastic reconfiguration, a preconditioner for any
  ``torch.optim`` optimiser.
* ``stats`` - :mod:`boltzlab.stats` (blocking standard errors of correlated chains, ``below_exact``).
* :mod:`boltzlab.quantum.qdot` - particles in continuous space (harmonic trap, Coulomb), Gaussian-binary
  RBM, Pade-Jastrow and Slater-determinant wave functions, Metropolis / importance samplers.
* :mod:`boltzlab.quantum.lattice` - lattice spin models (exact references, RBM spin states, Metropolis chains).
"""

from .. import stats
from . import lattice, optim, qdot, vmc
from .optim import StochasticReconfiguration, ToleranceStop, energy_gradient, make_optimizer
from ..stats import BlockingResult, below_exact, blocking
from .vmc import VMC, Estimate

__all__ = ["stats", "optim", "vmc", "qdot", "lattice", "blocking", "below_exact", "BlockingResult", "VMC",
           "Estimate", "StochasticReconfiguration", "ToleranceStop", "energy_gradient", "make_optimizer"]
