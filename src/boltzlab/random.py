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

# dtype -> (mantissa mask, bit pattern of 1.0, integer view of the same width)
_MANTISSA = {torch.float32: (0x007FFFFF, 0x3F800000, np.int32),
             torch.float64: (0x000FFFFFFFFFFFFF, 0x3FF0000000000000, np.int64)}


class Rng:
    """Seeded random streams for one device.

    Parameters
    ----------
    seed : int or None
        None draws fresh entropy from the OS.
    device : torch device of the tensors the stream fills.
    """

    def __init__(self, seed: int | None = None, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        ss = np.random.SeedSequence(seed)
        torch_seed, bits_seed = ss.spawn(2)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(torch_seed.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        self._bits = np.random.SFC64(bits_seed) if self.device.type == "cpu" else None

    # ------------------------------------------------------------------ draws
    def bernoulli_(self, p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Write Bernoulli(p) draws (0./1.) into ``out``; ``p`` is overwritten (it may alias ``out``)."""
        spec = _MANTISSA.get(p.dtype)
        if self._bits is None or spec is None or not p.is_contiguous():
            u = torch.rand(p.shape, generator=self.generator, device=p.device, dtype=p.dtype)
            return torch.lt(u, p, out=out)
        mask, one, ndtype = spec
        n = p.numel()
        words = self._bits.random_raw((n * np.dtype(ndtype).itemsize + 7) // 8)
        bits = torch.from_numpy(words.view(ndtype)[:n]).view(p.shape)
        bits.bitwise_and_(mask).bitwise_or_(one)
        p.add_(1.0)  # compare u + 1 in [1, 2) with p + 1
        return torch.lt(bits.view(p.dtype), p, out=out)

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


def as_rng(rng: Rng | int | None, device: torch.device | str = "cpu") -> Rng:
    """Accept an :class:`Rng`, a seed, or None (fresh entropy)."""
    return rng if isinstance(rng, Rng) else Rng(rng, device)
