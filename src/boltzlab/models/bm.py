"""The fully visible Boltzmann machine with centred couplings.

Energy of the centred Boltzmann machine (Ackley, Hinton & Sejnowski, Cognitive Science 9, 147 (1985), with the
centring of Melchior, Fischer & Wiskott, J. Mach. Learn. Res. 17(99), 1 (2016); "eq. 12" below), for x in {0, 1}^n:

    E(x; W, b) = -1/2 sum_ab W_ab (x_a - x_hat_a)(x_b - x_hat_b) - sum_a b_a x_a

The centres x_hat are a buffer, not learnt (:meth:`BoltzmannMachine.set_centers` moves them and re-expresses
the bias so that p(x) is unchanged).  Only the symmetric part of W enters p(x), and training never changes
the antisymmetric part; the diagonal is equivalent to a bias (``self_interaction=False`` holds it at zero).
Activity rule (eq. 15), at inverse temperature beta, sampled by :func:`site_gibbs` one unit at a time:

    p(x_a = 1 | x_rest) = sigmoid(beta (sum_{b != a} W_(ab) (x_b - x_hat_b) + c_a)),
    c_a = b_a + (1/2 - x_hat_a) W_aa.

The free energy of a fully visible model is its energy, so exact enumeration, the trainer and checkpoints
work through the :class:`~boltzlab.models.base.EnergyModel` interface unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .._tensor import as_tensor
from ..errors import ConfigError, ShapeError, require
from ..random import Rng, as_rng
from ..units import BinaryLayer, Layer
from ..units.base import weighted_moments
from .base import EnergyModel


class BoltzmannMachine(EnergyModel):
    """Fully visible Boltzmann machine of eq. (12) on binary {0, 1} units.

    Parameters
    ----------
    weights : (n, n) array
        Couplings W (symmetric or not; only the symmetric part matters).  Default zeros of size ``n_units``.
    bias : (n,) array, default zeros
        b of eq. (12).
    centers : (n,) array, default zeros
        x_hat of eq. (12), usually the data means (any real values are allowed: the activity rule holds
        for arbitrary centres).
    n_units : int, optional
        Number of units when ``weights`` is not given.
    self_interaction : bool, default True
        False holds the diagonal of W at zero (it then receives no gradient).
    """

    def __init__(self, weights: Any = None, bias: Any = None, centers: Any = None, *, n_units: int | None = None,
                 self_interaction: bool = True, dtype: torch.dtype | None = None, device: Any = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        if weights is None:
            require(n_units is not None, "give the weights (n x n) or n_units", ShapeError)
            w = torch.zeros(int(n_units), int(n_units), dtype=dtype, device=device)
        else:
            w = as_tensor(weights, dtype=dtype, device=device, name="weights")
        if w.dim() != 2 or w.shape[0] != w.shape[1]:
            raise ShapeError(f"weights must be a square matrix (n, n); got shape {tuple(w.shape)}")
        n = w.shape[0]
        if n_units is not None and int(n_units) != n:
            raise ShapeError(f"weights are {n} x {n} but n_units = {n_units}")
        self.self_interaction = bool(self_interaction)
        if not self.self_interaction and bool(torch.diagonal(w).any()):
            raise ConfigError("weights have a nonzero diagonal but self_interaction=False; zero the diagonal "
                              "(for binary units it is equivalent to a bias shift, see eq. 15)")
        self.visible = BinaryLayer(n, bias, dtype=w.dtype, device=w.device)
        self.weights = nn.Parameter(w.clone())
        if centers is None:
            c = torch.zeros(n, dtype=w.dtype, device=w.device)
        else:
            c = as_tensor(centers, dtype=w.dtype, device=w.device, name="centers").reshape(-1)
            if c.numel() != n:
                raise ShapeError(f"centers have {c.numel()} entries; expected {n}")
        self.register_buffer("centers", c.clone())
        mask = torch.ones(n, n, dtype=w.dtype, device=w.device)
        if not self.self_interaction:
            mask.fill_diagonal_(0)
        self.register_buffer("_mask", mask, persistent=False)

    # ----------------------------------------------------------------- description
    @property
    def bias(self) -> torch.Tensor:
        """b of eq. (12) (the visible layer's bias parameter)."""
        return self.visible.bias

    def config(self) -> dict[str, Any]:
        return {"class": "BoltzmannMachine", "visible": self.visible.config(),
                "self_interaction": self.self_interaction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "BoltzmannMachine":
        return cls(n_units=config["visible"]["n_units"], self_interaction=bool(config.get("self_interaction", True)))

    @classmethod
    def example(cls, seed: int = 0) -> "BoltzmannMachine":
        g = torch.Generator().manual_seed(int(seed))
        data = (torch.rand(50, 5, generator=g, dtype=torch.float64) < 0.4).double()
        return cls.initialize(data, weight_std=0.5, seed=seed, self_interaction=True, dtype=torch.float64)

    def extra_repr(self) -> str:
        return f"binary({self.n_visible}), fully visible, self_interaction={self.self_interaction}"

    def coupling(self) -> torch.Tensor:
        """W as it enters the energy (diagonal masked when ``self_interaction=False``)."""
        return self.weights if self.self_interaction else self.weights * self._mask

    def symmetric_coupling(self) -> torch.Tensor:
        """W_(ab) = (W_ab + W_ba) / 2 of eq. (15), detached."""
        w = self.coupling().detach()
        return 0.5 * (w + w.t())

    def effective_bias(self) -> torch.Tensor:
        """c_a = b_a + (1/2 - x_hat_a) W_aa of eq. (15), detached."""
        return self.bias.detach() + (0.5 - self.centers) * torch.diagonal(self.coupling().detach())

    # ----------------------------------------------------------------- energies
    def energy(self, v: Any) -> torch.Tensor:
        """E(x) of eq. (12) per sample."""
        return self.visible_free_energy(self.visible_tensor(v, "x"), 1.0)

    def visible_free_energy(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """beta E(x): a fully visible model has nothing to sum out (eq. 8 with an empty hidden space)."""
        y = v - self.centers
        quad = ((y @ self.coupling()) * y).sum(-1)
        return beta * (self.visible.energy(v) - 0.5 * quad)

    def enumerable_marginals(self) -> list[tuple[Layer, Callable[[torch.Tensor, float], torch.Tensor]]]:
        return [(self.visible, self.visible_free_energy)]

    # ----------------------------------------------------------------- activity rule
    @torch.no_grad()
    def conditional(self, v: Any, beta: float = 1.0) -> torch.Tensor:
        """p(x_a = 1 | x_rest) for every unit a and sample (eq. 15 at inverse temperature beta)."""
        x = self.visible_tensor(v, "x")
        ws = self.symmetric_coupling()
        off = ws - torch.diag(torch.diagonal(ws))
        return torch.sigmoid(beta * ((x - self.centers) @ off + self.effective_bias()))

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, n_samples: int, steps: int = 100, beta: float = 1.0, seed: int | None = None, *,
               init: Any = None, rng: Rng | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Single-site Gibbs sampling (eq. 15) from random starts or from ``init``; returns ``(x, h)``.

        ``h`` is an empty ``(n_samples, 0)`` tensor (a fully visible model has no hidden units), so that
        code written for ``(v, h) = model.sample(...)`` works for every model.
        """
        rng = rng if rng is not None else Rng(seed, self.device)
        v0 = self.visible.random_state(int(n_samples), rng) if init is None else self.visible_tensor(init, "init")
        v = site_gibbs(self, v0, steps, beta, rng)
        return v, v.new_empty(v.shape[0], 0)

    def sample_chains(self, v: torch.Tensor, steps: int, beta: float, rng: Rng) -> torch.Tensor:
        return site_gibbs(self, v, steps, beta, rng)

    # ----------------------------------------------------------------- centres
    @torch.no_grad()
    def set_centers(self, centers: Any) -> None:
        """Move x_hat and re-express b so that p(x) is unchanged.

        E = -1/2 x^T W x + x^T W_(s) x_hat - b.x + const, so x_hat -> x_hat' keeps p(x) when
        b -> b + W_(s) (x_hat' - x_hat), with W_(s) the symmetric part of W.  The energy moves by a
        constant, so ln Z shifts and log-likelihoods do not.
        """
        new = as_tensor(centers, dtype=self.dtype, device=self.device, name="centers").reshape(-1)
        if new.numel() != self.n_visible:
            raise ShapeError(f"centers have {new.numel()} entries; expected {self.n_visible}")
        self.visible.bias.add_((new - self.centers) @ self.symmetric_coupling())
        self.centers.copy_(new)

    @torch.no_grad()
    def update_offsets(self, batch: torch.Tensor, rate: float, weights: torch.Tensor | None = None) -> None:
        """Centred training: move x_hat a fraction ``rate`` towards the (``weights``-weighted) batch means
        (p(x) unchanged)."""
        mean = weighted_moments(batch, weights)[0]
        self.set_centers(self.centers + rate * (mean - self.centers))

    @classmethod
    def initialize(cls, data: Any, weight_std: float = 0.01, seed: int | None = 0, *,
                   self_interaction: bool = False, eps: float = 1e-3, dtype: torch.dtype | None = None,
                   device: Any = None) -> "BoltzmannMachine":
        """Centres at the data means, b = logit(means) (the independent model of Lemma 17 that fits them),
        and symmetric W ~ N(0, weight_std^2) (zero diagonal unless ``self_interaction``)."""
        dtype = dtype or torch.get_default_dtype()
        x = as_tensor(data, dtype=dtype, device=device, name="data")
        require(x.dim() == 2, f"data must be a matrix (samples, units); got shape {tuple(x.shape)}", ShapeError)
        n = x.shape[1]
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        a = torch.randn(n, n, generator=g, dtype=torch.float64) * weight_std
        w = (a + a.t()) / 2 ** 0.5
        if not self_interaction:
            w.fill_diagonal_(0)
        m = x.mean(0).clamp(eps, 1 - eps)
        model = cls(w.to(dtype), torch.log(m) - torch.log1p(-m), x.mean(0), self_interaction=self_interaction,
                    dtype=dtype, device=device)
        model.visible.validate(x, "data")
        return model


@torch.no_grad()
def site_gibbs(model: BoltzmannMachine, v: torch.Tensor, steps: int, beta: float = 1.0,
               rng: Rng | int | None = None) -> torch.Tensor:
    """``steps`` sequential single-site Gibbs sweeps (units 0..n-1 in order) of every chain in ``v``.

    Each unit is redrawn from eq. (15) at inverse temperature ``beta``.  The local fields
    sum_{b != a} W_(ab) (x_b - x_hat_b) of all units are kept up to date by a rank-one correction after
    each draw, so a sweep costs one (chains x n x n) product's worth of work.  ``v`` is not modified.
    """
    rng = as_rng(rng, v.device)
    ws = model.symmetric_coupling()
    c = model.effective_bias()
    ws = ws - torch.diag(torch.diagonal(ws))
    # Units along rows, chains along columns: every per-site operation reads and writes contiguous rows.
    xt = v.t().contiguous()
    field = ws @ (xt - model.centers[:, None])
    for _ in range(int(steps)):
        u = rng.uniform(tuple(xt.shape), dtype=xt.dtype)
        for a in range(xt.shape[0]):
            p = torch.sigmoid(beta * (field[a] + c[a]))
            new = (u[a] < p).to(xt.dtype)
            delta = new - xt[a]
            xt[a] = new
            field.addr_(ws[:, a], delta)
    return xt.t().contiguous()
