"""Replica exchange along an annealing path: one ladder for parallel tempering and trajectory tempering.

R replicas of ``n_chains`` chains each sit at positions t_0 < ... < t_{R-1} of a path (:mod:`.path`):
inverse temperatures of one model, or the models saved along training
(:class:`boltzlab.sampling.trajectory.TrajectoryTempering`).  One step proposes to exchange the states of
neighbouring replicas (even pairs at even steps, odd pairs at odd steps), accepting with probability
min(1, a),

    ln a = ln f_{t_r}(x_{r+1}) + ln f_{t_{r+1}}(x_r) - ln f_{t_r}(x_r) - ln f_{t_{r+1}}(x_{r+1}),

independently per chain index (Swendsen & Wang, Phys. Rev. Lett. 57, 2607 (1986); Geyer 1991), then runs one
transition of the path in every replica.  The exchange acceptance of every pair and the round trips of the
replica labels (Katzgraber, Trebst, Huse & Troyer, J. Stat. Mech. P03018 (2006)) are counted.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import ConfigError, require
from ..random import Rng, as_rng
from .path import RBMPath


def geometric_ladder(n_replicas: int, beta_min: float) -> np.ndarray:
    """``n_replicas`` inverse temperatures spaced geometrically from ``beta_min`` to 1."""
    require(int(n_replicas) >= 2, f"parallel tempering needs at least 2 replicas, got {n_replicas}")
    require(0 < beta_min < 1, f"beta_min must lie in (0, 1), got {beta_min}")
    return np.geomspace(float(beta_min), 1.0, int(n_replicas))


def _swap(mask: torch.Tensor, a: Any, b: Any) -> tuple[Any, Any]:
    """(where(mask, b, a), where(mask, a, b)) row by row, through tuples of tensors (None stays None)."""
    if a is None:
        return None, None
    if isinstance(a, tuple):
        pairs = [_swap(mask, x, y) for x, y in zip(a, b)]
        make = (lambda xs: type(a)(*xs)) if hasattr(a, "_fields") else tuple
        return make([p[0] for p in pairs]), make([p[1] for p in pairs])
    m = mask.to(a.device).view(-1, *([1] * (a.dim() - 1)))
    return torch.where(m, b, a), torch.where(m, a, b)


class Ladder:
    """Replica exchange over ``path`` at positions ``ts``, replicas started from ``states``."""

    def __init__(self, path: Any, ts: Sequence[float], states: list, rng: Rng) -> None:
        self.path, self.ts, self.states, self.rng = path, np.asarray(ts, dtype=float), list(states), rng
        v0 = self.states[0][0] if isinstance(self.states[0], tuple) else self.states[0]
        self.n_chains = int(v0.shape[0])
        r = len(self.ts)
        self.attempts = np.zeros(max(r - 1, 0), dtype=np.int64)
        self.accepts = np.zeros(max(r - 1, 0), dtype=np.int64)
        # Which replica label sits at each rung, and the last end each label touched (+1 top, -1 bottom).
        self._labels = torch.arange(r, device=v0.device).repeat(self.n_chains, 1).t().contiguous()
        self._direction = torch.zeros(r, self.n_chains, dtype=torch.int8, device=v0.device)
        self.round_trips = 0
        self.steps = 0

    n_replicas = property(lambda self: len(self.ts), doc="Number of replicas.")
    samples = property(lambda self: self.states[-1], doc="Current states of the target replica (the last rung).")

    @property
    def acceptance(self) -> np.ndarray:
        """Exchange acceptance rate of each neighbouring pair (r, r + 1) so far (0 before any attempt)."""
        return self.accepts / np.maximum(self.attempts, 1)

    def _log_a(self, i: int, j: int, si: Any, sj: Any) -> torch.Tensor:
        f, ti, tj = self.path.log_f, self.ts[i], self.ts[j]
        return f(sj, ti) + f(si, tj) - f(si, ti) - f(sj, tj)

    @torch.no_grad()
    def log_acceptance(self, i: int, j: int, xi: Any, xj: Any) -> torch.Tensor:
        """ln a of exchanging state ``xi`` (of replica i) with ``xj`` (of replica j), per chain, float64."""
        return self._log_a(i, j, self.path.stats(xi), self.path.stats(xj))

    @torch.no_grad()
    def pair_acceptance(self, i: int, j: int, states: Sequence[Any] | None = None) -> float:
        """Estimated exchange acceptance E[min(1, a)] of replicas i and j from their current states."""
        states = self.states if states is None else states
        return float(torch.exp(self.log_acceptance(i, j, states[i], states[j]).clamp(max=0.0)).mean())

    @torch.no_grad()
    def step(self) -> None:
        path, t = self.path, self.ts
        stats = [path.stats(x) for x in self.states]
        for r in range(self.steps % 2, self.n_replicas - 1, 2):
            log_a = self._log_a(r, r + 1, stats[r], stats[r + 1])
            accept = torch.log(self.rng.uniform((self.n_chains,), torch.float64).to(log_a.device)) < log_a
            n_acc = int(accept.sum())
            self.attempts[r] += self.n_chains
            self.accepts[r] += n_acc
            if n_acc:
                self.states[r], self.states[r + 1] = _swap(accept, self.states[r], self.states[r + 1])
                stats[r], stats[r + 1] = _swap(accept, stats[r], stats[r + 1])
                self._labels[r], self._labels[r + 1] = _swap(accept, self._labels[r], self._labels[r + 1])
        self._count_round_trips()
        for r in range(self.n_replicas):
            self.states[r] = path.transition(stats[r], t[r], self.rng)
        self.steps += 1

    def _count_round_trips(self) -> None:
        bottom, top = self._labels[0], self._labels[-1]
        d = self._direction
        ar = torch.arange(self.n_chains, device=d.device)
        self.round_trips += int((d[bottom, ar] == 1).sum())  # went up to the top, now back at the bottom
        d[bottom, ar] = -1
        d[top, ar] = torch.where(d[top, ar] == -1, 1, d[top, ar]).to(d.dtype)

    def run(self, steps: int, progress: bool = False, callback: Callable[[Any], None] | None = None) -> torch.Tensor:
        """Advance ``steps`` steps (``callback(self)`` after each); return the target replica's states."""
        from tqdm.auto import tqdm
        for _ in tqdm(range(int(steps)), disable=not progress, desc="tempering", unit="step", leave=False):
            self.step()
            if callback is not None:
                callback(self)
        return self.samples


