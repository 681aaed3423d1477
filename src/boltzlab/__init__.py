"""boltzlab: energy-based models studied as physical systems.

Quick tour::

    import boltzlab as bl
    rbm = bl.BinaryRBM(weights=W, visible_bias=a, hidden_bias=b)   # W: (n_visible, n_hidden)
    rbm.energy(v, h); rbm.free_energy(v)
    v, h = rbm.sample(1000, steps=100, beta=1.0, seed=0)
    bl.exact_log_z(rbm)                                            # small models
    r = bl.ais_log_z(rbm, n_runs=100, n_betas=10_000, seed=0)       # r.log_z, r.stderr, r.log_weights
    model = bl.load_model("run/checkpoint.pt")                     # or an .npz
"""

from . import _startup

_startup.install()  # the boltzlab command only: a signal while importing ends it in one line

from . import partition, sampling, stats, units
from .errors import (BoltzlabError, CheckpointError, ConfigError, DataError, DomainError, IntractableError,
                     ShapeError)
from .io import load_model, save_model
from .models import RBM, BinaryRBM, BoltzmannMachine, EnergyModel, SpinRBM, make_rbm
from .models import PottsRBM
from .data.alignment import read_alignment, sequence_weights
from .partition import (ais_log_z, bracket, exact_log_likelihood, exact_log_prob, exact_log_z, log_likelihood,
                        rais_log_z, visible_distribution)
from .random import Rng
from .sampling import block_gibbs
from . import theory
from . import reciprocal
from . import thermo
from .sampling.trajectory import TrajectoryTempering, load_trajectory, select_models, trajectory_log_z
from .partition.pseudolikelihood import fit_pseudolikelihood, pseudo_log_likelihood
from .training.lowrank import fit_lowrank, lowrank_rbm
from . import field
from .field import ScalarFieldRBM
from . import quantum
from . import interchange
from .interchange import from_sklearn, load_rbms

__version__ = "0.1.0"

__all__ = [
    "PottsRBM", "read_alignment", "sequence_weights",
    "units", "sampling", "partition", "load_model", "save_model", "make_rbm", "RBM", "BinaryRBM", "SpinRBM", "EnergyModel", "Rng", "block_gibbs",
    "exact_log_z", "exact_log_prob", "exact_log_likelihood", "visible_distribution", "ais_log_z", "rais_log_z",
    "bracket", "log_likelihood",
    "BoltzmannMachine", "theory",
    "reciprocal",
    "thermo",
    "TrajectoryTempering", "load_trajectory", "select_models", "trajectory_log_z", "pseudo_log_likelihood",
    "fit_pseudolikelihood", "fit_lowrank", "lowrank_rbm",
    "field", "ScalarFieldRBM",
    "quantum",
    "interchange", "from_sklearn", "load_rbms",
    "BoltzlabError", "CheckpointError", "ConfigError", "DataError", "DomainError", "IntractableError",
    "ShapeError",
]
