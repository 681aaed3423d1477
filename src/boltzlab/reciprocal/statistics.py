"""Statistics of reciprocal variables (Toledo-Marin et al., arXiv:2503.21536 (2025), eq. 51 and Fig. 3e, 5).

Reciprocal variables are projections x = U^T v, y = V^T h.  Under the reference measure of the paper's
section 4 (every unit uniform over its two values {lo, hi}, i.e. ``layer.random_state``), each x_i is a
sum of independent two-valued terms, so its cumulants are exact:

    mean   mu_x = (lo + hi)/2 sum_j U_ji                  (eq. 51a; 1/2 sum_j U_ji for binary units)
    std    sigma_x = (hi - lo)/2 ||U_:i|| = (hi - lo)/2     (eq. 51c; 1/2 for binary units)
    kurtosis (Pearson) 3 - 2 sum_j U_ji^4                   (4th cumulant of a +-c coin: -2 c^4)

and likewise for y with V.  Eq. 51 therefore holds exactly (not only as N, M -> infinity) for random
states, for trained and untrained models alike; it does not hold for data or Gibbs samples, whose means
and spreads are what training moves (:func:`compare_to_reference` measures by how much).

Gaussianity (Fig. 3e).  For a Haar-distributed unit vector in R^M, E[sum_j V_ji^4] = 3 / (M + 2), so the
expected kurtosis of y_i is 3 - 6/(M + 2): linear in 1/(M + 2) and tending to the Gaussian 3 as M grows,
whatever N is.  :func:`kurtosis_vs_hidden` measures it by Monte Carlo as in the paper and compares it with
the exact value of each sampled V and with the Haar expectation.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from scipy import stats

from ..errors import require
from ..random import Rng
from .transform import ReciprocalTransform


def exact_kurtosis(columns: torch.Tensor) -> torch.Tensor:
    """Pearson kurtosis 3 - 2 sum_j Q_ji^4 of q_i = Q^T s for s uniform on a two-valued cube (unit columns)."""
    c = columns.double()
    return 3.0 - 2.0 * (c ** 4).sum(0) / (c ** 2).sum(0) ** 2


def haar_kurtosis(n: int) -> float:
    """E[3 - 2 sum_j q_j^4] for q uniform on the unit sphere of R^n: 3 - 6/(n + 2)."""
    return 3.0 - 6.0 / (n + 2.0)


@torch.no_grad()
def power_sums(columns: torch.Tensor, layer: Any, n_samples: int, rng: Rng, chunk: int = 4096,
               centre: torch.Tensor | None = None) -> torch.Tensor:
    """Sums of (q - centre)^k, k = 1..4, over ``n_samples`` random states of ``layer``; shape (4, n_cols).

    Accumulated in float64 chunk by chunk, so that 10^5 samples of 2,000 modes fit in memory.
    """
    sums = torch.zeros(4, columns.shape[1], dtype=torch.float64, device=columns.device)
    c = torch.zeros(columns.shape[1], dtype=torch.float64, device=columns.device) if centre is None else centre.double()
    done = 0
    while done < n_samples:
        n = min(chunk, n_samples - done)
        q = (layer.random_state(n, rng).to(columns.dtype) @ columns).double() - c
        p = q.clone()
        for k in range(4):
            sums[k] += p.sum(0)
            if k < 3:
                p.mul_(q)
        done += n
    return sums


def moments_from_sums(sums: torch.Tensor, n: int) -> dict[str, np.ndarray]:
    """Mean offset, variance and Pearson kurtosis (the biased estimators scipy.stats uses) from power sums."""
    s1, s2, s3, s4 = (sums[k].cpu().numpy() / n for k in range(4))
    m2 = s2 - s1 ** 2
    m4 = s4 - 4 * s1 * s3 + 6 * s1 ** 2 * s2 - 3 * s1 ** 4
    return {"mean_offset": s1, "variance": m2, "kurtosis": m4 / m2 ** 2}


def describe(values: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per-column mean, std (ddof 1), skewness and Pearson kurtosis of a sample (scipy.stats.describe)."""
    x = values.detach().double().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    d = stats.describe(x, axis=0)
    return {"mean": np.asarray(d.mean), "std": np.sqrt(np.asarray(d.variance)),
            "skewness": np.asarray(d.skewness), "kurtosis": np.asarray(d.kurtosis) + 3.0, "n": int(d.nobs)}


