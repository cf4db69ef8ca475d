"""The same prompts at T = 0 on three engines: llama.cpp in-process, a server, transformers.

Greedy decoding is deterministic per engine, but engines evaluate the prompt in
different batch layouts (Q4_1 kernels quantise activations differently per layout;
transformers dequantises Q4_1 to float32), so on a 135M model whose top two tokens
are sometimes within a few hundredths of a nat they can part ways. The server
decodes one sequence at a time, so the llama.cpp side runs with --parallel 1.
The tests therefore demand identical answers except where the server's own
logprobs show that the first differing token was such a numerical tie.
"""

from __future__ import annotations

import httpx
import pytest

from inferplan.backends.embedded import embedded_model_path
from inferplan.profiles.store import iter_records, read_header
from servers import LlamaServer

pytestmark = pytest.mark.slow

SHOTS = "Question: What is 7 + 8?\nAnswer: 15\n\nQuestion: What is 34 + 5?\nAnswer: 39\n\n"
QUESTIONS = ["63 + 34", "9 - 4", "12 × 3", "85 - 27", "6 + 7", "48 + 19", "7 × 8", "120 - 45"]
PROMPTS = [f"{SHOTS}Question: What is {q}?\nAnswer:" for q in QUESTIONS]
# A top-2 gap this small is batch-layout noise, not a different model: the llama.cpp
# backend itself turns " 36" into " 32" (a 0.17-nat choice) between --parallel 1 and 4.
TIE = 0.25  # nats
RUN = ["-n", "1", "-t", "0", "--raw", "--stop", "\n", "--max-tokens", "8", "--json", "--no-timing", "--parallel", "1"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with LlamaServer(embedded_model_path(), log=tmp_path_factory.mktemp("server") / "server.log") as s:
        yield s


def _first_divergence_gap(url: str, prompt: str, other_text: str) -> float:
    """Top-1 minus top-2 logprob (server) at the first token where the server leaves ``other_text``."""
    body = {"model": "smollm2", "prompt": prompt, "max_tokens": 8, "temperature": 0, "stop": ["\n"],
            "logprobs": 2, "top_k": 0, "min_p": 0, "repeat_penalty": 1.0}
    lp = httpx.post(url + "/completions", json=body, timeout=300).json()["choices"][0]["logprobs"]
    text = ""
    for token, top in zip(lp["tokens"], lp["top_logprobs"]):
        if not other_text.startswith(text + token):
            best = sorted(top.values(), reverse=True)
            return best[0] - best[1]
        text += token
    return 0.0  # the texts differ only after the server stopped: a length/stop boundary


def test_run_at_t0_same_answers_through_server_and_llamacpp(cli, server: LlamaServer) -> None:
    local = cli("run", *PROMPTS, *RUN, "--show-samples")
    remote = cli("run", *PROMPTS, *RUN, "--model", server.url)
    assert local.code == 0 and remote.code == 0, (local.err, remote.err)
    a, b = local.json_lines(), remote.json_lines()
    assert len(a) == len(b) == len(PROMPTS)
    same = [x["answer"] == y["answer"] for x, y in zip(a, b)]
    print(f"\nrun T=0, server vs llama.cpp: {sum(same)}/{len(same)} answers identical")
    gaps = []
    for i, ok in enumerate(same):
        if not ok:  # allowed only where the server itself saw a numerical tie
            gap = _first_divergence_gap(server.url, PROMPTS[i], a[i]["sample_details"][0]["text"])
            gaps.append(round(gap, 3))
            assert gap < TIE, f"prompt {i}: answers differ although the server's top-2 gap is {gap:.3f} nats"
    print(f"top-2 gaps at the differing tokens: {gaps}")
    assert sum(same) >= len(same) - 2


def _answers(path) -> dict:
    return {(r["problem"], r["index"]): r["answer"] for r in iter_records(path)}


def test_transformers_profile_agrees_with_llamacpp_at_t0(cli, tmp_path) -> None:
    args = ["profile", "--tasks", "builtin:arith:12", "--temperatures", "0", "-n", "1", "--max-tokens", "8",
            "--json"]
    hf, cpp = tmp_path / "hf.jsonl", tmp_path / "cpp.jsonl"
    r = cli(*args, "--model", "hf:smollm2", "--threads", "1", "--parallel", "4", "-o", hf)
    assert r.code == 0, r.err
    assert read_header(hf)["backend"]["name"] == "transformers"
    r = cli(*args, "-o", cpp)
    assert r.code == 0, r.err
    a, b = _answers(hf), _answers(cpp)
    assert a.keys() == b.keys() and len(a) == 12
    agree = sum(a[k] == b[k] for k in a) / len(a)
    print(f"\nT=0 answers, transformers (dequantised GGUF) vs llama.cpp: {agree:.0%} of {len(a)} built-in problems")
    assert agree >= 0.6  # "most": Q4_1 dequantised to float32 changes a few near-tie greedy choices
