"""Energy functions built from unit types: RBMs of any layer pair and the fully visible BM."""

from typing import Any

import torch

from ..errors import CheckpointError
from ..units import layer_from_config
from .base import EnergyModel
from .bm import BoltzmannMachine
from .rbm import RBM, BinaryRBM, SpinRBM, make_rbm
from .potts import PottsRBM

__all__ = ["EnergyModel", "BoltzmannMachine", "RBM", "BinaryRBM", "SpinRBM", "PottsRBM", "make_rbm",
           "model_from_config"]


def model_from_config(config: dict[str, Any]) -> EnergyModel:
    """Rebuild an (uninitialised) model of the right structure from ``model.config()``."""
    cls = config.get("class")
    try:
        if cls == "RBM":
            return RBM(layer_from_config(config["visible"]), layer_from_config(config["hidden"]))
        if cls == "PottsRBM":
            return PottsRBM.from_layers(layer_from_config(config["visible"]), layer_from_config(config["hidden"]))
        if cls in ("BinaryRBM", "SpinRBM"):
            shape = (config["visible"]["n_units"], config["hidden"]["n_units"])
            return {"BinaryRBM": BinaryRBM, "SpinRBM": SpinRBM}[cls](torch.zeros(shape))
        if cls == "BoltzmannMachine":
            return BoltzmannMachine(n_units=config["visible"]["n_units"],
                                    self_interaction=bool(config.get("self_interaction", True)))
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"the model description in the file is incomplete: {exc}") from None
    raise CheckpointError(f"unknown model class {cls!r} in the file")
