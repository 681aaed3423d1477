"""The heat-exchange experiment exactly as section 3.3 of the nonequilibrium-thermodynamics paper describes it.

Source: D. Salazar, "Nonequilibrium thermodynamics of restricted Boltzmann machines", PRE 96, 022131 (2017),
sec. 3.2-3.3: an ensemble in equilibrium at T1, one Gibbs step at T2 from each state, the heat Q = E(s') - E(s), and
ln P(Q)/P(-Q) = (beta_1 - beta_2) Q.

What this module adds to :func:`boltzlab.thermo.heat_exchange` (which runs the gentle process):

* :func:`tempered_ensemble`: the T1 ensemble prepared by parallel tempering
  (:class:`boltzlab.sampling.ParallelTempering`, a ladder from ``beta_min`` to beta_1) instead of sweeps from
  random starts, and **verified**: every chain's energy is averaged over two consecutive windows at the end of
  the run, and the difference of the window means, with its standard error over chains (independent chains,
  so the error is exact up to the within-window correlation, which the per-chain average absorbs), must be
  within ``3`` errors of zero.  The energy is E(v, <h>_v), the conditional mean over h (E is linear in h),
  which has the same mean as E(v, h) with less noise.
* :func:`full_step_heat`: the paper's step, one full Gibbs step of every unit at T2, from the ensemble's
  states with h ~ p_1(h | v): "plain" as the paper writes it (h | v then v | h; not reversible on (v, h), so
  the relation is not expected to hold exactly) and "palindromic" (the reversible full step, for which it
  must hold), and :func:`overlap`, which says whether P(Q) and P(-Q) overlap enough to measure their ratio,
  and how many chains that would take.
* :func:`paper_protocol`: both, with the gentle process (``heat_exchange`` on the same ensemble) beside them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from scipy import stats as sstats

from ..errors import ConfigError
from ..partition.ais import _chunks
from ..random import Rng
from ..sampling.kernels import hidden_draw, joint_energy, make_kernel
from ..sampling.tempering import ParallelTempering, geometric_ladder
from ..stats import fit_xft
from ..thermo.protocols import scaled_copy
from ..thermo.xft import CPU_BATCH, CUDA_BATCH, heat_exchange

#: Minority-sign samples needed for a usable slope (the fit refuses fewer than 10; 100 gives ~10-20%).
MINORITY_TARGET = 100
STATIONARITY_Z = 3.0
PAPER_KERNELS = ("plain", "palindromic")


@dataclass
class Ensemble:
    """A verified equilibrium ensemble at T1: visible states, per-chain energies and the stationarity check."""

    t1: float
    v: torch.Tensor = field(repr=False)
    energy: np.ndarray = field(repr=False)
    sweeps: int
    betas: list[float]
    acceptance: list[float]
    round_trips: int
    trace: dict[str, list[float]]
    stationarity: dict[str, float]

    @property
    def chains(self) -> int:
        return int(self.v.shape[0])

    @property
    def stationary(self) -> bool:
        return abs(self.stationarity["z"]) <= STATIONARITY_Z

    def to_dict(self) -> dict[str, Any]:
        e = self.energy
        return {"t1": self.t1, "chains": self.chains, "sweeps": self.sweeps, "ladder": self.betas,
                "acceptance": self.acceptance, "round_trips": self.round_trips,
                "mean_energy": float(e.mean()), "mean_energy_stderr": float(e.std() / math.sqrt(len(e))),
                "std_energy": float(e.std()), "trace": self.trace, "stationarity": self.stationarity,
                "stationary": self.stationary}


def _mean_energy(model: Any, v: torch.Tensor, beta: float) -> torch.Tensor:
    return joint_energy(model, v, model.mean_hidden(v, beta).detach())


@torch.no_grad()
def tempered_ensemble(model: Any, chains: int, t1: float = 1.0, *, replicas: int = 8, beta_min: float = 0.5,
                      sweeps: int = 300, batch_size: int | None = None, seed: int | None = None,
                      rng: Rng | None = None, progress: bool = False) -> Ensemble:
    """``chains`` states at T1 from parallel tempering, with the energy-stationarity check of the module docstring.

    The ladder is geometric from ``beta_min`` to 1 on the model scaled to beta_1 (so its rungs are the
    inverse temperatures beta_min beta_1 ... beta_1).  The windows are sweeps [S/2, 3S/4) and [3S/4, S).
    """
    if not t1 > 0:
        raise ConfigError(f"T1 must be positive; got {t1}")
    if int(chains) < 2 or int(sweeps) < 4:
        raise ConfigError(f"need at least 2 chains and 4 sweeps; got {chains} and {sweeps}")
    geometric_ladder(replicas, beta_min)   # validates the ladder
    beta1 = 1.0 / float(t1)
    scaled = scaled_copy(model, beta1)
    rng = rng if rng is not None else Rng(seed, model.device)
    size = int(batch_size or (CUDA_BATCH if model.device.type == "cuda" else CPU_BATCH))
    s = int(sweeps)
    w1, w2 = s // 2, (3 * s) // 4
    points = sorted({0, *np.unique(np.geomspace(1, s, 16).astype(int)).tolist(), s})
    trace_sum = np.zeros(len(points))
    vs, energies, diffs = [], [], []
    acc = np.zeros(replicas - 1)
    trips = 0
    from tqdm.auto import tqdm
    bar = tqdm(total=int(chains) * s, disable=not progress, desc="tempering", unit="chain-sweep", leave=False)
    for n in _chunks(int(chains), size):
        pt = ParallelTempering(scaled, n, n_replicas=replicas, beta_min=beta_min, rng=rng)
        sum1 = torch.zeros(n, dtype=torch.float64, device=model.device)
        sum2 = torch.zeros_like(sum1)
        for step in range(s + 1):
            if step:
                pt.step()
                bar.update(n)
            if step in points or step >= w1:
                e = _mean_energy(model, pt.samples, beta1)
                if step in points:
                    trace_sum[points.index(step)] += float(e.sum())
                if w1 <= step < w2:
                    sum1 += e
                elif step >= w2:
                    sum2 += e
        diffs.append((sum2 / (s + 1 - w2) - sum1 / (w2 - w1)).cpu().numpy())
        energies.append(e.cpu().numpy())
        vs.append(pt.samples.clone())
        acc += pt.acceptance * n
        trips += pt.round_trips
    bar.close()
    d = np.concatenate(diffs)
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    stationarity = {"window_1": [w1, w2], "window_2": [w2, s], "difference": float(d.mean()), "stderr": se,
                    "z": float(d.mean() / se) if se > 0 else 0.0}
    trace = {"sweeps": points, "mean_energy": (trace_sum / int(chains)).tolist()}
    return Ensemble(float(t1), torch.cat(vs), np.concatenate(energies), s,
                    (geometric_ladder(replicas, beta_min) * beta1).tolist(), (acc / int(chains)).tolist(), trips,
                    trace, stationarity)


def overlap(q: np.ndarray, expected_slope: float, relative_error: float = 0.05,
            minority_target: int = MINORITY_TARGET) -> dict[str, Any]:
    """Whether ln P(Q)/P(-Q) can be measured from the heat samples ``q``, and with how many chains.

    The minority sign is the one the relation makes rarer (Q < 0 when beta_1 > beta_2).  Reported: its
    count and fraction; the Gaussian estimate Phi(-|<Q>|/std Q) of that fraction from the sample's own mean and
    spread (usable where no minority sample was seen); the chains needed to see ``minority_target``
    minority values; the fitted slope; and, when a slope was fitted, the chains needed for a
    ``relative_error`` on it (its error falls as 1/sqrt(chains)).
    """
    q = np.asarray(q, dtype=float)
    fit = fit_xft(q, expected_slope)
    minority = int(fit["n_negative"] if expected_slope >= 0 else fit["n_positive"])
    mean, std = float(q.mean()), float(q.std())
    gauss = float(sstats.norm.sf(abs(mean) / std)) if std > 0 else 0.0
    frac = minority / len(q)
    p = frac if minority >= 10 else gauss
    out = {"chains": int(len(q)), "mean_q": mean, "std_q": std, "minority": minority, "minority_fraction": frac,
           "minority_fraction_gaussian": gauss, "z_mean_over_std": abs(mean) / std if std > 0 else math.inf,
           "chains_for_minority_target": math.ceil(minority_target / p) if p > 0 else math.inf,
           "minority_target": minority_target, "slope": fit["slope"], "slope_stderr": fit["slope_stderr"],
           "expected_slope": float(expected_slope), "measurable": fit["slope"] is not None}
    if fit["slope"] is not None and expected_slope != 0:
        out["relative_error"] = fit["slope"] / expected_slope - 1.0
        out["z"] = (fit["slope"] - expected_slope) / fit["slope_stderr"]
        ratio = fit["slope_stderr"] / (relative_error * abs(expected_slope))
        out["chains_for_relative_error"] = math.ceil(len(q) * ratio ** 2)
    out["chains_for_relative_error_target"] = relative_error
    return out


@torch.no_grad()
def full_step_heat(model: Any, ensemble: Ensemble, t2: Sequence[float], kernels: Sequence[str] = PAPER_KERNELS,
                   batch_size: int | None = None, rng: Rng | None = None, seed: int | None = None
                   ) -> dict[str, dict[str, np.ndarray]]:
    """Q = E(s') - E(s) for one full Gibbs step at each T2 from every state of ``ensemble`` (h ~ p_1(h | v)).

    Returns ``{kernel: {f"{T2:g}": q}}``; every kernel and T2 starts from the same (v, h) of a batch.
    """
    for k in kernels:
        if k not in PAPER_KERNELS:
            raise ConfigError(f"the paper's step is a full Gibbs step: kernel must be one of {PAPER_KERNELS}; "
                              f"got {k!r}")
    rng = rng if rng is not None else Rng(seed, model.device)
    beta1 = 1.0 / ensemble.t1
    size = int(batch_size or (CUDA_BATCH if model.device.type == "cuda" else CPU_BATCH))
    out: dict[str, dict[str, list[np.ndarray]]] = {k: {f"{t:g}": [] for t in t2} for k in kernels}
    start = 0
    for n in _chunks(ensemble.chains, size):
        v = ensemble.v[start:start + n]
        start += n
        h = hidden_draw(model, v, beta1, rng)
        e0 = joint_energy(model, v, h)
        for k in kernels:
            for t in t2:
                kern = make_kernel(k, model, 1.0 / float(t), 1.0)
                v2, h2 = kern.run(v, h, 1, rng)
                out[k][f"{t:g}"].append((joint_energy(model, v2, h2) - e0).cpu().numpy())
    return {k: {t: np.concatenate(qs) for t, qs in d.items()} for k, d in out.items()}


@dataclass
class PaperProtocol:
    """The paper's full-step experiment and the gentle process on one verified T1 ensemble."""

    ensemble: Ensemble
    full_step: dict[str, dict[str, dict[str, Any]]]
    heat: dict[str, dict[str, np.ndarray]] = field(repr=False)
    gentle: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"ensemble": self.ensemble.to_dict(), "full_step": self.full_step, "gentle": self.gentle,
                "seconds": round(self.seconds, 3)}


