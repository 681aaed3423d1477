"""Trial wave functions for N particles in D dimensions: Psi(X), X of shape (n_walkers, N, D).

Every ansatz is a :class:`Ansatz` (a ``torch.nn.Module``): it defines ``log_psi`` (ln |Psi|), and gets
the spatial gradient and Laplacian of ln Psi and the per-sample log-derivatives d ln Psi / d theta by
autograd unless it supplies closed forms.  Wave functions are products of factors
(:class:`ProductAnsatz`); the built-in factors have closed forms and the one-particle-move protocol
(``init_cache`` / ``propose`` / ``accept`` / ``grad_particle``) with which a sampler moves one particle
at a time at O(N) (RBM, Jastrow) or O(N^2) (Slater determinant) cost.

To use your own function, subclass :class:`Ansatz` and implement ``log_psi``; everything else follows by
autograd (the samplers then move all particles at once).  Its parameters are ``nn.Parameter`` s and go
into checkpoints through ``state_dict`` (pass the same object again when resuming).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as tnf

from ...errors import require
from ..vmc import autograd_log_derivatives, trainable_parameters

__all__ = ["Ansatz", "ProductAnsatz", "GaussianBinaryRBM", "PadeJastrow", "default_spins"]


def default_spins(n_particles: int) -> torch.Tensor:
    """Spin labels 0 (up) for the first ceil(N/2) particles and 1 (down) for the rest."""
    n_up = (n_particles + 1) // 2
    return torch.tensor([0] * n_up + [1] * (n_particles - n_up), dtype=torch.long)


class Ansatz(nn.Module):
    """Base class: a real, positive or signed wave function of (n_walkers, N, D) positions."""

    n_particles: int
    dim: int

    def __init__(self, n_particles: int, dim: int) -> None:
        super().__init__()
        require(n_particles >= 1 and dim >= 1, f"need N >= 1 particles and D >= 1, got N={n_particles}, D={dim}")
        self.n_particles, self.dim = int(n_particles), int(dim)

    # ---------------------------------------------------------------- to override
    def log_psi(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """ln |Psi(x)| per walker, shape (n_walkers,)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- autograd defaults
    def grad_lap(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ln|Psi|, grad ln Psi of shape (W, N, D), Laplacian of ln Psi of shape (W,)) by autograd.

        The Laplacian costs one backward pass per coordinate (N * D passes, each over all walkers).
        """
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            lp = self.log_psi(xr)
            (g,) = torch.autograd.grad(lp.sum(), xr, create_graph=True)
            flat = g.reshape(g.shape[0], -1)
            lap = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
            for k in range(flat.shape[1]):
                (h,) = torch.autograd.grad(flat[:, k].sum(), xr, retain_graph=True)
                lap = lap + h.reshape(h.shape[0], -1)[:, k]
        return lp.detach(), g.detach(), lap.detach()

    def log_derivatives(self, x: torch.Tensor, cache: Any = None) -> torch.Tensor:
        """O_k(x) = d ln|Psi(x)| / d theta_k for the trainable parameters in ``parameters()`` order,
        shape (n_walkers, n_params), by per-sample autograd (:func:`~boltzlab.quantum.vmc.autograd_log_derivatives`)."""
        return autograd_log_derivatives(self, x.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_psi(x)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in trainable_parameters(self))

    @property
    def supports_moves(self) -> bool:
        """True when the one-particle-move protocol is implemented (samplers then move one particle)."""
        return False

    def check_positions(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[1:] != (self.n_particles, self.dim):
            raise ValueError(f"positions must have shape (n_walkers, {self.n_particles}, {self.dim}), "
                             f"got {tuple(x.shape)}")


class _Factor(Ansatz):
    """A factor with closed forms and the one-particle-move protocol."""

    @property
    def supports_moves(self) -> bool:
        return True

    def init_cache(self, x: torch.Tensor) -> dict[str, Any]:
        return {}

    def propose(self, cache: dict[str, Any], x: torch.Tensor, i: int,
                r_new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Moving particle i to r_new (W, D): (ln|Psi'| - ln|Psi|, grad_i ln Psi' (W, D), aux for accept)."""
        raise NotImplementedError

    def accept(self, cache: dict[str, Any], x: torch.Tensor, i: int, r_new: torch.Tensor, aux: Any,
               mask: torch.Tensor) -> None:
        """Update the cache for the walkers in ``mask`` that moved particle i (x is not yet updated)."""

    def grad_particle(self, cache: dict[str, Any], x: torch.Tensor, i: int) -> torch.Tensor:
        """grad_i ln Psi at the current positions, shape (W, D)."""
        raise NotImplementedError


