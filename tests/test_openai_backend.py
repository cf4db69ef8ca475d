"""The OpenAI-compatible backend against a REAL llama-cpp-python server on the embedded model.

Wire-level behaviour that a real server cannot be made to show on demand (429/503,
redirects, a server that honours ``n``) is checked against a scripted stdlib HTTP
server in the same file; sampling itself always goes through the real server.
"""

from __future__ import annotations

import pytest

from inferplan.backends import BackendSettings, SampleRequest, open_backend
from inferplan.backends.embedded import embedded_model_path
from inferplan.backends.openai.backend import OpenAIBackend
from inferplan.backends.openai.stream import plan_jobs
from inferplan.errors import BackendError, ExitCode, InputError
from scripted_http import CUT, DELAY, ScriptedServer, completion_reply
from servers import LlamaServer, free_port

pytestmark = pytest.mark.slow

QUESTION = ({"role": "user", "content": "What is 3 + 4? Answer with a number."},)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    with LlamaServer(embedded_model_path(), log=log) as s:
        yield s


def _settings(**kw) -> BackendSettings:
    return BackendSettings(parallel=kw.pop("parallel", 2), timeout=kw.pop("timeout", 120.0), **kw)


def test_open_probes_server_and_samples_chat_and_raw_prompts(server: LlamaServer) -> None:
    backend = open_backend(server.url, _settings())  # the URL spec routes to this backend
    try:
        assert isinstance(backend, OpenAIBackend)
        assert backend.model_name == "smollm2"  # from GET /models, no --model-name given
        assert backend.n_supported is False  # llama-cpp-python answers n=2 with one choice
        assert backend.info.name == "openai" and backend.info.settings["n_supported"] is False
        requests = [SampleRequest(messages=QUESTION, n=2, temperatures=(0.0,), seeds=(1,), max_tokens=12),
                    SampleRequest(prompt="The capital of France is", n=2, temperatures=(0.9,), seeds=(7,),
                                  max_tokens=6, first_index=10)]
        out = list(backend.sample(requests))
    finally:
        backend.close()
    assert sorted((c.request, c.index) for c in out) == [(0, 0), (0, 1), (1, 10), (1, 11)]
    for c in out:
        assert 1 <= c.completion_tokens <= (12 if c.request == 0 else 6)
        assert c.prompt_tokens > 0 and c.finish in ("stop", "length") and c.seconds > 0
        assert c.logprob is not None and c.logprob <= 0  # both logprob shapes were parsed
    chat = [c for c in out if c.request == 0]
    assert chat[0].text == chat[1].text and chat[0].text.strip()  # T = 0 is deterministic
    assert {c.seed for c in out if c.request == 1} == {7, SampleRequest(seeds=(7,)).seed(1)}


def test_same_seed_same_sample_through_server(server: LlamaServer) -> None:
    backend = OpenAIBackend(server.url, _settings(model_name="smollm2"))
    try:
        req = SampleRequest(prompt="Once upon a time", n=3, temperatures=(1.0,), seeds=(11, 12, 11), max_tokens=10)
        texts = {c.index: c.text for c in backend.sample([req])}
    finally:
        backend.close()
    assert texts[0] == texts[2]  # same seed → same sample
    assert len(set(texts.values())) >= 1 and all(texts.values())


def test_cancel_stops_inflight_and_queued_samples(server: LlamaServer) -> None:
    backend = OpenAIBackend(server.url, _settings(parallel=2))
    try:
        stream = backend.sample([SampleRequest(prompt="Count: 1, 2, 3,", n=8, temperatures=(0.8,), seeds=(3,),
                                               max_tokens=48)])
        seen = []
        for c in stream:
            seen.append(c)
            stream.cancel(0)  # a stopping rule fired after the first answer
        # The stream ended without waiting for the other 7; nothing after cancel was yielded.
        assert len(seen) == 1
        # The backend stays usable after cancelling in-flight requests.
        again = list(backend.sample([SampleRequest(prompt="Hi", n=1, temperatures=(0.0,), max_tokens=2)]))
        assert len(again) == 1
    finally:
        backend.close()


def test_submit_while_iterating(server: LlamaServer) -> None:
    backend = OpenAIBackend(server.url, _settings())
    try:
        stream = backend.sample([SampleRequest(prompt="1 + 1 =", n=1, temperatures=(0.0,), max_tokens=3)])
        got = []
        for c in stream:
            got.append(c.request)
            if len(got) == 1:
                assert stream.submit([SampleRequest(prompt="2 + 2 =", n=2, temperatures=(0.5,), max_tokens=3)]) == [1]
        assert sorted(got) == [0, 1, 1]
    finally:
        backend.close()


