"""`boltzlab train`: train an RBM from flags or a TOML file, with checkpoints, metrics and plots."""

from __future__ import annotations

import argparse
import json
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from ..training import TrainConfig, Trainer
from ..checkpoint import atomic_write_json
from ..training.trainer import CHECKPOINT
from .common import emit_json, image_shape, say

RUN_FILE = "run.json"
DATA_KEYS = ("data", "test_data", "test_fraction", "binarize", "limit", "data_seed", "image_shape")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train an RBM by the learning rule (CD-k, PCD-k, Rdm-k)",
        description="Train an RBM. Options come from --config FILE.toml (keys as below, dashes or "
                    "underscores, at top level or in a [train] table) and are overridden by flags. "
                    "Writes OUT/checkpoint.pt, OUT/metrics.jsonl, OUT/summary.json and PNG plots.")
    p.add_argument("--config", help="TOML file with the options below")
    p.add_argument("--data", help="data: a file (.npy, .npz, .csv, IDX), an MNIST directory, or 'ising' / "
                                  "'ising:L=8,beta=0.4,n=5000' (the embedded default)")
    p.add_argument("--test-data", help="held-out data (default: split off --test-fraction)")
    p.add_argument("--test-fraction", type=float, help="fraction held out when no --test-data (default 0.2)")
    p.add_argument("--limit", type=int, help="use only the first N samples of --data")
    p.add_argument("--binarize", choices=["threshold", "stochastic", "none"],
                   help="binarise [0,1] data (default: threshold for non-binary data with binary units)")
    p.add_argument("--data-seed", type=int, help="seed of the train/test split and stochastic binarisation")
    p.add_argument("--image-shape", type=image_shape, help="HxW for sample and filter plots")
    p.add_argument("--out", help="output directory (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    p.add_argument("--overwrite", action="store_true", help="start over even if --out holds a checkpoint")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--hidden", dest="n_hidden", type=int, help="number of hidden units")
    for f in fields(TrainConfig):
        if f.name == "n_hidden":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = {"int": int, "float": float, "str": str, "int | None": int}.get(str(f.type), str)
            p.add_argument(flag, dest=f.name, type=kind, default=None, help=f"(default {f.default})")
    p.set_defaults(func=cmd_train)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    table = raw.get("train", raw)
    return {k.replace("-", "_"): v for k, v in table.items()}