class ProductAnsatz(Ansatz):
    """Psi = prod_f Psi_f: log-values, gradients, Laplacians and log-derivatives add up."""

    def __init__(self, factors: Sequence[Ansatz]) -> None:
        require(len(factors) >= 1, "a product ansatz needs at least one factor")
        n, d = factors[0].n_particles, factors[0].dim
        require(all(f.n_particles == n and f.dim == d for f in factors),
                "all factors must have the same number of particles and dimension")
        super().__init__(n, d)
        self.factors = nn.ModuleList(factors)

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        return sum(f.log_psi(x) for f in self.factors)

    def grad_lap(self, x):
        outs = [f.grad_lap(x) for f in self.factors]
        return (sum(o[0] for o in outs), sum(o[1] for o in outs), sum(o[2] for o in outs))

    def log_derivatives(self, x, cache=None):
        return torch.cat([f.log_derivatives(x) for f in self.factors], dim=1)

    @property
    def supports_moves(self) -> bool:
        return all(f.supports_moves for f in self.factors)

    def init_cache(self, x):
        return {k: f.init_cache(x) for k, f in enumerate(self.factors)}

    def propose(self, cache, x, i, r_new):
        lr, g, aux = 0.0, 0.0, []
        for k, f in enumerate(self.factors):
            a, b, c = f.propose(cache[k], x, i, r_new)
            lr, g = lr + a, g + b
            aux.append(c)
        return lr, g, aux

    def accept(self, cache, x, i, r_new, aux, mask):
        for k, f in enumerate(self.factors):
            f.accept(cache[k], x, i, r_new, aux[k], mask)

    def grad_particle(self, cache, x, i):
        return sum(f.grad_particle(cache[k], x, i) for k, f in enumerate(self.factors))


