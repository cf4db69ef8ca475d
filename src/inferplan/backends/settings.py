"""What a user may set about a backend, and which backend a model spec names: checked before
anything probes the machine or loads a model (engines import this, never the package)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MODEL = "smollm2"
THINKING_CUTS = ("auto", "client")  # BackendSettings.thinking_cut


@dataclass(frozen=True)
class BackendSettings:
    """Engine settings a user may give on the command line."""

    threads: int | None = None
    ctx: int | None = None  # llama.cpp: tokens per sequence (prompt + completion); None = auto, from the work
    gpu_layers: int = 0
    parallel: int = 16  # samples decoded at once (batch width / request pool)
    model_name: str | None = None  # for servers
    api_key_env: str | None = None  # for servers
    timeout: float = 600.0  # seconds, for servers
    weights: str = "auto"  # llama.cpp: auto | native | f16 (see backends.llamacpp.weights)
    kv_cache: str = "auto"  # llama.cpp: auto | split | unified (see backends.llamacpp.sizing)
    # servers: who cuts a thinking at its budget: auto (the server's own parameter where it has one,
    # backends/openai/budget.py) or client (the continuation, forcing as the in-process engine does)
    thinking_cut: str = "auto"
    extra: dict = field(default_factory=dict)


def backend_kind(model: str) -> str:
    """Which backend serves a model spec: llamacpp, transformers or openai."""
    if model.startswith(("http://", "https://")):
        return "openai"
    if model.startswith("hf:"):
        return "transformers"
    return "llamacpp"


def check_settings(settings: BackendSettings, model: str | None = None) -> None:
    """Refuse settings no backend could take (``--weights fp8``, ``--kv-cache nope``), and llama.cpp-only
    ones given for another ``model``: cheap checks, made before anything probes the machine or loads a model."""
    from inferplan.backends.llamacpp.sizing import check_layout
    from inferplan.backends.llamacpp.weights import check_weights
    from inferplan.errors import InvalidValue

    check_weights(settings.weights)
    check_layout(settings.kv_cache)
    if settings.thinking_cut not in THINKING_CUTS:
        raise InvalidValue("thinking_cut", f"{{name}} must be one of {', '.join(THINKING_CUTS)}, "
                                           f"got {settings.thinking_cut!r}")
    if settings.parallel < 1:
        raise InvalidValue("parallel", f"{{name}} must be at least 1, got {settings.parallel}")
    if model is not None and backend_kind(model) != "llamacpp":
        for name in ("weights", "kv_cache"):
            if getattr(settings, name) != "auto":
                raise InvalidValue(name, f"{{name}} {getattr(settings, name)} applies to llama.cpp GGUF models "
                                         f"only, not to {model}")
