"""The llama.cpp engine on the real embedded model (SmolLM2-135M Q4_1)."""

from __future__ import annotations

import json
import math
import time

import pytest

from engines import embedded_engine
from inferplan._util.paths import data_dir
from inferplan.backends import SampleRequest
from inferplan.errors import InputError

pytestmark = pytest.mark.slow

STORY = ({"role": "user", "content": "Write a long story about a dragon."},)
MATH = ({"role": "user", "content": "What is 17 + 25?"},)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    with embedded_engine(tmp_path_factory, ctx=512) as b:
        yield b


def _texts(completions):
    return [c.text for c in sorted(completions, key=lambda c: c.index)]


def test_same_seeds_identical_different_seeds_differ(backend):
    req = SampleRequest(messages=STORY, n=3, temperatures=(1.0,), seeds=(11, 12, 13), max_tokens=12)
    first, second = list(backend.sample([req])), list(backend.sample([req]))
    assert _texts(first) == _texts(second)
    assert [c.logprob for c in sorted(first, key=lambda c: c.index)] == \
           [c.logprob for c in sorted(second, key=lambda c: c.index)]
    other = SampleRequest(messages=STORY, n=3, temperatures=(1.0,), seeds=(21, 22, 23), max_tokens=12)
    assert _texts(backend.sample([other])) != _texts(first)
    assert len(set(_texts(first))) > 1  # different seeds within a request differ too


def test_greedy_ignores_seed_and_logprobs_are_negative(backend):
    req = SampleRequest(messages=MATH, n=2, temperatures=(0.0,), seeds=(1, 2), max_tokens=10)
    a, b = _texts(backend.sample([req]))
    assert a == b
    for c in backend.sample([SampleRequest(messages=STORY, n=2, temperatures=(1.0,), seeds=(5, 6), max_tokens=8)]):
        assert c.logprob is not None and math.isfinite(c.logprob) and c.logprob < 0
        assert c.temperature == 1.0 and c.seed in (5, 6)


def test_max_tokens_gives_length(backend):
    out = list(backend.sample([SampleRequest(messages=STORY, n=2, seeds=(1, 2), max_tokens=3)]))
    assert [c.finish for c in out] == ["length", "length"]
    assert all(c.completion_tokens == 3 and c.prompt_tokens > 10 for c in out)


def test_stop_string_trims_text(backend):
    greedy = SampleRequest(messages=STORY, n=1, temperatures=(0.0,), max_tokens=24)
    (full,) = backend.sample([greedy])
    words = full.text.split()
    assert len(words) > 4, full.text
    stop = " " + words[3]  # a string that occurs in the greedy text
    cut = full.text.index(stop)
    (stopped,) = backend.sample([SampleRequest(messages=STORY, n=1, temperatures=(0.0,), max_tokens=24,
                                               stop=(stop,))])
    assert stopped.finish == "stop"
    assert stopped.text == full.text[:cut]
    assert stopped.completion_tokens < full.completion_tokens


def test_requests_share_the_batch_and_temperatures_cycle(backend):
    reqs = [SampleRequest(messages=({"role": "user", "content": q},), n=3, temperatures=(0.5, 1.0),
                          seeds=(1, 2, 3), max_tokens=6)
            for q in ("Name a color.", "Name an animal.", "Name a city.")]
    stream = backend.sample(reqs)
    spans = []
    for c in stream:
        end = time.monotonic()
        spans.append((c.request, end - c.seconds, end))
        assert c.temperature == reqs[c.request].temperature(c.index - reqs[c.request].first_index)
    assert sorted(r for r, _, _ in spans) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # 4 slots, 9 samples: request 1's samples run while request 0's are still running.
    first_end = {r: min(e for q, _, e in spans if q == r) for r in range(3)}
    starts = {r: min(s for q, s, _ in spans if q == r) for r in range(3)}
    assert starts[1] < first_end[0]


def test_cancel_drops_pending_and_inflight(backend):
    reqs = [SampleRequest(messages=STORY, n=8, seeds=tuple(range(8)), max_tokens=6),
            SampleRequest(messages=MATH, n=3, seeds=(1, 2, 3), max_tokens=6)]
    stream = backend.sample(reqs)
    seen = {0: 0, 1: 0}
    cancelled = False
    for c in stream:
        seen[c.request] += 1
        if c.request == 0 and not cancelled:
            stream.cancel(0)
            cancelled = True
    assert seen[0] == 1 and seen[1] == 3
    # The backend is free again: a new stream works.
    assert len(list(backend.sample([SampleRequest(messages=MATH, n=1, max_tokens=2)]))) == 1


