"""Variational wave functions on spin configurations s in {-1, +1}^N.

:class:`SpinAnsatz` is the interface: a ``torch.nn.Module`` with ``log_psi(s)`` (real, or complex when the
amplitudes have phases or signs).  Everything else the VMC needs has a generic implementation on top of
``log_psi`` (one forward pass per proposal, ``torch.func`` for the log-derivatives), so an ansatz written in a
notebook only defines ``log_psi``.  :class:`RBMSpinState` overrides the hot paths with closed forms:

* the binary RBM amplitude of Carleo & Troyer, Science 355, 602 (2017), eq. 2 (hidden spins h = +/-1 traced out)

      Psi(s) = exp(a . s) prod_j 2 cosh(theta_j),   theta = b + W^T s,

  with real or complex parameters; the product over the hidden units is the log-partition of a
  :class:`boltzlab.units.SpinLayer` under the field W^T s (its bias is b).
* cached hidden inputs theta (as tanh theta): flipping the sites G changes theta by -2 sum_{i in G} W_i s_i, so a
  proposal costs O(|G| M) instead of a forward pass O(N M), and the ratio is
  Psi(s')/Psi(s) = exp(-2 sum_{i in G} a_i s_i) prod_j cosh(theta'_j) / cosh(theta_j)  (see
  :meth:`RBMSpinState.move_tables` for the product form without transcendental functions);
* log-derivatives O_k = d ln Psi / d p_k: s_i (visible biases), tanh(theta_j) (hidden biases), s_i tanh(theta_j)
  (weights) -- the ``d Psi / d alpha_i / Psi`` of the energy gradient.
* the Marshall sign rule for the Heisenberg antiferromagnet (Marshall, Proc. R. Soc. A 232, 48 (1955)): Psi(s) = (-1)^{N_up(A)} Psi_RBM(s), with N_up(A)
  the number of up spins on sublattice A; it makes the ground state of a bipartite antiferromagnet positive up to
  the RBM part, so a real RBM can represent it.  The sign enters the local energy as the factor
  (-1)^{|G n A|} of each flip group (:meth:`RBMSpinState.flip_ratios`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ...errors import ConfigError, ShapeError, require
from ...units.spin import SpinLayer
from ..vmc import autograd_log_derivatives, trainable_parameters

def flip(s: torch.Tensor, sites: torch.Tensor) -> torch.Tensor:
    """Copy of ``s`` (C, N) with the sites ``sites`` (C, r) of each row flipped."""
    out = s.clone()
    out.scatter_(1, sites, -s.gather(1, sites))
    return out


class SpinAnsatz(nn.Module):
    """A variational wave function on spin configurations.  Subclasses define ``log_psi(s)``.

    ``s``: (C, N) tensor of +/-1 in the ansatz's real dtype (``self.real_dtype``).  ``log_psi`` returns (C,)
    values, real or complex; a sign is the imaginary part i pi.  Parameters must be real for the generic path
    (the RBM also allows complex parameters, treated holomorphically).

    The ``cache`` returned by :meth:`init_cache` and updated by :meth:`metropolis_step` is an opaque tuple; the
    generic one holds ``log_psi(s)``, the RBM's the hidden inputs theta and tanh(theta).
    """

    n_sites: int

    def __init__(self, n_sites: int) -> None:
        super().__init__()
        self.n_sites = int(n_sites)

    # -------------------------------------------------------------- to define
    def log_psi(self, s: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.log_psi(s)

    # -------------------------------------------------------------- dtype/device
    @property
    def param_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def real_dtype(self) -> torch.dtype:
        dt = self.param_dtype
        return dt.to_real() if dt.is_complex else dt

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def is_complex(self) -> bool:
        return self.param_dtype.is_complex

    # -------------------------------------------------------------- generic fast-path API
    def init_cache(self, s: torch.Tensor) -> tuple:
        with torch.no_grad():
            return (self.log_psi(s),)

    def move_tables(self, groups: torch.Tensor) -> Any:
        """Per-move data computed once per sampling call (parameters fixed), e.g. the RBM's cosh/sinh tables of
        the flip groups ``groups`` (K, r).  The generic ansatz needs none."""
        return None

    def metropolis_step(self, s: torch.Tensor, cache: tuple, tables: Any, group: torch.Tensor,
                        sites: torch.Tensor, u: torch.Tensor, valid: torch.Tensor | None = None
                        ) -> tuple[tuple, torch.Tensor]:
        """One Metropolis step of every chain: propose flipping ``sites`` (C, r) (= ``groups[group]``), accept
        where u < |Psi(s')/Psi(s)|^2 (``u``: uniforms, (C,)) and ``valid``; flips ``s`` in place and returns
        the updated cache and the acceptance mask.  Generic version: one ``log_psi`` per step."""
        with torch.no_grad():
            lp = self.log_psi(flip(s, sites))
        acc = torch.log(u) < 2 * (lp - cache[0]).real
        if valid is not None:
            acc &= valid
        sg = s.gather(1, sites)
        s.scatter_(1, sites, torch.where(acc.unsqueeze(1), -sg, sg))
        return (torch.where(acc, lp, cache[0]),), acc

    def flip_ratios(self, s: torch.Tensor, cache: tuple, flip_sites: torch.Tensor) -> torch.Tensor:
        """(C, K): Psi(s^(k)) / Psi(s) for every flip group ``flip_sites[k]`` (K, r), signs included."""
        C, N = s.shape
        K = flip_sites.shape[0]
        fs = flip_sites.to(s.device)
        sk = s.unsqueeze(1).repeat(1, K, 1)                                   # (C, K, N)
        rows = torch.arange(K, device=s.device).unsqueeze(1).expand_as(fs)
        sk[:, rows, fs] = -sk[:, rows, fs]
        with torch.no_grad():
            lp = self.log_psi(sk.reshape(C * K, N)).reshape(C, K)
        return torch.exp(lp - cache[0].unsqueeze(1))

    def log_derivatives(self, s: torch.Tensor, cache: tuple | None = None) -> torch.Tensor:
        """(C, P) per-sample O_k = d ln Psi(s) / d p_k over the trainable parameters (complex if ln Psi is)."""
        return autograd_log_derivatives(self, s)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in trainable_parameters(self))

    def describe(self) -> dict[str, Any]:
        return {"ansatz": type(self).__name__, "n_sites": self.n_sites, "n_parameters": self.n_parameters,
                "dtype": str(self.param_dtype).replace("torch.", "")}


def _initialiser(complex: bool, init_scale: float, seed: int | None, dtype: torch.dtype,
                 device: torch.device | str) -> tuple[Any, torch.dtype]:
    """A function drawing N(0, init_scale^2) parameters (complex: real and imaginary parts each), and their dtype."""
    require(math.isfinite(init_scale) and init_scale >= 0, f"init_scale must be finite and >= 0, got {init_scale}")
    require(dtype in (torch.float32, torch.float64), f"dtype must be float32 or float64 (the real dtype), got {dtype}")
    pdt = (torch.complex64 if dtype == torch.float32 else torch.complex128) if complex else dtype
    g = torch.Generator().manual_seed(int(seed) if seed is not None else torch.seed())

    def init(*shape: int) -> torch.Tensor:
        x = torch.randn(*shape, generator=g, dtype=torch.float64) * init_scale
        if complex:
            x = torch.complex(x, torch.randn(*shape, generator=g, dtype=torch.float64) * init_scale)
        return x.to(pdt).to(device)

    return init, pdt


class RBMSpinState(SpinAnsatz):
    """Binary RBM wave function Psi(s) = exp(a.s) prod_j 2 cosh(b_j + sum_i W_ij s_i), optionally times the
    Marshall sign (-1)^{N_up(A)}.

    Parameters
    ----------
    n_sites : N visible spins.
    alpha : hidden-unit density, M = alpha * N hidden units (or give ``n_hidden``).
    complex : complex parameters (holomorphic in them) instead of real ones.
    marshall : multiply by the Marshall sign; needs ``sublattice`` (a bool mask of sublattice A).
    init_scale : standard deviation of the random initial parameters (NetKet's default 0.01).
    """

    def __init__(self, n_sites: int, alpha: float = 1.0, n_hidden: int | None = None, complex: bool = False,
                 marshall: bool = False, sublattice: torch.Tensor | None = None, init_scale: float = 0.01,
                 seed: int | None = 0, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
                 ) -> None:
        super().__init__(n_sites)
        m = int(n_hidden) if n_hidden is not None else int(round(alpha * n_sites))
        if n_sites < 1 or m < 1:
            raise ConfigError(f"an RBM needs at least one visible and one hidden unit (N={n_sites}, M={m})")
        init, pdt = _initialiser(complex, init_scale, seed, dtype, device)
        self.n_hidden = m
        self.visible_bias = nn.Parameter(init(n_sites))
        self.weights = nn.Parameter(init(n_sites, m))
        self.hidden = SpinLayer(m, init(m), dtype=pdt, device=device)
        self._set_marshall(marshall, sublattice, device)

    def _set_marshall(self, marshall: bool, sublattice: torch.Tensor | None, device: torch.device | str) -> None:
        if marshall:
            require(sublattice is not None, "the Marshall sign needs the sublattice of the lattice")
            sublattice = torch.as_tensor(sublattice, dtype=torch.bool)
            if sublattice.shape != (self.n_sites,):
                raise ShapeError(f"sublattice mask has shape {tuple(sublattice.shape)}, expected ({self.n_sites},)")
        self.marshall = bool(marshall)
        self.register_buffer("sublattice", (sublattice if marshall else torch.zeros(self.n_sites, dtype=torch.bool))
                             .to(device))

    def couplings(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(a (N,), W (N, M), b (M,)) of ln Psi = a.s + sum_j ln 2cosh(b_j + (W^T s)_j)."""
        return self.visible_bias, self.weights, self.hidden.bias

    def _hidden_field(self, x: torch.Tensor) -> torch.Tensor:
        """W^T s without the bias, which the hidden layer adds."""
        return x @ self.weights

    def _cast(self, s: torch.Tensor) -> torch.Tensor:
        if s.dim() != 2 or s.shape[1] != self.n_sites:
            raise ShapeError(f"spin configurations must have shape (C, {self.n_sites}), got {tuple(s.shape)}")
        return s.to(self.param_dtype)

    def log_psi(self, s: torch.Tensor) -> torch.Tensor:
        x = self._cast(s)
        out = x @ self.couplings()[0] + self.hidden.log_partition(self._hidden_field(x))
        if self.marshall:
            n_up = ((s[:, self.sublattice] > 0).sum(1)).to(s.dtype)
            out = out.to(torch.complex128 if out.dtype in (torch.float64, torch.complex128) else torch.complex64)
            out = out + 1j * math.pi * torch.remainder(n_up, 2)
        return out

    # ---------------------------------------------------------------- O(M) paths
    @torch.no_grad()
    def init_cache(self, s: torch.Tensor) -> tuple:
        """(theta, [tanh theta, 1]) of every chain, from scratch.  The extra column of ones carries the visible
        factor exp(-2 sigma A) = cosh(2A) - sigma sinh(2A) through the same product as the hidden units."""
        a, W, b = self.couplings()
        theta = b + self._cast(s) @ W
        t = torch.cat([torch.tanh(theta), torch.ones_like(theta[:, :1])], dim=1)
        return theta, t

    @torch.no_grad()
    def move_tables(self, groups: torch.Tensor) -> Any:
        """Tables (3, K, M + 1) of cosh(2 D_k), sinh(2 D_k), tanh(2 D_k) for the flip groups: a single site
        (D_k = W_i, visible column a_i) or an anti-aligned pair (D_k = W_i - W_j, a_i - a_j).  With sigma the spin
        of the group's first site, the flip changes theta by -2 sigma D_k and

            Psi(s')/Psi(s) = prod_j [cosh(2 D_kj) - sigma tanh(theta_j) sinh(2 D_kj)]      (j = 1..M+1)
            tanh(theta'_j) = (tanh theta_j - sigma tanh 2D_kj) / (1 - sigma tanh theta_j tanh 2D_kj),

        from cosh(x + y) = cosh x cosh y + sinh x sinh y and the tanh addition theorem: products and one
        division per proposal, O(M), and no transcendental function (a double tanh costs ~14 ns per element
        with this torch build, more than the whole rest of a proposal)."""
        a, W, _ = self.couplings()
        g = groups.to(W.device)
        if g.shape[1] == 1:
            d, da = W[g[:, 0]], a[g[:, 0]]
        elif g.shape[1] == 2:
            d = W[g[:, 0]] - W[g[:, 1]]
            da = a[g[:, 0]] - a[g[:, 1]]
        else:
            raise ConfigError(f"the RBM's fast moves flip one site or one pair, not {g.shape[1]}")
        d2 = 2 * torch.cat([d, da.unsqueeze(1)], dim=1)                                  # (K, M + 1)
        return torch.stack([torch.cosh(d2), torch.sinh(d2), torch.tanh(d2)], dim=0)

    @torch.no_grad()
    def metropolis_step(self, s: torch.Tensor, cache: tuple, tables: Any, group: torch.Tensor,
                        sites: torch.Tensor, u: torch.Tensor, valid: torch.Tensor | None = None
                        ) -> tuple[tuple, torch.Tensor]:
        """O(M) step; the cache's theta is not carried (set to None): :meth:`init_cache` rebuilds it."""
        t = cache[1]
        sigma = s.gather(1, sites[:, :1])                                   # (C, 1) spin of the first site
        ch, sh, th = tables.index_select(1, group)                          # 3 x (C, M + 1), contiguous
        st = sigma * t
        ratio = (st * sh).neg_().add_(ch).prod(1)                            # in place: one temporary
        p = ratio.real ** 2 + ratio.imag ** 2 if ratio.is_complex() else ratio * ratio
        acc = u < p
        if valid is not None:
            acc &= valid
        sa = sigma * acc.unsqueeze(1).to(s.dtype)                           # sigma where accepted, else 0
        x = sa * th
        den = 1 - t * x
        t = (t - x) / den
        # flip where accepted: s_i -> s_i - 2 sigma (first site), s_j -> s_j + 2 sigma (its anti-aligned partner)
        step = -2 * sa if sites.shape[1] == 1 else torch.cat([-2 * sa, 2 * sa], dim=1)
        s.scatter_add_(1, sites, step)
        lowest = float(den.abs().amin()) if den.is_complex() else float(den.amin())
        if lowest < 1e-6:  # |tanh| ~ 1 on both sides: recompute exactly (rare)
            return self.init_cache(s), acc
        return (None, t), acc

    @torch.no_grad()
    def flip_ratios(self, s: torch.Tensor, cache: tuple, flip_sites: torch.Tensor) -> torch.Tensor:
        """(C, K) ratios for single flips, or for pair flips where the pair is anti-aligned (the only pairs the
        Heisenberg exchange connects; entries of aligned pairs are finite but meaningless), times the Marshall
        sign (-1)^{|G n A|} of the flipped group G."""
        t = cache[1]
        fs = flip_sites.to(s.device)
        ch, sh, _ = self.move_tables(fs)                                                 # (K, M + 1) each
        sigma = s[:, fs[:, 0]].unsqueeze(2)                                              # (C, K, 1)
        ratio = (sigma * t.unsqueeze(1)).mul_(sh).neg_().add_(ch).prod(2)              # (C, K), one temporary
        if self.marshall:
            n_a = self.sublattice[fs].sum(1)
            ratio = ratio * (1.0 - 2.0 * (n_a % 2).to(self.real_dtype))
        return ratio

    @torch.no_grad()
    def log_derivatives(self, s: torch.Tensor, cache: tuple | None = None) -> torch.Tensor:
        t = (cache if cache is not None else self.init_cache(s))[1][:, :-1]
        x = s.to(self.param_dtype)
        C = s.shape[0]
        return torch.cat([x, (x.unsqueeze(2) * t.unsqueeze(1)).reshape(C, -1), t], dim=1)  # parameters() order

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n_hidden": self.n_hidden, "alpha": self.n_hidden / self.n_sites,
                "complex": self.is_complex, "marshall": self.marshall}


class SymmetricRBMSpinState(RBMSpinState):
    """Translation-invariant RBM (Carleo & Troyer, Science 355, 602 (2017), "Symmetries"): ``alpha`` filters w_f,
    each applied at every translation t of the lattice, theta_{f,t} = b_f + sum_i w_f[i] s_{T_t(i)}, and one visible
    bias a for all sites:

        Psi(s) = exp(a sum_i s_i) prod_{f,t} 2 cosh(theta_{f,t})          (1 + alpha + alpha N parameters)

    It is the RBM of :class:`RBMSpinState` with the tied couplings W[T_t(i), (f, t)] = w_f[i], b_(f,t) = b_f,
    a_i = a, so the O(M) proposals and local energies are that class's; the log-derivatives are the tied sums
    O_a = sum_i s_i, O_{w_f[i]} = sum_t s_{T_t(i)} tanh theta_{f,t}, O_{b_f} = sum_t tanh theta_{f,t}.  A translated
    configuration permutes the hidden units, so Psi is invariant (times the Marshall sign, when asked).
    """

    def __init__(self, lattice: Any, alpha: int = 1, complex: bool = False, marshall: bool = False,
                 init_scale: float = 0.01, seed: int | None = 0, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        SpinAnsatz.__init__(self, lattice.n_sites)
        if int(alpha) != alpha or alpha < 1:
            raise ConfigError(f"the symmetric RBM needs an integer alpha >= 1 (filters), got {alpha}")
        alpha = int(alpha)
        perm = lattice.translations
        init, pdt = _initialiser(complex, init_scale, seed, dtype, device)
        self.alpha, self.n_hidden = alpha, alpha * perm.shape[0]
        self.visible_bias = nn.Parameter(init(1))
        self.weights = nn.Parameter(init(alpha, self.n_sites))
        self.hidden_bias = nn.Parameter(init(alpha))
        self.hidden = SpinLayer(self.n_hidden, dtype=pdt, device=device)  # its bias stays 0: b_f is tied
        self.hidden.bias.requires_grad_(False)
        self.register_buffer("translations", perm.to(device))
        self.register_buffer("inverse", perm.argsort(1).to(device))
        self._set_marshall(marshall, lattice.sublattice, device)

    def couplings(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        w = self.weights[:, self.inverse]                                       # (alpha, T, N): w_f[T_t^-1(j)]
        W = w.permute(2, 0, 1).reshape(self.n_sites, self.n_hidden)
        return (self.visible_bias.expand(self.n_sites), W,
                self.hidden_bias.repeat_interleave(self.translations.shape[0]))

    def _hidden_field(self, x: torch.Tensor) -> torch.Tensor:
        _, W, b = self.couplings()
        return x @ W + b

    @torch.no_grad()
    def log_derivatives(self, s: torch.Tensor, cache: tuple | None = None) -> torch.Tensor:
        t = (cache if cache is not None else self.init_cache(s))[1][:, :-1]
        x = s.to(self.param_dtype)
        C = s.shape[0]
        t3 = t.reshape(C, self.alpha, -1)                                      # (C, alpha, T)
        o_w = torch.einsum("cti,cft->cfi", x[:, self.translations], t3).reshape(C, -1)
        return torch.cat([x.sum(1, keepdim=True), o_w, t3.sum(2)], dim=1)      # parameters() order

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "symmetric": True, "filters": self.alpha}
