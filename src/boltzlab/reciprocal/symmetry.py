"""Rotational symmetry of the weight matrix and its breaking by training.

Toledo-Marin et al., arXiv:2503.21536 (2025), eq. 49-50 and Fig. 4.  For W with independent N(0, sigma^2)
entries, P(W) ∝ exp(-Tr(W W^T) / 2 sigma^2) depends only on the singular values, so rotating the singular
vectors leaves its law unchanged; a trained W has structured singular vectors, and rotations change the
distribution of its entries.

The test (Fig. 4): ceil(0.1 N) rotations of U and ceil(0.1 M) of V, each by a uniform angle in a random
2-plane of mode space (the paper's Ref. [31]; ``method="planes"``) or one Haar rotation each
(``method="haar"``); rebuild W_R = U_R Sigma V_R^T and report the squared Jensen-Shannon divergence (base 2)
between the histograms of the entries of W and W_R.  The rotations act on the mode index (U_R = U R; the
paper's R U R^T also rotates pixel coordinates, and both preserve eq. 50).  The null level is the same test on
matrices with the same singular values and Haar-random singular vectors; the symmetry counts as broken when
the divergence exceeds ``ratio_threshold`` times the null mean and the null mean by ``threshold`` null
standard deviations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from scipy.spatial.distance import jensenshannon

from ..errors import require
from .transform import ReciprocalTransform

METHODS = ("planes", "haar")


def plane_rotation(q: torch.Tensor, e1: torch.Tensor, e2: torch.Tensor, angle: float) -> torch.Tensor:
    """Q R for the rotation R by ``angle`` in the plane span(e1, e2) (orthonormal), fixing its complement.

    R = I + (cos a - 1)(e1 e1^T + e2 e2^T) + sin a (e2 e1^T - e1 e2^T): the rotation "about the
    (n - 2)-dimensional subspace" orthogonal to the plane.  Acting on the columns (modes) of Q, it costs
    two matrix-vector products and two rank-one updates.
    """
    c, s = math.cos(angle), math.sin(angle)
    q1, q2 = q @ e1, q @ e2
    return q + torch.outer(q1, (c - 1) * e1 - s * e2) + torch.outer(q2, (c - 1) * e2 + s * e1)


def coordinate_plane(n: int, i: int, j: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    e1 = torch.zeros(n, dtype=like.dtype, device=like.device)
    e2 = torch.zeros_like(e1)
    e1[i] = 1.0
    e2[j] = 1.0
    return e1, e2


def random_plane(n: int, gen: torch.Generator, like: torch.Tensor,
                 allowed: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """An orthonormal pair spanning a uniformly random 2-plane (within the coordinates ``allowed``).

    Two Gaussian vectors, orthonormalised by Gram-Schmidt: their span is uniform on the Grassmannian.
    """
    g = torch.randn(2, n, generator=gen, dtype=torch.float64)
    if allowed is not None:
        mask = torch.zeros(n, dtype=torch.float64)
        mask[allowed] = 1.0
        g = g * mask
    e1 = g[0] / g[0].norm()
    e2 = g[1] - (g[1] @ e1) * e1
    e2 = e2 / e2.norm()
    return e1.to(like), e2.to(like)


def haar_orthogonal(n: int, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian matrix with the sign fix of Mezzadri 2007)."""
    z = torch.randn(n, n, generator=gen, dtype=torch.float64)
    qmat, r = torch.linalg.qr(z)
    d = torch.sign(torch.diagonal(r))
    d[d == 0] = 1.0
    return (qmat * d).to(like)


def random_rotations(q: torch.Tensor, n_rotations: int, gen: torch.Generator, method: str = "planes",
                     angle: float | None = None) -> torch.Tensor:
    """Rotate the columns of ``q`` by ``n_rotations`` random plane rotations, or by one Haar matrix."""
    require(method in METHODS, f"rotation method must be one of {', '.join(METHODS)}; got {method!r}")
    n = q.shape[1]
    if n < 2:
        return q.clone()
    if method == "haar":
        return q @ haar_orthogonal(n, gen, q)
    for _ in range(int(n_rotations)):
        e1, e2 = random_plane(n, gen, q)
        a = float(torch.rand((), generator=gen, dtype=torch.float64)) * 2 * math.pi if angle is None else angle
        q = plane_rotation(q, e1, e2, a)
    return q


def rotated_weights(t: ReciprocalTransform, fraction: float = 0.1, method: str = "planes", seed: int = 0,
                    singular_values: torch.Tensor | None = None, U: torch.Tensor | None = None,
                    V: torch.Tensor | None = None) -> torch.Tensor:
    """W_R = U_R Sigma V_R^T after ceil(fraction N) rotations of U and ceil(fraction M) of V."""
    require(0 < fraction <= 10, f"the rotation fraction must lie in (0, 10]; got {fraction}")
    gen = torch.Generator().manual_seed(int(seed))
    U = t.U if U is None else U
    V = t.V if V is None else V
    lam = t.singular_values if singular_values is None else singular_values
    ur = random_rotations(U, math.ceil(fraction * U.shape[0]), gen, method)
    vr = random_rotations(V, math.ceil(fraction * V.shape[0]), gen, method)
    m = lam.numel()
    return (ur[:, :m] * lam) @ vr[:, :m].T


