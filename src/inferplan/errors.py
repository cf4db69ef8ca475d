"""Domain exceptions and the exit codes they map to.

Every error a user can cause derives from :class:`InferplanError` and carries its
exit code; ``cli/main.py`` is the single place that turns them into a one-line
message and a process exit status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (also listed in the README)."""

    OK = 0
    FAILURE = 1  # unexpected internal error (a bug: rerun with --debug)
    USAGE = 2  # bad command-line usage (the argument parser keeps this code)
    BAD_INPUT = 3  # malformed task/profile/plan file, empty task set, bad value
    MODEL = 4  # model file missing, not GGUF, or cannot be loaded
    BACKEND = 5  # backend or server failed (connection refused, HTTP error, crash)
    INFEASIBLE = 6  # budget or target accuracy that no plan can meet
    CONFLICT = 7  # output exists with other settings or is not ours (use --force), is busy, or cannot be written
    DEPENDENCY = 8  # an optional package is needed and missing
    INTERRUPTED = 130  # Ctrl-C; work written so far is kept


class InferplanError(Exception):
    """Base class of errors a user can cause; the message is shown as one line."""

    exit_code: ExitCode = ExitCode.FAILURE


class InputError(InferplanError):
    """Malformed or invalid input: a file, a line in it, or an option value."""

    exit_code = ExitCode.BAD_INPUT


class InvalidValue(InputError):
    """A parameter outside its range, named as the API names it (``max_tokens``).

    The message is a template with ``{name}`` where the parameter goes (``{0}``,
    ``{1}`` … when it names several), so the CLI can say the same thing with its
    flags (``--max-tokens``): ``str(error)`` uses the API names, ``message(...)`` others.
    """

    def __init__(self, params: str | tuple[str, ...], template: str) -> None:
        self.params = (params,) if isinstance(params, str) else tuple(params)
        self.template = template
        super().__init__(self.message(*self.params))

    def message(self, *names: str) -> str:
        return self.template.format(*names, name=names[0])


class ModelError(InferplanError):
    """The model is missing, not a GGUF file, or could not be loaded."""

    exit_code = ExitCode.MODEL


class BackendError(InferplanError):
    """The inference backend or server failed while sampling."""

    exit_code = ExitCode.BACKEND


class InfeasibleError(InferplanError):
    """No plan meets the requested budget or target accuracy."""

    exit_code = ExitCode.INFEASIBLE


class OutputError(InferplanError):
    """An output cannot be written where asked: its folder is not writable, or the path is a folder."""

    exit_code = ExitCode.CONFLICT


class ConflictError(OutputError):
    """An existing output was made with different settings, or is not a file inferplan wrote."""


class DependencyError(InferplanError):
    """An optional dependency is required but not installed."""

    exit_code = ExitCode.DEPENDENCY
