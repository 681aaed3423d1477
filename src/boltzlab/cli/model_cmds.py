"""`boltzlab sample`, `logz`, `evaluate` and `info`: commands that act on a saved model."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from ..checkpoint import MAGIC, atomic_savez, atomic_write_json
from ..errors import CheckpointError, ConfigError, require
from ..io import load_model, load_model_file
from ..partition import exact_log_z
from ..random import Rng
from ..rundir import RunLock, require_memory
from ..studies.model_reports import (bracket_text, log_likelihood_figure, log_z_record, model_info,
                                     weights_figure, weights_record)
from ..studies.train_run import model_data as load_model_data, run_split_data
from .common import (add_device_options, add_seed_option, check_image_shape, file_with_suffix, image_shape,
                     out_dir, positive_float, positive_int, reporting, row_range)

MODEL_HELP = "a boltzlab checkpoint (.pt), an .npz with weights, visible_bias, hidden_bias, or a run directory"


def model_path(text: str) -> Path:
    """A model file, or a run directory's checkpoint.pt."""
    p = Path(text)
    return p / "checkpoint.pt" if p.is_dir() else p


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples by block Gibbs sampling at inverse temperature beta",
                       description="Draw samples from a model by block Gibbs sampling from random starts; writes "
                                   "OUT/samples.npz (v, h) and OUT/samples.png, or the file of --npz.")
    p.add_argument("model", type=model_path, help=MODEL_HELP)
    p.add_argument("--n", "--chains", dest="n", type=positive_int, default=100,
                   help="number of chains/samples (default 100; spell it --chains under torchrun)")
    p.add_argument("--steps", type=positive_int, default=1000, help="Gibbs sweeps per chain (default 1000)")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    p.add_argument("--tempering", type=positive_int, default=None, metavar="R",
                   help="parallel tempering with R replicas on a geometric ladder (default: plain Gibbs)")
    p.add_argument("--beta-min", type=positive_float, default=0.1, help="lowest rung of the ladder (default 0.1)")
    add_seed_option(p)
    p.add_argument("--distributed", action="store_true",
                   help="share the chains among the processes of `torchrun --nproc_per_node N -m boltzlab.cli.main "
                        "sample --distributed ...` (rank 0 writes); the same samples for any N dividing --shards")
    p.add_argument("--shards", type=positive_int, default=None,
                   help="with --distributed: chain shards with their own streams (default: the number of processes)")
    p.add_argument("--out", type=out_dir, default=Path("samples"),
                   help="directory for samples.npz and samples.png (default samples)")
    p.add_argument("--npz", type=file_with_suffix(".npz"), default=None,
                   help="write the samples to this .npz file instead (the PNG next to it)")
    p.add_argument("--png", type=file_with_suffix(".png"), default=None, help="PNG grid of samples (default: next "
                                                                              "to the .npz)")
    p.add_argument("--overwrite", action="store_true", help="replace sample files that exist (never a checkpoint)")
    p.add_argument("--image-shape", type=image_shape, default=None, help="HxW for the grid, e.g. 28x28")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add_device_options(p)
    p.set_defaults(func=reporting(cmd_sample))

    p = sub.add_parser("logz", help="log partition function of a model (exact, AIS or reverse AIS)",
                       description="Compute ln Z of a model. --method exact enumerates the smaller layer in "
                                   "float64 (up to 2^24 states); ais and rais anneal from an independent base model "
                                   "(a lower and an upper bound in expectation); bracket runs both and reports each "
                                   "end with its own standard error.")
    p.add_argument("model", type=model_path, help=MODEL_HELP)
    p.add_argument("--method", choices=["exact", "ais", "rais", "bracket"], default="exact",
                   help="exact enumeration, forward AIS, reverse AIS, or both (default exact)")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature, exact only (default 1)")
    add_annealing_options(p)
    p.add_argument("--data", help="data for the base-rate model and the reverse-AIS start states "
                                  "(a file, an MNIST directory or 'ising:...')")
    add_data_options(p)
    p.add_argument("--out", type=out_dir, help="directory for logz.json and a histogram of the log weights (PNG)")
    p.add_argument("--json", action="store_true", help="print one JSON object with log_z, stderr and method")
    add_device_options(p)
    p.set_defaults(func=reporting(cmd_logz))

    p = sub.add_parser("evaluate", help="mean log-likelihood per sample of data under a model, with its error",
                       description="Mean ln p(v) over the data, with a standard error that combines the spread of "
                                   "the free energy over the samples with the error of ln Z. `evaluate RUN --split "
                                   "test` evaluates exactly the rows the training run held out.")
    p.add_argument("model", type=model_path, help=MODEL_HELP)
    p.add_argument("--split", choices=["test", "train"], default=None,
                   help="with a run directory: its held-out (test) or training rows, as the run recorded them")
    p.add_argument("--data", help="the data to evaluate (a file, an MNIST directory, 'ising:...'), instead of --split")
    add_data_options(p)
    p.add_argument("--logz", choices=["exact", "ais", "rais", "bracket"], default="exact",
                   help="how to get ln Z (default exact); rais starts its chains from --init-data")
    p.add_argument("--init-data", help="reverse-AIS start states and base-rate data (default: the evaluated data)")
    add_annealing_options(p)
    p.add_argument("--out", type=out_dir, help="directory for evaluate.json and a histogram of ln p(v) (PNG)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_device_options(p)
    p.set_defaults(func=reporting(cmd_evaluate))

    p = sub.add_parser("info", help="describe a model or checkpoint",
                       description="Print the structure, parameter statistics and training state of a model.")
    p.add_argument("model", type=model_path, help=MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=reporting(cmd_info))


def add_annealing_options(p: argparse.ArgumentParser) -> None:
    from ..partition.schedules import SCHEDULES
    g = p.add_argument_group("annealing (ais, rais, bracket)")
    g.add_argument("--runs", type=positive_int, default=None,
                   help="independent annealing runs (default: AIS sizes itself to --target-stderr, "
                        "100 pilot runs and at most --max-runs; reverse AIS makes 100)")
    g.add_argument("--target-stderr", type=positive_float, default=0.03,
                   help="standard error in nats the automatic run count aims at (default 0.03)")
    g.add_argument("--max-runs", type=positive_int, default=1000, help="cap of the automatic run count (default 1000)")
    g.add_argument("--betas", type=positive_int, default=10_000,
                   help="intermediate distributions, ends included (default 10000)")
    g.add_argument("--schedule", choices=SCHEDULES, default="sm08", help="spacing of the betas (default sm08)")
    g.add_argument("--base", choices=["samples", "model", "data", "uniform"], default=None,
                   help="base model (default: data when --data is given, else samples of the model)")
    g.add_argument("--preset", choices=["salakhutdinov-murray"], default=None,
                   help="the reference protocol of Salakhutdinov & Murray (2008); needs --data")
    g.add_argument("--burn-in", type=positive_int, default=None,
                   help="Gibbs sweeps at the target before reverse annealing (default 0 from data)")
    g.add_argument("--batch-size", type=positive_int, default=None, help="runs annealed at once (memory)")
    add_seed_option(g)
    g.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=row_range, default=None, help="use rows START:STOP of the data, e.g. 8000:")
    p.add_argument("--binarize", choices=["threshold", "stochastic"], default=None,
                   help="binarise the data (default: threshold at 0.5 when binary or spin units need it)")


