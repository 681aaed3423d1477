"""Small helpers that turn user input into tensors of a chosen device and dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import DomainError, ShapeError


def as_tensor(x: Any, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None,
              name: str = "array") -> torch.Tensor:
    """Convert a tensor, NumPy array or nested sequence to a tensor, refusing NaN and infinities."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as exc:  # ragged lists, objects
            raise ShapeError(f"{name} could not be read as a numeric array: {exc}") from None
    if dtype is None:
        dtype = t.dtype if t.is_floating_point() else torch.get_default_dtype()
    t = t.to(device=device, dtype=dtype)
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise DomainError(f"{name} contains NaN or infinite values")
    return t


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator on ``device``; seeded from ``seed`` or, when None, from fresh OS entropy."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g
