"""Training by the learning rule: chain initialisations, optimisers, schedules, checkpoints, metric loggers."""

from .config import TrainConfig
from .metrics import JsonlLogger, MetricsLogger, TensorBoardLogger
from .trainer import Trainer, TrainingDiverged

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "MetricsLogger", "JsonlLogger", "TensorBoardLogger"]
