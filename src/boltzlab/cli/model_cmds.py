"""`boltzlab sample`, `boltzlab logz` and `boltzlab info`: commands that act on a saved model."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from typing import Any

import numpy as np

from ..checkpoint import atomic_savez, atomic_write_json
from ..errors import ConfigError, DataError, ShapeError
from ..io import load_model, load_model_file
from ..models import RBM
from ..partition import exact_log_z
from ..random import Rng
from .common import add_device_options, emit_json, image_shape, positive_float, positive_int, row_range, say

MODEL_HELP = "a boltzlab checkpoint (.pt) or an .npz with weights, visible_bias, hidden_bias"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples by block Gibbs sampling at inverse temperature beta",
                       description="Draw samples from a model by block Gibbs sampling from random starts; "
                                   "writes an .npz (v, h) and a PNG grid of the visible samples.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--n", "--chains", dest="n", type=positive_int, default=100,
                   help="number of chains/samples (default 100; spell it --chains under torchrun)")
    p.add_argument("--steps", type=positive_int, default=1000, help="Gibbs sweeps per chain (default 1000)")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    p.add_argument("--tempering", type=int, default=0, metavar="R",
                   help="parallel tempering with R replicas on a geometric ladder (default 0: plain Gibbs)")
    p.add_argument("--beta-min", type=positive_float, default=0.1, help="lowest rung of the ladder (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--distributed", action="store_true",
                   help="share the chains among the processes of `torchrun --nproc_per_node N -m boltzlab.cli.main "
                        "sample --distributed ...` (rank 0 writes); the same samples for any N dividing --shards")
    p.add_argument("--shards", type=positive_int, default=None,
                   help="with --distributed: chain shards with their own streams (default: the number of processes)")
    p.add_argument("--out", default="samples.npz", help="output .npz (default samples.npz)")
    p.add_argument("--png", default=None, help="PNG grid of samples (default: next to --out)")
    p.add_argument("--image-shape", type=image_shape, default=None, help="HxW for the grid, e.g. 28x28")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add_device_options(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("logz", help="log partition function of a model (exact, AIS or reverse AIS)",
                       description="Compute ln Z of a model. --method exact enumerates the smaller layer in "
                                   "float64 (up to 2^24 states); ais and rais anneal from an independent base "
                                   "model (a lower and an upper stochastic bound); bracket runs both.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--method", choices=["exact", "ais", "rais", "bracket"], default="exact")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature, exact only (default 1)")
    add_annealing_options(p)
    p.add_argument("--data", help="data for the base-rate model and the reverse-AIS start states "
                                  "(a file, an MNIST directory or 'ising:...')")
    add_data_options(p)
    p.add_argument("--out", help="directory for logz.json and a histogram of the log weights (PNG)")
    p.add_argument("--json", action="store_true", help="print one JSON object with log_z, stderr and method")
    add_device_options(p)
    p.set_defaults(func=cmd_logz)

    p = sub.add_parser("evaluate", help="mean log-likelihood per sample of data under a model, with its error",
                       description="Mean ln p(v) over the data, with a standard error that combines the spread "
                                   "of the free energy over the samples with the error of ln Z.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--data", required=True, help="the data to evaluate (a file, an MNIST directory, 'ising:...')")
    add_data_options(p)
    p.add_argument("--logz", choices=["exact", "ais", "rais", "bracket"], default="exact",
                   help="how to get ln Z (default exact); rais starts its chains from --init-data")
    p.add_argument("--init-data", help="reverse-AIS start states and base-rate data (default: --data)")
    add_annealing_options(p)
    p.add_argument("--out", help="directory for evaluate.json and a histogram of ln p(v) (PNG)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_device_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("info", help="describe a model or checkpoint",
                       description="Print the structure, parameter statistics and training state of a model.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)


def cmd_sample(args: argparse.Namespace) -> int:
    from ..plots import image_grid, save_figure
    if args.shards is not None and not args.distributed:
        raise ConfigError("--shards applies only with --distributed")
    if args.distributed and args.tempering:
        raise ConfigError("--distributed samples by block Gibbs; it does not combine with --tempering")
    if args.distributed:
        from .. import distributed
        args.device = distributed.local_device(args.device)
        distributed.init_from_env(args.device)
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    rng = Rng(args.seed, model.device)
    tempering = None
    if args.distributed:
        drawn = distributed.sample(model, args.n, args.steps, args.beta, args.seed, args.shards)
        if drawn is None:  # not rank 0: rank 0 writes
            return 0
        v, h = drawn
    elif args.tempering:
        from ..sampling import ParallelTempering
        if args.beta != 1.0:
            raise ConfigError("--tempering samples the model at beta = 1; drop --beta")
        pt = ParallelTempering(model, args.n, n_replicas=args.tempering, beta_min=args.beta_min, rng=rng)
        v = pt.run(args.steps, progress=not args.json)
        v, h = model.sample(args.n, steps=0, init=v, rng=rng)
        tempering = pt.summary()
    else:
        v, h = model.sample(args.n, steps=args.steps, beta=args.beta, rng=rng)
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_savez(out, v=v.cpu().numpy(), h=h.cpu().numpy(), beta=args.beta, steps=args.steps)
    png = Path(args.png) if args.png else out.with_suffix(".png")
    save_figure(image_grid(v[:100].float().cpu().numpy(), args.image_shape,
                           title=f"{args.n} chains, {args.steps} sweeps, beta={args.beta:g}"), png)
    summary = {"samples": str(out), "png": str(png), "n": args.n, "steps": args.steps, "beta": args.beta,
               "seconds": round(seconds, 4), "visible_mean": float(v.float().mean())}
    if tempering is not None:
        summary["tempering"] = tempering
    if args.json:
        emit_json(summary)
    else:
        say(f"wrote {out} and {png} ({args.n} samples, {args.steps} sweeps, {seconds:.2f} s)")
        if tempering is not None:
            say("exchange acceptance per pair: " + " ".join(f"{a:.2f}" for a in tempering["acceptance"]))
    return 0


def add_annealing_options(p: argparse.ArgumentParser) -> None:
    from ..partition.schedules import SCHEDULES
    g = p.add_argument_group("annealing (ais, rais, bracket)")
    g.add_argument("--runs", type=positive_int, default=None,
                   help="independent annealing runs (default: AIS sizes itself to --target-stderr, "
                        "100 pilot runs and at most --max-runs; reverse AIS makes 100)")
    g.add_argument("--target-stderr", type=positive_float, default=0.03,
                   help="standard error in nats the automatic run count aims at (default 0.03)")
    g.add_argument("--max-runs", type=positive_int, default=1000,
                   help="cap of the automatic run count (default 1000)")
    g.add_argument("--betas", type=positive_int, default=10_000,
                   help="intermediate distributions, ends included (default 10000)")
    g.add_argument("--schedule", choices=SCHEDULES, default="sm08", help="spacing of the betas (default sm08)")
    g.add_argument("--base", choices=["samples", "model", "data", "uniform"], default=None,
                   help="base model (default: data when --data is given, else samples of the model)")
    g.add_argument("--preset", choices=["salakhutdinov-murray"], default=None,
                   help="the reference protocol of Salakhutdinov & Murray (2008); needs --data")
    g.add_argument("--burn-in", type=int, default=None,
                   help="Gibbs sweeps at the target before reverse annealing (default 0 from data)")
    g.add_argument("--batch-size", type=positive_int, default=None, help="runs annealed at once (memory)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=row_range, default=None, help="use rows START:STOP of the data, e.g. 8000:")
    p.add_argument("--binarize", choices=["threshold", "stochastic"], default=None,
                   help="binarise the data (default: threshold at 0.5 when binary or spin units need it)")


def load_model_data(spec: str, model, rows: slice | None, binarize: str | None, seed: int = 0):
    """Data for a model's visible layer: read, sliced, binarised if the units need it, mapped to spins."""
    from ..data import binarize as _binarize
    from ..data import load_dataset
    x = load_dataset(spec, seed=seed)
    if rows is not None:
        x = x[rows]
    if x.shape[0] == 0:
        raise DataError(f"{spec}: no rows selected")
    kind = model.visible.type_name
    if kind in ("binary", "spin"):
        is_bits = np.isin(x, (0, 1)).all()
        if binarize or (not is_bits and not (kind == "spin" and np.isin(x, (-1, 1)).all())):
            x = _binarize(x, method=binarize or "threshold", seed=seed)
            is_bits = True
        if kind == "spin" and is_bits:
            x = 2 * x - 1
    if x.shape[1] != model.n_visible:
        raise ShapeError(f"{spec}: samples have {x.shape[1]} values; the model has {model.n_visible} visible units")
    return x.astype(np.float32)


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