def _sample_targets(args: argparse.Namespace) -> tuple[Path, Path]:
    """Where the samples and their PNG go, refused if that would replace a checkpoint or (without
    --overwrite) any existing file."""
    npz = args.npz or args.out / "samples.npz"
    png = args.png or npz.with_suffix(".png")
    for target in (npz, png):
        if target.resolve() == args.model.resolve() or (target.is_file() and _head(target) == MAGIC):
            raise CheckpointError(f"{target} is a checkpoint; sample never writes over one")
        if target.exists() and not args.overwrite:
            raise CheckpointError(f"{target} exists; pass --overwrite to replace it")
    return npz, png


def cmd_sample(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]] | None:
    from ..plots import image_grid, save_figure
    require(args.shards is None or args.distributed, "--shards applies only with --distributed")
    if args.distributed and args.tempering:
        raise ConfigError("--distributed samples by block Gibbs; it does not combine with --tempering")
    require(not args.tempering or args.beta == 1.0, "--tempering samples the model at beta = 1; drop --beta")
    npz, png = _sample_targets(args)
    if args.distributed:
        from .. import distributed
        args.device = distributed.local_device(args.device)
        distributed.init_from_env(args.device)
    model = load_model(args.model, device=args.device)
    check_image_shape(args.image_shape, model.n_visible)
    require_memory(8 * args.n * (args.tempering or 1) * (model.n_visible + model.n_hidden),
                   f"{args.n} chains")
    t0 = time.perf_counter()
    rng = Rng(args.seed, model.device)
    tempering = None
    if args.distributed:
        drawn = distributed.sample(model, args.n, args.steps, args.beta, args.seed, args.shards)
        if drawn is None:  # not rank 0: rank 0 writes and reports
            return None
        v, h = drawn
    elif args.tempering:
        from ..sampling import ParallelTempering
        pt = ParallelTempering(model, args.n, n_replicas=args.tempering, beta_min=args.beta_min, rng=rng)
        v, h = model.sample(args.n, steps=0, init=pt.run(args.steps, progress=not args.json), rng=rng)
        tempering = pt.summary()
    else:
        v, h = model.sample(args.n, steps=args.steps, beta=args.beta, rng=rng)
    seconds = time.perf_counter() - t0
    with RunLock(npz.parent):
        _sample_targets(args)
        atomic_savez(npz, v=v.cpu().numpy(), h=h.cpu().numpy(), beta=args.beta, steps=args.steps)
        save_figure(image_grid(v[:100].float().cpu().numpy(), args.image_shape,
                               title=f"{args.n} chains, {args.steps} sweeps, beta={args.beta:g}"), png)
    summary = {"samples": str(npz), "png": str(png), "n": args.n, "steps": args.steps, "beta": args.beta,
               "seconds": round(seconds, 4), "visible_mean": float(v.float().mean()), "tempering": tempering}
    text = [f"wrote {npz} and {png} ({args.n} samples, {args.steps} sweeps, {seconds:.2f} s)"]
    if tempering is not None:
        text.append("exchange acceptance per pair: " + " ".join(f"{a:.2f}" for a in tempering["acceptance"]))
    return summary, text