def paper_protocol(model: Any, chains: int, t1: float = 1.0, t2: Sequence[float] = (2.0, 1.5, 0.8), *,
                   replicas: int = 8, beta_min: float = 0.5, sweeps: int = 300, kernels: Sequence[str] = PAPER_KERNELS,
                   gentle: bool = True, relative_error: float = 0.05, batch_size: int | None = None,
                   seed: int = 0, progress: bool = False) -> PaperProtocol:
    """Section 3.3 as written on a tempered, verified ensemble, with the gentle process beside it."""
    t0 = time.perf_counter()
    rng = Rng(seed, model.device)
    ens = tempered_ensemble(model, chains, t1, replicas=replicas, beta_min=beta_min, sweeps=sweeps,
                            batch_size=batch_size, rng=rng, progress=progress)
    heat = full_step_heat(model, ens, t2, kernels, batch_size, rng)
    beta1 = 1.0 / float(t1)
    full = {k: {t: overlap(q, beta1 - 1.0 / float(t), relative_error) for t, q in d.items()} for k, d in heat.items()}
    gentle_out: dict[str, Any] = {}
    if gentle:
        res = heat_exchange(model, t1, list(t2), chains=ens.chains, equilibrate=0, init=ens.v, fraction="auto",
                            batch_size=batch_size, rng=rng)
        gentle_out = {f"{r.t2:g}": {**overlap(r.q, r.expected_slope, relative_error), "kernel": r.kernel}
                      for r in res.runs}
        if res.control is not None:
            c = res.control
            gentle_out["control"] = {"t2": c.t2, "slope": c.fit["slope"], "slope_stderr": c.fit["slope_stderr"]}
        heat["gentle"] = {f"{r.t2:g}": r.q for r in res.runs}
    return PaperProtocol(ens, full, heat, gentle_out, time.perf_counter() - t0)