def test_submit_while_iterating(backend):
    stream = backend.sample([SampleRequest(messages=MATH, n=2, seeds=(1, 2), max_tokens=4)])
    got, added = [], False
    for c in stream:
        got.append(c.request)
        if not added:
            assert stream.submit([SampleRequest(messages=STORY, n=2, seeds=(3, 4), max_tokens=4)]) == [1]
            added = True
    assert sorted(got) == [0, 0, 1, 1]


def test_chat_template_from_gguf(backend):
    text = backend.chat_template().render([{"role": "user", "content": "hi"}])
    assert "<|im_start|>user\nhi<|im_end|>" in text and text.endswith("<|im_start|>assistant\n")
    assert not backend.chat_template().is_fallback
    tokens = backend.prompt_tokens(SampleRequest(messages=({"role": "user", "content": "hi"},)))
    im_start = backend.tokenize("<|im_start|>", add_special=False)
    assert len(im_start) == 1 and tokens.count(im_start[0]) == 3  # system, user, assistant turns


def test_context_too_small_is_an_input_error(backend):
    with pytest.raises(InputError, match="exceeds the context"):
        backend.sample([SampleRequest(messages=MATH, n=1, max_tokens=5000)])
    # The rejected stream released the backend.
    assert len(list(backend.sample([SampleRequest(messages=MATH, n=1, max_tokens=2)]))) == 1


def test_probe_verdict_cached(backend):
    verdicts = json.loads((data_dir() / "llamacpp-probe.json").read_text())
    assert any("llama-cpp-python" in k for k in verdicts)
    assert backend.info.settings["extra_bufts"] == list(verdicts.values())[0]
    assert backend.info.parameters == 134515008 and len(backend.info.model_sha256) == 64


def test_small_q4_1_model_decodes_with_a_cached_f16_copy(backend):
    # parallel=4 on the 135M Q4_1 model: --weights auto picks the F16 copy, made once under data_dir().
    assert backend.weights == "f16 copy of Q4_1" and backend.info.settings["weights"] == backend.weights
    copies = list(backend.weights_file.parent.glob("*-f16.gguf"))
    assert backend.weights_file in copies and copies[0].stat().st_size > backend.path.stat().st_size


def test_live_slots_stay_contiguous_and_a_cancelled_prompt_is_dropped(backend):
    # Two short samples finish first; the long ones must move down to slots 0..k-1,
    # or llama.cpp would split every later step into two compute passes.
    stream = backend.sample([SampleRequest(messages=MATH, n=2, max_tokens=1, temperatures=(0.0,)),
                             SampleRequest(messages=STORY, n=2, max_tokens=10, temperatures=(0.0,))])
    compact, seen = stream._compact, []

    def checked() -> None:
        compact()
        live = [i for i, slot in enumerate(stream._slots) if slot is not None]
        seen.append(live)
        assert live == list(range(len(live)))

    stream._compact = checked
    done = []
    for c in stream:
        done.append(c)
        if c.request == 0 and len(done) == 2:
            assert any(p.key for p in stream._cache.prompts.values())
            stream.cancel(0)  # finished with: its prompt holder is freed at once
            assert len(stream._cache.prompts) == 1
    assert sorted((c.request, c.completion_tokens) for c in done) == [(0, 1), (0, 1), (1, 10), (1, 10)]
    assert [0, 1] in seen  # the long samples did move down


def test_weights_policy():
    from inferplan.backends.gguf_info import GGUFInfo
    from inferplan.backends.llamacpp.weights import wants_f16

    def info(q: str, params: int) -> GGUFInfo:
        return GGUFInfo("m.gguf", None, "llama", params, q, 2048, 1, None, {})

    small = info("Q4_1", 135_000_000)
    assert wants_f16("auto", small, 16, offload=False)
    assert not wants_f16("auto", small, 1, offload=False)  # batch 1: the quantized kernel reads fewer bytes
    assert not wants_f16("auto", small, 16, offload=True)
    assert not wants_f16("auto", info("Q4_1", 7_000_000_000), 16, offload=False)
    assert not wants_f16("auto", info("Q4_0", 135_000_000), 16, offload=False)  # repacked: already fast
    assert not wants_f16("native", small, 16, offload=False)
    assert wants_f16("f16", info("Q4_0", 7_000_000_000), 1, offload=False)
    assert not wants_f16("f16", info("F16", 135_000_000), 16, offload=False)
    with pytest.raises(InputError, match="weights must be one of"):
        wants_f16("fast", small, 16, offload=False)


