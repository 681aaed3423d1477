"""Maximum-likelihood training of Boltzmann machines by the learning rule.

The gradient of the negative log-likelihood is <dF/dtheta>_data - <dF/dtheta>_model
(../shared/papers/energy-based-models-theory.md, eq. 11, with the hidden units summed out as in eq. 10):
the trainer differentiates the surrogate ``mean F(v_data) - mean F(v_model)`` with autograd, which gives
exactly that difference for any unit types, with the model samples held fixed.  Model samples come from
k block-Gibbs sweeps started at the data (CD-k), at persistent chains (PCD-k) or at random states (Rdm-k).
The trainer asks only the model's free energy and ``sample_chains``: for the fully visible Boltzmann
machine (``TrainConfig(model="bm")``) the free energy is the energy of eq. 12, the surrogate's gradient is
eq. 7 itself, and the chains advance by single-site Gibbs sweeps (eq. 15).

A :class:`Trainer` owns every piece of state a run needs (model, optimizer, schedule, chains, random
streams, the current epoch's permutation and position), and :meth:`Trainer.save` writes all of it, so a
run resumed from a checkpoint repeats the uninterrupted run exactly (on the CPU, same seed).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from ..errors import CheckpointError, ConfigError, BoltzlabError
from ..io import model_from_payload, model_payload
from ..models import BoltzmannMachine, make_rbm
from ..models.base import EnergyModel
from ..random import Rng
from ..checkpoint import load_payload, save_payload
from .config import TrainConfig
from .metrics import epoch_metrics

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


class TrainingDiverged(BoltzlabError):
    """Parameters became NaN or infinite."""


def data_fingerprint(data: torch.Tensor) -> str:
    return hashlib.sha256(data.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16] + \
        f":{tuple(data.shape)}"


def _build_optimizer(params: list[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)


def _build_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, total_updates: int):
    if cfg.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_decay_every, gamma=cfg.lr_decay)
    if cfg.lr_schedule == "linear":
        return torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=cfg.lr_decay,
                                                 total_iters=max(total_updates, 1))
    return None


class Trainer:
    """Train ``model`` on ``train`` data with the hyperparameters of ``config``.

    ``out_dir`` (optional) receives ``checkpoint.pt`` every ``checkpoint_every`` epochs and one JSON line
    of metrics per epoch in ``metrics.jsonl``.
    """

    def __init__(self, model: EnergyModel, train: torch.Tensor, config: TrainConfig, *,
                 test: torch.Tensor | None = None, out_dir: str | Path | None = None,
                 progress: bool = True, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.model = model
        self.config = cfg = config
        self.train = model.visible_tensor(train, "training data")
        self.test = None if test is None else model.visible_tensor(test, "test data")
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        self.on_epoch = on_epoch
        if cfg.centered and not hasattr(model, "update_offsets"):
            raise ConfigError(f"centered training is not available for {type(model).__name__}")
        n = self.train.shape[0]
        self.batches_per_epoch = math.ceil(n / cfg.batch_size)
        total = cfg.epochs * self.batches_per_epoch
        self.total_updates = min(total, cfg.max_updates) if cfg.max_updates else total
        self.rng = Rng(cfg.seed, model.device)
        self.optimizer = _build_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
        self.schedule = _build_schedule(self.optimizer, cfg, self.total_updates)
        self.chains = model.visible.random_state(cfg.chains, self.rng) if cfg.method == "pcd" else None
        self.step = 0
        self.epoch = 0
        self.perm: torch.Tensor | None = None
        self.batch_index = 0
        self.history: list[dict[str, Any]] = []
        self.fingerprint = data_fingerprint(self.train)

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, train: torch.Tensor, config: TrainConfig, **kwargs: Any) -> "Trainer":
        """A fresh model of the configured kind and unit types, visible biases from the data means."""
        if config.model == "bm":
            model = BoltzmannMachine.initialize(train, config.weight_std, config.seed,
                                                self_interaction=config.self_interaction,
                                                dtype=getattr(torch, config.dtype), device=config.device)
            return cls(model, train, config, **kwargs)
        model = make_rbm(torch.as_tensor(train).shape[1], config.n_hidden, config.visible_units,
                         config.hidden_units, weight_std=config.weight_std, seed=config.seed,
                         dtype=getattr(torch, config.dtype), device=config.device)
        trainer = cls(model, train, config, **kwargs)
        if config.init_visible_from_data:  # on the data the trainer has already checked
            model.visible.init_from_data(trainer.train)
        return trainer

    @classmethod
    def resume(cls, path: str | Path, train: torch.Tensor, *, test: torch.Tensor | None = None,
               out_dir: str | Path | None = None, epochs: int | None = None, max_updates: int | None = None,
               progress: bool = True, device: Any = None) -> "Trainer":
        """Continue a run from its checkpoint; ``epochs``/``max_updates`` may extend it."""
        payload = load_payload(path)
        if payload.get("kind") != "checkpoint":
            raise CheckpointError(f"{path}: holds a model only, not a training state; it cannot be resumed")
        st = payload["trainer"]
        cfg_dict = dict(st["config"])
        if epochs is not None:
            cfg_dict["epochs"] = epochs
        if max_updates is not None:
            cfg_dict["max_updates"] = max_updates
        if device is not None:
            cfg_dict["device"] = str(device)
        cfg = TrainConfig.from_dict(cfg_dict)
        model = model_from_payload(payload["model"], device=cfg.device)
        trainer = cls(model, train, cfg, test=test, out_dir=out_dir if out_dir is not None else Path(path).parent,
                      progress=progress)
        if trainer.fingerprint != st["data_fingerprint"]:
            raise CheckpointError(f"{path}: the training data differ from those the run started with "
                                  f"({trainer.fingerprint} vs {st['data_fingerprint']})")
        trainer._load_state(st)
        return trainer

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "step": self.step, "epoch": self.epoch,
                "perm": None if self.perm is None else self.perm.cpu(), "batch_index": self.batch_index,
                "optimizer": self.optimizer.state_dict(),
                "schedule": None if self.schedule is None else self.schedule.state_dict(),
                "rng": self.rng.get_state(), "chains": None if self.chains is None else self.chains.cpu(),
                "data_fingerprint": self.fingerprint, "history": self.history}

    def _load_state(self, st: dict[str, Any]) -> None:
        dev = self.model.device
        self.step, self.epoch, self.batch_index = st["step"], st["epoch"], st["batch_index"]
        self.perm = None if st["perm"] is None else st["perm"].to(dev)
        self.optimizer.load_state_dict(st["optimizer"])
        if self.schedule is not None and st["schedule"] is not None:
            self.schedule.load_state_dict(st["schedule"])
        self.rng.set_state(st["rng"])
        if st["chains"] is not None:
            self.chains = st["chains"].to(dev)
        self.history = list(st["history"])

    def save(self, path: str | Path, *copies: str | Path) -> None:
        """Write the whole training state atomically (to ``path`` and to any ``copies``)."""
        save_payload(path, {"kind": "checkpoint", "model": model_payload(self.model), "trainer": self._state()},
                     copies)

    # ------------------------------------------------------------------ the learning rule
    def _negative_samples(self, batch: torch.Tensor) -> torch.Tensor:
        cfg, m = self.config, self.model
        if cfg.method == "cd":
            start = batch
        elif cfg.method == "pcd":
            start = self.chains
        else:
            start = m.visible.random_state(cfg.chains, self.rng)
        v = m.sample_chains(start, cfg.k, 1.0, self.rng)
        if cfg.method == "pcd":
            self.chains = v
        return v

    def update(self, batch: torch.Tensor) -> None:
        """One parameter update from a minibatch."""
        cfg, m = self.config, self.model
        if cfg.centered:
            m.update_offsets(batch, cfg.offset_rate)
        v_model = self._negative_samples(batch)
        self.optimizer.zero_grad(set_to_none=False)
        surrogate = m.visible_free_energy(batch).mean() - m.visible_free_energy(v_model).mean()
        surrogate.backward()
        w = getattr(m, "weights", None)
        if w is not None and (cfg.l2 or cfg.l1):
            with torch.no_grad():
                w.grad.add_(w, alpha=cfg.l2).add_(torch.sign(w), alpha=cfg.l1)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        self.step += 1

    # ------------------------------------------------------------------ loop
    def _finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    def fit(self) -> list[dict[str, Any]]:
        """Train until ``epochs`` (or ``max_updates``) is reached; returns the per-epoch metrics."""
        cfg = self.config
        n = self.train.shape[0]
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._rewrite_metrics()
        bar = tqdm(total=self.total_updates, initial=min(self.step, self.total_updates), unit="upd",
                   desc="train", disable=not self.progress, dynamic_ncols=True)
        t0 = time.perf_counter()
        try:
            while self.step < self.total_updates:
                if self.perm is None:
                    self.perm = self.rng.permutation(n)
                    self.batch_index = 0
                while self.batch_index < self.batches_per_epoch and self.step < self.total_updates:
                    i = self.batch_index * cfg.batch_size
                    self.update(self.train[self.perm[i:i + cfg.batch_size]])
                    self.batch_index += 1
                    bar.update(1)
                if self.batch_index >= self.batches_per_epoch:
                    self.epoch += 1
                    self.perm = None
                    self._end_of_epoch(time.perf_counter() - t0, bar)
                elif self.step >= self.total_updates:
                    self._end_of_epoch(time.perf_counter() - t0, bar, partial=True)
        finally:
            bar.close()
        return self.history

    def _end_of_epoch(self, elapsed: float, bar: Any, partial: bool = False) -> None:
        cfg = self.config
        if not self._finite():
            raise TrainingDiverged(f"training diverged at update {self.step} (parameters became NaN or "
                                   "infinite); lower the learning rate; the last good checkpoint is kept")
        rec = {"epoch": self.epoch, "step": self.step, "partial_epoch": partial, "seconds": round(elapsed, 3),
               "lr": self.optimizer.param_groups[0]["lr"]}
        rec.update(epoch_metrics(self.model, self.train, self.test, cfg.monitor_exact_max_log2,
                                 cfg.monitor_samples, cfg.seed))
        self.history.append(rec)
        shown = {k: rec[k] for k in ("test_log_likelihood", "train_log_likelihood", "pseudo_log_likelihood")
                 if rec.get(k) is not None}
        bar.set_postfix({"epoch": self.epoch, **{k.split("_")[0] + "_ll": f"{v:.3f}" for k, v in shown.items()}})
        if self.out_dir is not None:
            with open(self.out_dir / METRICS, "a") as f:
                f.write(json.dumps(rec) + "\n")
            last = self.step >= self.total_updates
            if last or self.epoch % cfg.checkpoint_every == 0:
                kept = (self.out_dir / "checkpoints" / f"step_{self.step:08d}.pt",) if cfg.keep_checkpoints else ()
                self.save(self.out_dir / CHECKPOINT, *kept)
        if self.on_epoch is not None:
            self.on_epoch(rec)

    def _rewrite_metrics(self) -> None:
        """Make metrics.jsonl hold exactly the epochs of the restored history (drop lines of a killed run)."""
        path = self.out_dir / METRICS
        if self.history or path.exists():
            path.write_text("".join(json.dumps(r) + "\n" for r in self.history))
