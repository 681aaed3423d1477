"""Per-epoch training monitors (exact log-likelihood, pseudo-log-likelihood, reconstruction error, norms) and
the loggers that receive them: :class:`JsonlLogger` (the default, ``metrics.jsonl``) and
:class:`TensorBoardLogger` (with the optional ``tensorboard`` package)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError, IntractableError
from ..partition.exact import _float64_copy, exact_log_prob, exact_log_z
from ..partition.pseudolikelihood import pseudo_log_likelihood
from ..random import Rng


def _mean(x: torch.Tensor, weights: torch.Tensor | None) -> float:
    """Mean of x, weighted by ``weights`` when given (sequence weights enter every data average)."""
    if weights is None:
        return float(x.mean())
    w = weights.to(x)
    return float((w * x).sum() / w.sum())


def _stderr(x: torch.Tensor, weights: torch.Tensor | None) -> float:
    """Standard error of :func:`_mean` (weighted: with Kish's effective sample size (sum w)^2 / sum w^2)."""
    if x.numel() < 2:
        return float("nan")
    w = torch.ones_like(x) if weights is None else weights.to(x)
    mean = (w * x).sum() / w.sum()
    var = (w * (x - mean) ** 2).sum() / w.sum()
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    return float((var / (n_eff - 1).clamp(min=1)).sqrt())


@torch.no_grad()
def reconstruction_error(model, v: torch.Tensor, rng: Rng) -> float:
    """Mean squared difference per unit between v and E[phi(v) | h], h ~ p(h | v)."""
    h = model.sample_hidden(v, 1.0, rng)
    recon = model.mean_visible(h)
    return float(((model.visible.features(v) - recon) ** 2).mean())


def weight_norms(model) -> dict[str, float]:
    w = model.weights.detach()
    return {"weight_norm": float(w.norm()), "weight_max_abs": float(w.abs().max()),
            "weight_mean_abs": float(w.abs().mean())}


@torch.no_grad()
def averaged_metrics(model, test: torch.Tensor | None, max_log2: float,
                     test_weights: torch.Tensor | None = None) -> dict[str, Any]:
    """The exact held-out log-likelihood of the parameter average, where ln Z is enumerable."""
    if test is None:
        return {}
    try:
        log_z = exact_log_z(model, max_log2_states=max_log2)
    except IntractableError:
        return {}
    value = _mean(exact_log_prob(_float64_copy(model), test, log_z=log_z), test_weights)
    return {"test_log_likelihood_averaged": value if math.isfinite(value) else None}


@torch.no_grad()
def epoch_metrics(model, train: torch.Tensor, test: torch.Tensor | None, max_log2: float,
                  n_monitor: int, seed: int, train_weights: torch.Tensor | None = None,
                  test_weights: torch.Tensor | None = None) -> dict[str, Any]:
    """The numbers written to metrics.jsonl after each epoch (weighted averages when weights are given)."""
    out: dict[str, Any] = {}
    sub = train[:n_monitor]
    sub_w = None if train_weights is None else train_weights[:n_monitor]
    try:
        log_z = exact_log_z(model, max_log2_states=max_log2)
        m64 = _float64_copy(model)
        out["log_z"] = log_z
        out["train_log_likelihood"] = _mean(exact_log_prob(m64, sub, log_z=log_z), sub_w)
        if test is not None:
            rows = test if isinstance(test, torch.Tensor) else test[:]  # streamed rows: read them (small model)
            out["test_log_likelihood"] = _mean(exact_log_prob(m64, rows, log_z=log_z), test_weights)
    except IntractableError:
        pass
    if model.visible.discrete and sub.shape[0]:  # one random site per sample, rescaled by n_visible
        per = pseudo_log_likelihood(model, sub, sites=1, seed=seed, reduction="none")
        out["pseudo_log_likelihood"] = _mean(per, sub_w)
        out["pseudo_log_likelihood_stderr"] = _stderr(per, sub_w)
    if model.n_hidden:  # a fully visible model has nothing to reconstruct through
        out["reconstruction_error"] = reconstruction_error(model, sub, Rng(seed, sub.device))
    out.update(weight_norms(model))
    for k, val in out.items():
        if isinstance(val, float) and not math.isfinite(val):
            out[k] = None
    return out


# ---------------------------------------------------------------------------- loggers

class MetricsLogger:
    """Where the per-epoch metrics go.  A logger receives :meth:`start` once before the first update of a
    (possibly resumed) run with the epochs already done, :meth:`log` after every epoch, :meth:`close` at
    the end.  Subclass it (or pass any object with these three methods) to send metrics elsewhere."""

    def start(self, history: list[dict[str, Any]]) -> None:
        """Called before training with the records of the epochs already done (empty for a new run)."""

    def log(self, record: dict[str, Any]) -> None:
        """One epoch's record: ``epoch``, ``step``, ``seconds``, ``lr`` and the monitors of :func:`epoch_metrics`."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release what the logger holds."""


class JsonlLogger(MetricsLogger):
    """One JSON object per line and epoch (the default: ``OUT/metrics.jsonl``).

    :meth:`start` rewrites the file to hold exactly the restored epochs, so that a run resumed from a
    checkpoint drops the lines a killed run wrote after that checkpoint.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def start(self, history: list[dict[str, Any]]) -> None:
        if history or self.path.exists():
            self.path.write_text("".join(json.dumps(r) + "\n" for r in history))

    def log(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


class TensorBoardLogger(MetricsLogger):
    """Every numeric metric as a TensorBoard scalar ``train/<name>`` at the record's update ``step``.

    Needs the optional ``tensorboard`` package (``pip install 'boltzlab[tensorboard]'``); view with
    ``tensorboard --logdir DIR``.
    """

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("TensorBoard logging needs the tensorboard package: "
                              "pip install 'boltzlab[tensorboard]'") from None
        self.log_dir = Path(log_dir)
        self._writer_class = SummaryWriter
        self.writer = None

    def start(self, history: list[dict[str, Any]]) -> None:
        # a resumed run discards events after its last restored step
        step = history[-1]["step"] + 1 if history else None
        self.writer = self._writer_class(log_dir=str(self.log_dir), purge_step=step)

    def log(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            self.start([])
        for key, value in record.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("step", "epoch"):
                self.writer.add_scalar(f"train/{key}", value, record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
