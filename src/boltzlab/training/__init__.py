"""Training by the learning rule: one loop (:class:`Trainer`) for every model, with pluggable negative phases."""

from .config import TrainConfig
from .negative import ExactLogZ, GibbsChains, NegativePhase, SampledNegativePhase
from .tempered import TemperingChains, TrajectoryChains
from .trainer import Trainer, TrainingDiverged

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "NegativePhase", "SampledNegativePhase", "GibbsChains",
           "ExactLogZ", "TemperingChains", "TrajectoryChains"]
