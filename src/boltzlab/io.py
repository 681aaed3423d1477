"""Reading and writing models: boltzlab checkpoints, safetensors files and the .npz interchange format.

The file suffix chooses the format:

``.safetensors``
    Every model class, in the `safetensors <https://huggingface.co/docs/safetensors>`_ format (a JSON
    header and raw tensor bytes; reading it runs no code).  Key scheme: one tensor per entry of the model's
    ``state_dict``, named by its key (``weights``, ``visible.bias``, ``hidden.bias``, ``visible_offset``,
    ``hidden_offset``, ``hidden.log_precision``, ``visible.mu2`` ...), and four metadata strings:
    ``format`` = ``boltzlab-model``, ``format_version`` = ``1``, ``config`` = the JSON of ``model.config()``
    (its ``class`` names the model class in :attr:`~boltzlab.models.base.EnergyModel.registry`, the rest
    rebuilds its structure), and ``sha256`` = the hex SHA-256 digest of the tensors' bytes concatenated in
    key order, checked on reading.
``.npz``
    Interchange for uncentred binary RBMs: arrays ``weights`` (n_visible x n_hidden), ``visible_bias`` and
    ``hidden_bias`` that define E(v, h) = -v^T W h - a.v - b.h; other tools can write it.
anything else (``.pt``)
    A boltzlab checkpoint (:mod:`boltzlab.checkpoint`: versioned, checksummed, ``weights_only`` loading).

Every format is written atomically (a temporary file and a rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import CheckpointError, require
from .models import BinaryRBM, EnergyModel
from .models.base import model_from_config
from .checkpoint import atomic_savez, atomic_write_bytes, load_payload, save_payload

NPZ_KEYS = ("weights", "visible_bias", "hidden_bias")
SAFETENSORS_FORMAT = ("boltzlab-model", "1")


def model_payload(model: EnergyModel) -> dict[str, Any]:
    return {"config": model.config(),
            "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def model_from_payload(payload: dict[str, Any], device: Any = None, dtype: torch.dtype | None = None,
                       ) -> EnergyModel:
    _check_declared_size(payload)
    try:
        model = model_from_config(payload["config"])
        state = payload["state"]
        model = model.to(dtype=state[next(iter(state))].dtype)
        model.load_state_dict(state)
    except CheckpointError:
        raise
    except (KeyError, RuntimeError, StopIteration, TypeError) as exc:
        raise CheckpointError(f"the model stored in the file does not fit its description: "
                              f"{str(exc).splitlines()[0]}") from None
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.to(device) if device is not None else model


def read_toml(path: str | os.PathLike, what: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict; a missing, unreadable or invalid file is a one-line ConfigError."""
    import tomllib
    from .errors import ConfigError
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a {what}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})".splitlines()[0]) from None


def _check_declared_size(payload: dict[str, Any]) -> None:
    """Refuse, before allocating it, a model whose description declares far more parameters than the file
    stores (a crafted or damaged file), and one that would not fit in memory."""
    from .rundir import require_memory
    try:
        config, state = payload["config"], payload["state"]
        sizes = [int(layer.get("n_units", 1)) * int(layer.get("n_states") or 1)
                 for layer in (config.get("visible"), config.get("hidden")) if isinstance(layer, dict)]
        stored = sum(int(t.numel()) for t in state.values())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"the model description in the file is incomplete: {exc}") from None
    declared = sizes[0] * (sizes[1] if len(sizes) > 1 else sizes[0]) if sizes else 0
    if declared > 4 * stored + 1024:
        raise CheckpointError(f"the file describes a model of about {declared} parameters but stores {stored}; "
                              "it is damaged or crafted")
    require_memory(8 * declared, f"the model in the file ({declared} parameters)")


