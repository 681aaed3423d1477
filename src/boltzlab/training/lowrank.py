"""Low-rank pretraining: a model of the data's top principal directions, solved exactly on a grid, as an RBM init.

The "restricted Coulomb machine" of fastrbm (Béreux, Decelle, Furtlehner, Rosset & Seoane, ICLR 2025), in spin
variables s = 2v - 1 in {-1, +1}^N:

    ln p(s) = b.s + N g(m(s)) - ln Z,      m(s) = U s / sqrt(N)  in R^d   (U: d x N, orthonormal rows),
    g(m) = a.m + sum_k q_k |n_k.m - c_k|,   q_k >= 0,

with K hyperplanes (unit normals n_k, offsets c_k at quantiles of the projected data).  The b-weighted number
of configurations with projection m is Omega_b(m) ≈ exp(N S_b(m)) / sqrt(det H(m)), S_b(m) = min_mu
[(1/N) sum_i ln 2cosh(b_i + sqrt(N) (U^T mu)_i) - mu.m] (Newton at every grid point), H the Hessian at mu*;
ln Z = ln Z_b + ln sum_grid Omega_b e^{N g} - ln sum_grid Omega_b, ln Z_b = sum_i ln 2cosh b_i.  The
log-likelihood is concave in (a, q) and is maximised by L-BFGS-B with q >= 0.  Unlike fastrbm, the
independent-site fields b are kept as the base measure and the 1/sqrt(det H) prefactor is not dropped.

Conversion to an RBM: ln 2cosh x = |x| + ln(1 + e^{-2|x|}), so spin hidden units with weights
w_k = sqrt(N) q_k U^T n_k and biases -N q_k c_k, visible fields b + sqrt(N) U^T a, reproduce g; the spin RBM
is then rewritten exactly for {0, 1} units: W -> 4W, visible bias -> 2 a_s - 2 W 1, hidden bias ->
2 theta - 2 W^T 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._tensor import as_tensor
from ..errors import ConfigError, DomainError, require

#: Grid points per dimension by intrinsic dimension d (about 10^4 to 7 10^4 points in all).
GRID_POINTS = {1: 2001, 2: 151, 3: 41, 4: 17}


def _log2cosh(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    return ax + torch.log1p(torch.exp(-2 * ax))


def principal_directions(spins: torch.Tensor, d: int) -> torch.Tensor:
    """The top ``d`` principal directions (rows, orthonormal) of the centred data, float64 (d, N)."""
    x = spins.double()
    x = x - x.mean(0)
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    u = vh[:d]
    # Fix the sign so that the data's mean projection is non-negative along each direction (deterministic).
    sign = torch.sign((spins.double().mean(0) @ u.t()))
    sign[sign == 0] = 1
    return u * sign.unsqueeze(1)


@torch.no_grad()
def large_deviation_entropy(m: torch.Tensor, u: torch.Tensor, fields: torch.Tensor, max_iter: int = 100,
                            tol: float = 1e-10, mu_max: float = 40.0,
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """S_b(m), ln det H(m), the converged mask and the multipliers mu* at grid points ``m`` (P, d).

    Points outside the convex set of reachable projections have no minimiser (phi is unbounded below and
    mu runs off): once sqrt(N) |mu| exceeds ``mu_max`` (every tanh saturated) a point is declared
    unreachable and comes back with ``converged = False`` and S = -inf.
    """
    n = u.shape[1]
    sq = math.sqrt(n)
    p, d = m.shape
    eye = torch.eye(d, dtype=torch.float64, device=m.device)
    mu = torch.zeros(p, d, dtype=torch.float64, device=m.device)
    converged = torch.zeros(p, dtype=torch.bool, device=m.device)
    active = torch.arange(p, device=m.device)

    def phi(mu_: torch.Tensor, m_: torch.Tensor) -> torch.Tensor:
        return _log2cosh(fields + sq * mu_ @ u).mean(1) - (mu_ * m_).sum(1)

    for _ in range(int(max_iter)):
        if active.numel() == 0:
            break
        mu_a, m_a = mu[active], m[active]
        th = torch.tanh(fields + sq * mu_a @ u)                           # (A, N)
        grad = th @ u.t() / sq - m_a                                      # (A, d)
        done = grad.abs().max(1).values < tol
        converged[active[done]] = True
        keep = ~done
        active, mu_a, m_a, th, grad = active[keep], mu_a[keep], m_a[keep], th[keep], grad[keep]
        if active.numel() == 0:
            break
        hess = torch.einsum("dn,an,en->ade", u, 1 - th * th, u) + 1e-12 * eye
        step = torch.linalg.solve(hess, grad.unsqueeze(-1)).squeeze(-1)
        val = phi(mu_a, m_a)
        t = torch.ones(active.numel(), 1, dtype=torch.float64, device=m.device)
        for _ in range(40):  # backtracking: phi is convex in mu, so a short enough Newton step decreases it
            new = phi(mu_a - t * step, m_a)
            ok = new <= val + 1e-14 * val.abs()
            if bool(ok.all()):
                break
            t = torch.where(ok.unsqueeze(1), t, t / 2)
        mu_a = mu_a - t * step
        mu[active] = mu_a
        gone = (sq * mu_a).abs().max(1).values > mu_max
        active = active[~gone]
    th = torch.tanh(fields + sq * mu @ u)
    val = phi(mu, m)
    hess = torch.einsum("dn,pn,en->pde", u, 1 - th * th, u)
    logdet = torch.linalg.slogdet(hess).logabsdet
    converged = converged & torch.isfinite(logdet) & torch.isfinite(val)
    s = torch.where(converged, val, torch.full_like(val, -math.inf))
    return s, torch.where(converged, logdet, torch.zeros_like(logdet)), converged, mu


@dataclass
class LowRankModel:
    """A fitted low-rank model (see the module docstring); all tensors float64 on the CPU.

    ``directions`` U (d, N); ``fields`` b (N,) of the spin base measure; ``normals`` (K, d) and ``offsets``
    (K,) of the hyperplanes; ``field`` a (d,); ``q`` (K,) >= 0; ``grid`` (P, d) and its ``log_omega``
    (P,) = N S_b - ln det H / 2 (-inf off the reachable set).
    """

    directions: torch.Tensor
    fields: torch.Tensor
    normals: torch.Tensor
    offsets: torch.Tensor
    field: torch.Tensor
    q: torch.Tensor
    grid: torch.Tensor
    log_omega: torch.Tensor
    history: list[float]
    multipliers: torch.Tensor | None = None

    @torch.no_grad()
    def sample(self, n_samples: int, seed: int | None = 0) -> torch.Tensor:
        """Exact samples of the low-rank model as {0, 1} configurations (n, N), float64.

        m is drawn from the grid with probability ∝ Omega_b(m) e^{N g(m)}; given m, the configurations of that
        projection are, to leading order, those of independent spins in the fields b + sqrt(N) U^T mu*(m)
        (the tilted measure whose mean projection is m).  Used to start persistent chains (fastrbm does the same).
        """
        if self.multipliers is None:
            raise ConfigError("this low-rank model has no stored multipliers; refit it with fit_lowrank")
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        ok = torch.isfinite(self.log_omega)
        logp = torch.full_like(self.log_omega, -math.inf)
        logp[ok] = self.log_omega[ok] + self.n_visible * self.g(self.grid[ok])
        idx = torch.multinomial(torch.softmax(logp, 0), int(n_samples), replacement=True, generator=g)
        h = self.fields + math.sqrt(self.n_visible) * self.multipliers[idx] @ self.directions
        return (torch.rand(h.shape, generator=g, dtype=torch.float64) < torch.sigmoid(2 * h)).double()

    @property
    def n_visible(self) -> int:
        return int(self.directions.shape[1])

    @property
    def dim(self) -> int:
        return int(self.directions.shape[0])

    def project(self, spins: torch.Tensor) -> torch.Tensor:
        return spins.double() @ self.directions.t() / math.sqrt(self.n_visible)

    def g(self, m: torch.Tensor, field: torch.Tensor | None = None, q: torch.Tensor | None = None) -> torch.Tensor:
        field = self.field if field is None else field
        q = self.q if q is None else q
        return m @ field + (m @ self.normals.t() - self.offsets).abs() @ q

    def log_z(self, field: torch.Tensor | None = None, q: torch.Tensor | None = None) -> torch.Tensor:
        """ln Z by the grid sum, normalised by the g = 0 sum (module docstring)."""
        n = self.n_visible
        base = _log2cosh(self.fields).sum()
        ok = torch.isfinite(self.log_omega)
        lo = self.log_omega[ok]
        return base + torch.logsumexp(lo + n * self.g(self.grid[ok], field, q), 0) - torch.logsumexp(lo, 0)

    def log_prob(self, spins: torch.Tensor) -> torch.Tensor:
        """ln p(s) per sample under the low-rank model (grid ln Z)."""
        s = spins.double()
        return s @ self.fields + self.n_visible * self.g(self.project(s)) - self.log_z()

    def to_rbm(self, dtype: torch.dtype = torch.float32, device: Any = None):
        """The {0,1}-{0,1} :class:`~boltzlab.models.BinaryRBM` that the fitted model converts into."""
        from ..models import BinaryRBM
        n = self.n_visible
        sq = math.sqrt(n)
        w_s = sq * (self.directions.t() @ self.normals.t()) * self.q          # (N, K)
        theta = -n * self.q * self.offsets                                    # (K,)
        a_s = self.fields + sq * (self.directions.t() @ self.field)          # (N,)
        w = 4 * w_s
        a = 2 * a_s - 2 * w_s.sum(1)
        b = 2 * theta - 2 * w_s.sum(0)
        return BinaryRBM(w, a, b, dtype=dtype, device=device)

    def summary(self) -> dict[str, Any]:
        return {"dim": self.dim, "n_visible": self.n_visible, "n_features": int(self.q.numel()),
                "n_active_features": int((self.q > 1e-8).sum()), "grid_points": int(self.grid.shape[0]),
                "reachable_grid_points": int(torch.isfinite(self.log_omega).sum()),
                "fit_history": self.history}


def _to_spins(data: Any) -> torch.Tensor:
    x = as_tensor(data, dtype=torch.float64, device="cpu", name="data")
    if x.dim() != 2 or x.shape[0] < 2:
        raise ConfigError(f"low-rank pretraining needs a data matrix (n >= 2, N); got shape {tuple(x.shape)}")
    require(bool(torch.isfinite(x).all()), "data contain NaN or infinite values", DomainError)
    if bool(((x == 0) | (x == 1)).all()):
        return 2 * x - 1
    if bool(((x == -1) | (x == 1)).all()):
        return x
    raise DomainError("low-rank pretraining needs binary {0,1} or spin {-1,+1} data (binarise first)")


def _hyperplanes(proj: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """K unit normals (random directions; +1 in one dimension) and offsets at quantiles of n.m over the data."""
    d = proj.shape[1]
    g = torch.Generator().manual_seed(int(seed))
    normals = torch.ones(k, 1, dtype=torch.float64) if d == 1 else torch.randn(k, d, generator=g, dtype=torch.float64)
    normals = normals / normals.norm(dim=1, keepdim=True)
    levels = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    if d == 1:
        offsets = torch.quantile(proj[:, 0], levels)
    else:
        # each hyperplane at its own random quantile of the data along its normal
        u = torch.rand(k, generator=g, dtype=torch.float64) * 0.9 + 0.05
        offsets = torch.stack([torch.quantile(proj @ normals[i], u[i]) for i in range(k)])
    return normals, offsets


def fit_lowrank(data: Any, n_hidden: int, dim: int = 2, *, grid_points: int | None = None, seed: int = 0,
                max_iter: int = 500, independent_fields: bool = True, eps: float = 1e-3,
                margin: float = 0.1) -> LowRankModel:
    """Fit the low-rank model of the module docstring to binary or spin data.

    Parameters
    ----------
    data : (n, N) array of {0,1} or {-1,+1} values.
    n_hidden : number of hyperplane features (the hidden units of the converted RBM).
    dim : intrinsic dimension d, 1..4.
    grid_points : points per dimension (default :data:`GRID_POINTS`); the grid spans the data's projections
        widened by ``margin`` on each side.
    independent_fields : keep per-unit fields b from the data means (default True; False gives fastrbm's
        bias-free base, b = 0).
    max_iter : L-BFGS-B iterations.
    """
    from scipy.optimize import minimize
    require(1 <= int(dim) <= 4, f"the intrinsic dimension must be 1..4 (the grid has n^d points); got {dim}")
    require(int(n_hidden) >= 1, f"n_hidden must be >= 1; got {n_hidden}")
    s = _to_spins(data)
    n_samples, n = s.shape
    d = int(dim)
    require(d <= n, f"dim = {d} exceeds the number of visible units {n}")
    if independent_fields:
        mean = s.mean(0).clamp(-1 + 2 * eps, 1 - 2 * eps)
        fields = torch.atanh(mean)
    else:
        fields = torch.zeros(n, dtype=torch.float64)
    u = principal_directions(s, d)
    proj = s @ u.t() / math.sqrt(n)
    lo, hi = proj.min(0).values, proj.max(0).values
    width = (hi - lo).clamp(min=1e-6)
    pts = int(grid_points or GRID_POINTS[d])
    require(pts >= 3, f"grid_points must be >= 3; got {grid_points}")
    axes = [torch.linspace(float(lo[i] - margin * width[i]), float(hi[i] + margin * width[i]), pts,
                           dtype=torch.float64) for i in range(d)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    chunks = [large_deviation_entropy(grid[i:i + 4096], u, fields) for i in range(0, grid.shape[0], 4096)]
    s_b = torch.cat([c[0] for c in chunks])
    logdet = torch.cat([c[1] for c in chunks])
    log_omega = n * s_b - 0.5 * logdet
    normals, offsets = _hyperplanes(proj, int(n_hidden), seed)
    model = LowRankModel(u, fields, normals, offsets, torch.zeros(d, dtype=torch.float64),
                         torch.zeros(int(n_hidden), dtype=torch.float64), grid, log_omega, [],
                         torch.cat([c[3] for c in chunks]))
    feat_data = torch.cat([proj, (proj @ normals.t() - offsets).abs()], 1).mean(0)   # data averages of phi

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        a, q = t[:d], t[d:]
        # (mean N g(m_data) - ln Z) / N: the data term is linear, so use the precomputed feature means.
        val = (feat_data[:d] @ a + feat_data[d:] @ q) - (model.log_z(a, q) - _log2cosh(fields).sum()) / n
        (-val).backward()
        return float(-val.detach()), t.grad.numpy().copy()

    x0 = np.zeros(d + int(n_hidden))
    bounds = [(None, None)] * d + [(0.0, None)] * int(n_hidden)
    res = minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": int(max_iter), "ftol": 1e-12, "gtol": 1e-9})
    theta = torch.tensor(res.x, dtype=torch.float64)
    model.field, model.q = theta[:d].clone(), theta[d:].clone()
    model.history = [float(-res.fun)]
    return model


def lowrank_rbm(data: Any, n_hidden: int, dim: int = 2, *, dtype: torch.dtype = torch.float32, device: Any = None,
                **kwargs: Any):
    """Fit :func:`fit_lowrank` and return ``(rbm, low_rank_model)``: the RBM initialisation and its source."""
    model = fit_lowrank(data, n_hidden, dim, **kwargs)
    return model.to_rbm(dtype=dtype, device=device), model


__all__ = ["fit_lowrank", "lowrank_rbm", "LowRankModel", "principal_directions", "large_deviation_entropy",
           "GRID_POINTS"]