def compare_to_reference(t: ReciprocalTransform, x: torch.Tensor, y: torch.Tensor,
                         modes: Sequence[int] | None = None) -> dict[str, Any]:
    """Means and stds of sampled x_i, y_i against eq. 51, per mode (0-based indices ``modes``).

    Returns per mode the sample moments, the eq. 51 values and the z-score of the sample mean
    (mean - mu) / (sigma / sqrt n): for random states |z| stays below ~4 for every mode; data and Gibbs
    samples of a trained model leave it by orders of magnitude.
    """
    ref = t.reference_moments()
    modes = list(range(t.n_modes)) if modes is None else [int(i) for i in modes]
    out: dict[str, Any] = {"modes": modes}
    for name, vals, mu, sd in (("x", x, ref["mu_x"], ref["sigma_x"]), ("y", y, ref["mu_y"], ref["sigma_y"])):
        d = describe(vals[:, modes])
        mu_i, sd_i = mu[modes].double().cpu().numpy(), sd[modes].double().cpu().numpy()
        out[name] = {"mean": d["mean"], "std": d["std"], "kurtosis": d["kurtosis"], "mu_eq51": mu_i,
                     "sigma_eq51": sd_i, "z_mean": (d["mean"] - mu_i) / (sd_i / np.sqrt(d["n"])),
                     "std_ratio": d["std"] / sd_i, "n": d["n"]}
    return out


@torch.no_grad()
def kurtosis_vs_hidden(n_visible: int, hidden_sizes: Sequence[int], sigma: float = 0.01, n_samples: int = 20_000,
                       seed: int = 0, dtype: torch.dtype = torch.float32, device: Any = None,
                       progress: bool = False) -> dict[str, Any]:
    """Kurtosis of y_i = (V^T h)_i over random hidden states for fresh RBMs (Fig. 3e).

    For every M in ``hidden_sizes`` a fresh ``n_visible`` x M RBM (W ~ N(0, sigma^2), seed ``seed``) is
    drawn; the modes with non-zero singular values (the first min(N, M)) are projected from ``n_samples``
    uniformly random hidden states.  Per M: the mean and std over modes of the Monte Carlo kurtosis, the
    exact kurtosis of the drawn V (mean over modes) and the Haar expectation 3 - 6/(M + 2).  A straight
    line in 1/M through the Monte Carlo means is extrapolated to M = infinity (the paper's blue curve).
    """
    from tqdm.auto import tqdm

    from ..models import make_rbm
    require(hidden_sizes and min(hidden_sizes) >= 2, "kurtosis_vs_hidden needs hidden sizes >= 2")
    require(n_samples >= 10, f"n_samples must be >= 10; got {n_samples}")
    rows = []
    for m in tqdm(list(hidden_sizes), desc="kurtosis", disable=not progress):
        model = make_rbm(n_visible, int(m), weight_std=sigma, seed=seed, dtype=dtype, device=device)
        _, s, vh = torch.linalg.svd(model.weights.detach(), full_matrices=True)
        k = int((s > 0).sum())
        cols = vh.transpose(0, 1)[:, :k].contiguous()
        centre = 0.5 * cols.sum(0)
        sums = power_sums(cols, model.hidden, n_samples, Rng(seed + 1, model.device), centre=centre)
        mc = moments_from_sums(sums, n_samples)["kurtosis"]
        exact = exact_kurtosis(cols).cpu().numpy()
        rows.append({"n_hidden": int(m), "modes": k, "kurtosis_mc_mean": float(mc.mean()),
                     "kurtosis_mc_std": float(mc.std()), "kurtosis_exact_mean": float(exact.mean()),
                     "kurtosis_haar": haar_kurtosis(int(m))})
    inv = np.array([1.0 / r["n_hidden"] for r in rows])
    mc_means = np.array([r["kurtosis_mc_mean"] for r in rows])
    fit = np.polyfit(inv, mc_means, 1) if len(rows) >= 2 else np.array([np.nan, np.nan])
    return {"n_visible": int(n_visible), "sigma": float(sigma), "n_samples": int(n_samples), "seed": int(seed),
            "rows": rows, "fit_slope_per_inverse_m": float(fit[0]), "fit_intercept_m_infinity": float(fit[1])}
