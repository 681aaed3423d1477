"""Data larger than memory: memory-mapped ``.npy`` and IDX files, datasets read row by row, streamed minibatches.

Quick tour::

    from boltzlab.data import open_array, open_dataset, minibatches
    images = open_array("fashion-mnist/train-images-idx3-ubyte.gz")  # (60000, 28, 28) memmap
    data = open_dataset("fashion-mnist", binarize=0.5)  # a folder of IDX files; rows in [0, 1]
    trainer = Trainer.create(data, config)          # a Dataset or DataLoader is accepted where an array is
    for batch in minibatches(data, 100, seed=0):    # float32 tensors (100, 784), read batch by batch
        ...

Memory stays bounded by the minibatch: ``.npy`` files are opened with ``numpy.load(mmap_mode="r")`` and
uncompressed IDX files are mapped with :class:`numpy.memmap` at the header's offset.  A gzipped IDX file
cannot be mapped, so it is decompressed once, in 1 MiB chunks, into ``cache_dir`` (default: a
``boltzlab-idx`` folder in the system's temporary directory), keyed by the file's path, size and
modification time, and the uncompressed copy is mapped.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .._tensor import make_generator
from ..errors import DataError, ShapeError, require
from .idx import IDX_DTYPES, is_idx_header, mnist_files

__all__ = ["open_array", "open_idx", "ArrayDataset", "open_dataset", "minibatches", "StreamedRows",
           "streamed_rows", "spread_index"]

_CHUNK = 1 << 20
_ROWS = 4096  # rows per read when a whole data set is scanned (fingerprint, maximum)


def _idx_header(head: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if not is_idx_header(head):
        raise DataError(f"{path}: not an IDX file (magic number {head[:4].hex()})")
    ndim = head[3]
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise DataError(f"{path}: truncated IDX header (needs {offset} bytes for {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(head, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[head[2]], shape, offset


def _gunzip_to_cache(path: Path, cache_dir: str | os.PathLike | None) -> Path:
    """The uncompressed copy of a gzipped file, written once by streaming decompression (atomic rename)."""
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "boltzlab-idx"
    target = folder / f"{path.name.removesuffix('.gz')}.{key}"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    try:
        with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
            while block := src.read(_CHUNK):
                dst.write(block)
        os.replace(tmp, target)
    except (OSError, EOFError, zlib.error) as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"{path}: corrupt or truncated gzip stream ({' '.join(str(exc).split())})") from None
    return target


def open_idx(path: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """A read-only memory map of an IDX file (gzipped files are decompressed once into ``cache_dir``).

    Raises
    ------
    DataError
        If the file is missing, not IDX, or its size disagrees with its header.
    """
    path = Path(path)
    require(path.is_file(), f"{path}: no such file", DataError)
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    mapped = _gunzip_to_cache(path, cache_dir) if gz else path
    with open(mapped, "rb") as f:
        head = f.read(4 + 4 * 255)
    dtype, shape, offset = _idx_header(head, path)
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = mapped.stat().st_size
    if size != need:
        raise DataError(f"{path}: IDX payload {'truncated' if size < need else 'has trailing bytes'} "
                        f"(shape {shape} of {dtype.name} needs {need - offset} bytes, found {size - offset})")
    return np.memmap(mapped, dtype=dtype, mode="r", offset=offset, shape=shape)


def open_array(path: str | os.PathLike, key: str | None = None, *,
               cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Open a data file without reading it into memory where the format allows it.

    ``.npy`` files are memory-mapped, IDX files too (see :func:`open_idx`), and a directory with MNIST
    files gives its ``key`` split (``"train"`` by default when present, else ``"test"``) memory-mapped.
    Other formats (``.npz``, text) are read whole by :func:`~boltzlab.data.arrays.read_array`.
    """
    from .arrays import read_array
    path = Path(path)
    if path.is_dir():
        split = key or ("train" if mnist_files(path, "train")[0] is not None else "test")
        images, _ = mnist_files(path, split)
        require(images is not None, f"{path}: no MNIST {split} images file", DataError)
        return open_idx(images, cache_dir=cache_dir)
    require(path.is_file(), f"{path}: no such file or directory", DataError)
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x93NUMPY"):
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{path}: not a readable .npy file ({' '.join(str(exc).split())})") from None
    if is_idx_header(head):
        return open_idx(path)
    if head.startswith(b"\x1f\x8b"):
        with gzip.open(path, "rb") as f:
            try:
                inner = f.read(4)
            except (OSError, EOFError, zlib.error):
                inner = b""
        if is_idx_header(inner):
            return open_idx(path, cache_dir=cache_dir)
    return read_array(path, key=key)


