"""The maximum-entropy view of learning, made computable.

the lecture notes on energy-based models (unpublished), Theorem 3 (eq. 4-5) and the learning rule (eq. 7, 11):
at a stationary point of the log-likelihood, E_data[dE/dtheta] = E_model[dE/dtheta] for every parameter.
:func:`maxent_residual` reports, per parameter group, the data and the exact model expectations of the
derivative of the (effective) energy and their difference, for any small model of the toolkit.

:func:`fit_bm_exact` trains a fully visible BM to the stationary point with exact model expectations: the
negative log-likelihood of this exponential family is convex, and SciPy's ``trust-exact`` with the exact
gradient (eq. 7) and Hessian Cov_model(T) converges to machine precision.

:func:`entropy_perturbations` checks eq. 4: moving p along directions that keep every constraint of eq. 5
can only lower the entropy.  This holds for the fully visible BM and for the joint p(v, h) of an RBM, whose
energies are linear in theta, not for the visible marginal of an RBM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
import torch

from ..errors import require
from ..models.base import EnergyModel
from ..models.bm import BoltzmannMachine
from ..partition.exact import _float64_copy
from .moments import Moments, check_interior, exact_distribution

__all__ = ["energy_gradient_expectation", "maxent_residual", "fit_bm_exact", "ExactFit", "bm_statistics",
           "entropy_perturbations"]


def energy_gradient_expectation(model: EnergyModel, states: torch.Tensor, weights: torch.Tensor | None = None,
                                ) -> dict[str, torch.Tensor]:
    """E_w[dF/dtheta] for every named parameter, F the free energy (eq. 8; F = E for a BM).

    ``weights`` are probabilities of the rows of ``states`` (default: uniform, i.e. a data average).
    """
    params = dict(model.named_parameters())
    f = model.visible_free_energy(states)
    w = torch.full_like(f, 1.0 / f.numel()) if weights is None else weights.to(f)
    grads = torch.autograd.grad((w.detach() * f).sum(), list(params.values()), allow_unused=True)
    return {k: (torch.zeros_like(p) if g is None else g.detach()) for (k, p), g in zip(params.items(), grads)}


def maxent_residual(model: EnergyModel, data: Any) -> dict[str, Any]:
    """Theorem 3, eq. 5: data minus exact model expectation of dF/dtheta, per parameter group.

    Returns ``{"groups": {name: {"max_abs", "rms", "scale", "relative"}}, "max_abs": ..., "relative": ...,
    "data": {name: tensor}, "model": {name: tensor}}``.  ``scale`` is the largest |data expectation| of
    the group, ``relative`` = max_abs / scale.  The residual is the gradient of the mean negative
    log-likelihood (eq. 7), so it vanishes at a maximum-likelihood fit.
    """
    m = _float64_copy(model)
    x = m.visible_tensor(data, "data")
    states, p = exact_distribution(m)
    d = energy_gradient_expectation(m, x)
    mo = energy_gradient_expectation(m, states, p)
    groups = {}
    for k in d:
        r = d[k] - mo[k]
        scale = float(d[k].abs().max()) if d[k].numel() else 0.0
        groups[k] = {"max_abs": float(r.abs().max()), "rms": float(r.pow(2).mean().sqrt()), "scale": scale,
                     "relative": float(r.abs().max()) / scale if scale > 0 else float(r.abs().max())}
    return {"groups": groups, "max_abs": max(g["max_abs"] for g in groups.values()),
            "relative": max(g["relative"] for g in groups.values()), "data": d, "model": mo}


# ---------------------------------------------------------------------------------------- exact fit
def bm_statistics(states: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Sufficient statistics T(x) = (x_a, (x_a - x_hat_a)(x_b - x_hat_b) for a < b) of the BM without
    self-interaction: -E(x) = theta . T(x) with theta = (b, W_ab for a < b) (eq. 12)."""
    n = states.shape[1]
    iu = torch.triu_indices(n, n, 1)
    y = states - centers
    return torch.cat([states, y[:, iu[0]] * y[:, iu[1]]], 1)


@dataclass
class ExactFit:
    """Result of :func:`fit_bm_exact`."""

    model: BoltzmannMachine
    iterations: int
    converged: bool
    gradient_max: float          #: max |T_data - T_model|: the residual of eq. 5 at the end
    nll: float                   #: mean negative log-likelihood of the data (nats)
    info: dict[str, Any] = field(default_factory=dict)


