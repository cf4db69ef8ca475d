"""The KV cache layouts (``--kv-cache``): sizing, the choice between them, and the unified cache on the real engine."""

from __future__ import annotations

import re

import pytest

from inferplan.backends import BackendSettings, SampleRequest
from inferplan.backends.embedded import embedded_model_path
from inferplan.backends.gguf_info import read_gguf_info
from inferplan.backends.llamacpp import sizing
from inferplan.backends.llamacpp.sizing import KVWork, kv_bytes_per_cell, layout_cells, size_kv
from inferplan.errors import InputError

GiB = 2**30


@pytest.fixture(scope="module")
def gguf():
    return read_gguf_info(embedded_model_path())


def test_a_unified_cache_holds_each_prompt_once() -> None:
    assert layout_cells("split", 2304, 16) == 2 * 16 * 2304  # a stream per slot and per prompt holder
    # 16 samples of one 2,048-token prompt: two prompts (one running, the next prefilling) + 16 completions.
    work = KVWork(prompt=2048, completion=256, samples_per_prompt=16)
    assert layout_cells("unified", 2304, 16, work) == 2 * 2048 + 16 * 256
    assert layout_cells("unified", 2304, 16, KVWork(2000, 256, 16)) == 8192  # rounded up to llama.cpp's 256
    # One sample per prompt: every slot may hold a distinct prompt, one more prefilling.
    assert layout_cells("unified", 2304, 16, KVWork(2048, 256, 1)) == 17 * 2048 + 16 * 256
    # Even then about half of split, whose streams hold a prompt per sample and per holder.
    assert layout_cells("unified", 512, 16, KVWork(400, 100, 1)) == 8448 < layout_cells("split", 512, 16) / 1.9
    assert layout_cells("unified", 512, 16) == 16 * 512  # sizes unknown (--ctx given): half of split


def test_auto_takes_split_when_it_fits_and_unified_when_only_that_does(gguf, monkeypatch) -> None:
    cell = kv_bytes_per_cell(gguf)
    work = KVWork(prompt=2000, completion=256, samples_per_prompt=16)
    split, unified = (layout_cells(name, 2304, 16, work) * cell for name in ("split", "unified"))
    weights = gguf.size_bytes

    def memory(kv_bytes: float) -> None:  # MemAvailable such that exactly kv_bytes of cache fit
        monkeypatch.setattr(sizing, "available_memory", lambda: int((kv_bytes + weights) / sizing.MEMORY_SHARE) + 1)

    memory(split)
    assert size_kv(gguf, "auto", 2304, 16, weights, work=work).layout == "split"
    memory(split - 1)
    kv = size_kv(gguf, "auto", 2304, 16, weights, work=work)
    assert (kv.layout, kv.cells) == ("unified", 8192)
    assert "KV cache: unified, 8192 cells shared by 16 samples" in kv.line and "split streams would need" in kv.line
    with pytest.raises(InputError, match=r"try --kv-cache unified or --parallel \d+ or a lower --max-tokens$"):
        size_kv(gguf, "split", 2304, 16, weights, work=work)
    memory(unified - 1)
    with pytest.raises(InputError, match=r"KV cache: unified, .* GiB of memory available; try --parallel 15 or"):
        size_kv(gguf, "auto", 2304, 16, weights, work=work)
    assert size_kv(gguf, "split", 2304, 16, weights, on_gpu=True, work=work).layout == "split"  # GPU: the driver's


def test_a_bad_layout_is_one_line_and_a_server_has_none(cli) -> None:
    bad = cli("run", "What is 2+3?", "--kv-cache", "paged")
    assert bad.code == 3 and bad.err.strip() == "inferplan: error: --kv-cache must be one of auto, split, unified, got 'paged'"
    server = cli("run", "What is 2+3?", "--kv-cache", "unified", "--model", "http://127.0.0.1:9/v1")
    assert server.code == 3 and "--kv-cache unified applies to llama.cpp GGUF models only" in server.err


def _greedy(backend, requests):
    return sorted((c.request, c.index, c.text, c.completion_tokens) for c in backend.sample(requests))


@pytest.mark.slow
def test_unified_greedy_texts_match_split_and_work_waits_for_cells() -> None:
    from inferplan.backends.llamacpp.engine import LlamaCppBackend

    first = [SampleRequest(prompt="Q: 2 + 2 = ?\nA:", n=4, temperatures=(0.0,), max_tokens=24)]
    later = [SampleRequest(prompt=f"Write a long story about a {animal} who learns to count to ten. "
                                  f"Begin with the {animal}'s name.\n", n=1, temperatures=(0.0,), max_tokens=160)
             for animal in ("fox", "owl", "bear", "crab", "seal")]
    results = {}
    for layout in ("split", "unified"):
        backend = LlamaCppBackend("smollm2", BackendSettings(parallel=4, kv_cache=layout))
        try:
            stream = backend.sample(first)  # sizes the cache for this work: in unified, 2 prompts + 4 × 24 cells
            done, promised = [], []
            for c in stream:
                if not done:  # then five long prompts arrive, each needing most of the cache
                    stream.submit(later)
                done.append((c.request, c.index, c.text, c.completion_tokens))
                promised.append(stream._cache.promised)
            results[layout] = sorted(done)
            if layout == "unified":
                assert backend.info.settings["kv_cache"] == "unified" and backend.kv_cells == 256
                assert max(promised) <= backend.kv_cells  # work waited for cells instead of failing
            else:
                assert backend.kv_cells is None and backend.kv.cells == 2 * 4 * backend.n_ctx
        finally:
            backend.close()
    assert len(results["unified"]) == 9 and results["unified"] == results["split"]
    assert sum(tokens for *_, tokens in results["unified"]) > 5 * 100  # the stories did run long


@pytest.mark.slow
def test_run_with_a_unified_cache_says_so(cli) -> None:
    result = cli("run", "What is 2+3?", "-n", "4", "--kv-cache", "unified", "--max-tokens", "8", "--json")
    assert result.code == 0, result.err
    # Room for five prompts (4 samples each over 16 slots, one more prefilling) and 16 completions.
    assert re.search(r"KV cache: unified, \d+ cells shared by 16 samples of up to 256 tokens", result.err)
