"""Sequence logos of Potts weights (matplotlib only) and site-frequency comparisons.

A weight logo of hidden unit mu shows, at each site i, the letters a stacked with heights W_{i a mu}:
positive weights above the axis (largest on top), negative below, as in Tubiana, Cocco & Monasson (eLife
2019, Fig. 2).  Letters are drawn as glyph outlines (``TextPath``) stretched to their box, so no logo
package is needed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from matplotlib.figure import Figure

from . import finish_figure, subplots

_FONT = FontProperties(family="DejaVu Sans", weight="bold")
_COLOURS = {**{c: "#1f77b4" for c in "KRH"}, **{c: "#d62728" for c in "DE"},
            **{c: "#2ca02c" for c in "STNQGCY"}, **{c: "#333333" for c in "AVLIPWFM"},
            "-": "#aaaaaa", "U": "#ff7f0e", "T": "#2ca02c"}


def _glyph(ax, letter: str, x: float, y: float, height: float, width: float = 0.9) -> None:
    """Draw ``letter`` filling the box [x, x + width] x [y, y + height] (height may be negative)."""
    if abs(height) < 1e-9:
        return
    tp = TextPath((0, 0), letter, size=1, prop=_FONT)
    ext = tp.get_extents()
    w, h = max(ext.width, 1e-6), max(ext.height, 1e-6)
    tr = (Affine2D().translate(-ext.x0, -ext.y0).scale(width / w, abs(height) / h)
          .translate(x, y if height > 0 else y + height))
    ax.add_patch(PathPatch(tr.transform_path(tp), lw=0, color=_COLOURS.get(letter, "#555555")))


def draw_logo(ax, heights: np.ndarray, symbols: str, positions: Sequence[int] | None = None) -> None:
    """A logo of ``heights`` (length, q) on ``ax``: positive letters stacked up, negative down."""
    length, q = heights.shape
    for i in range(length):
        col = heights[i]
        up = [a for a in np.argsort(col) if col[a] > 0]
        down = [a for a in np.argsort(-col) if col[a] < 0]
        y = 0.0
        for a in up:
            _glyph(ax, symbols[a], i + 0.05, y, float(col[a]))
            y += float(col[a])
        y = 0.0
        for a in down:
            _glyph(ax, symbols[a], i + 0.05, y, float(col[a]))
            y += float(col[a])
    top = max(float(np.clip(heights, 0, None).sum(1).max()), 1e-3)
    bottom = min(float(np.clip(heights, None, 0).sum(1).min()), -1e-3)
    ax.set_xlim(0, length)
    ax.set_ylim(bottom * 1.05, top * 1.05)
    ax.axhline(0, color="k", lw=0.5)
    pos = list(positions) if positions is not None else list(range(length))
    step = max(1, length // 20)
    ax.set_xticks(np.arange(0, length, step) + 0.5)
    ax.set_xticklabels([str(pos[i] + 1) for i in range(0, length, step)], fontsize=7)


def weight_logos(weights: np.ndarray, symbols: str, n_units: int = 6, max_sites: int = 80,
                 title: str = "") -> Figure:
    """Logos of the ``n_units`` hidden units with the largest ||W_mu||, each over its ``max_sites`` most
    weighted sites (in sequence order) when the sequence is longer."""
    w = np.asarray(weights, dtype=float)  # (n_sites, q, n_hidden)
    norms = np.sqrt((w ** 2).sum((0, 1)))
    order = np.argsort(-norms)[:max(1, min(n_units, w.shape[2]))]
    fig, axes = subplots(len(order), 1, figsize=(min(2 + 0.22 * min(w.shape[0], max_sites), 20),
                                                      1.9 * len(order)), squeeze=False)
    for ax, mu in zip(axes[:, 0], order):
        wm = w[:, :, mu]
        sites = np.arange(w.shape[0])
        if w.shape[0] > max_sites:
            sites = np.sort(np.argsort(-np.abs(wm).sum(1))[:max_sites])
        draw_logo(ax, wm[sites], symbols, sites)
        ax.set_ylabel(f"h{mu}\n|W|={norms[mu]:.2f}", fontsize=8)
    axes[-1, 0].set_xlabel("site")
    return finish_figure(fig, title or "hidden-unit weights W_{i a mu} as sequence logos")


def frequency_comparison(f_data: np.ndarray, f_model: np.ndarray, title: str = "") -> Figure:
    """Scatter of single-site frequencies f_i(a): (weighted) data against model samples."""
    fig, ax = subplots(figsize=(4.5, 4.2))
    ax.scatter(f_data.ravel(), f_model.ravel(), s=6, alpha=0.6)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    r = float(np.corrcoef(f_data.ravel(), f_model.ravel())[0, 1])
    ax.set_xlabel("data f_i(a) (sequence-weighted)")
    ax.set_ylabel("model samples f_i(a)")
    ax.set_title(f"single-site frequencies, r = {r:.3f}")
    ax.grid(alpha=0.3)
    return finish_figure(fig, title)
