"""Shared pieces of the command-line interface: argument types that validate before any work, TOML
options under the flags' own names, output directories, one-line errors and JSON output.

Conventions of every command: results go to stdout, progress and logs to stderr; ``--out`` is a directory;
a single output file has a flag of its own; bad input is one ``boltzlab: error: ...`` line and exit 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np

from ..errors import ConfigError, require

MAX_SEED = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def _get_formatter(self) -> argparse.HelpFormatter:  # the terminal width looked up once, not per flag
        return self.formatter_class(prog=self.prog, width=_width())

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"boltzlab: error: {message} (see '{self.prog} --help')\n")


@functools.lru_cache(maxsize=1)
def _width() -> int:
    return shutil.get_terminal_size().columns - 2


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout (NumPy and torch scalars converted)."""
    print(json.dumps(obj, default=_default, indent=None))


def _default(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x.tolist() if hasattr(x, "tolist") else str(x)


def say(msg: str, quiet: bool = False) -> None:
    """A log line on stderr."""
    if not quiet:
        print(msg, file=sys.stderr)


# ---------------------------------------------------------------------------------------------- types
def integer(low: int, high: int = MAX_SEED) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"must lie in [{low}, {high}], got {v}" if high < MAX_SEED
                                             else f"must be >= {low}, got {v}")
        return v
    return parse


positive_int = integer(1)
non_negative_int = integer(0)
seed = integer(0)


def number(low: float = -np.inf, high: float = np.inf, open_low: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not np.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be finite, got {text}")
        if v < low or (open_low and v == low) or v > high:
            lo = "(" if open_low else "["
            raise argparse.ArgumentTypeError(f"must lie in {lo}{low:g}, {high:g}], got {text}")
        return v
    return parse


finite_float = number()
positive_float = number(0, open_low=True)
unit_fraction = number(0, 1, open_low=True)


def image_shape(text: str) -> tuple[int, int]:
    try:
        a, b = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form HxW") from None
    if a < 1 or b < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: both sides must be >= 1")
    return a, b


def check_image_shape(shape: tuple[int, int] | None, n: int) -> None:
    if shape is not None and shape[0] * shape[1] != n:
        raise ConfigError(f"--image-shape {shape[0]}x{shape[1]} holds {shape[0] * shape[1]} pixels; the model has "
                          f"{n} visible units")


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


def _positive_list(kind: type, what: str, example: str) -> Callable[[str], list]:
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


def out_dir(text: str) -> Path:
    """An output directory: a path that does not exist yet or a directory, never a file."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; --out names a directory")
    if any(q.exists() and not q.is_dir() for q in p.parents):
        raise argparse.ArgumentTypeError(f"{text}: a folder above it is a file")
    return p


def file_with_suffix(*suffixes: str) -> Callable[[str], Path]:
    """An output file with one of ``suffixes`` whose folder is not a file."""
    def parse(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text}: the file name must end in {' or '.join(suffixes)}")
        if p.is_dir() or any(q.exists() and not q.is_dir() for q in p.parents):
            raise argparse.ArgumentTypeError(f"{text}: not a place for a file")
        return p
    return parse


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


# ---------------------------------------------------------------------------------------------- option groups
def add_device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")


def add_seed_option(p: argparse.ArgumentParser, help: str = "seed of the random streams, >= 0 (default 0)") -> None:
    p.add_argument("--seed", type=seed, default=0, help=help)


def add_output_options(p: argparse.ArgumentParser, out: str | None, what: str = "output directory") -> None:
    """``--out`` (default ``out``), ``--json`` and ``--no-progress``: how a command reports what it did."""
    p.add_argument("--out", type=out_dir, default=None if out is None else Path(out),
                   help=f"{what} (default {out})" if out else what)
    p.add_argument("--json", action="store_true", help="print the numbers as one JSON object on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_run_options(p: argparse.ArgumentParser, out: str) -> None:
    """``--device``, ``--seed`` and the output options of a sampling analysis writing into directory ``out``."""
    add_device_options(p)
    add_seed_option(p)
    add_output_options(p, out)


# ---------------------------------------------------------------------------------------------- TOML options
def read_toml(path: str, table: str) -> dict[str, Any]:
    """The keys of ``[table]`` (or the top level) of a TOML file, dashes and underscores alike."""
    from ..io import read_toml as read
    raw = read(path)
    section = raw.get(table, raw)
    require(isinstance(section, dict), f"{path}: [{table}] must be a table")
    return {k.replace("-", "_"): v for k, v in section.items()}


def apply_toml(parser: argparse.ArgumentParser, args: argparse.Namespace, path: str, table: str,
               skip: tuple[str, ...] = ()) -> set[str]:
    """Fill the options not given as flags from the TOML file, each checked as its flag is; returns the
    names set.  The keys are the long flag names; a key of the wrong type is refused by name."""
    actions = {a.option_strings[0][2:].replace("-", "_"): a for a in parser._actions
               if a.option_strings and a.option_strings[0].startswith("--")}
    given = set()
    for key, val in read_toml(path, table).items():
        act = actions.get(key)
        if act is None or key in skip:
            raise ConfigError(f"{path}: unknown option {key!r} (the keys are the long flag names of "
                              f"'{parser.prog}', e.g. hidden, batch-size)")
        if getattr(args, act.dest) is not None:
            continue  # a flag overrides the file
        if act.nargs == 0 or isinstance(act, argparse.BooleanOptionalAction):
            require(isinstance(val, bool), f"{path}: option {key!r} must be true or false, got {val!r}")
        elif isinstance(val, (bool, list, dict)):
            raise ConfigError(f"{path}: option {key!r} takes one value, got {val!r}")
        else:
            try:
                val = act.type(str(val)) if act.type is not None else str(val)
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise ConfigError(f"{path}: option {key!r}: {exc}") from None
            if act.choices is not None and val not in act.choices:
                raise ConfigError(f"{path}: option {key!r} must be one of {', '.join(map(str, act.choices))}; "
                                  f"got {val!r}")
        setattr(args, act.dest, val)
        given.add(act.dest)
    return given


def reporting(fn: Callable[[argparse.Namespace], tuple[dict[str, Any], str | list[str]] | None]) -> Callable[..., int]:
    """A command from an analysis that returns (numbers, summary): the numbers as JSON with --json, else the
    summary, on stdout (None: nothing to report, as on the processes other than rank 0)."""
    def run(args: argparse.Namespace) -> int:
        if (out := fn(args)) is None:
            return 0
        res, summary = out
        if args.json:
            emit_json(res)
        else:
            print(summary if isinstance(summary, str) else "\n".join(summary))
        return 0
    return run
