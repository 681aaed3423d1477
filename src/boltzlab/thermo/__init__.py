"""Stochastic thermodynamics of RBMs (Salazar, Phys. Rev. E 96, 022131 (2017)) made
computable and checked (docs/thermodynamics.md).

Quick tour::

    import boltzlab as bl
    from boltzlab import thermo
    T, p = thermo.transition_matrix(rbm, "palindromic", beta=1.0, steps=2)    # exact, small models
    thermo.detailed_balance(T, p)                                            # max log flux ratio ...
    q, P = thermo.heat_distribution(rbm, 1.0, 0.5, "plain")                  # exact P(Q); XFT fails here
    r = thermo.heat_exchange(model, t1=1, t2=[2, 1.5], chains=100_000)       # sampled XFT, slope +- error
    proto = thermo.BetaRamp.linear(rbm, 0.5, 1.0, steps=10)                  # or Interpolation, ModelSequence
    res, wf, wr = thermo.work_experiment(proto, chains=20_000)               # Jarzynski, Crooks, BAR
    thermo.exact_curves(rbm, betas); thermo.ais_curves(model, betas)         # F, <E>, S, C vs T
    thermo.exact_cd(rbm, data, steps=[1, 5])                                 # CD_n = Delta S - beta <Q>

Kernels on the joint state (plain, palindromic, random-scan, visible) live in
:mod:`boltzlab.sampling.kernels`.
"""

from .cd import cd_along_run, exact_cd, plot_cd
from .curves import ais_curves, exact_curves, plot_curves
from .exact import (JointSpace, crooks_exact_check, detailed_balance, exact_delta_f, exact_joint_samples,
                    heat_distribution, time_reversal, transition_matrix, work_generating_function, xft_deviation)
from .protocols import (BetaRamp, Interpolation, ModelSequence, Protocol, run_checkpoints, sample_work,
                        scaled_copy)
from ..stats import fit_crooks, fit_xft, jarzynski
from .work import ais_work, endpoint_log_z, plot_work, work_experiment
from .xft import HeatRun, XFTResult, heat_exchange, plot_trace, plot_xft

__all__ = [
    "JointSpace", "transition_matrix", "detailed_balance", "time_reversal", "heat_distribution", "xft_deviation",
    "work_generating_function", "crooks_exact_check", "exact_delta_f", "exact_joint_samples",
    "heat_exchange", "XFTResult", "HeatRun", "plot_xft", "plot_trace", "fit_xft", "fit_crooks", "jarzynski",
    "Protocol", "BetaRamp", "Interpolation", "ModelSequence", "run_checkpoints", "sample_work", "scaled_copy",
    "work_experiment", "ais_work", "endpoint_log_z", "plot_work",
    "exact_curves", "ais_curves", "plot_curves", "exact_cd", "cd_along_run", "plot_cd",
]
