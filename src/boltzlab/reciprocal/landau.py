"""Mean-field free energy of one reciprocal mode (Toledo-Marin et al., arXiv:2503.21536 (2025), eq. 52-55, Fig. 7-8).

Eq. 55: with the constraint potential V_const = -ln p(z) (eq. 30; p the density of the reciprocal coordinates
of uniformly random states, eq. 21-22) expanded to fourth order about its minimum mu and the other modes
averaged out,

    f_i(z_i) = a0_i b0_i / lambda_i + (A_i / 2) z_i^2 + <Phi_i>(z_i - mu_i) + <Theta_i>(z_i - mu_i)^2
               + <Psi_i>(z_i - mu_i)^3 + <Omega_i>(z_i - mu_i)^4,

A_i = -lambda_i for z_i = u_i and +lambda_i for w_i (eq. 19).  z_i is linear in the states, so its reference
cumulants are exact (mean mu_i, k2 = sum a_k^2, k4 = -2 sum a_k^4, odd ones zero): hence <Phi_i> = <Psi_i> = 0
exactly, and averaging the joint expansion in standardised units reduces eq. 55 to the marginal potential,
<Theta_i> = (1 + g_i/2) / (2 beta k2), <Omega_i> = -g_i / (24 beta k2^2), g_i = k4 / k2^2 (``quartic``;
``gaussian`` is eq. 46).  The quartic's minima leave the support |z_i - mu_i| <= sum_k |a_k| once the mode
is a double well, so ``mean_field`` keeps the whole marginal potential by the saddle-point (Daniels)
approximation V_i(z) = t z' - K(t) + (1/2) ln(2 pi K''(t)), K(t) = sum_k ln cosh(a_k t), K'(t) = z - mu_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import optimize

from ..errors import ConfigError, require
from .transform import SQRT2, ReciprocalTransform

VARIABLES = ("u", "w")


def _log_cosh(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax)) - math.log(2.0)


def saddlepoint_t(a: np.ndarray, z: np.ndarray, iters: int = 100) -> np.ndarray:
    """Solve K'(t) = sum_k a_k tanh(a_k t) = z for every z (|z| < sum |a|) by safeguarded Newton steps."""
    z = np.atleast_1d(np.asarray(z, dtype=np.float64))
    r = np.abs(a).sum()
    k2 = float((a * a).sum())
    t = z / k2
    lo = np.where(z >= 0, 0.0, -np.inf)
    hi = np.where(z >= 0, np.inf, 0.0)
    for _ in range(iters):
        th = np.tanh(np.outer(t, a))
        f = th @ a - z
        d = (1 - th * th) @ (a * a)
        lo = np.where(f < 0, t, lo)
        hi = np.where(f > 0, t, hi)
        step = t - f / np.maximum(d, 1e-300)
        fallback = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi),
                            np.where(np.isfinite(hi), np.minimum(2 * hi, hi - 1.0), np.maximum(2 * lo, lo + 1.0)))
        t_new = np.where((step > lo) & (step < hi), step, fallback)
        if np.all(np.abs(t_new - t) <= 1e-12 * (1 + np.abs(t))):
            t = t_new
            break
        t = t_new
    return np.where(np.abs(z) < r, t, np.where(z >= 0, np.inf, -np.inf))


