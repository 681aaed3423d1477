"""Replica studies: several training runs per hidden-layer size, evaluated with AIS and reverse AIS (Fig. 1).

Toledo-Marin et al., arXiv:2503.21536 (2025), section 2 and Fig. 1: five replicas of MNIST RBMs with 500, 784,
1200 and 3000 hidden units, the log-likelihood against training time from AIS and reverse AIS (a lower and
an upper estimate of ln Z, hence an upper and a lower estimate of the log-likelihood), averaged over the
replicas with the standard deviation as error bar.

A study is described by one TOML file (``examples/replica-study.toml`` at CPU scale,
``examples/replica-study-paper.toml`` at the paper's scale for a GPU)::

    [study]                     # the grid
    hidden = [100, 500]         # hidden-layer sizes
    replicas = 3                # training runs per size (seeds seed + 1000 * size_index + replica)
    seed = 0
    out = "runs/replica-study"
    device = "cpu"
    threads = 1                 # torch CPU threads (omit for torch's default; 1 is fastest on shared cores)

    [data]
    path = "../shared/data/mnist"   # a file or an MNIST directory (relative paths: to the working directory)
    train_split = "test"            # which MNIST split the training rows come from ("train" or "test")
    train_rows = "0:8000"
    test_split = "test"
    test_rows = "8000:10000"
    binarize = "threshold"          # or "stochastic"

    [train]                     # any boltzlab.training.TrainConfig option except n_hidden and seed
    method = "pcd"
    epochs = 4

    [evaluate]
    every_epochs = 2            # evaluation points: the initial model, then every this many epochs and the end
    ais_runs = 64
    ais_betas = 1000
    rais_runs = 64
    schedule = "sm08"
    rotation_test = true        # also the Jensen-Shannon rotation test (Fig. 4) at every evaluation point

Each run keeps its checkpoints (``OUT/M{size}/replica{r}/checkpoints/step_*.pt``), so every
``boltzlab reciprocal`` command applies to them afterwards.  Test log-likelihoods use
``bl.ais_log_z(model, data=train)`` (base rate of the training data) and
``bl.rais_log_z(model, test, base_data=train)`` (RAISE from held-out data) with ``bl.log_likelihood``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ...checkpoint import atomic_write_json
from ...errors import ConfigError, require
from ...training import TrainConfig

STUDY_KEYS = {"hidden", "replicas", "seed", "out", "device", "threads"}
DATA_KEYS = {"path", "train_split", "train_rows", "test_split", "test_rows", "binarize"}
EVAL_KEYS = {"every_epochs", "ais_runs", "ais_betas", "rais_runs", "schedule", "rotation_test", "null_draws"}


# The CPU-scale study of examples/replica-study.toml (tests check that the two agree).
CPU_STUDY: dict[str, Any] = {
    "study": {"hidden": [100, 500], "replicas": 3, "seed": 0, "out": "runs/replica-study", "device": "cpu",
              "threads": 1},
    "data": {"path": "../shared/data/mnist", "train_split": "test", "train_rows": "0:8000", "test_split": "test",
             "test_rows": "8000:10000", "binarize": "threshold"},
    "train": {"method": "pcd", "k": 1, "epochs": 4, "batch_size": 100, "lr": 0.05, "momentum": 0.5,
              "weight_std": 0.01, "monitor_samples": 500},
    "evaluate": {"every_epochs": 2, "ais_runs": 64, "ais_betas": 1000, "rais_runs": 64, "schedule": "sm08",
                 "rotation_test": True, "null_draws": 3},
}


def _rows(text: str, name: str) -> slice:
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, stop = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise ConfigError(f"{name} = {text!r} is not of the form 'START:STOP' (e.g. '0:8000' or '8000:')") from None
    return slice(start, stop)


@dataclass
class ReplicaStudy:
    """A grid of training runs (hidden sizes x replicas) and how to evaluate them; see the module docstring."""

    hidden: list[int]
    replicas: int = 3
    seed: int = 0
    out: str = "runs/replica-study"
    device: str = "cpu"
    threads: int | None = None
    data: dict[str, Any] = field(default_factory=lambda: {"path": "../shared/data/mnist", "train_split": "test",
                                                          "train_rows": "0:8000", "test_split": "test",
                                                          "test_rows": "8000:10000", "binarize": "threshold"})
    train: dict[str, Any] = field(default_factory=dict)
    every_epochs: int = 1
    ais_runs: int = 100
    ais_betas: int = 1000
    rais_runs: int = 100
    schedule: str = "sm08"
    rotation_test: bool = True
    null_draws: int = 3

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        require(isinstance(self.hidden, list) and len(self.hidden) > 0
             and all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in self.hidden),
             f"study.hidden must be a non-empty list of positive integers; got {self.hidden!r}")
        for name in ("replicas", "every_epochs", "ais_runs", "ais_betas", "rais_runs"):
            val = getattr(self, name)
            require(isinstance(val, int) and not isinstance(val, bool) and val >= 1,
                 f"{name} must be an integer >= 1; got {val!r}")
        require(self.threads is None or (isinstance(self.threads, int) and self.threads >= 1),
             f"threads must be an integer >= 1; got {self.threads!r}")
        require(self.ais_betas >= 2, f"ais_betas must be >= 2; got {self.ais_betas}")
        require(isinstance(self.null_draws, int) and self.null_draws >= 2, f"null_draws must be >= 2; got {self.null_draws!r}")
        from ...partition.schedules import SCHEDULES
        require(self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}")
        unknown = sorted(set(self.data) - DATA_KEYS)
        require(not unknown, f"unknown [data] option(s): {', '.join(unknown)}")
        require(bool(self.data.get("path")), "[data] needs a path (a file or an MNIST directory)")
        require(self.data.get("binarize", "threshold") in ("threshold", "stochastic"),
             f"[data] binarize must be 'threshold' or 'stochastic'; got {self.data.get('binarize')!r}")
        for key in ("train_split", "test_split"):
            require(self.data.get(key, "test") in ("train", "test"), f"[data] {key} must be 'train' or 'test'")
        _rows(self.data.get("train_rows", ":"), "train_rows")
        _rows(self.data.get("test_rows", ":"), "test_rows")
        for key in ("n_hidden", "seed"):
            require(key not in self.train, f"[train] must not set {key}: the study sets it ([study] hidden, seed)")
        if "device" in self.train:
            require(self.train["device"] == self.device, "set the device in [study], not in [train]")
        self.config_for(self.hidden[0], 0)  # the training options must make a valid TrainConfig

    def config_for(self, n_hidden: int, seed: int) -> TrainConfig:
        opts = {**self.train, "n_hidden": int(n_hidden), "seed": int(seed), "device": self.device,
                "keep_checkpoints": True, "checkpoint_every": int(self.every_epochs)}
        return TrainConfig.from_dict(opts)

    def seed_for(self, size_index: int, replica: int) -> int:
        return int(self.seed) + 1000 * size_index + replica

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def study_from_dict(raw: dict[str, Any]) -> ReplicaStudy:
    """Build a :class:`ReplicaStudy` from the tables of a study file (unknown keys are an error)."""
    unknown = sorted(set(raw) - {"study", "data", "train", "evaluate"})
    if unknown:
        raise ConfigError(f"unknown table(s) in the study file: {', '.join(unknown)} "
                          "(expected [study], [data], [train], [evaluate])")
    study = {k.replace("-", "_"): v for k, v in raw.get("study", {}).items()}
    evaluate = {k.replace("-", "_"): v for k, v in raw.get("evaluate", {}).items()}
    for table, keys, given in (("study", STUDY_KEYS, study), ("evaluate", EVAL_KEYS, evaluate)):
        bad = sorted(set(given) - keys)
        if bad:
            raise ConfigError(f"unknown [{table}] option(s): {', '.join(bad)}")
    if "hidden" not in study:
        raise ConfigError("[study] needs hidden = [sizes...]")
    data = {**ReplicaStudy.__dataclass_fields__["data"].default_factory(),
            **{k.replace("-", "_"): v for k, v in raw.get("data", {}).items()}}
    train = {k.replace("-", "_"): v for k, v in raw.get("train", {}).items()}
    try:
        return ReplicaStudy(**study, **evaluate, data=data, train=train)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def load_study(path: str | Path) -> ReplicaStudy:
    """Read a study from a TOML file."""
    from ...io import read_toml
    return study_from_dict(read_toml(path, "study file"))


def load_study_data(study: ReplicaStudy) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) bits as float32 arrays, per the [data] table."""
    from ...data import binarize, load_dataset
    from ...errors import DataError
    d = study.data
    method = d.get("binarize", "threshold")

    def part(split: str, rows: str, name: str, seed: int) -> np.ndarray:
        x = load_dataset(d["path"], key=split)[_rows(rows, name)]
        if x.shape[0] == 0:
            raise DataError(f"{d['path']}: {name} = {rows!r} selects no rows")
        if not np.isin(x, (0, 1)).all():
            x = binarize(x, method=method, seed=seed)
        return x.astype(np.float32)

    train = part(d.get("train_split", "test"), d.get("train_rows", ":"), "train_rows", 0)
    test = part(d.get("test_split", "test"), d.get("test_rows", ":"), "test_rows", 1)
    if train.shape[1] != test.shape[1]:
        raise DataError(f"training and test rows have {train.shape[1]} and {test.shape[1]} values")
    return train, test


