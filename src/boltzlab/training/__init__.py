"""Training by the learning rule: one loop (:class:`Trainer`) for every model, pluggable negative phases,
optimisers, schedules, checkpoints, metric loggers."""

from .config import TrainConfig
from .metrics import JsonlLogger, MetricsLogger, TensorBoardLogger
from .negative import ExactLogZ, GibbsChains, NegativePhase, SampledNegativePhase
from .tempered import TemperingChains, TrajectoryChains
from .trainer import Trainer, TrainingDiverged

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "MetricsLogger", "JsonlLogger", "TensorBoardLogger",
           "NegativePhase", "SampledNegativePhase", "GibbsChains", "ExactLogZ",
           "TemperingChains", "TrajectoryChains"]
