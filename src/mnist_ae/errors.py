"""The one guard every entry point uses: expected failures become one line and an exit code.

Example::

    def main(argv=None) -> int:
        return guard("build_report", lambda: build(...))
"""

from __future__ import annotations

import sys
from typing import Callable

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C


class Interrupted(Exception):
    """Ctrl-C during training; the message says how far it got and how to go on."""


# Failures a user can cause and fix (bad flag values, data, files, diverging training). Anything
# else is a bug and keeps its traceback.
EXPECTED = (ValueError, OSError, FloatingPointError, RuntimeError)


def guard(prog: str, body: Callable[[], object], expected: tuple[type[BaseException], ...] = EXPECTED) -> int:
    """Run `body()`; return 0, or print one line to stderr and return the exit code.

    `EXIT_ERROR` for an expected failure (`prog: error: message`), `EXIT_INTERRUPTED` for
    Ctrl-C (`prog: interrupted ...`).
    """
    try:
        body()
    except Interrupted as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; rerun the same command to go on (finished work is kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except expected as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    return 0
