"""The registry of reproduction entries and the object an entry works with while it runs.

An entry is a function ``fn(study: Study) -> dict | None`` registered by name with :func:`entry`.  It sizes its
work by ``study.quick`` (two tiers: ``quick`` for CI, ``full`` for the figures the docs quote), declares every
checked number with :meth:`Study.figure`, saves its plots with :meth:`Study.save`, and may return a dictionary
of further numbers (written beside the figures in its JSON).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .figures import Figure

FRAMEWORK_MODULES = {"figures", "registry", "runner"}


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    fn: Callable[["Study"], dict[str, Any] | None]


ENTRIES: dict[str, Entry] = {}


def entry(name: str, summary: str) -> Callable:
    """Register ``fn`` as the reproduction ``name``; ``summary`` is its ``--list`` line: what it reproduces,
    naming the paper's figure, equation or section."""
    def deco(fn: Callable[["Study"], dict[str, Any] | None]) -> Callable:
        if name in ENTRIES and ENTRIES[name].fn.__module__ != fn.__module__:
            raise ValueError(f"two reproduction entries are named {name!r}")
        ENTRIES[name] = Entry(name, summary, fn)
        return fn
    return deco


def load_entries() -> dict[str, Entry]:
    """Import every entry module of :mod:`boltzlab.studies` (each registers its entries) and return the registry."""
    from .. import studies
    for mod in pkgutil.iter_modules(studies.__path__):
        if mod.name not in FRAMEWORK_MODULES and not mod.name.startswith("_"):
            importlib.import_module(f"{studies.__name__}.{mod.name}")
    return ENTRIES


class Study:
    """What a running entry sees: its tier, output directory and progress switch; it collects the figures."""

    def __init__(self, name: str, out: Path, quick: bool, progress: bool, cache_root: Path | None = None,
                 data: dict[str, str | None] | None = None) -> None:
        self.name = name
        self.out = Path(out)
        self.quick = quick
        self.progress = progress
        self.cache_root = Path(cache_root) if cache_root is not None else Path("runs") / "cache"
        self.data = dict(data or {})
        self.figures: list[Figure] = []
        self.plots: list[str] = []

    @property
    def tier(self) -> str:
        return "quick" if self.quick else "full"

    def size(self, quick: Any, full: Any) -> Any:
        """``quick`` in the quick tier, ``full`` otherwise."""
        return quick if self.quick else full

    def figure(self, name: str, value: float, reference: float, tolerance: float, kind: str, source: str,
               stderr: float | None = None, note: str = "", **extra: Any) -> Figure:
        """Declare a checked number; whether it holds is computed from the numbers (see :mod:`.figures`)."""
        if any(f.name == name for f in self.figures):
            raise ValueError(f"entry {self.name!r} declares figure {name!r} twice")
        fig = Figure(name, float(value), float(reference), float(tolerance), kind, source,
                     None if stderr is None else float(stderr), note, extra)
        self.figures.append(fig)
        return fig

    def save(self, fig: Any, filename: str, title: str = "") -> Path:
        """Write the matplotlib figure ``fig`` as ``out/filename`` (PNG) and list it among the entry's plots."""
        from ..plots import save_figure
        path = save_figure(fig, self.out / filename, title)
        self.plots.append(str(path))
        return path

    def mnist(self) -> Path:
        """The MNIST directory: ``--mnist``, then ``$BOLTZLAB_MNIST``, then ../shared/data/mnist (see
        :func:`boltzlab.data.mnist_dir`)."""
        from ..data import mnist_dir
        return mnist_dir(self.data.get("mnist"))

    def cache_dir(self, kind: str, config: dict[str, Any]) -> Path:
        """A directory under the cache root keyed by ``kind`` and a hash of ``config`` (shared between entries:
        a model trained by one entry is reused by the next that asks for the same configuration)."""
        key = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
        d = self.cache_root / f"{kind}-{key}"
        d.mkdir(parents=True, exist_ok=True)
        return d
