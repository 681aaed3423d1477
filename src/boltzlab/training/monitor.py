"""Training that watches itself: oscillation and divergence read from the per-epoch metrics.

The tracked quality is the best one at hand: the exact held-out log-likelihood where ln Z is enumerable,
else the training log-likelihood, else the pseudo-log-likelihood.  Over the last ``window`` epochs

* **oscillation**: the quality moves back and forth more than it advances: its total variation exceeds
  three times its net change plus ``tolerance`` per epoch, with at least ``window - 2`` sign changes of the
  epoch-to-epoch difference.  This is the signature of a step too long for the curvature or for the
  negative phase to follow (the learning rule is then a delayed feedback loop).  A quality that is itself a
  Monte Carlo estimate (the pseudo-log-likelihood from one random site per sample, recorded with its
  standard error) swings by its noise alone, so the per-epoch allowance is at least twice the median
  standard error over the window;
* **divergence**: the quality has fallen more than ``drop`` below its best of the run while the weight norm
  kept growing, the mark of a negative phase that no longer samples the model (Fischer & Igel, "Empirical
  analysis of the divergence of Gibbs sampling based learning algorithms for restricted Boltzmann
  machines", ICANN 2010: the log-likelihood of CD and PCD training can fall while the weights grow).

Either is reported as a warning and in the epoch's record (``diagnosis``); with ``adapt`` the learning rate
is halved as well, at most once per ``window`` epochs, since both diagnoses call for a shorter step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

QUALITIES = ("test_log_likelihood", "train_log_likelihood", "pseudo_log_likelihood")


class TrainingWarning(UserWarning):
    """Training oscillates or diverges."""


class TrainingMonitor:
    """Diagnose the curve of the per-epoch records; return the diagnosis and the learning-rate factor."""

    def __init__(self, window: int = 6, tolerance: float = 0.05, drop: float = 2.0, adapt: bool = True) -> None:
        self.window = int(window)
        self.tolerance = float(tolerance)
        self.drop = float(drop)
        self.adapt = bool(adapt)
        self._last_action = -10 ** 9

    @staticmethod
    def quality(history: list[dict[str, Any]]) -> tuple[str | None, np.ndarray]:
        """The name and values of the best tracked quality present in every record."""
        for name in QUALITIES:
            vals = [r.get(name) for r in history]
            if vals and all(v is not None for v in vals):
                return name, np.asarray(vals, dtype=float)
        return None, np.zeros(0)

    def diagnose(self, history: list[dict[str, Any]]) -> str | None:
        """``"oscillation"``, ``"divergence"`` or None, from the records so far."""
        name, q = self.quality(history)
        if name is None or len(q) < self.window:
            return None
        recent = q[-self.window:]
        d = np.diff(recent)
        turns = int((np.sign(d[1:]) * np.sign(d[:-1]) < 0).sum())
        errors = [e for r in history[-self.window:] if (e := r.get(f"{name}_stderr")) is not None and np.isfinite(e)]
        allowance = max(self.tolerance, 2 * float(np.median(errors)) if errors else 0.0)
        if np.abs(d).sum() > 3 * abs(recent[-1] - recent[0]) + allowance * len(d) and turns >= self.window - 3:
            return "oscillation"
        norms = [r.get("weight_norm") for r in history[-self.window:]]
        growing = all(n is not None for n in norms) and norms[-1] > norms[0]
        if q.max() - recent[-1] > self.drop and np.argmax(q) < len(q) - self.window // 2 and growing:
            return "divergence"
        return None

    def __call__(self, history: list[dict[str, Any]]) -> tuple[str | None, float]:
        """(diagnosis, learning-rate factor) after the latest epoch; warns when something is wrong."""
        diagnosis = self.diagnose(history)
        if diagnosis is None:
            return None, 1.0
        epoch = len(history)
        act = self.adapt and epoch - self._last_action >= self.window
        if act:
            self._last_action = epoch
        name, _ = self.quality(history)
        warnings.warn(f"epoch {epoch}: the {name.replace('_', ' ')} shows {diagnosis}"
                      + ("; halving the learning rate" if act else ""), TrainingWarning, stacklevel=2)
        return diagnosis, 0.5 if act else 1.0

    def state_dict(self) -> dict[str, Any]:
        return {"last_action": self._last_action}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._last_action = int(state["last_action"])


class MixingTracker:
    """Whether persistent chains sample the model, from one epoch of the negative phase.

    * ``sample_minus_data_log_prob``: mean ln p(v) of the chains' states minus that of training rows, at
      the end of the epoch (unnormalised, ln Z cancels).  Near zero when the model fits the data and the
      chains sample it; far below zero when the chains sit where the model puts little mass.
    * ``chain_autocorrelation`` and ``chain_autocorrelation_time``: of each chain's mean visible feature
      from update to update, centred and scaled by the mean and variance over all chains and updates (so
      that chains stuck in different modes count as correlated), the lag-1 value and the integrated time
      1 + 2 sum_t rho(t), summed while rho stays positive (Sokal, "Monte Carlo methods in statistical
      mechanics: foundations and new algorithms", Cargèse lectures 1996, eq. 2.19), in updates.
    """

    def __init__(self) -> None:
        self._series: list[torch.Tensor] = []

    @torch.no_grad()
    def observe(self, features: torch.Tensor) -> None:
        """One update: the visible features of the chains' new states, (chains, features)."""
        self._series.append(features.double().reshape(features.shape[0], -1).mean(1).cpu())

    @torch.no_grad()
    def summary(self, model=None, data: torch.Tensor | None = None, chains: torch.Tensor | None = None,
                ) -> dict[str, Any]:
        """The epoch's diagnostics (the free-energy gap when ``model``, ``data`` and ``chains`` are given);
        starts a new epoch."""
        out: dict[str, Any] = {}
        if model is not None and data is not None and chains is not None and len(data):
            out["sample_minus_data_log_prob"] = float(model.visible_free_energy(data).double().mean()
                                                      - model.visible_free_energy(chains).double().mean())
        if len(self._series) >= 3:
            x = torch.stack(self._series)  # (updates, chains)
            x = x - x.mean()
            var = float((x * x).mean())
            rho = [float((x[:-t] * x[t:]).mean()) / var if var > 0 else 0.0 for t in range(1, len(x) // 2 + 1)]
            out["chain_autocorrelation"] = rho[0]
            tau = 1.0
            for r in rho:
                if r <= 0:
                    break
                tau += 2 * r
            out["chain_autocorrelation_time"] = tau
        self._series = []
        return out