def initial_states(model, n_chains: int, n_replicas: int, init: Any, rng: Rng) -> list[torch.Tensor]:
    """Random visible states for every replica, or copies of ``init`` (``n_chains`` rows)."""
    require(int(n_chains) >= 1, f"n_chains must be >= 1, got {n_chains}")
    if init is None:
        return [model.visible.random_state(int(n_chains), rng) for _ in range(n_replicas)]
    v0 = model.visible_tensor(init, "init")
    require(v0.shape[0] == int(n_chains), f"init has {v0.shape[0]} rows; expected n_chains = {n_chains}")
    return [v0.clone() for _ in range(n_replicas)]


class ParallelTempering(Ladder):
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
        path = RBMPath(model, base=base, data=data)
        t = geometric_ladder(n_replicas, beta_min) if betas is None else np.asarray(betas, dtype=float)
        if t.ndim != 1 or len(t) < 2 or not np.all(np.diff(t) > 0) or t[0] < 0 or abs(t[-1] - 1.0) > 1e-12:
            raise ConfigError("betas must increase strictly from a value >= 0 to 1 and hold at least 2 entries")
        rng = rng if rng is not None else as_rng(seed, model.device)
        super().__init__(path, t, initial_states(model, n_chains, len(t), init, rng), rng)

    betas = property(lambda self: self.ts, doc="The path positions of the replicas.")

    def summary(self) -> dict[str, Any]:
        return {"betas": self.betas.tolist(), "acceptance": self.acceptance.tolist(),
                "round_trips": self.round_trips, "steps": self.steps, "n_chains": self.n_chains}
