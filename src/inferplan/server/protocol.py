"""The OpenAI wire format of ``inferplan serve``: requests read and checked, replies built.

A request's sampling fields (``temperature``, ``top_p``, penalties …) are not
used: the plan chooses the temperatures, and its predictions hold only for the
sampling it was planned with; the reply lists them under ``inferplan.ignored``.
``max_tokens`` and ``stop`` can only tighten the plan. Anything inferplan cannot
honour (``n`` > 1, token-id prompts, log-probabilities, tools) is refused with
an OpenAI-style error, never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult

# Extra fields of every reply (the plan's answer and what it cost), and of a request (its prompt mode).
EXTRA_KEY = "inferplan"
PROMPTS = ("as-sent", "as-profiled")


def prompts_for(plan) -> str:
    """The default way to ask a plan's model: as profiled where the profile's template was not a
    chat template (a base-template plan's caps and stops assume its own prompt shape), else as sent."""
    template = plan.prompt.template if plan.prompt is not None else "chat"
    return "as-sent" if template == "chat" else "as-profiled"
_IGNORED = ("temperature", "top_p", "top_k", "min_p", "frequency_penalty", "presence_penalty", "repeat_penalty",
            "logit_bias", "user", "model")
_REFUSED = {  # checked in this order: echo is what log-likelihood scoring sends beside logprobs
    "echo": "echo (log-likelihood scoring) is not supported: a plan serves generation only",
    "logprobs": "log-probabilities are not returned (the reply is one sample chosen by the plan's vote)",
    "top_logprobs": "log-probabilities are not returned (the reply is one sample chosen by the plan's vote)",
    "tools": "tool calls are not supported by a plan",
    "functions": "function calls are not supported by a plan",
    "suffix": "suffix (insertion) is not supported",
}


class RequestError(Exception):
    """A request the server refuses: its HTTP status and OpenAI-style error fields."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None,
                 kind: str = "invalid_request_error", code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param, self.kind, self.code = status, param, kind, code

    def body(self) -> dict:
        return error_body(str(self), kind=self.kind, param=self.param, code=self.code)


def error_body(message: str, *, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True)
class Ask:
    """What one HTTP request asks the plan for."""

    queries: tuple[Query, ...]  # one per prompt (a completions request may batch several)
    max_tokens: int | None
    stop: tuple[str, ...]
    seed: int | None
    stream: bool
    include_usage: bool
    ignored: tuple[str, ...]
    as_profiled: bool | None  # the request's own choice (its "inferplan": {"prompts": …}); None: the server's


def read_chat(body: object) -> Ask:
    body = _object(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list of {role, content} objects", param="messages")
    turns = tuple(_turn(m, i) for i, m in enumerate(messages))
    return _ask(body, (Query(id=0, messages=turns),))


def read_completion(body: object) -> Ask:
    body = _object(body)
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts:
        raise RequestError("'prompt' must be a string or a non-empty list of strings", param="prompt")
    if not all(isinstance(p, str) for p in prompts):
        raise RequestError("token-id prompts are not supported; send the prompt as text", param="prompt")
    if any(not p.strip() for p in prompts):
        raise RequestError("empty prompt", param="prompt")
    return _ask(body, tuple(Query(id=i, prompt=p) for i, p in enumerate(prompts)))


def _object(body: object) -> dict:
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    return body


def _turn(message: object, i: int) -> dict:
    where = f"messages[{i}]"
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise RequestError(f"{where} must be an object with a 'role' and a 'content'", param=where)
    content = message.get("content")
    if isinstance(content, list):  # content parts: text only
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                   for p in content):
            raise RequestError(f"{where}: only text content parts are supported", param=where)
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str):
        raise RequestError(f"{where}.content must be a string or a list of text parts", param=where)
    return {"role": message["role"], "content": content}


def _ask(body: dict, queries: tuple[Query, ...]) -> Ask:
    for name, why in _REFUSED.items():
        if body.get(name) not in (None, False, [], 0):
            raise RequestError(why, param=name)
    n = body.get("n", 1)
    if n is not None and (not _is_int(n) or n != 1):
        raise RequestError("n must be 1: a plan returns one answer per request; its votes are in the reply's "
                           f"'{EXTRA_KEY}' field", param="n")
    fmt = body.get("response_format")
    if fmt not in (None, {"type": "text"}):
        raise RequestError("only response_format {\"type\": \"text\"} is supported", param="response_format")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise RequestError("max_tokens must be a positive integer", param="max_tokens")
    seed = body.get("seed")
    if seed is not None and not _is_int(seed):
        raise RequestError("seed must be an integer", param="seed")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise RequestError("stream_options must be an object", param="stream_options")
    return Ask(queries=queries, max_tokens=max_tokens, stop=_stops(body.get("stop")),
               seed=None if seed is None else int(seed) % 2**63, stream=stream,
               include_usage=bool(options.get("include_usage")),
               ignored=tuple(k for k in _IGNORED if body.get(k) is not None), as_profiled=_prompts(body))


def _prompts(body: dict) -> bool | None:
    own = body.get(EXTRA_KEY) or {}
    if not isinstance(own, dict) or own.get("prompts") not in (None, *PROMPTS):
        raise RequestError(f"'{EXTRA_KEY}' must be an object whose 'prompts' is one of {', '.join(PROMPTS)}",
                           param=EXTRA_KEY)
    return None if own.get("prompts") is None else own["prompts"] == "as-profiled"


def as_question(query: Query) -> Query:
    """A chat query asked as the profile asked: its one user message is the question."""
    if query.messages is None:
        return query
    if len(query.messages) != 1 or query.messages[0]["role"] != "user":
        raise RequestError("as-profiled prompts take exactly one user message (the question); the plan's "
                           "template supplies the rest", param="messages")
    return Query(id=query.id, prompt=query.messages[0]["content"])


def _stops(stop: object) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise RequestError("stop must be a string or a list of strings", param="stop")
    return tuple(s for s in stops if s)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- replies ---------------------------------------------------------------------------


def chosen_sample(result: QueryResult) -> int:
    """The sample the reply shows: the first whose answer won (the first sample when none did)."""
    return next((i for i, a in enumerate(result.answers) if a is not None and a == result.answer), 0)


def extras(result: QueryResult, ask: Ask) -> dict:
    """The documented extra field: the plan's answer, votes, samples drawn, tokens, rule statistic."""
    statistic = result.statistic
    return {
        "answer": result.answer, "votes": result.votes, "samples": result.samples,
        "completion_tokens": result.completion_tokens, "wasted_tokens": result.wasted_tokens,
        "stop_reason": result.stop_reason, "rule": result.rule,
        "statistic": None if statistic is None or not math.isfinite(statistic) else statistic,
        "configs": list(result.configs), "sample": chosen_sample(result), "seconds": result.seconds,
        "ignored": list(ask.ignored),
        **({"thinking": thinking} if (thinking := result.thinking()) else {}),  # a plan with a thinking budget
        # A plan across models: each cascade stage that ran, or each mix member, and what it spent.
        **{key: [asdict(s) for s in parts] for key, parts in (("stages", result.stages), ("pool", result.pool))
           if parts},
    }


def usage(results: list[QueryResult]) -> dict:
    """Tokens as the engine spent them: every sample drawn, wasted ones included."""
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens + r.wasted_tokens for r in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _text_and_finish(result: QueryResult) -> tuple[str, str]:
    if not result.texts:
        return "", "stop"
    i = chosen_sample(result)
    return result.texts[i], "length" if result.finishes[i] == "length" else "stop"


def chat_reply(result: QueryResult, ask: Ask, head: dict) -> dict:
    text, finish = _text_and_finish(result)
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
              "logprobs": None}
    return {**head, "object": "chat.completion", "choices": [choice], "usage": usage([result]),
            EXTRA_KEY: extras(result, ask)}


