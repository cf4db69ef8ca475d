"""Forced answers (issue 30) on the transformers backend, on the REAL embedded model (CPU):
a sample at max_tokens answers greedily from its own ids and the answer prompt's."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from inferplan.backends import BackendSettings, SampleRequest, open_backend  # noqa: E402
from inferplan.errors import InputError  # noqa: E402
from inferplan.policy.forcing import answer_end  # noqa: E402

pytestmark = pytest.mark.slow

FORCE = "\n\nTherefore, the final answer is"
RAW = "Question: What is 12 + 7?\nAnswer: Let's think step by step."
QUESTION = ({"role": "user", "content": "What is 12 + 7? Think step by step."},)


@pytest.fixture(scope="module")
def backend():
    b = open_backend("hf:smollm2", BackendSettings(parallel=2, threads=1))
    yield b
    b.close()


def _greedy_after(backend, ids: list[int], limit: int) -> str:
    import torch

    with torch.inference_mode():
        out = backend.model.generate(torch.tensor([ids]), max_new_tokens=limit, do_sample=False,
                                     pad_token_id=backend.pad_id, attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return backend.tokenizer.decode(out[0, len(ids):].tolist(), skip_special_tokens=True)


def test_samples_at_their_cap_answer_from_their_ids(backend) -> None:
    plain = [SampleRequest(prompt=RAW, n=2, temperatures=(0.0, 0.9), seeds=(1, 2), max_tokens=8),
             SampleRequest(messages=QUESTION, n=1, temperatures=(0.0,), max_tokens=8)]
    before = {(c.request, c.index): c for c in backend.sample(plain)}
    forced = {(c.request, c.index): c for c in backend.sample([replace(r, force_answer=FORCE, answer_tokens=16)
                                                                for r in plain])}
    lead = len(backend.tokenizer(FORCE, add_special_tokens=False)["input_ids"])
    assert before[0, 0].finish == before[1, 0].finish == "length" and all(c.forced is None for c in before.values())
    for key, c in forced.items():
        if before[key].finish != "length":
            assert c.finish != "forced" and c.forced is None
            continue
        answer = c.forced.text[len(FORCE):]
        assert c.finish == "forced" and c.forced.text.startswith(FORCE) and answer.strip()
        assert c.text == before[key].text + c.forced.text and answer_end(answer) is None
        assert c.forced.depth == 8 == c.thinking_tokens and c.completion_tokens == 8 + c.forced.tokens
        assert lead < c.forced.tokens <= lead + 16
    # The answer is the greedy continuation of prompt ids + thinking ids + answer prompt ids.
    prompt = backend.prompt_ids(plain[0])
    [(text, _, _, _, ids)], _ = backend.generate(prompt, plain[0], 1, 0.0, 1)
    context = prompt + ids + backend.tokenizer(FORCE, add_special_tokens=False)["input_ids"]
    assert text == before[0, 0].text and _greedy_after(backend, context, 16).startswith(forced[0, 0].forced.text[len(FORCE):])


def test_probes_are_refused_in_one_line(backend) -> None:
    with pytest.raises(InputError, match="probe") as err:
        backend.sample([SampleRequest(prompt=RAW, max_tokens=8, force_answer=FORCE, probe_depths=(4,))])
    assert "\n" not in str(err.value) and "llama.cpp" in str(err.value)
