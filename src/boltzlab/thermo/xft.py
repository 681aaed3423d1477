"""The heat-exchange fluctuation theorem (XFT) measured on any RBM, in memory-bounded batches.

Salazar, Phys. Rev. E 96, 022131 (2017), section 3.2: prepare an ensemble in equilibrium at T1 (Gibbs sweeps
from random starts), put it in contact with a bath at T2 for K steps of a kernel reversible on (v, h)
(palindromic by default: the XFT needs detailed balance on the state whose energy defines Q), record
Q = E(s') - E(s), and compare ln P(Q) / P(-Q) with (beta_1 - beta_2) Q.

The XFT forces <Q> = (beta_1 - beta_2) sigma^2 / 2 for Gaussian heat, so a full sweep of a large model leaves
no sample of the rarer sign.  The relation holds for any reversible T2 process, so by default
(``fraction="auto"``) each move redraws a fraction f of its layer's units, chosen on a pilot batch so that
z = |beta_1 - beta_2| std(Q) is about 2 (the smallest slope error per sample); ``fraction=1`` is the paper's
full sweep.  A **control** run at T2 = T1, whose slope must be 0, and the mean energy traced against the
sweeps diagnose an ensemble still relaxing at T1.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import ConfigError, require
from ..partition.ais import _chunks
from ..random import Rng
from ..sampling.gibbs import block_gibbs
from ..sampling.kernels import Kernel, describe_kernel, hidden_draw, joint_energy, make_kernel
from ..stats import fit_xft

#: Default chains per batch: bounded memory on the CPU, large batches on a GPU.
CPU_BATCH = 16_384
CUDA_BATCH = 262_144
#: Target of the automatic fraction: z = |beta_1 - beta_2| std(Q).
TARGET_Z = 2.0
PILOT = 4096


def _temperature(t: float, name: str) -> float:
    t = float(t)
    require(math.isfinite(t) and t > 0, f"{name} must be a positive temperature; got {t}")
    return t


def _trace_points(n: int, k: int = 16) -> list[int]:
    if n <= 0:
        return [0]
    pts = np.unique(np.concatenate([np.round(np.geomspace(1, n, k)).astype(int), [max(n // 2, 1)]]))
    return [0] + [int(p) for p in pts]


@dataclass
class HeatRun:
    """The heat samples of one T2 process and the fit of the XFT to them."""

    t2: float
    beta2: float
    expected_slope: float
    kernel: dict[str, Any]
    steps: int
    q: np.ndarray = field(repr=False)
    fit: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, bins: bool = True) -> dict[str, Any]:
        fit = dict(self.fit)
        if not bins:
            fit.pop("bins", None)
        rel = None
        if fit.get("slope") is not None and self.expected_slope != 0:
            rel = fit["slope"] / self.expected_slope - 1.0
        return {"t2": self.t2, "beta2": self.beta2, "expected_slope": self.expected_slope,
                "relative_error": rel, "kernel": self.kernel, "steps": self.steps, **fit}


@dataclass
class XFTResult:
    """Heat-exchange experiment: one run per T2, the T2 = T1 control, and equilibration diagnostics."""

    t1: float
    runs: list[HeatRun]
    control: HeatRun | None
    chains: int
    equilibrate: int
    init: str
    batch_size: int
    trace: dict[str, Any]
    seconds: float
    device: str
    dtype: str
    energy: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def beta1(self) -> float:
        return 1.0 / self.t1

    def to_dict(self, bins: bool = True) -> dict[str, Any]:
        first = self.runs[0].to_dict(bins=False)
        return {"slope": first["slope"], "slope_stderr": first["slope_stderr"],
                "expected_slope": first["expected_slope"], "relative_error": first["relative_error"],
                "t1": self.t1, "t2": first["t2"], "chains": self.chains, "equilibrate": self.equilibrate,
                "init": self.init, "batch_size": self.batch_size, "device": self.device, "dtype": self.dtype,
                "seconds": round(self.seconds, 3), "runs": [r.to_dict(bins) for r in self.runs],
                "control": None if self.control is None else self.control.to_dict(bins),
                "equilibration": self.trace, "energy_at_t1": self.energy, **self.extra}


def _auto_fraction(kernel: Kernel, v: torch.Tensor, h: torch.Tensor, e0: torch.Tensor, steps: int, dbeta: float,
                   rng: Rng, target: float) -> tuple[float, list[dict[str, float]]]:
    """The fraction of units per move that gives z = |dbeta| std(Q) ~ target (two pilot rounds)."""
    log = []
    f = 1.0
    for _ in range(3):
        k = make_kernel(kernel, kernel.model, kernel.beta, f)
        v2, h2 = k.run(v, h, steps, rng)
        z = abs(dbeta) * float((joint_energy(k.model, v2, h2) - e0).std())
        log.append({"fraction": f, "z": z})
        if z <= target * 1.15 and (f == 1.0 or z >= target * 0.85):
            break
        f = float(min(1.0, max(1e-5, f * (target / max(z, 1e-12)) ** 2)))
    return f, log


@torch.no_grad()
def heat_exchange(model, t1: float = 1.0, t2: float | Sequence[float] = 2.0, chains: int = 100_000,
                  equilibrate: int = 300, steps: int = 1, kernel: str | Kernel = "palindromic",
                  fraction: float | str = "auto", init: Any = "random", batch_size: int | None = None,
                  control: bool = True, target_z: float = TARGET_Z, seed: int | None = None,
                  rng: Rng | None = None, progress: bool = False) -> XFTResult:
    """Run the heat-exchange experiment of section 3.3 on ``model`` (an RBM of any unit types).

    Parameters
    ----------
    t1, t2 : the temperature of the initial ensemble and of the bath (one or several T2 values; every T2
        process starts from the same equilibrated states of each batch).
    chains : ensemble size, processed ``batch_size`` chains at a time (default 16,384 on a CPU and
        262,144 on CUDA); only the heat values are kept, so memory does not grow with ``chains``.
    equilibrate : block-Gibbs sweeps (the plain sweep, the fastest kernel that leaves p_1 invariant) at T1
        from the initial states.
    steps : K, the steps of the T2 process.
    kernel : the T2 kernel: "palindromic" (default), "random-scan", or "plain" (not reversible: the
        relation is not expected to hold; for demonstrations), or a kernel object (rebound to each T2).
    fraction : "auto" (see the module docstring), or the fraction of units redrawn per move in (0, 1].
    init : "random" (uniform random states, as in the paper) or an array of visible states (e.g. data),
        drawn with replacement.
    control : also run the process at T2 = T1 (slope 0 expected).
    """
    t1 = _temperature(t1, "T1")
    t2s = [_temperature(t, "T2") for t in ([t2] if np.isscalar(t2) else list(t2))]
    require(t2s, "give at least one bath temperature T2")
    require(int(chains) >= 2, f"the experiment needs at least 2 chains; got {chains}")
    if int(equilibrate) < 0 or int(steps) < 1:
        raise ConfigError(f"need equilibrate >= 0 and steps >= 1; got {equilibrate} and {steps}")
    kname = kernel.name if isinstance(kernel, Kernel) else kernel
    require(kname != "visible", "the heat-exchange relation needs one energy at both temperatures: use a kernel on "
                                "the joint state (palindromic, random-scan or plain), not the visible chain")
    auto = isinstance(fraction, str)
    require(not auto or fraction == "auto", f"fraction must be 'auto' or a number in (0, 1]; got {fraction!r}")
    if kname == "plain" and auto:
        fraction = 1.0
        auto = False
    base_kernel = make_kernel(kernel, model, 1.0 / t1, 1.0 if auto else float(fraction))
    dev = model.device
    rng = rng if rng is not None else Rng(seed, dev)
    if batch_size is None:
        batch_size = CUDA_BATCH if dev.type == "cuda" else CPU_BATCH
    require(int(batch_size) >= 1, f"batch_size must be >= 1; got {batch_size}")
    batch_size = min(int(batch_size), int(chains))
    init_label = "random"
    init_states = None
    if not (isinstance(init, str) and init == "random"):
        require(not isinstance(init, str), f"init must be 'random' or an array of visible states; got {init!r}")
        init_states = model.visible_tensor(init, "init")
        init_label = f"data ({init_states.shape[0]} rows)"
    beta1 = 1.0 / t1
    targets = [(t, 1.0 / t) for t in t2s] + ([(t1, beta1)] if control else [])
    fractions: list[float] = [base_kernel.fraction] * len(targets)
    pilot_log: dict[str, Any] = {}
    points = _trace_points(int(equilibrate))
    sums = np.zeros(len(points))
    sq = np.zeros(len(points))
    heat: list[list[np.ndarray]] = [[] for _ in targets]
    e_sum = e_sq = 0.0
    sizes = _chunks(int(chains), batch_size)
    t0 = time.perf_counter()
    from tqdm.auto import tqdm
    bar = tqdm(total=len(sizes) * (int(equilibrate) + len(targets) * int(steps)), disable=not progress,
               desc="xft", unit="sweep", mininterval=0.5, leave=False)
    try:
        for bi, n in enumerate(sizes):
            if init_states is None:
                v = model.visible.random_state(n, rng)
            else:
                v = init_states[rng.integers(init_states.shape[0], (n,)).to(init_states.device)]
            h = hidden_draw(model, v, beta1, rng)
            done = 0
            for pi, p in enumerate(points):
                if p > done:
                    v, h = block_gibbs(model, v, p - done, beta1, rng)
                    bar.update(p - done)
                    done = p
                e = joint_energy(model, v, h)
                sums[pi] += float(e.sum())
                sq[pi] += float((e * e).sum())
            e0 = e
            e_sum += float(e0.sum())
            e_sq += float((e0 * e0).sum())
            if bi == 0 and auto:
                m = min(PILOT, n)
                first_dbeta = beta1 - targets[0][1]
                for ti, (t, b) in enumerate(targets):
                    db = beta1 - b
                    if db == 0:
                        continue
                    k = make_kernel(kernel, model, b, 1.0)
                    fractions[ti], pilot_log[f"{t:g}"] = _auto_fraction(k, v[:m], h[:m], e0[:m], int(steps), db,
                                                                         rng, target_z)
                for ti, (t, b) in enumerate(targets):
                    if beta1 - b == 0:  # the control moves like the first bath process
                        fractions[ti] = fractions[0] if first_dbeta != 0 else 1.0
            for ti, (t, b) in enumerate(targets):
                k = make_kernel(kernel, model, b, fractions[ti])
                v2, h2 = k.run(v, h, int(steps), rng)
                heat[ti].append((joint_energy(model, v2, h2) - e0).cpu().numpy())
                bar.update(int(steps))
    finally:
        bar.close()
    n_total = int(chains)
    runs = []
    for ti, (t, b) in enumerate(targets):
        q = np.concatenate(heat[ti])
        k = make_kernel(kernel, model, b, fractions[ti])
        expected = beta1 - b
        runs.append(HeatRun(t, b, expected, describe_kernel(k), int(steps), q, fit_xft(q, expected)))
    mean = sums / n_total
    var = np.maximum(sq / n_total - mean ** 2, 0.0)
    half = next((i for i, p in enumerate(points) if p >= int(equilibrate) // 2), len(points) - 1)
    se = np.sqrt(var / n_total)
    drift = float(mean[-1] - mean[half])
    trace = {"sweeps": points, "mean_energy": mean.tolist(), "stderr": se.tolist(),
             "drift_last_half": drift, "drift_from_sweep": points[half],
             "drift_last_half_in_stderr": drift / max(float(math.hypot(se[-1], se[half])), 1e-300)}
    e_mean = e_sum / n_total
    extra: dict[str, Any] = {"kernel": describe_kernel(base_kernel), "target_z": target_z if auto else None,
                             "fraction": "auto" if auto else float(fraction)}
    if pilot_log:
        extra["pilot"] = pilot_log
    warnings_ = [f"T2={r.t2:g}: {r.fit['warning']}" for r in runs if r.fit.get("warning")]
    if not base_kernel.reversible:
        warnings_.append(f"the {kname} kernel is not reversible on (v, h): the heat-exchange relation is not "
                         "expected to hold (use palindromic or random-scan)")
    if warnings_:
        extra["warnings"] = warnings_
    control_run = runs.pop() if control else None
    return XFTResult(t1, runs, control_run, n_total, int(equilibrate), init_label, batch_size, trace,
                     time.perf_counter() - t0, str(dev), str(model.dtype).replace("torch.", ""),
                     {"mean": e_mean, "std": math.sqrt(max(e_sq / n_total - e_mean ** 2, 0.0))}, extra)
