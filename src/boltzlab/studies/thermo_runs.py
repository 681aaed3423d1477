"""The analyses behind `boltzlab thermo ...` (stochastic thermodynamics of RBMs; docs/thermodynamics.md):
each takes the parsed options, writes its PNG plots and a JSON of its numbers into ``args.out`` and returns
(numbers, summary lines).

* ``xft``: the heat-exchange fluctuation theorem on an ensemble of chains.
* ``work``: work protocols (inverse-temperature ramps, interpolation between two models, the parameters of a
  training run read from its checkpoints, the AIS path), with Jarzynski and Crooks checks.
* ``curves``: free energy, energy, entropy and heat capacity against temperature.
* ``cd``: contrastive divergence as a relaxation process, exactly.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..errors import ConfigError
from ..plots import save_figure
from .train_run import model_data as load_model_data

XFT_JSON = "xft.json"
WORK_JSON = "work.json"
CURVES_JSON = "curves.json"
CD_JSON = "cd.json"


def load_thermo_model(path: str, device: str):
    """A model on ``device`` (checked by the --device parser), checked to be an RBM."""
    from ..io import load_model
    model = load_model(path, device=torch.device(device))
    from ..models import RBM
    if not isinstance(model, RBM):
        raise ConfigError(f"{path}: the thermodynamics commands need an RBM; this file holds a "
                          f"{type(model).__name__}")
    return model


def xft(args: argparse.Namespace) -> int:
    from ..thermo.xft import heat_exchange
    from .report_plots import plot_trace, plot_xft
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
        warnings.warn(w)
    lines: list[str] = []
    lines.append(f"wrote {out}/{XFT_JSON} and {len(plots)} plots ({res['seconds']:.1f} s)")
    for r in res["runs"] + ([res["control"]] if res["control"] else []):
        if r["slope"] is None:
            lines.append(f"  T2 = {r['t2']:g}: no overlap of P(Q) and P(-Q)")
            continue
        lines.append(f"  T2 = {r['t2']:g}: slope {r['slope']:.4f} +- {r['slope_stderr']:.4f} "
            f"(expected {r['expected_slope']:.4f}; {r['kernel']['label']})")
    return res, lines


def work(args: argparse.Namespace) -> int:
    from ..thermo import BetaRamp, Interpolation, ModelSequence, ais_work, work_experiment
    from .report_plots import plot_work
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
        warnings.warn(res["warning"])
    lines: list[str] = []
    f, r, c = res["forward"], res["reverse"], res["crooks"]
    lines.append(f"wrote {out}/{WORK_JSON} and {out}/work.png")
    lines.append(f"  Delta f = {res['delta_f']:.5f} ({res['delta_f_method']})")
    lines.append(f"  Jarzynski forward {f['delta_f_jarzynski']:.5f} +- {f['delta_f_jarzynski_stderr']:.2g}, reverse "
        f"{-r['delta_f_jarzynski']:.5f} +- {r['delta_f_jarzynski_stderr']:.2g}")
    if c.get("slope") is not None:
        lines.append(f"  Crooks slope {c['slope']:.4f} +- {c['slope_stderr'] or float('nan'):.2g} (1 expected); "
            f"BAR Delta f {c['delta_f_bar']:.5f} +- {c['delta_f_bar_stderr']:.2g}")
    lines.append(f"  second law: <w_F> - Delta f = {res['second_law']['forward_gap']:.4f} >= 0")
    return res, lines


def curves(args: argparse.Namespace) -> int:
    from ..errors import IntractableError
    from ..thermo import ais_curves, exact_curves
    from .report_plots import plot_curves
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
    lines: list[str] = []
    lines.append(f"wrote {out}/{CURVES_JSON} and {out}/curves.png ({method}, {len(betas)} temperatures)")
    return res, lines


def cd(args: argparse.Namespace) -> int:
    from ..thermo import cd_along_run
    from .report_plots import plot_cd
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
    lines: list[str] = []
    lines.append(f"wrote {out}/{CD_JSON} and {out}/cd.png ({len(models)} model(s))")
    last = run["points"][-1]
    for row in last["rows"]:
        lines.append(f"  n = {row['n']}: CD_n = {row['cd']:.5f} = energy {row.get('energy_term', float('nan')):.5f} + "
            f"entropy {row['entropy_term']:.5f}; KL(p_D||p) = {last['kl_data']:.5f}")
    return res, lines
