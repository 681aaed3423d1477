"""Block Gibbs for several independent RBMs at once: one batched matrix product per half-sweep.

Replica studies (replicas of one architecture trained from
different seeds), temperature scans and model comparisons run R models of the same shape side by side.
:class:`ReplicaBatch` stacks their couplings into one (R, n_visible, n_hidden) tensor, so each half-sweep
is one ``torch.baddbmm`` for all replicas (one kernel launch on a GPU instead of R).  Where every replica
runs at one inverse temperature and the unit types allow it (``Layer.stackable``), the elementwise
sampling is batched too: one copy of each layer holds the replicas' parameters stacked as (R, 1, n), and
each replica's rows of every draw come from that replica's own stream (:class:`boltzlab.random.SplitRng`).
Otherwise each replica's layer samples its block at its own inverse temperature.  Either way a replica's
chains are exactly those of a separate :func:`~boltzlab.sampling.block_gibbs` run with the same stream, up
to the rounding of the batched product (bitwise-equal samples in float64 in practice).
Models of different shapes are grouped by shape (:func:`group_by_shape`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ShapeError, require
from ..random import Rng, SplitRng
from ..units import Layer
from .gibbs import _product


def _shape_key(model) -> tuple[Any, ...]:
    return (repr(model.visible.config()), repr(model.hidden.config()), model.weights.dtype,
            str(model.weights.device))


def group_by_shape(models: Sequence[Any]) -> list[list[int]]:
    """Indices of ``models`` grouped so that each group can form one :class:`ReplicaBatch`."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, m in enumerate(models):
        groups.setdefault(_shape_key(m), []).append(i)
    return list(groups.values())


