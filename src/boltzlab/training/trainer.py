"""Maximum-likelihood training of every energy-based model of the toolkit by the learning rule.

The gradient of the negative log-likelihood is <dF/dtheta>_data - <dF/dtheta>_model, F the free energy of
the visible units (Ackley, Hinton & Sejnowski, Cognitive Science 9, 147 (1985)).  The trainer
differentiates the surrogate ``mean F(v_data) - model_term`` with autograd, which gives exactly that
difference for any model; the *negative phase* (:mod:`boltzlab.training.negative`) supplies
``model_term``: the mean free energy of model samples held fixed (CD-k, PCD-k, Rdm-k, or any registered
sampler) or the exact ``-ln Z(theta)``.  The trainer asks only the model's free energy, sampler and
parameters, so the fully visible Boltzmann machine, RBMs of any unit types and the scalar-field models
train in the same loop.

A :class:`Trainer` owns every piece of state a run needs (model, optimizer, schedule, negative phase,
random streams, the current epoch's permutation and position), and :meth:`Trainer.save` writes all of it,
so a run resumed from a checkpoint repeats the uninterrupted run exactly (on the CPU, same seed).
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from ..errors import CheckpointError, DataError, DomainError, ShapeError, require
from ..io import model_from_payload, model_payload, save_model
from ..models import BoltzmannMachine, make_rbm
from ..models.base import EnergyModel
from ..random import Rng
from ..data.stream import StreamedRows, spread_index, streamed_rows
from ..checkpoint import load_payload, save_payload
from .averaging import ParameterAverage
from .config import TrainConfig
from .metrics import JsonlLogger, MetricsLogger, averaged_metrics, epoch_metrics
from .monitor import TrainingMonitor
from .negative import NegativePhase

CHECKPOINT = "checkpoint.pt"
AVERAGED = "averaged.pt"
METRICS = "metrics.jsonl"
INIT_ROWS = 10_000  # rows of streamed data that set the initial visible biases (memory bound, not data size)


class TrainingDiverged(DomainError):
    """Parameters became NaN or infinite, or left the domain where the model exists."""


def data_fingerprint(data: torch.Tensor | StreamedRows) -> str:
    """Hash of the data's bytes (streamed data are hashed chunk by chunk, to the same value)."""
    digest = hashlib.sha256()
    for chunk in data.chunks() if isinstance(data, StreamedRows) else (data,):
        digest.update(chunk.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16] + f":{tuple(data.shape)}"


def data_rows(data: Any, model: EnergyModel, name: str) -> torch.Tensor | StreamedRows:
    """In-memory data as a checked tensor; a Dataset, DataLoader or memory map as rows read batch by batch."""
    rows = streamed_rows(data, dtype=model.dtype, device=model.device,
                         validate=lambda x: model.visible.validate(x, name))
    return rows if rows is not None else model.visible_tensor(data, name)


