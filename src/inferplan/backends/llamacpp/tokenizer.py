"""Count tokens with a GGUF's own tokenizer, without loading its weights (``vocab_only``)."""

from __future__ import annotations

from typing import Callable

from inferplan.backends.embedded import resolve_model_path
from inferplan.errors import ModelError


def token_counter(model: str) -> Callable[[str], int]:
    """``count(text)``: tokens of ``text`` as the model ``model`` (``smollm2`` or a GGUF path) reads it."""
    path = resolve_model_path(model)
    from llama_cpp import Llama

    from inferplan.backends.llamacpp.guard import route_native_logs

    route_native_logs()  # llama.cpp's load chatter goes to the debug log, not the user's terminal
    try:
        vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as e:
        raise ModelError(f"cannot read the tokenizer of {model}: {e}") from None
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
