"""Entry point of the ``boltzlab`` command.

Every user error (missing or corrupt file, wrong shape, value outside a unit's domain, NaN, invalid
hyperparameter) ends with one line ``boltzlab: error: ...`` on stderr and exit code 2.
"""

from __future__ import annotations

import sys
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


def build_parser() -> Parser:
    parser = Parser(prog="boltzlab", description="Boltzmann machines studied as physical systems: train, "
                                                 "sample, evaluate and analyse them.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"boltzlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    train.register(sub)
    model_cmds.register(sub)
    demo.register(sub)
    reproduce.register(sub)
    theory_cmds.register(sub)
    reciprocal_cmds.register(sub)
    thermo_cmds.register(sub)
    toolbox_cmds.register(sub)
    field_cmds.register(sub)
    vmc_cmds.register(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings of the library (e.g. an AIS error above its target) as one line on stderr."""
    print(f"boltzlab: warning: {str(message).strip().splitlines()[0]}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    with warnings.catch_warnings():
        warnings.filterwarnings("default", module=r"boltzlab\.")
        warnings.showwarning = _show_warning
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (already printed)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        shutdown()  # leave the torchrun process group of a --distributed command (a no-op otherwise)
        return code
    except BoltzlabError as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"boltzlab: error: {msg}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        print(f"boltzlab: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("boltzlab: interrupted; the last checkpoint written is intact", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