def test_several_servers_share_the_work_and_give_what_one_gives(server: LlamaServer, tmp_path) -> None:
    from inferplan.backends.openai.servers import ServersBackend

    with LlamaServer(embedded_model_path(), log=tmp_path / "second.log") as second:
        both = open_backend(f"{server.url},{second.url}", _settings(parallel=2))
        one = open_backend(server.url, _settings(parallel=2))
        requests = [SampleRequest(messages=({"role": "user", "content": f"What is {i} + {i}?"},), n=2,
                                  temperatures=(0.0, 0.8), seeds=(i, i + 100), max_tokens=8) for i in range(6)]
        try:
            assert isinstance(both, ServersBackend) and both.info.parallel_slots == 4
            stream = both.sample(requests[:3])
            out = []
            for c in stream:
                out.append(c)
                if len(out) == 1:
                    assert stream.submit(requests[3:]) == [3, 4, 5]  # submit while iterating, numbered stream-wide
                    stream.cancel(5)
            alone = {(c.request, c.index): c.text for c in one.sample(requests[:5])}
        finally:
            both.close()
            one.close()
    assert min(both.samples_sent) > 0  # both servers were used
    got = {(c.request, c.index): c.text for c in out}
    assert sorted(got) == sorted(alone)  # the cancelled request yielded nothing, every other sample came
    assert got == alone  # same seeds, same model: the same samples whichever server drew them


def test_server_killed_mid_stream_is_a_backend_error(tmp_path) -> None:
    with LlamaServer(embedded_model_path(), log=tmp_path / "s.log") as s:
        backend = OpenAIBackend(s.url, _settings(parallel=1, extra={"retries": 2}))
        try:
            stream = backend.sample([SampleRequest(prompt="Tell a story:", n=6, temperatures=(0.8,), max_tokens=24)])
            with pytest.raises(BackendError) as err:
                for _ in stream:
                    s.kill()
            assert err.value.exit_code == ExitCode.BACKEND
            assert s.url in str(err.value) and "\n" not in str(err.value)
        finally:
            backend.close()


def test_connection_refused_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendError) as err:
        OpenAIBackend(url, _settings(extra={"retries": 2}))
    msg = str(err.value)
    assert url in msg and "connection refused" in msg and "\n" not in msg


def test_missing_api_key_env_is_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERPLAN_TEST_NO_KEY", raising=False)
    with pytest.raises(InputError, match="INFERPLAN_TEST_NO_KEY"):
        OpenAIBackend("http://127.0.0.1:9/v1", _settings(api_key_env="INFERPLAN_TEST_NO_KEY"))


# -- wire behaviour against a scripted HTTP server ------------------------------------------


