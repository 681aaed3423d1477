"""Annealed importance sampling (AIS) and reverse AIS estimates of ln Z, with honest error bars.

Forward AIS (Neal, Stat. Comput. 11, 125 (2001); Salakhutdinov & Murray, ICML 2008).  Draw v_1 ~ p_0, and for k = 1..K accumulate

    ln w += ln f_k(v_k) - ln f_{k-1}(v_k),      then v_{k+1} ~ T_k(v_k, .)

where T_k leaves p_k invariant.  Then E[w] = Z_K / Z_0, so ln Z = ln Z_0 + ln mean(w) is unbiased in Z and,
by Jensen, biased *low* in ln Z (a stochastic lower bound).  -ln w is the work of the protocol t_0 -> t_K
and E[w] = Z_K / Z_0 is the Jarzynski equality (Jarzynski, Phys. Rev. Lett. 78, 2690 (1997); Salazar,
Phys. Rev. E 96, 022131 (2017)).  The loop is :func:`boltzlab.sampling.path.anneal`.

Reverse AIS (Burda, Grosse & Salakhutdinov, AISTATS 2015), derived here from the forward construction.  Start from
v_K and run the reversals of the same kernels down the path: v_{k-1} ~ T~_{k-1}(v_k, .), with
T~_k(x' -> x) = T_k(x -> x') p_k(x) / p_k(x').  The ratio of the forward and reverse path densities is

    q_fwd / q_rev = (Z_K / Z_0) prod_{k=1..K} f_{k-1}(v_k) / f_k(v_k) =: (Z_K / Z_0) w_rev,

with the weight pair f_{k-1}/f_k evaluated at the state *before* the step down to k - 1.  Block Gibbs is
reversible on v, so T~_k = T_k.  Conditioning on the start v_K = v gives

    E[w_rev | v] = Z_0 p_ann(v) / f_K(v),

where p_ann is the distribution of the end state of forward AIS (p_ann -> p as the schedule refines).  Two
estimators follow:

* ``estimator="lme"`` (start states drawn from p itself, e.g. model-sampled chains): averaging over
  v ~ p gives E[w_rev] = Z_0 / Z_K, so ln Z ≈ ln Z_0 - ln mean(w_rev), biased *high* (Jensen).  The slip
  ln Z_0 + ln mean(1/w_rev) is not this estimator: E[1/w_rev] != Z_K / Z_0.
* ``estimator="raise"`` (start states from data, Burda et al.'s RAISE): f_K(v) w_rev / Z_0 is an unbiased
  estimate of p_ann(v) for every start v, so ln p(v) ≈ -F(v) + ln w_rev - ln Z_0 is a stochastic *lower*
  bound on ln p_ann(v) at every data point.  The matching ln Z is ln Z_0 - mean(ln w_rev), the mean of
  logs; it exceeds the exact ln Z on average by the Jensen gap plus E_data[ln p(v) - ln p_ann(v)], which is
  positive when the data resemble the model (exactly so for samples of p, where it is KL(p || p_ann)) and
  vanishes as p_ann -> p.  For data unlike the model and a coarse schedule it can be negative, so read it
  as a bound only for a model evaluated on data like its training data.  With such data the log-mean-exp
  is biased in no known direction (on an MNIST-trained 784x20 RBM it lands 0.2 nats *below* the exact
  ln Z, while the mean of logs lands 0.2 above), which is why data-initialised chains use RAISE by
  default.

Both slips are caught by tests against exact enumeration.

Standard error (both directions): the delta method on the log of a mean, se = std(w) / (mean(w) sqrt(n)),
computed from log weights without overflow.  It is honest when the effective sample size
ESS = (sum w)^2 / sum w^2 is not tiny; the result reports the ESS so that users can judge.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._tensor import as_tensor
from ..data.stream import streamed_rows
from ..errors import ConfigError, require
from ..random import Rng
from ..sampling.path import RBMPath, anneal
from ..stats import log_mean_exp
from .schedules import SCHEDULES, make_schedule, salakhutdinov_murray, thermodynamic_schedule

PRESETS = ("salakhutdinov-murray",)
PILOT_RUNS = 100
TARGET_STDERR = 0.03
MAX_RUNS = 1000


def runs_needed(n: int, stderr: float, target: float, max_runs: int) -> int:
    """Runs for a standard error of ``target``, from ``n`` runs that gave ``stderr``; within [n, max_runs].

    The delta-method error falls as 1/sqrt(runs), so n (stderr / target)^2 runs reach the target.  The
    default target, 0.03 nats, puts 0.1 nats at more than three standard errors: on an MNIST-trained
    784x20 RBM, whose 100-run error is about 0.1 nats, 100 runs land within 0.1 nats of the exact ln Z
    only 65% of the time, 1,000 runs every time (benchmarks/ais_accuracy.py).
    """
    if not math.isfinite(stderr):
        return max(n, int(max_runs))
    return int(min(max(n, math.ceil(n * (stderr / target) ** 2)), max(n, int(max_runs))))


@dataclass
class AISResult:
    """An annealed estimate of ln Z.

    Attributes
    ----------
    log_z, stderr : the estimate and its standard error (delta method).
    log_weights : float64 tensor (n_runs,), on the CPU: ln w for forward AIS, ln w_rev for reverse AIS.
        For forward AIS, -log_weights is the work (in units of kT) of each annealing run.
    log_z_base : ln Z_0 of the base model.
    ess : effective sample size (sum w)^2 / sum w^2 of the importance weights.
    method : "ais" or "rais".
    betas : the schedule t_0..t_K (NumPy float64).
    """

    log_z: float
    stderr: float
    log_weights: torch.Tensor
    log_z_base: float
    ess: float
    method: str
    betas: np.ndarray
    base: str
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return int(self.log_weights.numel())

    @property
    def n_betas(self) -> int:
        return len(self.betas)

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain Python values (for JSON); log weights included."""
        return {"log_z": self.log_z, "stderr": self.stderr, "method": self.method, "ess": self.ess,
                "n_runs": self.n_runs, "n_betas": self.n_betas, "base": self.base,
                "log_z_base": self.log_z_base, "seconds": round(self.seconds, 4),
                "log_weights": self.log_weights.tolist(), **self.extra}


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, desc=desc, unit="step", mininterval=0.5, miniters=100,
                leave=False)


