"""Exact checks of the reciprocal-space mode dynamics on small RBMs trained with exact gradients.

The Gaussian Fokker-Planck description (:mod:`boltzlab.reciprocal.fokker_planck`, sec. 4 of the
reciprocal-space RBM paper, eq. 29-48) predicts the stationary covariance T H^{-1} of the reciprocal
variables and flags as non-converging the modes where H has a negative eigenvalue (lambda_i > 4T for binary
units).  Here every quantity it should describe is computed exactly by enumeration:

* :func:`exact_covariance`: the covariance of (v, h) under the Boltzmann distribution at beta, against which
  T H^{-1} is compared (both are covariances of the same linear coordinates; z is an orthogonal image);
* :func:`gibbs_relaxation`: the second eigenvalue of the exact block-Gibbs kernel h -> v -> h' and the
  relaxation time -1/ln |rho_2| in sweeps, which is finite for every RBM (a finite ergodic chain);
* :func:`train_exactly`: full-batch gradient ascent on the exact log-likelihood (ln Z by enumeration,
  differentiated by autograd), so training itself carries no sampling noise.  Written here because every
  trainer in :mod:`boltzlab.training` estimates the negative phase by sampling.

:func:`relaxation_along_training` puts them together: it trains a small RBM and records, epoch by epoch, the
largest singular value, the number of modes the Gaussian expansion calls non-converging (uniform and
saddle-point expansion), the exact relaxation time and the covariance errors of both expansions.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Sequence

import numpy as np
import torch

from ...errors import ConfigError
from ...partition.exact import visible_distribution
from ...reciprocal.fokker_planck import ModeDynamics, fokker_planck_spectrum, mode_dynamics, saddle_point
from ...reciprocal.transform import reciprocal_transform

MAX_EXACT_UNITS = 16


def _check_small(model: Any) -> None:
    n, m = model.weights.shape
    if n > MAX_EXACT_UNITS or m > MAX_EXACT_UNITS:
        raise ConfigError(f"exact mode dynamics enumerate both layers; got {n} x {m} units, at most "
                          f"{MAX_EXACT_UNITS} per layer")


def _all_states(layer: Any) -> torch.Tensor:
    return layer.enumerate_states(0, int(round(2 ** layer.n_states_log2))).double()


@torch.no_grad()
def exact_covariance(model: Any, beta: float = 1.0) -> torch.Tensor:
    """Cov(v, h) of the joint Boltzmann distribution at beta, shape (N + M, N + M), by enumerating v."""
    _check_small(model)
    m64 = copy.deepcopy(model).double()
    v, p = visible_distribution(m64, beta)
    mh = m64.mean_hidden(v, beta).double()
    lo, hi = (float(x) for x in m64.hidden.values)
    vh = torch.cat([v.double(), mh], 1)
    mean = p @ vh
    second = (vh * p[:, None]).T @ vh
    n = v.shape[1]
    second[n:, n:] += torch.diag(p @ ((hi - mh) * (mh - lo)))
    return second - torch.outer(mean, mean)


@torch.no_grad()
def gibbs_relaxation(model: Any, beta: float = 1.0) -> dict[str, float]:
    """The second eigenvalue rho_2 of the exact block-Gibbs kernel and tau = -1/ln |rho_2| (sweeps).

    The kernel h -> v -> h' is K = A B with A[h, v] = p(v | h), B[v, h'] = p(h' | v); it is reversible with
    respect to p(h), so its eigenvalues are real: those of the symmetric p^{1/2} K p^{-1/2}.
    """
    _check_small(model)
    m64 = copy.deepcopy(model).double()
    v, h = _all_states(m64.visible), _all_states(m64.hidden)
    log_pv_h = -m64.energy(v.repeat_interleave(len(h), 0), h.repeat(len(v), 1)).reshape(len(v), len(h)) * beta
    p_v_given_h = torch.softmax(log_pv_h, 0)           # columns: p(v | h)
    p_h_given_v = torch.softmax(log_pv_h, 1)           # rows: p(h | v)
    k = p_v_given_h.T @ p_h_given_v                    # K[h, h']
    p_h = torch.softmax(torch.logsumexp(log_pv_h, 0), 0)
    s = p_h.sqrt()[:, None] * k / p_h.sqrt()[None, :]
    eig = torch.linalg.eigvalsh(0.5 * (s + s.T))
    rho2 = float(eig.abs().sort(descending=True).values[1]) if len(eig) > 1 else 0.0
    return {"rho2": rho2, "tau_sweeps": -1.0 / math.log(rho2) if 0 < rho2 < 1 else float("inf")}


def train_exactly(model: Any, data: torch.Tensor, epochs: int, lr: float = 0.1, record: Any = None
                  ) -> list[dict[str, Any]]:
    """Full-batch SGD on the exact mean log-likelihood; ``record(model, epoch)`` returns a dict per epoch."""
    _check_small(model)
    states = _all_states(model.visible).to(model.dtype)
    data = data.to(model.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for epoch in range(int(epochs) + 1):
        loss = model.free_energy(data).mean() + torch.logsumexp(-model.free_energy(states), 0)
        if record is not None:
            history.append({"epoch": epoch, "log_likelihood": -float(loss.detach()), **record(model, epoch)})
        if epoch == epochs:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return history


def _cov_error(model: Any, beta: float, expansion: str, exact: torch.Tensor) -> tuple[int, float]:
    dyn = mode_dynamics(model, beta, expansion)
    if dyn.non_converging:
        return len(dyn.non_converging), float("nan")
    return 0, float((dyn.stationary_covariance() - exact).norm() / exact.norm())


def mode_record(model: Any, beta: float = 1.0) -> dict[str, Any]:
    """Gaussian-FP predictions beside the exact quantities for one model (see the module docstring)."""
    lam = reciprocal_transform(model).singular_values
    exact = exact_covariance(model, beta)
    n_u, err_u = _cov_error(model, beta, "uniform", exact)
    n_s, err_s = _cov_error(model, beta, "saddle", exact)
    return {"lambda_1": float(lam[0]), "lambda_1_over_4T": float(lam[0]) * beta / 4.0,
            "non_converging_uniform": n_u, "non_converging_saddle": n_s,
            "saddle_stability": saddle_point(model, beta).stability,
            "covariance_error_uniform": err_u, "covariance_error_saddle": err_s, **gibbs_relaxation(model, beta)}


def prototype_data(n_visible: int, n_samples: int = 200, n_prototypes: int = 2, flip: float = 0.1,
                   seed: int = 0) -> torch.Tensor:
    """Binary patterns: ``n_prototypes`` random prototypes, each bit flipped with probability ``flip``."""
    g = torch.Generator().manual_seed(int(seed))
    protos = (torch.rand(n_prototypes, n_visible, generator=g) < 0.5).double()
    which = torch.randint(n_prototypes, (n_samples,), generator=g)
    flips = (torch.rand(n_samples, n_visible, generator=g) < flip).double()
    return (protos[which] - flips).abs()


def relaxation_along_training(n_visible: int = 12, n_hidden: int = 4, epochs: int = 300, lr: float = 0.3,
                              beta: float = 1.0, every: int = 30, seed: int = 0, n_prototypes: int = 3,
                              flip: float = 0.05) -> list[dict[str, Any]]:
    """Train a small binary RBM exactly on :func:`prototype_data`; :func:`mode_record` every ``every`` epochs."""
    from ...models.rbm import BinaryRBM

    model = BinaryRBM.initialize(n_visible, n_hidden, weight_std=0.01, seed=seed, dtype=torch.float64)
    data = prototype_data(n_visible, n_prototypes=n_prototypes, flip=flip, seed=seed)

    def record(m: Any, epoch: int) -> dict[str, Any]:
        return mode_record(m, beta) if epoch % every == 0 else {}

    return [r for r in train_exactly(model, data, epochs, lr, record) if "lambda_1" in r]


def training_figure(history: list[dict[str, Any]]):
    """lambda_1 / 4T, the exact Gibbs relaxation time and the covariance errors along exact training."""
    from ...plots import subplots

    ep = np.array([r["epoch"] for r in history])
    fig, axes = subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(ep, [r["lambda_1_over_4T"] for r in history], "o-", label="lambda_1 beta / 4")
    axes[0].axhline(1.0, color="tab:red", ls="--", label="Gaussian FP: non-converging above")
    axes[0].set_ylabel("lambda_1 / 4T")
    axes[1].semilogy(ep, [r["tau_sweeps"] for r in history], "o-", color="k", label="exact block Gibbs")
    axes[1].set_ylabel("relaxation time (sweeps)")
    axes[2].plot(ep, [r["covariance_error_uniform"] for r in history], "o-", label="uniform expansion (eq. 46)")
    axes[2].plot(ep, [r["covariance_error_saddle"] for r in history], "s-", label="saddle-point expansion")
    axes[2].set_ylabel("|T H^-1 - Cov_exact| / |Cov_exact|")
    for ax in axes:
        ax.set_xlabel("epoch (exact gradient)")
        ax.legend(fontsize=8)
    fig.suptitle("Fokker-Planck mode dynamics against exact enumeration")
    fig.tight_layout()
    return fig


def harmonic_rates_check(curvature: float, beta: float = 1.0, n_eigs: int = 5) -> dict[str, Any]:
    """Numerical FP rates of U = c z^2 / 2 beside n c (corrected eq. 48) and beta^2 n c / 4 (as written)."""
    width = 12.0 / math.sqrt(beta * curvature)
    num = fokker_planck_spectrum(lambda z: 0.5 * curvature * z * z, -width, width, beta, 4001, n_eigs)
    n = np.arange(n_eigs)
    return {"numerical": num, "corrected": n * curvature, "as_written": 0.25 * beta ** 2 * n * curvature}


def spectrum_figure(dyn: ModeDynamics, singular_values: Sequence[float] | None = None):
    """Relaxation rates c_k of the quadratic U_eff against the threshold; negative ones are shaded."""
    from ...plots import subplots

    fig, ax = subplots(figsize=(6, 4))
    c = dyn.curvatures.cpu().numpy()
    ax.plot(np.arange(1, len(c) + 1), c, ".", ms=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.axhspan(min(c.min(), 0.0), 0.0, color="tab:red", alpha=0.15,
               label=f"non-converging (Gaussian): {len(dyn.non_converging)}")
    ax.set_xlabel("mode k (ascending rate)")
    ax.set_ylabel("relaxation rate c_k (= curvature of U_eff)")
    ax.set_title(f"Fokker-Planck spectrum, beta = {dyn.beta:g}, {dyn.expansion} expansion")
    ax.legend(loc="best")
    fig.tight_layout()
    return fig
