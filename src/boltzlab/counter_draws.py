"""Two-valued and Gaussian draws from a counter-based random stream, fused with the work that uses them.

The uniform of element ``j`` of a draw is computed where it is used, as the output of SplitMix64 (Steele, Lea
and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) at state ``key + (j + 1) * gamma``:

    z = key + (j + 1) * 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)                       (logical shifts, arithmetic mod 2^64)

so a draw of ``k`` elements is the next ``k`` outputs of one stream whose state then moves on by
``k * gamma`` (:class:`boltzlab.random.Rng` keeps that state).  The uniform takes the top 24 bits (float32 and
narrower) or 53 bits (float64).  Gaussian draws of ``k`` elements turn outputs ``j`` and ``k + j`` into
``sqrt(-2 ln u1) cos(2 pi u2)`` (Box and Muller 1958).  ``torch.compile`` fuses hash, conversion, the
logistic of the field and the comparison into one pass; blocks smaller than ``COMPILE_MIN_BLOCK`` elements,
runs without a compiler and ``BOLTZLAB_SAFE_KERNELS=1`` (:func:`safe_kernels`) hash the same counters in
NumPy (:func:`uniforms_numpy`): the same draws, only slower.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import torch

GAMMA = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed 64-bit integer
_C1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_C2 = -7723592293110705685  # 0x94D049BB133111EB
MASK64 = (1 << 64) - 1


def _shift_right(z: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 ``z`` by ``s`` bits (torch's ``>>`` on int64 is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _uniforms(x: torch.Tensor, keys: torch.Tensor, gamma: torch.Tensor, skip: int = 0,
              open_at_zero: bool = False) -> torch.Tensor:
    """The uniform of every element of ``x`` (B, r, m): SplitMix64 of block b at output ``skip + j``; on
    [0, 1), or on (0, 1] with ``open_at_zero``."""
    _, r, m = x.shape
    j = torch.arange(skip + 1, skip + r * m + 1, dtype=torch.int64, device=x.device).view(1, r, m)
    z = keys.view(-1, 1, 1) + j * gamma  # gamma as a tensor keeps the product out of index arithmetic
    z = (z ^ _shift_right(z, 30)) * _C1
    z = (z ^ _shift_right(z, 27)) * _C2
    z = z ^ _shift_right(z, 31)
    bits, dtype = (53, torch.float64) if x.dtype == torch.float64 else (24, torch.float32)
    return (_shift_right(z, 64 - bits) + int(open_at_zero)).to(dtype) * 2.0 ** -bits


def _below_(x: torch.Tensor, keys: torch.Tensor, gamma: torch.Tensor, low: torch.Tensor, high: torch.Tensor,
            ) -> torch.Tensor:
    """x <- high where u < x (x holds probabilities), else low (the kernel torch.compile fuses)."""
    u = _uniforms(x, keys, gamma)
    return x.copy_(torch.where(u < x.to(u.dtype), high, low))


def _below_logistic_(x: torch.Tensor, bias: torch.Tensor, scale: torch.Tensor, keys: torch.Tensor,
                     gamma: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """x <- high where u < sigmoid(scale * (x + bias)), else low (the kernel torch.compile fuses)."""
    u = _uniforms(x, keys, gamma)
    p = torch.sigmoid(scale * (x.to(u.dtype) + bias.to(u.dtype)))
    return x.copy_(torch.where(u < p, high, low))


def _box_muller(u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2.0 * math.pi) * u2)


def _gaussian_(x: torch.Tensor, bias: torch.Tensor, gain: torch.Tensor, std: torch.Tensor, keys: torch.Tensor,
               gamma: torch.Tensor) -> torch.Tensor:
    """x <- (x + bias) gain + std N(0, 1) (the kernel torch.compile fuses)."""
    n = x.shape[1] * x.shape[2]
    z = _box_muller(_uniforms(x, keys, gamma, 0, True), _uniforms(x, keys, gamma, n))
    return x.copy_(((x.to(z.dtype) + bias) * gain + std * z).to(x.dtype))


_FUSED = {"below": _below_, "below_logistic": _below_logistic_, "gaussian": _gaussian_}
COMPILE_MIN_BLOCK = 1 << 12  # smaller blocks hash in NumPy: a compiled kernel saves microseconds per call
# there but costs seconds of tracing in every new process
_compiled: dict[str, object] = {}
_eager_only = False
SAFE_KERNELS_ENV = "BOLTZLAB_SAFE_KERNELS"


def safe_kernels() -> bool:
    """Whether ``BOLTZLAB_SAFE_KERNELS`` asks for public PyTorch operations only: no compiled draws here,
    no private oneDNN operator in :mod:`boltzlab.sampling.product`."""
    return os.environ.get(SAFE_KERNELS_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _fused(name: str, *args) -> bool:
    """Run the compiled kernel ``name`` (compiling it on first use); False where compiling is impossible."""
    global _eager_only
    if _eager_only or safe_kernels() or getattr(torch._dynamo.config, "disable", False):  # TORCH_COMPILE_DISABLE
        return False
    if name not in _compiled:
        _compiled[name] = torch.compile(_FUSED[name], dynamic=True)
    try:
        _compiled[name](*args)
        return True
    except Exception as exc:  # no C++ compiler, or an inductor failure: the same draws from NumPy
        if not _is_compile_failure(exc):
            raise
        _eager_only = True
        warnings.warn(f"torch.compile is unavailable here ({type(exc).__name__}); binary, spin and Gaussian "
                      "draws run unfused and slower, with the same results", RuntimeWarning, stacklevel=3)
        return False


def _is_compile_failure(exc: Exception) -> bool:
    from torch._dynamo.exc import BackendCompilerFailed, TorchRuntimeError
    mod = type(exc).__module__
    return isinstance(exc, (BackendCompilerFailed, TorchRuntimeError, OSError)) or mod.startswith("torch._inductor")


_G64, _M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def uniforms_numpy(shape: tuple[int, int, int], keys: list[int], dtype: torch.dtype, skip: int = 0,
                   open_at_zero: bool = False) -> torch.Tensor:
    """The uniforms of :func:`_uniforms` for a (blocks, rows, units) draw, hashed by NumPy (uint64 wraps and
    shifts logically); the unfused path, and bit for bit what the fused kernel computes."""
    b, r, m = shape
    j = np.arange(skip + 1, skip + r * m + 1, dtype=np.uint64)
    z = np.asarray(keys, dtype=np.uint64).reshape(b, 1) + j * _G64
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    bits, ftype = (53, np.float64) if dtype == torch.float64 else (24, np.float32)
    u = ((z >> np.uint64(64 - bits)) + np.uint64(open_at_zero)).astype(ftype) * ftype(2.0 ** -bits)
    return torch.from_numpy(u.reshape(b, r, m))


def _blocks(x: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """``x`` as (n_blocks, rows, last dim): a view (x must be contiguous); blocks split the first dimension."""
    m = x.shape[-1] if x.dim() > 1 else x.numel() // n_blocks
    return x.view(n_blocks, -1, max(m, 1))


def _compile_worthy(xb: torch.Tensor) -> bool:
    return xb.numel() // xb.shape[0] >= COMPILE_MIN_BLOCK


def fill_below_(x: torch.Tensor, keys: list[int], low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """x (probabilities, contiguous, on the CPU) <- ``high`` with probability x, else ``low``; block b of
    the first dimension draws from the SplitMix64 stream at state ``keys[b]``."""
    if x.numel() == 0:
        return x
    xb = _blocks(x, len(keys))
    if not (_compile_worthy(xb) and _fused("below", xb, _keys(keys), _gamma(), *_values(low, high, x.dtype))):
        u = uniforms_numpy(tuple(xb.shape), keys, x.dtype)
        xb.copy_(torch.where(u < xb.to(u.dtype), high, low))
    return x


def fill_below_logistic_(x: torch.Tensor, bias: torch.Tensor, scale: float, keys: list[int],
                         low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """x (fields, contiguous, on the CPU) <- ``high`` with probability sigmoid(scale (x + bias)), else
    ``low``; bias broadcasts against x viewed as (blocks, rows, units)."""
    if x.numel() == 0:
        return x
    xb = _blocks(x, len(keys))
    s = torch.tensor(float(scale), dtype=torch.float64 if x.dtype == torch.float64 else torch.float32)
    if not (_compile_worthy(xb) and _fused("below_logistic", xb, bias, s, _keys(keys), _gamma(),
                                           *_values(low, high, x.dtype))):
        u = uniforms_numpy(tuple(xb.shape), keys, x.dtype)
        p = torch.sigmoid(s * (xb.to(u.dtype) + bias.to(u.dtype)))
        xb.copy_(torch.where(u < p, high, low))
    return x


def fill_gaussian_(x: torch.Tensor, bias: torch.Tensor, gain: torch.Tensor, std: torch.Tensor,
                   keys: list[int]) -> torch.Tensor:
    """x (contiguous, on the CPU) <- (x + bias) gain + std N(0, 1); bias, gain and std broadcast against x
    viewed as (blocks, rows, units).  Block b takes 2 x (its size) outputs of the stream at ``keys[b]``."""
    if x.numel() == 0:
        return x
    xb = _blocks(x, len(keys))
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    bias, gain, std = (t.to(dtype) for t in (bias, gain, std))
    if not (_compile_worthy(xb) and _fused("gaussian", xb, bias, gain, std, _keys(keys), _gamma())):
        n = xb.shape[1] * xb.shape[2]
        z = _box_muller(uniforms_numpy(tuple(xb.shape), keys, x.dtype, 0, True),
                        uniforms_numpy(tuple(xb.shape), keys, x.dtype, n))
        xb.copy_(((xb.to(dtype) + bias) * gain + std * z).to(x.dtype))
    return x


def _values(low: float, high: float, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The two values as 0-d tensors: as Python floats each pair would be a graph of its own."""
    return torch.tensor(low, dtype=dtype), torch.tensor(high, dtype=dtype)


def _keys(keys: list[int]) -> torch.Tensor:
    return torch.tensor([k - (1 << 64) if k >= 1 << 63 else k for k in keys], dtype=torch.int64)


def _gamma() -> torch.Tensor:
    return torch.tensor(GAMMA, dtype=torch.int64)