def _resolve(model, n_runs: int, n_betas: int, schedule: str, base: str | None, data: Any, preset: str | None,
             rng: Rng) -> tuple[RBMPath, int, np.ndarray, dict[str, Any]]:
    """Apply a preset, build the path and the schedule; returns (path, n_runs, betas, extra results)."""
    pseudocount = None
    betas = None
    if preset is not None:
        require(preset in PRESETS, f"unknown AIS preset {preset!r}; expected one of {', '.join(PRESETS)}")
        require(data is not None, "the salakhutdinov-murray preset fits its base-rate model to data; pass data")
        base, pseudocount, schedule = "data", 5.0, "sm08"
        betas = salakhutdinov_murray()
    if base is None:
        base = "data" if data is not None else "samples"
    require(schedule in SCHEDULES, f"unknown schedule {schedule!r}; expected one of {', '.join(SCHEDULES)}")
    require(int(n_runs) >= 2, f"AIS needs at least 2 runs for an error bar, got n_runs={n_runs}")
    if betas is None and schedule != "adaptive":
        betas = make_schedule(schedule, n_betas)
    elif betas is None and int(n_betas) < 2:
        raise ConfigError(f"an annealing schedule needs at least 2 intermediate distributions, got {n_betas}")
    path = RBMPath(model, base=base, data=data, pseudocount=pseudocount, rng=rng)
    extra: dict[str, Any] = {"schedule": "salakhutdinov-murray" if preset else schedule}
    if betas is None:
        betas, info = _adaptive_betas(path, n_betas, rng)
        extra.update(info)
    return path, int(n_runs), betas, extra


def _chunks(n: int, size: int | None) -> list[int]:
    size = n if size is None else max(1, int(size))
    return [min(size, n - i) for i in range(0, n, size)]


