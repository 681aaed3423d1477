"""Continuous-time learning equations of the scalar-field RBM
(Aarts, Lucini, Park, PRD 109, 034521 (2024), Sec. IV and eq. 81).

* :func:`integrate_flow` integrates the matrix flow  dW/dt = sigma_h^2 [K_phi^{-1} - K^{-1}] W  (eq. 26) and
  d mu^2/dt = -(1/2) tr K_phi^{-1} + (1/2) tr K^{-1}  (eq. 27) with SciPy's ``solve_ivp``; t is the sum of the
  learning rates of the discrete updates (eq. 25).
* :func:`mode_flow` integrates the single-mode equation (eq. 81 / eq. 43 in the eigenbasis).
* :func:`two_node_rhs` is the reduced N_v = N_h = 2 system (eq. 53-57); eq. (55), missing from the text,
  follows from the off-diagonal part of eq. (44) with eq. (51):
  d theta_U / dt = sigma_h^2 rho (xi_1^2 + xi_2^2) / (xi_1^2 - xi_2^2).
* :func:`two_node_fixed_point` gives the fixed points of eq. (59)-(62); :func:`relaxation_rates` the rates of
  eq. (67); :func:`flow_jacobian_rates` the exact linearisation of eq. (26) at the fixed point, whose
  eigenvalues {-2 gamma_1, -2 gamma_2, -gamma_dtheta, 0} correct the text below eq. (67) (the singular values
  relax at 2 min(gamma_i, gamma_dtheta)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp

from ..errors import DomainError, require


def flow_rhs(w: np.ndarray, mu2: float, target: np.ndarray, sigma_h2: float = 1.0) -> tuple[np.ndarray, float]:
    """(dW/dt, dmu^2/dt) of eq. (26)-(27) for W of shape (N_v, N_h) and C^target = K_phi^{-1}."""
    k = mu2 * np.eye(w.shape[0]) - sigma_h2 * w @ w.T
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        raise DomainError("the flow left the domain of existence mu^2 > sigma_h^2 xi_max^2") from None
    kinv = np.linalg.inv(chol).T @ np.linalg.inv(chol)
    diff = target - kinv
    return sigma_h2 * diff @ w, -0.5 * float(np.trace(diff))


def integrate_flow(w0: Any, mu2: float, target: Any, times: Any, sigma_h2: float = 1.0, learn_mu2: bool = False,
                   rtol: float = 1e-8, atol: float = 1e-10) -> dict[str, np.ndarray]:
    """Integrate eq. (26)-(27) from W(0) = ``w0`` and return, at ``times``, the RBM eigenvalues (ascending),
    the singular values (descending) and mu^2."""
    w0 = np.asarray(torch.as_tensor(w0, dtype=torch.float64).detach().cpu(), dtype=float)
    target = np.asarray(torch.as_tensor(target, dtype=torch.float64).cpu(), dtype=float)
    times = np.asarray(times, dtype=float)
    nv, nh = w0.shape
    require(target.shape == (nv, nv), f"target has shape {target.shape}; expected ({nv}, {nv})")

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        w = y[:-1].reshape(nv, nh)
        dw, dmu = flow_rhs(w, y[-1], target, sigma_h2)
        return np.concatenate([dw.reshape(-1), [dmu if learn_mu2 else 0.0]])

    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.concatenate([w0.reshape(-1), [float(mu2)]]),
                    t_eval=times, rtol=rtol, atol=atol, method="RK45")
    require(sol.success, f"the learning flow could not be integrated: {sol.message}", DomainError)
    eig, sv, m = [], [], []
    for y in sol.y.T:
        w = y[:-1].reshape(nv, nh)
        eig.append(np.linalg.eigvalsh(y[-1] * np.eye(nv) - sigma_h2 * w @ w.T))
        sv.append(np.linalg.svd(w, compute_uv=False))
        m.append(y[-1])
    return {"time": sol.t, "eigenvalues": np.array(eig), "singular_values": np.array(sv), "mu2": np.array(m),
            "weights": sol.y[:-1, -1].reshape(nv, nh)}


def mode_flow(xi2_0: Any, kappa: Any, mu2: float, times: Any, sigma_h2: float = 1.0) -> np.ndarray:
    """xi_a^2(t) from eq. (81), d xi^2/dt = 2 sigma_h^2 (1/kappa - 1/(mu^2 - sigma_h^2 xi^2)) xi^2, per mode.

    Returns an array (len(times), n_modes)."""
    xi2_0 = np.atleast_1d(np.asarray(xi2_0, dtype=float))
    kappa = np.atleast_1d(np.asarray(kappa, dtype=float))
    if (mu2 - sigma_h2 * xi2_0 <= 0).any():
        raise DomainError("initial singular values violate mu^2 > sigma_h^2 xi^2")

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return 2 * sigma_h2 * (1 / kappa - 1 / (mu2 - sigma_h2 * y)) * y

    times = np.asarray(times, dtype=float)
    sol = solve_ivp(rhs, (0.0, float(times[-1])), xi2_0, t_eval=times, rtol=1e-9, atol=1e-12)
    require(sol.success, f"eq. (81) could not be integrated: {sol.message}", DomainError)
    return sol.y.T


def two_node_rhs(state: np.ndarray, kappa: tuple[float, float], theta0: float = 0.0, sigma_h2: float = 1.0,
                 learn_mu2: bool = False, n_hidden: int = 2) -> np.ndarray:
    """d/dt of (xi_1, xi_2, theta_U, theta_V, mu^2) for N_v = 2 (eq. 53-57; eq. 68-70 for N_h = 1, where
    xi_2 = 0 and theta_V is idle)."""
    xi1, xi2, th_u, _th_v, mu2 = state
    k1, k2 = kappa
    d = th_u - theta0
    c2, s2 = math.cos(d) ** 2, math.sin(d) ** 2
    rho = (1 / k2 - 1 / k1) * math.cos(d) * math.sin(d)            # eq. (58)
    lam1 = mu2 - sigma_h2 * xi1 ** 2
    lam2 = mu2 - sigma_h2 * xi2 ** 2 if n_hidden == 2 else mu2
    dxi1 = sigma_h2 * (c2 / k1 + s2 / k2 - 1 / lam1) * xi1        # eq. (53)
    if n_hidden == 2:
        dxi2 = sigma_h2 * (c2 / k2 + s2 / k1 - 1 / lam2) * xi2    # eq. (54)
        gap = xi1 ** 2 - xi2 ** 2
        dth_u = sigma_h2 * rho * (xi1 ** 2 + xi2 ** 2) / gap      # eq. (55), derived from eq. (44)
        dth_v = 2 * sigma_h2 * xi1 * xi2 * rho / gap              # eq. (56)
    else:
        dxi2, dth_v = 0.0, 0.0
        dth_u = sigma_h2 * rho                                    # eq. (69)
    dmu2 = 0.5 * (1 / lam1 + 1 / lam2 - 1 / k1 - 1 / k2) if learn_mu2 else 0.0   # eq. (57) / (70)
    return np.array([dxi1, dxi2, dth_u, dth_v, dmu2])


def integrate_two_node(xi0: tuple[float, float], theta_u0: float, theta_v0: float, mu2: float,
                       kappa: tuple[float, float], times: Any, theta0: float = 0.0, sigma_h2: float = 1.0,
                       learn_mu2: bool = False, n_hidden: int = 2, rtol: float = 1e-9, atol: float = 1e-12
                       ) -> dict[str, np.ndarray]:
    """Integrate the reduced N_v = 2 equations; returns time, xi (t, 2), theta_U, theta_V, mu2, eigenvalues."""
    times = np.asarray(times, dtype=float)
    y0 = np.array([xi0[0], xi0[1] if n_hidden == 2 else 0.0, theta_u0, theta_v0, mu2], dtype=float)
    sol = solve_ivp(lambda t, y: two_node_rhs(y, kappa, theta0, sigma_h2, learn_mu2, n_hidden),
                    (0.0, float(times[-1])), y0, t_eval=times, rtol=rtol, atol=atol, method="DOP853")
    require(sol.success, f"the N_v = 2 equations could not be integrated: {sol.message}", DomainError)
    xi = sol.y[:2].T
    lam = sol.y[4][:, None] - sigma_h2 * xi ** 2
    return {"time": sol.t, "xi": xi, "theta_u": sol.y[2], "theta_v": sol.y[3], "mu2": sol.y[4],
            "eigenvalues": lam}


def two_node_fixed_point(kappa: tuple[float, float], mu2: float, sigma_h2: float = 1.0) -> dict[str, Any]:
    """The stable fixed point of eq. (59)-(62) for fixed mu^2: dtheta, sigma_h^2 xi_{1,2}^2 and the eigenvalues.

    The largest singular value pairs with the smallest kappa (dtheta = 0 when kappa_1 < kappa_2, pi/2
    otherwise); a mode with kappa > mu^2 cannot be learnt, its xi -> 0 and its eigenvalue -> mu^2."""
    k1, k2 = kappa
    dtheta = 0.0 if k1 < k2 else math.pi / 2
    lo, hi = sorted((k1, k2))
    s1 = max(mu2 - lo, 0.0) / sigma_h2
    s2 = max(mu2 - hi, 0.0) / sigma_h2
    return {"dtheta": dtheta, "xi2": (s1, s2), "eigenvalues": (mu2 - sigma_h2 * s1, mu2 - sigma_h2 * s2)}


def relaxation_rates(kappa: tuple[float, float], mu2: float) -> dict[str, float]:
    """gamma_i = (mu^2 - kappa_i)/kappa_i^2 and gamma_dtheta = (kappa_1/kappa_2) gamma_1 + (kappa_2/kappa_1) gamma_2
    (eq. 67), in units of t~ = sigma_h^2 t."""
    k1, k2 = kappa
    g1 = (mu2 - k1) / k1 ** 2
    g2 = (mu2 - k2) / k2 ** 2
    return {"gamma_1": g1, "gamma_2": g2, "gamma_dtheta": k1 / k2 * g1 + k2 / k1 * g2}


def flow_jacobian_rates(kappa: tuple[float, ...], mu2: float, sigma_h2: float = 1.0) -> np.ndarray:
    """Eigenvalues (ascending, units of t~) of the Jacobian of eq. (26) at the fixed point W* = diag(sqrt((mu^2 -
    kappa)/sigma_h^2)) for the diagonal target K_phi = diag(kappa) with all kappa < mu^2; exact (autograd)."""
    from torch.autograd.functional import jacobian
    kap = torch.as_tensor(kappa, dtype=torch.float64)
    require(not bool((kap >= mu2).any()), "the fixed point of eq. (59) needs mu^2 above every kappa")
    n = len(kap)
    target = torch.diag(1 / kap)

    def f(w: torch.Tensor) -> torch.Tensor:
        w = w.reshape(n, n)
        k = mu2 * torch.eye(n, dtype=torch.float64) - sigma_h2 * w @ w.t()
        return (sigma_h2 * (target - torch.linalg.inv(k)) @ w).reshape(-1)

    w_star = torch.diag(((mu2 - kap) / sigma_h2).sqrt())
    jac = jacobian(f, w_star.reshape(-1))
    return np.sort(torch.linalg.eigvals(jac).real.numpy()) / sigma_h2
