"""Kullback-Leibler divergences of Gaussian models
(Aarts, Lucini, Park, PRD 109, 034521 (2024), App. B and eq. 86).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DomainError, ShapeError, require
from ..random import as_rng
from .model import ScalarFieldRBM, gaussian_samples


def _chol(k: torch.Tensor, name: str) -> torch.Tensor:
    chol, info = torch.linalg.cholesky_ex(k)
    require(int(info) == 0, f"{name} is not positive definite", DomainError)
    return chol


def gaussian_kl(kernel_p: Any, kernel_q: Any) -> float:
    """KL(p || q) of two zero-mean Gaussians with kernels (inverse covariances) K_p, K_q, in any bases:

        KL = (1/2) [tr(K_q K_p^{-1}) - N + ln det K_p - ln det K_q].

    Reduces to eq. (B7) when K_p and K_q share their eigenvectors."""
    kp = torch.as_tensor(kernel_p, dtype=torch.float64)
    kq = torch.as_tensor(kernel_q, dtype=torch.float64)
    if kp.shape != kq.shape or kp.dim() != 2 or kp.shape[0] != kp.shape[1]:
        raise ShapeError(f"kernels must be square and of equal shape, got {tuple(kp.shape)} and {tuple(kq.shape)}")
    lp, lq = _chol(kp, "the target kernel"), _chol(kq, "the model kernel")
    cov_p = torch.cholesky_inverse(lp)
    logdet = lambda l: 2 * torch.log(torch.diagonal(l)).sum()  # noqa: E731
    return float(0.5 * ((kq * cov_p).sum() - kp.shape[0] + logdet(lp) - logdet(lq)))


def kl_aligned(a: Any, b: Any) -> float:
    """Eq. (B7): KL(p||q) = (1/2) sum_i (-1 + b_i/a_i - ln(b_i/a_i)) for eigenvalues a_i (target), b_i
    (model) in a common eigenbasis."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    require(a.shape == b.shape, f"eigenvalue lists differ in length: {a.shape} vs {b.shape}", ShapeError)
    require(bool((a > 0).all() and (b > 0).all()), "eq. (B7) needs positive eigenvalues a_i, b_i", DomainError)
    r = b / a
    return float(0.5 * np.sum(-1 + r - np.log(r)))


def kl_scalar_theory(kappa: Any, mu2: float, n_hidden: int) -> float:
    """Eq. (B8): KL = (1/2) sum_{i > N_h} (-1 + mu^2/kappa_i - ln(mu^2/kappa_i)), kappa ascending.

    This is the trained model of eq. (B4): the N_h smallest target eigenvalues learnt, the rest at mu^2
    (it assumes mu^2 > kappa_i for i <= N_h, so that those modes can be learnt, Sec. V C)."""
    kappa = np.sort(np.asarray(kappa, dtype=float))
    require(1 <= int(n_hidden) <= len(kappa), f"N_h must lie in 1..{len(kappa)}, got {n_hidden}")
    if (kappa[: int(n_hidden)] >= mu2).any():
        raise ConfigError("eq. (B8) assumes mu^2 above the N_h smallest eigenvalues (otherwise use eq. B7 with "
                          "b_i = min(kappa_i, mu^2))")
    r = mu2 / kappa[int(n_hidden):]
    return float(0.5 * np.sum(-1 + r - np.log(r)))


def kl_monte_carlo(kernel_p: Any, model: ScalarFieldRBM, n: int = 200_000, seed: int | None = 0
                   ) -> tuple[float, float]:
    """KL(p || model) = <ln p - ln q>_p estimated from ``n`` exact samples of the target; (mean, stderr).

    ln q comes from the RBM's own free energy and exact ln Z (eq. 8-10), not from its Gaussian form."""
    kp = torch.as_tensor(kernel_p, dtype=torch.float64)
    lp = _chol(kp, "the target kernel")
    phi = gaussian_samples(kp, int(n), as_rng(seed, "cpu"))
    logdet_p = 2 * torch.log(torch.diagonal(lp)).sum()
    log_p = -0.5 * ((phi @ kp) * phi).sum(1) + 0.5 * logdet_p - 0.5 * kp.shape[0] * math.log(2 * math.pi)
    with torch.no_grad():
        log_q = model.log_prob(phi.to(model.dtype)).double()
    d = (log_p - log_q).numpy()
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def data_averaged_nll(model: ScalarFieldRBM, second_moment: Any) -> float:
    """Eq. (86) without its model-independent constant: (1/N_conf) sum_d phi^T K phi / 2 + ln Z_model,
    = tr(K C^data)/2 + ln Z_phi with ln Z_phi = (N_v/2) ln 2 pi - (1/2) ln det K (J = 0).

    KL(p_data || p_model) = this - H(p_data); differences between models are differences of KL."""
    c = torch.as_tensor(second_moment, dtype=torch.float64)
    with torch.no_grad():
        return float(-model.gaussian_log_likelihood(c.to(model.dtype)).double())