@torch.no_grad()
def evaluate_point(model: Any, train: torch.Tensor, test: torch.Tensor, study: ReplicaStudy, seed: int) -> dict[str, Any]:
    """Test log-likelihood from AIS and reverse AIS, the leading singular values and the rotation test."""
    from ...partition import ais_log_z, log_likelihood, rais_log_z
    from ...reciprocal.analysis import analyze
    m = copy.deepcopy(model)
    for p in m.parameters():
        p.requires_grad_(False)
    a = ais_log_z(m, study.ais_runs, study.ais_betas, seed=seed, schedule=study.schedule, data=train)
    r = rais_log_z(m, test, study.rais_runs, study.ais_betas, seed=seed + 1, schedule=study.schedule, base_data=train)
    ll_a, se_a = log_likelihood(m, test, a)
    ll_r, se_r = log_likelihood(m, test, r)
    rec = {"log_z_ais": a.log_z, "log_z_ais_stderr": a.stderr, "log_z_rais": r.log_z, "log_z_rais_stderr": r.stderr,
           "ll_ais": ll_a, "ll_ais_stderr": se_a, "ll_rais": ll_r, "ll_rais_stderr": se_r,
           "ll_train_ais": log_likelihood(m, train, a)[0]}
    res = analyze(m, rotation=study.rotation_test, seed=seed, null_draws=study.null_draws)
    rec.update(singular_values_top=res.singular_values[:5].tolist(), mp_ks=res.mp_ks, sigma=res.sigma)
    if res.rotation is not None:
        rec.update(js=res.rotation.js, js_null=res.rotation.js_null_mean, symmetry_broken=res.rotation.broken)
    return rec