def _adaptive_betas(path: RBMPath, n_betas: int, rng: Rng, n_pilot: int = 64) -> tuple[np.ndarray, dict]:
    """Pilot run on an sm08 grid of max(200, n_betas / 10) points; measure sigma(t); equalise length."""
    pilot = make_schedule("sm08", max(200, int(n_betas) // 10))
    probe_idx = np.unique(np.linspace(1, len(pilot) - 1, 100).astype(int))
    sig: list[float] = []
    probe_at = {int(i) for i in probe_idx}

    def probe(k: int, log_w: torch.Tensor, v: torch.Tensor, s: Any) -> None:
        """The self-normalised weighted standard deviation of d ln f_t / dt at t_k."""
        if k in probe_at:
            t, eps = float(pilot[k]), 1e-6
            slope = (path.log_f(s, min(t + eps, 1.0)) - path.log_f(s, max(t - eps, 0.0))) / (
                min(t + eps, 1.0) - max(t - eps, 0.0))
            p = torch.softmax(log_w, 0)
            mu = (p * slope).sum()
            sig.append(float(torch.sqrt((p * (slope - mu) ** 2).sum())))

    anneal(path, path.sample_base(n_pilot, rng), pilot, rng, record=probe)
    t_grid = np.concatenate([[0.0], pilot[probe_idx]])
    sigma = np.concatenate([[sig[0]], sig])
    return thermodynamic_schedule(t_grid, sigma, n_betas), {"pilot_betas": len(pilot), "pilot_runs": n_pilot}


def ais_log_z(model, n_runs: int | None = None, n_betas: int = 10_000, seed: int | None = None, *,
              target_stderr: float = TARGET_STDERR, max_runs: int = MAX_RUNS,
              schedule: str = "sm08", base: str | None = None, data: Any = None, preset: str | None = None,
              batch_size: int | None = None, progress: bool = False, rng: Rng | None = None) -> AISResult:
    """Forward AIS estimate of ln Z of an RBM (a stochastic lower bound; see the module docstring).

    Parameters
    ----------
    model : RBM of any unit types.
    n_runs : independent annealing runs (run in parallel, ``batch_size`` at a time to bound memory).
        ``None`` (default) sizes the run to an accuracy instead: a pilot of 100 runs, then as many more as
        its standard error says are needed to reach ``target_stderr``, re-estimated after each round, at
        most ``max_runs`` in all (see :func:`runs_needed`).  A warning says when the cap leaves the error above the target.
    target_stderr, max_runs : the accuracy and the cap of the automatic run count.
    n_betas : number of distributions t_0 = 0 < ... < t_K = 1 on the path (K = n_betas - 1 transitions).
    seed : seed of the random stream (or pass ``rng``).
    schedule : "sm08" (default), "linear", "geometric" or "adaptive" (see :mod:`.schedules`).
    base : "samples", "model", "data" or "uniform" (see :mod:`boltzlab.sampling.path`); default "data" when
        data are given, else "samples" (base rate of 1,000 short Gibbs chains of the model).
    data : data for the base-rate model.
    preset : "salakhutdinov-murray": base rate p = (count + 5) / (N + 5) from ``data``, 100 runs unless
        given otherwise, and their exact 14,501-point schedule (``n_betas`` and ``schedule`` ignored).
    progress : show a progress bar.
    """
    t0 = time.perf_counter()
    rng = rng if rng is not None else Rng(seed, model.device)
    auto = n_runs is None and preset is None
    if auto and not (float(target_stderr) > 0 and int(max_runs) >= 2):
        raise ConfigError(f"automatic AIS sizing needs target_stderr > 0 and max_runs >= 2; got "
                          f"target_stderr={target_stderr}, max_runs={max_runs}")
    first = (min(PILOT_RUNS, int(max_runs)) if auto else 100) if n_runs is None else n_runs
    path, first, betas, extra = _resolve(model, first, n_betas, schedule, base, data, preset, rng)
    steps = len(betas) - 1

    def run(n: int, bar) -> list[torch.Tensor]:
        return [anneal(path, path.sample_base(size, rng), betas, rng, bar=bar).cpu() for size in _chunks(n, batch_size)]

    with _progress(len(_chunks(first, batch_size)) * steps, progress, "AIS") as bar:
        parts = run(first, bar)
        done = first
        # The error of a small sample of heavy-tailed weights is itself noisy, so re-estimate it after each
        # round and go on while it is above the target and the cap allows.
        while auto and done < int(max_runs):
            _, se, _ = log_mean_exp(torch.cat(parts))
            more = runs_needed(done, se, float(target_stderr), int(max_runs)) - done
            if more <= 0:
                break
            bar.total += len(_chunks(more, batch_size)) * steps
            bar.refresh()
            parts += run(more, bar)
            done += more
    log_w = torch.cat(parts)
    lme, se, ess = log_mean_exp(log_w)
    if auto:
        extra.update(sizing="auto", target_stderr=float(target_stderr), max_runs=int(max_runs))
        if se > target_stderr and log_w.numel() >= int(max_runs):
            warnings.warn(f"AIS standard error {se:.3g} is above the target {target_stderr:g} after the "
                          f"maximum of {log_w.numel()} runs; raise max_runs or n_betas", RuntimeWarning,
                          stacklevel=2)
    return AISResult(path.log_z_base + lme, se, log_w, path.log_z_base, ess, "ais", betas, path.base,
                     time.perf_counter() - t0, extra)


def _split_starts(model, data: Any, n_runs: int, rng: Rng) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n_runs`` start rows of ``data`` and the rows left over (None if fewer than ``n_runs`` remain).

    The base model must not be fitted to the start states themselves: that couples the two and biases
    the estimate (measurably, about -0.007 nats on a 10x6 spin RBM with exact-sample starts).
    """
    x = model.visible_tensor(data, "data")
    n = x.shape[0]
    if n >= 2 * n_runs:
        perm = rng.permutation(n).to(x.device)
        return x[perm[:n_runs]].clone(), x[perm[n_runs:]]
    idx = rng.permutation(n)[:n_runs] if n >= n_runs else rng.integers(n, (n_runs,))
    return x[idx.to(x.device)].clone(), None


def rais_log_z(model, data: Any = None, n_runs: int = 100, n_betas: int = 10_000, seed: int | None = None, *,
               burn_in: int | None = None, estimator: str | None = None, schedule: str = "sm08",
               base: str | None = None, base_data: Any = None, preset: str | None = None,
               batch_size: int | None = None, progress: bool = False, rng: Rng | None = None) -> AISResult:
    """Reverse AIS estimate of ln Z (an upper estimate; see the module docstring for when it is a bound).

    Parameters
    ----------
    data : start states of the reverse chains: ``n_runs`` rows are drawn from it (without replacement when
        there are enough).  ``None`` starts from random states.
    burn_in : block-Gibbs sweeps at the target before annealing down ("model-sampled" chains).  Default 0
        with data (data-initialised chains) and 1,000 without.
    estimator : "raise" (mean of ln w_rev) or "lme" (log-mean-exp).  Default "raise" for data-initialised
        chains (data given, no burn-in), else "lme".
    base, base_data : the base model.  By default the base rate of ``base_data`` if given, else of the rows
        of ``data`` not used as start states (when at least ``n_runs`` remain), else "samples".

    Notes
    -----
    The other parameters are those of :func:`ais_log_z`.
    """
    t0 = time.perf_counter()
    rng = rng if rng is not None else Rng(seed, model.device)
    starts, rest = (None, None) if data is None else _split_starts(model, data, int(n_runs), rng)
    fit = base_data if base_data is not None else rest
    if base is None and fit is None:
        base = "samples"
    path, n_runs, betas, extra = _resolve(model, n_runs, n_betas, schedule, base, fit, preset, rng)
    if burn_in is None:
        burn_in = 0 if data is not None else 1000
    require(int(burn_in) >= 0, f"burn_in must be >= 0, got {burn_in}")
    if estimator is None:
        estimator = "raise" if data is not None and not burn_in else "lme"
    require(estimator in ("raise", "lme"), f"unknown reverse-AIS estimator {estimator!r}; expected 'raise' or 'lme'")
    extra.update(burn_in=int(burn_in), init="data" if data is not None else "random", estimator=estimator)
    parts = []
    reverse = betas[::-1].copy()
    done = 0
    with _progress(len(_chunks(n_runs, batch_size)) * (len(betas) - 1), progress, "reverse AIS") as bar:
        for size in _chunks(n_runs, batch_size):
            if starts is not None:
                v = starts[done:done + size]
            else:
                v = model.visible.random_state(size, rng)
            done += size
            if burn_in:
                v = model.sample_chains(v, int(burn_in), 1.0, rng)
            parts.append(anneal(path, v, reverse, rng, bar=bar).cpu())
    log_w = torch.cat(parts)
    lme, se, ess = log_mean_exp(log_w)
    if estimator == "raise":
        lme, se = float(log_w.mean()), float(log_w.std(unbiased=True)) / math.sqrt(log_w.numel())
    return AISResult(path.log_z_base - lme, se, log_w, path.log_z_base, ess, "rais", betas, path.base,
                     time.perf_counter() - t0, extra)


@dataclass
class Bracket:
    """Forward and reverse AIS together: on average ``ais.log_z <= ln Z <= rais.log_z``."""

    ais: AISResult
    rais: AISResult

    @property
    def lower(self) -> float:
        return self.ais.log_z

    @property
    def upper(self) -> float:
        return self.rais.log_z

    def to_dict(self) -> dict[str, Any]:
        a, r = self.ais.to_dict(), self.rais.to_dict()
        a.pop("log_weights"), r.pop("log_weights")
        return {"lower": self.lower, "upper": self.upper, "ais": a, "rais": r}


def bracket(model, data: Any = None, n_runs: int | None = None, n_betas: int = 10_000, seed: int | None = None,
            **kwargs: Any) -> Bracket:
    """Run :func:`ais_log_z` and :func:`rais_log_z` with the same path and schedule settings.

    ``n_runs=None``: forward AIS sizes itself (``target_stderr``, ``max_runs``), reverse AIS makes 100 runs.
    """
    rng = Rng(seed, model.device)
    reverse = {k: kwargs.pop(k) for k in ("burn_in", "estimator") if k in kwargs}
    forward = {k: kwargs.pop(k) for k in ("target_stderr", "max_runs") if k in kwargs}
    a = ais_log_z(model, n_runs, n_betas, rng=rng, data=data, **forward, **kwargs)
    r = rais_log_z(model, data, PILOT_RUNS if n_runs is None else n_runs, n_betas, rng=rng, **reverse, **kwargs)
    return Bracket(a, r)


def log_likelihood(model, data: Any, log_z: AISResult | float, stderr: float = 0.0) -> tuple[float, float]:
    """Mean ln p(v) over ``data`` and its standard error.

    The error combines the sampling error of the mean free energy over the data with the error of ln Z
    (``log_z.stderr`` for an annealed estimate, or ``stderr`` with a float).  ``data`` may be larger than
    memory (a ``torch.utils.data`` Dataset or DataLoader, or a memory map): it is read 4,096 rows at a time.
    """
    if isinstance(log_z, AISResult):
        log_z, stderr = log_z.log_z, log_z.stderr
    rows = streamed_rows(data, dtype=model.dtype, device=model.device)
    if rows is None:
        x = model.visible_tensor(as_tensor(data, dtype=model.dtype, device=model.device, name="data"), "data")
        chunks = (x[i:i + 4096] for i in range(0, x.shape[0], 4096))
    else:
        chunks = rows.chunks(4096)
    with torch.no_grad():
        f = torch.cat([model.free_energy(chunk).double() for chunk in chunks])
    n = f.numel()
    sem = float(f.std(unbiased=True)) / math.sqrt(n) if n > 1 else 0.0
    return float(-f.mean()) - float(log_z), math.sqrt(sem * sem + float(stderr) ** 2)