def common_bins(a: np.ndarray, b: np.ndarray, max_bins: int = 512) -> np.ndarray:
    """Shared bin edges: the Freedman-Diaconis width over the central 99.9% of the pooled entries.

    Entries beyond that range fall into the end bins (see :func:`histogram`), so heavy tails neither
    stretch the bins nor get lost.
    """
    pooled = np.concatenate([a.ravel(), b.ravel()])
    lo, hi = np.quantile(pooled, [0.0005, 0.9995])
    q1, q3 = np.quantile(pooled, [0.25, 0.75])
    width = 2 * (q3 - q1) * pooled.size ** (-1 / 3)
    if not (hi > lo) or width <= 0:
        lo, hi = float(pooled.min()) - 0.5, float(pooled.max()) + 0.5
        return np.linspace(lo, hi, 11)
    n = int(np.clip(math.ceil((hi - lo) / width), 10, max_bins))
    return np.linspace(lo, hi, n + 1)


def histogram(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Probabilities of the bins (values outside the edges counted in the end bins)."""
    counts, _ = np.histogram(np.clip(x.ravel(), edges[0], edges[-1]), bins=edges)
    return counts / counts.sum()


def js_divergence(a: np.ndarray, b: np.ndarray, edges: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Jensen-Shannon divergence (base 2) between the entry histograms of ``a`` and ``b``; and the edges."""
    edges = common_bins(a, b) if edges is None else edges
    d = jensenshannon(histogram(a, edges), histogram(b, edges), base=2)
    return float(d) ** 2, edges


@dataclass
class RotationTest:
    """Result of :func:`rotation_test` (Fig. 4)."""

    js: float
    js_null_mean: float
    js_null_std: float
    null: list[float]
    method: str
    fraction: float
    n_rotations: tuple[int, int]
    threshold: float
    ratio_threshold: float
    edges: np.ndarray = field(repr=False)
    p_before: np.ndarray = field(repr=False)
    p_after: np.ndarray = field(repr=False)

    @property
    def ratio(self) -> float:
        return self.js / self.js_null_mean if self.js_null_mean > 0 else math.inf

    @property
    def broken(self) -> bool:
        """True when the divergence is > ratio_threshold x the null mean and > threshold null stds above it."""
        return bool(self.js > self.js_null_mean + self.threshold * self.js_null_std
                    and self.ratio > self.ratio_threshold)

    def to_dict(self) -> dict[str, Any]:
        return {"js": self.js, "js_null_mean": self.js_null_mean, "js_null_std": self.js_null_std,
                "js_null": self.null, "ratio_to_null": self.ratio, "symmetry_broken": self.broken,
                "method": self.method, "fraction": self.fraction, "n_rotations": list(self.n_rotations),
                "threshold_null_stds": self.threshold,
                "ratio_threshold": self.ratio_threshold, "n_bins": len(self.edges) - 1}


@torch.no_grad()
def rotation_test(t: ReciprocalTransform, fraction: float = 0.1, method: str = "planes", seed: int = 0,
                  null_draws: int = 5, threshold: float = 5.0, ratio_threshold: float = 2.0) -> RotationTest:
    """Jensen-Shannon divergence between the entries of W before and after random rotations, with a null.

    See the module docstring.  ``null_draws`` matrices with the same singular values and Haar singular
    vectors, each rotated the same way, give the divergence expected when the symmetry holds.
    """
    require(null_draws >= 2, f"null_draws must be >= 2 (the null level needs a spread); got {null_draws}")
    w = t.weights.detach()
    wr = rotated_weights(t, fraction, method, seed)
    a, b = w.double().cpu().numpy(), wr.double().cpu().numpy()
    js, edges = js_divergence(a, b)
    null = []
    gen = torch.Generator().manual_seed(10_000 + int(seed))
    for k in range(int(null_draws)):
        uh = haar_orthogonal(t.n_visible, gen, t.U)
        vh = haar_orthogonal(t.n_hidden, gen, t.V)
        w0 = (uh[:, :t.n_modes] * t.singular_values) @ vh[:, :t.n_modes].T
        w0r = rotated_weights(t, fraction, method, seed + 1 + k, U=uh, V=vh)
        a0, b0 = w0.double().cpu().numpy(), w0r.double().cpu().numpy()
        null.append(js_divergence(a0, b0)[0])
    n_rot = (math.ceil(fraction * t.n_visible), math.ceil(fraction * t.n_hidden)) if method == "planes" else (1, 1)
    return RotationTest(js, float(np.mean(null)), float(np.std(null, ddof=1)), null, method, float(fraction),
                        n_rot, float(threshold), float(ratio_threshold), edges, histogram(a, edges), histogram(b, edges))


def rotate_modes(q: torch.Tensor, planes: Sequence[tuple[int, int]], angles: Sequence[float]) -> torch.Tensor:
    """Rotate the columns of ``q`` in the coordinate planes (i, j) of mode space by the given angles."""
    for (i, j), a in zip(planes, angles):
        e1, e2 = coordinate_plane(q.shape[1], int(i), int(j), q)
        q = plane_rotation(q, e1, e2, float(a))
    return q
