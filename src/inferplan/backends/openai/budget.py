"""Thinking budgets applied by the server's own knob (issue 30), where it has one.

Two servers cut a sample's thinking themselves: llama.cpp's ``llama-server``, whose budget
sampler counts the tokens after the thinking start tag of the generation prompt and, at the
budget, forces ``reasoning_budget_message`` and the end tag (per request: ``reasoning_budget_tokens``
— ``thinking_budget_tokens`` in older builds — and ``reasoning_budget_message``, read by build
11434 on the chat path when its template opens a thinking block); and vLLM, which forces the
end string of its ``--reasoning-config`` after ``thinking_token_budget`` tokens. There one
request does what the continuation (:mod:`~inferplan.backends.openai.forcing`) does in two: the
sample's ``max_tokens`` becomes the budget, and the request's ``max_tokens`` is bounded to the
budget, the forced text and ``answer_tokens`` so that the answer cannot run on.

Which server has the knob is found out once per server, when a forcing chat request first
needs it: llama-server (``owned_by: llamacpp``) when its template's generation prompt ends in
``<think>`` (``POST /apply-template``); vLLM (``owned_by: vllm``) when a one-token-budget probe
comes back with its thinking split out (a reasoning parser). Raw prompts, and every other
server, keep the continuation.

The reply is read into the fields the continuation fills: ``text`` is the thinking, the forced
text and the answer; ``finish`` is "forced" where the server cut the thinking (the answer prompt
and end tag in the text; on vLLM, reasoning tokens at the budget), "stop" where it ended by
itself, "length" where an answer after a thinking that ended by itself ran into ``max_tokens``
(censored). The forced answer is cut at its first line break after some answer text (the
engine's rule); its tokens are the server's count, everything after the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from inferplan.backends.base import Completion, ForcedAnswer, SampleRequest
from inferplan.backends.openai.http import (
    choice_logprobs,
    finish_reason,
    reply_parts,
    token_count,
    token_pieces,
    tokens_before,
)
from inferplan.errors import BackendError
from inferplan.policy.forcing import THINK_END, answer_end

THINK_START = "<think>"
VLLM_END_TOKENS = 16  # room for vLLM's forced end string, which the client is not told


@dataclass(frozen=True)
class Knob:
    """How one server applies one forced text as a thinking budget."""

    kind: str  # "llamacpp" or "vllm"
    message: str  # sent as the text forced before the end tag ("" where the server has its own)
    forced_tokens: int  # tokens the server forces at the budget: the message and the end tag

    def fields(self, request: SampleRequest) -> dict:
        """The request fields that make the server cut the thinking at ``request.max_tokens``."""
        budget = request.max_tokens
        bound = budget + self.forced_tokens + request.answer_tokens
        if self.kind == "vllm":
            return {"thinking_token_budget": budget, "max_tokens": bound}
        # reasoning_format none: the text comes back whole, not split by the server's parser
        # (which splits at the first "</think>" in the text, even one the model wrote itself).
        return {"reasoning_budget_tokens": budget, "reasoning_budget_message": self.message,
                "reasoning_format": "none", "max_tokens": bound}

    @property
    def cut(self) -> str:
        """The text at which the thinking was cut: what the server forces (llama-server)."""
        return self.message + THINK_END


def knob_for(backend, request: SampleRequest) -> Knob | None:
    """The server's own budget for this request, or None (continue on the client instead).
    Asked in the submitting thread: it may call the server (once per server and forced text)."""
    if not request.forces or request.messages is None or backend.settings.thinking_cut == "client":
        return None
    known = backend.knobs
    if request.force_answer not in known:
        known[request.force_answer] = _detect(backend, request.force_answer)
    return known[request.force_answer]


def _detect(backend, force_answer: str) -> Knob | None:
    kind = backend.server_kind()
    if kind == "vllm":
        return Knob("vllm", "", VLLM_END_TOKENS) if _vllm_reasons(backend) else None
    if kind != "llamacpp":
        return None
    rendered = _root_post(backend, "/apply-template", {"messages": [{"role": "user", "content": "Hi"}]})
    prompt = rendered.get("prompt") if isinstance(rendered, dict) else None
    if not isinstance(prompt, str) or not prompt.rstrip().endswith(THINK_START):
        return None  # no thinking block opened by the generation prompt: the sampler would not engage
    # The server forces the message before its end tag: the answer prompt, without our own marker.
    message = force_answer.split(THINK_END, 1)[1] if THINK_END in force_answer else force_answer
    tokens = _root_post(backend, "/tokenize", {"content": message + THINK_END})
    ids = tokens.get("tokens") if isinstance(tokens, dict) else None
    return Knob("llamacpp", message, len(ids) if isinstance(ids, list) else len(message) // 3 + 4)


def _vllm_reasons(backend) -> bool:
    """Does this vLLM server split a reply's thinking out (a reasoning parser, without which its
    budget has no thinking to count)? One tiny request with a one-token budget."""
    body = {"model": backend.model_name, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
            "temperature": 0.0, "thinking_token_budget": 1}

    async def post() -> object:
        try:
            return await backend.post("/chat/completions", body)
        except BackendError:
            return None

    reply = backend.call(post())
    choices = reply.get("choices") if isinstance(reply, dict) else None
    message = _message(choices[0]) if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    return bool(message.get("reasoning") or message.get("reasoning_content"))


def _root_post(backend, path: str, body: dict) -> object:
    """POST to the server's own endpoints beside ``/v1`` (None: not there, or not answered)."""
    root = backend.base_url.removesuffix("/v1")

    async def post() -> object:
        try:
            response = await backend.client.post(root + path, json=body)
            return response.json() if response.status_code < 300 else None
        except (httpx.HTTPError, ValueError):
            return None

    return backend.call(post())


