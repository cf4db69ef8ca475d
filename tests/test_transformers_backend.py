"""The transformers backend on the REAL embedded GGUF (dequantised by transformers' gguf loader), CPU only."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from inferplan.backends import BackendSettings, SampleRequest, open_backend  # noqa: E402
from inferplan.backends.embedded import embedded_model_path  # noqa: E402
from inferplan.backends.gguf_info import file_sha256  # noqa: E402
from inferplan.backends.transformers.backend import TransformersBackend  # noqa: E402
from inferplan.backends.transformers.stream import plan_waves  # noqa: E402
from inferplan.errors import ExitCode, ModelError  # noqa: E402

pytestmark = pytest.mark.slow

QUESTION = ({"role": "user", "content": "What is 6 + 3? Answer with only the final answer."},)


@pytest.fixture(scope="module")
def backend():
    # One thread: the test machine is shared, and OpenMP spinning on a busy CPU is slower.
    b = open_backend("hf:smollm2", BackendSettings(parallel=3, threads=1))
    yield b
    b.close()


def test_loads_embedded_gguf_on_cpu(backend: TransformersBackend) -> None:
    info = backend.info
    assert isinstance(backend, TransformersBackend)
    assert info.name == "transformers" and info.device == "cpu"
    assert info.settings["gguf"] is True and info.settings["dtype"] == "float32"  # dequantised
    assert info.model_sha256 == file_sha256(embedded_model_path())
    assert 100_000_000 < info.parameters < 200_000_000  # SmolLM2-135M


def test_mixed_temperatures_chat_and_raw_prompt(backend: TransformersBackend) -> None:
    requests = [
        SampleRequest(messages=QUESTION, n=4, temperatures=(0.0, 0.9), seeds=(5, 6, 7, 8), max_tokens=10,
                      stop=("\n",)),
        SampleRequest(prompt="The capital of France is", n=2, temperatures=(0.7,), seeds=(1,), max_tokens=6,
                      first_index=3),
    ]
    out = list(backend.sample(requests))
    assert sorted((c.request, c.index) for c in out) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (1, 4)]
    for c in out:
        assert 1 <= c.completion_tokens <= 10 and c.prompt_tokens > 0
        assert c.logprob is not None and c.logprob <= 0 and c.finish in ("stop", "length")
        assert c.temperature == requests[c.request].temperature(c.index - requests[c.request].first_index)
        if c.request == 0:
            assert "\n" not in c.text  # stop string honoured (and cut)
    greedy = [c for c in out if c.request == 0 and c.temperature == 0.0]
    assert len(greedy) == 2 and greedy[0].text == greedy[1].text and greedy[0].text.strip()


def test_same_seeds_same_samples(backend: TransformersBackend) -> None:
    req = SampleRequest(prompt="Once upon a time", n=3, temperatures=(1.0,), seeds=(42,), max_tokens=8)
    first = sorted((c.index, c.text, c.completion_tokens) for c in backend.sample([req]))
    second = sorted((c.index, c.text, c.completion_tokens) for c in backend.sample([req]))
    other = sorted((c.index, c.text) for c in backend.sample([SampleRequest(
        prompt="Once upon a time", n=3, temperatures=(1.0,), seeds=(43,), max_tokens=8)]))
    assert first == second
    assert [t for _, t, _ in first] != [t for _, t in other]
    assert len({t for _, t, _ in first}) > 1  # rows of one wave are different samples


def test_cancel_drops_remaining_waves(backend: TransformersBackend) -> None:
    stream = backend.sample([SampleRequest(prompt="1, 2, 3,", n=9, temperatures=(0.8,), max_tokens=4)])
    seen = []
    for c in stream:
        seen.append(c)
        stream.cancel(0)
    assert len(seen) == 1  # waves of 3: the rest of the first wave and both later waves dropped


def test_waves_group_by_temperature() -> None:
    req = SampleRequest(prompt="x", n=7, temperatures=(0.5, 1.0))
    assert plan_waves(req, 2) == [(0.5, [0, 2]), (0.5, [4, 6]), (1.0, [1, 3]), (1.0, [5])]


def test_missing_and_non_gguf_models_are_model_errors(tmp_path) -> None:
    with pytest.raises(ModelError) as err:
        open_backend(f"hf:{tmp_path / 'nope'}")
    assert err.value.exit_code == ExitCode.MODEL
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="directory or a GGUF"):
        open_backend(f"hf:{bogus}")
    with pytest.raises(ModelError, match="config.json"):
        open_backend(f"hf:{tmp_path}")