class ArrayDataset(Dataset):
    """Rows of an array (memory-mapped or not) as float tensors, converted one batch at a time.

    Parameters
    ----------
    array : array-like
        Shape ``(n, ...)``; each sample is flattened to ``d`` values.
    scale : float, optional
        Multiply the values by it (``1/255`` turns 8-bit images into ``[0, 1]``).
    binarize : float, optional
        Threshold: after scaling, values ``> binarize`` become 1 and the others 0.
    dtype : torch.dtype
        Of the returned rows (default float32).

    Notes
    -----
    ``dataset[i]`` is one row ``(d,)``; :meth:`read_rows` (used by the trainer and by ``__getitems__``, which
    ``DataLoader`` calls) reads a whole batch ``(b, d)`` with one index into the array.
    """

    def __init__(self, array: Any, *, scale: float | None = None, binarize: float | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        if not hasattr(array, "shape") or len(array.shape) < 2:
            raise ShapeError(f"an ArrayDataset needs samples along the first axis, shape (n, d) or (n, h, w); "
                             f"got shape {getattr(array, 'shape', None)}")
        self.array = array
        self.scale = scale
        self.threshold = binarize
        self.dtype = dtype
        self.n_features = int(np.prod(array.shape[1:]))

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def _convert(self, rows: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.array(rows).reshape(len(rows), self.n_features)).to(self.dtype)  # a copy: writable
        if self.scale is not None:
            x = x * self.scale
        if self.threshold is not None:
            x = (x > self.threshold).to(self.dtype)
        return x

    def __getitem__(self, index: int) -> torch.Tensor:
        return self._convert(self.array[index:index + 1] if index >= 0 else self.array[[index]])[0]

    def read_rows(self, indices: Any) -> torch.Tensor:
        """The rows at ``indices`` as one ``(b, d)`` tensor, read with one (fancy or slice) index."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and np.all(np.diff(idx) == 1):  # a contiguous block: a slice reads it without a copy
            return self._convert(self.array[idx[0]:idx[-1] + 1])
        return self._convert(self.array[idx])

    def __getitems__(self, indices: Any) -> list[torch.Tensor]:
        return list(self.read_rows(indices).unbind(0))


def open_dataset(path: str | os.PathLike, key: str | None = None, *, binarize: float | None = None,
                 cache_dir: str | os.PathLike | None = None, dtype: torch.dtype = torch.float32) -> ArrayDataset:
    """:func:`open_array` wrapped in an :class:`ArrayDataset`; ``uint8`` data are scaled by 1/255
    (unless every value is 0 or 1, checked a block at a time) and may be binarised at ``binarize``."""
    array = open_array(path, key, cache_dir=cache_dir)
    scale = None
    if array.dtype == np.uint8 and any(int(array[i:i + _ROWS].max()) > 1 for i in range(0, len(array), _ROWS)):
        scale = 1.0 / 255.0
    return ArrayDataset(array, scale=scale, binarize=binarize, dtype=dtype)


def _dataset_of(data: Any) -> Dataset | None:
    """The map-style dataset behind ``data`` (a Dataset, a DataLoader, or a memory map), or None."""
    if isinstance(data, DataLoader):
        data = data.dataset
        require(not isinstance(data, IterableDataset), "an IterableDataset cannot be indexed; pass a map-style Dataset "
                                                       "(the trainer draws its own seeded minibatches)")
    if isinstance(data, np.memmap):
        return ArrayDataset(data)
    if isinstance(data, Dataset):
        require(not isinstance(data, IterableDataset), "an IterableDataset cannot be indexed; pass a map-style Dataset")
        return data
    return None


def _fetch(dataset: Dataset, indices: list[int]) -> torch.Tensor:
    if isinstance(dataset, ArrayDataset):
        return dataset.read_rows(indices)
    getitems = getattr(dataset, "__getitems__", None)
    rows = getitems(indices) if getitems is not None else [dataset[i] for i in indices]
    rows = [r[0] if isinstance(r, (tuple, list)) else r for r in rows]  # (x, label) pairs: the sample
    return torch.stack([torch.as_tensor(np.asarray(r)).reshape(-1) for r in rows])


class StreamedRows:
    """A data set read a batch at a time, indexed like an ``(n, d)`` tensor (what the trainer needs).

    ``rows[index_tensor]`` and ``rows[a:b]`` read those rows from the dataset and return them as a tensor
    of ``dtype`` on ``device``, checked by ``validate`` (e.g. the model's visible domain).
    """

    def __init__(self, dataset: Dataset, *, dtype: torch.dtype | None = None, device: Any = None,
                 validate: Any = None) -> None:
        self.dataset = dataset
        n = len(dataset)  # type: ignore[arg-type]
        require(n >= 1, "the dataset is empty", DataError)
        first = _fetch(dataset, [0])
        self.dtype = dtype or (first.dtype if first.is_floating_point() else torch.get_default_dtype())
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.validate = validate
        self.shape = torch.Size((n, first.shape[1]))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> torch.Tensor:
        if isinstance(index, slice):
            indices = list(range(*index.indices(self.shape[0])))
        else:
            indices = torch.as_tensor(index).reshape(-1).tolist()
        x = _fetch(self.dataset, indices).to(device=self.device, dtype=self.dtype)
        if x.shape[1:] != self.shape[1:]:
            raise ShapeError(f"dataset rows have {x.shape[1]} values; the first row had {self.shape[1]}")
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise DataError("the dataset contains NaN or infinite values")
        if self.validate is not None:
            self.validate(x)
        return x

    def chunks(self, size: int = _ROWS) -> Iterator[torch.Tensor]:
        """All rows in order, ``size`` at a time."""
        for i in range(0, self.shape[0], size):
            yield self[i:i + size]

    def max(self) -> torch.Tensor:
        return torch.stack([c.max() for c in self.chunks()]).max()


def spread_index(n_rows: int, n: int) -> torch.Tensor:
    """``min(n, n_rows)`` row indices evenly spread over ``0 .. n_rows - 1`` (all rows when ``n >= n_rows``)."""
    return torch.linspace(0, n_rows - 1, min(int(n), int(n_rows))).round().long()


def streamed_rows(data: Any, **kwargs: Any) -> StreamedRows | None:
    """:class:`StreamedRows` of a Dataset, DataLoader or memory map; None for in-memory data (arrays, tensors)."""
    if isinstance(data, StreamedRows):
        return data
    dataset = _dataset_of(data)
    return None if dataset is None else StreamedRows(dataset, **kwargs)


def minibatches(data: Any, batch_size: int, *, shuffle: bool = True, seed: int | None = 0,
                drop_last: bool = False) -> Iterator[torch.Tensor]:
    """One epoch of minibatches ``(batch_size, d)`` of an array, memory map or Dataset, read batch by batch.

    With ``shuffle`` the order is a permutation drawn from ``seed``; each batch's rows are read in
    ascending order (fewer page faults in a memory map).
    """
    require(batch_size >= 1, f"batch_size must be >= 1; got {batch_size}")
    rows = streamed_rows(data) or StreamedRows(ArrayDataset(np.asarray(data)))
    n = len(rows)
    order = torch.randperm(n, generator=make_generator(seed)) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield rows[order[i:i + batch_size].sort().values]