class ReplicaBatch:
    """R RBMs with the same layer types, sizes, dtype and device, sampled in one batched computation."""

    def __init__(self, models: Sequence[Any]) -> None:
        self.models = list(models)
        require(self.models, "a replica batch needs at least one model", ShapeError)
        keys = {_shape_key(m) for m in self.models}
        require(len(keys) <= 1, "replicas in one batch must share layer types, sizes, dtype and device; "
                                "use group_by_shape() to split them", ShapeError)

    def __len__(self) -> int:
        return len(self.models)

    @property
    def device(self) -> torch.device:
        return self.models[0].weights.device

    def _shift(self, offsets: list[torch.Tensor], mats: torch.Tensor) -> torch.Tensor | None:
        """-offset_r @ M_r for every replica as (R, 1, n), or None when every offset is zero."""
        off = torch.stack(offsets)
        if not bool(off.any()):
            return None
        return -torch.bmm(off.unsqueeze(1), mats)

    @torch.no_grad()
    def sample(self, n_samples: int, steps: int = 100, beta: float | Sequence[float] = 1.0,
               seeds: Sequence[int] | None = None, *, init: torch.Tensor | None = None,
               rngs: Sequence[Rng] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Gibbs chains for every replica from random starts (or ``init``, shape (R, n, n_visible)).

        ``seeds`` (one per replica) or ``rngs`` give the streams; replica r's result equals
        ``models[r].sample(n_samples, steps, beta[r], seed=seeds[r])``.  Returns (R, n, ·) tensors.
        """
        rngs = self._streams(seeds, rngs)
        if init is None:
            v0 = torch.stack([m.visible.random_state(int(n_samples), g) for m, g in zip(self.models, rngs)])
        else:
            v0 = init
        return self.gibbs(v0, steps, beta, rngs)

    def _streams(self, seeds: Sequence[int] | None, rngs: Sequence[Rng] | None) -> list[Rng]:
        if rngs is None:
            seeds = list(seeds) if seeds is not None else list(range(len(self)))
            rngs = [Rng(s, self.device) for s in seeds]
        require(len(rngs) == len(self), f"{len(rngs)} random streams for {len(self)} replicas", ShapeError)
        return list(rngs)

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, steps: int, beta: float | Sequence[float], rngs: Sequence[Rng],
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """``steps`` block-Gibbs sweeps of every replica from ``v`` (R, n, n_visible); returns (v, h).

        With ``steps == 0`` the hidden states are drawn once and ``v`` is returned as given.
        """
        models, r = self.models, len(self.models)
        betas = [float(beta)] * r if isinstance(beta, (int, float)) else [float(b) for b in beta]
        require(len(betas) == r, f"{len(betas)} inverse temperatures for {r} replicas", ShapeError)
        if v.dim() != 3 or v.shape[0] != r:
            raise ShapeError(f"replica states have shape {tuple(v.shape)}; expected ({r}, chains, n_visible)")
        w = torch.stack([m.weights.detach() for m in models])
        wt = w.transpose(1, 2)
        shift_h = self._shift([m.visible_offset for m in models], w)
        shift_v = self._shift([m.hidden_offset for m in models], wt)
        n = v.shape[1]
        vis0, hid0 = models[0].visible, models[0].hidden
        buf_h = torch.empty(r, n, hid0.n_features, dtype=w.dtype, device=w.device)
        buf_v = torch.empty(r, n, vis0.n_features, dtype=w.dtype, device=w.device)
        if len(set(betas)) == 1 and type(vis0).stackable and type(hid0).stackable:
            # One elementwise pass for all replicas: the layers' parameters stacked, each replica's
            # rows of every draw taken from its own stream.
            vis = [_stacked([m.visible for m in models])]
            hid = [_stacked([m.hidden for m in models])]
            betas, rngs = betas[:1], [SplitRng(list(rngs), 0, w.device)]
        else:
            vis, hid = [m.visible for m in models], [m.hidden for m in models]
        fv = _features(vis, v)
        h = buf_h
        for _ in range(max(int(steps), 1)):
            _product(fv, w, shift_h, buf_h)
            h = _sample(hid, buf_h, betas, rngs)
            if steps == 0:
                return v, h
            _product(_features(hid, h), wt, shift_v, buf_v)
            v = _sample(vis, buf_v, betas, rngs)
            fv = _features(vis, v)
        return v, h


def _stacked(layers: list[Layer]) -> Layer:
    """One layer acting on (R, n, units) states as the R ``layers`` would: parameters stacked as (R, 1, ...)."""
    st = copy.deepcopy(layers[0])
    with torch.no_grad():
        for name, _ in layers[0].named_parameters(recurse=False):
            setattr(st, name, nn.Parameter(torch.stack([getattr(l, name).detach() for l in layers]).unsqueeze(1),
                                           requires_grad=False))
        for name, _ in layers[0].named_buffers(recurse=False):
            setattr(st, name, torch.stack([getattr(l, name) for l in layers]).unsqueeze(1))
    return st


def _blocks(layers: list[Any], x: torch.Tensor) -> list[torch.Tensor]:
    """The slices of ``x`` the ``layers`` act on: all of it for one stacked layer, else one per replica."""
    return [x] if len(layers) == 1 else [x[i] for i in range(len(layers))]


def _sample(layers: list[Any], inputs: torch.Tensor, betas: list[float], rngs: Sequence[Rng]) -> torch.Tensor:
    """Each layer samples its block of ``inputs`` in place (copied back if a layer returns anew)."""
    blocks = _blocks(layers, inputs)
    outs = [layer.sample_(x, b, g) for layer, x, b, g in zip(layers, blocks, betas, rngs)]
    if all(o.data_ptr() == x.data_ptr() and o.shape == x.shape for o, x in zip(outs, blocks)):
        return inputs
    return outs[0] if len(outs) == 1 else torch.stack(outs)


def _features(layers: list[Any], x: torch.Tensor) -> torch.Tensor:
    """phi(x) as one (R, n, n_features) tensor (no copy for layers whose features are x itself)."""
    blocks = _blocks(layers, x)
    outs = [layer.features(b) for layer, b in zip(layers, blocks)]
    if all(o.data_ptr() == b.data_ptr() and o.shape == b.shape for o, b in zip(outs, blocks)):
        return x
    return outs[0] if len(outs) == 1 else torch.stack(outs)