def saddlepoint_potential(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """-ln p(z) of z = sum_k a_k e_k (e_k = +-1 fair coins) by the saddle-point approximation (+inf outside)."""
    z = np.atleast_1d(np.asarray(z, dtype=np.float64))
    t = saddlepoint_t(a, z)
    ok = np.isfinite(t)
    out = np.full(z.shape, np.inf)
    if ok.any():
        ta = np.outer(t[ok], a)
        k = _log_cosh(ta).sum(1)
        th = np.tanh(ta)
        k2 = (1 - th * th) @ (a * a)
        out[ok] = t[ok] * z[ok] - k + 0.5 * np.log(2 * math.pi * k2)
    return out


@dataclass
class ModeFreeEnergy:
    """The mean-field free energy of coordinate ``variable`` (u or w) of coupled mode ``mode`` (0-based)."""

    mode: int
    variable: str
    beta: float
    singular_value: float
    saddle_energy: float
    curvature: float
    mu: float
    coefficients: np.ndarray = field(repr=False)

    # ---------------------------------------------------------------- cumulants and eq. 55 coefficients
    @property
    def kappa2(self) -> float:
        return float((self.coefficients ** 2).sum())

    @property
    def kappa4(self) -> float:
        return float(-2.0 * (self.coefficients ** 4).sum())

    @property
    def excess_kurtosis(self) -> float:
        return self.kappa4 / self.kappa2 ** 2

    @property
    def half_width(self) -> float:
        """sum_k |a_k|: no state puts z farther than this from mu."""
        return float(np.abs(self.coefficients).sum())

    @property
    def theta(self) -> float:
        """<Theta_i> of eq. 55 from the exact cumulants: (1 + g/2) / (2 beta k2)."""
        return (1 + 0.5 * self.excess_kurtosis) / (2 * self.beta * self.kappa2)

    @property
    def theta_gaussian(self) -> float:
        """<Theta_i> with the Gaussian kappa of eq. 46: 1 / (2 beta k2)."""
        return 1.0 / (2 * self.beta * self.kappa2)

    @property
    def omega(self) -> float:
        """<Omega_i> = kappa_iiii / (24 beta) = -g / (24 beta k2^2) > 0."""
        return -self.excess_kurtosis / (24 * self.beta * self.kappa2 ** 2)

    phi: float = 0.0
    psi: float = 0.0

    # ---------------------------------------------------------------- the free energies
    def energy(self, z: np.ndarray) -> np.ndarray:
        """E_i along z: a0 b0 / lambda + (A/2) z^2 (the partner coordinate held at its saddle value)."""
        z = np.asarray(z, dtype=np.float64)
        return self.saddle_energy + 0.5 * self.curvature * z * z

    def quartic(self, z: np.ndarray) -> np.ndarray:
        """Eq. 55 with the coefficients of the exact cumulants (Phi = Psi = 0)."""
        d = np.asarray(z, dtype=np.float64) - self.mu
        return self.energy(z) + self.theta * d ** 2 + self.omega * d ** 4

    def gaussian(self, z: np.ndarray) -> np.ndarray:
        """Eq. 55 with the Gaussian constraint potential of eq. 46 (Theta = 1/(2 beta k2), Omega = 0)."""
        d = np.asarray(z, dtype=np.float64) - self.mu
        return self.energy(z) + self.theta_gaussian * d ** 2

    def constraint(self, z: np.ndarray) -> np.ndarray:
        """V_i(z) / beta: the marginal constraint potential by the saddle-point approximation."""
        return saddlepoint_potential(self.coefficients, np.asarray(z, dtype=np.float64) - self.mu) / self.beta

    def mean_field(self, z: np.ndarray) -> np.ndarray:
        """E_i(z) + V_i(z) / beta: the untruncated mean-field free energy (+inf outside the support)."""
        return self.energy(z) + self.constraint(z)

    # ---------------------------------------------------------------- minima
    def quartic_minima(self) -> list[float]:
        """Local minima of :meth:`quartic` (roots of 4 Omega d^3 + (A + 2 Theta) d + A mu = 0, d = z - mu)."""
        a, th, om, mu = self.curvature, self.theta, self.omega, self.mu
        roots = np.roots([4 * om, 0.0, a + 2 * th, a * mu]) if om > 0 else np.roots([a + 2 * th, a * mu])
        real = sorted(float(r.real) for r in roots if abs(r.imag) < 1e-9 * (1 + abs(r.real)))
        return [mu + d for d in real if a + 2 * th + 12 * om * d * d > 0]

    def gaussian_minimum(self) -> float | None:
        """The minimum of :meth:`gaussian`, or None when it is unbounded below (A + 2 Theta_G <= 0)."""
        c = self.curvature + 2 * self.theta_gaussian
        return None if c <= 0 else self.mu - self.curvature * self.mu / c

    def mean_field_minima(self, grid: int = 801) -> list[float]:
        """Local minima of :meth:`mean_field` inside the support (grid search refined by Brent's method)."""
        r = self.half_width
        zs = self.mu + np.linspace(-r, r, grid)[1:-1]
        f = self.mean_field(zs)
        idx = [i for i in range(1, len(zs) - 1) if f[i] <= f[i - 1] and f[i] <= f[i + 1]]
        out = []
        for i in idx:
            res = optimize.minimize_scalar(lambda z: float(self.mean_field(np.array([z]))[0]),
                                           bounds=(zs[i - 1], zs[i + 1]), method="bounded",
                                           options={"xatol": 1e-10 * (1 + r)})
            out.append(float(res.x))
        return out

    def in_support(self, z: float) -> bool:
        return abs(z - self.mu) < self.half_width

    def to_dict(self) -> dict[str, Any]:
        qm = self.quartic_minima()
        mf = self.mean_field_minima()
        return {"mode": self.mode, "variable": self.variable, "beta": self.beta,
                "singular_value": self.singular_value, "saddle_energy": self.saddle_energy,
                "A": self.curvature, "mu": self.mu, "kappa2": self.kappa2, "kappa4": self.kappa4,
                "excess_kurtosis": self.excess_kurtosis, "half_width": self.half_width,
                "phi": self.phi, "theta": self.theta, "psi": self.psi, "omega": self.omega,
                "theta_gaussian": self.theta_gaussian,
                "quadratic_coefficient": 0.5 * self.curvature + self.theta,
                "double_well": bool(0.5 * self.curvature + self.theta < 0),
                "gaussian_minimum": self.gaussian_minimum(), "quartic_minima": qm,
                "quartic_minima_in_support": [self.in_support(z) for z in qm],
                "mean_field_minima": mf,
                "mean_field_global_minimum": (min(mf, key=lambda z: float(self.mean_field(np.array([z]))[0]))
                                              if mf else None)}


def mode_coefficients(t: ReciprocalTransform, mode: int, variable: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(c_v, c_h, shift) with z = c_v . v + c_h . h + shift for z = u_i or w_i of coupled mode i."""
    require(variable in VARIABLES, f"variable must be one of {', '.join(VARIABLES)}; got {variable!r}")
    if not 0 <= mode < t.n_modes:
        raise ConfigError(f"mode {mode + 1} does not exist: the model has {t.n_modes} coupled modes (1..{t.n_modes})")
    u = t.U[:, mode].double().cpu().numpy()
    v = t.V[:, mode].double().cpu().numpy()
    x0, y0 = (float(s[mode]) for s in t.saddle_points())
    if not (math.isfinite(x0) and math.isfinite(y0)):
        raise ConfigError(f"mode {mode + 1} has a zero singular value: it has no saddle point")
    if variable == "u":
        return u / SQRT2, v / SQRT2, -(x0 + y0) / SQRT2
    return -u / SQRT2, v / SQRT2, (x0 - y0) / SQRT2


def mode_free_energy(t: ReciprocalTransform, mode: int, variable: str = "u", beta: float = 1.0) -> ModeFreeEnergy:
    """:class:`ModeFreeEnergy` of ``variable`` ('u' or 'w') of coupled mode ``mode`` (0-based)."""
    require(math.isfinite(beta) and beta > 0, f"beta must be a positive number; got {beta}")
    cv, ch, shift = mode_coefficients(t, mode, variable)
    (vl, vh), (hl, hh) = t.visible_values, t.hidden_values
    mu = 0.5 * (vl + vh) * cv.sum() + 0.5 * (hl + hh) * ch.sum() + shift
    a = np.concatenate([cv * 0.5 * (vh - vl), ch * 0.5 * (hh - hl)])
    lam = float(t.singular_values[mode])
    return ModeFreeEnergy(int(mode), variable, float(beta), lam, float(t.saddle_energies()[mode]),
                          -lam if variable == "u" else lam, float(mu), a)


@torch.no_grad()
def project_mode(t: ReciprocalTransform, v: torch.Tensor, h: torch.Tensor, mode: int, variable: str = "u") -> np.ndarray:
    """The coordinate u_i or w_i of states (v, h), as a float64 array."""
    u, w = t.rotated(t.x(v), t.y(h))
    z = u if variable == "u" else w
    return z[:, mode].double().cpu().numpy()
