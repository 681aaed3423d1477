"""Parallel tempering (replica exchange) along an annealing path, with acceptance rates reported.

R replicas of ``n_chains`` chains each sit at path positions t_0 < ... < t_{R-1} = 1 (by default inverse
temperatures: p_t ∝ exp(-t E), the ``uniform``-base path of :mod:`boltzlab.sampling.path`).  One step

1. proposes to exchange the states of neighbouring replicas (r, r+1), on even pairs at even steps and odd
   pairs at odd steps, accepting with probability
   min(1, f_{t_r}(v_{r+1}) f_{t_{r+1}}(v_r) / [f_{t_r}(v_r) f_{t_{r+1}}(v_{r+1})])
   (Swendsen & Wang 1986; Geyer 1991; for p ∝ exp(-t E) on the joint state this is the familiar
   min(1, exp((t_r - t_{r+1}) (E(x_{r+1}) - E(x_r))));  here the visible free energies are used, which is
   the same move on the visible marginal), independently for every chain index;
2. runs one block-Gibbs sweep in every replica at its own t.

Both moves leave the product of the p_{t_r} invariant, so replica R-1 samples the model.  The exchange
acceptance of every pair is counted; a pair with low acceptance means the ladder needs more rungs there.
Each round trip of a replica label from t_0 to t_{R-1} and back is counted too (Katzgraber et al. 2006).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..random import Rng, as_rng
from .path import RBMPath


def geometric_ladder(n_replicas: int, beta_min: float) -> np.ndarray:
    """``n_replicas`` inverse temperatures spaced geometrically from ``beta_min`` to 1."""
    if int(n_replicas) < 2:
        raise ConfigError(f"parallel tempering needs at least 2 replicas, got {n_replicas}")
    if not 0 < beta_min < 1:
        raise ConfigError(f"beta_min must lie in (0, 1), got {beta_min}")
    return np.geomspace(float(beta_min), 1.0, int(n_replicas))


class ParallelTempering:
    """Replica-exchange sampler for an RBM of any unit types.

    Parameters
    ----------
    model : RBM
    n_chains : independent chains per replica.
    betas : increasing path positions ending at 1; default a geometric ladder of ``n_replicas`` from
        ``beta_min``.
    base : the path's base ("uniform" gives inverse temperatures; "model" or "data" interpolate towards an
        independent model, as AIS does, which also suits continuous units at t -> 0).
    data : data for ``base="data"``.
    init : initial visible states of every replica (default: random states).
    seed / rng : random stream.
    """

    def __init__(self, model, n_chains: int, betas: Any = None, *, n_replicas: int = 10, beta_min: float = 0.1,
                 base: str = "uniform", data: Any = None, init: Any = None, seed: int | None = None,
                 rng: Rng | None = None) -> None:
        self.model = model
        self.path = RBMPath(model, base=base, data=data)
        t = geometric_ladder(n_replicas, beta_min) if betas is None else np.asarray(betas, dtype=float)
        if t.ndim != 1 or len(t) < 2 or not np.all(np.diff(t) > 0) or t[0] < 0 or abs(t[-1] - 1.0) > 1e-12:
            raise ConfigError("betas must increase strictly from a value >= 0 to 1 and hold at least 2 entries")
        self.betas = t
        self.n_chains = int(n_chains)
        if self.n_chains < 1:
            raise ConfigError(f"n_chains must be >= 1, got {n_chains}")
        self.rng = rng if rng is not None else as_rng(seed, model.device)
        if init is None:
            self.states = [model.visible.random_state(self.n_chains, self.rng) for _ in t]
        else:
            v0 = model.visible_tensor(init, "init")
            if v0.shape[0] != self.n_chains:
                raise ConfigError(f"init has {v0.shape[0]} rows; expected n_chains = {self.n_chains}")
            self.states = [v0.clone() for _ in t]
        r = len(t)
        self.attempts = np.zeros(r - 1, dtype=np.int64)
        self.accepts = np.zeros(r - 1, dtype=np.int64)
        # Which replica label sits at each rung, and the last end each label touched (+1 top, -1 bottom).
        self._labels = torch.arange(r, device=model.device).repeat(self.n_chains, 1).t().contiguous()
        self._direction = torch.zeros(r, self.n_chains, dtype=torch.int8, device=model.device)
        self.round_trips = 0
        self.steps = 0

    @property
    def n_replicas(self) -> int:
        return len(self.betas)

    @property
    def acceptance(self) -> np.ndarray:
        """Exchange acceptance rate of each neighbouring pair (t_r, t_{r+1})."""
        return self.accepts / np.maximum(self.attempts, 1)

    @property
    def samples(self) -> torch.Tensor:
        """Current states of the target replica (t = 1)."""
        return self.states[-1]

    @torch.no_grad()
    def step(self) -> None:
        path, t = self.path, self.betas
        stats = [path.stats(v) for v in self.states]
        for r in range(self.steps % 2, self.n_replicas - 1, 2):
            lo, hi = stats[r], stats[r + 1]
            log_a = (path.log_f(hi, t[r]) + path.log_f(lo, t[r + 1])
                     - path.log_f(lo, t[r]) - path.log_f(hi, t[r + 1]))
            u = self.rng.uniform((self.n_chains,), torch.float64)
            accept = torch.log(u) < log_a
            n_acc = int(accept.sum())
            self.attempts[r] += self.n_chains
            self.accepts[r] += n_acc
            if n_acc:
                m = accept.unsqueeze(1)
                va, vb = self.states[r], self.states[r + 1]
                self.states[r], self.states[r + 1] = torch.where(m, vb, va), torch.where(m, va, vb)
                ia, ib = lo.inputs, hi.inputs
                stats[r] = lo._replace(inputs=torch.where(m, ib, ia))
                stats[r + 1] = hi._replace(inputs=torch.where(m, ia, ib))
                la, lb = self._labels[r], self._labels[r + 1]
                self._labels[r], self._labels[r + 1] = torch.where(accept, lb, la), torch.where(accept, la, lb)
        self._count_round_trips()
        for r in range(self.n_replicas):
            self.states[r] = path.sweep(stats[r], t[r], self.rng)
        self.steps += 1

    def _count_round_trips(self) -> None:
        bottom, top = self._labels[0], self._labels[-1]
        d = self._direction
        ar = torch.arange(self.n_chains, device=d.device)
        self.round_trips += int((d[bottom, ar] == 1).sum())  # went up to the top, now back at the bottom
        d[bottom, ar] = -1
        d[top, ar] = torch.where(d[top, ar] == -1, 1, d[top, ar]).to(d.dtype)

    def run(self, steps: int, progress: bool = False) -> torch.Tensor:
        """Advance ``steps`` steps; return the target replica's states."""
        from tqdm.auto import tqdm
        for _ in tqdm(range(int(steps)), disable=not progress, desc="tempering", unit="step", leave=False):
            self.step()
        return self.samples

    def summary(self) -> dict[str, Any]:
        return {"betas": self.betas.tolist(), "acceptance": self.acceptance.tolist(),
                "round_trips": self.round_trips, "steps": self.steps, "n_chains": self.n_chains}
