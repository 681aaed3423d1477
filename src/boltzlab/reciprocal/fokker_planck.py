"""The partition function in reciprocal space, its saddle point, and the Fokker-Planck mode dynamics.

Source: Toledo-Marin et al., "RBMs in reciprocal space", arXiv:2503.21536 (2025), sec. 4, eq. 21-48.

Saddle point (eq. 21-28): the naive mean-field equations m_v = <v>_{beta (a' + W m_h)}, m_h =
<h>_{beta (b' + W^T m_v)}, ln Z_sp = -beta E(m_v, m_h) + S(m_v) + S(m_h) (a lower bound on ln Z), and the
Gaussian correction ln Z_G = ln Z_sp - (1/2) sum_i ln(1 - s_i^2), s_i the singular values of
beta D_v^{1/2} W D_h^{1/2} (it exists while s_max < 1).

Mode dynamics (eq. 29-48): with V_const expanded to second order (eq. 39, 45-46) U_eff is quadratic with
Hessian H = [[T D_v^{-1}, -W], [-W^T, T D_h^{-1}]], T = 1/beta, in (v, h) coordinates; D are the variances of
the uniform reference measure (``expansion="uniform"``, eq. 46) or of the saddle point
(``expansion="saddle"``).  The process is Ornstein-Uhlenbeck with rates Gamma(n) = sum_k n_k c_k, c_k the
eigenvalues of H.  Corrections to the paper: the rates are 2 E_n / beta, not beta E_n / 2 (eq. 37); a mode
with c_k < 0 loses the normalisability of e^{-beta U_eff}, its Schroedinger levels stay positive; with the
uniform expansion the couplings Theta and O of eq. 44 vanish identically.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from scipy import linalg

from ..errors import ConfigError, require
from .transform import _require_linear_layers, svd_full, uncentred_parameters

EXPANSIONS = ("uniform", "saddle")


def _two_values(layer: Any) -> tuple[float, float]:
    lo, hi = (float(x) for x in layer.values)
    return lo, hi


def _unit_mean(field_: torch.Tensor, beta: float, values: tuple[float, float]) -> torch.Tensor:
    """<s> of a unit s in {lo, hi} with energy -field * s at inverse temperature beta."""
    lo, hi = values
    return lo + (hi - lo) * torch.sigmoid(beta * (hi - lo) * field_)


def _unit_variance(mean: torch.Tensor, values: tuple[float, float]) -> torch.Tensor:
    lo, hi = values
    return (hi - mean) * (mean - lo)


def _unit_entropy(mean: torch.Tensor, values: tuple[float, float]) -> torch.Tensor:
    lo, hi = values
    p = ((mean - lo) / (hi - lo)).clamp(0.0, 1.0)
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)).sum()


@dataclass
class SaddlePoint:
    """The saddle point of the reciprocal-space partition function (eq. 26) at inverse temperature beta.

    ``visible_means``/``hidden_means`` are m_v, m_h; ``x``/``y`` their reciprocal images U^T m_v, V^T m_h
    (eq. 26d-f); ``log_z`` is the action at the saddle (naive mean field, a lower bound on ln Z);
    ``log_z_gaussian`` adds the Gaussian fluctuations (NaN where ``stability`` = s_max >= 1, i.e. where the
    saddle is no longer a maximum along some mode).
    """

    beta: float
    visible_means: torch.Tensor
    hidden_means: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    log_z: float
    log_z_gaussian: float
    stability: float
    fluctuation_singular_values: torch.Tensor = field(repr=False)
    iterations: int = 0
    converged: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"beta": self.beta, "log_z": self.log_z, "log_z_gaussian": self.log_z_gaussian,
                "stability": self.stability, "iterations": self.iterations, "converged": self.converged}


@torch.no_grad()
def saddle_point(model: Any, beta: float = 1.0, tol: float = 1e-12, max_iter: int = 100_000) -> SaddlePoint:
    """Solve eq. 26 for an RBM with binary or spin units, starting from the high-temperature point (eq. 28).

    Alternating block updates m_h <- <h>(m_v), m_v <- <v>(m_h) each maximise the mean-field action over one
    layer given the other, so the iteration increases ln Z_sp monotonically and stops at a local maximum.
    """
    _require_linear_layers(model)
    require(beta > 0, f"beta must be positive; got {beta}")
    w, a, b, c0 = (t.double() if torch.is_tensor(t) else t for t in uncentred_parameters(model))
    vv, hv = _two_values(model.visible), _two_values(model.hidden)
    m_v = torch.full_like(a, 0.5 * sum(vv))
    m_h = torch.full_like(b, 0.5 * sum(hv))
    converged, it = False, 0
    for it in range(1, int(max_iter) + 1):
        new_h = _unit_mean(b + m_v @ w, beta, hv)
        new_v = _unit_mean(a + w @ new_h, beta, vv)
        change = float(torch.cat([new_v - m_v, new_h - m_h]).abs().max())
        m_v, m_h = new_v, new_h
        if change < tol:
            converged = True
            break
    energy = c0 - a @ m_v - b @ m_h - m_v @ w @ m_h
    log_z = float(-beta * energy + _unit_entropy(m_v, vv) + _unit_entropy(m_h, hv))
    d_v, d_h = _unit_variance(m_v, vv), _unit_variance(m_h, hv)
    s = torch.linalg.svdvals(beta * d_v.sqrt()[:, None] * w * d_h.sqrt()[None, :])
    s_max = float(s.max()) if s.numel() else 0.0
    log_z_g = log_z - 0.5 * float(torch.log1p(-s * s).sum()) if s_max < 1 else float("nan")
    u, _, v = svd_full(w)
    return SaddlePoint(float(beta), m_v, m_h, m_v @ u, m_h @ v, log_z, log_z_g, s_max, s, it, converged)


@dataclass
class ModeDynamics:
    """The Gaussian Fokker-Planck / coupled-boson description of the reciprocal modes (eq. 29-48).

    ``hessian`` is H of the module docstring (in (v, h) coordinates, energy units); ``curvatures`` its
    eigenvalues c_k (ascending), which are the single-quantum relaxation rates; ``normal_modes`` the
    eigenvectors (columns).  ``non_converging`` lists the k with c_k < 0: the modes where the quadratic
    U_eff is not confining.
    """

    beta: float
    expansion: str
    hessian: torch.Tensor = field(repr=False)
    curvatures: torch.Tensor
    normal_modes: torch.Tensor = field(repr=False)

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta

    @property
    def non_converging(self) -> list[int]:
        return [int(k) for k in torch.nonzero(self.curvatures < 0).flatten()]

    @property
    def schroedinger_frequencies(self) -> torch.Tensor:
        """w_k = beta |c_k| / 2: the oscillator frequencies of V_S (eq. 36, 42) with D = 1/beta."""
        return 0.5 * self.beta * self.curvatures.abs()

    def boson_matrix(self) -> torch.Tensor:
        """(beta^2 / 4) H^2: the quadratic form of the Schroedinger potential (eq. 42-43), eigenvalues w_k^2."""
        return 0.25 * self.beta ** 2 * self.hessian @ self.hessian

    def stationary_covariance(self) -> torch.Tensor:
        """T H^{-1}: the covariance of the stationary (Gaussian) density, defined only without non-converging modes."""
        if self.non_converging:
            raise ConfigError(f"{len(self.non_converging)} mode(s) have negative curvature: the quadratic U_eff has "
                              f"no normalisable stationary density")
        return self.temperature * torch.linalg.inv(self.hessian)

    def relaxation_rates(self, max_quanta: int = 2, n_modes: int | None = None) -> np.ndarray:
        """Gamma(n) = sum_k n_k c_k for all occupations with 1 <= sum n_k <= max_quanta of the n_modes
        slowest confining modes, ascending, with their multiplicity.  The corrected form of eq. 48 (see the
        module docstring)."""
        c = self.curvatures[self.curvatures > 0].double().cpu().numpy()
        c = c[: n_modes or len(c)]
        rates = [float(sum(combo)) for q in range(1, int(max_quanta) + 1)
                 for combo in itertools.combinations_with_replacement(c, q)]
        return np.array(sorted(rates))

    def paper_rates(self, max_quanta: int = 2, n_modes: int | None = None) -> np.ndarray:
        """The rates as eq. 37/48 write them, beta E(n)/2 with E(n) = sum_k w_k n_k: beta^2/4 times the correct ones."""
        return 0.25 * self.beta ** 2 * self.relaxation_rates(max_quanta, n_modes)

    def to_dict(self) -> dict[str, Any]:
        return {"beta": self.beta, "expansion": self.expansion, "n_non_converging": len(self.non_converging),
                "slowest_rates": self.curvatures[:8].tolist()}


def reference_variances(model: Any, beta: float, expansion: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit variances D_v, D_h of the reference measure: uniform random states (eq. 46, 51c) or the saddle point."""
    require(expansion in EXPANSIONS, f"expansion must be one of {EXPANSIONS}; got {expansion!r}")
    vv, hv = _two_values(model.visible), _two_values(model.hidden)
    if expansion == "saddle":
        sp = saddle_point(model, beta)
        return _unit_variance(sp.visible_means, vv), _unit_variance(sp.hidden_means, hv)
    n, m = model.weights.shape
    dt = torch.float64
    return (torch.full((n,), 0.25 * (vv[1] - vv[0]) ** 2, dtype=dt),
            torch.full((m,), 0.25 * (hv[1] - hv[0]) ** 2, dtype=dt))