def _log_z_record(res) -> dict[str, Any]:
    """log_z, stderr, method and details of an annealed result (bracket: the midpoint and both ends)."""
    from ..partition import Bracket
    if isinstance(res, Bracket):
        d = res.to_dict()
        return {"log_z": 0.5 * (res.lower + res.upper), "stderr": 0.5 * (res.upper - res.lower),
                "method": "bracket", **d}
    d = res.to_dict()
    d.pop("log_weights")
    return d


def _weights_plot(res, path: Path) -> None:
    from ..partition import Bracket
    from ..plots import save_figure, subplots
    results = [res.ais, res.rais] if isinstance(res, Bracket) else [res]
    fig, ax = subplots(figsize=(6, 4))
    for r in results:
        lw = r.log_weights.numpy()
        ax.hist(lw - lw.max(), bins=min(50, max(10, len(lw) // 4)), alpha=0.6,
                label=f"{r.method}: ln Z = {r.log_z:.3f} ± {r.stderr:.3f}, ESS {r.ess:.0f}/{r.n_runs}")
    ax.set_xlabel("ln w - max ln w")
    ax.set_ylabel("runs")
    ax.set_title("importance log weights (a narrow histogram means a trustworthy estimate)")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def cmd_logz(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    data = None if not args.data else load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    res = None
    if args.method == "exact":
        result = {"log_z": exact_log_z(model, beta=args.beta), "method": "exact", "beta": args.beta, "stderr": 0.0}
    else:
        if args.beta != 1.0:
            raise ConfigError("--beta applies to --method exact; annealed estimates are of ln Z at beta = 1")
        res = _annealed(args.method, model, args, data)
        result = _log_z_record(res)
    result["seconds"] = round(time.perf_counter() - t0, 4)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "logz.json", result if res is None else {**result, **_weights_record(res)})
        if res is not None:
            _weights_plot(res, out / "log_weights.png")
    if args.json:
        emit_json(result)
    else:
        print(f"ln Z = {result['log_z']:.10g} ± {result['stderr']:.3g}  (method {result['method']})")
        if args.method == "bracket":
            print(f"  AIS {result['lower']:.6f} <= ln Z <= reverse AIS {result['upper']:.6f}")
    return 0


def _weights_record(res) -> dict[str, Any]:
    from ..partition import Bracket
    if isinstance(res, Bracket):
        return {"log_weights": {"ais": res.ais.log_weights.tolist(), "rais": res.rais.log_weights.tolist()}}
    return {"log_weights": res.log_weights.tolist()}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..partition import log_likelihood
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    data = load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    init = data if not args.init_data else load_model_data(args.init_data, model, None, args.binarize, args.seed)
    if args.logz == "exact":
        z = {"log_z": exact_log_z(model), "stderr": 0.0, "method": "exact"}
        res = None
    else:
        res = _annealed(args.logz, model, args, init)
        z = _log_z_record(res)
    ll, err = log_likelihood(model, data, z["log_z"], z["stderr"])
    result = {"log_likelihood": ll, "stderr": err, "n_samples": int(data.shape[0]), "log_z": z["log_z"],
              "log_z_stderr": z["stderr"], "logz_method": z["method"], "data": args.data,
              "seconds": round(time.perf_counter() - t0, 4)}
    if args.logz == "bracket":
        result["log_likelihood_upper"] = ll + (z["log_z"] - z["lower"])   # from the AIS (lower) ln Z
        result["log_likelihood_lower"] = ll - (z["upper"] - z["log_z"])   # from the reverse-AIS (upper) ln Z
    if res is not None:
        result["annealing"] = {k: v for k, v in z.items() if k not in ("log_z", "stderr", "method")}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "evaluate.json", result)
        _ll_plot(model, data, z["log_z"], out / "log_likelihood.png", ll, err)
    if args.json:
        emit_json(result)
    else:
        print(f"mean log-likelihood {ll:.4f} ± {err:.4f} nats per sample  ({result['n_samples']} samples, "
              f"ln Z = {z['log_z']:.4f} ± {z['stderr']:.4f} by {z['method']})")
        if args.logz == "bracket":
            print(f"  bracket: {result['log_likelihood_lower']:.4f} <= mean ln p <= "
                  f"{result['log_likelihood_upper']:.4f}")
    return 0


def _ll_plot(model, data, log_z: float, path: Path, ll: float, err: float) -> None:
    import torch
    from ..plots import save_figure, subplots
    with torch.no_grad():
        lp = (-model.free_energy(data).double() - log_z).cpu().numpy()
    fig, ax = subplots(figsize=(6, 4))
    ax.hist(lp, bins=50, color="tab:blue", alpha=0.8)
    ax.axvline(ll, color="k", lw=1.5, label=f"mean {ll:.3f} ± {err:.3f}")
    ax.set_xlabel("ln p(v) (nats)")
    ax.set_ylabel("samples")
    ax.set_title(f"log-likelihood of {len(lp)} samples")
    ax.legend()
    save_figure(fig, path)


def cmd_info(args: argparse.Namespace) -> int:
    model, payload = load_model_file(args.model)
    info: dict = {"path": args.model, "class": type(model).__name__, "visible_units": model.visible.type_name,
                  "hidden_units": model.hidden.type_name if isinstance(model, RBM) else None,
                  "n_visible": model.n_visible, "n_hidden": model.n_hidden,
                  "dtype": str(model.dtype).replace("torch.", ""),
                  "n_parameters": sum(p.numel() for p in model.parameters())}
    w = model.weights.detach()
    info.update(weight_mean=float(w.mean()), weight_std=float(w.std()), weight_max_abs=float(w.abs().max()))
    info["centered"] = model.centered
    log2 = min(layer.n_states_log2 for layer, _ in model.enumerable_marginals())
    info["exact_log_z_tractable"] = bool(log2 <= 24)
    info["enumeration_states_log2"] = None if math.isinf(log2) else log2
    if payload is not None and payload.get("kind") == "checkpoint":
        st = payload["trainer"]
        info.update(step=st["step"], epoch=st["epoch"], config=st["config"])
        if st["history"]:
            info["last_metrics"] = st["history"][-1]
    if args.json:
        emit_json(info)
    else:
        for k, v in info.items():
            if k not in ("config", "last_metrics"):
                print(f"{k:24s} {v}")
        if "last_metrics" in info:
            print("last epoch metrics:")
            for k, v in info["last_metrics"].items():
                print(f"  {k:22s} {v}")
    return 0