def resolve_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training options, data options): TOML < flags; unknown TOML keys are an error."""
    opts: dict[str, Any] = _read_toml(args.config) if args.config else {}
    for key, val in vars(args).items():
        if val is not None and key not in ("config", "func", "command", "resume", "overwrite", "json",
                                           "no_progress", "out"):
            opts[key] = val
    data = {k: opts.pop(k) for k in DATA_KEYS if k in opts}
    if args.out is not None:
        opts["out"] = args.out
    out = opts.pop("out", "runs/train")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(opts) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) in the config: {', '.join(unknown)}")
    data["out"] = out
    return opts, data


def load_data(d: dict[str, Any], visible_units: str) -> tuple[np.ndarray, np.ndarray]:
    from ..data import load_dataset, train_test_split
    spec = d.get("data") or "ising"
    binarize = d.get("binarize")
    if binarize == "none":
        binarize = None
    seed = int(d.get("data_seed", 0))
    x = load_dataset(spec, seed=seed)
    if d.get("limit"):
        x = x[: int(d["limit"])]
    needs_binary = visible_units in ("binary", "spin")
    if binarize is None and needs_binary and not np.isin(x, (0, 1)).all():
        binarize = "threshold"
    if binarize:
        from ..data import binarize as _binarize
        x = _binarize(x, method=binarize, seed=seed)
    if d.get("test_data"):
        test = load_dataset(d["test_data"], seed=seed)
        if binarize:
            test = _binarize(test, method=binarize, seed=seed + 1)
        train = x
    else:
        frac = float(d.get("test_fraction", 0.2))
        if not 0 <= frac < 1:
            raise ConfigError(f"test_fraction must lie in [0, 1); got {frac}")
        train, test = train_test_split(x, test_fraction=frac, seed=seed) if frac > 0 else (x, None)
    if visible_units == "spin":
        train = 2 * train - 1
        test = None if test is None else 2 * test - 1
    return train.astype(np.float32), None if test is None or len(test) == 0 else test.astype(np.float32)


def cmd_train(args: argparse.Namespace) -> int:
    opts, data_opts = resolve_options(args)
    out = Path(data_opts["out"])
    ckpt = out / CHECKPOINT
    if args.resume:
        if not ckpt.exists():
            raise CheckpointError(f"{ckpt}: nothing to resume (no checkpoint in {out})")
        saved = json.loads((out / RUN_FILE).read_text()) if (out / RUN_FILE).exists() else {}
        data_opts = {**saved.get("data", {}), **{k: v for k, v in data_opts.items() if k != "out"}}
        data_opts["out"] = str(out)
        cfg_saved = saved.get("config", {})
        train, test = load_data(data_opts, opts.get("visible_units", cfg_saved.get("visible_units", "binary")))
        trainer = Trainer.resume(ckpt, torch.as_tensor(train), test=None if test is None else torch.as_tensor(test),
                                 out_dir=out, epochs=opts.get("epochs"), max_updates=opts.get("max_updates"),
                                 progress=not args.no_progress)
        say(f"resuming {ckpt} at epoch {trainer.epoch}, update {trainer.step}", args.json)
    else:
        if ckpt.exists() and not args.overwrite:
            raise CheckpointError(f"{out} already holds a checkpoint; pass --resume to continue it or "
                                  "--overwrite to start a new run there")
        cfg = TrainConfig.from_dict(opts)
        train, test = load_data(data_opts, cfg.visible_units)
        trainer = Trainer.create(torch.as_tensor(train), cfg, test=None if test is None else torch.as_tensor(test),
                                 out_dir=out, progress=not args.no_progress)
        out.mkdir(parents=True, exist_ok=True)
        run = {"config": cfg.to_dict(), "data": {k: v for k, v in data_opts.items() if k != "out"}}
        atomic_write_json(out / RUN_FILE, run)
    history = trainer.fit()
    summary = write_report(trainer, out, data_opts.get("image_shape"))
    if args.json:
        emit_json(summary)
    else:
        say(f"done: {summary['updates']} updates; wrote {out}/checkpoint.pt, metrics.jsonl and plots")
        last = history[-1] if history else {}
        for k in ("train_log_likelihood", "test_log_likelihood", "pseudo_log_likelihood"):
            if last.get(k) is not None:
                say(f"  {k}: {last[k]:.4f}")
    return 0


def write_report(trainer: Trainer, out: Path, shape: Any = None) -> dict[str, Any]:
    """Learning curves, sample grid and weight filters as PNG; summary.json with the final numbers."""
    from ..plots import image_grid, learning_curves, weight_filters
    model = trainer.model
    shape = tuple(shape) if shape else None
    n_hidden = getattr(model, "n_hidden", 0)
    size = f"{model.n_visible}x{n_hidden}" if n_hidden else f"{model.n_visible} units"
    plots = {"learning_curves": str(learning_curves(trainer.history, out / "learning_curves.png",
                                                    title=f"{type(model).__name__} {size}, "
                                                          f"{trainer.config.method.upper()}-{trainer.config.k}"))}
    v, _ = model.sample(64, steps=1000, seed=trainer.config.seed)
    sweeps = "block-Gibbs" if n_hidden else "single-site Gibbs"
    plots["samples"] = str(image_grid(v.float().cpu().numpy(), out / "samples.png", shape, n_cols=8,
                                      title=f"model samples (1000 {sweeps} sweeps from random starts)"))
    if hasattr(model, "weights"):
        plots["filters"] = str(weight_filters(model.weights.detach().float().cpu().numpy(), out / "filters.png", shape))
    last = trainer.history[-1] if trainer.history else {}
    summary = {"out": str(out), "updates": trainer.step, "epochs": trainer.epoch, "plots": plots,
               "checkpoint": str(out / CHECKPOINT), "final": last}
    atomic_write_json(out / "summary.json", summary)
    return summary
