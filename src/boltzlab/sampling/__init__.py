"""Samplers: block Gibbs for RBMs , annealing paths and parallel tempering."""

from .gibbs import PersistentChains, block_gibbs
from .path import RBMPath
from .tempering import ParallelTempering, geometric_ladder

__all__ = ["block_gibbs", "PersistentChains", "RBMPath", "ParallelTempering", "geometric_ladder"]
