"""The checks behind `boltzlab theory ...` (the theory of energy-based models: perturbative solutions of
Boltzmann machines and RBMs, the zoom-in trick and the effective BM of an RBM; docs/theory.md): each takes
the parsed options, writes its outputs and returns (numbers, summary lines).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_bytes, atomic_write_json
from ..errors import CheckpointError, ConfigError, DataError, IntractableError

REPORT_JSON = "theory_report.json"


def parse_units(text: str, n: int) -> list[int]:
    """'START:STOP' or 'i,j,k' -> column indices, checked against ``n`` columns."""
    try:
        if ":" in text:
            a, _, b = text.partition(":")
            lo, hi = int(a) if a.strip() else 0, int(b) if b.strip() else n
            if not 0 <= lo < hi <= n:
                raise ValueError
            cols = list(range(lo, hi))
        else:
            cols = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--units {text!r}: give 'START:STOP' or a comma list of columns within 0..{n - 1}") from None
    if any(not 0 <= c < n for c in cols) or len(cols) < 2:
        raise ConfigError(f"--units {text!r} must select at least 2 valid columns of data with {n} columns")
    if len(set(cols)) != len(cols):
        raise ConfigError(f"--units {text!r} repeats a column")
    return cols


def load_binary_data(args: argparse.Namespace) -> tuple[np.ndarray, list[int]]:
    """The data as {0, 1} float64, rows and columns selected; (data, selected columns)."""
    from .train_run import binary_data
    x = binary_data(args.data, args.rows, args.binarize, args.seed, min_rows=2)
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


def report(args: argparse.Namespace) -> int:
    from ..io import load_model
    from ..models import BoltzmannMachine
    from ..theory import data_moments, zoom_in
    from .pipelines.theory_report import MAX_UNITS, run_report
    if args.points < 3:
        raise ConfigError(f"--points must be >= 3 to fit a slope; got {args.points}")
    x, cols = load_binary_data(args)
    const = [c for c, m in zip(cols, x.mean(0)) if m in (0.0, 1.0)]
    if const and args.zoom_delta is None:
        raise DataError(f"{args.data}: column(s) {', '.join(map(str, const[:5]))} are constant; a Boltzmann machine "
                        "fits them only with infinite fields (leave them out with --units, or use --zoom-delta)")
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
    lines: list[str] = []
    v, s = result["validity"], result["scaling"]["correlations_scaled"]
    lines.append(f"wrote {out}/{REPORT_JSON} and {len(result['plots'])} plots")
    lines.append(f"  max |Pearson| {v['max_abs_pearson']:.4f}, max |x_hat - 1/2| {v['max_mean_offset']:.3f}")
    fo = result["first_order"]["corollary_28"]
    lines.append(f"  first order: mean error {fo['mean_error']:.2e}, covariance error {fo['cov_error']:.2e}")
    lines.append(f"  error vs coupling slopes: means {s['slope_mean']:.2f}, covariances {s['slope_cov']:.2f} "
        "(second order: 2)")
    return result, lines


def _new_file(path: Path, overwrite: bool) -> Path:
    if path.exists() and not overwrite:
        raise CheckpointError(f"{path} exists; pass --overwrite to replace it")
    return path


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    import io
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def zoom(args: argparse.Namespace) -> int:
    from ..theory import zoom_in, zoom_in_mean
    x, cols = load_binary_data(args)
    out = _new_file(args.npy, args.overwrite)
    y = zoom_in(x, args.delta, args.copies, seed=args.seed)
    atomic_save_npy(out, y.numpy().astype(np.float32))
    pred = zoom_in_mean(x.mean(0), args.delta).repeat_interleave(args.copies)
    meas = y.mean(0)
    result = {"out": str(out), "shape": list(y.shape), "columns": cols, "delta": args.delta, "copies": args.copies,
              "lemma37_predicted_mean": pred.tolist(), "measured_mean": meas.tolist(),
              "max_abs_deviation": float((pred - meas).abs().max()),
              "expected_deviation_scale": float(np.sqrt(args.delta * (1 - args.delta) / x.shape[0]))}
    lines: list[str] = []
    lines.append(f"wrote {out}: {y.shape[0]} x {y.shape[1]}; Lemma 37 means within {result['max_abs_deviation']:.4f} "
        f"(noise scale {result['expected_deviation_scale']:.4f})")
    return result, lines


def rbm_to_bm(args: argparse.Namespace) -> int:
    from ..io import load_model, save_model
    from ..theory import effective_bm, exact_distribution
    out = _new_file(args.save, args.overwrite)
    model = load_model(args.model, dtype=torch.float64)
    bm = effective_bm(model, args.beta)
    save_model(bm, out)
    result: dict[str, Any] = {"out": str(out), "n_units": bm.n_visible, "beta": args.beta,
                              "w_eff_max_abs": float(bm.weights.detach().abs().max())}
    if model.n_visible <= 16 and model.n_hidden <= 16:
        _, p = exact_distribution(model, args.beta)
        _, q = exact_distribution(bm, args.beta)
        result["max_abs_log_p_difference"] = float((p.log() - q.log()).abs().max())
        result["kl_rbm_to_bm"] = float((p * (p.log() - q.log())).sum())
    lines: list[str] = []
    lines.append(f"wrote {out} (Boltzmann machine with {bm.n_visible} units)")
    if "kl_rbm_to_bm" in result:
        lines.append(f"  KL(RBM || BM) = {result['kl_rbm_to_bm']:.3e} nats; max |ln p - ln q| = "
            f"{result['max_abs_log_p_difference']:.3e}")
    return result, lines

