"""Sequence logos of Potts weights (matplotlib only).

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
