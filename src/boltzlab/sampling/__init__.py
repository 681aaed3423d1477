"""Samplers: block Gibbs for RBMs, annealing paths and the annealing loop, replica exchange."""

from .gibbs import PersistentChains, block_gibbs
from .kernels import (KERNELS, Kernel, PalindromicSweep, PlainSweep, RandomScan, VisibleChain, joint_energy,
                      make_kernel)
from .path import ModelPath, RBMPath, anneal, interpolate_models
from .replicas import ReplicaBatch, group_by_shape
from .tempering import Ladder, ParallelTempering, geometric_ladder

__all__ = ["block_gibbs", "PersistentChains", "RBMPath", "ModelPath", "anneal", "interpolate_models", "Ladder", "ParallelTempering", "geometric_ladder",
           "KERNELS", "Kernel", "PlainSweep", "PalindromicSweep", "RandomScan", "VisibleChain", "make_kernel",
           "joint_energy", "ReplicaBatch", "group_by_shape"]
