"""Block Gibbs sampling for RBMs of any unit types, at any inverse temperature.

One sweep draws h ~ p(h | v) then v ~ p(v | h) (Fischer & Igel, "Training restricted Boltzmann machines:
an introduction", Pattern Recognition 47, 2014, eq. 27-28 and section 4.1, with E -> beta E).  The loop is written for throughput: the two input buffers are allocated once, the
matrix products write into them, the layers sample in place, the centering offsets are folded into one
bias vector per layer, float32 products on the CPU run through the routine measured fastest
(:mod:`boltzlab.sampling.product`), and binary and
spin layers draw in one fused pass (:mod:`boltzlab.counter_draws`).  benchmarks/gibbs_throughput.py measures
the sweep against the floor set by the two matrix products alone (figures in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import torch

from ..random import Rng
from .product import FastestProduct, cpu_float32_candidates


def _shift(offset: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor | None:
    """-offset @ matrix, or None when the offset is zero (then a plain product suffices)."""
    return None if not bool(offset.any()) else -(offset @ matrix)


@torch.no_grad()
def block_gibbs(model, v: torch.Tensor, steps: int, beta: float = 1.0, rng: Rng | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``steps`` block-Gibbs sweeps from visible states ``v`` (not modified); return ``(v, h)``.

    With ``steps == 0`` the hidden states are drawn once from p(h | v) and ``v`` is returned as given.
    """
    rng = rng if rng is not None else Rng(None, v.device)
    vis, hid = model.visible, model.hidden
    w = model.weights.detach()
    wt = w.t()
    shift_h = _shift(model.visible_offset, w)
    shift_v = _shift(model.hidden_offset, wt)
    n = v.shape[0]
    buf_h = torch.empty(n, hid.n_features, dtype=w.dtype, device=w.device)
    buf_v = torch.empty(n, vis.n_features, dtype=w.dtype, device=w.device)
    fv = vis.features(v)
    h = None
    for _ in range(max(int(steps), 1)):
        _product(fv, w, shift_h, buf_h)
        h = hid.sample_(buf_h, beta, rng)
        if steps == 0:
            return v, h
        _product(hid.features(h), wt, shift_v, buf_v)
        v = vis.sample_(buf_v, beta, rng)
        fv = vis.features(v)
    # h lives in buf_h, which the loop overwrote only before drawing it; v lives in buf_v.
    return v, h


_CPU_FLOAT32 = FastestProduct(cpu_float32_candidates())


def _product(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
    """out = x @ m (+ shift): one (batched, for 3-d operands of stacked replicas) product into ``out``.

    Float32 on the CPU goes through the routine measured fastest for its shape (:class:`FastestProduct`);
    stacked replicas then take one product per replica, the very computation a separate run of that replica
    does, so that batched and separate runs stay identical bit for bit.
    """
    batched = x.dim() == 3
    if (x.dtype == torch.float32 and x.device.type == "cpu"
            and not (torch.is_grad_enabled() and (x.requires_grad or m.requires_grad))):
        if not batched:
            _CPU_FLOAT32(x, m, shift, out)
        else:
            for r in range(x.shape[0]):
                _CPU_FLOAT32(x[r], m[r], None if shift is None else shift[r].reshape(-1), out[r])
        return
    if shift is None:
        (torch.bmm if batched else torch.mm)(x, m, out=out)
    else:
        (torch.baddbmm if batched else torch.addmm)(shift, x, m, out=out)


class PersistentChains:
    """A set of Markov chains that survive between calls (PCD, sampling checkpoints).

    Holds the visible states; :meth:`run` advances them ``steps`` block-Gibbs sweeps with the model's
    current parameters and returns the new ``(v, h)``.
    """

    def __init__(self, v: torch.Tensor) -> None:
        self.v = v

    def run(self, model, steps: int, beta: float, rng: Rng) -> tuple[torch.Tensor, torch.Tensor]:
        v, h = block_gibbs(model, self.v, steps, beta, rng)
        self.v = v
        return v, h
