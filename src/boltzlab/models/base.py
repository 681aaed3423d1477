"""The interface shared by every energy-based model of the toolkit, and the registry of model classes.

A model has a *visible* layer (the data live there), a coupling matrix ``weights``, an unnormalised
log-density of the visible configurations at inverse temperature beta, ``-free_energy(v, beta)``, a sampler,
and a non-tensor :meth:`~EnergyModel.config` from which its class rebuilds it.  Exact enumeration,
log-likelihoods, training and checkpoints are written against this interface only; bipartite models
(:class:`~boltzlab.models.rbm.RBM`) add the hidden layer and the conditionals.

Every concrete subclass registers itself by class name in :attr:`EnergyModel.registry` when it is defined,
as unit types do in :attr:`~boltzlab.units.base.Layer.registry`; :func:`model_from_config` looks the class
up there, so every model class saves and loads without a list of classes anywhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from .._tensor import as_tensor
from ..errors import CheckpointError
from ..units.base import Layer


class EnergyModel(nn.Module, ABC):
    """Base class of Boltzmann machines (RBMs of any unit types, fully visible BMs)."""

    visible: Layer
    #: The couplings (visible x hidden for an RBM, visible x visible for a fully visible machine).
    weights: nn.Parameter
    registry: ClassVar[dict[str, type["EnergyModel"]]] = {}
    #: True when some parameter values define no distribution (e.g. a kernel that is not positive definite):
    #: the trainer then checks :meth:`domain_problem` after every update and undoes an update that leaves it.
    bounded_domain: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EnergyModel.registry[cls.__name__] = cls

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "EnergyModel":
        """A model of the structure described by ``config`` (from :meth:`config`), parameters not restored."""
        raise NotImplementedError(f"{cls.__name__} cannot be rebuilt from a description")

    @classmethod
    def example(cls, seed: int = 0) -> "EnergyModel":
        """A small instance with random parameters (round-trip tests and examples)."""
        raise NotImplementedError(f"{cls.__name__} has no example instance")

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def n_visible(self) -> int:
        return self.visible.n_units

    @property
    def n_hidden(self) -> int:
        """Number of hidden units (0 for a fully visible model)."""
        return 0

    @property
    def centered(self) -> bool:
        """Whether the parametrisation has non-zero centering offsets."""
        return False

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
        """Non-tensor description from which :func:`model_from_config` rebuilds the model."""

    @abstractmethod
    def update_offsets(self, batch: torch.Tensor, rate: float, weights: torch.Tensor | None = None) -> None:
        """Centred training: move the centering offsets a fraction ``rate`` towards the batch statistics,
        leaving p(v) unchanged."""

    def exact_log_z(self, beta: float = 1.0, max_log2_states: float = 20) -> torch.Tensor:
        """ln Z(beta), differentiable in the parameters, in the model's dtype.

        By default summed over the states of the discrete layer with fewest states (at most
        ``2**max_log2_states``); models with a closed form override it.
        """
        from ..partition.exact import _choose
        layer, free_energy = self.enumerable_marginals()[_choose(self, max_log2_states)]
        return torch.logsumexp(torch.cat([-free_energy(s, beta) for s in layer.iterate_states(1 << 16)]), 0)

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


def model_from_config(config: dict[str, Any]) -> EnergyModel:
    """Rebuild an (uninitialised) model of the right class and structure from ``model.config()``."""
    name = config.get("class")
    if name not in EnergyModel.registry:
        raise CheckpointError(f"unknown model class {name!r} in the file; known: {', '.join(sorted(EnergyModel.registry))}")
    try:
        return EnergyModel.registry[name].from_config(config)
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"the model description in the file is incomplete: {exc}") from None
