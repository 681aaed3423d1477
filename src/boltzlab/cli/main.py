"""Entry point of the ``boltzlab`` command.

Every user error (missing or corrupt file, wrong shape, value outside a unit's domain, NaN, invalid
hyperparameter, an output directory another run holds) ends with one line ``boltzlab: error: ...`` on stderr
and exit code 2, before any work.  SIGINT and SIGTERM end a command with one line and exit code 130 or 143;
checkpoints are written atomically, so the last one written is intact.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import warnings

from ..distributed import shutdown
from ..errors import BoltzlabError
from . import demo, model_cmds, reproduce, theory_cmds, train
from . import reciprocal_cmds
from . import thermo_cmds
from . import toolbox_cmds
from . import field_cmds
from . import vmc_cmds
from .common import Parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it ends as an interrupted one does."""


@functools.lru_cache(maxsize=1)
def build_parser() -> Parser:
    """The parser of every command, built once per process (parsing does not change it)."""
    parser = Parser(prog="boltzlab", description="Boltzmann machines studied as physical systems: train, "
                                                 "sample, evaluate and analyse them.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"boltzlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in (train, model_cmds, demo, reproduce, theory_cmds, reciprocal_cmds, thermo_cmds, toolbox_cmds,
                   field_cmds, vmc_cmds):
        module.register(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings of the library (e.g. an AIS error above its target) as one line on stderr."""
    print(f"boltzlab: warning: {str(message).strip().splitlines()[0]}", file=sys.stderr)


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    handlers = threading.current_thread() is threading.main_thread()
    if handlers:
        old = signal.signal(signal.SIGTERM, _terminate), signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("default", module=r"boltzlab\.")
            warnings.showwarning = _show_warning
            return _main(argv)
    finally:
        if handlers:
            signal.signal(signal.SIGTERM, old[0])
            signal.signal(signal.SIGINT, old[1])


def _error(msg: str) -> int:
    print(f"boltzlab: error: {msg.strip().splitlines()[0] if msg.strip() else 'failed'}", file=sys.stderr)
    return 2


def _main(argv: list[str] | None) -> int:
    import torch
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors (already printed)
            return int(exc.code or 0)
        if not getattr(args, "func", None):
            return _error("give a command (see 'boltzlab --help')")
        code = int(args.func(args) or 0)
        shutdown()  # leave the torchrun process group of a --distributed command (a no-op otherwise)
        return code
    except BoltzlabError as exc:
        return _error(str(exc) or type(exc).__name__)
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError, FileExistsError) as exc:
        return _error(f"{exc.filename or ''}: {exc.strerror}")
    except (MemoryError, torch.OutOfMemoryError):
        return _error("out of memory; use a smaller model, fewer chains or a smaller --batch-size")
    except Terminated:
        print("boltzlab: terminated; the last checkpoint written is intact", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("boltzlab: interrupted; the last checkpoint written is intact", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
