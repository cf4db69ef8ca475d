"""The realistic model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 152k vocabulary) on the real engine; opt-in."""

from __future__ import annotations

import pytest

from inferplan.backends.gguf_info import read_gguf_info
from inferplan.backends.llamacpp.sizing import kv_bytes_per_cell

pytestmark = [pytest.mark.slow, pytest.mark.realistic]


def test_the_realistic_model_answers_with_auto_ctx(cli, realistic_model) -> None:
    gguf = read_gguf_info(realistic_model)
    assert gguf.architecture == "qwen2" and gguf.chat_template
    meta = gguf.metadata
    head_dim = meta["qwen2.embedding_length"] // meta["qwen2.attention.head_count"]
    assert kv_bytes_per_cell(gguf) == meta["qwen2.block_count"] * meta["qwen2.attention.head_count_kv"] * 2 * head_dim * 2
    result = cli("run", "What is 17 + 25? Answer with just the number.", "-n", "4", "-t", "0.3",
                 "--max-tokens", "16", "--model", str(realistic_model), "--json")
    assert result.code == 0, result.err
    assert result.json()["answer"] == "42" and "KV cache:" in result.err
