"""`--ctx auto` (the default) and the KV-memory check, on the real engine and the embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferplan.backends.embedded import embedded_model_path
from inferplan.backends.gguf_info import read_gguf_info
from inferplan.backends.llamacpp.sizing import auto_ctx, kv_bytes_per_cell, size_kv
from inferplan.errors import InputError

FILLER = "The meeting notes continue with routine remarks about schedules and rooms. "


def test_kv_cell_size_from_the_gguf_metadata() -> None:
    gguf = read_gguf_info(embedded_model_path())
    meta = gguf.metadata
    assert (meta["llama.block_count"], meta["llama.attention.head_count_kv"]) == (30, 3)
    head_dim = meta["llama.embedding_length"] // meta["llama.attention.head_count"]  # 576 / 9 = 64
    assert kv_bytes_per_cell(gguf) == 30 * 3 * (head_dim + head_dim) * 2  # layers × kv heads × (K + V) × F16
    assert auto_ctx(1, gguf) == 256 and auto_ctx(257, gguf) == 512 and auto_ctx(8192, gguf) == 8192
    with pytest.raises(InputError, match="training context of 8192"):
        auto_ctx(8193, gguf)
    with pytest.raises(InputError, match=r"more than the .* GiB of memory available; try --ctx \d+"):
        size_kv(gguf, "split", 1_000_000, 64, gguf.size_bytes)


@pytest.mark.slow
def test_prompts_of_2000_tokens_need_no_ctx_flag(cli, tmp_path: Path) -> None:
    tasks = tmp_path / "long.jsonl"
    context = FILLER * 150  # about 1,900 tokens of context before the question
    tasks.write_text("".join(json.dumps({"id": f"q{i}", "question": f"{context}\nWhat is {i} + 2?", "answer": i + 2})
                             + "\n" for i in range(3)))
    out = tmp_path / "p.jsonl"
    result = cli("profile", "--tasks", str(tasks), "--samples", "2", "-t", "0.5", "--max-tokens", "16",
                 "--parallel", "2", "-o", str(out))
    assert result.code == 0, result.err
    assert "KV cache: 4 streams ×" in result.err  # the estimate, printed as the context is made
    header = json.loads(out.read_text().splitlines()[0])
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert len(records) == 6 and min(r["prompt_tokens"] for r in records) > 1800
    assert header["engine"]["ctx"] >= max(r["prompt_tokens"] for r in records) + 16


def test_a_context_that_cannot_fit_is_refused_before_loading(cli) -> None:
    result = cli("run", "What is 2+3?", "--ctx", "1000000", "--parallel", "64")
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "more than the" in lines[0] and "GiB of memory available" in lines[0]
    bad = cli("run", "What is 2+3?", "--ctx", "lots")
    assert bad.code == 3 and "--ctx must be a number of tokens or auto" in bad.err