def completion_reply(results: list[QueryResult], ask: Ask, head: dict) -> dict:
    choices = []
    for i, result in enumerate(results):
        text, finish = _text_and_finish(result)
        choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": None})
    extra = extras(results[0], ask) if len(results) == 1 else [extras(r, ask) for r in results]
    return {**head, "object": "text_completion", "choices": choices, "usage": usage(results), EXTRA_KEY: extra}


def chat_chunks(result: QueryResult, ask: Ask, head: dict) -> list[dict]:
    """The reply as stream chunks: the chosen sample in one piece (it is known only once the vote is in)."""
    text, finish = _text_and_finish(result)
    chunk = {**head, "object": "chat.completion.chunk"}
    out = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
           {**chunk, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
           {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], EXTRA_KEY: extras(result, ask)}]
    if ask.include_usage:
        out.append({**chunk, "choices": [], "usage": usage([result])})
    return out


def completion_chunks(results: list[QueryResult], ask: Ask, head: dict) -> list[dict]:
    chunk = {**head, "object": "text_completion"}
    out = []
    for i, result in enumerate(results):
        text, finish = _text_and_finish(result)
        out.append({**chunk, "choices": [{"index": i, "text": text, "finish_reason": finish, "logprobs": None}],
                    EXTRA_KEY: extras(result, ask)})
    if ask.include_usage:
        out.append({**chunk, "choices": [], "usage": usage(results)})
    return out
