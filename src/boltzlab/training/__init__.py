"""Training by the learning rule: chain initialisations, optimisers, schedules, checkpoints."""

from .config import TrainConfig
from .trainer import Trainer, TrainingDiverged

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged"]
