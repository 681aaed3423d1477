"""Partition functions: exact enumeration, annealed importance sampling and reverse AIS."""

from .ais import AISResult, Bracket, ais_log_z, bracket, log_likelihood, rais_log_z
from .exact import count_distribution, exact_log_likelihood, exact_log_prob, exact_log_z, visible_distribution
from ..sampling.path import RBMPath
from .schedules import make_schedule, salakhutdinov_murray

__all__ = ["count_distribution", "exact_log_z", "exact_log_prob", "exact_log_likelihood", "visible_distribution", "ais_log_z",
           "rais_log_z", "bracket", "log_likelihood", "AISResult", "Bracket", "RBMPath", "make_schedule",
           "salakhutdinov_murray"]
