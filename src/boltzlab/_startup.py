"""Quiet interruption of the ``boltzlab`` command while the package is being imported.

Importing the numeric stack takes seconds; a SIGINT or SIGTERM in that time would otherwise end the command
with a Python traceback (or, for SIGTERM, without a word).  Until :func:`boltzlab.cli.main.main` installs its
own handlers, the command ends with one line and exit code 130 (SIGINT) or 143 (SIGTERM).  Only the command
installs these handlers; importing boltzlab as a library changes no signal handling.
"""

import os
import signal
import sys


def _quit(signum: int, frame: object) -> None:
    sys.stderr.write(f"boltzlab: {'interrupted' if signum == signal.SIGINT else 'terminated'} while starting\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def is_command() -> bool:
    """Whether this process is the ``boltzlab`` command (console script or ``python -m boltzlab.cli.main``)."""
    argv = getattr(sys, "orig_argv", [])
    return argv[1:3] == ["-m", "boltzlab.cli.main"] or os.path.basename(sys.argv[0] if sys.argv else "") == "boltzlab"


def install() -> None:
    if is_command():
        signal.signal(signal.SIGINT, _quit)
        signal.signal(signal.SIGTERM, _quit)