def save_model(model: EnergyModel, path: str | os.PathLike) -> None:
    """Save a model alone: ``.safetensors`` (any model), ``.npz`` interchange (binary RBMs) or a boltzlab
    checkpoint otherwise (see the module docstring for the formats)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        _save_safetensors(model, path)
    elif path.suffix == ".npz":
        if not isinstance(model, BinaryRBM) or model.centered:
            raise CheckpointError("the .npz interchange format holds uncentered binary RBMs only; "
                                  "save as a boltzlab checkpoint (.pt) instead")
        atomic_savez(path, weights=model.weights.detach().cpu().numpy(),
                     visible_bias=model.visible.bias.detach().cpu().numpy(),
                     hidden_bias=model.hidden.bias.detach().cpu().numpy())
    else:
        save_payload(path, {"kind": "model", "model": model_payload(model)})


def load_model(path: str | os.PathLike, *, device: Any = None, dtype: torch.dtype | None = None) -> EnergyModel:
    """Load a model from a boltzlab checkpoint (training or model file), a .safetensors or an .npz file."""
    return load_model_file(path, device=device, dtype=dtype)[0]


def load_model_file(path: str | os.PathLike, *, device: Any = None, dtype: torch.dtype | None = None,
                    ) -> tuple[EnergyModel, dict[str, Any] | None]:
    """The model and, for a boltzlab checkpoint, the whole payload (None otherwise), from one read."""
    path = Path(path)
    require(path.is_file(), f"{path}: no such model file", CheckpointError)
    if path.suffix == ".safetensors":
        return _load_safetensors(path, device, dtype), None
    if zipfile.is_zipfile(path) and path.suffix != ".pt":
        return _load_npz(path, device, dtype), None
    payload = load_payload(path)
    if payload.get("kind") not in ("model", "checkpoint") or not isinstance(payload.get("model"), dict):
        raise CheckpointError(f"{path}: holds a {payload.get('kind', 'non-model')} state, not an energy model "
                              "(VMC states are read by 'boltzlab vmc ... --resume')")
    return model_from_payload(payload["model"], device, dtype), payload


def _load_npz(path: Path, device: Any, dtype: torch.dtype | None) -> EnergyModel:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in NPZ_KEYS if k not in f.files]
            require(not missing, f"{path}: the .npz lacks {', '.join(missing)} "
                                 f"(it needs arrays {', '.join(NPZ_KEYS)})", CheckpointError)
            arrays = {k: np.asarray(f[k]) for k in NPZ_KEYS}
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: .npz is truncated or corrupt ({type(exc).__name__})") from None
    w = arrays["weights"]
    if w.ndim != 2:
        raise CheckpointError(f"{path}: weights must be a matrix (n_visible, n_hidden), got shape {w.shape}")
    for key, n in (("visible_bias", w.shape[0]), ("hidden_bias", w.shape[1])):
        require(arrays[key].size == n, f"{path}: {key} has {arrays[key].size} entries; the weights "
                                       f"{w.shape} need {n}", CheckpointError)
    if dtype is None:
        dtype = torch.float64 if w.dtype == np.float64 else torch.float32
    try:
        return BinaryRBM(w, arrays["visible_bias"], arrays["hidden_bias"], dtype=dtype, device=device)
    except Exception as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(tensors[key].contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _save_safetensors(model: EnergyModel, path: Path) -> None:
    from safetensors.torch import save
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": SAFETENSORS_FORMAT[0], "format_version": SAFETENSORS_FORMAT[1],
            "config": json.dumps(model.config()), "sha256": _digest(tensors)}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def _load_safetensors(path: Path, device: Any, dtype: torch.dtype | None) -> EnergyModel:
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None
    if (meta.get("format"), meta.get("format_version")) != SAFETENSORS_FORMAT or "config" not in meta:
        raise CheckpointError(f"{path}: a safetensors file without a boltzlab model description (metadata "
                              f"format={meta.get('format')!r}, version={meta.get('format_version')!r})")
    if meta.get("sha256") != _digest(tensors):
        raise CheckpointError(f"{path}: the tensors do not match their checksum (the file is corrupt)")
    try:
        config = json.loads(meta["config"])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: the model description is not valid JSON") from None
    return model_from_payload({"config": config, "state": tensors}, device, dtype)
