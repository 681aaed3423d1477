"""Where training of the scalar-field RBM ends (Aarts, Lucini, Park, Phys. Rev. D 109, 034521 (2024)): the
learnt spectrum (eq. 33, 84) and the model at the fixed point for a data set's two-point function (eq. 13, 84,
85)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .model import ScalarFieldRBM


def expected_spectrum(kappa: Any, mu2: float, n_hidden: int) -> np.ndarray:
    """What training converges to (eq. 33, 84, Sec. V C-D): the N_h smallest kappa below mu^2 are learnt,
    every other eigenvalue sits at mu^2; ascending."""
    kap = np.sort(np.asarray(kappa, dtype=float))
    out = np.full_like(kap, float(mu2))
    n = min(int(n_hidden), len(kap))
    out[:n] = np.minimum(kap[:n], mu2)
    return np.sort(out)


def data_spectrum(second_moment: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of <phi phi^T> (eq. 85): 1/kappa_a."""
    c, o = torch.linalg.eigh(torch.as_tensor(second_moment, dtype=torch.float64))
    return c.flip(0).clamp_min(0).numpy(), o.flip(1).numpy()


def fixed_point_model(second_moment: torch.Tensor, mu2: float, n_hidden: int, sigma_h2: float = 1.0
                      ) -> ScalarFieldRBM:
    """The RBM at the fixed point of training (eq. 13 restricted to N_h modes, eq. 84): W = O_n sqrt((mu^2 -
    kappa_n)_+ / sigma_h^2) over the N_h smallest kappa = 1/c of the data's two-point function."""
    c, o = data_spectrum(second_moment)
    nv = len(c)
    n = int(n_hidden)
    kappa = np.where(c[:n] > 0, 1.0 / np.maximum(c[:n], 1e-300), np.inf)
    s = np.sqrt(np.clip(mu2 - kappa, 0.0, None) / sigma_h2)
    w = o[:, :n] * s
    return ScalarFieldRBM(nv, n, mu2=mu2, sigma_h2=sigma_h2, weights=torch.as_tensor(w), dtype=torch.float64)
