"""Models of other libraries brought into boltzlab: scikit-learn's ``BernoulliRBM`` and ``rbms`` archives.

* :func:`from_sklearn` reads a fitted ``sklearn.neural_network.BernoulliRBM``.  scikit-learn stores the
  couplings as ``components_`` (n_hidden, n_visible) and the biases as ``intercept_visible_`` and
  ``intercept_hidden_``; its ``_free_energy(v) = -v.a - sum_j log(1 + exp(b_j + (v W)_j))`` is the
  same F(v) = -ln sum_h exp(-E(v, h)) as :meth:`boltzlab.EnergyModel.free_energy`, so the model is
  ``BinaryRBM(components_.T, intercept_visible_, intercept_hidden_)`` with no sign change.
* :func:`load_rbms` reads an HDF5 archive written by the ``rbms`` package (Béreux, Decelle, Furtlehner,
  Rosset, Seoane; https://github.com/DsysDML/rbms).  Layout: a string dataset ``model_type`` (``"BBRBM"``
  for binary-binary, ``"PBRBM"`` for Potts-binary) and one group ``update_<n>`` per saved update with a
  subgroup ``params`` holding ``weight_matrix``, ``vbias`` and ``hbias`` (older archives keep them in
  ``update_<n>`` directly).  BBRBM: W (n_v, n_h), a (n_v,), b (n_h,) with E(v, h) = -a.v - b.h - v W h;
  PBRBM: W (n_v, q, n_h), a (n_v, q), b (n_h,) with E(v, h) = -sum_i a_i(v_i) - b.h - sum_i W_{i v_i} . h.
  Reading needs ``h5py`` (``pip install boltzlab[interchange]``); ``rbms`` itself is never imported.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import CheckpointError, ConfigError, require
from .models import BinaryRBM, PottsRBM, RBM

__all__ = ["from_sklearn", "load_rbms", "rbms_updates"]

_UPDATE = re.compile(r"^update_(\d+)$")


def from_sklearn(estimator: Any, *, dtype: torch.dtype = torch.float64, device: Any = None) -> BinaryRBM:
    """The :class:`~boltzlab.BinaryRBM` equal to a fitted scikit-learn ``BernoulliRBM``.

    Parameters
    ----------
    estimator : sklearn.neural_network.BernoulliRBM
        A fitted estimator (it has ``components_``, ``intercept_visible_`` and ``intercept_hidden_``).
    dtype, device
        Of the returned model (default float64 on the CPU, as scikit-learn computes).

    Returns
    -------
    BinaryRBM
        A model whose ``free_energy(v)`` equals ``estimator._free_energy(v)`` and whose conditional
        ``mean_hidden(v)`` equals ``estimator.transform(v)``.

    Raises
    ------
    ConfigError
        If the estimator is not fitted or its arrays do not fit together.
    """
    try:
        w = np.asarray(estimator.components_, dtype=np.float64)
        a = np.asarray(estimator.intercept_visible_, dtype=np.float64)
        b = np.asarray(estimator.intercept_hidden_, dtype=np.float64)
    except AttributeError:
        raise ConfigError(f"{type(estimator).__name__} is not a fitted BernoulliRBM (it lacks components_, "
                          "intercept_visible_ or intercept_hidden_; call fit first)") from None
    if w.ndim != 2 or a.shape != (w.shape[1],) or b.shape != (w.shape[0],):
        raise ConfigError(f"the estimator's arrays do not fit together: components_ {w.shape}, "
                          f"intercept_visible_ {a.shape}, intercept_hidden_ {b.shape}")
    return BinaryRBM(w.T.copy(), a, b, dtype=dtype, device=device)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ConfigError("reading rbms archives needs h5py: pip install 'boltzlab[interchange]'") from None
    return h5py


def _open(path: str | os.PathLike):
    path = Path(path)
    require(path.is_file(), f"{path}: no such rbms archive", CheckpointError)
    h5py = _h5py()
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path}: not an HDF5 archive ({' '.join(str(exc).split())})") from None


def _updates(f: Any) -> list[int]:
    return sorted(int(m.group(1)) for m in map(_UPDATE.match, f.keys()) if m)


def rbms_updates(path: str | os.PathLike) -> list[int]:
    """The update numbers saved in an ``rbms`` archive, ascending."""
    with _open(path) as f:
        return _updates(f)


def load_rbms(path: str | os.PathLike, update: int | None = None, *, dtype: torch.dtype = torch.float64,
              device: Any = None) -> RBM:
    """Read the model saved at ``update`` (default: the last one) in an ``rbms`` HDF5 archive.

    Returns a :class:`~boltzlab.BinaryRBM` for ``BBRBM`` archives and a :class:`~boltzlab.PottsRBM`
    (binary hidden units, ``gauge="none"`` so that the parameters are kept exactly as stored) for
    ``PBRBM`` archives; free energies equal those of ``rbms``.

    Raises
    ------
    CheckpointError
        If the file is missing, not HDF5, not an rbms archive, lacks the update, or holds arrays of
        inconsistent shapes.
    ConfigError
        If h5py is not installed.
    """
    with _open(path) as f:
        require("model_type" in f, f"{path}: not an rbms archive (no model_type dataset)", CheckpointError)
        kind = f["model_type"][()]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        saved = _updates(f)
        require(saved, f"{path}: the rbms archive holds no saved update", CheckpointError)
        index = saved[-1] if update is None else int(update)
        if index not in saved:
            raise CheckpointError(f"{path}: no update {index} (saved: {saved[0]}..{saved[-1]}, {len(saved)} of them)")
        group = f[f"update_{index}"]
        group = group["params"] if "params" in group else group
        try:
            arrays = {k: np.asarray(group[k][()], dtype=np.float64) for k in ("weight_matrix", "vbias", "hbias")}
        except KeyError as exc:
            raise CheckpointError(f"{path}: update {index} lacks {exc}") from None
    w, a, b = arrays["weight_matrix"], arrays["vbias"], arrays["hbias"]
    expected = {"BBRBM": (2, (w.shape[:1]), (w.shape[-1:])), "PBRBM": (3, w.shape[:2], w.shape[-1:])}
    require(kind in expected, f"{path}: model_type {kind!r} is not supported (BBRBM, PBRBM)", CheckpointError)
    ndim, a_shape, b_shape = expected[kind]
    if w.ndim != ndim or a.shape != tuple(a_shape) or b.shape != tuple(b_shape):
        raise CheckpointError(f"{path}: {kind} arrays of inconsistent shapes: weight_matrix {w.shape}, "
                              f"vbias {a.shape}, hbias {b.shape}")
    if kind == "BBRBM":
        return BinaryRBM(w, a, b, dtype=dtype, device=device)
    return PottsRBM(w, a, b, gauge="none", dtype=dtype, device=device)
