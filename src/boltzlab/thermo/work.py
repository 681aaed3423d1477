"""Jarzynski and Crooks checks of a work protocol, with Delta f exact or annealed (Salazar, Phys.
Rev. E 96, 022131 (2017)).

:func:`work_experiment` runs a protocol forward from p_{lambda_0} and backward from p_{lambda_K}
(:func:`~boltzlab.thermo.protocols.sample_work`), and compares

* Jarzynski: -ln <exp(-w_F)> and ln <exp(-w_R)> with Delta f = ln Z_0 - ln Z_K;
* Crooks: the slope of ln P_F(w) / P_R(-w) against w (1) and its offset (Delta f, estimated by Bennett's
  acceptance ratio);
* the second law: <w_F> >= Delta f and <w_R> >= -Delta f (the gaps are the dissipated work);

with Delta f from exact enumeration when the model is small, else from AIS on the two end points (each
ln Z = ``bl.ais_log_z`` of the model with its energy scaled by beta).  Small models also get the exact
generating-function check of :func:`~boltzlab.thermo.exact.crooks_exact_check`.

:func:`ais_work` is the AIS protocol itself (base -> model along the annealing path of
:mod:`boltzlab.sampling.path`, visible-marginal kernel): ``-ais_log_z(...).log_weights`` are its forward
works and ``-rais_log_z(..., estimator="lme").log_weights`` its reverse works, so the same checks apply,
and BAR on the pair gives a third estimate of ln Z between the forward (low) and reverse (high) ones.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ConfigError, IntractableError, require
from ..random import Rng
from ..sampling.kernels import describe_kernel, make_kernel
from .protocols import Protocol, default_init, sample_work, scaled_copy
from ..stats import fit_crooks, jarzynski

#: Largest joint state space (log2) for which :func:`work_experiment` adds the exact generating-function check.
EXACT_LOG2 = 16


def endpoint_log_z(model, beta: float, method: str = "auto", ais_runs: int | None = None, ais_betas: int = 10_000,
                   seed: int | None = 0) -> tuple[float, float, str]:
    """ln Z(beta) of ``model``: (value, standard error, method), exact when enumerable or AIS."""
    from ..partition import ais_log_z, exact_log_z
    require(method in ("auto", "exact", "ais"), f"unknown Delta f method {method!r}; expected auto, exact or ais")
    if float(beta) == 0:
        if not (model.visible.discrete and model.hidden.discrete):
            raise ConfigError("beta = 0 is the uniform distribution, which continuous units do not have")
        return float(model.visible.n_states_log2 + model.hidden.n_states_log2) * math.log(2), 0.0, "exact"
    if method in ("auto", "exact"):
        try:
            return exact_log_z(model, beta), 0.0, "exact"
        except IntractableError:
            if method == "exact":
                raise
    r = ais_log_z(scaled_copy(model, beta), ais_runs, ais_betas, seed=seed)
    return r.log_z, r.stderr, "ais"


def _checks(wf: Any, wr: Any, df: float, crooks: dict[str, Any]) -> dict[str, Any]:
    """Jarzynski both ways, Crooks and the second-law gaps of forward works ``wf`` and reverse works ``wr``."""
    fwd, rev = jarzynski(wf, df), jarzynski(wr, -df)
    return {"forward": fwd, "reverse": rev, "crooks": crooks,
            "second_law": {"forward_gap": fwd["mean_work"] - df, "reverse_gap": rev["mean_work"] + df}}


def work_experiment(protocol: Protocol, chains: int = 10_000, kernel: str = "palindromic", fraction: float = 1.0,
                    sweeps: int = 1, init: str | None = None, equilibrate: int = 1000, delta_f: str = "auto",
                    ais_runs: int | None = None, ais_betas: int = 10_000, batch_size: int | None = None,
                    seed: int | None = 0, progress: bool = False) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Forward and reverse works of ``protocol`` and the fluctuation-theorem checks; (result, w_F, w_R)."""
    t0 = time.perf_counter()
    m0, b0 = protocol.point(0)
    rng = Rng(seed, m0.device)
    init = init or default_init(m0)
    wf = sample_work(protocol, chains, kernel, fraction, sweeps, init, equilibrate, batch_size, rng=rng,
                     progress=progress)
    wr = sample_work(protocol.reversed(), chains, kernel, fraction, sweeps, init, equilibrate, batch_size, rng=rng,
                     progress=progress)
    z0 = endpoint_log_z(*protocol.point(0), delta_f, ais_runs, ais_betas, seed)
    zk = endpoint_log_z(*protocol.point(len(protocol) - 1), delta_f, ais_runs, ais_betas, seed)
    df = z0[0] - zk[0]
    df_se = math.hypot(z0[1], zk[1])
    k = make_kernel(kernel, m0, b0 if b0 > 0 else 1.0, fraction)
    res: dict[str, Any] = {
        "protocol": protocol.describe(), "kernel": describe_kernel(k), "sweeps_per_point": int(sweeps),
        "chains": int(chains), "init": init, "equilibrate": int(equilibrate) if init == "equilibrate" else None,
        "delta_f": df, "delta_f_stderr": df_se, "delta_f_method": z0[2] if z0[2] == zk[2] else f"{z0[2]}/{zk[2]}",
        **_checks(wf, wr, df, fit_crooks(wf, wr, df))}
    if not k.reversible:
        res["warning"] = (f"the {k.name} kernel is not reversible on (v, h): Crooks is not expected to hold "
                          "(Jarzynski still is)")
    if m0.visible.discrete and m0.hidden.discrete and m0.visible.n_states_log2 + m0.hidden.n_states_log2 <= EXACT_LOG2:
        from .exact import crooks_exact_check
        res["exact"] = crooks_exact_check(protocol, kernel, fraction, sweeps=sweeps)
    res["seconds"] = round(time.perf_counter() - t0, 3)
    return res, wf.numpy(), wr.numpy()


