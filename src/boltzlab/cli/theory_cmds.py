"""`boltzlab theory ...`: the checks of the lecture notes on energy-based models (unpublished) on a data set.

* ``theory report``: first-order (perturbative) Boltzmann machine against the exact maximum-likelihood one,
  exact against first-order marginals, the RBM perturbation equations, and the error of the first-order
  solution against the coupling strength (it scales as the next order); JSON + PNG into ``--out``.
* ``theory zoom``: the zoom-in trick (Definition 36) as a data transform, with the statistics of Lemma 37.
* ``theory rbm-to-bm``: the Boltzmann machine an RBM reduces to (Lemma 31, Appendix A), saved as a model,
  with the exact comparison of the two marginals when they can be enumerated.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..errors import ConfigError, DataError, IntractableError
from .common import add_output_options, emit_json, finite_float, positive_float, positive_int, row_range, say

REPORT_JSON = "theory_report.json"


def register(sub: argparse._SubParsersAction) -> None:
    from .common import Parser
    p = sub.add_parser("theory", help="numerical checks of the theory of energy-based models on a data set",
                       description="Perturbative solutions of Boltzmann machines and RBMs, the zoom-in trick "
                                   "and the effective BM of an RBM (see docs/theory.md).")
    tsub = p.add_subparsers(dest="theory_command", metavar="SUBCOMMAND", parser_class=Parser)

    r = tsub.add_parser("report", help="perturbative vs trained BM, marginals, error vs coupling strength",
                        description="On binary data with at most 16 units (select them with --units or "
                                    "--select): the first-order solution of the BM (Theorem 27, Cor. 28/30) "
                                    "against exact maximum likelihood, exact vs first-order marginals, the "
                                    "maximum-entropy residual (eq. 5), the least-squares RBM of Theorem 32 and "
                                    "the error of the first-order solution as the correlations are scaled "
                                    "down (it should fall as the square of the coupling). Writes "
                                    f"OUT/{REPORT_JSON} and PNG plots.")
    add_data_arguments(r)
    r.add_argument("--zoom-delta", type=finite_float, default=None,
                   help="apply the zoom-in trick first with this delta in [0, 0.5) (Definition 36)")
    r.add_argument("--zoom-copies", type=positive_int, default=1, help="copies per unit for the zoom-in (default 1)")
    r.add_argument("--hidden", type=positive_int, default=2,
                   help="hidden units of the perturbative RBM (Theorem 32, default 2)")
    r.add_argument("--points", type=positive_int, default=9, help="points of each scaling scan (default 9, >= 3)")
    r.add_argument("--trained", default=None,
                   help="a BM checkpoint (from 'boltzlab train --model bm') to compare as well")
    add_output_options(r, "runs/theory")
    r.set_defaults(func=cmd_report)

    z = tsub.add_parser("zoom", help="the zoom-in trick as a data transform (Definition 36)",
                        description="Replace every binary unit by COPIES noisy copies that flip with "
                                    "probability DELTA; writes the new data (.npy) and prints the statistics "
                                    "of Lemma 37 (predicted and measured means).")
    add_data_arguments(z)
    z.add_argument("--delta", type=finite_float, required=True, help="flip probability in [0, 0.5)")
    z.add_argument("--copies", type=positive_int, default=1, help="copies per unit (default 1)")
    z.add_argument("--out", required=True, help="output .npy file")
    z.add_argument("--json", action="store_true")
    z.set_defaults(func=cmd_zoom)

    e = tsub.add_parser("rbm-to-bm", help="the Boltzmann machine an RBM reduces to (Lemma 31)",
                        description="W_eff = (beta/4) U U^T, b_eff = b - U (h_hat - 1/2 - beta c/4), centres "
                                    "v_hat (Lemma 31, Appendix A). Saves the BM as a model file and, for "
                                    "small models, compares the exact marginals.")
    e.add_argument("model", help="a binary RBM (.pt checkpoint or .npz)")
    e.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    e.add_argument("--out", required=True, help="output model file (.pt) for the Boltzmann machine")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_rbm_to_bm)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True,
                   help="binary data: a file (.npy, .npz, .csv, IDX), an MNIST directory or 'ising:...'")
    p.add_argument("--rows", type=row_range, default=None, help="use rows START:STOP of the data")
    p.add_argument("--binarize", choices=["threshold", "stochastic"], default=None,
                   help="binarise [0, 1] data (default: threshold when the data are not binary)")
    p.add_argument("--units", default=None,
                   help="columns to use: 'START:STOP' or a comma list, e.g. '0:12' or '3,5,9'")
    p.add_argument("--select", type=positive_int, default=None,
                   help="use the N most variable columns (default 12 when the data have more than 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of stochastic binarisation and of the zoom-in")


def parse_units(text: str, n: int) -> list[int]:
    """'START:STOP' or 'i,j,k' -> column indices, checked against ``n`` columns."""
    try:
        if ":" in text:
            a, _, b = text.partition(":")
            cols = list(range(n))[slice(int(a) if a.strip() else None, int(b) if b.strip() else None)]
        else:
            cols = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--units {text!r} is not 'START:STOP' or a comma list of column numbers") from None
    bad = [c for c in cols if not 0 <= c < n]
    if bad or not cols:
        raise ConfigError(f"--units {text!r} selects no valid columns of data with {n} columns")
    if len(set(cols)) != len(cols):
        raise ConfigError(f"--units {text!r} repeats a column")
    return cols


def load_binary_data(args: argparse.Namespace) -> tuple[np.ndarray, list[int]]:
    """The data as {0, 1} float64, rows and columns selected; (data, selected columns)."""
    from ..data import binarize as _binarize
    from ..data import load_dataset
    x = load_dataset(args.data, seed=args.seed)
    if args.rows is not None:
        x = x[args.rows]
    if x.shape[0] < 2:
        raise DataError(f"{args.data}: need at least 2 rows, got {x.shape[0]}")
    if args.binarize or not np.isin(x, (0, 1)).all():
        x = _binarize(x, method=args.binarize or "threshold", seed=args.seed)
    n = x.shape[1]
    if args.units is not None and args.select is not None:
        raise ConfigError("give --units or --select, not both")
    if args.units is not None:
        cols = parse_units(args.units, n)
    elif args.select is not None or n > 16:
        k = args.select or 12
        if k > n:
            raise ConfigError(f"--select {k}: the data have only {n} columns")
        var = x.mean(0) * (1 - x.mean(0))
        cols = sorted(np.argsort(-var, kind="stable")[:k].tolist())
    else:
        cols = list(range(n))
    return x[:, cols].astype(np.float64), cols


def cmd_report(args: argparse.Namespace) -> int:
    from ..io import load_model
    from ..models import BoltzmannMachine
    from ..theory import data_moments, zoom_in
    from ..studies.pipelines.theory_report import MAX_UNITS, run_report
    if args.points < 3:
        raise ConfigError(f"--points must be >= 3 to fit a slope; got {args.points}")
    x, cols = load_binary_data(args)
    zoom = None
    source = None
    if args.zoom_delta is not None:
        if len(cols) * args.zoom_copies > MAX_UNITS:
            raise IntractableError(f"{len(cols)} units x {args.zoom_copies} copies = {len(cols) * args.zoom_copies} "
                                   f"units; the report enumerates at most {MAX_UNITS}")
        source = data_moments(x)
        xt = zoom_in(x, args.zoom_delta, args.zoom_copies, seed=args.seed)
        zoom = {"delta": args.zoom_delta, "copies": args.zoom_copies}
    else:
        xt = torch.from_numpy(x)
    if xt.shape[1] > MAX_UNITS:
        raise IntractableError(f"{xt.shape[1]} units: the report enumerates 2^n states and is limited to "
                               f"{MAX_UNITS} units; choose them with --units or --select")
    trained = None
    if args.trained:
        trained = load_model(args.trained)
        if not isinstance(trained, BoltzmannMachine) or trained.n_visible != xt.shape[1]:
            raise ConfigError(f"{args.trained}: not a Boltzmann machine with {xt.shape[1]} units "
                              "(train one with 'boltzlab train --model bm' on the same units)")
    out = Path(args.out)
    result = run_report(xt, out, source=source, zoom=zoom, n_hidden=args.hidden, n_factors=args.points,
                        trained=trained, progress=not args.no_progress,
                        title=f"({Path(str(args.data)).name}, {xt.shape[1]} units)")
    result = {"data": str(args.data), "columns": cols, **result}
    atomic_write_json(out / REPORT_JSON, result)
    if args.json:
        emit_json(result)
    else:
        v, s = result["validity"], result["scaling"]["correlations_scaled"]
        say(f"wrote {out}/{REPORT_JSON} and {len(result['plots'])} plots")
        say(f"  max |Pearson| {v['max_abs_pearson']:.4f}, max |x_hat - 1/2| {v['max_mean_offset']:.3f}")
        fo = result["first_order"]["corollary_28"]
        say(f"  first order: mean error {fo['mean_error']:.2e}, covariance error {fo['cov_error']:.2e}")
        say(f"  error vs coupling slopes: means {s['slope_mean']:.2f}, covariances {s['slope_cov']:.2f} "
            "(second order: 2)")
    return 0


def cmd_zoom(args: argparse.Namespace) -> int:
    from ..theory import zoom_in, zoom_in_mean
    x, cols = load_binary_data(args)
    y = zoom_in(x, args.delta, args.copies, seed=args.seed)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ConfigError(f"--out must name a .npy file; got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, y.numpy().astype(np.float32))
    pred = zoom_in_mean(x.mean(0), args.delta).repeat_interleave(args.copies)
    meas = y.mean(0)
    result = {"out": str(out), "shape": list(y.shape), "columns": cols, "delta": args.delta, "copies": args.copies,
              "lemma37_predicted_mean": pred.tolist(), "measured_mean": meas.tolist(),
              "max_abs_deviation": float((pred - meas).abs().max()),
              "expected_deviation_scale": float(np.sqrt(args.delta * (1 - args.delta) / x.shape[0]))}
    if args.json:
        emit_json(result)
    else:
        say(f"wrote {out}: {y.shape[0]} x {y.shape[1]}; Lemma 37 means within {result['max_abs_deviation']:.4f} "
            f"(noise scale {result['expected_deviation_scale']:.4f})")
    return 0


def cmd_rbm_to_bm(args: argparse.Namespace) -> int:
    from ..io import load_model, save_model
    from ..theory import effective_bm, exact_distribution
    model = load_model(args.model, dtype=torch.float64)
    bm = effective_bm(model, args.beta)
    out = Path(args.out)
    if out.suffix == ".npz":
        raise ConfigError("the .npz interchange format holds RBMs; save the Boltzmann machine as a .pt file")
    save_model(bm, out)
    result: dict[str, Any] = {"out": str(out), "n_units": bm.n_visible, "beta": args.beta,
                              "w_eff_max_abs": float(bm.weights.detach().abs().max())}
    if model.n_visible <= 16 and model.n_hidden <= 16:
        _, p = exact_distribution(model, args.beta)
        _, q = exact_distribution(bm, args.beta)
        result["max_abs_log_p_difference"] = float((p.log() - q.log()).abs().max())
        result["kl_rbm_to_bm"] = float((p * (p.log() - q.log())).sum())
    if args.json:
        emit_json(result)
    else:
        say(f"wrote {out} (Boltzmann machine with {bm.n_visible} units)")
        if "kl_rbm_to_bm" in result:
            say(f"  KL(RBM || BM) = {result['kl_rbm_to_bm']:.3e} nats; max |ln p - ln q| = "
                f"{result['max_abs_log_p_difference']:.3e}")
    return 0

