"""Equilibrium thermodynamics of an RBM against temperature: free energy, energy, entropy, heat capacity.

With Z(beta) = sum_{v,h} exp(-beta E(v, h)) (Salazar, Phys. Rev. E 96, 022131 (2017), eq. 5-8):

    F = -ln Z / beta,   <E> = -d ln Z / d beta,   S = ln Z + beta <E>   (eq. 8, in units of k_B),
    C = beta^2 Var(E) = beta^2 d^2 ln Z / d beta^2.

:func:`exact_curves` enumerates the smaller layer and takes the beta-derivatives by autograd through its
closed-form free energy (float64).  :func:`ais_curves` runs one AIS pass along p_t ∝ exp(-t beta_max E) with
the grid temperatures in the schedule: ln Z(beta_k) is the AIS estimate there, <E> and Var(E) weighted
averages of the first two beta-derivatives of the visible free energy (Rao-Blackwellised over h), with
bootstrap errors over the runs.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import ConfigError, IntractableError, require
from ..stats import log_mean_exp
from ..partition.exact import _choose, _float64_copy
from ..random import Rng
from ..sampling.path import RBMPath, anneal
from .protocols import scaled_copy

KEYS = ("log_z", "free_energy", "energy", "entropy", "heat_capacity")


def _grid(betas: Sequence[float]) -> np.ndarray:
    b = np.asarray(betas, dtype=float).ravel()
    if b.size < 1 or not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ConfigError("the curves need inverse temperatures > 0 (F = -ln Z / beta is undefined at beta = 0)")
    return np.unique(b)


def _assemble(b: np.ndarray, log_z: np.ndarray, energy: np.ndarray, var: np.ndarray) -> dict[str, np.ndarray]:
    return {"beta": b, "temperature": 1.0 / b, "log_z": log_z, "free_energy": -log_z / b, "energy": energy,
            "entropy": log_z + b * energy, "heat_capacity": b * b * var}


def _derivatives(fe, states: torch.Tensor, beta: float) -> tuple[float, float, float]:
    """(ln z, d ln z/d beta, d^2 ln z/d beta^2) of z = sum_states exp(-fe(states, beta))."""
    b = torch.tensor(float(beta), dtype=torch.float64, requires_grad=True)
    lz = torch.logsumexp(-fe(states, b), 0)
    (g,) = torch.autograd.grad(lz, b, create_graph=True)
    (h,) = torch.autograd.grad(g, b)
    return float(lz.detach()), float(g.detach()), float(h)


def exact_curves(model, betas: Sequence[float], max_log2_states: float = 20,
                 chunk_elements: int = 1 << 22) -> dict[str, Any]:
    """F, <E>, S, C at every inverse temperature of ``betas`` by exact enumeration (float64)."""
    b = _grid(betas)
    index = _choose(model, max_log2_states)
    m = _float64_copy(model, "cpu")
    for p in m.parameters():
        p.requires_grad_(False)
    layer, fe = m.enumerable_marginals()[index]
    width = max(max(p.numel() for p in m.parameters()) // layer.n_features, 1)
    chunk = max(1, min(1 << 20, chunk_elements // width))
    log_z, energy, var = [], [], []
    for beta in b:
        parts = [_derivatives(fe, s, beta) for s in layer.iterate_states(chunk)]
        lz = np.array([p[0] for p in parts])
        g = np.array([p[1] for p in parts])
        h = np.array([p[2] for p in parts])
        total = float(np.logaddexp.reduce(lz))
        w = np.exp(lz - total)
        mean_g = float((w * g).sum())
        log_z.append(total)
        energy.append(-mean_g)
        var.append(float((w * (h + g * g)).sum()) - mean_g ** 2)
    out = _assemble(b, np.array(log_z), np.array(energy), np.array(var))
    return {"method": "exact", **{k: v.tolist() for k, v in out.items()}}


def _per_sample(model64, v: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """E[E | v] and Var(E | v) at ``beta`` per sample: the first two beta-derivatives of the visible free
    energy phi_v(beta) = -ln sum_h exp(-beta E(v, h)) (phi' = E[E | v], phi'' = -Var(E | v)).

    Each sample gets its own copy of beta (shape (n, 1), which every layer's ``log_partition``
    broadcasts), so reverse-mode autograd of the sum gives per-sample derivatives exactly.
    """
    m = model64
    with torch.enable_grad():
        b = torch.full((v.shape[0], 1), float(beta), dtype=torch.float64, requires_grad=True)
        fv = m.visible.features(v) - m.visible_offset
        lin = m.visible.energy(v) + fv @ (m.weights @ m.hidden_offset)
        phi = b[:, 0] * lin - m.hidden.log_partition(fv @ m.weights, b)
        (d1,) = torch.autograd.grad(phi.sum(), b, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), b)
    return d1[:, 0].detach(), -d2[:, 0].detach()


@torch.no_grad()
def ais_curves(model, betas: Sequence[float], n_runs: int = 500, n_steps: int = 2000, seed: int | None = None,
               rng: Rng | None = None, bootstrap: int = 200, progress: bool = False) -> dict[str, Any]:
    """F, <E>, S, C with bootstrap error bars from one AIS pass along the inverse-temperature path."""
    t0 = time.perf_counter()
    b = _grid(betas)
    require(int(n_runs) >= 2 and int(n_steps) >= 1, f"need n_runs >= 2 and n_steps >= 1; got {n_runs} and {n_steps}")
    if not (model.visible.discrete and model.hidden.discrete):
        raise IntractableError("the inverse-temperature path starts from the uniform distribution, which "
                               "continuous units do not have; AIS curves need discrete units")
    rng = rng if rng is not None else Rng(seed, model.device)
    b_max = float(b[-1])
    path = RBMPath(scaled_copy(model, b_max), base="uniform")
    t_grid = b / b_max
    sched = np.unique(np.concatenate([np.linspace(0.0, 1.0, int(n_steps) + 1), t_grid]))
    record = {int(np.searchsorted(sched, t)): i for i, t in enumerate(t_grid)}
    m64 = copy.deepcopy(model).to(dtype=torch.float64)
    for p in m64.parameters():
        p.requires_grad_(False)
    n = int(n_runs)
    rec_w, rec_e, rec_v = np.zeros((len(b), n)), np.zeros((len(b), n)), np.zeros((len(b), n))

    def at_grid(k: int, log_w: torch.Tensor, v: torch.Tensor, s: Any) -> None:
        if k in record:
            i = record[k]
            e1, e2 = _per_sample(m64, v.double(), float(b[i]))
            rec_w[i], rec_e[i], rec_v[i] = log_w.cpu().numpy(), e1.cpu().numpy(), e2.cpu().numpy()

    from tqdm.auto import tqdm
    with tqdm(total=len(sched) - 1, disable=not progress, desc="AIS curves", unit="step", mininterval=0.5,
              leave=False) as bar:
        anneal(path, path.sample_base(n, rng), sched, rng, bar=bar, record=at_grid)
    lz0 = path.log_z_base
    est = _weighted(rec_w, rec_e, rec_v, lz0)
    out = _assemble(b, *est)
    g = np.random.default_rng(None if seed is None else int(seed) + 1)
    boots = []
    for _ in range(int(bootstrap)):
        idx = g.integers(0, n, n)
        boots.append(_assemble(b, *_weighted(rec_w[:, idx], rec_e[:, idx], rec_v[:, idx], lz0)))
    res: dict[str, Any] = {"method": "ais", "n_runs": n, "n_steps": len(sched) - 1, "log_z_base": lz0,
                           "seconds": round(time.perf_counter() - t0, 3)}
    for key, val in out.items():
        res[key] = val.tolist()
        if key in KEYS and boots:
            res[key + "_stderr"] = np.std(np.stack([bt[key] for bt in boots]), axis=0, ddof=1).tolist()
    res["ess"] = [float(log_mean_exp(torch.from_numpy(w))[2]) for w in rec_w]
    res["log_z_stderr_delta"] = [float(log_mean_exp(torch.from_numpy(w))[1]) for w in rec_w]
    return res


def _weighted(log_w: np.ndarray, e1: np.ndarray, e2: np.ndarray, lz0: float):
    m = log_w.max(1, keepdims=True)
    w = np.exp(log_w - m)
    z = w.sum(1)
    log_z = lz0 + m[:, 0] + np.log(z / log_w.shape[1])
    p = w / z[:, None]
    energy = (p * e1).sum(1)
    var = (p * (e2 + e1 * e1)).sum(1) - energy ** 2
    return log_z, energy, var