@torch.no_grad()
def mode_dynamics(model: Any, beta: float = 1.0, expansion: str = "uniform") -> ModeDynamics:
    """The quadratic U_eff of the RBM at inverse temperature beta and its Fokker-Planck spectrum (eq. 39-48)."""
    _require_linear_layers(model)
    require(beta > 0, f"beta must be positive; got {beta}")
    d_v, d_h = reference_variances(model, beta, expansion)
    w = uncentred_parameters(model)[0].double().cpu()
    t = 1.0 / beta
    hess = torch.cat([torch.cat([torch.diag(t / d_v), -w], 1), torch.cat([-w.T, torch.diag(t / d_h)], 1)], 0)
    c, vecs = torch.linalg.eigh(hess)
    return ModeDynamics(float(beta), expansion, hess, c, vecs)


def fokker_planck_spectrum(potential: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, beta: float = 1.0,
                           n_grid: int = 2001, n_eigs: int = 6) -> np.ndarray:
    """The slowest relaxation rates 0 = Gamma_0 < Gamma_1 < ... of the 1-d Fokker-Planck operator (eq. 33).

    dz = -U'(z) dt + sqrt(2/beta) dW on [lo, hi] with reflecting ends, discretised as a jump process on a
    grid with rates (T/h^2) exp(-beta (U_{k+-1} - U_k)/2): detailed balance holds exactly for e^{-beta U},
    drift and diffusion converge at O(h^2), and the symmetrised generator is tridiagonal with constant
    off-diagonal T/h^2, so its lowest eigenvalues come from a banded solver.  Written by hand because no
    library solves a Fokker-Planck eigenproblem; it is the independent check of the closed forms above.
    """
    if not (hi > lo and beta > 0 and n_grid >= 3):
        raise ConfigError(f"need hi > lo, beta > 0 and at least 3 grid points; got {lo}, {hi}, {beta}, {n_grid}")
    z = np.linspace(lo, hi, int(n_grid))
    h = z[1] - z[0]
    u = np.asarray(potential(z), dtype=float)
    t = 1.0 / beta
    du = np.diff(u)
    up = (t / h ** 2) * np.exp(-0.5 * beta * du)      # k -> k + 1
    down = (t / h ** 2) * np.exp(0.5 * beta * du)     # k + 1 -> k
    diag = np.zeros_like(z)
    diag[:-1] += up
    diag[1:] += down
    off = np.full(len(z) - 1, -t / h ** 2)
    k = min(int(n_eigs), len(z)) - 1
    return linalg.eigh_tridiagonal(diag, off, select="i", select_range=(0, k), eigvals_only=True)