def fit_bm_exact(moments: Moments, *, l2: float = 0.0, tol: float = 1e-9, max_iter: int = 500,
                 init: BoltzmannMachine | None = None) -> ExactFit:
    """Maximum-likelihood BM without self-interaction (eq. 12, centres at the data means), exact.

    Uses only the data means and covariances (the sufficient statistics).  ``l2`` adds (l2 / 2) |W|^2,
    needed when the maximum likelihood does not exist (a pair of units that is never on together).
    ``init`` (same centres) starts from a given model, e.g. the first-order solution; default zeros.
    """
    mean = moments.mean.double()
    check_interior(mean)
    n = mean.numel()
    require(n <= 20, f"exact fitting enumerates 2^n states; n = {n} is above the limit of 20")
    iu = torch.triu_indices(n, n, 1)
    states = BoltzmannMachine(n_units=n, dtype=torch.float64).visible.enumerate_states(0, 2 ** n)
    t_all = bm_statistics(states, mean).numpy()
    t_data = torch.cat([mean, moments.cov.double()[iu[0], iu[1]]]).numpy()
    n_w = t_all.shape[1] - n
    if init is not None:
        theta0 = np.concatenate([init.bias.detach().double().numpy(),
                                 init.symmetric_coupling().double()[iu[0], iu[1]].numpy()])
    else:
        theta0 = np.concatenate([np.log(mean.numpy()) - np.log1p(-mean.numpy()), np.zeros(n_w)])
    reg = np.concatenate([np.zeros(n), np.full(n_w, l2)])

    def parts(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        logits = t_all @ theta
        log_z = float(scipy.special.logsumexp(logits))
        p = np.exp(logits - log_z)
        t_model = p @ t_all
        return log_z, p, t_model

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_z, _, t_model = parts(theta)
        return log_z - theta @ t_data + 0.5 * reg @ theta ** 2, t_model - t_data + reg * theta

    def hess(theta: np.ndarray) -> np.ndarray:
        _, p, t_model = parts(theta)
        centred = t_all - t_model
        return (centred * p[:, None]).T @ centred + np.diag(reg)

    res = scipy.optimize.minimize(fun, theta0, jac=True, hess=hess, method="trust-exact",
                                  options={"gtol": tol, "maxiter": max_iter})
    theta = res.x
    w = torch.zeros(n, n, dtype=torch.float64)
    w[iu[0], iu[1]] = torch.from_numpy(theta[n:])
    w = w + w.t()
    model = BoltzmannMachine(w, torch.from_numpy(theta[:n].copy()), mean, self_interaction=False,
                             dtype=torch.float64)
    value, grad = fun(theta)
    grad = grad - reg * theta             # the residual of eq. 5 (without the penalty)
    mean_nll = float(value - 0.5 * reg @ theta ** 2)   # ln Z - theta . T_data = -mean ln p(data), exactly
    return ExactFit(model, int(res.nit), bool(res.success or np.abs(grad).max() <= 10 * tol),
                    float(np.abs(grad).max()), mean_nll,
                    {"message": str(res.message)})


# ---------------------------------------------------------------------------------------- eq. 4
def entropy_perturbations(model: EnergyModel, n_directions: int = 20, step: float = 1e-3, seed: int = 0,
                          ) -> dict[str, Any]:
    """Probe eq. 4 around p_E with the constraints of eq. 5 held at p_E's own expectations.

    With p_D := p_E the constraints hold exactly, and Theorem 3 says p_E has the largest entropy among all
    p with E_p[dF/dtheta] = E_{p_E}[dF/dtheta].  Random directions d in the null space of the constraint
    matrix (rows: states; columns: dF/dtheta per parameter, plus the normalisation) keep every constraint;
    the function reports the first-order entropy change sum_x d(x) F(x) (relative to |d| |F|) and the
    change of H at p + step d and p - step d.  Both changes are negative at a maximum.
    """
    m = _float64_copy(model)
    states, p = exact_distribution(m)
    params = [q for q in m.parameters()]
    rows = []
    for i in range(states.shape[0]):  # per-state gradients: small models only
        g = torch.autograd.grad(m.visible_free_energy(states[i:i + 1]).sum(), params, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(q) if gi is None else gi).reshape(-1) for q, gi in zip(params, g)]))
    a = torch.stack(rows).numpy()
    a = np.concatenate([a, np.ones((a.shape[0], 1))], 1)
    null = scipy.linalg.null_space(a.T)
    require(null.shape[1] != 0, "the constraints fix p completely (as many constraints as states); use more units")
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        f = m.visible_free_energy(states).numpy()
    pn = p.numpy()
    h0 = float(-(pn * np.log(pn)).sum())
    first, second = [], []
    for _ in range(n_directions):
        d = null @ rng.standard_normal(null.shape[1])
        d /= np.abs(d).max()
        s = step * float(pn.min())  # keep p + s d positive
        first.append(float(d @ f) / (np.linalg.norm(d) * np.linalg.norm(f - f.mean())))
        for sign in (1, -1):
            q = pn + sign * s * d
            second.append(float(-(q * np.log(q)).sum()) - h0)
    return {"entropy": h0, "n_constraints": int(np.linalg.matrix_rank(a)), "n_states": int(a.shape[0]),
            "null_dimension": int(null.shape[1]), "max_abs_first_order": float(np.max(np.abs(first))),
            "max_entropy_change": float(np.max(second)), "entropy_changes": second}
