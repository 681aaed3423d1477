"""`boltzlab train`: train an RBM from flags or a TOML file (keys = the long flag names) into a run directory
that it owns: checkpoint, metrics, the train/test split, plots and a summary."""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import atomic_write_json
from ..errors import CheckpointError, ConfigError, require
from ..rundir import RunLock, clear_run, require_memory
from ..studies.train_run import REPORT_FILES, RUN_FILE, SPLIT_FILE, load_run_data, write_report
from ..training import TrainConfig, Trainer
from ..training.config import AVERAGES, MIN_UPDATES, WATCH, recommended_options
from ..training.negative import NegativePhase
from ..training.trainer import CHECKPOINT, METRICS
from .common import (apply_toml, emit_json, image_shape, integer, number, out_dir, positive_int, say, seed,
                     torch_device, check_image_shape)

RECOMMENDED_HELP = {**recommended_options({}), "method": "pt for an RBM, pcd otherwise",
                    "epochs": f"enough for {MIN_UPDATES} updates, at least 10"}
RUN_OPTIONS = ("config", "out", "resume", "overwrite", "json", "no_progress", "distributed", "shards")
DATA_OPTIONS = ("data", "test_data", "test_fraction", "limit", "binarize", "data_seed", "image_shape", "alphabet",
                "reweight", "alignment_format")
DATA_DEFAULTS = {"data": "ising", "test_fraction": 0.2, "data_seed": 0, "alphabet": "protein", "reweight": 0.8,
                 "alignment_format": "auto"}
EXTENDABLE = ("epochs", "max_updates", "device")  # what --resume may change: how long, and where
FLAG = {"n_hidden": "hidden"}
HELP = {
    "model": "rbm, or bm: the fully visible Boltzmann machine (binary units, no hidden layer)",
    "self_interaction": "bm only: learn the diagonal couplings W_aa too",
    "n_hidden": "number of hidden units",
    "visible_units": "visible unit type: binary, spin, gaussian, potts, ...",
    "hidden_units": "hidden unit type: binary, spin, gaussian, relu, drelu, ...",
    "n_states": "Potts units: number of states q (default: the alphabet size, or 1 + the largest state)",
    "hidden_states": "Potts hidden units: number of states q",
    "monitor": "per-epoch metrics (log-likelihoods, reconstruction error, weight norms)",
    "gauge": "Potts units: zerosum keeps the zero-sum gauge during training; none keeps none",
    "method": "negative phase: pcd (persistent chains), cd (at the minibatch), rdm (random states), pt "
              "(parallel tempering), ptt (trajectory tempering), exact",
    "k": "block-Gibbs sweeps per update",
    "batch_size": "samples per minibatch",
    "n_chains": "model chains of pcd and rdm (default: the batch size)",
    "epochs": "passes over the training data (on --resume: extend the run to this many)",
    "max_updates": "stop after this many parameter updates (on --resume: extend the run to this many)",
    "optimizer": "sgd (with --momentum) or adam",
    "lr": "learning rate",
    "momentum": "SGD momentum in [0, 1)",
    "l1": "L1 penalty on the weights",
    "l2": "L2 penalty on the weights",
    "lr_schedule": "constant; step (times --lr-decay every --lr-decay-every updates); linear (to lr * lr-decay)",
    "lr_decay": "factor of the step and linear schedules, in (0, 1]",
    "lr_decay_every": "updates between the steps of the step schedule",
    "centered": "centered gradient: offsets track the data means and hidden activations",
    "offset_rate": "sliding-average rate of the centering offsets, in (0, 1]",
    "weight_std": "standard deviation of the initial weights",
    "init_visible_from_data": "initialise the visible biases from the data means",
    "seed": "seed of the initialisation, the chains and the minibatch order (>= 0)",
    "dtype": "float32 or float64",
    "device": "torch device, e.g. cpu or cuda",
    "checkpoint_every": "epochs between checkpoints (the last epoch always writes one)",
    "keep_checkpoints": "also keep every checkpoint as OUT/checkpoints/step_N.pt",
    "save_every": "record the model every N updates for ptt and trajectory-ll (0: none)",
    "average": "parameter average saved as averaged.pt: ema, polyak (uniform mean of the second half) or none",
    "average_decay": "ema: the average keeps this fraction of itself per update, in [0, 1)",
    "watch": "diagnose oscillation and divergence from the per-epoch metrics: warn, adapt (warn and halve the "
             "learning rate) or off",
    "monitor_exact_max_log2": "exact log-likelihood per epoch when the smaller layer has <= 2^N states",
    "monitor_samples": "samples of the per-epoch pseudo-log-likelihood and reconstruction error",
}
CHOICES = {"model": ("rbm", "bm"), "method": tuple(NegativePhase.registry), "optimizer": ("sgd", "adam"),
           "lr_schedule": ("constant", "step", "linear"), "dtype": ("float32", "float64"), "gauge": ("zerosum", "none"),
           "average": AVERAGES, "watch": WATCH}