def test_low_confidence_floor_cuts_where_the_recorded_lows_say(backend):
    """Online termination on the real engine: a sample run with a floor stops (finish lowconf)
    at the token where the same seeded sample, run without one, first fell under it."""
    from inferplan.backends.confidence import WINDOW
    from inferplan.policy.termination import crossing

    checked = 0
    for seed in (3, 4, 5, 6):
        free = SampleRequest(messages=STORY, n=1, temperatures=(1.0,), seeds=(seed,), max_tokens=120)
        (whole,) = backend.sample([free])
        lows = whole.confidence.lows
        assert lows and lows[0][0] >= WINDOW
        # Just above a recorded low: the first window under it is exactly that low's (the lows
        # skipped between kept ones all lie above it), whatever the CPU's kernels.
        floor = lows[len(lows) // 2][1] + 1e-9
        (cut,) = backend.sample([SampleRequest(**{**free.__dict__, "conf_floor": floor})])
        at = crossing(lows, floor)
        assert cut.finish == "lowconf" and cut.completion_tokens == at
        assert whole.text.startswith(cut.text[: max(0, len(cut.text) - 8)])  # the same sample, stopped early
        checked += 1
    (never,) = backend.sample([SampleRequest(messages=STORY, n=1, seeds=(3,), max_tokens=60, conf_floor=-1e9)])
    assert never.finish == "length" and checked == 4


def test_a_plan_with_termination_cuts_only_after_its_warm_up(backend):
    """run --plan with DeepConf-online termination: the warm-up samples run whole and set the
    floor; later samples under it stop early (lowconf), cost their tokens and cast no vote."""
    from dataclasses import replace

    import inferplan as ip
    from inferplan.policy.termination import Termination

    plan = replace(ip.fixed_plan(6, temperatures=(1.0,), max_tokens=80), terminate=Termination(2, 0.01))
    results = ip.run(plan, ["Write a long story about a dragon.", "Tell me about the sea."] * 2, model=backend)
    cut = 0
    for r in results:
        assert r.samples == 6 and "lowconf" not in r.finishes[:2]
        for finish, answer, tokens in zip(r.finishes, r.answers, r.sample_tokens):
            if finish == "lowconf":
                cut += 1
                assert answer is None and tokens < 80
    assert cut > 0  # a floor at the best warm-up chain's low cuts most later samples
    same = ip.run(plan, ["Write a long story about a dragon."], model=backend)[0]
    assert same.finishes == results[0].finishes and same.sample_tokens == results[0].sample_tokens


def test_first_tokens_are_drawn_from_the_prompts_kept_logits(backend):
    # One-token answers need no decode of their own: the prompt's prefill keeps the logits
    # after its last token, and every sample draws its first token from them.
    stream = backend.sample([SampleRequest(messages=MATH, n=4, max_tokens=1, temperatures=(0.8,), seeds=(1, 2, 3, 4))])
    real, decoded = stream._L, []

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def llama_decode(self, ctx, batch):
            decoded.append([batch.seq_id[i][0] for i in range(batch.n_tokens)])
            return real.llama_decode(ctx, batch)

    stream._L = Counting()
    done = list(stream)
    assert sorted(c.completion_tokens for c in done) == [1, 1, 1, 1]
    prompt_tokens = done[0].prompt_tokens
    assert sum(len(d) for d in decoded) == prompt_tokens  # the prompt once, no per-sample row
    assert all(seq >= backend.parallel for d in decoded for seq in d)  # holder sequences only


def test_a_truncating_sampler_draws_the_first_token_like_the_rest(backend):
    # top-k = 1 through llama.cpp's sampler chain must give the greedy text, first token included
    # (the first is drawn from the prompt's kept logits, the others from the context's).
    greedy = SampleRequest(messages=STORY, n=1, temperatures=(0.0,), max_tokens=6)
    top1 = SampleRequest(messages=STORY, n=2, temperatures=(0.9,), seeds=(5, 6), max_tokens=6, top_k=1)
    done = list(backend.sample([greedy, top1]))
    texts = {c.text for c in done}
    assert len(done) == 3 and len(texts) == 1 and done[0].text
