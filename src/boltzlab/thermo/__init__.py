"""Stochastic thermodynamics of RBMs (Salazar, Phys. Rev. E 96, 022131 (2017)) made computable and checked:
exact transition matrices, detailed balance and P(Q) on small models (:mod:`.exact`), the sampled heat-exchange
fluctuation theorem (:func:`heat_exchange`), work protocols with Jarzynski and Crooks checks
(:func:`work_experiment`), equilibrium curves F, <E>, S, C against T (:func:`exact_curves`,
:func:`ais_curves`) and contrastive divergence as a process (:func:`exact_cd`).  The kernels on the joint
state live in :mod:`boltzlab.sampling.kernels`.
"""

from .cd import cd_along_run, exact_cd
from .curves import ais_curves, exact_curves
from .exact import (JointSpace, crooks_exact_check, detailed_balance, exact_delta_f, exact_joint_samples,
                    heat_distribution, time_reversal, transition_matrix, work_generating_function, xft_deviation)
from .protocols import (BetaRamp, Interpolation, ModelSequence, Protocol, run_checkpoints, sample_work,
                        scaled_copy)
from ..stats import fit_crooks, fit_xft, jarzynski
from .work import ais_work, endpoint_log_z, work_experiment
from .xft import HeatRun, XFTResult, heat_exchange

__all__ = [
    "JointSpace", "transition_matrix", "detailed_balance", "time_reversal", "heat_distribution", "xft_deviation",
    "work_generating_function", "crooks_exact_check", "exact_delta_f", "exact_joint_samples",
    "heat_exchange", "XFTResult", "HeatRun", "plot_xft", "plot_trace", "fit_xft", "fit_crooks", "jarzynski",
    "Protocol", "BetaRamp", "Interpolation", "ModelSequence", "run_checkpoints", "sample_work", "scaled_copy",
    "work_experiment", "ais_work", "endpoint_log_z", "plot_work",
    "exact_curves", "ais_curves", "plot_curves", "exact_cd", "cd_along_run", "plot_cd",
]

_FIGURES = ("plot_xft", "plot_trace", "plot_work", "plot_curves", "plot_cd")


def __getattr__(name: str):  # the figures live with the analyses that draw them (matplotlib loaded on use)
    if name in _FIGURES:
        from ..studies import report_plots
        return getattr(report_plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
