"""Read a numeric array from a file in any of the formats the toolkit accepts.

The format is recognised from the file's first bytes, with the name as a tie-breaker:

* ``.npy`` (magic ``\\x93NUMPY``), loaded without pickles;
* ``.npz`` (a zip archive): the array named ``key``, else the only array, else the one named ``data``;
* IDX (MNIST format, gzipped or not), see :func:`~boltzlab.data.idx.read_idx`;
* text (``.csv``, ``.txt``, ``.tsv``, ``.dat``, or any other plain-text file, also gzipped when the
  name ends in ``.gz``): numbers separated by commas or by whitespace, one row per line, ``#`` comments
  and blank lines ignored, and a single non-numeric header line skipped;
* a directory holding MNIST files: its images (see :func:`~boltzlab.data.idx.load_mnist`).
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, require
from .idx import is_idx_header, load_mnist, mnist_files, read_idx

__all__ = ["read_array"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP_MAGIC = b"\x1f\x8b"
_TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_numeric(arr: np.ndarray, path: Path, what: str = "") -> np.ndarray:
    where = f"{path}{what}"
    require(arr.dtype.kind in "biuf", f"{where}: not a real numeric array (dtype {arr.dtype})", DataError)
    require(arr.size != 0, f"{where}: empty array (shape {arr.shape})", DataError)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(f"{where}: contains NaN or infinite values")
    return arr


def _check_npy_header(f: Any, size: int, where: str) -> None:
    """Refuse, before anything is allocated, a .npy header that declares more data than the file holds."""
    version = np.lib.format.read_magic(f)
    shape, _, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                       else np.lib.format.read_array_header_2_0(f))
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > size - f.tell():
        raise DataError(f"{where}: the header declares an array {shape} of {need} bytes; the file holds "
                        f"{size - f.tell()}")


def _read_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            _check_npy_header(f, path.stat().st_size, str(path))
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({_one_line(exc)})") from None
    require(isinstance(arr, np.ndarray), f"{path}: not a .npy file", DataError)
    return _check_numeric(arr, path)


def _read_npz(path: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            if key is not None:
                require(key in keys, f"{path}: no array named {key!r} (arrays: {', '.join(keys) or 'none'})", DataError)
                chosen = key
            elif len(keys) == 1:
                chosen = keys[0]
            elif "data" in keys:
                chosen = "data"
            elif not keys:
                raise DataError(f"{path}: the .npz archive holds no arrays")
            else:
                raise DataError(f"{path}: holds several arrays ({', '.join(keys)}); name one with key=")
            with npz.zip.open(f"{chosen}.npy") as f:
                _check_npy_header(f, npz.zip.getinfo(f"{chosen}.npy").file_size, f"{path}[{chosen}]")
            arr = npz[chosen]
    except DataError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a readable .npz file ({_one_line(exc)})") from None
    return _check_numeric(arr, path, f"[{chosen}]")


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_text(text: str, path: Path) -> np.ndarray:
    lines = text.splitlines()
    first = None
    for i, line in enumerate(lines):
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            first = (i, stripped)
            break
    require(first is not None, f"{path}: contains no data", DataError)
    index, line = first
    delimiter = "," if "," in line else None
    tokens = [t.strip() for t in line.split(delimiter)]
    skip = index + 1 if not all(_is_number(t) for t in tokens) else 0  # one header line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" is reported below
            arr = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip, comments="#",
                             dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: {_locate_text_error(lines, skip, delimiter) or _one_line(exc)}") from None
    require(arr.size != 0, f"{path}: contains no data" + (" after the header line" if skip else ""), DataError)
    if skip:
        warnings.warn(f"{path}: the first line {line[:60]!r} is not numeric; it is read as a header and skipped")
    return _check_numeric(arr, path)


def _locate_text_error(lines: list[str], skip: int, delimiter: str | None) -> str | None:
    """Describe the first line (1-based) that is not a row of numbers like the ones before it."""
    width = None
    for number, line in enumerate(lines[skip:], start=skip + 1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        tokens = [t.strip() for t in stripped.split(delimiter)]
        bad = next((t for t in tokens if not _is_number(t)), None)
        if bad is not None:
            return f"line {number}: {bad!r} is not a number"
        if width is None:
            width = len(tokens)
        elif len(tokens) != width:
            return f"line {number} has {len(tokens)} values, the lines before it {width}"
    return None


def _read_text(path: Path, raw: bytes) -> np.ndarray:
    if b"\x00" in raw[:4096]:
        raise DataError(f"{path}: unrecognised binary format (expected .npy, .npz, IDX or numeric text)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (not valid UTF-8) and not .npy, .npz or IDX") from None
    return _parse_text(text, path)


def read_array(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """Read a numeric array from a ``.npy``/``.npz``/text/IDX file or an MNIST directory.

    Parameters
    ----------
    path : str or path-like
        The file (format recognised from its content, see the module docstring), or a directory that
        holds MNIST IDX files.
    key : str, optional
        For ``.npz``: the array to read; without it the archive's only array, or else the one named
        ``"data"``, is read.  For an MNIST directory: the split, ``"train"`` or ``"test"``; without it
        the training images when present, else the test images.  Ignored for other formats.

    Returns
    -------
    numpy.ndarray
        The array: as stored for ``.npy``/``.npz``/IDX, ``float64`` of shape ``(rows, columns)`` for
        text, ``uint8`` ``(n, h, w)`` for an MNIST directory.

    Raises
    ------
    DataError
        If the file is missing, unreadable, corrupt, empty, not numeric (object, string or complex
        arrays, text that does not parse as numbers), contains NaN or infinities, or is an ``.npz``
        whose array cannot be chosen (the message lists its keys).
    ConfigError
        If ``key`` names an MNIST split other than "train" or "test".
    """
    path = Path(path)
    if path.is_dir():
        return _read_mnist_dir(path, key)
    require(path.exists(), f"{path}: no such file or directory", DataError)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    head = raw[:8]
    if head.startswith(_NPY_MAGIC):
        return _read_npy(path)
    if head.startswith(_ZIP_MAGICS):
        return _read_npz(path, key)
    require(suffix != ".npy", f"{path}: not a .npy file (bad magic number)", DataError)
    require(suffix != ".npz", f"{path}: not an .npz file (not a zip archive)", DataError)
    if is_idx_header(head):
        return _check_numeric(read_idx(path), path)
    if head.startswith(_GZIP_MAGIC):
        try:
            with gzip.open(io.BytesIO(raw)) as f:
                inner = f.read(4)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip stream ({_one_line(exc)})") from None
        if is_idx_header(inner):
            return _check_numeric(read_idx(path), path)
        inner_suffix = Path(path.stem).suffix.lower()
        if inner_suffix in _TEXT_SUFFIXES:
            try:
                text = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                raise DataError(f"{path}: corrupt gzip stream ({_one_line(exc)})") from None
            return _read_text(path, text)
        raise DataError(f"{path}: gzip file holds neither IDX data nor a .csv/.txt table")
    return _read_text(path, raw)


def _read_mnist_dir(directory: Path, key: str | None) -> np.ndarray:
    if key is None:
        train, _ = mnist_files(directory, "train")
        test, _ = mnist_files(directory, "test")
        if train is None and test is None:
            raise DataError(f"{directory}: a directory without MNIST images (looked for "
                            "train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz])")
        split = "train" if train is not None else "test"
    elif key in ("train", "test"):
        split = key
    else:
        raise ConfigError(f"{directory}: key {key!r} is not an MNIST split; use 'train' or 'test'")
    images, _ = load_mnist(directory, split)
    return _check_numeric(images, directory)
