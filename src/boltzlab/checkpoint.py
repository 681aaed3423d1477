"""Checkpoint files: versioned, integrity-checked, written atomically.

Layout: the 8-byte magic ``BOLTZLB1``, the SHA-256 digest (32 bytes) of the payload, then the payload as
written by ``torch.save``.  A truncated or corrupted file fails the digest and is refused with a clear
message; loading uses ``torch.load(weights_only=True)``, so a file cannot execute code.  Writing goes to a
temporary file in the same directory, is flushed to disk, and replaces the target with ``os.replace``:
a run killed at any moment leaves either the old or the new checkpoint, never a broken one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import CheckpointError, require

MAGIC = b"BOLTZLB1"
FORMAT_VERSION = 1


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=list).encode())


def atomic_savez(path: str | os.PathLike, **arrays: Any) -> None:
    """``np.savez`` into ``path``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def save_payload(path: str | os.PathLike, payload: dict[str, Any],
                 copies: tuple[str | os.PathLike, ...] = ()) -> None:
    """Serialise ``payload`` once and write it to ``path`` and to every path in ``copies``."""
    buf = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **payload}, buf)
    body = buf.getvalue()
    data = MAGIC + hashlib.sha256(body).digest() + body
    for p in (path, *copies):
        atomic_write_bytes(p, data)


def load_payload(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    path = Path(path)
    require(path.is_file(), f"{path}: no such checkpoint file", CheckpointError)
    raw = path.read_bytes()
    require(raw.startswith(MAGIC), f"{path}: not a boltzlab checkpoint (unknown header)", CheckpointError)
    digest, body = raw[len(MAGIC):len(MAGIC) + 32], raw[len(MAGIC) + 32:]
    if len(digest) < 32 or hashlib.sha256(body).digest() != digest:
        raise CheckpointError(f"{path}: checkpoint is truncated or corrupt (checksum mismatch)")
    try:
        payload = torch.load(io.BytesIO(body), map_location=map_location, weights_only=True)
    except Exception as exc:  # the digest matched, so this is a format problem
        raise CheckpointError(f"{path}: checkpoint could not be read: {exc}".splitlines()[0]) from None
    version = payload.get("format_version") if isinstance(payload, dict) else None
    require(version == FORMAT_VERSION, f"{path}: checkpoint format version {version!r} is not supported "
                                       f"(this boltzlab reads version {FORMAT_VERSION})", CheckpointError)
    return payload
