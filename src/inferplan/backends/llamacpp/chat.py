"""Render chat messages with the model's own chat template (GGUF ``tokenizer.chat_template``).

Templates are Jinja2 (the Hugging Face convention), evaluated in a sandbox. A
model without a template falls back to ChatML, the format most small instruct
models (SmolLM2 included) were trained on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from inferplan.errors import InputError, ModelError

_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class ChatTemplate:
    """A compiled chat template; ``render(messages)`` → the prompt text."""

    def __init__(self, source: str | None, bos_token: str = "", eos_token: str = "") -> None:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.source = source or _CHATML
        self.is_fallback = source is None
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loader=jinja2.BaseLoader())
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        try:
            self._template = env.from_string(self.source)
        except jinja2.TemplateError as e:
            raise ModelError(f"the model's chat template does not compile: {e}") from None
        self._bos, self._eos = bos_token, eos_token

    def render(self, messages: Sequence[dict]) -> str:
        """The prompt for ``messages`` ending with the assistant's turn opened."""
        for m in messages:
            if not isinstance(m, dict) or "role" not in m or "content" not in m:
                raise InputError("each chat message needs 'role' and 'content'")
        try:
            return self._template.render(
                messages=list(messages), add_generation_prompt=True,
                bos_token=self._bos, eos_token=self._eos,
            )
        except InputError:
            raise
        except Exception as e:  # template errors are the template's or the messages' fault
            raise InputError(f"chat template failed on these messages: {e}") from None


def _raise(message: str) -> None:
    raise InputError(f"chat template: {message}")
