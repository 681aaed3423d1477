"""Random streams for samplers.

One :class:`Rng` bundles a ``torch.Generator`` on the chains' device with, on the CPU, a NumPy
``SFC64`` bit generator that feeds the Bernoulli hot path.  PyTorch's CPU ``uniform_`` draws one
Mersenne-Twister number per element (about 3 ns on this machine), which costs more than the two
matrix products of a 784x500 Gibbs sweep at 2000 chains; ``SFC64.random_raw`` yields 64 random bits in
under 2 ns, and :meth:`Rng.bernoulli_` turns them into uniforms with the exponent trick (random mantissa
bits under the exponent of 1.0 give a float uniform on [1, 2) with 23 (float32) or 52 (float64) random
bits, as fine as ``torch.rand``).  On CUDA everything uses the device's Philox generator.

The state of both streams is part of a checkpoint, so that resumed runs repeat exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import ConfigError

# dtype -> (mantissa mask, bit pattern of 1.0, integer view of the same width)
_MANTISSA = {torch.float32: (0x007FFFFF, 0x3F800000, np.int32),
             torch.float64: (0x000FFFFFFFFFFFFF, 0x3FF0000000000000, np.int64)}


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
        torch_seed, bits_seed = ss.spawn(2)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(torch_seed.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        self._bits = np.random.SFC64(bits_seed) if self.device.type == "cpu" else None

    # ------------------------------------------------------------------ draws
    def bernoulli_(self, p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Write Bernoulli(p) draws (0./1.) into ``out``; ``p`` is overwritten (it may alias ``out``)."""
        return _compare(self._draws(p.numel(), p.dtype, p.device), p, out)

    def _draws(self, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """n raw draws for Bernoulli comparisons: random mantissa words (CPU fast path) or uniforms."""
        spec = _MANTISSA.get(dtype)
        if self._bits is None or spec is None:
            return torch.rand(n, generator=self.generator, device=device, dtype=dtype)
        ndtype = spec[2]
        words = self._bits.random_raw((n * np.dtype(ndtype).itemsize + 7) // 8)
        return torch.from_numpy(words.view(ndtype)[:n])

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
        bits = None
        if self._bits is not None:
            st = self._bits.state
            bits = {"state": [int(x) for x in st["state"]["state"]],
                    "has_uint32": int(st["has_uint32"]), "uinteger": int(st["uinteger"])}
        return {"torch": self.generator.get_state().cpu(), "bits": bits}

    def set_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["torch"])
        bits = state.get("bits")
        if self._bits is not None and bits is not None:
            self._bits.state = {"bit_generator": "SFC64",
                                "state": {"state": np.array(bits["state"], dtype=np.uint64)},
                                "has_uint32": bits["has_uint32"], "uinteger": bits["uinteger"]}


def _compare(draws: torch.Tensor, p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Bernoulli(p) into ``out`` from raw draws (row-major over p): uniforms, or mantissa words turned into
    uniforms on [1, 2) by the exponent trick and compared with p + 1 (``p`` is overwritten)."""
    if draws.is_floating_point():
        return torch.lt(draws.view(p.shape), p, out=out)
    mask, one, _ = _MANTISSA[p.dtype]
    bits = draws.view(p.shape)
    bits.bitwise_and_(mask).bitwise_or_(one)
    p.add_(1.0)
    return torch.lt(bits.view(p.dtype), p, out=out)


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

    def bernoulli_(self, p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Each stream draws for its block of rows; one comparison for all of them."""
        k = self._blocks(p.shape[0]) * (p.numel() // max(p.shape[0], 1))
        return _compare(torch.cat([s._draws(k, p.dtype, p.device) for s in self.streams]), p, out)

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
