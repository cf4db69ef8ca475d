"""Inference backends behind one protocol, chosen from a model spec string.

``smollm2`` (default) → the embedded model on llama.cpp; ``*.gguf`` → llama.cpp;
``hf:DIR`` → transformers; ``http(s)://…/v1`` → an OpenAI-compatible server, or several
of the same model, comma-separated (requests go to the least loaded).
Backends are imported lazily so that e.g. ``inferplan fit`` never loads llama.cpp.
"""

from __future__ import annotations

from inferplan.backends.base import Backend, BackendInfo, Completion, SampleRequest, SampleStream
from inferplan.backends.settings import DEFAULT_MODEL, BackendSettings, backend_kind, check_settings


def open_backend(model: str = DEFAULT_MODEL, settings: BackendSettings | None = None) -> Backend:
    """Open the backend for ``model`` (see module docstring for the spec forms)."""
    settings = settings or BackendSettings()
    check_settings(settings, model)
    kind = backend_kind(model)
    if kind == "openai":
        from inferplan.backends.openai.backend import OpenAIBackend
        from inferplan.backends.openai.servers import ServersBackend, server_urls

        urls = server_urls(model)
        return OpenAIBackend(urls[0], settings) if len(urls) == 1 else ServersBackend(urls, settings)
    if kind == "transformers":
        from inferplan.backends.transformers.backend import TransformersBackend

        return TransformersBackend(model[3:], settings)
    from inferplan.backends.llamacpp.engine import LlamaCppBackend

    return LlamaCppBackend(model, settings)


def prepare(backend: Backend, requests=(), tokens: int = 0) -> None:
    """Let ``backend`` size what it allocates for this work before its first stream, if it can
    (llama.cpp's ``--ctx auto``: the longest prompt plus max_tokens, or ``tokens`` of room)."""
    size = getattr(backend, "prepare", None)  # optional in the Backend protocol
    if size is not None:
        size(requests, tokens)


def model_sha256(model: str) -> str | None:
    """The weights' sha256 of a local GGUF model spec (``smollm2`` or a path; cached by path, size
    and mtime), without loading it; None for a server or a transformers folder."""
    if backend_kind(model) != "llamacpp":
        return None
    from inferplan.backends.embedded import resolve_model_path
    from inferplan.backends.gguf_info import file_sha256

    return file_sha256(resolve_model_path(model))


def chat_template_of(model: str) -> str | None:
    """The chat template of a local GGUF model (to find its end-of-thinking marker); None for a
    server, a transformers model or a file that cannot be read."""
    from inferplan.backends.embedded import resolve_model_path
    from inferplan.backends.gguf_info import read_gguf_info
    from inferplan.errors import InferplanError

    if model.startswith(("http://", "https://", "hf:")):
        return None
    try:
        return read_gguf_info(resolve_model_path(model)).chat_template
    except (InferplanError, OSError):
        return None


def token_counter(model: str):
    """``count(text)`` → tokens of ``text`` as GGUF ``model`` (``smollm2`` or a path) reads it; no weights loaded."""
    from inferplan.backends.llamacpp.tokenizer import token_counter as counter

    return counter(model)


__all__ = [
    "Backend",
    "BackendInfo",
    "BackendSettings",
    "Completion",
    "DEFAULT_MODEL",
    "SampleRequest",
    "SampleStream",
    "backend_kind",
    "model_sha256",
    "check_settings",
    "open_backend",
    "prepare",
    "token_counter",
]
