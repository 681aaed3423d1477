"""Several independent training runs advanced in lockstep, their Gibbs chains sampled in one batch.

A replica study (Toledo-Marin et al., arXiv:2503.21536 (2025): the same architecture trained from several
seeds) or a scan over learning rates trains R models of one shape on the same data.  The k Gibbs sweeps
per update are most of the work; :class:`ReplicaTrainer` runs them for all replicas as one batched
computation (:class:`boltzlab.sampling.ReplicaBatch`: one ``baddbmm`` per half-sweep), while each run
keeps its own optimiser, schedule, minibatch order, random stream, metrics and checkpoints.  Each replica
therefore follows exactly the trajectory of its separate :meth:`Trainer.fit` (bitwise in float64 in the
tests), and each can be resumed on its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from ..errors import ConfigError, require
from ..sampling.replicas import ReplicaBatch
from .negative import GibbsChains
from .trainer import Trainer


class ReplicaTrainer:
    """Train ``trainers`` (same model shape, method, k and update count) update by update, together."""

    def __init__(self, trainers: Sequence[Trainer], progress: bool = True) -> None:
        self.trainers = list(trainers)
        require(self.trainers, "a replica run needs at least one trainer")
        first = self.trainers[0]
        if not all(isinstance(tr.negative, GibbsChains) for tr in self.trainers):
            raise ConfigError("replicas trained together sample their chains by Gibbs sweeps (cd, pcd or rdm)")
        for tr in self.trainers[1:]:
            same = (tr.config.method, tr.config.k, tr.total_updates) == (first.config.method, first.config.k,
                                                                          first.total_updates)
            require(same, "replicas trained together must share the method, k and number of updates")
        self.batch = ReplicaBatch([tr.model for tr in self.trainers])  # refuses mixed shapes in one line
        self.progress = progress

    def fit(self) -> list[list[dict[str, Any]]]:
        """Train every replica to its end; returns each replica's per-epoch metrics."""
        trainers = self.trainers
        for tr in trainers:
            tr.prepare_fit()
        total = trainers[0].total_updates
        bar = tqdm(total=total * len(trainers), initial=min(trainers[0].step, total) * len(trainers),
                   unit="upd", desc=f"train x{len(trainers)}", disable=not self.progress, dynamic_ncols=True)
        k = trainers[0].config.k
        t0 = time.perf_counter()
        try:
            while trainers[0].step < total:
                begun = [tr._begin_update(*tr._next_batch()) for tr in trainers]
                starts = torch.stack([tr.negative.starts(b[0]) for tr, b in zip(trainers, begun)])
                v_model, _ = self.batch.gibbs(starts, k, 1.0, [tr.rng for tr in trainers])
                for r, (tr, b) in enumerate(zip(trainers, begun)):
                    tr.negative.keep(v_model[r])
                    tr._finish_update(*b, tr.negative.term(v_model[r], b[1], b[2]))
                bar.update(len(trainers))
                elapsed = time.perf_counter() - t0
                for tr in trainers:
                    tr._after_update(elapsed, bar)
        finally:
            bar.close()
            for tr in trainers:
                tr.finish_fit()
        return [tr.history for tr in trainers]
