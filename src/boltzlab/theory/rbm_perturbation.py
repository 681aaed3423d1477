"""Perturbation theory of the RBM: the lecture notes on energy-based models (unpublished), section 4.2.

Lemma 31 (eq. 45-47): expanding the soft-plus of eq. 22 to second order, s(x) = ln 2 + x/2 + x^2/8 + ...,
the effective energy of a binary RBM is that of the Boltzmann machine of eq. 12 with

    W_eff = (1/4) U U^T,    b_eff_a = b_a - sum_i U_ai (h_hat_i - 1/2 - c_i / 4),    x_hat = v_hat

(eq. 47 without the factor v^alpha printed inside the sum; the remainder is of fourth order in (U, c), the
cubic term of the even function ln(2 cosh(x/2)) vanishing).

Theorem 32: requiring that this BM be the first-order solution of Theorem 27 gives, with h_hat = 1/2 and
c = 0, the perturbation equations

    (1/4) sum_i U_mu i U_nu i = C_hat^{mu nu} / (x_hat^mu (1 - x_hat^mu) x_hat^nu (1 - x_hat^nu))  (mu != nu)
    b_mu = c_hat^mu - (1/4) sum_i U_mu i^2 (1/2 - x_hat^mu)

Remark 33: with m hidden units they may have no solution; :func:`solve_rbm_perturbation` finds the
least-squares one (iterated principal factors, then L-BFGS on U) and reports the residual.  U -> U O leaves
W_eff and b_eff invariant (:func:`gauge_transform`), but not the RBM beyond second order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import torch
from scipy.stats import ortho_group

from .._tensor import as_tensor
from ..errors import ShapeError, require
from ..models.bm import BoltzmannMachine
from ..models.rbm import RBM, BinaryRBM
from .effective import rbm_parameters
from .moments import Moments, check_interior

__all__ = ["rbm_to_bm", "effective_bm", "gauge_transform", "random_orthogonal", "perturbation_residual",
           "solve_rbm_perturbation", "RBMPerturbation"]


def rbm_to_bm(rbm: RBM, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(W_eff, b_eff) of Lemma 31 (eq. 46 and the corrected eq. 47), float64.

    At inverse temperature ``beta`` (Appendix A): W_eff = (beta / 4) U U^T and
    b_eff = b - U (h_hat - 1/2 - beta c / 4), such that p_beta(v) ~ exp(-beta E_BM(v)) + O(beta^4).
    The BM's centres are the RBM's visible offsets v_hat (see :func:`effective_bm`).
    """
    u, b, c, vh, hh = rbm_parameters(rbm)
    return 0.25 * beta * (u @ u.t()), b - u @ (hh - 0.5 - 0.25 * beta * c)


def effective_bm(rbm: RBM, beta: float = 1.0) -> BoltzmannMachine:
    """The Boltzmann machine that an RBM with small couplings reduces to (Lemma 31), float64."""
    w, b = rbm_to_bm(rbm, beta)
    return BoltzmannMachine(w, b, rbm.visible_offset.detach().double(), dtype=torch.float64)


def random_orthogonal(m: int, seed: int = 0) -> torch.Tensor:
    """A Haar-random m x m orthogonal matrix (scipy.stats.ortho_group), float64."""
    if m == 1:
        return torch.ones(1, 1, dtype=torch.float64)
    return torch.from_numpy(ortho_group.rvs(m, random_state=seed))


def gauge_transform(rbm: RBM, o: Any) -> BinaryRBM:
    """The RBM with U -> U O, c -> O^T c and h_hat - 1/2 -> O^T (h_hat - 1/2) (Remark 33.2).

    This keeps W_eff and b_eff of Lemma 31 exactly; with h_hat = 1/2 and c = 0 (the paper's setting) only
    U changes.  The exact marginal of the new RBM differs from the old one at fourth order in U.
    """
    u, b, c, vh, hh = rbm_parameters(rbm)
    o = as_tensor(o, dtype=torch.float64, name="O")
    m = u.shape[1]
    if tuple(o.shape) != (m, m) or not torch.allclose(o.t() @ o, torch.eye(m, dtype=torch.float64), atol=1e-10):
        raise ShapeError(f"O must be an orthogonal {m} x {m} matrix")
    return BinaryRBM(u @ o, b, o.t() @ c, visible_offset=vh, hidden_offset=0.5 + o.t() @ (hh - 0.5),
                     dtype=torch.float64)


