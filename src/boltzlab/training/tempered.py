"""Negative phases whose persistent chains exchange states along a ladder of distributions.

Persistent chains advanced by block Gibbs alone (PCD; Tieleman, ICML 2008) stop crossing between the modes
of a multimodal model once its energy barriers grow, and the learning rule distorts the modes' weights
(Decelle, Furtlehner & Seoane, NeurIPS 2021); replica exchange repairs this.

* :class:`TemperingChains` (``method="pt"``): parallel tempering over inverse temperatures
  beta_1 < ... < beta_R = 1 of the current model (Desjardins, Courville, Bengio, Vincent & Delalleau,
  AISTATS 2010), through :class:`boltzlab.sampling.ParallelTempering`.
* :class:`TrajectoryChains` (``method="ptt"``): parallel trajectory tempering (Béreux, Decelle, Furtlehner,
  Rosset & Seoane, ICLR 2025) over the independent model, models saved along this run (one saved when the
  exchange acceptance to the newest falls below ``ladder_acceptance``, one dropped when its neighbours
  exchange that often without it) and the current model, through :class:`boltzlab.sampling.TrajectoryTempering`.

Each update runs ``k`` ladder steps; the target rung's states are the model samples (:meth:`diagnostics`
reports the exchange acceptances and rungs).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..sampling.tempering import ParallelTempering, geometric_ladder
from ..sampling.trajectory import TrajectoryTempering
from .negative import SampledNegativePhase

if TYPE_CHECKING:
    from .trainer import Trainer


class _Ladder(SampledNegativePhase):
    """Persistent states of every rung, exchange counts of the epoch, checkpointed with the run."""

    def __init__(self, trainer: "Trainer") -> None:
        super().__init__(trainer)
        self.states: list[torch.Tensor] = []
        self.ladder_steps = 0  # exchanges alternate between even and odd pairs across updates too
        self._attempts = np.zeros(0, dtype=np.int64)
        self._accepts = np.zeros(0, dtype=np.int64)

    @property
    def chains(self) -> torch.Tensor | None:  # the target rung's chains are the persistent model states
        return self.states[-1] if self.states else None

    @chains.setter
    def chains(self, v: torch.Tensor | None) -> None:
        if v is not None and self.states:
            self.states[-1] = v

    def _run(self, sampler: Any) -> torch.Tensor:
        """Advance the sampler ``k`` ladder steps from the stored states, store them, count its exchanges."""
        sampler.states = list(self.states)
        sampler.steps = self.ladder_steps
        sampler.run(self.trainer.config.k)
        self.states, self.ladder_steps = sampler.states, sampler.steps
        self._count(sampler, sampler.n_replicas)
        return sampler.samples

    def _count(self, sampler: Any, rungs: int) -> None:
        if len(self._attempts) != rungs - 1:
            self._attempts = np.zeros(rungs - 1, dtype=np.int64)
            self._accepts = np.zeros(rungs - 1, dtype=np.int64)
        self._attempts += sampler.attempts
        self._accepts += sampler.accepts

    def diagnostics(self) -> dict[str, Any]:
        """Exchange acceptance of each neighbouring pair since the last call, and the number of rungs."""
        acc = [round(float(a / n), 4) if n else None for a, n in zip(self._accepts, self._attempts)]
        self._attempts[:] = 0
        self._accepts[:] = 0
        seen = [a for a in acc if a is not None]
        return {**super().diagnostics(), "rungs": len(self.states), "exchange_acceptance": acc,
                "min_exchange_acceptance": min(seen) if seen else None}

    def state_dict(self) -> dict[str, Any]:
        return {"states": [s.cpu() for s in self.states], "ladder_steps": self.ladder_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.states = [s.to(self.trainer.model.device) for s in state["states"]]
        self.ladder_steps = int(state["ladder_steps"])


class TemperingChains(_Ladder):
    """Parallel tempering: ``n_replicas`` rungs of inverse temperature from ``beta_min`` to 1 (geometric)."""

    methods = ("pt",)

    def __init__(self, trainer: "Trainer") -> None:
        super().__init__(trainer)
        cfg = trainer.config
        self.betas = geometric_ladder(cfg.n_replicas, cfg.beta_min)
        n = trainer._local_count(cfg.chains)
        self.states = [trainer.model.visible.random_state(n, trainer.rng) for _ in self.betas]

    def samples(self, batch: torch.Tensor) -> torch.Tensor:
        tr = self.trainer
        base = "uniform" if tr.model.visible.discrete else "model"  # a uniform base exists for discrete units
        return self._run(ParallelTempering(tr.model, self.states[-1].shape[0], self.betas, base=base,
                                           init=self.states[-1], rng=tr.rng))


class TrajectoryChains(_Ladder):
    """Parallel trajectory tempering over models saved along training, the ladder kept at a target
    acceptance ``ladder_acceptance`` between neighbours."""

    methods = ("ptt",)

    def __init__(self, trainer: "Trainer") -> None:
        super().__init__(trainer)
        self.saved: list[Any] = []
        n = trainer._local_count(trainer.config.chains)
        self.states = [trainer.model.visible.random_state(n, trainer.rng)]

    def _snapshot(self) -> Any:
        m = copy.deepcopy(self.trainer.model)
        for p in m.parameters():
            p.requires_grad_(False)
        return m

    def samples(self, batch: torch.Tensor) -> torch.Tensor:
        tr = self.trainer
        if not self.saved:  # the first rung above the independent model: the model at the start
            self.saved.append(self._snapshot())
            self.states.insert(0, self.states[0].clone())
            self.states.insert(0, self.states[0].clone())
        ptt = TrajectoryTempering(self.saved + [tr.model], self.states[-1].shape[0], init=self.states[-1],
                                  rng=tr.rng)
        v = self._run(ptt)
        self._adapt_ladder(ptt)
        return v

    def _adapt_ladder(self, ptt: TrajectoryTempering) -> None:
        """Save the current model when it exchanges too rarely with the newest saved one; drop a saved model
        whose neighbours exchange often enough without it."""
        target = self.trainer.config.ladder_acceptance
        top = ptt.n_replicas - 1
        if ptt.pair_acceptance(top - 1, top) < target:
            self.saved.append(self._snapshot())
            self.states.insert(-1, self.states[-1].clone())
            self._attempts = np.zeros(0, dtype=np.int64)
            return
        # rung r of the sampler is saved model r - 1 (rung 0 is the independent model)
        for r in range(2, top):
            if ptt.pair_acceptance(r - 1, r + 1) >= target:
                del self.saved[r - 1]
                del self.states[r]
                self._attempts = np.zeros(0, dtype=np.int64)
                return

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "saved": [{k: v.cpu() for k, v in m.state_dict().items()}
                                                  for m in self.saved]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.saved = []
        for sd in state["saved"]:
            m = self._snapshot()
            m.load_state_dict(sd)
            self.saved.append(m)

