"""Transition kernels on the joint state s = (v, h) of an RBM at inverse temperature beta.

The fluctuation theorems of Salazar (Phys. Rev. E 96, 022131 (2017)) need a kernel that satisfies detailed
balance on the state whose energy defines the heat and the work.  With A_h = "draw h ~ p_beta(h | v)" and
A_v = "draw v ~ p_beta(v | h)", each reversible on (v, h):

* :class:`PlainSweep` (``"plain"``), A_h A_v: the sweep of :func:`block_gibbs`, CD and PCD; invariant but
  **not reversible on (v, h)** (its reversal is A_v A_h).
* :class:`PalindromicSweep` (``"palindromic"``), A_h A_v A_h: reversible; K steps are A_h (A_v A_h)^K.
* :class:`RandomScan` (``"random-scan"``): each chain redraws one layer chosen with probability 1/2.
* :class:`VisibleChain` (``"visible"``): v -> h -> v', reversible with respect to p_beta(v); its energy, the
  free energy, depends on beta, so it serves AIS-type work and CD on v, not the heat exchange.

The palindromic sweep and the random scan take a ``fraction`` f: each move redraws every unit of its layer
with probability f, still an exact (reversible) Gibbs move on the chosen units.  Kernels work for every RBM
unit type on the model's device and dtype and read the parameters at every call.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from ..errors import require
from ..random import Rng
from .gibbs import _product, _shift, block_gibbs

KERNELS = ("palindromic", "random-scan", "plain", "visible")


def _check_beta(beta: float) -> float:
    b = float(beta)
    require(math.isfinite(b) and b > 0, f"the inverse temperature must be a positive number; got {beta}")
    return b


def _check_fraction(fraction: float) -> float:
    f = float(fraction)
    require(0 < f <= 1, f"the fraction of units redrawn per move must lie in (0, 1]; got {fraction}")
    return f


@torch.no_grad()
def hidden_draw(model, v: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
    """h ~ p_beta(h | v) (A_h), for any unit types; a new tensor."""
    w = model.weights.detach()
    out = torch.empty(v.shape[0], model.hidden.n_features, dtype=w.dtype, device=w.device)
    _product(model.visible.features(v), w, _shift(model.visible_offset, w), out)
    return model.hidden.sample_(out, beta, rng)


@torch.no_grad()
def visible_draw(model, h: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
    """v ~ p_beta(v | h) (A_v), for any unit types; a new tensor."""
    wt = model.weights.detach().t()
    out = torch.empty(h.shape[0], model.visible.n_features, dtype=wt.dtype, device=wt.device)
    _product(model.hidden.features(h), wt, _shift(model.hidden_offset, wt), out)
    return model.visible.sample_(out, beta, rng)


@torch.no_grad()
def joint_energy(model, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) per sample in float64 (no input checks; the hot-path form of ``model.energy``).

    The coupling's matrix product runs in the model dtype; the per-sample sums are taken in float64.
    """
    w = model.weights.detach()
    fv = model.visible.features(v)
    inputs = torch.empty(v.shape[0], model.hidden.n_features, dtype=w.dtype, device=w.device)
    _product(fv, w, _shift(model.visible_offset, w), inputs)
    fh = model.hidden.features(h).double() - model.hidden_offset.double()
    coupling = (inputs.double() * fh).sum(-1)
    return model.visible.energy(v).double() + model.hidden.energy(h).double() - coupling


