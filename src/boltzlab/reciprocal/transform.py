"""The RBM in reciprocal space: the SVD of W and the per-mode energies.

Toledo-Marin et al., arXiv:2503.21536 (2025), eq. 14-19.  With W = U Sigma V^T (full SVD, singular values
lambda_1 >= ... >= lambda_m, m = min(N, M)), the reciprocal variables x = U^T v, y = V^T h and biases
a0 = U^T a', b0 = V^T b' split the energy into independent terms (eq. 15-16)

    E(v, h) = sum_{i <= m} E_i(x_i, y_i) + sum_{i > m} (-a0_i x_i  or  -b0_i y_i),
    E_i(x_i, y_i) = -a0_i x_i - b0_i y_i - lambda_i x_i y_i,

each a hyperbolic paraboloid with its saddle at (x0_i, y0_i) = (-b0_i / lambda_i, -a0_i / lambda_i); the
translation to the saddle and a rotation by pi/4 (eq. 18) give (eq. 19)

    E_i(u_i, w_i) = a0_i b0_i / lambda_i - (lambda_i / 2) (u_i^2 - w_i^2),
    u_i = (dx + dy) / sqrt 2,   w_i = (dy - dx) / sqrt 2,   (dx, dy) = (x_i - x0_i, y_i - y0_i).

The uncoupled terms are -a0_i x_i for N > M and -b0_j y_j for M > N.  Centred models enter through the
equivalent un-centred parameters of the paper's eq. 3, a' = a - W h_hat, b' = b - W^T v_hat, with the
constant c0 = -v_hat^T W h_hat kept (:attr:`ReciprocalTransform.constant`), so the per-mode energies plus the
constant are the model's energy exactly.  The columns of U are oriented so that their entries sum to a
non-negative number (mu_x of eq. 51a >= 0), which keeps a mode's orientation stable along training.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .._tensor import as_tensor
from ..errors import ConfigError, ShapeError, require
from ..units.binary import LinearBiasLayer

SQRT2 = math.sqrt(2.0)


def _require_linear_layers(model: Any) -> None:
    from ..models import RBM
    require(isinstance(model, RBM), f"reciprocal space is defined for RBMs (a weight matrix between two layers); "
                                    f"got {type(model).__name__}")
    for name, layer in (("visible", model.visible), ("hidden", model.hidden)):
        if not isinstance(layer, LinearBiasLayer):
            raise ConfigError(f"the reciprocal transform needs binary or spin units (energy linear in the "
                              f"states); the {name} layer has {layer.type_name} units")


def _fix_signs(u: torch.Tensor, v: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip (u_i, v_i) together for coupled modes so that sum_k U_ki >= 0; uncoupled columns on their own."""
    su = torch.where(u.sum(0) < 0, -1.0, 1.0).to(u)
    sv = torch.where(v.sum(0) < 0, -1.0, 1.0).to(v)
    sv[:m] = su[:m]
    return u * su, v * sv


