"""The unit-type interface every layer of a Boltzmann machine implements.

A layer of ``n`` units with state ``x`` has a self-energy ``E_layer(x)`` (the bias term of
the RBM energy, Tubiana, Cocco & Monasson, eLife 8, e39397 (2019), eq. 4, plus any confining term for
continuous units) and
couples to the rest of the model only through a linear *input* ``I`` (the field the other layer exerts):

    p(x | I) ∝ exp(-beta * (E_layer(x) - I · phi(x)))

where ``phi(x)`` are the layer's features (``x`` itself for binary, spin and Gaussian units; the one-hot code
for Potts units).  Everything a sampler, trainer, estimator or analysis needs follows from four
functions of ``I`` and ``beta``: the self-energy, the log-partition ``ln sum_x exp(-beta (E_layer - I.phi))``,
the conditional sampler and the conditional moments.  Nothing outside ``boltzlab.units`` asks which unit
type it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterator

import torch
from torch import nn

from ..errors import DomainError, ShapeError, require
from ..random import Rng


class Layer(nn.Module, ABC):
    """A layer of ``n_units`` identical-type units with per-unit parameters.

    Subclasses set :attr:`type_name` and implement the abstract methods.  All methods act on a batch:
    states have shape ``(batch, n_units)``, inputs ``(batch, n_features)``, and per-sample quantities
    have shape ``(batch,)``.
    """

    type_name: ClassVar[str]
    discrete: ClassVar[bool] = True
    registry: ClassVar[dict[str, type["Layer"]]] = {}
    #: True when every parameter is a per-feature vector and every method broadcasts over leading
    #: dimensions, so that one copy of the layer with the parameters of R layers stacked as (R, 1, n)
    #: acts on (R, chains, n) states as the R layers would (batched replicas use it).
    stackable: ClassVar[bool] = False
    #: Keyword options of the constructor beyond the unit count that model builders pass through
    #: (e.g. the number of states of Potts units); the same keys appear in :meth:`config`.
    options: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_name" in cls.__dict__:
            Layer.registry[cls.type_name] = cls

    def __init__(self, n_units: int) -> None:
        super().__init__()
        require(int(n_units) >= 1, f"a layer needs at least one unit, got {n_units}", ShapeError)
        self.n_units = int(n_units)

    # ------------------------------------------------------------- structure
    @property
    def n_features(self) -> int:
        """Length of the feature vector phi(x) through which the layer couples."""
        return self.n_units

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x), shape ``(batch, n_features)`` in the layer's dtype (identity for scalar units)."""
        return x

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def config(self) -> dict[str, Any]:
        """The non-tensor hyperparameters that rebuild this layer (see :func:`layer_from_config`)."""
        return {"type": self.type_name, "n_units": self.n_units}

    # ------------------------------------------------------------- physics
    @abstractmethod
    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Self-energy E_layer(x) per sample, shape ``(batch,)``."""

    @abstractmethod
    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """ln sum_x exp(-beta (E_layer(x) - I.phi(x))) per sample, summed over units; shape ``(batch,)``."""

    @abstractmethod
    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """Conditional mean of the features E[phi(x) | I], shape ``(batch, n_features)``."""

    @abstractmethod
    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """Conditional variance of the features (per feature), shape ``(batch, n_features)``."""

    @abstractmethod
    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        """Draw x ~ p(x | I) at inverse temperature beta.

        Hot-path form: ``inputs`` is a scratch buffer that the layer may overwrite and return as the
        sample.  Use :meth:`sample` when the inputs must survive.
        """

    def sample(self, inputs: torch.Tensor, beta: float = 1.0, rng: Rng | None = None) -> torch.Tensor:
        """Draw x ~ p(x | I) without touching ``inputs``."""
        return self.sample_(inputs.clone(), beta, rng if rng is not None else Rng(None, inputs.device))

    @abstractmethod
    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        """``n`` states drawn from a simple reference distribution, used to start chains (Rdm-k)."""

    @abstractmethod
    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        """Raise :class:`DomainError` if ``x`` holds values outside the units' domain."""

    @abstractmethod
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        """Set the biases so that the independent layer reproduces the (``weights``-weighted) data means."""

    def domain_problem(self) -> str | None:
        """Why the current parameters define no distribution (e.g. a non-positive precision), or None."""
        return None

    # ------------------------------------------------------------- gauge and linear fields
    @torch.no_grad()
    def shift_field_(self, delta: torch.Tensor) -> None:
        """Add a linear term to the layer's field: E_layer(x) -> E_layer(x) - delta . phi(x).

        Centering and gauge moves use it to absorb a term of the coupling that no longer depends on the
        other layer.  The default adds ``delta`` (one entry per feature) to ``bias``; layers whose linear
        term is spread over several parameters (dReLU) override it.
        """
        self.bias.add_(delta.reshape(self.bias.shape).to(self.bias))

    def gauge_part(self, weights: torch.Tensor) -> torch.Tensor | None:
        """The component of the coupling rows ``weights`` (n_features, k) that the layer's gauge removes.

        ``None`` for layers without a gauge freedom (every scalar unit type).  For it the coupling
        phi(x)^T C must not depend on x (Potts: C constant over the states of a site).
        """
        return None

    @torch.no_grad()
    def gauge_fields_(self) -> None:
        """Bring the layer's own fields to its gauge (changes the energy by a constant only)."""

    @torch.no_grad()
    def interpolate_(self, a: "Layer", b: "Layer", t: float) -> "Layer":
        """Set this layer's parameters to those of the self-energy ``(1 - t) E_a + t E_b``; return self.

        Annealing paths (AIS, reverse AIS, tempering) move along such geometric averages.  The default
        interpolates every parameter linearly, which is exact because the self-energy of every unit type
        here is linear in its stored parameters (biases, fields, precisions, thresholds).  A layer that
        stores a nonlinear reparametrisation must override this method.
        """
        for p, pa, pb in zip(self.parameters(), a.parameters(), b.parameters()):
            torch.lerp(pa, pb, float(t), out=p.data)
        return self

    # ------------------------------------------------------------- enumeration (discrete layers)
    @property
    def unit_values(self) -> torch.Tensor:
        """The values a single unit takes (discrete layers only)."""
        raise NotImplementedError(f"{self.type_name} units are continuous and cannot be enumerated")

    @property
    def n_states_log2(self) -> float:
        """log2 of the number of joint states of the layer (inf for continuous layers)."""
        if not self.discrete:
            return float("inf")
        import math
        return self.n_units * math.log2(len(self.unit_values))

    def enumerate_states(self, start: int, stop: int) -> torch.Tensor:
        """States number ``start .. stop-1`` in mixed-radix order (unit 0 is the fastest digit)."""
        values = self.unit_values.to(self.device)
        k = len(values)
        idx = torch.arange(start, stop, device=self.device, dtype=torch.int64)
        digits = torch.empty(stop - start, self.n_units, dtype=torch.int64, device=self.device)
        for i in range(self.n_units):
            digits[:, i] = idx % k
            idx = idx // k
        return values[digits]

    def iterate_states(self, chunk: int) -> Iterator[torch.Tensor]:
        """All joint states, ``chunk`` at a time."""
        total = len(self.unit_values) ** self.n_units
        for start in range(0, total, chunk):
            yield self.enumerate_states(start, min(total, start + chunk))

    # ------------------------------------------------------------- helpers for subclasses
    def _check_finite(self, x: torch.Tensor, name: str) -> None:
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise DomainError(f"{name} contains NaN or infinite values")

    def _check_shape(self, x: torch.Tensor, name: str) -> None:
        if x.dim() != 2 or x.shape[1] != self.n_units:
            raise ShapeError(f"{name} has shape {tuple(x.shape)}; expected (batch, {self.n_units})")


def weighted_moments(x: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column mean and (biased) variance of ``x``, each row weighted by ``weights`` (default equal)."""
    if weights is None:
        return x.mean(0), x.var(0, unbiased=False)
    w = weights.to(x).reshape(-1, 1)
    w = w / w.sum()
    m = (w * x).sum(0)
    return m, (w * (x - m) ** 2).sum(0)


def layer_from_config(config: dict[str, Any]) -> Layer:
    """Rebuild a layer (with default parameters) from :meth:`Layer.config`."""
    cfg = dict(config)
    kind = cfg.pop("type")
    require(kind in Layer.registry, f"unknown unit type {kind!r}; known: {sorted(Layer.registry)}", ShapeError)
    return Layer.registry[kind](**cfg)
