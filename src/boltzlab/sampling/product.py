"""The matrix product of a Gibbs sweep, by whichever routine is measured fastest on this machine.

On the CPU, float32 products can run through ``torch.mm`` (MKL or OpenBLAS sgemm) or through oneDNN's
product-plus-bias kernel (``torch.ops.mkldnn._linear_pointwise``, a private operator).  Which is faster
depends on the CPU: on AMD Zen 4/5 oneDNN uses the AVX-512 units sgemm leaves idle, on some Intel Xeons
``torch.mm`` wins (benchmarks/gibbs_throughput.py reports both).  :class:`FastestProduct` therefore decides
by measurement, once per operand shape and dtype: each candidate computes the product of the actual
operands, must agree with ``torch.mm`` within the float32 rounding bound (|x| @ |m|) k eps, and is timed;
the fastest correct one serves every later product of that shape.  A candidate that raises or disagrees
is dropped.  ``BOLTZLAB_SAFE_KERNELS=1`` in the environment leaves ``torch.mm`` alone (and keeps the
draws of :mod:`boltzlab.counter_draws` uncompiled).
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from ..counter_draws import safe_kernels

Product = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", torch.Tensor], None]
REFERENCE = "torch.mm"
MIN_WORK = 1 << 22  # multiply-adds below which a product is too quick for the choice to matter or to time
_TRIALS = 3


def torch_product(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
    """out = x @ m (+ shift) by ``torch.mm`` / ``torch.addmm``."""
    if shift is None:
        torch.mm(x, m, out=out)
    else:
        torch.addmm(shift, x, m, out=out)


def _onednn_linear():
    """oneDNN's product-plus-bias operator, or None where this PyTorch lacks it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


def onednn_product(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
    """out = x @ m (+ shift) by oneDNN; reads a transposed ``m`` as a view at no cost."""
    out.copy_(torch.ops.mkldnn._linear_pointwise(x, m.t(), shift, "none", [], ""))


def cpu_float32_candidates() -> dict[str, Product]:
    """The routines that may compute a float32 CPU product here: ``torch.mm`` always, oneDNN where present
    and ``BOLTZLAB_SAFE_KERNELS`` is unset."""
    out: dict[str, Product] = {REFERENCE: torch_product}
    if _onednn_linear() is not None and not safe_kernels():
        out["onednn"] = onednn_product
    return out


def _agrees(out: torch.Tensor, ref: torch.Tensor, x: torch.Tensor, m: torch.Tensor,
            shift: torch.Tensor | None) -> bool:
    """Whether two evaluations of x @ m (+ shift) lie within the rounding bound of a sum of k + 1 terms in
    any order, (|x| @ |m| + |shift|) (k + 1) eps (Higham, Accuracy and Stability of Numerical Algorithms,
    2nd ed., SIAM 2002, section 3.5), for each of the two."""
    eps = torch.finfo(out.dtype).eps
    size = x.abs() @ m.abs() + (0.0 if shift is None else shift.abs())
    bound = size * ((x.shape[1] + 1) * eps) + torch.finfo(out.dtype).tiny
    return bool(torch.isfinite(out).all()) and bool(((out - ref).abs() <= 2 * bound).all())


class FastestProduct:
    """out = x @ m (+ shift) by the fastest candidate that computes it correctly, chosen per shape class.

    ``candidates`` maps names to routines ``f(x, m, shift, out)``; the one named ``torch.mm`` (if present) is
    the reference the others must agree with.  Products of fewer than ``min_work`` multiply-adds take the
    reference without measuring.  :attr:`choices` records each decision (key -> name).
    """

    def __init__(self, candidates: dict[str, Product], min_work: int = MIN_WORK) -> None:
        self.candidates = dict(candidates)
        self.min_work = int(min_work)
        self.choices: dict[tuple, str] = {}
        self._chosen: dict[tuple, Product] = {}

    @staticmethod
    def key(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None) -> tuple:
        return x.shape, m.shape, m.stride(), shift is None

    def __call__(self, x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
        key = self.key(x, m, shift)
        f = self._chosen.get(key)
        if f is None:
            f = self._choose(key, x, m, shift, out)
        f(x, m, shift, out)

    def _choose(self, key: tuple, x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None,
                out: torch.Tensor) -> Product:
        names = list(self.candidates)
        ref_name = REFERENCE if REFERENCE in self.candidates else names[0]
        if len(names) == 1 or x.shape[0] * x.shape[1] * m.shape[1] < self.min_work:
            return self._keep(key, ref_name)
        ref = torch.empty_like(out)
        self.candidates[ref_name](x, m, shift, ref)
        trial = torch.empty_like(out)
        usable = []
        for name in names:  # the first call also warms each routine up
            try:
                self.candidates[name](x, m, shift, trial)
            except Exception:  # a routine that cannot run here is no candidate
                if name == ref_name:
                    raise
                continue
            if name == ref_name or _agrees(trial, ref, x, m, shift):
                usable.append(name)
        timings = {name: float("inf") for name in usable}
        for _ in range(_TRIALS):  # interleaved, so that a slow spell of a shared machine hits all alike
            for name in usable:
                t0 = time.perf_counter()
                self.candidates[name](x, m, shift, trial)
                timings[name] = min(timings[name], time.perf_counter() - t0)
        return self._keep(key, min(timings, key=timings.__getitem__))

    def _keep(self, key: tuple, name: str) -> Product:
        self.choices[key] = name
        self._chosen[key] = self.candidates[name]
        return self._chosen[key]
