"""Negative phases: how the trainer obtains the model average of the learning rule.

The gradient of the mean log-likelihood is -<dF/dtheta>_data + <dF/dtheta>_model, F the free energy of the
visible units (Ackley, Hinton & Sejnowski, Cognitive Science 9, 147 (1985); for RBMs Fischer & Igel,
Pattern Recognition 47, 25 (2014)).  The
trainer differentiates the surrogate ``mean F(v_data) - model_term`` with autograd, where the *negative
phase* supplies ``model_term``: a scalar whose gradient is <dF/dtheta>_model.

* :class:`GibbsChains` (``method`` = ``cd``, ``pcd``, ``rdm``): the mean free energy of k sweeps of the
  model's own sampler started at the minibatch (CD-k; Hinton, Neural Computation 14, 1771 (2002)), at
  persistent chains (PCD-k; Tieleman, ICML 2008) or at fresh random states (Rdm-k), the samples held fixed.
* :class:`ExactLogZ` (``method`` = ``exact``): ``-ln Z(theta)`` itself, differentiable, since
  d ln Z / dtheta = -<dF/dtheta>_model: the exact gradient, for models whose ln Z is a closed form or an
  enumerable sum (:meth:`~boltzlab.models.base.EnergyModel.exact_log_z`).

A new negative phase subclasses :class:`NegativePhase` (or :class:`SampledNegativePhase` when it produces
model samples), names its ``methods``, and is then available as ``TrainConfig(method=...)``; it keeps any
state that a resumed run needs in :meth:`state_dict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from .monitor import MixingTracker

if TYPE_CHECKING:
    from .trainer import Trainer


class NegativePhase(ABC):
    """The model term of the learning-rule surrogate; one instance per :class:`~.trainer.Trainer`."""

    #: ``TrainConfig.method`` values served by the class (registered on definition).
    methods: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type["NegativePhase"]]] = {}
    #: Persistent model states kept between updates (None when the phase keeps none).
    chains: torch.Tensor | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("methods", ()):
            NegativePhase.registry[name] = cls

    def __init__(self, trainer: "Trainer") -> None:
        self.trainer = trainer

    @abstractmethod
    def model_term(self, batch: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int) -> torch.Tensor:
        """A scalar whose gradient is <dF/dtheta>_model, for the minibatch ``batch`` (this process's rows,
        their weights, and the global batch size ``n_batch``)."""

    def diagnostics(self) -> dict[str, Any]:
        """Per-epoch diagnostics of the negative phase, written with the epoch's metrics."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (tensors on the CPU)."""
        return {"chains": None if self.chains is None else self.chains.cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("chains") is not None:
            self.chains = state["chains"].to(self.trainer.model.device)


class SampledNegativePhase(NegativePhase):
    """A negative phase that draws model samples; the term is their (global-count) mean free energy.

    Persistent chains are watched for mixing (:class:`~boltzlab.training.monitor.MixingTracker`)."""

    def __init__(self, trainer: "Trainer") -> None:
        super().__init__(trainer)
        self.mixing = MixingTracker()

    @abstractmethod
    def samples(self, batch: torch.Tensor) -> torch.Tensor:
        """Visible model samples for this update (no gradient flows through them)."""

    def sample_count(self, n_batch: int) -> int:
        """The global number of model samples per update (the divisor of their mean)."""
        return self.trainer.config.chains

    def term(self, v_model: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int) -> torch.Tensor:
        """Sum of F over ``v_model`` divided by the global sample count (the mean once gradients are summed
        over processes)."""
        return self.trainer.model.visible_free_energy(v_model).sum() / self.sample_count(n_batch)

    def model_term(self, batch: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int) -> torch.Tensor:
        v = self.samples(batch)
        if self.chains is not None:
            self.mixing.observe(self.trainer.model.visible.features(v))
        return self.term(v, batch_weights, n_batch)

    def diagnostics(self) -> dict[str, Any]:
        tr = self.trainer
        data = tr.train[:tr.config.monitor_samples] if self.chains is not None else None
        return self.mixing.summary(tr.model, data, self.chains)


class GibbsChains(SampledNegativePhase):
    """k sweeps of ``model.sample_chains`` from the minibatch (cd), persistent chains (pcd) or random states (rdm)."""

    methods = ("cd", "pcd", "rdm")

    def __init__(self, trainer: "Trainer") -> None:
        super().__init__(trainer)
        self.start = trainer.config.method
        if self.start == "pcd":
            self.chains = trainer.model.visible.random_state(trainer._local_count(trainer.config.chains),
                                                             trainer.rng)

    def starts(self, batch: torch.Tensor) -> torch.Tensor:
        """Where this update's chains start."""
        tr = self.trainer
        if self.start == "cd":
            return batch
        if self.start == "pcd":
            return self.chains
        return tr.model.visible.random_state(tr._local_count(tr.config.chains), tr.rng)

    def keep(self, v: torch.Tensor) -> None:
        """Store the chains' new states (persistent chains only)."""
        if self.start == "pcd":
            self.chains = v

    def samples(self, batch: torch.Tensor) -> torch.Tensor:
        tr = self.trainer
        v = tr.model.sample_chains(self.starts(batch), tr.config.k, 1.0, tr.rng)
        self.keep(v)
        return v

    def sample_count(self, n_batch: int) -> int:
        return n_batch if self.start == "cd" else self.trainer.config.chains

    def term(self, v_model: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int) -> torch.Tensor:
        f = self.trainer.model.visible_free_energy(v_model)
        if batch_weights is not None and self.start == "cd":  # CD chains start at the weighted data
            f = f * batch_weights
        return f.sum() / self.sample_count(n_batch)


class ExactLogZ(NegativePhase):
    """-ln Z(theta), differentiable: the exact model average, for small or closed-form models."""

    methods = ("exact",)

    def model_term(self, batch: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int) -> torch.Tensor:
        return -self.trainer.model.exact_log_z()
