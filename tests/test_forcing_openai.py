"""Forced answers (issue 30) on the OpenAI-compatible backend: a sample at max_tokens is continued.

Sampling goes through a REAL llama-cpp-python server on the embedded model. What that server
cannot be made to be (vLLM, llama.cpp's llama-server) is checked on a scripted stdlib server
that records the exact request bodies: the continuation each kind of server is sent.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from inferplan.backends import BackendSettings, SampleRequest
from inferplan.backends.embedded import embedded_model_path
from inferplan.backends.openai.backend import OpenAIBackend
from inferplan.backends.openai.http import tokens_before
from inferplan.backends.transformers.forcing import answer_cut
from inferplan.errors import InputError
from inferplan.policy.forcing import answer_end
from scripted_http import ScriptedServer, completion_reply
from servers import LlamaServer

FORCE = "\n\nTherefore, the final answer is"
QUESTION = ({"role": "user", "content": "What is 12 + 7?"},)
RAW = "Question: What is 12 + 7?\nAnswer: Let's think step by step."


def _settings(**kw) -> BackendSettings:
    return BackendSettings(parallel=kw.pop("parallel", 2), timeout=kw.pop("timeout", 120.0), **kw)


# -- the end rule, shared with the llama.cpp engine ------------------------------------------


def test_an_answer_ends_at_its_first_line_break_after_some_text() -> None:
    assert answer_end(" 19.\nNext") == 4
    assert answer_end("\n\n 19\n") == 5  # line breaks before any answer text are read past
    assert answer_end(":\n\n\\[ 18 \\]\n") == 11  # as in the engine: a colon is not yet an answer
    assert answer_end(b" 19.\nNext") == 4  # the engine's bytes, by the same rule
    assert answer_end(" 19") is None and answer_end("\n \n") is None and answer_end("") is None


def test_answer_cut_counts_tokens_as_the_engine_does() -> None:
    vocab = {1: "\n", 2: " 19", 3: ".\n", 4: "more", 9: "<eos>"}
    decode = lambda ids: "".join(vocab[i] for i in ids if i != 9)  # noqa: E731
    assert answer_cut([1, 2, 3, 4], decode, {9}) == ("\n 19.", 3, True)  # the token with the break counts
    assert answer_cut([2, 9, 4], decode, {9}) == (" 19", 2, True)  # end of text counts too
    assert answer_cut([2, 2], decode, {9}) == (" 19 19", 2, False)  # out of answer tokens


def test_tokens_before_a_position_from_the_pieces() -> None:
    text = "\n 19\nmore"
    pieces = ["\n", " 19", "\n", "more"]
    assert tokens_before(pieces, text, 4 + 1) == 3  # through the answer's line break (text[4])
    assert tokens_before(pieces, text, 4) == 2  # before it
    assert tokens_before(pieces, text, 0) == 0
    assert tokens_before(pieces, text, len(text) + 1) == 4
    assert tokens_before(None, text, 4) is None  # no pieces
    assert tokens_before(["x"], text, 4) is None  # pieces that do not spell the text


# -- what each kind of server is sent (scripted) ---------------------------------------------


def _scripted(owner: str, first: str = " 19", again: dict | None = None, echo: bool = False):
    """A server owned_by ``owner``: samples end at their cap ('I think' ×); the continuation
    (temperature 0, stop at a line break) answers ``first``; ``again`` answers one without a stop."""

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m", "owned_by": owner}]}, {}
        if body.get("max_tokens") == 1:  # the n probe
            return 200, completion_reply(body), {}
        if "thinking_token_budget" in body:  # vLLM's budget probe: no reasoning parser, so no budget knob
            message = {"role": "assistant", "content": "Hi", "reasoning": None}
            return 200, {"choices": [{"index": 0, "message": message, "finish_reason": "length"}]}, {}
        choice: dict = {"index": 0}
        if body.get("temperature") != 0.0:  # a sample
            text, choice["finish_reason"], usage = "I think", "length", {"prompt_tokens": 10, "completion_tokens": 8}
        elif "stop" in body:  # its continuation (``echo``: the prefilled message whole, as llama-server)
            text, choice["finish_reason"], usage = first, "stop", {"prompt_tokens": 25, "completion_tokens": 3}
            if echo and "messages" in body:
                text = body["messages"][-1]["content"] + text
        else:  # the continuation asked again without its stop
            text, choice["finish_reason"], usage, choice["logprobs"] = (again[k] for k in ("text", "finish", "usage",
                                                                                          "logprobs"))
        if path.endswith("/chat/completions"):
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return 200, {"choices": [choice], "usage": usage}, {}

    return handler


def _force(srv, request: SampleRequest) -> list:
    backend = OpenAIBackend(srv.url, _settings())
    try:
        return list(backend.sample([request]))
    finally:
        backend.close()


def _continuations(srv) -> list[tuple[str, dict]]:
    return [(p, b) for p, b, _ in srv.requests
            if b and b.get("temperature") == 0.0 and b.get("max_tokens") != 1 and "thinking_token_budget" not in b]


@pytest.mark.parametrize("owner,extra,echo", [
    ("vllm", {"continue_final_message": True, "add_generation_prompt": False}, False),
    ("llamacpp", {}, False),
    # llama-server (build 11434, checked for real) returns the prefilled message whole: the
    # sample's text, the forced text, then its answer; the answer is read after the echo.
    ("llamacpp", {}, True)])
def test_a_chat_sample_at_its_cap_continues_as_the_assistant(owner: str, extra: dict, echo: bool) -> None:
    request = SampleRequest(messages=QUESTION, n=1, temperatures=(0.7,), max_tokens=8, force_answer=FORCE,
                            answer_tokens=12)
    with ScriptedServer(_scripted(owner, echo=echo)) as srv:
        [c] = _force(srv, request)
    [(path, body)] = _continuations(srv)
    assert path.endswith("/chat/completions")
    assert body["messages"] == [*QUESTION, {"role": "assistant", "content": "I think" + FORCE}]
    assert body["max_tokens"] == 12 and body["stop"] == ["\n"] and body["top_k"] == 0 and body["top_p"] == 1.0
    assert {k: body[k] for k in extra} == extra
    assert not {"continue_final_message", "add_generation_prompt"} & (set(body) - set(extra))  # vLLM's only
    assert c.finish == "forced" and c.text == "I think" + FORCE + " 19"
    # The answer prompt's tokens: 25 in the continuation's prompt − 10 prompt − 8 thinking; then 3 answered.
    assert c.forced == type(c.forced)(depth=8, text=FORCE + " 19", tokens=7 + 3, ended=True)
    assert c.completion_tokens == 18 and c.thinking_tokens == 8


def test_a_raw_prompt_continues_on_completions_on_any_server() -> None:
    request = SampleRequest(prompt="Q:", n=1, temperatures=(0.7,), max_tokens=8, force_answer=FORCE)
    with ScriptedServer(_scripted("someone")) as srv:
        [c] = _force(srv, request)
    [(path, body)] = _continuations(srv)
    assert path.endswith("/completions") and not path.endswith("/chat/completions")
    assert body["prompt"] == "Q:I think" + FORCE and "continue_final_message" not in body
    assert c.finish == "forced" and c.forced.text == FORCE + " 19"


@pytest.mark.parametrize("first", ["", ":"])
def test_a_line_break_before_the_answer_is_read_past_as_the_engine_does(first: str) -> None:
    """A continuation that stopped at a line break before any letter or digit (nothing, or a colon
    as the real llama-server's "…answer is:\n\n\\[ \\boxed{120}") is asked again without the stop."""
    again = {"text": first + "\n 19\nmore", "finish": "length",
             "usage": {"prompt_tokens": 25, "completion_tokens": 4 + len(first)},
             "logprobs": {"tokens": [first] * len(first) + ["\n", " 19", "\n", "more"],
                          "token_logprobs": [-1.0] * (4 + len(first))}}
    request = SampleRequest(prompt="Q:", n=1, temperatures=(0.7,), max_tokens=8, force_answer=FORCE)
    with ScriptedServer(_scripted("vllm", first=first, again=again)) as srv:
        [c] = _force(srv, request)
    first_ask, second_ask = _continuations(srv)
    assert first_ask[1]["stop"] == ["\n"] and "stop" not in second_ask[1]  # no answer before its stop: again
    assert c.forced.text == FORCE + first + "\n 19" and c.forced.ended
    assert c.forced.tokens == 7 + 3 + len(first)  # through the token that holds the line break, not all


def test_chat_forcing_is_refused_where_the_server_would_answer_in_a_new_turn() -> None:
    request = SampleRequest(messages=QUESTION, n=1, max_tokens=8, force_answer=FORCE)
    with ScriptedServer(_scripted("me")) as srv:
        with pytest.raises(InputError, match="continues a trailing assistant message") as err:
            _force(srv, request)
    assert "\n" not in str(err.value) and not _continuations(srv)


def test_probes_are_refused_in_one_line_before_anything_is_sampled() -> None:
    request = SampleRequest(prompt="Q:", n=1, max_tokens=8, force_answer=FORCE, probe_depths=(4,))
    with ScriptedServer(_scripted("vllm")) as srv:
        with pytest.raises(InputError, match="probe") as err:
            _force(srv, request)
        sampled = [b for _, b, _ in srv.requests if b and b.get("max_tokens") == 8]
    assert "\n" not in str(err.value) and "llama.cpp" in str(err.value) and not sampled


# -- against the real llama-cpp-python server ------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with LlamaServer(embedded_model_path(), log=tmp_path_factory.mktemp("server") / "server.log") as s:
        yield s


def _tokens(server: LlamaServer, text: str) -> int:
    root = server.url.removesuffix("/v1")
    return len(httpx.post(f"{root}/extras/tokenize", json={"input": text}, timeout=60).json()["tokens"])


@pytest.mark.slow
def test_samples_at_their_cap_answer_through_the_real_server(server: LlamaServer) -> None:
    plain = SampleRequest(prompt=RAW, n=3, temperatures=(0.0, 0.8), seeds=(1, 2, 3), max_tokens=8)
    backend = OpenAIBackend(server.url, _settings())
    try:
        before = {c.index: c for c in backend.sample([plain])}
        forced = {c.index: c for c in backend.sample([replace(plain, force_answer=FORCE, answer_tokens=16)])}
        after = {c.index: c for c in backend.sample([plain])}
        again = {"model": backend.model_name, "prompt": RAW + before[0].text + FORCE, "max_tokens": 16,
                 "temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
        greedy = backend.call(backend.post("/completions", again))
    finally:
        backend.close()
    # Completions arrive in the order they finish: compare them by sample index.
    assert [(before[i].text, before[i].finish, before[i].forced) for i in sorted(before)] == \
        [(after[i].text, after[i].finish, after[i].forced) for i in sorted(after)]
    assert before[0].finish == "length" and all(c.forced is None for c in before.values())  # no force: unchanged
    for i, c in forced.items():
        if before[i].finish != "length":
            assert c == replace(before[i], seconds=c.seconds) and c.forced is None
            continue
        answer = c.forced.text[len(FORCE):]
        assert c.finish == "forced" and c.forced.text.startswith(FORCE) and answer.strip()
        assert c.text == before[i].text + c.forced.text and answer_end(answer) is None  # cut at its line break
        assert c.forced.depth == before[i].completion_tokens == 8 == c.thinking_tokens
        assert c.completion_tokens == c.forced.depth + c.forced.tokens
        # The answer prompt's tokens (±1 where re-tokenizing merges a token at the seam), then 1 to 16 answered.
        assert _tokens(server, FORCE) <= c.forced.tokens <= _tokens(server, FORCE) + 1 + 16
    # The forced answer is the greedy continuation of prompt + thinking + answer prompt, cut at its break.
    assert greedy["choices"][0]["text"].startswith(forced[0].forced.text[len(FORCE):])


@pytest.mark.slow
def test_the_real_llama_cpp_python_server_answers_a_trailing_assistant_message_in_a_new_turn(server) -> None:
    """Why chat forcing is refused there: the prefill grows the prompt by more than its own tokens
    (an end-of-turn and a new assistant header), so the model would not continue it."""
    prefill = "The answer is"
    body = {"model": "smollm2", "temperature": 0.0, "max_tokens": 1}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        alone = client.post("/chat/completions", json={**body, "messages": list(QUESTION)}).json()
        more = client.post("/chat/completions", json={**body, "messages": [*QUESTION, {"role": "assistant",
                                                                                       "content": prefill}]}).json()
        owner = client.get("/models").json()["data"][0]["owned_by"]
    grown = more["usage"]["prompt_tokens"] - alone["usage"]["prompt_tokens"]
    assert owner == "me" and grown > _tokens(server, prefill) + 1
    backend = OpenAIBackend(server.url, _settings())
    try:
        with pytest.raises(InputError, match="owned_by 'me'"):
            backend.sample([SampleRequest(messages=QUESTION, max_tokens=8, force_answer=FORCE)])
    finally:
        backend.close()
