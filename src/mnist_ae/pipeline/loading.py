"""A step run in this process: its script imported and its `main(argv)` called, a bug turned into
one line (the traceback in a file)."""

from __future__ import annotations

import gc
import importlib.util
import sys
import traceback
from pathlib import Path

from mnist_ae.errors import EXIT_ERROR, EXIT_INTERRUPTED


def load_script(path: Path):
    """Import `scripts/<name>.py` as a module (scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(f"mnist_ae_step_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and pickling) look a class's module up there
    spec.loader.exec_module(module)
    return module


def run_step(name: str, script: Path, argv: list[str], log: Path) -> int:
    """Call `main(argv)` of step `name`'s `script`; an unexpected exception becomes one line
    (traceback in `log`)."""
    if "keras" in sys.modules:  # a fresh Keras state per step: names, memory
        sys.modules["keras"].backend.clear_session()
    gc.collect()
    saved_argv = sys.argv
    sys.argv = [str(script), *argv]  # so argparse names the script, as when it runs alone
    try:
        code = load_script(script).main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: one line here, the traceback in a file
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        print(f"{name}: error: {type(e).__name__}: {e} (traceback in {log})".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.argv = saved_argv
    return code or 0
