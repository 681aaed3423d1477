"""Energy functions built from unit types: RBMs of any layer pair and the fully visible BM.

Every model class registers itself in :attr:`EnergyModel.registry` (see :mod:`boltzlab.models.base`).
"""

from .base import EnergyModel, model_from_config
from .bm import BoltzmannMachine
from .rbm import RBM, BinaryRBM, SpinRBM, make_rbm
from .potts import PottsRBM

__all__ = ["EnergyModel", "BoltzmannMachine", "RBM", "BinaryRBM", "SpinRBM", "PottsRBM", "make_rbm",
           "model_from_config"]