def sample_weights(weights: Any, data: torch.Tensor, name: str) -> torch.Tensor | None:
    """Validated per-sample weights scaled to mean 1 (model dtype and device), or None."""
    if weights is None:
        return None
    w = torch.as_tensor(weights).to(dtype=data.dtype, device=data.device).reshape(-1)
    if w.numel() != data.shape[0]:
        raise ShapeError(f"{name} have {w.numel()} entries for {data.shape[0]} samples")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or not float(w.sum()) > 0:
        raise DataError(f"{name} must be finite, non-negative and not all zero")
    return w / w.mean()


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
    of metrics per epoch in ``metrics.jsonl`` (``loggers`` replaces that default, e.g. with
    ``[JsonlLogger(path), TensorBoardLogger(log_dir)]``).  ``train`` and ``test`` are arrays or tensors, or data larger
    than memory: a ``torch.utils.data`` Dataset, a DataLoader (its dataset is used; the trainer draws its
    own seeded minibatches) or a memory map (:func:`boltzlab.data.open_array`), read one minibatch at a time.
    The negative phase is ``NegativePhase.registry[config.method]``; ``on_epoch(record)`` is called after
    every epoch with its metrics.
    """

    def __init__(self, model: EnergyModel, train: torch.Tensor, config: TrainConfig, *,
                 test: torch.Tensor | None = None, out_dir: str | Path | None = None,
                 progress: bool = True, on_epoch: Callable[[dict[str, Any]], None] | None = None,
                 weights: Any = None, test_weights: Any = None,
                 loggers: list[MetricsLogger] | None = None) -> None:
        self.model = model
        self.config = cfg = config
        self.train = data_rows(train, model, "training data")
        self.test = None if test is None else data_rows(test, model, "test data")
        # Per-sample weights (e.g. sequence reweighting), scaled to mean 1 so that the weighted minibatch
        # mean is an unbiased estimate of the weighted data average.
        self.weights = sample_weights(weights, self.train, "weights")
        self.test_weights = None if self.test is None else sample_weights(test_weights, self.test, "test_weights")
        self.out_dir = Path(out_dir) if out_dir is not None else None
        default = [JsonlLogger(self.out_dir / METRICS)] if self.out_dir is not None else []
        self.loggers = list(loggers) if loggers is not None else default
        self.progress = progress
        self.on_epoch = on_epoch
        n = self.train.shape[0]
        self.batches_per_epoch = self._batches_per_epoch(n)
        total = cfg.epochs * self.batches_per_epoch
        self.total_updates = min(total, cfg.max_updates) if cfg.max_updates else total
        self.rng = self._make_rng()
        self.optimizer = _build_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
        self.schedule = _build_schedule(self.optimizer, cfg, self.total_updates)
        self.negative: NegativePhase = NegativePhase.registry[cfg.method](self)
        self.average = (None if cfg.average == "none" else
                        ParameterAverage(model, cfg.average, cfg.average_decay, start=self.total_updates // 2))
        self.monitor = None if cfg.watch == "off" else TrainingMonitor(adapt=cfg.watch == "adapt")
        self.step = 0
        self.epoch = 0
        self.perm: torch.Tensor | None = None
        self.batch_index = 0
        self.history: list[dict[str, Any]] = []
        self.saved_step: int | None = None  # the update of the last checkpoint written or resumed from
        self.trajectory: list[dict[str, Any]] = []  # {"step", "state"} every cfg.save_every updates
        self.fingerprint = data_fingerprint(self.train)
        if self.weights is not None:
            self.fingerprint += ":w" + data_fingerprint(self.weights)

    @property
    def chains(self) -> torch.Tensor | None:
        """The negative phase's persistent model states (None when it keeps none)."""
        return self.negative.chains

    @chains.setter
    def chains(self, v: torch.Tensor) -> None:
        self.negative.chains = v

    # ------------------------------------------------------------------ hooks for data-parallel runs
    # (boltzlab.training.distributed.DistributedTrainer overrides them; here they describe one process)
    is_main = True

    def _make_rng(self) -> Rng:
        return Rng(self.config.seed, self.model.device)

    def _batches_per_epoch(self, n: int) -> int:
        return math.ceil(n / self.config.batch_size)

    def _local_count(self, n: int) -> int:
        return n

    def _local_rows(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _reduce_gradients(self) -> None:
        pass

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, train: torch.Tensor, config: TrainConfig, **kwargs: Any) -> "Trainer":
        """A fresh model of the configured kind and unit types, visible biases from the data means."""
        rows = streamed_rows(train)
        if config.model == "bm":
            init = train if rows is None else rows[spread_index(len(rows), INIT_ROWS)]
            model = BoltzmannMachine.initialize(init, config.weight_std, config.seed,
                                                self_interaction=config.self_interaction,
                                                dtype=getattr(torch, config.dtype), device=config.device)
            return cls(model, train, config, **kwargs)
        x = torch.as_tensor(train) if rows is None else rows
        n_states = config.n_states or (int(x.max()) + 1 if config.visible_units == "potts" else None)
        model = make_rbm(x.shape[1], config.n_hidden, config.visible_units,
                         config.hidden_units, weight_std=config.weight_std, seed=config.seed,
                         dtype=getattr(torch, config.dtype), device=config.device, n_states=n_states,
                         hidden_states=config.hidden_states, gauge=config.gauge)
        trainer = cls(model, train, config, **kwargs)
        if config.init_visible_from_data:  # on the data the trainer has already checked
            rows, weights = trainer.data_sample()
            model.visible.init_from_data(rows, weights=weights)
        model.apply_gauge_()
        return trainer

    @classmethod
    def resume(cls, path: str | Path, train: torch.Tensor, *, test: torch.Tensor | None = None,
               out_dir: str | Path | None = None, epochs: int | None = None, max_updates: int | None = None,
               progress: bool = True, device: Any = None, weights: Any = None,
               test_weights: Any = None, loggers: list[MetricsLogger] | None = None) -> "Trainer":
        """Continue a run from its checkpoint; ``epochs``/``max_updates`` may extend it (same data and weights)."""
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
                      progress=progress, weights=weights, test_weights=test_weights, loggers=loggers)
        if trainer.fingerprint != st["data_fingerprint"]:
            raise CheckpointError(f"{path}: the training data differ from those the run started with "
                                  f"({trainer.fingerprint} vs {st['data_fingerprint']})")
        trainer._load_state(st)
        return trainer

    def data_sample(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The training rows and their weights; for streamed data, ``INIT_ROWS`` rows evenly spread."""
        if not isinstance(self.train, StreamedRows):
            return self.train, self.weights
        idx = spread_index(len(self.train), INIT_ROWS)
        return self.train[idx], None if self.weights is None else self.weights[idx.to(self.weights.device)]

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "step": self.step, "epoch": self.epoch,
                "perm": None if self.perm is None else self.perm.cpu(), "batch_index": self.batch_index,
                "optimizer": self.optimizer.state_dict(),
                "schedule": None if self.schedule is None else self.schedule.state_dict(),
                "rng": self.rng.get_state(), "negative": self.negative.state_dict(),
                "data_fingerprint": self.fingerprint, "history": self.history, "trajectory": self.trajectory,
                "average": None if self.average is None else self.average.state_dict(),
                "monitor": None if self.monitor is None else self.monitor.state_dict()}

    def _load_state(self, st: dict[str, Any]) -> None:
        require("shards" not in st, "this checkpoint comes from a data-parallel run with chain shards; resume it "
                                    "with --distributed (any world size that divides its shard count)", CheckpointError)
        dev = self.model.device
        self.step, self.epoch, self.batch_index = st["step"], st["epoch"], st["batch_index"]
        self.perm = None if st["perm"] is None else st["perm"].to(dev)
        self.optimizer.load_state_dict(st["optimizer"])
        if self.schedule is not None and st["schedule"] is not None:
            self.schedule.load_state_dict(st["schedule"])
        self.rng.set_state(st["rng"])
        self.negative.load_state_dict(st["negative"])
        self.history = list(st["history"])
        self.saved_step = self.step
        self.trajectory = list(st.get("trajectory", []))
        if self.average is not None and st.get("average") is not None:
            self.average.load_state_dict(st["average"])
        if self.monitor is not None and st.get("monitor") is not None:
            self.monitor.load_state_dict(st["monitor"])

    def save(self, path: str | Path, *copies: str | Path) -> None:
        """Write the whole training state atomically (to ``path`` and to any ``copies``)."""
        payload = {"kind": "checkpoint", "model": model_payload(self.model), "trainer": self._state()}
        if self.is_main:  # every process takes part in gathering the state; one writes it
            save_payload(path, payload, copies)
        self.saved_step = self.step

    # ------------------------------------------------------------------ the learning rule
    def update(self, batch: torch.Tensor, batch_weights: torch.Tensor | None = None) -> None:
        """One parameter update from a minibatch (``batch_weights``: its sample weights, mean-1 scaled)."""
        local, local_weights, n_batch = self._begin_update(batch, batch_weights)
        self._finish_update(local, local_weights, n_batch, self.negative.model_term(local, local_weights, n_batch))

    def _begin_update(self, batch: torch.Tensor, batch_weights: torch.Tensor | None,
                      ) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """Move the centering offsets; return this process's rows of the batch, their weights, the batch size."""
        cfg, m = self.config, self.model
        if cfg.centered:
            m.update_offsets(batch, cfg.offset_rate, batch_weights)
        n_batch = batch.shape[0]
        batch = self._local_rows(batch)  # data-parallel runs: this process's rows (all of them otherwise)
        if batch_weights is not None:
            batch_weights = self._local_rows(batch_weights)
        return batch, batch_weights, n_batch

    def _finish_update(self, batch: torch.Tensor, batch_weights: torch.Tensor | None, n_batch: int,
                       model_term: torch.Tensor) -> None:
        """The learning-rule step from the data rows and the negative phase's ``model_term``."""
        cfg, m = self.config, self.model
        self.optimizer.zero_grad(set_to_none=False)
        f_data = m.visible_free_energy(batch)
        if batch_weights is not None:
            f_data = f_data * batch_weights
        # Sums over global counts: the means of the learning rule once the gradients are summed over processes.
        surrogate = f_data.sum() / n_batch - model_term
        surrogate.backward()
        self._reduce_gradients()
        w = m.weights
        if cfg.l2 or cfg.l1:
            with torch.no_grad():
                # a penalty acts on the gauge-fixed part of W only
                w.grad.add_(m.gauge_free_part(cfg.l2 * w + cfg.l1 * torch.sign(w)))
        if m.bounded_domain:
            self._guarded_step()
        else:
            self.optimizer.step()
        m.apply_gauge_()
        if self.schedule is not None:
            self.schedule.step()
        self.step += 1
        if self.average is not None:
            self.average.update(m, self.step)
        if cfg.save_every and (self.step % cfg.save_every == 0 or self.step == self.total_updates):
            self.record_model()  # and the final model, whatever the update count

    def _guarded_step(self) -> None:
        """The optimizer step for a model with a domain boundary: an update that leaves the domain is
        undone (the model keeps its last valid parameters, nothing is clipped) and training stops."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        before = [p.detach().clone() for p in params]
        self.optimizer.step()
        problem = None if self._finite() else "the parameters became NaN or infinite"
        problem = problem or self.model.domain_problem()
        if problem is not None:
            with torch.no_grad():
                for p, b in zip(params, before):
                    p.copy_(b)
            lr = self.optimizer.param_groups[0]["lr"]
            raise TrainingDiverged(f"update {self.step + 1}: the update (learning rate {lr:.3g}) would leave the "
                                   f"domain of existence ({problem}); lower the learning rate or the initial "
                                   "weight width")

    def record_model(self) -> None:
        """Append a CPU copy of the model's state at the current step to :attr:`trajectory`."""
        self.trajectory.append({"step": self.step, "state": {k: v.detach().cpu().clone()
                                                              for k, v in self.model.state_dict().items()}})

    # ------------------------------------------------------------------ loop
    def _finite(self) -> bool:
        """Every parameter finite and below 1/sqrt(eps) of the model's dtype (amax propagates NaN: one
        synchronisation for all): an energy sums ~n_v n_h such terms, and past that bound it no longer resolves
        differences of one nat (a run diverging under a far too large learning rate reaches it long before
        overflowing)."""
        bound = torch.finfo(self.model.dtype).eps ** -0.5
        return bool((torch.stack([p.detach().abs().amax() for p in self.model.parameters()]) < bound).all())

    def _last_good(self) -> str:
        path = None if self.out_dir is None else self.out_dir / CHECKPOINT
        if path is None or self.saved_step is None:
            return "no checkpoint was written"
        return f"the last good checkpoint is {path} (update {self.saved_step})"

    def fit(self) -> list[dict[str, Any]]:
        """Train until ``epochs`` (or ``max_updates``) is reached; returns the per-epoch metrics."""
        self.prepare_fit()
        bar = tqdm(total=self.total_updates, initial=min(self.step, self.total_updates), unit="upd",
                   desc="train", disable=not (self.progress and self.is_main), dynamic_ncols=True)
        t0 = time.perf_counter()
        try:
            while self.step < self.total_updates:
                self.update(*self._next_batch())
                bar.update(1)
                self._after_update(time.perf_counter() - t0, bar)
        finally:
            bar.close()
            self.finish_fit()
        return self.history

    def prepare_fit(self) -> None:
        """Before the first update of a (possibly resumed) run: the output folder, its metrics, the trajectory."""
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.is_main:
            for logger in self.loggers:
                logger.start(self.history)
        if self.config.save_every and not self.trajectory:
            self.record_model()

    def finish_fit(self) -> None:
        """After the last update (or an interruption): close the loggers."""
        if self.is_main:
            for logger in self.loggers:
                logger.close()

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next minibatch (and its weights) of the current epoch's permutation, drawn at an epoch's start."""
        if self.perm is None:
            self.perm = self.rng.permutation(self.train.shape[0])
            self.batch_index = 0
        i = self.batch_index * self.config.batch_size
        idx = self.perm[i:i + self.config.batch_size]
        return self.train[idx], None if self.weights is None else self.weights[idx]

    def _after_update(self, elapsed: float, bar: Any) -> None:
        """Advance the position in the epoch; close the epoch (metrics, checkpoint) at its end or the run's."""
        self.batch_index += 1
        if self.batch_index >= self.batches_per_epoch:
            self.epoch += 1
            self.perm = None
            self._end_of_epoch(elapsed, bar)
        elif self.step >= self.total_updates:
            self._end_of_epoch(elapsed, bar, partial=True)

    def _end_of_epoch(self, elapsed: float, bar: Any, partial: bool = False) -> None:
        cfg = self.config
        if not self.model.bounded_domain:  # (models with a domain boundary are checked at every update)
            if not self._finite():
                raise TrainingDiverged(f"training diverged at update {self.step} (parameters became NaN, infinite "
                                       "or too large to resolve energies); lower the learning rate; "
                                       f"{self._last_good()}")
            problem = self.model.domain_problem()
            if problem is not None:
                raise TrainingDiverged(f"training left the models that exist at update {self.step} ({problem}); "
                                       f"lower the learning rate; {self._last_good()}")
        rec = {"epoch": self.epoch, "step": self.step, "partial_epoch": partial, "seconds": round(elapsed, 3),
               "lr": self.optimizer.param_groups[0]["lr"]}
        if cfg.monitor:
            rec.update(epoch_metrics(self.model, self.train, self.test, cfg.monitor_exact_max_log2,
                                     cfg.monitor_samples, cfg.seed, self.weights, self.test_weights))
            if self.average is not None:
                rec.update(averaged_metrics(self.average.model, self.test, cfg.monitor_exact_max_log2,
                                            self.test_weights))
        rec.update(self.negative.diagnostics())
        self.history.append(rec)
        if self.monitor is not None:
            rec["diagnosis"], factor = self.monitor(self.history)
            for group in self.optimizer.param_groups:
                group["lr"] *= factor
        shown = {k: rec[k] for k in ("test_log_likelihood", "train_log_likelihood", "pseudo_log_likelihood")
                 if rec.get(k) is not None}
        bar.set_postfix({"epoch": self.epoch, **{k.split("_")[0] + "_ll": f"{v:.3f}" for k, v in shown.items()}})
        if self.is_main:
            for logger in self.loggers:
                logger.log(rec)
        if self.out_dir is not None:
            last = self.step >= self.total_updates
            if last or self.epoch % cfg.checkpoint_every == 0:
                kept = (self.out_dir / "checkpoints" / f"step_{self.step:08d}.pt",) if cfg.keep_checkpoints else ()
                self.save(self.out_dir / CHECKPOINT, *kept)
                if self.average is not None and self.is_main:
                    save_model(self.average.model, self.out_dir / AVERAGED)
        if self.on_epoch is not None:
            self.on_epoch(rec)
