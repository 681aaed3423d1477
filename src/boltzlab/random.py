"""Random streams for samplers.

One :class:`Rng` bundles a ``torch.Generator`` on the chains' device with, on the CPU, the state of a
SplitMix64 stream that feeds the hot path of binary and spin units: :meth:`Rng.bernoulli_` and
:meth:`Rng.bernoulli_logistic_` draw their uniforms from it inside one fused pass that also evaluates the
logistic of the field and the comparison (:mod:`boltzlab.counter_draws`).  PyTorch's CPU ``uniform_``
draws one Mersenne-Twister number per element on one thread (about 3 ns on this machine), which costs more
than the two matrix products of a 784x500 Gibbs sweep at 2000 chains.  On CUDA everything uses the device's
Philox generator.

The state of both streams is part of a checkpoint, so that resumed runs repeat exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import counter_draws
from .errors import CheckpointError, ConfigError


class Rng:
    """Seeded random streams for one device.

    Parameters
    ----------
    seed : int, numpy SeedSequence or None
        None draws fresh entropy from the OS; a SeedSequence names one of many independent streams
        (:class:`boltzlab.distributed.ShardedRng` gives each shard of chains its own).
    device : torch device of the tensors the stream fills.
    """

    def __init__(self, seed: int | np.random.SeedSequence | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        torch_seed, counter_seed = ss.spawn(2)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(torch_seed.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        # SplitMix64 state of the CPU two-valued draws (None on CUDA, where torch.rand serves)
        self._counter = int(counter_seed.generate_state(1, np.uint64)[0]) if self.device.type == "cpu" else None

    # ------------------------------------------------------------------ draws
    def bernoulli_(self, p: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Overwrite the probabilities ``p`` with draws: ``high`` with probability p, else ``low``."""
        if self._counter is None or not p.is_contiguous():  # CUDA (Philox), or a strided view
            torch.lt(self._torch_uniforms(p), p, out=p)
            return p if (low, high) == (0.0, 1.0) else p.mul_(high - low).add_(low)
        return counter_draws.fill_below_(p, self._keys(p), low, high)

    def bernoulli_logistic_(self, x: torch.Tensor, bias: torch.Tensor, scale: float, low: float = 0.0,
                            high: float = 1.0) -> torch.Tensor:
        """Overwrite the fields ``x`` with draws: ``high`` with probability sigmoid(scale (x + bias)), else
        ``low`` (``bias`` broadcasts against x).  Binary units draw this way (scale beta, eq. 20-21 of
        the lecture notes on energy-based models (unpublished)), spins with scale 2 beta, low -1 and high +1."""
        if self._counter is None or not x.is_contiguous():
            x.add_(bias)
            if scale != 1.0:
                x.mul_(scale)
            return self.bernoulli_(x.sigmoid_(), low, high)
        return counter_draws.fill_below_logistic_(x, bias, scale, self._keys(x), low, high)

    def gaussian_(self, x: torch.Tensor, bias: torch.Tensor, gain: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """Overwrite ``x`` with draws from N((x + bias) gain, std^2) (all broadcasting against x): the
        conditional of Gaussian units, in one fused pass on the CPU (:mod:`boltzlab.counter_draws`)."""
        if self._counter is None or not x.is_contiguous():
            return x.add_(bias).mul_(gain).add_(self.normal(tuple(x.shape), x.dtype).mul_(std))
        return counter_draws.fill_gaussian_(x, bias, gain, std, self._keys(x, 2))

    def _torch_uniforms(self, like: torch.Tensor) -> torch.Tensor:
        return torch.rand(like.shape, generator=self.generator, device=like.device, dtype=like.dtype)

    def _keys(self, x: torch.Tensor, per_element: int = 1) -> list[int]:
        """The stream state for a draw over all of ``x`` (``per_element`` outputs each), and the state moved
        past it."""
        return [self._advance(per_element * x.numel())]

    def _advance(self, n: int) -> int:
        key = self._counter
        self._counter = (key + n * counter_draws.GAMMA) & counter_draws.MASK64
        return key

    def uniform(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator, device=self.device, dtype=dtype)

    def normal(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, device=self.device, dtype=dtype)

    def integers(self, high: int, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randint(high, shape, generator=self.generator, device=self.device)

    def permutation(self, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=self.generator, device=self.device)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """Plain-Python/tensor state (safe for ``torch.load(weights_only=True)``)."""
        return {"torch": self.generator.get_state().cpu(), "counter": self._counter}

    def set_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["torch"])
        if self._counter is not None:
            if "counter" not in state:
                raise CheckpointError("this checkpoint's random state comes from an older boltzlab (before "
                                      "counter-based draws); it cannot be resumed exactly: start the run over")
            self._counter = int(state["counter"])


class SplitRng(Rng):
    """Several independent streams behind one :class:`Rng` interface, plus a stream of its own.

    A draw whose first dimension runs over blocks (chain shards of a data-parallel run, replicas of a
    batched run) is split into equal blocks along that dimension, one per stream, each filled from its own
    stream exactly as a separate run would fill it.  ``permutation`` (data order) draws from the own stream.
    """

    def __init__(self, streams: list[Rng], seed: int | np.random.SeedSequence | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(seed, device)
        self.streams = list(streams)

    blocks_name = "random streams"  # what the streams stand for, in the error message

    def _blocks(self, n: int) -> int:
        k = len(self.streams)
        if n % k:
            raise ConfigError(f"{n} rows cannot be split evenly over {k} {self.blocks_name}")
        return n // k

    def _keys(self, x: torch.Tensor, per_element: int = 1) -> list[int]:
        """Each stream draws for its block of rows, as a separate run of that block would."""
        self._blocks(x.shape[0])
        k = per_element * (x.numel() // len(self.streams))
        return [s._advance(k) for s in self.streams]

    def _torch_uniforms(self, like: torch.Tensor) -> torch.Tensor:
        b = self._blocks(like.shape[0])
        return torch.cat([s._torch_uniforms(like[i * b:(i + 1) * b]) for i, s in enumerate(self.streams)])

    def uniform(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        b = self._blocks(shape[0])
        return torch.cat([s.uniform((b, *shape[1:]), dtype) for s in self.streams])

    def normal(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        b = self._blocks(shape[0])
        return torch.cat([s.normal((b, *shape[1:]), dtype) for s in self.streams])

    def integers(self, high: int, shape: tuple[int, ...]) -> torch.Tensor:
        b = self._blocks(shape[0])
        return torch.cat([s.integers(high, (b, *shape[1:])) for s in self.streams])


def as_rng(rng: Rng | int | None, device: torch.device | str = "cpu") -> Rng:
    """Accept an :class:`Rng`, a seed, or None (fresh entropy)."""
    return rng if isinstance(rng, Rng) else Rng(rng, device)
