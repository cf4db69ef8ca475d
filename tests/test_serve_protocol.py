"""The OpenAI wire format of `inferplan serve`: what is read, what is refused, and how replies are built."""

from __future__ import annotations

import pytest

from inferplan.runner.results import QueryResult
from inferplan.server import protocol
from inferplan.server.protocol import RequestError, read_chat, read_completion

USER = [{"role": "user", "content": "What is 2+2?"}]


def test_chat_request_fields() -> None:
    ask = read_chat({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text",
                     "text": "b"}]}], "max_tokens": 9, "stop": "END", "seed": -1, "temperature": 0.2, "n": 1})
    assert ask.queries[0].messages == ({"role": "user", "content": "ab"},)
    assert (ask.max_tokens, ask.stop, ask.ignored, ask.stream) == (9, ("END",), ("temperature",), False)
    assert ask.seed == 2**63 - 1  # any integer seed is taken, folded into the engine's range
    assert read_chat({"messages": USER, "max_completion_tokens": 5}).max_tokens == 5


@pytest.mark.parametrize("body,param", [
    ([], None), ({"messages": []}, "messages"), ({"messages": [{"role": "user"}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, "messages[0]"),
    ({"messages": USER, "n": 2}, "n"), ({"messages": USER, "n": True}, "n"), ({"messages": USER, "max_tokens": 0}, "max_tokens"),
    ({"messages": USER, "seed": 1.5}, "seed"), ({"messages": USER, "stream": "yes"}, "stream"),
    ({"messages": USER, "stop": [1]}, "stop"), ({"messages": USER, "logprobs": True}, "logprobs"),
    ({"messages": USER, "tools": [{"type": "function"}]}, "tools"),
    ({"messages": USER, "response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": USER, "inferplan": {"prompts": "raw"}}, "inferplan"),
])
def test_refused_chat_requests_name_their_field(body, param) -> None:
    with pytest.raises(RequestError) as e:
        read_chat(body)
    assert e.value.status == 400 and e.value.param == param
    assert set(e.value.body()["error"]) == {"message", "type", "param", "code"}


def test_completion_prompts() -> None:
    assert [q.prompt for q in read_completion({"prompt": ["a", "b"]}).queries] == ["a", "b"]
    for bad, why in (({"prompt": [[1, 2]]}, "token-id"), ({"prompt": " "}, "empty"), ({"prompt": 3}, "string"),
                     ({"prompt": "a", "echo": True}, "echo")):
        with pytest.raises(RequestError, match=why):
            read_completion(bad)


def _result(answers, texts, finishes, answer) -> QueryResult:
    return QueryResult(id=0, answer=answer, votes={}, samples=len(texts), completion_tokens=30, prompt_tokens=7,
                       seconds=0.5, stop_reason="rule", answers=tuple(answers), finishes=tuple(finishes),
                       logprobs=(None,) * len(texts), texts=tuple(texts), rule="beta:0.9", statistic=float("nan"),
                       wasted_tokens=4)


def test_the_reply_shows_the_first_sample_of_the_winning_answer() -> None:
    result = _result(["3", "4", "4"], ["three", "four", "4!"], ["stop", "length", "stop"], "4")
    ask = read_chat({"messages": USER})
    reply = protocol.chat_reply(result, ask, {"id": "x", "created": 0, "model": "m"})
    assert reply["choices"][0]["message"]["content"] == "four" and reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"] == {"prompt_tokens": 7, "completion_tokens": 34, "total_tokens": 41}
    assert reply["inferplan"]["sample"] == 1 and reply["inferplan"]["statistic"] is None  # NaN is not JSON
    abstained = _result([None, None], ["hmm", "no"], ["stop", "stop"], None)
    assert protocol.chat_reply(abstained, ask, {})["choices"][0]["message"]["content"] == "hmm"
    chunks = protocol.chat_chunks(result, read_chat({"messages": USER, "stream": True,
                                                      "stream_options": {"include_usage": True}}), {})
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "four"
    assert chunks[-1]["usage"]["completion_tokens"] == 34
