"""Data-parallel maximum-likelihood training on torch.distributed (see :mod:`boltzlab.distributed`).

Every process holds the whole model and the whole data set.  For each update all processes draw the same
minibatch (from the shared stream); each takes its block of the minibatch rows and its shards of the model
chains, computes the free-energy sums of the learning-rule surrogate
(the lecture notes on energy-based models (unpublished), eq. 11) over them, and the gradients are summed over
processes, which gives the gradient of the whole minibatch and all chains.  Centering offsets are computed
from the whole minibatch on every process, so they stay identical without communication.

Launch with ``torchrun --nproc_per_node N -m boltzlab.cli.main train --distributed ...``; the same code
with one process (or none of torchrun's variables) is an ordinary run with ``shards`` chain shards.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from ..distributed import ShardedRng, World, shard_range, world
from ..errors import CheckpointError, ConfigError, require
from ..models.base import EnergyModel
from .config import TrainConfig
from .trainer import Trainer


class DistributedTrainer(Trainer):
    """A :class:`Trainer` whose chains are split into ``shards`` (default: the world size) over the processes.

    The chain count (and, for CD, the batch size) must be a multiple of ``shards``; epochs drop the last
    incomplete minibatch so that every update splits evenly.  Rank 0 writes metrics and checkpoints; a
    checkpoint holds every shard's chains and random stream and resumes under any world size that
    divides ``shards``.
    """

    def __init__(self, model: EnergyModel, train: Any, config: TrainConfig, *, shards: int | None = None,
                 **kwargs: Any) -> None:
        self.world: World = world()
        self.n_shards = int(shards) if shards is not None else self.world.size
        self.shards = shard_range(self.n_shards, self.world)
        require(config.method != "exact", "the exact negative phase is computed whole on every process; train without "
                                          "--distributed")
        if config.method != "cd" and config.chains % self.n_shards:
            raise ConfigError(f"{config.chains} chains cannot be split over {self.n_shards} shards; "
                              f"use a multiple of {self.n_shards}")
        if config.method == "cd" and config.batch_size % self.n_shards:
            raise ConfigError(f"CD starts one chain per data point: the batch size {config.batch_size} must be "
                              f"a multiple of the {self.n_shards} shards")
        super().__init__(model, train, config, **kwargs)
        if self.world.active:  # one set of starting parameters for every process
            for t in list(model.parameters()) + list(model.buffers()):
                dist.broadcast(t.data, src=0)

    @property
    def is_main(self) -> bool:
        return self.world.is_main

    # ------------------------------------------------------------------ the hooks of Trainer
    def _make_rng(self) -> ShardedRng:
        return ShardedRng(self.config.seed, self.n_shards, self.shards, self.model.device)

    def _batches_per_epoch(self, n: int) -> int:
        if n < self.config.batch_size:
            raise ConfigError(f"{n} training samples are fewer than one minibatch of {self.config.batch_size}")
        return n // self.config.batch_size

    def _local_count(self, n: int) -> int:
        return n * len(self.shards) // self.n_shards

    def _local_rows(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        return x[n * self.shards.start // self.n_shards:n * self.shards.stop // self.n_shards]

    def _reduce_gradients(self) -> None:
        self.world.all_reduce_sum_([p.grad for p in self.model.parameters() if p.grad is not None])

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        """The whole run's state: every process's chains and shard streams, gathered (a collective call)."""
        st = super()._state()
        chains = st["negative"]["chains"]
        parts = self.world.gather({"chains": chains, "rng": st["rng"]})
        if chains is not None:
            st["negative"] = {**st["negative"], "chains": torch.cat([p["chains"] for p in parts])}
        st["rng"] = {"shared": st["rng"]["shared"],
                     "shards": {s: state for p in parts for s, state in p["rng"]["shards"].items()}}
        st["shards"] = self.n_shards
        return st

    def _load_state(self, st: dict[str, Any]) -> None:
        require("shards" in st, "this checkpoint comes from a single-process run without chain shards; "
                                "resume it without --distributed", CheckpointError)
        if st["shards"] != self.n_shards:
            self.n_shards = int(st["shards"])
            self.shards = shard_range(self.n_shards, self.world)
            self.rng = self._make_rng()
        st = dict(st)
        del st["shards"]  # handled here; the plain trainer refuses sharded checkpoints
        if st["negative"]["chains"] is not None:
            st["negative"] = {**st["negative"], "chains": self._local_rows(st["negative"]["chains"])}
        super()._load_state(st)