def _unit_types() -> list[str]:
    from ..units import Layer
    return sorted(Layer.registry)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an RBM by the learning rule (CD-k, PCD-k, Rdm-k)",
                       description="Train an RBM into the run directory --out (locked while it runs). Options come "
                                   "from --config FILE.toml (keys: the long flag names, at top level or in a [train] "
                                   "table) and are overridden by flags. Writes OUT/checkpoint.pt, metrics.jsonl, "
                                   "run.json, split.npz (the rows trained on and held out), summary.json and plots.")
    a = p.add_argument
    a("--config", help="TOML file with the options below")
    a("--out", type=out_dir, help="run directory (default runs/train)")
    a("--resume", action="store_true", default=None, help="continue the run in --out (same options; --epochs or "
                                                          "--max-updates may extend it)")
    a("--overwrite", action="store_true", default=None, help="delete the run in --out (checkpoints included) and "
                                                             "start a new one there")
    a("--json", action="store_true", default=None, help="print the final summary as JSON on stdout")
    a("--no-progress", action="store_true", default=None, help="no progress bar on stderr")
    a("--distributed", action="store_true", default=None,
      help="data-parallel run under torchrun (gloo on CPU, NCCL on CUDA), e.g. "
           "`torchrun --nproc_per_node 2 -m boltzlab.cli.main train --distributed ...`")
    a("--shards", type=positive_int, help="with --distributed: chain shards with their own random streams (default: "
                                          "the number of processes); the result is the same for any world size dividing it")
    a("--data", help="training data: a file (.npy, .npz, .csv, IDX), an MNIST directory, an alignment, or "
                     "'ising' / 'ising:L=8,beta=0.4,n=5000' (the default)")
    a("--test-data", help="held-out data (default: hold out --test-fraction of --data)")
    a("--test-fraction", type=number(0, 0.999), help="fraction of --data held out at random (default 0.2)")
    a("--limit", type=positive_int, help="use only the first N rows of --data")
    a("--binarize", choices=["threshold", "stochastic", "none"],
      help="binarise [0,1] data (default: threshold when binary or spin units need it; none: refuse non-binary data)")
    a("--data-seed", type=seed, help="seed of the train/test split and of stochastic binarisation (default 0)")
    a("--image-shape", type=image_shape, help="HxW of the sample and filter plots (H*W = visible units)")
    a("--alphabet", help="alignment alphabet: protein (default), dna, rna, or the symbols, gap first")
    a("--reweight", type=number(0, 1), help="sequence-identity threshold of the alignment weights (default 0.8; 0: none)")
    a("--alignment-format", choices=["auto", "fasta", "a2m", "a3m", "stockholm"],
      help="alignment file format (default: from the suffix or the first line)")
    for f in fields(TrainConfig):
        flag, kind = "--" + FLAG.get(f.name, f.name).replace("_", "-"), str(f.type)
        help_ = f"{HELP.get(f.name, f.name.replace('_', ' '))} (default {RECOMMENDED_HELP.get(f.name, f.default)})"
        if kind == "bool":
            a(flag, dest=f.name, action=argparse.BooleanOptionalAction, help=help_)
        elif f.name in ("visible_units", "hidden_units"):
            a(flag, dest=f.name, choices=_unit_types(), help=help_)
        elif f.name in CHOICES:
            a(flag, dest=f.name, choices=CHOICES[f.name], help=help_)
        else:
            typ = (torch_device if f.name == "device" else seed if f.name == "seed" else integer(0)
                   if f.name.startswith("monitor") else integer(-2**63) if kind.startswith("int") else number()
                   if kind == "float" else str)  # TrainConfig checks the ranges, naming the option
            a(flag, dest=f.name, type=typ, help=help_)
    p.set_defaults(func=cmd_train, parser=p)


def resolve_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """(training options, data options, the names given explicitly): TOML < flags."""
    if args.config:
        apply_toml(args.parser, args, args.config, "train", skip=("config",))
    given = {k for k, v in vars(args).items() if v is not None and k not in ("func", "command", "parser")}
    opts = {k: v for k, v in vars(args).items() if k in {f.name for f in fields(TrainConfig)} and v is not None}
    data = {k: getattr(args, k) for k in DATA_OPTIONS if getattr(args, k) is not None}
    if data.get("image_shape"):
        data["image_shape"] = list(data["image_shape"])
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues the run in --out and --overwrite deletes it; give one of them")
    require(args.shards is None or args.distributed, "--shards applies only with --distributed")
    return opts, data, given


