"""Figures (matplotlib): learning curves, sample grids, weight filters.

Figures are built as :class:`matplotlib.figure.Figure` objects, not through pyplot, so importing boltzlab
never selects or switches the user's matplotlib backend and no figure lingers in pyplot's registry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["learning_curves", "image_grid", "weight_filters", "guess_image_shape", "finish_figure", "save_figure",
           "subplots"]

_FIGURE_KEYS = ("figsize", "dpi", "layout", "constrained_layout", "tight_layout", "facecolor")


def subplots(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` without pyplot: a new :class:`Figure` (keys such as ``figsize``) and its axes
    (``squeeze``, ``sharex``, ``subplot_kw``, ... as in :meth:`Figure.subplots`)."""
    fig = Figure(**{k: kw.pop(k) for k in _FIGURE_KEYS if k in kw})
    return fig, fig.subplots(nrows, ncols, **kw)


def finish_figure(fig: Figure, title: str = "") -> Figure:
    """Give ``fig`` its title and lay it out; returns it."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path, title: str = "") -> Path:
    """Give ``fig`` its title, lay it out and write it as PNG (for the CLI and the studies)."""
    path = Path(path)
    finish_figure(fig, title).savefig(path, dpi=110)
    return path


def guess_image_shape(n: int) -> tuple[int, int] | None:
    """(side, side) when ``n`` is a perfect square, else None (then grids show rows of units)."""
    s = int(round(math.sqrt(n)))
    return (s, s) if s * s == n else None


def learning_curves(history: Sequence[dict[str, Any]], title: str = "") -> Figure:
    """Log-likelihoods (exact when tractable, pseudo otherwise), reconstruction error and |W| per epoch."""
    steps = [r["step"] for r in history]
    fig, axes = subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    for key, label in (("train_log_likelihood", "train (exact)"), ("test_log_likelihood", "held out (exact)"),
                       ("test_log_likelihood_averaged", "held out, parameter average (exact)"),
                       ("pseudo_log_likelihood", "pseudo-LL (train)")):
        ys = [r.get(key) for r in history]
        if any(y is not None for y in ys):
            ax.plot(steps, [np.nan if y is None else y for y in ys], marker="o", ms=3, label=label)
    ax.set_xlabel("updates"); ax.set_ylabel("nats per sample"); ax.set_title("log-likelihood"); ax.legend()
    axes[1].plot(steps, [r.get("reconstruction_error", np.nan) for r in history], marker="o", ms=3)
    axes[1].set_xlabel("updates"); axes[1].set_title("reconstruction error (MSE per unit)")
    axes[2].plot(steps, [r.get("weight_norm", np.nan) for r in history], marker="o", ms=3)
    axes[2].set_xlabel("updates"); axes[2].set_title("||W|| (Frobenius)")
    for a in axes:
        a.grid(alpha=0.3)
    return finish_figure(fig, title)


def image_grid(x: np.ndarray, shape: tuple[int, int] | None = None, n_cols: int = 10, title: str = "",
               cmap: str = "gray", symmetric: bool = False) -> Figure:
    """Tile the rows of ``x`` as images of ``shape`` (or as single-row strips when no shape fits)."""
    x = np.asarray(x, dtype=float)
    shape = shape or guess_image_shape(x.shape[1]) or (1, x.shape[1])
    n = x.shape[0]
    n_cols = min(n_cols, n)
    n_rows = math.ceil(n / n_cols)
    fig, axes = subplots(n_rows, n_cols, figsize=(min(1.2 * n_cols, 16), 1.2 * n_rows + 0.4),
                             squeeze=False)
    lim = np.abs(x).max() if symmetric else None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            kw = {"vmin": -lim, "vmax": lim} if symmetric else {"vmin": x.min(), "vmax": x.max()}
            ax.imshow(x[i].reshape(shape), cmap=cmap, interpolation="nearest", **kw)
    return finish_figure(fig, title)


def weight_filters(weights: np.ndarray, shape: tuple[int, int] | None = None, max_filters: int = 64,
                   title: str = "weight filters (columns of W)") -> Figure:
    """Each hidden unit's incoming weights drawn as an image, blue-white-red around zero."""
    w = np.asarray(weights, dtype=float).T[:max_filters]
    return image_grid(w, shape, n_cols=min(8, len(w)), title=title, cmap="bwr", symmetric=True)
