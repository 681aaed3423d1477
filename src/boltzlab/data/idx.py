"""Reader for the IDX format of MNIST (and Fashion-MNIST, EMNIST, ...).

An IDX file is a 4-byte magic number -- two zero bytes, a type code and the number of dimensions --
followed by that many big-endian ``uint32`` sizes and then the array itself, big-endian, in C order:

=========  =========================  ===================
type code  element type               NumPy dtype
=========  =========================  ===================
``0x08``   unsigned byte              ``uint8``
``0x09``   signed byte                ``int8``
``0x0B``   short (2 bytes)            ``int16``
``0x0C``   int (4 bytes)              ``int32``
``0x0D``   float (4 bytes)            ``float32``
``0x0E``   double (8 bytes)           ``float64``
=========  =========================  ===================

Files may be gzip-compressed (as MNIST is distributed); compression is recognised by the gzip magic
bytes ``1f 8b``, not by the file name.  Every malformed file -- wrong magic, a header cut short, a
payload shorter or longer than the header announces, a truncated or corrupt gzip stream -- raises
:class:`~boltzlab.errors.DataError` with a one-line message naming the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, require

__all__ = ["read_idx", "load_mnist", "IDX_DTYPES", "is_idx_header"]

#: IDX type code -> big-endian NumPy dtype of the payload.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def is_idx_header(head: bytes) -> bool:
    """True when ``head`` (at least 4 bytes) starts like an IDX file: ``00 00 <type code> <ndims>=1..``."""
    return len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in IDX_DTYPES and head[3] >= 1


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic; DataError on any failure."""
    require(path.exists(), f"{path}: no such file", DataError)
    require(not path.is_dir(), f"{path}: is a directory, expected an IDX file", DataError)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: truncated gzip stream (the compressed file ends early)") from None
    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: corrupt gzip stream ({msg})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        The file.  Gzip compression is detected from the magic bytes ``1f 8b``, whatever the name.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order with the shape given by the header and the dtype given
        by the type code (``uint8`` for MNIST images and labels).

    Raises
    ------
    DataError
        If the file is missing, is not IDX (bad magic, unknown type code, zero dimensions), has a
        header or payload shorter or longer than announced, or is a truncated or corrupt gzip stream.
    """
    path = Path(path)
    data = _read_bytes(path)
    require(len(data) >= 4, f"{path}: not an IDX file (only {len(data)} bytes, the magic number needs 4)", DataError)
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex()} does not start with "
                        "two zero bytes)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{path}: not an IDX file (unknown type code 0x{code:02X}; expected one of {known})")
    require(ndim != 0, f"{path}: not an IDX file (header declares 0 dimensions)", DataError)
    header = 4 + 4 * ndim
    require(len(data) >= header, f"{path}: truncated IDX header (needs {header} bytes for {ndim} dimensions, "
                                 f"file has {len(data)})", DataError)
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise DataError(f"{path}: IDX payload {what} (shape {shape} of {dtype.name} needs {expected} bytes "
                        f"after the header, found {found})")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


# ---------------------------------------------------------------------------- MNIST

_PREFIX = {"test": "t10k", "train": "train"}


def _candidates(prefix: str, kind: str, nd: int) -> list[str]:
    names = []
    for sep in ("-", "."):
        base = f"{prefix}-{kind}{sep}idx{nd}-ubyte"
        names += [base, base + ".gz"]
    return names


def _find(directory: Path, names: list[str]) -> Path | None:
    for name in names:
        p = directory / name
        if p.is_file():
            return p
    return None


def mnist_files(directory: str | os.PathLike, split: str = "test") -> tuple[Path | None, Path | None]:
    """The (images, labels) files of one MNIST split in ``directory``; None for those not present."""
    require(split in _PREFIX, f"unknown MNIST split {split!r}; expected 'test' or 'train'")
    directory = Path(directory)
    prefix = _PREFIX[split]
    return (_find(directory, _candidates(prefix, "images", 3)),
            _find(directory, _candidates(prefix, "labels", 1)))


def load_mnist(directory: str | os.PathLike, split: str = "test") -> tuple[np.ndarray, np.ndarray | None]:
    """Load one split of MNIST (or any data set in its layout, e.g. Fashion-MNIST) from a directory.

    The files are looked up under their standard names, gzipped or not:
    ``t10k-images-idx3-ubyte[.gz]`` / ``t10k-labels-idx1-ubyte[.gz]`` for ``split="test"`` and
    ``train-images-idx3-ubyte[.gz]`` / ``train-labels-idx1-ubyte[.gz]`` for ``split="train"``; the
    spelling with a dot (``t10k-images.idx3-ubyte``) is accepted as well.

    Parameters
    ----------
    directory : str or path-like
        The directory that holds the files.
    split : {"test", "train"}
        Which split to load.

    Returns
    -------
    images : numpy.ndarray
        ``uint8`` array of shape ``(n, h, w)`` (``(n, 28, 28)`` for MNIST), values 0..255.
    labels : numpy.ndarray or None
        ``uint8`` array of shape ``(n,)``, or None when the labels file is absent.

    Raises
    ------
    DataError
        If the directory does not exist, holds no images file of that split (the message lists the
        names looked for), or a file is malformed or inconsistent with the other.
    ConfigError
        If ``split`` is neither "test" nor "train".
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory (expected a directory with MNIST IDX files)")
    images_path, labels_path = mnist_files(directory, split)
    if images_path is None:
        looked = ", ".join(_candidates(_PREFIX[split], "images", 3))
        raise DataError(f"{directory}: no MNIST {split} images file (looked for {looked})")
    images = read_idx(images_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected uint8 images of shape (n, h, w), got {images.dtype.name} "
                        f"of shape {images.shape}")
    labels = None
    if labels_path is not None:
        labels = read_idx(labels_path)
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise DataError(f"{labels_path}: expected uint8 labels of shape (n,), got {labels.dtype.name} "
                            f"of shape {labels.shape}")
        if labels.shape[0] != images.shape[0]:
            raise DataError(f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in "
                            f"{images_path.name}")
    return images, labels
