"""Hierarchical learning: what the singular directions of a trained RBM encode (Fig. 6).

Toledo-Marin et al., arXiv:2503.21536 (2025), section 5.2.  The last half-step of block Gibbs sampling draws
v from sigma(W h + a') = sigma(U Sigma V^T h + a').  Rotating U by pi "around all but the two dimensions
associated with the largest singular values" (a rotation in the plane of modes 1 and 2, which flips both)
changes the samples globally; ten consecutive pi rotations in random planes of modes outside the five
leading ones change them locally.  Those planes are drawn from the range of W (modes with a non-zero
singular value): a plane of null-space columns of U would leave W, and the images, unchanged.
:func:`hierarchy_images` shows the same hidden states decoded through the original and the rotated U,
as visible means.

The rotated decoders keep the un-centred visible bias a' = a - W h_hat fixed (see
:mod:`boltzlab.reciprocal.transform`), so the result does not depend on the centering offsets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import require
from ..random import Rng
from .symmetry import rotate_modes
from .transform import reciprocal_transform


def top_planes(k: int) -> list[tuple[int, int]]:
    """Coordinate planes (0, 1), (2, 3), ... that together rotate the ``k`` leading modes (k even)."""
    require(k >= 2 and k % 2 == 0, f"the number of leading modes to rotate must be even and >= 2; got {k}")
    return [(i, i + 1) for i in range(0, k, 2)]


def range_rank(singular_values: torch.Tensor, rtol: float = 1e-10) -> int:
    """The rank of W: the number of singular values above ``rtol`` times the largest one.

    Only the first rank(W) columns of U enter W = U Sigma V^T; a rotation of U in a plane of two of the
    remaining (null-space) columns leaves W, and every sample decoded through it, unchanged.
    """
    if singular_values.numel() == 0 or float(singular_values.max()) == 0.0:
        return 0
    return int((singular_values > rtol * singular_values.max()).sum())


def random_planes_outside(rank: int, protect: int, n_rotations: int, gen: torch.Generator) -> list[tuple[int, int]]:
    """``n_rotations`` coordinate planes of two distinct modes drawn from ``protect <= i < rank``.

    ``rank`` is the rank of W (:func:`range_rank`), so every plane lies in the range of W and every
    rotation changes W: the "outside" rotations of Fig. 6 mix learned directions, never null ones.
    """
    require(rank - protect >= 2, f"cannot rotate outside the first {protect} modes: W has rank {rank}, so fewer than "
                                 f"two modes of its range are left")
    planes = []
    for _ in range(int(n_rotations)):
        i, j = (int(k) + protect for k in torch.randperm(rank - protect, generator=gen)[:2])
        planes.append((i, j))
    return planes


@torch.no_grad()
def hierarchy_images(model: Any, n_samples: int = 10, steps: int = 1000, seed: int = 0, top: int = 2,
                     protect: int = 5, n_rotations: int = 10, angle: float = math.pi) -> dict[str, Any]:
    """Visible means p(v = 1 | h) of Gibbs-sampled hidden states through the original and rotated U.

    Returns ``{"rows": {label: (n_samples, N) array}, "planes_top": ..., "planes_outside": ...}`` with
    rows "gibbs samples v", "original U", "U rotated in the top-k plane(s)" and "U rotated outside the
    top-p modes"; the outside planes are drawn from modes ``protect <= i < rank(W)``.
    """
    t = reciprocal_transform(model)
    gen = torch.Generator().manual_seed(int(seed))
    v, h = model.sample(int(n_samples), steps=int(steps), rng=Rng(seed, model.device))
    planes_top = top_planes(top)
    planes_out = random_planes_outside(range_rank(t.singular_values), protect, n_rotations, gen)
    u_top = rotate_modes(t.U, planes_top, [angle] * len(planes_top))
    u_out = rotate_modes(t.U, planes_out, [angle] * len(planes_out))
    shift = model.weights.detach() @ model.hidden_offset  # a' = a - W h_hat; layer.mean adds a

    def decode(w: torch.Tensor) -> np.ndarray:
        inputs = model.hidden.features(h) @ w.T - shift
        return model.visible.mean(inputs).double().cpu().numpy()

    rows = {"Gibbs samples v": v.double().cpu().numpy(),
            "p(v|h), original U": decode(t.weights_from()),
            f"p(v|h), U rotated by {angle:.3g} in the plane(s) of modes 1..{top}": decode(t.weights_from(U=u_top)),
            f"p(v|h), U after {n_rotations} rotations outside modes 1..{protect}": decode(t.weights_from(U=u_out))}
    return {"rows": rows, "planes_top": planes_top, "planes_outside": planes_out, "angle": angle}
