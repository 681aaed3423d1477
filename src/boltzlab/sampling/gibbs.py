"""Block Gibbs sampling for RBMs of any unit types, at any inverse temperature.

One sweep draws h ~ p(h | v) then v ~ p(v | h) (../shared/papers/energy-based-models-theory.md, eq. 20-21,
with E -> beta E).  The loop is written for throughput: the two input buffers are allocated once, the
matrix products write into them, the layers sample in place, the centering offsets are folded into one
bias vector per layer, float32 products on the CPU run through oneDNN (see :func:`_product`), and binary and
spin layers draw in one fused pass (:mod:`boltzlab.counter_draws`).  benchmarks/gibbs_throughput.py measures
the sweep against the floor set by the two matrix products alone (figures in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import torch

from ..random import Rng


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


def _onednn_linear():
    """oneDNN's product-plus-bias kernel (``torch.ops.mkldnn._linear_pointwise``), or None where this
    PyTorch lacks it.  On CPUs whose AVX-512 units MKL's sgemm leaves unused (AMD Zen 4) it computes the
    float32 products of a sweep faster than ``torch.mm`` (benchmarks/RESULTS.md), reading a transposed
    weight as a view at no cost."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_LINEAR = _onednn_linear()


def _onednn_product(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
    """out = x @ m (+ shift) for 2-d float32 CPU operands, by oneDNN (requires ``_LINEAR``)."""
    out.copy_(_LINEAR(x, m.t(), shift, "none", [], ""))


def _product(x: torch.Tensor, m: torch.Tensor, shift: torch.Tensor | None, out: torch.Tensor) -> None:
    """out = x @ m (+ shift): one (batched, for 3-d operands of stacked replicas) product into ``out``.

    Float32 on the CPU goes through oneDNN where available (:func:`_onednn_product`); stacked replicas then
    take one product per replica, the very computation a separate run of that replica does, so that batched
    and separate runs stay identical bit for bit.
    """
    batched = x.dim() == 3
    if (_LINEAR is not None and x.dtype == torch.float32 and x.device.type == "cpu"
            and not (torch.is_grad_enabled() and (x.requires_grad or m.requires_grad))):
        if not batched:
            _onednn_product(x, m, shift, out)
        else:
            for r in range(x.shape[0]):
                _onednn_product(x[r], m[r], None if shift is None else shift[r].reshape(-1), out[r])
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