def svd_full(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(U, lambda, V) of W = U Sigma V^T with full square U, V and the sign convention of this module."""
    u, s, vh = torch.linalg.svd(weights, full_matrices=True)
    u, v = _fix_signs(u, vh.transpose(0, 1), s.numel())
    return u, s, v


class ReciprocalTransform:
    """The reciprocal-space form of an RBM with binary or spin units (eq. 14-19).

    Build it with :func:`reciprocal_transform`.  All tensors follow the model's dtype and device.

    Attributes
    ----------
    U : (N, N) left singular vectors (columns), V : (M, M) right singular vectors (columns).
    singular_values : (m,) descending, m = min(N, M).
    a0 : (N,) U^T a', b0 : (M,) V^T b' (reciprocal biases of eq. 17, un-centred biases a', b').
    constant : c0 = -v_hat^T W h_hat (zero for an uncentred model).
    visible_values, hidden_values : the two values a unit of each layer takes, e.g. (0, 1).
    """

    def __init__(self, weights: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor,
                 constant: float = 0.0, visible_values: tuple[float, float] = (0.0, 1.0),
                 hidden_values: tuple[float, float] = (0.0, 1.0)) -> None:
        require(weights.dim() == 2, f"weights must be a matrix; got shape {tuple(weights.shape)}", ShapeError)
        self.weights = weights
        self.visible_bias, self.hidden_bias = visible_bias, hidden_bias
        self.U, self.singular_values, self.V = svd_full(weights)
        self.a0 = visible_bias @ self.U
        self.b0 = hidden_bias @ self.V
        self.constant = float(constant)
        self.visible_values = tuple(float(x) for x in visible_values)
        self.hidden_values = tuple(float(x) for x in hidden_values)

    # ------------------------------------------------------------------ description
    @property
    def n_visible(self) -> int:
        return self.U.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.V.shape[0]

    @property
    def n_modes(self) -> int:
        """m = min(N, M): the number of coupled modes (singular values)."""
        return self.singular_values.numel()

    @property
    def dtype(self) -> torch.dtype:
        return self.U.dtype

    @property
    def device(self) -> torch.device:
        return self.U.device

    # ------------------------------------------------------------------ coordinates
    def _tensor(self, x: Any, n: int, name: str) -> torch.Tensor:
        t = as_tensor(x, dtype=self.dtype, device=self.device, name=name)
        if t.dim() == 1:
            t = t.unsqueeze(0)
        if t.dim() != 2 or t.shape[1] != n:
            raise ShapeError(f"{name} has shape {tuple(t.shape)}; expected (batch, {n})")
        return t

    def x(self, v: Any) -> torch.Tensor:
        """Visible reciprocal variables x = U^T v (eq. 17), shape (batch, N)."""
        return self._tensor(v, self.n_visible, "v") @ self.U

    def y(self, h: Any) -> torch.Tensor:
        """Hidden reciprocal variables y = V^T h (eq. 17), shape (batch, M)."""
        return self._tensor(h, self.n_hidden, "h") @ self.V

    def saddle_points(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0, y0) = (-b0_i / lambda_i, -a0_i / lambda_i) of the m coupled modes (NaN where lambda_i = 0)."""
        lam = self.singular_values
        m = self.n_modes
        safe = torch.where(lam > 0, lam, torch.full_like(lam, float("nan")))
        return -self.b0[:m] / safe, -self.a0[:m] / safe

    def saddle_energies(self) -> torch.Tensor:
        """E_i at the saddle point: a0_i b0_i / lambda_i (eq. 19)."""
        lam = self.singular_values
        m = self.n_modes
        safe = torch.where(lam > 0, lam, torch.full_like(lam, float("nan")))
        return self.a0[:m] * self.b0[:m] / safe

    def rotated(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(u, w) of the coupled modes from reciprocal variables (x, y) (eq. 18 with theta = pi/4)."""
        m = self.n_modes
        x0, y0 = self.saddle_points()
        dx, dy = x[..., :m] - x0, y[..., :m] - y0
        return (dx + dy) / SQRT2, (dy - dx) / SQRT2

    def unrotated(self, u: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_i, y_i) of the coupled modes from (u_i, w_i): the inverse of :meth:`rotated` (eq. 18)."""
        x0, y0 = self.saddle_points()
        return x0 + (u - w) / SQRT2, y0 + (u + w) / SQRT2

    # ------------------------------------------------------------------ energies
    def mode_energies(self, v: Any, h: Any) -> torch.Tensor:
        """Per-mode energies, shape (batch, max(N, M)) (eq. 15-16).

        Columns 0..m-1 are E_i(x_i, y_i) of the coupled modes; the remaining max(N, M) - m columns are the
        uncoupled terms -a0_i x_i (N > M) or -b0_j y_j (M > N).  ``mode_energies(v, h).sum(-1) + constant``
        equals ``model.energy(v, h)``.
        """
        x, y = self.x(v), self.y(h)
        if x.shape[0] != y.shape[0]:
            raise ShapeError(f"v and h have {x.shape[0]} and {y.shape[0]} rows; they must match")
        m = self.n_modes
        coupled = -self.a0[:m] * x[:, :m] - self.b0[:m] * y[:, :m] - self.singular_values * x[:, :m] * y[:, :m]
        rest = -self.a0[m:] * x[:, m:] if self.n_visible > m else -self.b0[m:] * y[:, m:]
        return torch.cat([coupled, rest], dim=1)

    def energy(self, v: Any, h: Any) -> torch.Tensor:
        """E(v, h) recomputed from reciprocal space: the sum of the per-mode energies plus the constant."""
        return self.mode_energies(v, h).sum(-1) + self.constant

    def mode_energy_uw(self, u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """E_i(u_i, w_i) = a0_i b0_i / lambda_i - (lambda_i / 2)(u_i^2 - w_i^2) of the coupled modes (eq. 19)."""
        return self.saddle_energies() - 0.5 * self.singular_values * (u * u - w * w)

    # ------------------------------------------------------------------ eq. 51
    def reference_moments(self) -> dict[str, torch.Tensor]:
        """Mean and standard deviation of x_i, y_i over uniformly random states of both layers (eq. 51).

        A unit taking the values {lo, hi} with probability 1/2 each has mean (lo + hi)/2 and standard
        deviation (hi - lo)/2; since the columns of U and V have unit norm, mu_x = (lo + hi)/2 sum_j U_ji
        (eq. 51a for binary units: 1/2 sum_j U_ji), mu_y likewise with V (eq. 51b) and
        sigma_x = sigma_y = (hi - lo)/2 (eq. 51c: 1/2 for binary units).
        """
        (vl, vh), (hl, hh) = self.visible_values, self.hidden_values
        return {"mu_x": 0.5 * (vl + vh) * self.U.sum(0), "mu_y": 0.5 * (hl + hh) * self.V.sum(0),
                "sigma_x": torch.full((self.n_visible,), 0.5 * (vh - vl), dtype=self.dtype, device=self.device),
                "sigma_y": torch.full((self.n_hidden,), 0.5 * (hh - hl), dtype=self.dtype, device=self.device)}

    # ------------------------------------------------------------------ back to a weight matrix
    def weights_from(self, U: torch.Tensor | None = None, V: torch.Tensor | None = None) -> torch.Tensor:
        """W = U Sigma V^T with (possibly rotated) singular vectors; the stored ones where None."""
        U = self.U if U is None else U
        V = self.V if V is None else V
        m = self.n_modes
        return (U[:, :m] * self.singular_values) @ V[:, :m].transpose(0, 1)


def uncentred_parameters(model: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """(W, a', b', c0) with E(v, h) = c0 - a'.v - b'.h - v^T W h for a (possibly centred) RBM."""
    w = model.weights.detach()
    vo, ho = model.visible_offset.detach(), model.hidden_offset.detach()
    a = model.visible.bias.detach() - w @ ho
    b = model.hidden.bias.detach() - vo @ w
    c0 = -float(vo @ w @ ho)
    return w, a, b, c0


@torch.no_grad()
def reciprocal_transform(model: Any) -> ReciprocalTransform:
    """The :class:`ReciprocalTransform` of an RBM with binary or spin units (any offsets, dtype, device)."""
    _require_linear_layers(model)
    w, a, b, c0 = uncentred_parameters(model)
    return ReciprocalTransform(w, a, b, c0, tuple(model.visible.values), tuple(model.hidden.values))
