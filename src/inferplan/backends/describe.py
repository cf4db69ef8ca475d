"""What ``inferplan models`` reports: the embedded default, or one GGUF file described."""

from __future__ import annotations

from dataclasses import dataclass

from inferplan.backends.embedded import ALIAS, DESCRIPTION, INSTALL_HINT, embedded_model_path, resolve_model_path
from inferplan.backends.gguf_info import GGUFInfo, file_sha256, read_gguf_info
from inferplan.errors import DependencyError


@dataclass(frozen=True)
class ModelEntry:
    """One model: its alias (if any), whether it is the default, its GGUF facts."""

    alias: str | None
    default: bool
    description: str | None
    available: bool
    gguf: GGUFInfo | None
    sha256: str | None
    problem: str | None = None  # why it is unavailable (e.g. the pip command)


def _entry(spec: str, alias: str | None, default: bool, with_hash: bool) -> ModelEntry:
    path = embedded_model_path() if spec == ALIAS else resolve_model_path(spec)
    info = read_gguf_info(path)
    return ModelEntry(alias, default, DESCRIPTION if alias == ALIAS else None, True, info,
                      file_sha256(path) if with_hash else None)


def describe_models(model: str | None = None, with_hash: bool = True) -> list[ModelEntry]:
    """The default model (``model`` None; reported as unavailable if its package is missing)
    or the one given (errors if it is missing or not GGUF)."""
    if model is not None:
        alias = ALIAS if model == ALIAS else None
        return [_entry(model, alias, alias == ALIAS, with_hash)]
    try:
        return [_entry(ALIAS, ALIAS, True, with_hash)]
    except DependencyError:
        return [ModelEntry(ALIAS, True, DESCRIPTION, False, None, None, problem=f"not installed: {INSTALL_HINT}")]


def gguf_parameters(path: str) -> float | None:
    """A local GGUF file's parameter count from its header (milliseconds), None if unreadable."""
    from inferplan.errors import ModelError

    try:
        return float(read_gguf_info(path).parameters) or None
    except (OSError, ModelError, ValueError):
        return None


def model_parameters(recorded: float | None, model_path: str | None) -> float | None:
    """A profile's model parameter count: what its header recorded, else (older profiles) the
    local GGUF's metadata."""
    if recorded or not (model_path or "").endswith(".gguf"):
        return recorded
    return gguf_parameters(model_path)