class GaussianBinaryRBM(_Factor):
    """The Gaussian-binary RBM wave function (Nordhagen et al., Frontiers in Physics 11 (2023), eq. 9-10):

        F(X) = sum_h exp(-E(X, h)) = exp(-sum_i (X_i - a_i)^2 / (2 sigma^2)) prod_j (1 + exp(b_j + sum_i X_i w_ij / sigma^2))

    with the M = N * D coordinates X_i as visible units and ``n_hidden`` binary hidden units.
    ``power = 1`` gives Psi = F; ``power = 0.5`` gives Psi = sqrt(F), i.e. |Psi|^2 = P_rbm(X) as in the talk.
    With s = 1/sigma^2 and u_j = b_j + s sum_i X_i w_ij (closed forms, checked against autograd in the tests):

        ln Psi          = p [ -s/2 sum_i (X_i - a_i)^2 + sum_j softplus(u_j) ]
        d ln Psi/dX_i   = p [ -s (X_i - a_i) + s sum_j w_ij sigmoid(u_j) ]
        lap ln Psi      = p [ -s M + s^2 sum_ij w_ij^2 sigmoid(u_j) (1 - sigmoid(u_j)) ]
        d ln Psi/da_i   = p s (X_i - a_i);  d/db_j = p sigmoid(u_j);  d/dw_ij = p s X_i sigmoid(u_j)
        d ln Psi/d ln sigma^2 = -s p [ -1/2 sum_i (X_i - a_i)^2 + sum_j sigmoid(u_j) sum_i X_i w_ij ]

    sigma defaults to the value that makes a = 0, W = 0 the exact non-interacting ground state
    exp(-omega r^2 / 2): sigma^2 = 1/omega for Psi = F and 1/(2 omega) for Psi = sqrt(F).
    ``train_sigma`` makes ln sigma^2 a variational parameter.
    """

    def __init__(self, n_particles: int, dim: int, n_hidden: int, omega: float = 1.0, power: float = 1.0,
                 sigma: float | None = None, train_sigma: bool = False, init_scale: float = 0.01,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(n_particles, dim)
        require(n_hidden >= 0, f"n_hidden must be >= 0, got {n_hidden}")
        require(power in (1.0, 0.5), f"power must be 1 (Psi = F) or 0.5 (Psi = sqrt(F)), got {power}")
        require(omega > 0, f"omega must be > 0, got {omega}")
        self.power = float(power)
        if sigma is None:
            sigma = math.sqrt(1.0 / omega) if power == 1.0 else math.sqrt(1.0 / (2 * omega))
        require(sigma > 0, f"sigma must be > 0, got {sigma}")
        m = n_particles * dim
        kw = dict(dtype=dtype, device=device)
        g = generator
        self.a = nn.Parameter(init_scale * torch.randn(m, generator=g, dtype=dtype).to(device))
        self.b = nn.Parameter(init_scale * torch.randn(n_hidden, generator=g, dtype=dtype).to(device))
        self.w = nn.Parameter(init_scale * torch.randn(m, n_hidden, generator=g, dtype=dtype).to(device))
        self.log_sigma2 = nn.Parameter(torch.tensor(2 * math.log(sigma), **kw), requires_grad=train_sigma)

    @property
    def s(self) -> torch.Tensor:
        return torch.exp(-self.log_sigma2)

    def _u(self, xf: torch.Tensor) -> torch.Tensor:
        return self.b + self.s * (xf @ self.w)

    def log_psi(self, x):
        xf = x.reshape(x.shape[0], -1)
        s = self.s
        return self.power * (-0.5 * s * ((xf - self.a) ** 2).sum(1) + tnf.softplus(self._u(xf)).sum(1))

    def grad_lap(self, x):
        xf = x.reshape(x.shape[0], -1)
        s, p = self.s.detach(), self.power
        a, w, b = self.a.detach(), self.w.detach(), self.b.detach()
        u = b + s * (xf @ w)
        sig = torch.sigmoid(u)
        lp = p * (-0.5 * s * ((xf - a) ** 2).sum(1) + tnf.softplus(u).sum(1))
        grad = p * (-s * (xf - a) + s * (sig @ w.T))
        lap = p * (-s * xf.shape[1] + s * s * ((sig * (1 - sig)) @ (w * w).sum(0)))
        return lp, grad.reshape(x.shape), lap

    def log_derivatives(self, x, cache=None):
        xf = x.reshape(x.shape[0], -1)
        s, p = self.s.detach(), self.power
        a, w = self.a.detach(), self.w.detach()
        sig = torch.sigmoid(self.b.detach() + s * (xf @ w))
        parts = [p * s * (xf - a), p * sig, (p * s) * (xf.unsqueeze(2) * sig.unsqueeze(1)).reshape(x.shape[0], -1)]
        if self.log_sigma2.requires_grad:
            d_s = -0.5 * ((xf - a) ** 2).sum(1) + (sig * (xf @ w)).sum(1)
            parts.append((-s * p * d_s).unsqueeze(1))
        return torch.cat(parts, dim=1)

    # ---------------------------------------------------------------- one-particle moves: O(H D)
    def init_cache(self, x):
        return {"u": self._u(x.reshape(x.shape[0], -1)).detach()}

    def _rows(self, i: int) -> slice:
        return slice(i * self.dim, (i + 1) * self.dim)

    def propose(self, cache, x, i, r_new):
        s, p = self.s.detach(), self.power
        rows = self._rows(i)
        a_i, w_i = self.a.detach()[rows], self.w.detach()[rows]
        r_old = x[:, i]
        u_new = cache["u"] + s * ((r_new - r_old) @ w_i)
        d_gauss = -0.5 * s * (((r_new - a_i) ** 2).sum(1) - ((r_old - a_i) ** 2).sum(1))
        d_soft = (tnf.softplus(u_new) - tnf.softplus(cache["u"])).sum(1)
        grad_new = p * (-s * (r_new - a_i) + s * (torch.sigmoid(u_new) @ w_i.T))
        return p * (d_gauss + d_soft), grad_new, u_new

    def accept(self, cache, x, i, r_new, aux, mask):
        cache["u"] = torch.where(mask.unsqueeze(1), aux, cache["u"])

    def grad_particle(self, cache, x, i):
        s, p = self.s.detach(), self.power
        rows = self._rows(i)
        return p * (-s * (x[:, i] - self.a.detach()[rows]) + s * (torch.sigmoid(cache["u"]) @ self.w.detach()[rows].T))


class PadeJastrow(_Factor):
    """Pade-Jastrow correlation factor exp(sum_{i<j} a_ij r_ij / (1 + beta_ij r_ij)).

    a_ij is fixed by Kato's cusp condition in D >= 2 dimensions (units hbar = m = e = 1): 1/(D - 1) for
    antiparallel spins and 1/(D + 1) for parallel spins (2D: 1 and 1/3; 3D: 1/2 and 1/4).  The variational
    parameters are beta = (beta_antiparallel, beta_parallel).  With f(r) = a r / (1 + beta r):
    f' = a / (1 + beta r)^2, f'' = -2 a beta / (1 + beta r)^3, grad_i J = sum_j f'(r_ij) (r_i - r_j)/r_ij,
    lap J = 2 sum_{i<j} [f''(r_ij) + (D - 1) f'(r_ij) / r_ij], dJ/dbeta = -sum a r^2 / (1 + beta r)^2.
    ``spins`` (N,) of 0/1 labels; all pairs count as antiparallel when ``spins`` is None (a spatially
    symmetric pair such as the two-electron singlet).
    """

    def __init__(self, n_particles: int, dim: int, spins: torch.Tensor | None = None, beta: float = 1.0,
                 cusp: bool = True, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        super().__init__(n_particles, dim)
        require(dim >= 2, "the Pade-Jastrow cusp needs D >= 2 (the 1D Coulomb problem has no cusp)")
        require(n_particles >= 2, "a Jastrow factor needs at least two particles")
        kw = dict(dtype=dtype, device=device)
        same = torch.zeros(n_particles, n_particles, dtype=torch.bool, device=device)
        if spins is not None:
            spins = torch.as_tensor(spins, device=device)
            same = spins.unsqueeze(0) == spins.unsqueeze(1)
        iu = torch.triu_indices(n_particles, n_particles, 1, device=device)
        self.register_buffer("pi", iu[0])
        self.register_buffer("pj", iu[1])
        par = same[iu[0], iu[1]]
        self.register_buffer("par", par.long())
        a_anti, a_par = (1.0 / (dim - 1), 1.0 / (dim + 1)) if cusp else (0.0, 0.0)
        self.register_buffer("a_pair", torch.where(par, torch.tensor(a_par, **kw), torch.tensor(a_anti, **kw)))
        self.register_buffer("same", same)
        self.beta = nn.Parameter(torch.full((2,), float(beta), **kw))
        self.register_buffer("a_anti_par", torch.tensor([a_anti, a_par], **kw))

    def _pairs(self, x):
        d = x[:, self.pi] - x[:, self.pj]
        r = d.norm(dim=-1)
        return d, r

    def log_psi(self, x):
        _, r = self._pairs(x)
        bt = self.beta[self.par]
        return (self.a_pair * r / (1 + bt * r)).sum(1)

    def grad_lap(self, x):
        d, r = self._pairs(x)
        bt = self.beta.detach()[self.par]
        a = self.a_pair
        q = 1 + bt * r
        fp = a / q ** 2
        fpp = -2 * a * bt / q ** 3
        lp = (a * r / q).sum(1)
        vec = (fp / r).unsqueeze(-1) * d  # contribution to grad_i (minus for grad_j)
        grad = torch.zeros_like(x)
        grad.index_add_(1, self.pi, vec)
        grad.index_add_(1, self.pj, -vec)
        lap = 2 * (fpp + (self.dim - 1) * fp / r).sum(1)
        return lp, grad, lap

    def log_derivatives(self, x, cache=None):
        _, r = self._pairs(x)
        bt = self.beta.detach()[self.par]
        t = -self.a_pair * r ** 2 / (1 + bt * r) ** 2
        out = torch.zeros(x.shape[0], 2, dtype=x.dtype, device=x.device)
        out.index_add_(1, self.par, t)
        return out

    # ---------------------------------------------------------------- one-particle moves: O(N)
    def _row(self, x, i, ri):
        d = ri.unsqueeze(1) - x  # (W, N, D)
        r = d.norm(dim=-1)
        kind = self.same[i].long()  # 1 = parallel
        a = self.a_anti_par[kind]
        bt = self.beta.detach()[kind]
        keep = torch.ones(self.n_particles, dtype=x.dtype, device=x.device)
        keep[i] = 0
        return d, r, a * keep, bt

    def propose(self, cache, x, i, r_new):
        d, r, a, bt = self._row(x, i, r_new)
        _, r0, _, _ = self._row(x, i, x[:, i])
        log_ratio = (a * r / (1 + bt * r)).sum(1) - (a * r0 / (1 + bt * r0)).sum(1)
        rs = torch.where(r > 0, r, torch.ones_like(r))
        g = ((a / (1 + bt * r) ** 2 / rs).unsqueeze(-1) * d).sum(1)
        return log_ratio, g, None

    def grad_particle(self, cache, x, i):
        d, r, a, bt = self._row(x, i, x[:, i])
        rs = torch.where(r > 0, r, torch.ones_like(r))
        return ((a / (1 + bt * r) ** 2 / rs).unsqueeze(-1) * d).sum(1)
