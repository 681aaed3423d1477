"""`boltzlab sample`, `boltzlab logz` and `boltzlab info`: commands that act on a saved model."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from ..checkpoint import atomic_savez
from ..io import load_model, load_model_file
from ..partition import exact_log_z
from ..random import Rng
from .common import add_device_options, emit_json, image_shape, positive_float, positive_int, say

MODEL_HELP = "a boltzlab checkpoint (.pt) or an .npz with weights, visible_bias, hidden_bias"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples by block Gibbs sampling at inverse temperature beta",
                       description="Draw samples from a model by block Gibbs sampling from random starts; "
                                   "writes an .npz (v, h) and a PNG grid of the visible samples.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--n", type=positive_int, default=100, help="number of chains/samples (default 100)")
    p.add_argument("--steps", type=positive_int, default=1000, help="Gibbs sweeps per chain (default 1000)")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.npz", help="output .npz (default samples.npz)")
    p.add_argument("--png", default=None, help="PNG grid of samples (default: next to --out)")
    p.add_argument("--image-shape", type=image_shape, default=None, help="HxW for the grid, e.g. 28x28")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add_device_options(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("logz", help="log partition function of a model",
                       description="Compute ln Z(beta) of a model. --method exact enumerates the smaller "
                                   "layer in float64 (up to 2^24 states).")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--method", choices=["exact"], default="exact")
    p.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object with log_z and method")
    add_device_options(p)
    p.set_defaults(func=cmd_logz)

    p = sub.add_parser("info", help="describe a model or checkpoint",
                       description="Print the structure, parameter statistics and training state of a model.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)


def cmd_sample(args: argparse.Namespace) -> int:
    from ..plots import image_grid
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    v, h = model.sample(args.n, steps=args.steps, beta=args.beta, rng=Rng(args.seed, model.device))
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_savez(out, v=v.cpu().numpy(), h=h.cpu().numpy(), beta=args.beta, steps=args.steps)
    png = Path(args.png) if args.png else out.with_suffix(".png")
    image_grid(v[:100].float().cpu().numpy(), png, args.image_shape,
               title=f"{args.n} chains, {args.steps} sweeps, beta={args.beta:g}")
    summary = {"samples": str(out), "png": str(png), "n": args.n, "steps": args.steps, "beta": args.beta,
               "seconds": round(seconds, 4), "visible_mean": float(v.float().mean())}
    if args.json:
        emit_json(summary)
    else:
        say(f"wrote {out} and {png} ({args.n} samples, {args.steps} sweeps, {seconds:.2f} s)")
    return 0


def cmd_logz(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=args.device)
    t0 = time.perf_counter()
    log_z = exact_log_z(model, beta=args.beta)
    result = {"log_z": log_z, "method": args.method, "beta": args.beta, "stderr": 0.0,
              "seconds": round(time.perf_counter() - t0, 4)}
    if args.json:
        emit_json(result)
    else:
        print(f"ln Z = {log_z:.10g}  (method {args.method}, beta {args.beta:g})")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    model, payload = load_model_file(args.model)
    info: dict = {"path": args.model, "class": type(model).__name__, "visible_units": model.visible.type_name,
                  "hidden_units": getattr(getattr(model, "hidden", None), "type_name", None),
                  "n_visible": model.n_visible, "n_hidden": getattr(model, "n_hidden", None),
                  "dtype": str(model.dtype).replace("torch.", ""),
                  "n_parameters": sum(p.numel() for p in model.parameters())}
    if hasattr(model, "weights"):
        w = model.weights.detach()
        info.update(weight_mean=float(w.mean()), weight_std=float(w.std()), weight_max_abs=float(w.abs().max()))
        info["centered"] = bool(getattr(model, "centered", False))
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


