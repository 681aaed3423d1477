"""Output directories that a command owns: one writer at a time, no file of another kind replaced.

A command that writes into a directory takes :class:`RunLock` on it first.  The lock is an advisory
``fcntl.flock`` on ``DIR/.lock``, held for the life of the process and released by the kernel when the
process ends (also when it is killed), so a stale lock file never blocks a later run; the file holds the
holder's PID for the message a second writer gets.  :func:`require_memory` refuses an allocation that
cannot fit before it is attempted.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from .errors import CheckpointError, ConfigError, require

LOCK = ".lock"


class RunLock:
    """Exclusive ownership of directory ``path`` (created if missing) until :meth:`release`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        require(not self.path.exists() or self.path.is_dir(), f"{self.path} is a file; --out names a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise CheckpointError(f"{self.path} is in use by another boltzlab process (PID {holder}); wait for it "
                                  "to finish or choose another --out") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def clear_run(path: str | os.PathLike, names: tuple[str, ...], folders: tuple[str, ...] = ()) -> list[str]:
    """Remove the files ``names`` and the folders ``folders`` a previous run left in ``path``; what was removed."""
    path = Path(path)
    removed = []
    for name in names:
        if (path / name).is_file():
            (path / name).unlink()
            removed.append(name)
    for name in folders:
        if (path / name).is_dir():
            shutil.rmtree(path / name)
            removed.append(name + "/")
    return removed


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable of /proc/meminfo, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def require_memory(n_bytes: float, what: str) -> None:
    """Refuse (ConfigError) an allocation of ``n_bytes`` that exceeds the memory available."""
    free = available_memory()
    require(n_bytes <= free, f"{what} needs {n_bytes / 2**30:.3g} GiB; only {free / 2**30:.3g} GiB of memory are "
                             "available")