def protocol_figure(result: PaperProtocol):
    """Per T2: the histograms of Q and -Q of each process, and ln P(Q)/P(-Q) against (beta_1 - beta_2) Q."""
    from ..plots import subplots

    t2s = list(next(iter(result.heat.values())).keys())
    fig, axes = subplots(2, len(t2s), figsize=(4.6 * len(t2s), 7), squeeze=False)
    beta1 = 1.0 / result.ensemble.t1
    for j, t in enumerate(t2s):
        a = beta1 - 1.0 / float(t)
        top, bottom = axes[0][j], axes[1][j]
        for (name, d), color in zip(result.heat.items(), ("tab:red", "tab:blue", "tab:green")):
            q = d[t]
            edges = np.histogram_bin_edges(np.concatenate([q, -q]), bins=80)
            top.hist(q, bins=edges, histtype="step", color=color, density=True, label=f"{name}: P(Q)")
            top.hist(-q, bins=edges, histtype="step", color=color, ls=":", density=True, label=f"{name}: P(-Q)")
            fit = fit_xft(q, a)
            for row in fit["bins"]:
                bottom.errorbar(row["x"], row["log_ratio"], yerr=row["log_ratio_stderr"], fmt=".", color=color, ms=3)
            bottom.plot([], [], ".", color=color, label=f"{name}: minority {min(fit['n_positive'], fit['n_negative'])}")
        xs = np.array(bottom.get_xlim() if bottom.has_data() else (0.0, 1.0))
        bottom.plot(xs, a * xs, "k-", lw=1, label="(beta1 - beta2) Q")
        top.set_title(f"T1 = {result.ensemble.t1:g} -> T2 = {t}", fontsize=10)
        top.set_xlabel("Q")
        bottom.set_xlabel("|Q|")
        bottom.set_ylabel("ln P(Q)/P(-Q)")
        top.legend(fontsize=6)
        bottom.legend(fontsize=6)
    fig.tight_layout()
    return fig
