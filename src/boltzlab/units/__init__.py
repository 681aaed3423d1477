"""Unit types: the layers a Boltzmann machine is built from (see :mod:`boltzlab.units.base`)."""

from .base import Layer, layer_from_config
from .binary import BinaryLayer
from .gaussian import GaussianLayer
from .potts import PottsLayer
from .relu import DReLULayer, ReLULayer
from .spin import SpinLayer

__all__ = ["Layer", "layer_from_config", "BinaryLayer", "SpinLayer", "GaussianLayer", "PottsLayer", "ReLULayer",
           "DReLULayer"]