def run_study(study: ReplicaStudy, out: str | Path | None = None, progress: bool = True,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train and evaluate every (size, replica) of the study; write results.json and the plots into ``out``."""
    out = Path(out or study.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    if study.threads:
        torch.set_num_threads(int(study.threads))
    try:
        return _run_study(study, out, progress, log)
    finally:
        torch.set_num_threads(threads)


def _run_study(study: ReplicaStudy, out: Path, progress: bool, log: Callable[[str], None] | None) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from ...training import Trainer
    from ...training.replicas import ReplicaTrainer
    t0 = time.perf_counter()
    train_np, test_np = load_study_data(study)
    train, test = torch.as_tensor(train_np), torch.as_tensor(test_np)
    runs = []
    n_evals = 1 + math.ceil(study.config_for(study.hidden[0], 0).epochs / study.every_epochs)
    bar = tqdm(total=len(study.hidden) * study.replicas * n_evals, desc="replica study", unit="eval",
               disable=not progress, dynamic_ncols=True)
    try:
        for si, size in enumerate(study.hidden):
            # The replicas of one size train together: one batched Gibbs computation per update, each
            # replica on exactly its separate trajectory (boltzlab.training.replicas).
            trainers, group = [], []
            for rep in range(study.replicas):
                seed = study.seed_for(si, rep)
                cfg = study.config_for(size, seed)
                run_dir = out / f"M{size}" / f"replica{rep}"
                trainer = Trainer.create(train, cfg, test=test, out_dir=run_dir, progress=False)
                evals: list[dict[str, Any]] = []

                def record(epoch: int, step: int, _trainer=trainer, _evals=evals, _seed=seed, _rep=rep) -> None:
                    rec = {"epoch": epoch, "step": step}
                    rec.update(evaluate_point(_trainer.model, train, test, study, _seed * 7 + epoch))
                    _evals.append(rec)
                    bar.update(1)
                    bar.set_postfix({"M": size, "rep": _rep, "ll": f"{rec['ll_ais']:.1f}"})

                record(0, 0)

                def on_epoch(rec: dict[str, Any], _trainer=trainer, _record=record) -> None:
                    last = _trainer.step >= _trainer.total_updates
                    if rec["epoch"] % study.every_epochs == 0 or last:
                        _record(rec["epoch"], rec["step"])

                trainer.on_epoch = on_epoch
                trainers.append(trainer)
                group.append({"hidden": size, "replica": rep, "seed": seed, "dir": str(run_dir), "evals": evals})
            ReplicaTrainer(trainers, progress=False).fit()
            for run in group:
                runs.append(run)
                if log:
                    last = run["evals"][-1]
                    log(f"M={size} replica {run['replica']}: test LL {last['ll_rais']:.2f} .. {last['ll_ais']:.2f} "
                        f"after {last['step']} updates")
    finally:
        bar.close()
    result = {"study": study.to_dict(), "n_visible": int(train.shape[1]), "n_train": int(train.shape[0]),
              "n_test": int(test.shape[0]),
              "runs": runs, "summary": summarise(runs), "seconds": round(time.perf_counter() - t0, 1)}
    result["plots"] = plot_study(result, out)
    atomic_write_json(out / "results.json", result)
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per hidden size and evaluation point: mean and std over replicas of every scalar recorded."""
    out: dict[str, Any] = {}
    for size in sorted({r["hidden"] for r in runs}):
        reps = [r["evals"] for r in runs if r["hidden"] == size]
        n = min(len(e) for e in reps)
        entry: dict[str, Any] = {"replicas": len(reps), "step": [reps[0][i]["step"] for i in range(n)],
                                 "epoch": [reps[0][i]["epoch"] for i in range(n)]}
        for key in ("ll_ais", "ll_rais", "ll_train_ais", "log_z_ais", "log_z_rais", "js", "js_null", "mp_ks"):
            if key in reps[0][0]:
                vals = np.array([[e[i][key] for i in range(n)] for e in reps], dtype=float)
                entry[key + "_mean"] = vals.mean(0).tolist()
                entry[key + "_std"] = (vals.std(0, ddof=1) if len(reps) > 1 else np.zeros(n)).tolist()
        top = np.array([[e[i]["singular_values_top"][0] for i in range(n)] for e in reps])
        entry["lambda_1_mean"] = top.mean(0).tolist()
        out[str(size)] = entry
    return out


def plot_study(result: dict[str, Any], out: Path) -> list[str]:
    """Fig. 1 (log-likelihood vs updates, error bars over replicas), Fig. 4 (JS vs updates), spectra."""
    from ...io import load_model
    from ...plots import save_figure, subplots
    from ...reciprocal.spectrum import MarchenkoPastur
    summ = result["summary"]
    n_rep = result["study"]["replicas"]
    paths = []
    fig, ax = subplots(figsize=(7, 4.5))
    for i, (size, e) in enumerate(summ.items()):
        col = f"C{i}"
        ax.errorbar(e["step"], e["ll_ais_mean"], e["ll_ais_std"], color=col, marker="o", capsize=3,
                    label=f"M = {size}, AIS")
        ax.errorbar(e["step"], e["ll_rais_mean"], e["ll_rais_std"], color=col, marker="s", ls="--", capsize=3,
                    mfc="none", label=f"M = {size}, reverse AIS")
    ax.set_xlabel("parameter updates")
    ax.set_ylabel("test log-likelihood (nats per image)")
    ax.set_title(f"mean and std over {n_rep} replicas; AIS (upper) and reverse AIS (lower estimate)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(str(save_figure(fig, out / "loglik.png", "Replica study: log-likelihood vs updates (Fig. 1)")))
    if all("js_mean" in e for e in summ.values()):
        fig, ax = subplots(figsize=(7, 4.5))
        for i, (size, e) in enumerate(summ.items()):
            ax.errorbar(e["step"], e["js_mean"], e["js_std"], color=f"C{i}", marker="o", capsize=3, label=f"M = {size}")
            ax.plot(e["step"], e["js_null_mean"], color=f"C{i}", ls=":", label=f"M = {size}, symmetric null")
        ax.set_yscale("log")
        ax.set_xlabel("parameter updates")
        ax.set_ylabel("JS divergence of W before / after rotations")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        paths.append(str(save_figure(fig, out / "symmetry.png", "Rotational symmetry breaking along training (Fig. 4)")))
    sizes = list(summ)
    fig, axes = subplots(1, len(sizes), figsize=(4.5 * len(sizes), 3.8), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        svals = []
        for run in result["runs"]:
            if str(run["hidden"]) == size:
                ckpts = sorted(Path(run["dir"]).glob("checkpoints/step_*.pt"))
                if ckpts:
                    w = load_model(ckpts[-1]).weights.detach().double()
                    svals.append(torch.linalg.svdvals(w).numpy())
        if not svals:
            continue
        s = np.concatenate(svals)
        sigma = float(result["study"]["train"].get("weight_std", TrainConfig.weight_std))
        mp = MarchenkoPastur(int(result["n_visible"]), int(size), sigma)
        bins = np.linspace(0, max(s.max(), mp.lambda_plus) * 1.02, 80)
        ax.hist(s, bins=bins, density=True, alpha=0.6, label=f"trained ({len(svals)} replicas)")
        grid = np.linspace(mp.lambda_minus, mp.lambda_plus, 400)
        ax.plot(grid, mp.pdf(grid), color="k", lw=1.2, label=f"MP at initialisation (sigma = {sigma:g})")
        ax.set_yscale("log")
        ax.set_ylim(bottom=1e-3)
        ax.set_xlabel("singular value")
        ax.set_title(f"M = {size}: lambda_1 = {s.max():.2f}", fontsize=9)
        ax.legend(fontsize=7)
    paths.append(str(save_figure(fig, out / "spectra.png", "Singular values after training (Fig. 3f)")))
    return paths
