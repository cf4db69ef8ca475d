"""Forced answers on an OpenAI-compatible server, by continuation (issue 30).

A server cannot be told to append text to a sample mid-generation, so a sample that spends
``max_tokens`` is finished by one more request that continues it: the prompt as the server
saw it, the sample's text and the forced text (``force_answer``), answered greedily in at most
``answer_tokens`` tokens and cut at its first line break after some answer text — the
llama.cpp engine's rule (:func:`inferplan.policy.forcing.answer_end`).

Raw prompts continue on ``/completions``. Chat messages continue as a trailing assistant
message, on the servers known to continue one rather than answer it in a new turn:
llama.cpp's llama-server (prefills a trailing assistant message unless started with
``--no-prefill-assistant``) and vLLM (``continue_final_message`` with no generation prompt).
llama-cpp-python's server starts a new turn after it (checked against the server the tests
run: the same answer as without it, and the prompt longer by an end-of-turn and a new header),
so there, and on servers that do not name themselves, forcing a chat request is refused.
Where a server cuts the thinking itself (llama-server with a template that opens a thinking
block, vLLM behind a reasoning parser), chat requests use its knob instead (:mod:`budget`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from inferplan.backends.base import Completion, ForcedAnswer, SampleRequest
from inferplan.backends.openai.http import (
    choice_text,
    finish_reason,
    reply_parts,
    token_count,
    token_pieces,
    tokens_before,
)
from inferplan.errors import InputError
from inferplan.policy.forcing import answer_end, check_forcing, finish_forced, refuse_probes

# Server kind (GET /models' owned_by) → what a chat request needs so that the server continues
# its trailing assistant message.
CHAT_CONTINUES = {"llamacpp": {}, "vllm": {"continue_final_message": True, "add_generation_prompt": False}}


def check_forcing_on(backend, request: SampleRequest) -> None:
    """Refuse, in one line, forcing this server cannot do: probes, or a chat request where the
    server would answer the forced text in a new turn instead of continuing it."""
    if not request.forces and not request.probe_depths:
        return
    refuse_probes(request, "OpenAI-compatible")
    check_forcing(request)
    if request.messages is not None and backend.server_kind() not in CHAT_CONTINUES:
        raise InputError(f"forced answers on chat messages need a server that continues a trailing assistant "
                         f"message (llama.cpp's llama-server, vLLM); the server at {backend.base_url} "
                         f"(owned_by {backend.server_kind()!r}) would answer it in a new turn: give raw prompts "
                         "(a base or raw template) or use such a server")


async def force_answers(backend, request: SampleRequest, completions: list[Completion]) -> list[Completion]:
    """The completions with every one that finished "length" finished by its forced answer."""
    if not request.forces:
        return completions
    return list(await asyncio.gather(*(_forced(backend, request, c) if c.finish == "length" else _same(c)
                                       for c in completions)))


async def _same(completion: Completion) -> Completion:
    return completion


def continuation(backend, request: SampleRequest, text: str) -> tuple[str, dict]:
    """(endpoint, body) of the request that continues ``text`` (the sample and the forced
    text) greedily, at most ``answer_tokens`` tokens, stopping at a line break."""
    if request.messages is None:
        endpoint = "/completions"
        asked = replace(request, prompt=request.prompt + text)
    else:
        endpoint = "/chat/completions"
        asked = replace(request, messages=(*request.messages, {"role": "assistant", "content": text}))
    asked = replace(asked, max_tokens=request.answer_tokens, stop=("\n",), top_k=0, top_p=1.0, min_p=0.0)
    body = backend.body(asked, endpoint, 1, 0.0, 0)
    if request.messages is not None:  # the kind was asked at submit (check_forcing_on): no request from the loop
        body.update(CHAT_CONTINUES.get(backend.server_kind(), {}))
    return endpoint, body


async def _forced(backend, request: SampleRequest, completion: Completion) -> Completion:
    prefill = completion.text + request.force_answer
    endpoint, body = continuation(backend, request, prefill)
    # llama-server returns a prefilled assistant message whole (the prefill, then what it added).
    echoed = prefill if request.messages is not None else None
    async with backend.semaphore:  # a continuation is one more request in flight: within --parallel
        start = time.monotonic()
        text, tokens, ended, prompt = await _answer(backend, endpoint, body, echoed)
        seconds = time.monotonic() - start
    # The answer prompt's tokens: what the continuation's prompt has beyond the sample's prompt and
    # thinking. Re-tokenizing the joined text can merge a token across the seam, hence at least 1.
    if prompt is not None and completion.prompt_tokens:
        lead = prompt - completion.prompt_tokens - completion.completion_tokens
    else:  # the server reports no prompt tokens: an estimate (about four characters a token)
        lead = round(len(request.force_answer) / 4)
    answer = ForcedAnswer(completion.completion_tokens, request.force_answer + text, max(1, lead) + tokens, ended)
    return finish_forced(completion, answer, seconds)


async def _answer(backend, endpoint: str, body: dict, echoed: str | None) -> tuple[str, int, bool, int | None]:
    """(answer text, its tokens, whether it ended by itself, the continuation's prompt tokens);
    ``echoed``: the prefilled text a server may repeat before what it added, dropped."""
    text, finish, tokens, pieces, prompt = _read(backend, await backend.post(endpoint, body), echoed)
    if finish == "stop" and answer_end(text + "\n") is None and tokens < body["max_tokens"]:
        # Stopped before any answer text (a letter or digit; ":" is not one): a line break the
        # engine reads past, or the end of text. Greedy decoding repeats itself, so ask again
        # without the stop and cut here.
        body = {k: v for k, v in body.items() if k != "stop"}
        text, finish, tokens, pieces, prompt = _read(backend, await backend.post(endpoint, body), echoed)
    cut = answer_end(text)
    if cut is None:
        return text, tokens, finish != "length", prompt
    # Tokens up to and including the one that holds the answer's line break, as the engine counts them.
    through = tokens_before(pieces, text, cut + 1)
    return text[:cut], tokens if through is None else through, True, prompt


def _read(backend, reply: dict, echoed: str | None = None) -> tuple[str, str, int, list[str] | None, int | None]:
    """(text, finish, generated tokens, per-token texts or None, prompt tokens or None) of a reply;
    a text that repeats ``echoed`` first is read from where the echo ends."""
    choices, usage = reply_parts(reply, backend.base_url)
    if not choices:
        return "", "stop", 0, None, token_count(usage.get("prompt_tokens"), backend.base_url)
    choice = choices[0]
    text, pieces = choice_text(choice), token_pieces(choice)
    if echoed and text.startswith(echoed):
        text = text[len(echoed):]
    tokens = token_count(usage.get("completion_tokens"), backend.base_url)
    if tokens is None:  # no usage: the per-token logprobs, else an estimate (about four characters a token)
        tokens = len(pieces) if pieces is not None else max(1, round(len(text) / 4))
    return text, finish_reason(choice), tokens, pieces, token_count(usage.get("prompt_tokens"), backend.base_url)
