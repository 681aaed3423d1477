"""Array transforms that turn raw data into training data for Boltzmann machines.

All functions accept NumPy arrays, torch tensors or nested sequences and (except
:func:`train_test_split`, which keeps the container type) return NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DomainError, ShapeError, require

__all__ = ["flatten_images", "scale_to_unit", "binarize", "train_test_split", "to_spins"]


def _as_numpy(x: Any, name: str = "x") -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"{name} could not be read as a numeric array: {' '.join(str(exc).split())}") from None
    require(arr.dtype.kind in "biuf", f"{name} is not a real numeric array (dtype {arr.dtype})", ShapeError)
    return arr


def _float_dtype(arr: np.ndarray) -> np.dtype:
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)


def _check_unit_interval(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        return
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DomainError(f"{name} contains NaN or infinite values")
    lo, hi = arr.min(), arr.max()
    require(lo >= 0 and hi <= 1, f"{name} has values outside [0, 1] (min {lo:g}, max {hi:g}); "
                                    "scale it first, e.g. with scale_to_unit", DomainError)


def flatten_images(x: Any, dtype: np.dtype | type | None = None) -> np.ndarray:
    """Flatten a stack of images to one row per sample.

    Parameters
    ----------
    x : array_like
        Shape ``(n, h, w)`` (or any ``(n, ...)``, e.g. ``(n, channels, h, w)``); a 2-D ``(n, d)``
        array is passed through.
    dtype : dtype, optional
        Output dtype; default: the input's dtype if it is floating, else ``float32``.  Values are
        not rescaled (use :func:`scale_to_unit`).

    Returns
    -------
    numpy.ndarray
        Floating array of shape ``(n, d)`` with ``d = h * w`` (C order: row after row).

    Raises
    ------
    ShapeError
        For 0-D and 1-D input (a single image must be passed as ``x[None]``).
    """
    arr = _as_numpy(x)
    if arr.ndim < 2:
        raise ShapeError(f"expected images of shape (n, h, w) or data of shape (n, d), got shape {arr.shape}")
    out_dtype = np.dtype(dtype) if dtype is not None else _float_dtype(arr)
    require(out_dtype.kind == "f", f"flatten_images: dtype must be a floating type, got {out_dtype}")
    return np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=out_dtype)


def scale_to_unit(x: Any) -> np.ndarray:
    """Scale pixel intensities to ``[0, 1]``.

    * integer (e.g. ``uint8``) data with values in ``0..255`` is divided by 255 (to ``float32``);
    * floating data already in ``[0, 1]`` is returned unchanged (same dtype);
    * floating data outside ``[0, 1]`` whose values are all integers in ``0..255`` (e.g. ``uint8``
      images that were cast to float) is divided by 255 as well;
    * booleans become ``0.0`` / ``1.0``.

    Parameters
    ----------
    x : array_like
        The data, any shape.

    Returns
    -------
    numpy.ndarray
        Floating array of the same shape with values in ``[0, 1]``.

    Raises
    ------
    DomainError
        For negative values, NaN/infinities, integers above 255, or floats outside ``[0, 1]`` that
        are not integer pixel values.
    """
    arr = _as_numpy(x)
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    if arr.size == 0:
        return arr.astype(_float_dtype(arr))
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DomainError("data contains NaN or infinite values")
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind in "iu":
        require(lo >= 0 and hi <= 255, f"integer data has values outside 0..255 (min {lo}, max {hi}); "
                                          "cannot scale it as pixel intensities", DomainError)
        return arr.astype(np.float32) / np.float32(255)
    if lo >= 0 and hi <= 1:
        return arr
    if lo >= 0 and hi <= 255 and bool(np.all(arr == np.round(arr))):
        return arr / arr.dtype.type(255)
    raise DomainError(f"data has values outside [0, 1] (min {lo:g}, max {hi:g}) that are not 0..255 "
                      "pixel values; cannot scale it to [0, 1]")


def binarize(x: Any, method: str = "threshold", threshold: float = 0.5, seed: int | None = None) -> np.ndarray:
    """Turn intensities in ``[0, 1]`` into binary ``{0, 1}`` data.

    Parameters
    ----------
    x : array_like
        Intensities in ``[0, 1]`` (scale ``uint8`` images with :func:`scale_to_unit` first), any shape.
    method : {"threshold", "stochastic"}
        ``"threshold"``: 1 where ``x > threshold``.  ``"stochastic"``: each entry is 1 with
        probability equal to its intensity, independently (the usual binarisation of MNIST for
        Boltzmann machines); reproducible for a given ``seed``.
    threshold : float
        Threshold in ``[0, 1]`` for ``method="threshold"``.
    seed : int, optional
        Seed of the NumPy generator for ``method="stochastic"``; None draws fresh OS entropy.

    Returns
    -------
    numpy.ndarray
        Array of the same shape with values 0 and 1, of the input's floating dtype (``float32`` for
        non-floating input).

    Raises
    ------
    DomainError
        If ``x`` has values outside ``[0, 1]`` or NaN.
    ConfigError
        For an unknown method or a threshold outside ``[0, 1]``.
    """
    if method not in ("threshold", "stochastic"):
        raise ConfigError(f"unknown binarization method {method!r}; expected 'threshold' or 'stochastic'")
    arr = _as_numpy(x)
    _check_unit_interval(arr, "data to binarize")
    out_dtype = _float_dtype(arr)
    if method == "threshold":
        threshold = float(threshold)
        require(0.0 <= threshold <= 1.0, f"binarization threshold must lie in [0, 1], got {threshold:g}")
        return (arr > threshold).astype(out_dtype)
    rng = np.random.default_rng(seed)
    return (rng.random(arr.shape) < arr).astype(out_dtype)


def train_test_split(x: Any, y: Any = None, *, test_fraction: float | None = None, n_test: int | None = None,
                     seed: int | None = 0) -> tuple:
    """Split samples (rows) into a training and a test part by a seeded random permutation.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Samples along the first axis.
    y : numpy.ndarray or torch.Tensor, optional
        Labels (or any array with the same first dimension), split the same way.
    test_fraction : float, optional
        Fraction of samples in the test part, in ``(0, 1)``; default 0.2.  The test size is
        ``round(test_fraction * n)``, at least 1 and at most ``n - 1``.
    n_test : int, optional
        Number of test samples, ``1 <= n_test < n``; give this or ``test_fraction``, not both.
    seed : int, optional
        Seed of the permutation (NumPy ``default_rng``); the same seed gives the same split.

    Returns
    -------
    tuple
        ``(x_train, x_test)``, or ``(x_train, x_test, y_train, y_test)`` when ``y`` is given, each of
        the input's type.  Both parts are in permuted order, and together they hold every sample once.

    Raises
    ------
    ConfigError
        For both or invalid ``test_fraction``/``n_test``, or fewer than two samples.
    ShapeError
        If ``y`` does not have as many entries as ``x`` has samples.
    """
    def n_of(a: Any, name: str) -> int:
        shape = a.shape if hasattr(a, "shape") else np.shape(a)
        require(len(shape) != 0, f"{name} must have a sample axis, got a scalar", ShapeError)
        return int(shape[0])

    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = _as_numpy(x)
    n = n_of(x, "x")
    if y is not None:
        if not isinstance(y, (np.ndarray, torch.Tensor)):
            y = np.asarray(y)
        if n_of(y, "y") != n:
            raise ShapeError(f"x has {n} samples but y has {n_of(y, 'y')} entries")
    require(n >= 2, f"cannot split {n} sample(s) into a training and a test part")
    require(test_fraction is None or n_test is None, "give either test_fraction or n_test, not both")
    if n_test is None:
        frac = 0.2 if test_fraction is None else float(test_fraction)
        require(0.0 < frac < 1.0, f"test_fraction must lie strictly between 0 and 1, got {frac:g}")
        n_test = min(max(int(round(frac * n)), 1), n - 1)
    else:
        if int(n_test) != n_test or not 1 <= int(n_test) <= n - 1:
            raise ConfigError(f"n_test must be an integer between 1 and {n - 1} for {n} samples, got {n_test}")
        n_test = int(n_test)
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = perm[:n_test], perm[n_test:]

    def take(a: Any, idx: np.ndarray) -> Any:
        if isinstance(a, torch.Tensor):
            return a[torch.from_numpy(idx).to(a.device)]
        return a[idx]

    parts = (take(x, train_idx), take(x, test_idx))
    if y is not None:
        parts += (take(y, train_idx), take(y, test_idx))
    return parts


def to_spins(x01: Any) -> np.ndarray:
    """Map binary ``{0, 1}`` data to spins ``{-1, +1}``: ``s = 2 x - 1``.

    Intensities in ``[0, 1]`` are mapped linearly too (to mean spins in ``[-1, 1]``).

    Parameters
    ----------
    x01 : array_like
        Values in ``[0, 1]``, any shape.

    Returns
    -------
    numpy.ndarray
        ``2 * x01 - 1`` in the input's floating dtype (``float32`` for non-floating input).

    Raises
    ------
    DomainError
        If ``x01`` has values outside ``[0, 1]`` (e.g. data that already are spins) or NaN.
    """
    arr = _as_numpy(x01)
    _check_unit_interval(arr, "data to map to spins")
    dtype = _float_dtype(arr)
    return arr.astype(dtype) * dtype.type(2) - dtype.type(1)