def read_budgeted(backend, knob: Knob, request: SampleRequest, reply: dict, sample: dict) -> Completion:
    """The completion of one sample the server budgeted. ``sample``: the Completion fields that
    do not come from the reply (request, index, temperature, seed, seconds)."""
    choices, usage = reply_parts(reply, backend.base_url)
    if not choices:
        raise BackendError(f"server at {backend.base_url} sent a reply without choices")
    choice = choices[0]
    total = token_count(usage.get("completion_tokens"), backend.base_url)
    pieces = token_pieces(choice)
    if total is None:
        total = len(pieces) if pieces is not None else 0
    finish = finish_reason(choice)
    if knob.kind == "vllm":
        thinking, cut, answer, thought = _split_vllm(choice, usage, request, total, backend.base_url)
    else:
        thinking, cut, answer, thought = _split_llamacpp(choice, knob, request, pieces)
        if cut is None and THINK_END not in thinking and finish == "length":
            raise BackendError(f"server at {backend.base_url} did not apply its thinking budget (no {THINK_END} "
                               f"within {total} tokens): its budget sampler never saw the template's {THINK_START} "
                               "(e.g. a tokenizer that merges it with a following line break)")
    logprob, _, confidence = choice_logprobs(choice)
    fields = dict(sample, prompt_tokens=token_count(usage.get("prompt_tokens"), backend.base_url) or 0,
                  logprob=logprob, confidence=confidence, completion_tokens=total)
    if cut is None:  # the thinking ended by itself before the budget: nothing was forced
        return Completion(text=thinking + answer, finish=finish, **fields)
    end = answer_end(answer)
    ended = end is not None or finish == "stop"
    answer = answer if end is None else answer[:end]
    forced = ForcedAnswer(thought, cut + answer, total - thought, ended)
    return Completion(text=thinking + cut + answer, finish="forced", forced=forced, **fields)


def _message(choice: dict) -> dict:
    message = choice.get("message")
    return message if isinstance(message, dict) else {}


def _split_llamacpp(choice: dict, knob: Knob, request: SampleRequest,
                    pieces: list[str] | None) -> tuple[str, str | None, str, int]:
    """(thinking, the forced text or None, the rest, thinking tokens) of a llama-server reply
    sent with ``reasoning_format: none``: the text whole, after the generation prompt's tag."""
    text = _message(choice).get("content") or choice.get("text") or ""
    if not isinstance(text, str):
        raise BackendError("server sent a choice whose text is not a string")
    if text.startswith(THINK_START) and not (pieces and "".join(pieces).startswith(THINK_START)):
        text = text[len(THINK_START):]  # the tag the template put in the prompt, echoed
    at = text.find(knob.cut)
    if at < 0:
        return text, None, "", 0
    thought = tokens_before(pieces, text, at)
    return text[:at], knob.cut, text[at + len(knob.cut):], request.max_tokens if thought is None else thought


def _split_vllm(choice: dict, usage: dict, request: SampleRequest, total: int,
                where: str) -> tuple[str, str | None, str, int]:
    """(thinking, the cut or None, the answer, thinking tokens) of a vLLM reply, whose reasoning
    parser puts the thinking in ``reasoning`` (``reasoning_content`` before v0.10). The server
    forced its end string when the thinking reached the budget: from ``usage``'s reasoning tokens
    where it reports them, else the tokens after the answer's (about four characters a token)."""
    message = _message(choice)
    thinking = message.get("reasoning") or message.get("reasoning_content") or ""
    answer = message.get("content") or ""
    if not thinking:  # no reasoning parser: nothing to tell the thinking from the answer by
        return answer, None, "", 0
    details = usage.get("completion_tokens_details")
    reported = token_count(details.get("reasoning_tokens"), where) if isinstance(details, dict) else None
    thought = reported if reported is not None else max(0, total - max(1, round(len(answer) / 4)))
    if thought < request.max_tokens:
        return thinking + THINK_END, None, answer, thought
    return thinking, THINK_END, answer, request.max_tokens
