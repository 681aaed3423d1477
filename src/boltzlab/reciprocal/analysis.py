"""``analyze(model)``: the singular-value spectrum of an RBM against Marchenko-Pastur, in one call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import DomainError, require
from .spectrum import MarchenkoPastur, weight_sigma


@dataclass
class ReciprocalAnalysis:
    """The spectrum of W and its comparison with the Marchenko-Pastur law (eq. 20).

    Attributes
    ----------
    singular_values : float64 array, descending (min(N, M) values).
    sigma : the weight std of the comparison (RMS of the entries unless given).
    mp : the :class:`MarchenkoPastur` law for the model's shape and ``sigma``.
    mp_ks, mp_pvalue : Kolmogorov-Smirnov distance of the singular values to that law, and scipy's p-value.
    n_above_edge : singular values above lambda_+ (outliers that the bulk law does not describe).
    rotation : the :class:`~boltzlab.reciprocal.symmetry.RotationTest` when ``analyze(..., rotation=True)``.
    """

    singular_values: np.ndarray
    shape: tuple[int, int]
    sigma: float
    mp: MarchenkoPastur
    mp_ks: float
    mp_pvalue: float
    rotation: Any = field(default=None, repr=False)

    @property
    def n_above_edge(self) -> int:
        return int((self.singular_values > self.mp.lambda_plus * (1 + 1e-9)).sum())

    def to_dict(self) -> dict[str, Any]:
        s = self.singular_values
        out = {"shape": list(self.shape), "sigma": self.sigma, "mp_ks": self.mp_ks, "mp_pvalue": self.mp_pvalue,
               "marchenko_pastur": self.mp.to_dict(), "n_above_edge": self.n_above_edge,
               "largest": float(s[0]), "smallest": float(s[-1]), "top": s[:10].tolist()}
        if self.rotation is not None:
            out["rotation"] = self.rotation.to_dict()
        return out


@torch.no_grad()
def analyze(model: Any, sigma: float | None = None, rotation: bool = False, seed: int = 0,
            **rotation_kwargs: Any) -> ReciprocalAnalysis:
    """Singular values of the model's weight matrix and their Kolmogorov-Smirnov distance to Marchenko-Pastur.

    Parameters
    ----------
    model : an RBM (anything with a ``weights`` matrix); or a weight matrix itself.
    sigma : weight std of the Marchenko-Pastur law (default: the RMS of the entries of W).
    rotation : also run the rotation test of Fig. 4 (needs binary or spin units).
    """
    from ..models import EnergyModel
    w = model if isinstance(model, (torch.Tensor, np.ndarray)) else model.weights if isinstance(model, EnergyModel) else None
    require(w is not None, f"{type(model).__name__} has no weight matrix to analyse")
    w = torch.as_tensor(w).detach()
    require(w.dim() == 2, f"the weights must be a matrix; got shape {tuple(w.shape)}")
    require(bool(torch.isfinite(w).all()), "the weight matrix contains NaN or infinite values", DomainError)
    s = torch.linalg.svdvals(w).double().cpu().numpy()
    sig = weight_sigma(w.double().cpu().numpy()) if sigma is None else float(sigma)
    if not (math.isfinite(sig) and sig > 0):
        raise DomainError(f"the weight std is {sig}: an all-zero W has no spectrum to compare with Marchenko-Pastur")
    mp = MarchenkoPastur(int(w.shape[0]), int(w.shape[1]), sig)
    ks, p = mp.ks(s)
    rot = None
    if rotation:
        from .symmetry import rotation_test
        from .transform import reciprocal_transform
        rot = rotation_test(reciprocal_transform(model), seed=seed, **rotation_kwargs)
    return ReciprocalAnalysis(s, (int(w.shape[0]), int(w.shape[1])), sig, mp, ks, p, rot)