def _target(moments: Moments) -> tuple[torch.Tensor, torch.Tensor]:
    m = moments.mean.double()
    check_interior(m)
    v = m * (1 - m)
    t = moments.cov.double() / torch.outer(v, v)
    t.fill_diagonal_(0)
    return m, t


def perturbation_residual(rbm: RBM, moments: Moments) -> dict[str, float]:
    """Residuals of the perturbation equations of Theorem 32 (corrected) for an RBM and data moments.

    ``offdiag_*``: (1/4 U U^T - C_hat / (v v))_{mu != nu}; ``bias_max``: the bias equation with general h_hat
    and c, b_mu - sum_i U_mu i (h_hat_i - 1/2 - c_i/4) - [c_hat - W_eff,mumu (1/2 - x_hat)].
    ``relative`` = rms residual / rms target.
    """
    u, b, c, vh, hh = rbm_parameters(rbm)
    m, t = _target(moments)
    w, beff = rbm_to_bm(rbm)
    n = m.numel()
    off = ~torch.eye(n, dtype=torch.bool)
    r = (w - t)[off]
    target_rms = float(t[off].pow(2).mean().sqrt()) if n > 1 else 0.0
    rms = float(r.pow(2).mean().sqrt()) if n > 1 else 0.0
    bias = beff - (torch.logit(m) - torch.diagonal(w) * (0.5 - m))
    return {"offdiag_rms": rms, "offdiag_max": float(r.abs().max()) if n > 1 else 0.0,
            "target_rms": target_rms, "relative": rms / target_rms if target_rms > 0 else rms,
            "bias_max": float(bias.abs().max())}


@dataclass
class RBMPerturbation:
    """Least-squares solution of the RBM perturbation equations (Theorem 32, Remark 33)."""

    rbm: BinaryRBM
    residual: dict[str, float]
    exact: bool            #: the off-diagonal equations are solved (relative residual below 1e-8)
    iterations: int


def solve_rbm_perturbation(moments: Moments, n_hidden: int, *, max_iter: int = 200, tol: float = 1e-10,
                           ) -> RBMPerturbation:
    """U (n x m), b with h_hat = 1/2, c = 0, v_hat = x_hat that solve Theorem 32 in the least-squares sense.

    Minimises sum_{mu != nu} ((U U^T)_mu nu - 4 T_mu nu)^2 with T = C_hat / (v v): iterated principal
    factors (the best rank-m PSD approximation of 4 T + diag(d), then d <- its diagonal; each step lowers
    the off-diagonal residual) and a final L-BFGS polish on U.  The diagonal of U U^T is free (it only
    shifts the bias, eq. 39).  The solution is unique up to U -> U O (Remark 33.2).
    """
    require(int(n_hidden) >= 1, f"n_hidden must be >= 1; got {n_hidden}")
    m_hidden = int(n_hidden)
    mean, t = _target(moments)
    n = mean.numel()
    a = (4 * t).numpy()
    off = ~np.eye(n, dtype=bool)
    d = np.zeros(n)
    u = np.zeros((n, m_hidden))
    prev = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        vals, vecs = np.linalg.eigh(a + np.diag(d))
        k = min(m_hidden, n)
        top = np.clip(vals[-k:], 0, None)
        u = np.zeros((n, m_hidden))
        u[:, :k] = vecs[:, -k:] * np.sqrt(top)
        fit = u @ u.T
        d = np.diag(fit).copy()
        loss = float(((fit - a)[off] ** 2).sum())
        if prev - loss <= tol * max(1.0, loss):
            break
        prev = loss

    scale = max(float((a[off] ** 2).sum()), 1e-300)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        uu = x.reshape(n, m_hidden)
        r = uu @ uu.T - a
        np.fill_diagonal(r, 0)
        return float((r ** 2).sum()) / scale, (4 * r @ uu).ravel() / scale

    res = scipy.optimize.minimize(fun, u.ravel(), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20_000, "ftol": 0.0, "gtol": 1e-14})
    if res.fun <= fun(u.ravel())[0]:
        u = res.x.reshape(n, m_hidden)
    ut = torch.from_numpy(u.copy())
    w_diag = 0.25 * (ut ** 2).sum(1)
    b = torch.logit(mean) - w_diag * (0.5 - mean)
    rbm = BinaryRBM(ut, b, torch.zeros(m_hidden, dtype=torch.float64), visible_offset=mean,
                    hidden_offset=torch.full((m_hidden,), 0.5, dtype=torch.float64), dtype=torch.float64)
    resid = perturbation_residual(rbm, moments)
    return RBMPerturbation(rbm, resid, resid["relative"] < 1e-8, it)
