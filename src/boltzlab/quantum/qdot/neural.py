"""A feed-forward neural-network wave function for closed-shell dots: Slater determinants at backflow coordinates
times a neural Jastrow factor.

    Psi(X) = det D_up(Q) det D_down(Q) exp(-alpha omega sum_i r_i^2 / 2) exp(J(X))
    Q_i    = r_i + sum_{j != i} eta(r_ij) (r_i - r_j)                                  (backflow)
    J(X)   = sum_{i<j} [a_ij r_ij / (1 + beta_ij r_ij) + u(r_ij, s_ij)]                 (Jastrow)
             + sum_i F(y_i)                                     (many-body Jastrow, optional: ManyBodyJastrow)

D holds the Hermite orbitals of :class:`~boltzlab.quantum.qdot.slater.SlaterHermite` evaluated at the quasi-particle
coordinates Q (backflow: Feynman & Cohen, Phys. Rev. 102, 1189 (1956); Kwon, Ceperley & Martin, Phys. Rev. B 48,
12037 (1993)); eta and u are small feed-forward networks of the pair distance (u also of whether the spins are
parallel, s_ij), as in the neural Jastrow factors of Nordhagen et al., Frontiers in Physics 11 (2023).  The
Pade-Jastrow part keeps Kato's cusp (a_ij = 1/(D-1) antiparallel, 1/(D+1) parallel; beta variational); the
networks' last layers start at zero, so the initial state is the Slater-Jastrow function.  Both networks act on
pair distances only, so the function is symmetric under rotations and antisymmetric under the exchange of two
electrons of the same spin.  The optional many-body factor (``many_body`` = m > 0) feeds each electron's distance
from the trap centre and its spin-resolved sums of m pair functions into one more network; it adds the three-body
and electron-electron-trap correlations that pair functions cannot hold (:class:`ManyBodyJastrow`).

Gradient and Laplacian of ln Psi are computed in closed form in one batched pass (no nested autograd).  With
J = dQ/dX (an ND x ND matrix), G = grad_Q ln det and H its Hessian in Q,

    grad_X ln det = J^T G,      lap_X ln det = tr(H J J^T) + G . lap_X Q,
    H_(pa)(qb) = delta_pq sum_k d_a d_b phi_k(Q_p) Dinv_kp - B_paq B_qbp,   B_paq = sum_k d_a phi_k(Q_p) Dinv_kq

(p, q electrons of one spin, Dinv the inverse of the orbital matrix), and lap_X Q_i = 2 sum_j (r_i - r_j)
(eta'' + (D + 1) eta' / r_ij); the networks' first and second derivatives in r come from a forward pass of
(value, d/dr, d^2/dr^2) through their layers.  The log-derivatives come from per-sample autograd (the base
class), and the samplers move all particles at once.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...errors import require
from .ansatz import Ansatz, PadeJastrow, default_spins
from .slater import SlaterHermite

__all__ = ["BackflowJastrowNet", "ManyBodyJastrow"]


def _mlp(inputs: int, width: int, generator: torch.Generator, dtype: torch.dtype,
         device: torch.device | str) -> nn.Sequential:
    """inputs -> width -> width -> 1 with tanh; hidden layers N(0, 1/fan_in) from ``generator``, output zero."""
    net = nn.Sequential(nn.Linear(inputs, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))
    _init_fan_in(net[:-1:2], generator)
    with torch.no_grad():
        net[-1].weight.zero_()
        net[-1].bias.zero_()
    return net.to(dtype=dtype, device=device)


@torch.no_grad()
def _init_fan_in(layers, generator: torch.Generator) -> None:
    """Weights N(0, 1/fan_in) from ``generator``, biases zero, for each Linear layer in ``layers``."""
    for layer in layers:
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) / math.sqrt(layer.in_features))
        layer.bias.zero_()


def _along(net: nn.Sequential, inp: torch.Tensor, direction: torch.Tensor):
    """net(inp + s direction) and its first and second derivatives in s at s = 0 (forward propagation of the
    value, the directional derivative and the second directional derivative through Linear and Tanh layers);
    ``inp`` and ``direction`` broadcast against each other."""
    z, dz = torch.broadcast_tensors(inp, direction)
    d2z = torch.zeros_like(dz)
    for layer in net:
        if isinstance(layer, nn.Linear):
            z, dz, d2z = layer(z), dz @ layer.weight.T, d2z @ layer.weight.T
        else:  # tanh: t' = (1 - t^2) z', t'' = (1 - t^2) z'' - 2 t (1 - t^2) z'^2
            t = torch.tanh(z)
            s = 1 - t * t
            z, dz, d2z = t, s * dz, s * d2z - 2 * t * s * dz * dz
    return z, dz, d2z


def _mlp_radial(net: nn.Sequential, inp: torch.Tensor, direction: torch.Tensor):
    """net(inp) and its first and second derivatives in r, where inp = inp(r) is linear in r with
    d inp / dr = ``direction``; each of shape inp.shape[:-1]."""
    return tuple(t.squeeze(-1) for t in _along(net, inp, direction))


def _value_and_input_grad(net: nn.Sequential, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """net(inp) (..., 1) squeezed and its gradient in the inputs (..., inputs), by a hand-written backward pass
    through the Linear and Tanh layers (one pass for every row at once, no autograd graph)."""
    z, slopes = inp, []
    for layer in net:
        if isinstance(layer, nn.Linear):
            z = layer(z)
        else:
            z = torch.tanh(z)
            slopes.append(1 - z * z)
    g = None
    for layer in reversed(net):
        if isinstance(layer, nn.Linear):
            g = layer.weight[0].expand(*z.shape[:-1], -1) if g is None else g @ layer.weight
        else:
            g = g * slopes.pop()
    return z.squeeze(-1), g


class ManyBodyJastrow(nn.Module):
    """A symmetric many-body factor exp(J), J(X) = sum_i F(y_i) with, for each electron, the invariant features

        y_i = (omega r_i^2,  sum_{j same spin} phi(omega r_ij^2),  sum_{j opposite spin} phi(omega r_ij^2)),

    phi: R -> R^m and F: R^(1 + 2m) -> R small tanh networks (the deep-sets form of a permutation-invariant
    function, Zaheer et al., NeurIPS 2017; the spin-resolved pair sums are the one-electron streams of FermiNet,
    Pfau et al., Phys. Rev. Research 2, 033429 (2020), eq. 4, reduced to invariants).  Because F is nonlinear in
    the pair sums, J holds three-body and electron-electron-trap terms that no pair Jastrow has.  The features
    depend on r_ij^2 and r_i^2, which are smooth at coalescence, so Kato's cusp stays with the Pade factor; F's
    last layer starts at zero, so the factor starts at 1.

    Gradient and Laplacian in closed form: with V_i the (1 + 2m) x D matrix of feature gradients in x_i and u_ij
    (j != i) the feature gradients in x_j, lap J = sum_i [sum_a V_ia^T H_i V_ia + sum_j u_ij^T H_i u_ij + g_i . L_i]
    (H_i, g_i the Hessian and gradient of F at y_i, L_i the Laplacians of the features); the quadratic forms are
    second directional derivatives of F, propagated forward along each direction (:func:`_along`).
    """

    def __init__(self, spins: torch.Tensor, omega: float, features: int, width: int, generator: torch.Generator,
                 dtype: torch.dtype, device: torch.device | str) -> None:
        super().__init__()
        require(features >= 1 and width >= 1, "the many-body Jastrow needs features >= 1 and width >= 1")
        spins = torch.as_tensor(spins, device=device)
        same = spins.unsqueeze(0) == spins.unsqueeze(1)
        eye = torch.eye(len(spins), dtype=torch.bool, device=device)
        self.register_buffer("same", (same & ~eye).to(dtype))
        self.register_buffer("opposite", (~same).to(dtype))
        self.omega, self.m = float(omega), int(features)
        self.phi = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, features))
        _init_fan_in(self.phi[::2], generator)
        self.phi.to(dtype=dtype, device=device)
        self.F = _mlp(1 + 2 * features, width, generator, dtype, device)

    def _features(self, x: torch.Tensor):
        d = x.unsqueeze(2) - x.unsqueeze(1)                                    # (W, N, N, D): x_i - x_j
        r2 = (d * d).sum(-1)
        w = self.omega
        one = torch.ones(1, dtype=x.dtype, device=x.device)
        phi, phi1, phi2 = _along(self.phi, (w * r2).unsqueeze(-1), one)        # (W, N, N, m), derivatives in t
        masks = (self.same, self.opposite)
        y = torch.cat([w * (x * x).sum(-1, keepdim=True)] + [(phi * c[..., None]).sum(2) for c in masks], -1)
        return d, r2, phi1, phi2, masks, y

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        *_, y = self._features(x)
        return self.F(y).squeeze(-1).sum(1)

    def grad_lap(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        W, N, D = x.shape
        w = self.omega
        d, r2, phi1, phi2, masks, y = self._features(x)
        val, gF = _value_and_input_grad(self.F, y)                             # (W, N), (W, N, 1 + 2m)
        # feature gradients in x_i (V, (W, N, 1 + 2m, D)) and in x_j (u, (W, N, N, 1 + 2m)), feature Laplacians L
        V = torch.cat([2 * w * x.unsqueeze(2)]
                      + [2 * w * torch.einsum("wijm,ij,wijd->wimd", phi1, c, d) for c in masks], 2)
        u = torch.cat([torch.zeros_like(r2).unsqueeze(-1)]
                      + [2 * w * (r2.sqrt() * c).unsqueeze(-1) * phi1 for c in masks], -1)
        lap_t = 8 * w * w * r2.unsqueeze(-1) * phi2 + 4 * w * D * phi1
        L = torch.cat([torch.full_like(r2[..., :1], 2 * w * D)] + [(lap_t * c[..., None]).sum(2) for c in masks], -1)
        dirs = torch.cat([V.transpose(2, 3), u], 2)                            # (W, N, D + N, 1 + 2m)
        _, _, d2 = _along(self.F, y.unsqueeze(2), dirs)
        lap = d2.squeeze(-1).sum((1, 2)) + (gF * L).sum((1, 2))
        m = self.m
        P = sum(torch.einsum("wim,wijm->wij", gF[..., 1 + k * m:1 + (k + 1) * m], phi1) * c
                for k, c in enumerate(masks))
        grad = 2 * w * (gF[..., :1] * x + torch.einsum("wij,wijd->wid", P + P.transpose(1, 2), d))
        return val.sum(1), grad, lap


class BackflowJastrowNet(Ansatz):
    """See the module docstring.  ``width``: hidden units of each network layer; ``many_body``: pair features m of
    the many-body Jastrow (0: without it)."""

    def __init__(self, n_particles: int, dim: int, omega: float = 1.0, width: int = 16, many_body: int = 0,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(n_particles, dim)
        require(dim >= 2 and n_particles >= 2 and n_particles % 2 == 0,
                "the backflow network is for closed-shell dots (even N >= 2) in D >= 2")
        require(width >= 1, f"the network width must be >= 1, got {width}")
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        self.slater = SlaterHermite(n_particles, dim, omega, gaussian=False, device=device, dtype=dtype)
        self.jastrow = PadeJastrow(n_particles, dim, spins=default_spins(n_particles), device=device, dtype=dtype)
        self.log_alpha = nn.Parameter(torch.zeros((), dtype=dtype, device=device))
        self.backflow = _mlp(1, width, g, dtype, device)
        self.pair = _mlp(2, width, g, dtype, device)
        self.omega = float(omega)
        self.many_body = (ManyBodyJastrow(default_spins(n_particles), omega, many_body, width, g, dtype, device)
                          if many_body else None)

    def _pairs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """r_i - r_j (W, N, N, D), r_ij with 1 on the diagonal (no 0 sqrt), the diagonal mask (N, N)."""
        d = x.unsqueeze(2) - x.unsqueeze(1)
        eye = torch.eye(x.shape[1], dtype=torch.bool, device=x.device)
        return d, torch.sqrt((d * d).sum(-1) + eye.to(x.dtype)), eye

    def _pair_inputs(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(r_ij, parallel spins) for i < j, shape (W, P, 2), and the pair indices."""
        iu = torch.triu_indices(self.n_particles, self.n_particles, 1, device=r.device)
        rij = r[:, iu[0], iu[1]]
        return torch.stack([rij, self.jastrow.par.to(r.dtype).expand_as(rij)], -1), iu

    def _gaussian(self) -> torch.Tensor:
        return torch.exp(self.log_alpha) * self.omega

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        d, r, eye = self._pairs(x)
        eta = self.backflow(r.unsqueeze(-1)).squeeze(-1).masked_fill(eye, 0.0)
        q = x + (eta.unsqueeze(-1) * d).sum(2)
        out = -0.5 * self._gaussian() * (x * x).sum((1, 2))
        for blk in self.slater._blocks():                                    # spin up, spin down
            out = out + torch.linalg.slogdet(self.slater.orbitals(q[:, blk]))[1]
        inp, _ = self._pair_inputs(r)
        out = out + self.jastrow.log_psi(x) + self.pair(inp).squeeze(-1).sum(1)
        return out if self.many_body is None else out + self.many_body.log_psi(x)

    @torch.no_grad()
    def grad_lap(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ln|Psi|, grad ln Psi (W, N, D) and lap ln Psi (W,) in closed form (see the module docstring)."""
        W, N, D = x.shape
        d, r, eye = self._pairs(x)
        one = torch.ones(1, dtype=x.dtype, device=x.device)
        eta, e1, e2 = (t.masked_fill(eye, 0.0) for t in _mlp_radial(self.backflow, r.unsqueeze(-1), one))
        q = x + (eta.unsqueeze(-1) * d).sum(2)
        # J[i, a, k, b] = dQ_ia / dx_kb = delta_ik (delta_ab + sum_j A_ij,ab) - A_ik,ab,
        # A_ij,ab = eta_ij delta_ab + eta'_ij d_ij,a d_ij,b / r_ij
        eye_d = torch.eye(D, dtype=x.dtype, device=x.device)
        A = eta[..., None, None] * eye_d + (e1 / r)[..., None, None] * d.unsqueeze(-1) * d.unsqueeze(-2)
        diag = eye_d + A.sum(2)                                                # (W, N, D, D)
        J = eye.to(x.dtype)[None, :, None, :, None] * diag.unsqueeze(3) - A.transpose(2, 3)
        Jm = J.reshape(W, N * D, N * D)
        K = (Jm @ Jm.transpose(1, 2)).reshape(W, N, D, N, D)
        lap_q = 2 * (d * (e2 + (D + 1) * e1 / r).unsqueeze(-1)).sum(2)       # (W, N, D)
        lp = torch.zeros(W, dtype=x.dtype, device=x.device)
        lap = torch.zeros_like(lp)
        G = torch.zeros_like(x)
        c = self.slater.c.detach()
        for blk in self.slater._blocks():
            val, g, h = self.slater.orbitals(q[:, blk], derivs=True, c=c, hessian=True)
            lp = lp + torch.linalg.slogdet(val)[1]
            dinv = torch.linalg.inv(val)                                       # (W, orbitals, particles)
            B = torch.einsum("wpkd,wkq->wpdq", g, dinv)
            Kb = K[:, blk][:, :, :, blk]
            lap = lap + torch.einsum("wpkab,wkp,wpapb->w", h, dinv, Kb) \
                - torch.einsum("wpaq,wqbp,wpaqb->w", B, B, Kb)
            G[:, blk] = torch.diagonal(B, dim1=1, dim2=3).transpose(1, 2)
        lap = lap + (G * lap_q).sum((1, 2))
        grad = torch.einsum("wpa,wpakb->wkb", G, J)
        ao = self._gaussian()
        lp = lp - 0.5 * ao * (x * x).sum((1, 2))
        grad = grad - ao * x
        lap = lap - ao * N * D
        lpj, gj, lj = self.jastrow.grad_lap(x)
        inp, iu = self._pair_inputs(r)
        u, u1, u2 = _mlp_radial(self.pair, inp, torch.tensor([1.0, 0.0], dtype=x.dtype, device=x.device))
        rij = inp[..., 0]
        vec = (u1 / rij).unsqueeze(-1) * d[:, iu[0], iu[1]]
        gu = torch.zeros_like(x)
        gu.index_add_(1, iu[0], vec)
        gu.index_add_(1, iu[1], -vec)
        lu = 2 * (u2 + (D - 1) * u1 / rij).sum(1)
        lp, grad, lap = lp + lpj + u.sum(1), grad + gj + gu, lap + lj + lu
        if self.many_body is not None:
            lpm, gm, lm = self.many_body.grad_lap(x)
            lp, grad, lap = lp + lpm, grad + gm, lap + lm
        return lp, grad, lap
