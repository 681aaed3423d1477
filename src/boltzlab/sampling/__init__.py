"""Samplers: block Gibbs for RBMs (single-site Gibbs, Metropolis and tempering follow)."""

from .gibbs import PersistentChains, block_gibbs

__all__ = ["block_gibbs", "PersistentChains"]
