"""Where the MNIST test set is found: an explicit path, then ``$BOLTZLAB_MNIST``, then ``../shared/data/mnist``
beside the project (the directory that holds the boltzlab checkout)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError

MNIST_ENV = "BOLTZLAB_MNIST"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MNIST = PROJECT_ROOT / ".." / "shared" / "data" / "mnist"


def _holds_mnist(path: Path) -> bool:
    return path.is_dir() and any(path.glob("t10k-images*"))


def mnist_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The directory of the MNIST IDX files (``t10k-images-idx3-ubyte[.gz]``): ``explicit`` (a ``--mnist`` flag)
    when given, else ``$BOLTZLAB_MNIST``, else ``../shared/data/mnist`` beside the project root.  The error
    names all three places when none holds the data."""
    candidates = [("the flag", explicit), (f"${MNIST_ENV}", os.environ.get(MNIST_ENV)),
                  ("the default", DEFAULT_MNIST)]
    for _, path in candidates:
        if path:
            p = Path(path)
            if _holds_mnist(p):
                return p
            if path is explicit:
                break
    tried = "; ".join(f"{what}: {path or '(not set)'}" for what, path in candidates)
    raise DataError(f"MNIST (t10k-images-idx3-ubyte) not found; looked at {tried}. Pass --mnist DIR or set "
                    f"{MNIST_ENV}")
