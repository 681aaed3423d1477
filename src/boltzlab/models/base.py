"""The small interface shared by every energy-based model of the toolkit.

A model has a *visible* layer (the data live there), an unnormalised log-density of the visible
configurations at inverse temperature beta, ``-free_energy(v, beta)``, and a sampler.  Exact enumeration,
log-likelihoods, training and checkpoints are written against this interface only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import torch
from torch import nn

from .._tensor import as_tensor
from ..units.base import Layer


class EnergyModel(nn.Module, ABC):
    """Base class of Boltzmann machines (RBMs of any unit types, fully visible BMs)."""

    visible: Layer

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def n_visible(self) -> int:
        return self.visible.n_units

    def free_energy(self, v: Any, beta: float = 1.0) -> torch.Tensor:
        """Effective energy -ln sum_h exp(-beta E(v, h)) per sample (eq. 8 at beta); shape ``(batch,)``.

        ``v`` may be a tensor or array; it is checked against the visible units' domain.
        """
        return self.visible_free_energy(self.visible_tensor(v, "v"), beta)

    @abstractmethod
    def visible_free_energy(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """:meth:`free_energy` for a tensor already in the model's dtype and domain (no checks; hot path)."""

    @abstractmethod
    def sample_chains(self, v: torch.Tensor, steps: int, beta: float, rng) -> torch.Tensor:
        """Advance Markov chains with visible states ``v`` by ``steps`` sweeps; return the new visible states."""

    @abstractmethod
    def enumerable_marginals(self) -> list[tuple[Layer, Callable[[torch.Tensor, float], torch.Tensor]]]:
        """Pairs (layer, free energy of that layer's states) that exact enumeration may sum over."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Non-tensor description from which :func:`boltzlab.models.model_from_config` rebuilds the model."""

    def domain_problem(self) -> str | None:
        """Why the current parameters define no distribution, or None (checks every layer)."""
        for name, module in self.named_children():
            if isinstance(module, Layer):
                problem = module.domain_problem()
                if problem is not None:
                    return f"{name} layer: {problem}"
        return None

    def apply_gauge_(self) -> None:
        """Bring the parameters to the model's gauge without changing p(v); a no-op for models without one."""

    def gauge_free_part(self, x: torch.Tensor) -> torch.Tensor:
        """The part of a coupling-shaped tensor ``x`` that the gauge keeps (all of it without a gauge)."""
        return x

    def visible_tensor(self, v: Any, name: str = "v", validate: bool = True) -> torch.Tensor:
        """Convert user input to a visible-state tensor of the model's dtype and device, checking its domain."""
        t = as_tensor(v, dtype=self.dtype, device=self.device, name=name)
        if t.dim() == 1:
            t = t.unsqueeze(0)
        if validate:
            self.visible.validate(t, name)
        return t