def ais_work(model, n_runs: int = 500, n_betas: int = 1000, base: str = "model", schedule: str = "sm08",
             data: Any = None, burn_in: int = 1000, delta_f: str = "auto", seed: int | None = 0,
             progress: bool = False) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The AIS path as a work protocol: forward works -ln w of ``ais_log_z``, reverse works -ln w_rev of
    ``rais_log_z`` from model chains (``burn_in`` sweeps), and the same checks as :func:`work_experiment`."""
    from ..partition import ais_log_z, exact_log_z, rais_log_z
    require(base != "samples", "the forward and reverse runs must share the path: use base model, uniform or data "
                               "(the 'samples' base is refitted on every call)")
    t0 = time.perf_counter()
    rng = Rng(seed, model.device)
    a = ais_log_z(model, n_runs, n_betas, schedule=schedule, base=base, data=data, progress=progress, rng=rng)
    r = rais_log_z(model, None, n_runs, n_betas, burn_in=burn_in, estimator="lme", schedule=schedule, base=base,
                   base_data=data, progress=progress, rng=rng)
    wf, wr = (-a.log_weights).numpy(), (-r.log_weights).numpy()
    exact = None
    if delta_f in ("auto", "exact"):
        try:
            exact = exact_log_z(model)
        except IntractableError:
            if delta_f == "exact":
                raise
    crooks = fit_crooks(wf, wr, None if exact is None else a.log_z_base - exact)
    df = a.log_z_base - exact if exact is not None else crooks["delta_f_bar"]
    res = {"protocol": {"kind": "ais", "points": int(n_betas), "base": a.base, "schedule": schedule},
           "kernel": {"name": "visible", "reversible": True, "space": "visible", "fraction": 1.0,
                      "label": "visible-marginal block Gibbs (the AIS transition)"},
           "chains": int(n_runs), "burn_in_reverse": int(burn_in), "log_z_base": a.log_z_base,
           "delta_f": df, "delta_f_stderr": 0.0 if exact is not None else crooks["delta_f_bar_stderr"],
           "delta_f_method": "exact" if exact is not None else "bar",
           "log_z": {"ais": a.log_z, "ais_stderr": a.stderr, "rais": r.log_z, "rais_stderr": r.stderr,
                     "bar": a.log_z_base - crooks["delta_f_bar"], "bar_stderr": crooks["delta_f_bar_stderr"],
                     "exact": exact},
           **_checks(wf, wr, df, crooks)}
    res["seconds"] = round(time.perf_counter() - t0, 3)
    return res, wf, wr