def test_key_only_in_authorization_header_and_retries_on_429_and_503(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-DO-NOT-LEAK-123"
    monkeypatch.setenv("MY_KEY", secret)
    failures = {"n": 0}

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m"}]}, {}
        if body and body.get("max_tokens") == 5 and failures["n"] < 2:
            failures["n"] += 1
            return (429, {"error": "slow down"}, {"Retry-After": "0"}) if failures["n"] == 1 else (503, None, {})
        return 200, completion_reply(body), {}

    with ScriptedServer(handler) as srv:
        backend = OpenAIBackend(srv.url, _settings(api_key_env="MY_KEY"))
        try:
            out = list(backend.sample([SampleRequest(prompt="x", n=1, max_tokens=5, seeds=(9,))]))
        finally:
            backend.close()
    assert failures["n"] == 2 and len(out) == 1 and out[0].text == "42-9"
    assert out[0].logprob == pytest.approx(-0.75) and out[0].completion_tokens == 2
    assert all(h.get("Authorization") == f"Bearer {secret}" for _, _, h in srv.requests)
    assert secret not in repr(backend) and secret not in repr(backend.info)


def test_redirect_is_refused_so_the_key_never_leaves() -> None:
    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m"}]}, {}
        return 307, None, {"Location": "http://example.invalid/v1/completions"}

    with ScriptedServer(handler) as srv:
        with pytest.raises(BackendError, match="redirected"):
            OpenAIBackend(srv.url, _settings())


def test_n_is_used_when_the_server_honours_it() -> None:
    with ScriptedServer(lambda p, b: (200, {"data": [{"id": "m"}]}, {}) if p.endswith("/models")
                        else (200, completion_reply(b, honour_n=True), {})) as srv:
        backend = OpenAIBackend(srv.url, _settings())
        try:
            assert backend.n_supported is True
            req = SampleRequest(prompt="x", n=4, temperatures=(0.7,), seeds=(100, 101, 102, 103), max_tokens=4)
            out = sorted(backend.sample([req]), key=lambda c: c.index)
        finally:
            backend.close()
    sampled = [b for p, b, _ in srv.requests if p.endswith("/completions") and b["max_tokens"] == 4]
    assert len(sampled) == 1 and sampled[0]["n"] == 4 and sampled[0]["seed"] == 100
    assert [c.seed for c in out] == [100, 101, 102, 103] and [c.text for c in out] == [f"42-{s}" for s in range(100, 104)]


def test_plan_jobs_groups_only_consecutive_seeds_at_one_temperature() -> None:
    req = SampleRequest(prompt="x", n=5, temperatures=(0.5, 0.5, 1.0, 1.0, 1.0), seeds=(1, 2, 3, 4, 9))
    assert plan_jobs(req, True) == [([0, 1], 0.5, 1), ([2, 3], 1.0, 3), ([4], 1.0, 9)]
    assert plan_jobs(req, False) == [([i], req.temperature(i), req.seed(i)) for i in range(5)]


def test_unauthorized_is_a_clear_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAD_KEY", "sk-wrong")

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m"}]}, {}
        return 401, {"error": {"message": "invalid api key"}}, {}

    with ScriptedServer(handler) as srv:
        with pytest.raises(BackendError, match="HTTP 401") as err:
            OpenAIBackend(srv.url, _settings(api_key_env="BAD_KEY"))
    assert "sk-wrong" not in str(err.value)


# -- fault injection (issue 14, point 9) ---------------------------------------------------


def _faulty(fault):
    """A handler that answers /models, then applies ``fault(count)`` to sampling calls."""
    calls = {"n": 0}

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m"}]}, {}
        if body and body.get("max_tokens") == 1:  # the n-support probe: a plain single answer
            return 200, completion_reply(body), {}
        calls["n"] += 1
        return fault(calls["n"], body)

    return handler, calls


def _sample_one(srv, **settings) -> list:
    backend = OpenAIBackend(srv.url, _settings(**settings))
    try:
        return list(backend.sample([SampleRequest(prompt="x", n=1, max_tokens=5, seeds=(3,))]))
    finally:
        backend.close()


def test_a_burst_of_500s_is_retried() -> None:
    handler, calls = _faulty(lambda n, b: (500, {"error": "boom"}, {"Retry-After": "0"}) if n <= 3
                             else (200, completion_reply(b), {}))
    with ScriptedServer(handler) as srv:
        out = _sample_one(srv)
    assert calls["n"] == 4 and [c.text for c in out] == ["42-3"]


def test_500s_past_the_retry_budget_end_in_one_clear_line() -> None:
    handler, calls = _faulty(lambda n, b: (500, {"error": "boom"}, {"Retry-After": "0"}))
    with ScriptedServer(handler) as srv:
        with pytest.raises(BackendError, match="failed after 5 attempts: HTTP 500") as err:
            _sample_one(srv)
    assert calls["n"] == 5 and "\n" not in str(err.value)


def test_a_reply_cut_mid_body_is_retried() -> None:
    handler, calls = _faulty(lambda n, b: (200, completion_reply(b), {CUT: "1"}) if n == 1
                             else (200, completion_reply(b), {}))
    with ScriptedServer(handler) as srv:
        out = _sample_one(srv)
    assert calls["n"] == 2 and [c.text for c in out] == ["42-3"]


def test_fewer_choices_than_n_is_a_backend_error() -> None:
    def fault(n, body):
        reply = completion_reply(body, honour_n=True)
        reply["choices"] = reply["choices"][:1]  # asked for 4, got 1
        return 200, reply, {}

    handler, _ = _faulty(fault)

    def honour_probe(path, body):  # the probe must see n honoured, or n is never sent
        if body and body.get("max_tokens") == 1:
            return 200, completion_reply(body, honour_n=True), {}
        return handler(path, body)

    with ScriptedServer(honour_probe) as srv:
        backend = OpenAIBackend(srv.url, _settings())
        try:
            with pytest.raises(BackendError, match="returned 1 choices for n=4"):
                list(backend.sample([SampleRequest(prompt="x", n=4, temperatures=(0.7,), seeds=(1, 2, 3, 4),
                                                   max_tokens=5)]))
        finally:
            backend.close()


def test_a_reply_without_choices_is_a_backend_error() -> None:
    handler, _ = _faulty(lambda n, b: (200, {"object": "text_completion", "choices": "oops"}, {}))
    with ScriptedServer(handler) as srv:
        with pytest.raises(BackendError, match="without a list of choices"):
            _sample_one(srv)


def test_a_server_slower_than_the_timeout_is_one_clear_line() -> None:
    handler, _ = _faulty(lambda n, b: (200, completion_reply(b), {DELAY: "3"}))
    with ScriptedServer(handler) as srv:
        with pytest.raises(BackendError, match="timed out") as err:
            _sample_one(srv, timeout=1.0)
    assert "\n" not in str(err.value)