class Kernel:
    """A Markov kernel that leaves p_beta of ``model`` invariant.

    ``run(v, h, steps, rng)`` advances a batch of chains (``h`` is None for the visible chain) and returns
    the new ``(v, h)`` without modifying its inputs; ``start(v, rng)`` completes visible states to a state
    of the kernel's space (h ~ p(h | v) for joint kernels); ``reduced_energy(v, h)`` is -ln of the
    unnormalised stationary density, float64: beta E(v, h) on the joint state, the free energy
    -ln sum_h exp(-beta E(v, h)) on v.
    """

    name: ClassVar[str] = ""
    reversible: ClassVar[bool] = True
    space: ClassVar[str] = "joint"
    #: Fraction of a layer's units each move redraws (below 1 only for the partial kernels).
    fraction: float = 1.0

    def __init__(self, model, beta: float = 1.0) -> None:
        from ..models import RBM
        require(isinstance(model, RBM), f"these kernels are defined for RBMs; got {type(model).__name__}")
        self.model = model
        self.beta = _check_beta(beta)

    def at(self, model=None, beta: float | None = None) -> "Kernel":
        """The same kind of kernel for another model and/or inverse temperature."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.model = self.model if model is None else model
        out.beta = self.beta if beta is None else _check_beta(beta)
        return out

    def describe(self) -> str:
        return self.name + ("" if self.reversible else " (NOT reversible on (v, h))")

    def start(self, v: torch.Tensor, rng: Rng) -> tuple[torch.Tensor, torch.Tensor | None]:
        return v, hidden_draw(self.model, v, self.beta, rng)

    def run(self, v: torch.Tensor, h: torch.Tensor | None, steps: int, rng: Rng,
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def reduced_energy(self, v: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
        return self.beta * joint_energy(self.model, v, h)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(beta={self.beta:g})"


class PlainSweep(Kernel):
    """A_h then A_v (h | v, then v | h): invariant, NOT reversible on (v, h); the CD/PCD sweep."""

    name = "plain"
    reversible = False

    def run(self, v, h, steps, rng):
        if int(steps) <= 0:
            return v, h
        return block_gibbs(self.model, v, int(steps), self.beta, rng)


class _Partial(Kernel):
    """Kernels built from A_h^f and A_v^f: redraw each unit of one layer with probability ``fraction``."""

    def __init__(self, model, beta: float = 1.0, fraction: float = 1.0) -> None:
        super().__init__(model, beta)
        self.fraction = _check_fraction(fraction)

    def describe(self) -> str:
        return self.name + ("" if self.fraction == 1 else f" (fraction {self.fraction:g})")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(beta={self.beta:g}, fraction={self.fraction:g})"

    def _masked(self, old: torch.Tensor, new: torch.Tensor, rng: Rng) -> torch.Tensor:
        if self.fraction >= 1:
            return new
        redraw = rng.uniform(tuple(old.shape), torch.float64).to(old.device) < self.fraction
        return torch.where(redraw, new, old)

    def _move_h(self, v: torch.Tensor, h: torch.Tensor, rng: Rng) -> torch.Tensor:
        """A_h^f."""
        return self._masked(h, hidden_draw(self.model, v, self.beta, rng), rng)

    def _move_v(self, v: torch.Tensor, h: torch.Tensor, rng: Rng) -> torch.Tensor:
        """A_v^f."""
        return self._masked(v, visible_draw(self.model, h, self.beta, rng), rng)


class PalindromicSweep(_Partial):
    """A_h A_v A_h (h | v, v | h, h | v): reversible on (v, h).

    With ``fraction = 1``, K steps are A_h (A_v A_h)^K (block Gibbs plus one hidden draw).  With
    ``fraction < 1`` every move redraws a random subset of its layer: A_h^f A_v^f A_h^f, still a palindrome
    of reversible moves.
    """

    name = "palindromic"

    @torch.no_grad()
    def run(self, v, h, steps, rng):
        if int(steps) <= 0:
            return v, h
        if self.fraction >= 1:
            v, _ = block_gibbs(self.model, v, int(steps), self.beta, rng)
            return v, hidden_draw(self.model, v, self.beta, rng)
        for _ in range(int(steps)):
            h = self._move_h(v, h, rng)
            v = self._move_v(v, h, rng)
            h = self._move_h(v, h, rng)
        return v, h


class RandomScan(_Partial):
    """Each chain redraws one layer chosen with probability 1/2 (each of its units with probability
    ``fraction``) from its conditional: (A_h^f + A_v^f) / 2, reversible on (v, h)."""

    name = "random-scan"

    @torch.no_grad()
    def run(self, v, h, steps, rng):
        if int(steps) <= 0:
            return v, h
        v, h = v.clone(), h.clone()
        n = v.shape[0]
        for _ in range(int(steps)):
            pick_h = rng.uniform((n,), torch.float64).to(v.device) < 0.5
            rows_h = pick_h.nonzero().squeeze(1)
            rows_v = (~pick_h).nonzero().squeeze(1)
            if rows_h.numel():
                h[rows_h] = self._move_h(v[rows_h], h[rows_h], rng)
            if rows_v.numel():
                v[rows_v] = self._move_v(v[rows_v], h[rows_v], rng)
        return v, h


class VisibleChain(Kernel):
    """The visible-marginal chain v -> h -> v', reversible with respect to p_beta(v); state v alone."""

    name = "visible"
    space = "visible"

    def start(self, v, rng):
        return v, None

    def run(self, v, h, steps, rng):
        if int(steps) <= 0:
            return v, None
        return block_gibbs(self.model, v, int(steps), self.beta, rng)[0], None

    def reduced_energy(self, v, h=None):
        with torch.no_grad():
            return self.model.visible_free_energy(v, self.beta).double()


_CLASSES = {"palindromic": PalindromicSweep, "random-scan": RandomScan, "plain": PlainSweep,
            "visible": VisibleChain}


def make_kernel(name: str | Kernel, model, beta: float = 1.0, fraction: float | None = None) -> Kernel:
    """A kernel by name (``palindromic``, ``random-scan``, ``plain``, ``visible``) at ``beta``, or a kernel
    object rebound to ``model`` and ``beta`` (``fraction``, when given, replaces its own)."""
    if isinstance(name, Kernel):
        k = name.at(model, beta)
        if fraction is not None and isinstance(k, _Partial):
            k.fraction = _check_fraction(fraction)
        return k
    require(name in _CLASSES, f"unknown kernel {name!r}; expected one of {', '.join(KERNELS)}")
    fraction = 1.0 if fraction is None else fraction
    if name in ("palindromic", "random-scan"):
        return _CLASSES[name](model, beta, fraction)
    require(float(fraction) == 1.0, f"a fraction of units per move applies to the palindromic and random-scan kernels, "
                                    f"not to {name!r}")
    return _CLASSES[name](model, beta)


def describe_kernel(kernel: Kernel) -> dict[str, Any]:
    """The JSON description of a kernel."""
    return {"name": kernel.name, "reversible": kernel.reversible, "space": kernel.space,
            "fraction": kernel.fraction, "label": kernel.describe()}
