"""Data: readers (IDX/MNIST, .npy/.npz/text), transforms, and the built-in exact Ising data set.

Quick tour::

    from boltzlab.data import load_dataset, load_mnist, default_dataset
    x = load_dataset("ising")                                   # (5000, 64) float32 in {0, 1}
    x = load_dataset("ising:L=6,beta=0.3,n=2000")
    x = load_dataset("mnist", binarize="stochastic")      # (n, 784) float32 in {0, 1}
    images, labels = load_mnist("mnist", split="test")    # uint8 (n, 28, 28), uint8 (n,)
    data = open_dataset("fashion-mnist", binarize=0.5)    # memory-mapped torch Dataset, larger than memory
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, ShapeError, require
from . import transforms as _transforms
from .arrays import read_array
from .idx import load_mnist, read_idx
from .paths import MNIST_ENV, mnist_dir
from .ising import BETA_C, default_dataset, ising2d, ising2d_exact_stats
from .stream import ArrayDataset, StreamedRows, minibatches, open_array, open_dataset, open_idx
from .transforms import binarize, flatten_images, scale_to_unit, to_spins, train_test_split

__all__ = [
    "mnist_dir", "MNIST_ENV",
    "read_idx", "load_mnist", "read_array",
    "flatten_images", "scale_to_unit", "binarize", "train_test_split", "to_spins",
    "ising2d", "ising2d_exact_stats", "default_dataset", "BETA_C",
    "load_dataset",
    "open_array", "open_idx", "open_dataset", "ArrayDataset", "StreamedRows", "minibatches",
]

_SPEC_HELP = "a data spec is a file, an MNIST directory, or 'ising[:L=8,beta=0.4,n=5000,J=1,spins=0]'"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_ising(spec: str) -> dict:
    options = {"L": 8, "beta": 0.4, "n_samples": 5000, "J": 1.0, "spins": False}
    _, _, rest = spec.partition(":")
    names = {"l": "L", "beta": "beta", "n": "n_samples", "n_samples": "n_samples", "j": "J", "spins": "spins"}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = (s.strip() for s in item.partition("="))
        name = names.get(key.lower())
        require(eq and name is not None, f"bad option {item!r} in data spec {spec!r}; "
                                              "expected L=<int>, beta=<float>, n=<int>, J=<float>, spins=<0|1>")
        try:
            if name in ("L", "n_samples"):
                options[name] = int(value)
            elif name == "spins":
                if value.lower() not in _TRUE | _FALSE:
                    raise ValueError(value)
                options[name] = value.lower() in _TRUE
            else:
                options[name] = float(value)
        except ValueError:
            kind = {"L": "an integer", "n_samples": "an integer", "spins": "0 or 1"}.get(name, "a number")
            raise ConfigError(f"option {key}={value!r} in data spec {spec!r} must be {kind}") from None
    require(options["n_samples"] >= 1, f"option n in data spec {spec!r} must be at least 1")
    return options


def load_dataset(spec: str | os.PathLike, *, binarize: str | None = None, seed: int | None = 0,
                 key: str | None = None) -> np.ndarray:
    """Load a data set as a ``(n, d)`` float32 matrix, one sample per row.

    Parameters
    ----------
    spec : str or path-like
        ``"ising"`` or ``"ising:L=8,beta=0.4,n=5000"`` (options ``L``, ``beta``, ``n``, ``J``,
        ``spins``; defaults as shown, ``J=1``, ``spins=0``) for exact samples of the 2D Ising model
        (:func:`~boltzlab.data.ising.default_dataset`), or a path: any file :func:`read_array` reads
        (``.npy``, ``.npz``, ``.csv``/``.txt``, IDX) or a directory with MNIST files.  To read a file
        that is literally called ``ising``, write ``./ising``.
    binarize : {None, "threshold", "stochastic"}
        Binarise the (scaled) data with :func:`~boltzlab.data.transforms.binarize`.
    seed : int, optional
        Seed of the Ising sampler and of stochastic binarisation.
    key : str, optional
        Passed to :func:`read_array`: the array of an ``.npz`` file, or the MNIST split.

    Returns
    -------
    numpy.ndarray
        C-contiguous ``float32`` array ``(n, d)``.  Images ``(n, h, w)`` are flattened to
        ``d = h * w``; ``uint8`` data are scaled from 0..255 to ``[0, 1]`` (unless all values are 0 or 1,
        which are taken as bits already); other data keep their values.

    Raises
    ------
    ConfigError
        For an empty spec, unknown or malformed Ising options, or an unknown ``binarize`` method.
    DataError
        For missing or unreadable files.
    ShapeError
        For arrays with fewer than two dimensions.
    DomainError
        When binarising data outside ``[0, 1]`` (e.g. spins).
    """
    if binarize not in (None, "threshold", "stochastic"):
        raise ConfigError(f"unknown binarize method {binarize!r}; expected None, 'threshold' or 'stochastic'")
    text = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    require(isinstance(text, str) and text.strip(), f"empty or invalid data spec {spec!r}; {_SPEC_HELP}")
    text = text.strip()
    if not isinstance(spec, os.PathLike) and (text.lower() == "ising" or text.lower().startswith("ising:")):
        opts = _parse_ising(text)
        x = _ising_flat(opts, seed)
    else:
        path = Path(text)
        require(path.exists(), f"{text}: no such file or directory ({_SPEC_HELP})", DataError)
        arr = read_array(path, key=key)
        if arr.ndim < 2:
            raise ShapeError(f"{text}: expected data of shape (n, d) or images (n, h, w), got shape {arr.shape}")
        if arr.dtype == np.uint8 and arr.max() > 1:
            arr = _transforms.scale_to_unit(arr)
        x = _transforms.flatten_images(arr, dtype=np.float32)
    if binarize is not None:
        x = _transforms.binarize(x, method=binarize, seed=seed)
    return np.ascontiguousarray(x, dtype=np.float32)


def _ising_flat(opts: dict, seed: int | None) -> np.ndarray:
    x = ising2d(opts["L"], opts["beta"], opts["n_samples"], seed=seed, J=opts["J"])
    x = x.reshape(x.shape[0], -1).astype(np.float32)
    return x if opts["spins"] else (x + 1) / 2