def _saved_run(out: Path) -> dict[str, Any]:
    try:
        saved = json.loads((out / RUN_FILE).read_text())
        if not isinstance(saved.get("config"), dict) or not isinstance(saved.get("data"), dict):
            raise ValueError("no config and data tables")
        return saved
    except FileNotFoundError:
        raise CheckpointError(f"{out / RUN_FILE}: missing; without it the run's options are unknown and it "
                              "cannot be resumed") from None
    except (ValueError, AttributeError) as exc:
        raise CheckpointError(f"{out / RUN_FILE}: corrupt ({exc}); the run cannot be resumed".splitlines()[0]) from None


def _changes(saved: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The options given now that differ from the run's (a data option it left out had its default)."""
    return [f"--{FLAG.get(k, k).replace('_', '-')}: {saved.get(k, DATA_DEFAULTS.get(k))!r} -> {v!r}" for k, v in given.items()
            if k not in EXTENDABLE and saved.get(k, DATA_DEFAULTS.get(k)) != v]


def cmd_train(args: argparse.Namespace) -> int:
    opts, data_opts, given = resolve_options(args)
    out = args.out or Path("runs/train")
    ckpt = out / CHECKPOINT
    if args.resume:
        require(ckpt.is_file(), f"{ckpt}: nothing to resume (no checkpoint in {out})", CheckpointError)
        saved = _saved_run(out)
        changed = _changes(saved["config"], opts) + _changes(saved["data"], data_opts)
        require(not changed, f"--resume continues the run with its own options; changed: {'; '.join(changed)} "
                             "(only --epochs, --max-updates and --device may change; start a new run instead)")
        data_opts, opts = {**saved["data"], **data_opts}, {**saved["config"], **opts}
    elif ckpt.exists() and not args.overwrite:
        raise CheckpointError(f"{out} already holds a checkpoint; pass --resume to continue it or --overwrite to "
                              "start a new run there")
    trainer_cls, extra, main = _trainer_kind(args, opts)
    data = load_run_data(data_opts, opts)
    check_image_shape(tuple(data_opts["image_shape"]) if data_opts.get("image_shape") else None, data.train.shape[1])
    cfg = TrainConfig.recommended(len(data.train), args.distributed, **opts)
    n_v = data.train.shape[1] * (cfg.n_states or 1)
    require_memory((8 if cfg.dtype == "float64" else 4) * n_v * (4 * (n_v if cfg.model == "bm" else cfg.n_hidden)
                                                                 + cfg.chains + cfg.batch_size),
                   f"a model with {data.train.shape[1]} visible and {cfg.n_hidden} hidden units, its optimiser and chains")
    tensors = dict(test=None if data.test is None else torch.as_tensor(data.test), out_dir=out,
                   progress=not args.no_progress,
                   **({} if data.weights is None else {"weights": torch.as_tensor(data.weights), "test_weights":
                       None if data.test_weights is None else torch.as_tensor(data.test_weights)}))
    with RunLock(out) if main else contextlib.nullcontext():
        if args.resume:
            trainer = trainer_cls.resume(ckpt, torch.as_tensor(data.train), epochs=opts.get("epochs"),
                                         max_updates=opts.get("max_updates"), device=args.device, **tensors)
            say(f"resuming {ckpt} at epoch {trainer.epoch}, update {trainer.step}")
        else:
            trainer = trainer_cls.create(torch.as_tensor(data.train), cfg, **extra, **tensors)
            if main:
                if ckpt.exists() and not args.overwrite:
                    raise CheckpointError(f"{out} already holds a checkpoint (written while this run started)")
                removed = clear_run(out, (CHECKPOINT, METRICS, RUN_FILE, SPLIT_FILE, *REPORT_FILES), ("checkpoints",))
                if removed:
                    say(f"--overwrite: removed the previous run's {', '.join(removed)} from {out}")
                atomic_write_json(out / RUN_FILE, {"config": cfg.to_dict(), "data": data_opts})
                data.save_split(out)
        history = trainer.fit()
        if not main:  # rank 0 reports
            return 0
        summary = write_report(trainer, out, data_opts.get("image_shape"), data_opts.get("alphabet"))
    if args.json:
        emit_json(summary)
    else:
        print(f"done: {summary['updates']} updates; wrote {out}/checkpoint.pt, metrics.jsonl and plots")
        last = history[-1] if history else {}
        for k in ("train_log_likelihood", "test_log_likelihood", "pseudo_log_likelihood"):
            if last.get(k) is not None:
                print(f"  {k}: {last[k]:.4f}")
    return 0


def _trainer_kind(args: argparse.Namespace, opts: dict[str, Any]) -> tuple[type[Trainer], dict[str, Any], bool]:
    """The trainer class, its extra arguments, and whether this process writes reports (rank 0)."""
    if not args.distributed:
        return Trainer, {}, True
    from ..distributed import init_from_env, local_device
    from ..training.distributed import DistributedTrainer
    if "device" in opts:
        opts["device"] = local_device(opts["device"])
    world = init_from_env(opts.get("device", "cpu"))
    return DistributedTrainer, {"shards": args.shards}, world.is_main
