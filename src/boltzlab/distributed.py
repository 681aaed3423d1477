"""Data-parallel runs on torch.distributed (NCCL on GPUs, gloo on CPUs), launched by ``torchrun``.

The unit of work is the *shard*: a fixed block of chains with its own random stream.  A run has a fixed
number of shards S (chosen at its start, stored in its checkpoints); with W processes, rank r holds the
shards r*S/W .. (r+1)*S/W - 1 (W must divide S).  Every shard draws from its own stream whatever process
holds it, so a run with S shards gives the same chains, to floating-point rounding, whether one process
holds all of them or W processes share them, and a checkpoint (written by rank 0 with every shard's
chains and stream) resumes under any world size that divides S.  Data order comes from one stream all
ranks share, so every rank sees the same minibatch and takes its own rows of it.

Nothing here assumes more than one process: :func:`world` without ``torchrun`` is a world of one.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .errors import require
from .random import Rng, SplitRng


@dataclass(frozen=True)
class World:
    """This process's place among ``size`` processes (rank 0 writes files)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def all_reduce_sum_(self, tensors: list[torch.Tensor]) -> None:
        """Sum each tensor over all processes, in place (one flat buffer, one collective)."""
        if not self.active or not tensors:
            return
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for t in tensors:
            n = t.numel()
            t.copy_(flat[offset:offset + n].view_as(t))
            offset += n

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order, on every process."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out


def world() -> World:
    """The current world: the initialised process group, else a world of one."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def init_from_env(device: str = "cpu") -> World:
    """Join the process group ``torchrun`` describes (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the environment).

    The backend is NCCL for CUDA devices and gloo otherwise; on CUDA each process takes the GPU of its
    LOCAL_RANK.  Without ``torchrun``'s variables this is a world of one and nothing is initialised.
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return World()
    if not dist.is_initialized():
        cuda = str(device).startswith("cuda")
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return world()


def shutdown() -> None:
    """Leave the process group (after a barrier), if one was joined.

    A process that exits still holding a gloo group can abort in the library's teardown ("terminate
    called without an active exception"); every command that joined one leaves it this way.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        gc.collect()  # release finished collectives' work objects while the interpreter is whole
        dist.destroy_process_group()


def local_device(device: str) -> str:
    """``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun; other devices are returned as given."""
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return device


def shard_range(n_shards: int, w: World) -> range:
    """The global indices of the shards rank ``w.rank`` holds."""
    require(n_shards >= 1, f"the number of shards must be >= 1; got {n_shards}")
    require(not n_shards % w.size, f"{w.size} processes cannot share {n_shards} shards evenly; use a world size that "
                                   f"divides {n_shards}")
    per = n_shards // w.size
    return range(w.rank * per, (w.rank + 1) * per)


class ShardedRng(SplitRng):
    """Random streams for the chains of several shards, one stream per shard, plus one shared stream.

    A draw over this process's chains is split into equal row blocks, one per local shard (the rows must
    divide evenly); data permutations come from the shared stream, the same on every process.  Stream ``s``
    of seed ``seed`` is the same whichever process holds it.
    """

    def __init__(self, seed: int, n_shards: int, shards: range, device: torch.device | str = "cpu") -> None:
        root = int(seed)
        super().__init__([Rng(np.random.SeedSequence(root, spawn_key=(1, s)), device) for s in shards],
                         np.random.SeedSequence(root, spawn_key=(0,)), device)
        self.n_shards = int(n_shards)
        self.shards = shards
        self.blocks_name = (f"chain shards (make the chain count and the batch size multiples of the "
                            f"{self.n_shards} shards)")

    def get_state(self) -> dict[str, Any]:
        return {"shared": super().get_state(),
                "shards": {int(s): st.get_state() for s, st in zip(self.shards, self.streams)}}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state["shared"])
        for s, stream in zip(self.shards, self.streams):
            stream.set_state(state["shards"][int(s)])


@torch.no_grad()
def sample(model, n_samples: int, steps: int = 100, beta: float = 1.0, seed: int = 0,
           shards: int | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Block-Gibbs samples of ``model`` drawn by all processes together; rank 0 gets all of them.

    The ``n_samples`` chains are cut into ``shards`` (default: the world size) with their own streams,
    so the result is the same for every world size that divides ``shards``.  Returns ``(v, h)`` on
    rank 0 (on the model's device) and None on the other ranks.
    """
    w = world()
    n_shards = int(shards) if shards is not None else w.size
    rng = ShardedRng(seed, n_shards, shard_range(n_shards, w), model.device)
    require(not int(n_samples) % n_shards, f"{n_samples} samples cannot be split over {n_shards} shards")
    v0 = model.visible.random_state(int(n_samples) * len(rng.shards) // n_shards, rng)
    v, h = model.sample(0, steps, beta, init=v0, rng=rng)
    if not w.active:
        return v, h
    parts = w.gather((v.cpu(), h.cpu()))
    if not w.is_main:
        return None
    return (torch.cat([p[0] for p in parts]).to(model.device), torch.cat([p[1] for p in parts]).to(model.device))
