"""Entry point: runs the typer app and maps every exception to an exit code, here only."""

from __future__ import annotations

import os
import sys
import traceback

import click

from inferplan.errors import ExitCode, InferplanError, InvalidValue

try:  # typer ≥ 0.20 vendors click: its usage errors are not click's own classes
    from typer._click.exceptions import ClickException as _TyperClickException
except ImportError:  # older typer raises click's own exceptions
    _TyperClickException = click.exceptions.ClickException
_CLICK_ERRORS = (click.exceptions.ClickException, _TyperClickException)


# API parameter → the flag a CLI user typed, where it is not simply --name-with-dashes.
_FLAGS = {"n": "-n", "prices": "--price", "parameters": "--params", "profiles": "PROFILE"}


def flag(param: str) -> str:
    return _FLAGS.get(param, "--" + param.replace("_", "-"))


def message(error: InferplanError) -> str:
    """The error in the CLI's words: parameters named by their flags."""
    return error.message(*map(flag, error.params)) if isinstance(error, InvalidValue) else str(error)


def _debug(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("INFERPLAN_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (see :class:`ExitCode`)."""
    from inferplan.cli.app import app

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug(args)
    try:
        result = app(args=args, prog_name="inferplan", standalone_mode=False)
        if result == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130) itself
            print("inferplan: interrupted; work written so far is kept", file=sys.stderr)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except click.exceptions.Exit as e:
        return e.exit_code
    except _CLICK_ERRORS as e:  # usage errors keep exit code 2
        e.show(file=sys.stderr)
        return e.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("inferplan: interrupted; work written so far is kept", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error; silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except InferplanError as e:
        if debug:
            traceback.print_exc()
        print(f"inferplan: error: {message(e)}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # a bug: one line unless --debug
        if debug:
            traceback.print_exc()
        print(f"inferplan: internal error: {type(e).__name__}: {e} (rerun with --debug for details)", file=sys.stderr)
        return ExitCode.FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
