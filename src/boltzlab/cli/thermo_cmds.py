"""`boltzlab thermo ...`: stochastic thermodynamics of RBMs (docs/thermodynamics.md).

* ``thermo xft MODEL --t1 1 --t2 2``: the heat-exchange fluctuation theorem on an ensemble of chains.
* ``thermo work MODEL``: work protocols (inverse-temperature ramps, interpolation between two models, the
  parameters of a training run read from its checkpoints, the AIS path), with Jarzynski and Crooks checks.
* ``thermo curves MODEL``: free energy, energy, entropy and heat capacity against temperature.
* ``thermo cd MODEL_OR_RUN --data ...``: contrastive divergence as a relaxation process, exactly.

Each writes PNG plots and a JSON of its numbers into ``--out``; ``--json`` prints the numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..errors import ConfigError
from ..plots import save_figure
from .common import Parser, add_run_options, emit_json, finite_float, non_negative_int, positive_float, positive_int, say
from .model_cmds import add_data_options, load_model_data

XFT_JSON = "xft.json"
WORK_JSON = "work.json"
CURVES_JSON = "curves.json"
CD_JSON = "cd.json"


def fraction_arg(text: str) -> float | str:
    if text == "auto":
        return text
    v = finite_float(text)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number in (0, 1], got {text}")
    return v


def _kernel_options(p: argparse.ArgumentParser, default_fraction: str | float) -> None:
    p.add_argument("--kernel", choices=["palindromic", "random-scan", "plain"], default="palindromic",
                   help="transition kernel on (v, h): palindromic h|v,v|h,h|v (default, reversible), random-scan "
                        "(reversible), plain h|v then v|h (NOT reversible; for demonstrations)")
    p.add_argument("--fraction", type=fraction_arg, default=default_fraction,
                   help=f"fraction of a layer's units redrawn per move (default {default_fraction})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("thermo", help="stochastic thermodynamics: heat exchange, work, equilibrium curves, CD",
                       description="Fluctuation theorems, work and heat of RBMs "
                                   "(Salazar, PRE 96, 022131 (2017); "
                                   "see docs/thermodynamics.md).")
    tsub = p.add_subparsers(dest="thermo_command", metavar="SUBCOMMAND", parser_class=Parser)

    x = tsub.add_parser("xft", help="heat-exchange fluctuation theorem P(Q)/P(-Q) = exp((1/T1 - 1/T2) Q)",
                        description="Equilibrate an ensemble at T1 (block-Gibbs sweeps from random starts or "
                                    "data), run K steps of a reversible kernel at T2, record Q = E(s') - E(s) on "
                                    "the joint state, and fit the slope of ln P(Q)/P(-Q) against Q (expected "
                                    "1/T1 - 1/T2). A control run at T2 = T1 (slope 0) checks equilibration. "
                                    f"Writes OUT/{XFT_JSON}, OUT/xft.png and OUT/equilibration.png.")
    x.add_argument("model", help="an RBM: boltzlab checkpoint (.pt) or .npz")
    x.add_argument("--t1", type=positive_float, default=1.0, help="temperature of the initial ensemble (default 1)")
    x.add_argument("--t2", type=positive_float, nargs="+", default=[2.0],
                   help="bath temperature(s) (default 2); several values share the equilibrated states")
    x.add_argument("--chains", type=positive_int, default=100_000, help="ensemble size (default 100,000)")
    x.add_argument("--equilibrate", type=non_negative_int, default=300,
                   help="block-Gibbs sweeps at T1 before the heat exchange (default 300, as in the paper)")
    x.add_argument("--steps", type=positive_int, default=1, help="K, steps of the process at T2 (default 1)")
    _kernel_options(x, "auto")
    x.add_argument("--init", choices=["random", "data"], default="random",
                   help="initial states: uniform random (default) or rows of --data")
    x.add_argument("--data", default=None, help="data for --init data (a file, an MNIST directory, ...)")
    add_data_options(x)
    x.add_argument("--batch-size", type=positive_int, default=None,
                   help="chains per batch (memory; default 16,384 on CPU, 262,144 on CUDA)")
    x.add_argument("--no-control", action="store_true", help="skip the control run at T2 = T1")
    add_run_options(x, "runs/thermo/xft")
    x.set_defaults(func=cmd_xft)

    w = tsub.add_parser("work", help="work protocols with Jarzynski and Crooks checks",
                        description="Run a protocol lambda_0 -> lambda_K forward from p_{lambda_0} and backward from "
                                    "p_{lambda_K}, with the work w = sum_i beta_{i+1} E(s_i; theta_{i+1}) - beta_i "
                                    "E(s_i; theta_i) (reduced units); check Jarzynski <exp(-w)> = exp(-Delta f), "
                                    "Crooks P_F(w)/P_R(-w) = exp(w - Delta f) and the second law, with Delta f exact "
                                    "or from AIS. Protocols: beta-ramp (one MODEL), interpolate (MODEL_A MODEL_B), "
                                    "checkpoints (a training-run directory with kept checkpoints, or several "
                                    "checkpoint files), ais (the AIS path of one MODEL: forward AIS against reverse "
                                    f"AIS). Writes OUT/{WORK_JSON} and OUT/work.png.")
    w.add_argument("models", nargs="+", help="model file(s) or a training-run directory (see --protocol)")
    w.add_argument("--protocol", choices=["beta-ramp", "interpolate", "checkpoints", "ais"], default="beta-ramp",
                   help="the protocol (default beta-ramp)")
    w.add_argument("--beta-from", type=finite_float, default=0.5, help="beta-ramp: first inverse temperature")
    w.add_argument("--beta-to", type=finite_float, default=1.0, help="beta-ramp: last inverse temperature")
    w.add_argument("--beta", type=positive_float, default=1.0,
                   help="inverse temperature of interpolate and checkpoints protocols (default 1)")
    w.add_argument("--points", type=positive_int, default=None,
                   help="points lambda_0..lambda_K of beta-ramp and interpolate (default 11); for ais the number of "
                        "intermediate distributions (default 1000)")
    w.add_argument("--chains", type=positive_int, default=10_000, help="runs in each direction (default 10,000)")
    w.add_argument("--sweeps", type=non_negative_int, default=1, help="kernel steps after each switch (default 1)")
    _kernel_options(w, 1.0)
    w.add_argument("--init", choices=["auto", "exact", "equilibrate"], default="auto",
                   help="start states: exact samples (small models) or Gibbs chains (default auto)")
    w.add_argument("--equilibrate", type=non_negative_int, default=1000,
                   help="sweeps of the start chains with --init equilibrate (default 1000)")
    w.add_argument("--delta-f", choices=["auto", "exact", "ais"], default="auto",
                   help="reference Delta f: exact enumeration when possible, else AIS (default auto)")
    w.add_argument("--ais-runs", type=positive_int, default=None, help="AIS runs for Delta f (default: automatic)")
    w.add_argument("--ais-betas", type=positive_int, default=10_000, help="AIS intermediate distributions")
    w.add_argument("--ais-base", choices=["model", "uniform"], default="model", help="base of the ais protocol")
    w.add_argument("--burn-in", type=non_negative_int, default=1000,
                   help="ais protocol: sweeps of the reverse-AIS start chains (default 1000)")
    w.add_argument("--batch-size", type=positive_int, default=None, help="chains per batch (memory)")
    add_run_options(w, "runs/thermo/work")
    w.set_defaults(func=cmd_work)

    c = tsub.add_parser("curves", help="free energy, energy, entropy and heat capacity against temperature",
                        description="F = -ln Z / beta, <E>, S = ln Z + beta <E> and C = beta^2 Var(E) on a grid of "
                                    "temperatures: exact for small models (autograd through the enumerated free "
                                    "energy), else from one AIS pass along the inverse-temperature path with "
                                    f"bootstrap error bars. Writes OUT/{CURVES_JSON} and OUT/curves.png.")
    c.add_argument("model", help="an RBM: boltzlab checkpoint (.pt) or .npz")
    c.add_argument("--t-min", type=positive_float, default=0.5, help="lowest temperature (default 0.5)")
    c.add_argument("--t-max", type=positive_float, default=3.0, help="highest temperature (default 3)")
    c.add_argument("--points", type=positive_int, default=16, help="temperatures on the grid (default 16)")
    c.add_argument("--method", choices=["auto", "exact", "ais", "both"], default="auto",
                   help="exact when the smaller layer has <= 2^20 states, else ais (default auto)")
    c.add_argument("--ais-runs", type=positive_int, default=500, help="AIS runs (default 500)")
    c.add_argument("--ais-steps", type=positive_int, default=2000, help="AIS steps from beta=0 (default 2000)")
    add_run_options(c, "runs/thermo/curves")
    c.set_defaults(func=cmd_curves)

    d = tsub.add_parser("cd", help="contrastive divergence as a relaxation process (exact, small models)",
                        description="CD_n = KL(p_D||p) - KL(p_n||p) = -beta(<E>_n - <E>_D) + (S_n - S_D): the entropy "
                                    "produced by n Gibbs steps from the data (section 4.2), exactly by enumeration, "
                                    "for one model or along a training run (a directory with kept checkpoints). "
                                    f"Writes OUT/{CD_JSON} and OUT/cd.png.")
    d.add_argument("model", help="an RBM file, or a training-run directory with checkpoints/step_*.pt")
    d.add_argument("--data", required=True, help="the training data (a file, an MNIST directory, 'ising:...')")
    add_data_options(d)
    d.add_argument("--steps", type=non_negative_int, nargs="+", default=[1, 5, 25],
                   help="numbers of Gibbs steps n (default 1 5 25)")
    d.add_argument("--kernel", choices=["plain", "palindromic", "random-scan", "visible"], default="plain",
                   help="the Gibbs kernel of CD (default plain h|v then v|h, as CD-k runs it)")
    d.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    add_run_options(d, "runs/thermo/cd")
    d.set_defaults(func=cmd_cd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_thermo_model(path: str, device: str):
    """A model on ``device`` (checked by the --device parser), checked to be an RBM."""
    from ..io import load_model
    from ..models import RBM
    model = load_model(path, device=torch.device(device))
    if not isinstance(model, RBM):
        raise ConfigError(f"{path}: the thermodynamics commands need an RBM; this file holds a "
                          f"{type(model).__name__}")
    return model


def cmd_xft(args: argparse.Namespace) -> int:
    from ..thermo.xft import heat_exchange, plot_trace, plot_xft
    model = load_thermo_model(args.model, args.device)
    init: Any = "random"
    if args.init == "data":
        if not args.data:
            raise ConfigError("--init data needs --data")
        init = load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    elif args.data:
        raise ConfigError("--data is used only with --init data")
    if args.kernel == "plain" and args.fraction not in ("auto", 1.0):
        raise ConfigError("the plain sweep redraws whole layers; --fraction applies to palindromic and random-scan")
    result = heat_exchange(model, args.t1, args.t2, args.chains, args.equilibrate, args.steps, args.kernel,
                           args.fraction, init, args.batch_size, not args.no_control, seed=args.seed,
                           progress=not args.no_progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots = [str(save_figure(plot_xft(result), out / "xft.png")),
             str(save_figure(plot_trace(result), out / "equilibration.png"))]
    res = {"model": str(args.model), **result.to_dict(), "plots": plots}
    atomic_write_json(out / XFT_JSON, res)
    for w in res.get("warnings", []):
        say(f"boltzlab: warning: {w}")
    if args.json:
        emit_json(res)
    else:
        say(f"wrote {out}/{XFT_JSON} and {len(plots)} plots ({res['seconds']:.1f} s)")
        for r in res["runs"] + ([res["control"]] if res["control"] else []):
            if r["slope"] is None:
                say(f"  T2 = {r['t2']:g}: no overlap of P(Q) and P(-Q)")
                continue
            say(f"  T2 = {r['t2']:g}: slope {r['slope']:.4f} +- {r['slope_stderr']:.4f} "
                f"(expected {r['expected_slope']:.4f}; {r['kernel']['label']})")
    return 0


def cmd_work(args: argparse.Namespace) -> int:
    from ..thermo import BetaRamp, Interpolation, ModelSequence, ais_work, plot_work, work_experiment
    from ..thermo.protocols import run_checkpoints
    n_models = {"beta-ramp": 1, "interpolate": 2, "ais": 1}
    if args.protocol in n_models and len(args.models) != n_models[args.protocol]:
        raise ConfigError(f"--protocol {args.protocol} takes {n_models[args.protocol]} model file(s); "
                          f"got {len(args.models)}")
    if args.kernel == "plain" and args.fraction != 1.0:
        raise ConfigError("the plain sweep redraws whole layers; --fraction applies to palindromic and random-scan")
    if args.fraction == "auto":
        raise ConfigError("--fraction auto applies to thermo xft; give a number in (0, 1]")
    out = Path(args.out)
    if args.protocol != "ais":
        args.points = args.points or 11
    if args.protocol == "ais":
        model = load_thermo_model(args.models[0], args.device)
        points = args.points or 1000
        if points < 2:
            raise ConfigError("the ais protocol needs at least 2 intermediate distributions")
        res, wf, wr = ais_work(model, args.chains, points, base=args.ais_base, burn_in=args.burn_in,
                               delta_f="exact" if args.delta_f == "exact" else "auto", seed=args.seed,
                               progress=not args.no_progress)
    else:
        if args.protocol == "beta-ramp":
            if args.points < 2:
                raise ConfigError("a protocol needs at least 2 points")
            if args.beta_from < 0 or args.beta_to < 0:
                raise ConfigError(f"inverse temperatures must be >= 0; got {args.beta_from} and {args.beta_to}")
            proto = BetaRamp.linear(load_thermo_model(args.models[0], args.device), args.beta_from, args.beta_to,
                                    args.points - 1)
        elif args.protocol == "interpolate":
            if args.points < 2:
                raise ConfigError("a protocol needs at least 2 points")
            a = load_thermo_model(args.models[0], args.device)
            b = load_thermo_model(args.models[1], args.device)
            proto = Interpolation(a, b, args.points, args.beta)
        else:
            if len(args.models) == 1:
                paths = run_checkpoints(args.models[0])
            else:
                paths = [Path(m) for m in args.models]
            models = [load_thermo_model(str(pth), args.device) for pth in paths]
            proto = ModelSequence(models, args.beta, labels=[pth.stem for pth in paths])
        init = None if args.init == "auto" else args.init
        res, wf, wr = work_experiment(proto, args.chains, args.kernel, args.fraction, args.sweeps, init,
                                      args.equilibrate, args.delta_f, args.ais_runs, args.ais_betas, args.batch_size,
                                      args.seed, progress=not args.no_progress)
    out.mkdir(parents=True, exist_ok=True)
    plots = [str(save_figure(plot_work(res, wf, wr, f"{res['protocol']['kind']} protocol, {res['kernel']['label']}"),
                             out / "work.png"))]
    res = {"models": [str(m) for m in args.models], **res, "plots": plots}
    atomic_write_json(out / WORK_JSON, res)
    if res.get("warning"):
        say(f"boltzlab: warning: {res['warning']}")
    if args.json:
        emit_json(res)
    else:
        f, r, c = res["forward"], res["reverse"], res["crooks"]
        say(f"wrote {out}/{WORK_JSON} and {out}/work.png")
        say(f"  Delta f = {res['delta_f']:.5f} ({res['delta_f_method']})")
        say(f"  Jarzynski forward {f['delta_f_jarzynski']:.5f} +- {f['delta_f_jarzynski_stderr']:.2g}, reverse "
            f"{-r['delta_f_jarzynski']:.5f} +- {r['delta_f_jarzynski_stderr']:.2g}")
        if c.get("slope") is not None:
            say(f"  Crooks slope {c['slope']:.4f} +- {c['slope_stderr'] or float('nan'):.2g} (1 expected); "
                f"BAR Delta f {c['delta_f_bar']:.5f} +- {c['delta_f_bar_stderr']:.2g}")
        say(f"  second law: <w_F> - Delta f = {res['second_law']['forward_gap']:.4f} >= 0")
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from ..errors import IntractableError
    from ..thermo import ais_curves, exact_curves, plot_curves
    if args.t_min > args.t_max:
        raise ConfigError(f"--t-min {args.t_min} is above --t-max {args.t_max}")
    model = load_thermo_model(args.model, args.device)
    temps = np.geomspace(args.t_min, args.t_max, args.points) if args.points > 1 else np.array([args.t_min])
    betas = np.sort(1.0 / temps)
    method = args.method
    if method == "auto":
        try:
            from ..partition.exact import _choose
            _choose(model, 20)
            method = "exact"
        except IntractableError:
            method = "ais"
    res: dict[str, Any] = {"model": str(args.model), "method": method}
    curves, labels = [], []
    if method in ("exact", "both"):
        res["exact"] = exact_curves(model, betas)
        curves.append(res["exact"])
        labels.append("exact")
    if method in ("ais", "both"):
        res["ais"] = ais_curves(model, betas, args.ais_runs, args.ais_steps, seed=args.seed,
                                progress=not args.no_progress)
        curves.append(res["ais"])
        labels.append(f"AIS ({args.ais_runs} runs)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res["plots"] = [str(save_figure(plot_curves(curves, labels, f"equilibrium curves of {Path(args.model).name}"),
                                    out / "curves.png"))]
    atomic_write_json(out / CURVES_JSON, res)
    if args.json:
        emit_json(res)
    else:
        say(f"wrote {out}/{CURVES_JSON} and {out}/curves.png ({method}, {len(betas)} temperatures)")
    return 0


def cmd_cd(args: argparse.Namespace) -> int:
    from ..thermo import cd_along_run, plot_cd
    from ..thermo.protocols import run_checkpoints
    src = Path(args.model)
    if src.is_dir():
        paths = run_checkpoints(src)
        labels = [int(p.stem.split("_")[-1]) for p in paths]
    else:
        paths, labels = [src], [0]
    models = [load_thermo_model(str(p), args.device) for p in paths]
    data = load_model_data(args.data, models[0], args.rows, args.binarize, args.seed)
    run = cd_along_run(models, data, args.steps, args.kernel, args.beta, labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots = [str(save_figure(plot_cd(run, "training step" if src.is_dir() else "model",
                                     f"CD as a relaxation ({run['kernel']})"), out / "cd.png"))]
    res = {"model": str(src), "data": str(args.data), **run, "plots": plots}
    atomic_write_json(out / CD_JSON, res)
    if args.json:
        emit_json(res)
    else:
        say(f"wrote {out}/{CD_JSON} and {out}/cd.png ({len(models)} model(s))")
        last = run["points"][-1]
        for row in last["rows"]:
            say(f"  n = {row['n']}: CD_n = {row['cd']:.5f} = energy {row.get('energy_term', float('nan')):.5f} + "
                f"entropy {row['entropy_term']:.5f}; KL(p_D||p) = {last['kl_data']:.5f}")
    return 0
