"""Partition functions: exact enumeration (annealed estimators follow)."""

from .exact import exact_log_likelihood, exact_log_prob, exact_log_z, visible_distribution

__all__ = ["exact_log_z", "exact_log_prob", "exact_log_likelihood", "visible_distribution"]
