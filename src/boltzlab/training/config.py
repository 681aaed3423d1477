"""Training hyperparameters, validated so that a model or procedure that cannot exist is refused early."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError, require

MODELS = ("rbm", "bm")
OPTIMIZERS = ("sgd", "adam")
AVERAGES = ("none", "ema", "polyak")
WATCH = ("off", "warn", "adapt")
SCHEDULES = ("constant", "step", "linear")


MIN_UPDATES = 2000


def recommended_options(options: dict[str, Any], n_samples: int | None = None,
                        distributed: bool = False) -> dict[str, Any]:
    """Settings that train a good model on common data without tuning (measured in docs/training.md).

    An RBM trains with the centered gradient (Melchior, Fischer & Wiskott, JMLR 17 (2016)) and parallel
    tempering as its negative phase (``pt``): plain persistent chains stop crossing between the modes of
    a multimodal model and the learned mode weights drift (on ordered 2D Ising data they end all in one
    mode).  A fully visible machine or a data-parallel run keeps PCD.  Momentum 0.5 rather than 0.9: the
    chains follow the model with a delay of a few updates and momentum adds a delay of 1 / (1 - momentum)
    updates, and the delayed feedback makes the learned mode weights swing (docs/training.md).  The step
    decays linearly to a hundredth: a stochastic-approximation iterate settles only as its step goes to
    zero (Robbins & Monro, Ann. Math. Stat. 22, 400 (1951)), and with a larger final step the last iterate
    jitters around the optimum.  The run lasts at least ``MIN_UPDATES`` updates (and 10 epochs).  Only
    options absent from ``options`` are returned.
    """
    rec: dict[str, Any] = {"centered": True, "momentum": 0.5, "lr": 0.02, "lr_schedule": "linear", "lr_decay": 0.01}
    if options.get("model", "rbm") == "rbm" and not distributed:
        rec["method"] = "pt"
    if n_samples:
        batch = int(options.get("batch_size", _field_default("batch_size")))
        per_epoch = -(-int(n_samples) // max(batch, 1))  # (a batch size below 1 is refused by validate)
        rec["epochs"] = max(10, -(-MIN_UPDATES // per_epoch))
    return {k: v for k, v in rec.items() if k not in options}


def _field_default(name: str) -> Any:
    """The dataclass default of a :class:`TrainConfig` field."""
    return next(f.default for f in fields(TrainConfig) if f.name == name)


@dataclass
class TrainConfig:
    """Hyperparameters of maximum-likelihood training by the learning rule <dF/dtheta>_data -
    <dF/dtheta>_model (Ackley, Hinton & Sejnowski, Cognitive Science 9, 147 (1985)).

    method
        The negative phase (:mod:`boltzlab.training.negative`): where the model chains start, ``cd`` (CD-k,
        at the minibatch), ``pcd`` (PCD-k, persistent chains), ``rdm`` (Rdm-k, fresh random states each
        update); ``exact`` (the gradient of the exact ln Z, for enumerable or closed-form models); ``pt``
        (persistent chains exchanging along ``n_replicas`` inverse temperatures from ``beta_min`` to 1);
        ``ptt`` (persistent chains exchanging along models saved during this run, one saved whenever the
        exchange acceptance to the newest one falls below ``ladder_acceptance``;
        :mod:`boltzlab.training.tempered`); or any other registered negative phase.
    k
        Block-Gibbs sweeps per update.
    n_chains
        Model chains for ``pcd`` and ``rdm`` (default: the batch size); ``cd`` uses one per data point.
    lr_schedule
        ``constant``; ``step`` multiplies the learning rate by ``lr_decay`` every ``lr_decay_every``
        updates; ``linear`` decays it linearly to ``lr * lr_decay`` at the last update.
    model
        ``rbm`` (the default) or ``bm``, the fully visible Boltzmann machine of eq. (12) on binary units
        (centres at the data means; ``n_hidden`` and ``hidden_units`` do not apply).
    self_interaction
        For ``bm``: learn the diagonal W_aa too (default False: held at zero, as in Corollary 28).
    save_every
        Record a copy of the model every ``save_every`` updates (and at the start and the end) in
        ``Trainer.trajectory`` and the checkpoint, for parallel trajectory tempering and the
        log-likelihood along training (:mod:`boltzlab.sampling.trajectory`); 0 (default) records nothing.
    n_states, hidden_states, gauge
        For Potts units: the number of states q of the visible units (default: 1 + the largest state in the
        data) and of the hidden units (default 2), and the gauge kept during training, ``zerosum`` (weights and fields, the hidden fields absorbing
        what the weights lose; the l1/l2 penalties act on gauge-fixed weights) or ``none``.
    average, average_decay
        Parameter averaging (:mod:`boltzlab.training.averaging`): ``ema`` (exponential moving average,
        weight ``1 - average_decay`` per update), ``polyak`` (the uniform mean of the second half of the
        updates) or ``none``.  The average is saved beside the raw model (``averaged.pt``).
    watch
        :class:`~boltzlab.training.monitor.TrainingMonitor` on the per-epoch metrics: ``warn`` on
        oscillation or divergence, ``adapt`` (warn and halve the learning rate), or ``off``.
    centered
        Centered gradient (Montavon & Mueller 2012; Melchior et al. 2016): the offsets v_hat, h_hat of
        eq. (16) track the data means and hidden activations by a sliding average of rate ``offset_rate``,
        and the biases are reparametrised so that each move leaves the distribution unchanged.
    monitor
        Compute the per-epoch metrics (log-likelihoods, reconstruction error, weight norms); False records
        only the epoch, step and learning rate.
    """

    model: str = "rbm"
    self_interaction: bool = False
    n_hidden: int = 16
    visible_units: str = "binary"
    hidden_units: str = "binary"
    n_states: int | None = None
    hidden_states: int = 2
    gauge: str = "zerosum"
    method: str = "pcd"
    k: int = 1
    batch_size: int = 100
    n_chains: int | None = None
    epochs: int = 10
    max_updates: int | None = None
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    l1: float = 0.0
    l2: float = 0.0
    lr_schedule: str = "constant"
    lr_decay: float = 0.5
    lr_decay_every: int = 1000
    centered: bool = False
    offset_rate: float = 0.01
    weight_std: float = 0.01
    init_visible_from_data: bool = True
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    checkpoint_every: int = 1
    keep_checkpoints: bool = False
    save_every: int = 0
    n_replicas: int = 8
    beta_min: float = 0.2
    ladder_acceptance: float = 0.3
    average: str = "ema"
    average_decay: float = 0.99
    watch: str = "warn"
    monitor_exact_max_log2: int = 20
    monitor_samples: int = 1000
    monitor: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        require(self.model in MODELS, f"model must be one of {', '.join(MODELS)}; got {self.model!r}")
        require(self.model != "bm" or self.visible_units == "binary",
             f"the fully visible Boltzmann machine (eq. 12) has binary units; got visible_units={self.visible_units!r}")
        from .negative import NegativePhase
        require(self.method in NegativePhase.registry,
                f"method must be one of {', '.join(sorted(NegativePhase.registry))}; got {self.method!r}")
        require(self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        require(self.lr_schedule in SCHEDULES, f"lr_schedule must be one of {', '.join(SCHEDULES)}")
        require(self.n_hidden >= 1, f"n_hidden must be >= 1; got {self.n_hidden}")
        require(self.k >= 1, f"k (Gibbs steps per update) must be >= 1; got {self.k}")
        require(self.batch_size >= 1, f"batch_size must be >= 1; got {self.batch_size}")
        require(self.n_chains is None or self.n_chains >= 1, f"n_chains must be >= 1; got {self.n_chains}")
        require(self.epochs >= 1, f"epochs must be >= 1; got {self.epochs}")
        require(self.max_updates is None or self.max_updates >= 1, "max_updates must be >= 1")
        require(self.lr > 0 and self.lr < float("inf"), f"lr must be a positive number; got {self.lr}")
        require(0 <= self.momentum < 1, f"momentum must lie in [0, 1); got {self.momentum}")
        require(self.l1 >= 0 and self.l2 >= 0, "l1 and l2 penalties must be >= 0")
        require(0 < self.lr_decay <= 1, f"lr_decay must lie in (0, 1]; got {self.lr_decay}")
        require(self.lr_decay_every >= 1, "lr_decay_every must be >= 1")
        require(0 < self.offset_rate <= 1, f"offset_rate must lie in (0, 1]; got {self.offset_rate}")
        require(self.weight_std >= 0, f"weight_std must be >= 0; got {self.weight_std}")
        require(self.dtype in ("float32", "float64"), f"dtype must be float32 or float64; got {self.dtype!r}")
        require(self.checkpoint_every >= 1, "checkpoint_every must be >= 1")
        require(self.n_states is None or self.n_states >= 2, f"n_states (Potts q) must be >= 2; got {self.n_states}")
        require(self.hidden_states >= 2, f"hidden_states (Potts q) must be >= 2; got {self.hidden_states}")
        require(self.gauge in ("zerosum", "none"), f"gauge must be 'zerosum' or 'none'; got {self.gauge!r}")
        from ..units import Layer
        for side, kind in (("visible_units", self.visible_units), ("hidden_units", self.hidden_units)):
            require(kind in Layer.registry, f"{side} must be one of {', '.join(sorted(Layer.registry))}; got {kind!r}")
        require(self.n_replicas >= 2, f"n_replicas (tempering rungs) must be >= 2; got {self.n_replicas}")
        require(0 < self.beta_min < 1, f"beta_min must lie in (0, 1); got {self.beta_min}")
        require(0 < self.ladder_acceptance < 1, f"ladder_acceptance must lie in (0, 1); got {self.ladder_acceptance}")
        require(self.average in AVERAGES, f"average must be one of {', '.join(AVERAGES)}; got {self.average!r}")
        require(0 <= self.average_decay < 1, f"average_decay must lie in [0, 1); got {self.average_decay}")
        require(self.watch in WATCH, f"watch must be one of {', '.join(WATCH)}; got {self.watch!r}")
        require(self.save_every >= 0, f"save_every must be >= 0 (0: no trajectory); got {self.save_every}")

    @classmethod
    def recommended(cls, n_samples: int | None = None, distributed: bool = False, **options: Any) -> "TrainConfig":
        """The configuration `boltzlab train` uses: :func:`recommended_options` for every option not in
        ``options`` (``n_samples``: the number of training rows, which sets the number of epochs)."""
        return cls.from_dict({**recommended_options(options, n_samples, distributed), **options})

    @property
    def chains(self) -> int:
        return self.n_chains if self.n_chains is not None else self.batch_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        require(not unknown, f"unknown training option(s): {', '.join(unknown)}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(str(exc)) from None