def _annealed(method: str, model, args: argparse.Namespace, data) -> Any:
    """Run ais, rais or bracket with the command-line options."""
    from ..partition import ais_log_z, bracket, rais_log_z
    kw = dict(n_runs=args.runs, n_betas=args.betas, seed=args.seed, schedule=args.schedule, base=args.base,
              preset=args.preset, batch_size=args.batch_size, progress=not args.no_progress)
    auto = dict(target_stderr=args.target_stderr, max_runs=args.max_runs)
    if method == "ais":
        return ais_log_z(model, data=data, **auto, **kw)
    if method == "rais":
        kw["n_runs"] = args.runs or 100
        return rais_log_z(model, data, burn_in=args.burn_in, **kw)
    return bracket(model, data, burn_in=args.burn_in, **auto, **kw)


def _write(out: Path | None, name: str, record: dict[str, Any], figure: Any, png: str) -> None:
    if out is None:
        return
    from ..plots import save_figure
    with RunLock(out):
        atomic_write_json(out / name, record)
        if figure is not None:
            save_figure(figure, out / png)


def cmd_logz(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    data = None if not args.data else load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    res = None
    if args.method == "exact":
        result = {"log_z": exact_log_z(model, beta=args.beta), "method": "exact", "beta": args.beta, "stderr": 0.0}
    else:
        require(args.beta == 1.0, "--beta applies to --method exact; annealed estimates are of ln Z at beta = 1")
        res = _annealed(args.method, model, args, data)
        result = log_z_record(res)
    result["seconds"] = round(time.perf_counter() - t0, 4)
    _write(args.out, "logz.json", result if res is None else {**result, **weights_record(res)},
           None if res is None else weights_figure(res), "log_weights.png")
    text = [f"ln Z = {result['log_z']:.10g} ± {result['stderr']:.3g}  (method {result['method']})"]
    if args.method == "bracket":
        text.append(bracket_text(result["lower"], result["lower_stderr"], result["upper"], result["upper_stderr"]))
    return result, text


def cmd_evaluate(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from ..partition import log_likelihood
    if (args.split is None) == (args.data is None):
        raise ConfigError("give --data (with --rows) or --split test|train with a run directory, one of them")
    if args.split and (args.rows is not None or args.binarize):
        raise ConfigError("--split takes the run's own rows and preparation; --rows and --binarize go with --data")
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    if args.split:
        require(args.model.name == "checkpoint.pt", "--split needs a training run directory (or its checkpoint.pt)")
        data = run_split_data(args.model.parent, args.split)
    else:
        data = load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    init = data if not args.init_data else load_model_data(args.init_data, model, None, args.binarize, args.seed)
    res = None if args.logz == "exact" else _annealed(args.logz, model, args, init)
    z = {"log_z": exact_log_z(model), "stderr": 0.0, "method": "exact"} if res is None else log_z_record(res)
    ll, err = log_likelihood(model, data, z["log_z"], z["stderr"])
    sem = math.sqrt(max(err ** 2 - z["stderr"] ** 2, 0.0))
    result = {"log_likelihood": ll, "stderr": err, "n_samples": int(data.shape[0]), "split": args.split,
              "data": args.data, "log_z": z["log_z"], "log_z_stderr": z["stderr"], "logz_method": z["method"],
              "seconds": round(time.perf_counter() - t0, 4)}
    if args.logz == "bracket":  # the AIS (lower) ln Z gives the upper log-likelihood and conversely
        result.update(log_likelihood_upper=ll + z["log_z"] - z["lower"], log_likelihood_lower=ll + z["log_z"] - z["upper"],
                      log_likelihood_upper_stderr=math.hypot(sem, z["lower_stderr"]),
                      log_likelihood_lower_stderr=math.hypot(sem, z["upper_stderr"]))
    if res is not None:
        result["annealing"] = {k: v for k, v in z.items() if k not in ("log_z", "stderr", "method")}
    _write(args.out, "evaluate.json", result,
           None if args.out is None else log_likelihood_figure(model, data, z["log_z"], ll, err), "log_likelihood.png")
    text = [f"mean log-likelihood {ll:.4f} ± {err:.4f} nats per sample  ({result['n_samples']} samples, "
            f"ln Z = {z['log_z']:.4f} ± {z['stderr']:.4f} by {z['method']})"]
    if args.logz == "bracket":
        text.append(bracket_text(result["log_likelihood_lower"], result["log_likelihood_lower_stderr"],
                                 result["log_likelihood_upper"], result["log_likelihood_upper_stderr"], "mean ln p"))
    return result, text


def cmd_info(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    info = model_info(*load_model_file(args.model), str(args.model))
    return info, ([f"{k:24s} {v}" for k, v in info.items() if k not in ("config", "last_metrics")]
                  + [f"  last epoch {k:22s} {v}" for k, v in info.get("last_metrics", {}).items()])


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)
