"""Shared pieces of the command-line interface: one-line errors, JSON output, option merging."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

import numpy as np


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"boltzlab: error: {message} (see '{self.prog} --help')\n")


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout (NumPy and torch scalars converted)."""
    print(json.dumps(obj, default=_default, indent=None))


def _default(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)


def _int_at_least(text: str, low: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
    return v


def positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return v


def positive_float(text: str) -> float:
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def image_shape(text: str) -> tuple[int, int]:
    try:
        a, b = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form HxW") from None
    return a, b


def row_range(text: str) -> slice:
    """``START:STOP`` (either may be empty) as a slice of rows."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, stop = (int(q) if q.strip() else None for q in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form START:STOP, e.g. 8000: or 0:2000") from None
    return slice(start, stop)


def _positive_list(kind: type, what: str, example: str):
    """An argparse type: a comma-separated list of positive (finite) ``kind`` values."""
    def parse(text: str) -> list:
        try:
            vals = [kind(p) for p in text.replace(" ", "").split(",") if p]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {what}") from None
        if not vals or not all(np.isfinite(v) and v > 0 for v in vals):
            raise argparse.ArgumentTypeError(f"{text!r}: give positive {what}, e.g. {example}")
        return vals
    return parse


int_list = _positive_list(int, "integers", "1,2,3")
float_list = _positive_list(float, "numbers", "6,7,8")


def torch_device(text: str) -> str:
    """A torch device that exists on this machine (``cpu``, ``cuda``, ``cuda:1``), else a one-line error."""
    import torch
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu or cuda") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise argparse.ArgumentTypeError(f"{text}: no such CUDA device on this machine")
    return text


def add_device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")


def add_seed_option(p: argparse.ArgumentParser, help: str = "seed of the random streams (default 0)") -> None:
    p.add_argument("--seed", type=int, default=0, help=help)


def add_output_options(p: argparse.ArgumentParser, out: str | None, what: str = "output directory") -> None:
    """``--out`` (default ``out``), ``--json`` and ``--no-progress``: how a command reports what it did."""
    p.add_argument("--out", default=out, help=f"{what} (default {out})" if out else what)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_run_options(p: argparse.ArgumentParser, out: str) -> None:
    """``--device``, ``--seed`` and the output options of a sampling analysis writing into directory ``out``."""
    add_device_options(p)
    add_seed_option(p)
    add_output_options(p, out)


def say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr)
