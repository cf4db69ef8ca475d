"""How much KV cache a llama.cpp context needs, and whether it fits, before it is allocated.

The engine gives every sample slot and every prompt holder a KV stream of its own
(``2 × parallel`` streams of ``ctx`` cells), each cell holding a key and a value
vector per layer in F16. From the GGUF's metadata alone:

    bytes = 2 × parallel × ctx × n_layer × (n_head_kv × (key_length + value_length)) × 2

``--ctx auto`` sizes ``ctx`` from the work: the longest prompt plus ``max_tokens``,
rounded up to a multiple of 256 (llama.cpp pads contexts to that), never past the
model's training context. A configuration whose weights and KV cache do not fit
in the memory the system has available is refused with what would fit.
"""

from __future__ import annotations

from pathlib import Path

from inferplan.backends.gguf_info import GGUFInfo
from inferplan.errors import InputError

ROUND = 256
MEMORY_SHARE = 0.9  # of MemAvailable: leave the rest to the OS and the process's own arrays


def kv_bytes_per_cell(gguf: GGUFInfo) -> int | None:
    """Bytes of one KV cell (all layers, F16 keys and values), or None when the metadata lacks a field."""
    meta, arch = gguf.metadata, gguf.architecture
    try:
        layers = int(meta[f"{arch}.block_count"])
        heads = int(meta[f"{arch}.attention.head_count"])
        kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads))
        head_dim = int(meta[f"{arch}.embedding_length"]) // heads
        k_len = int(meta.get(f"{arch}.attention.key_length", head_dim))
        v_len = int(meta.get(f"{arch}.attention.value_length", head_dim))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return layers * kv_heads * (k_len + v_len) * 2


def auto_ctx(needed: int, gguf: GGUFInfo) -> int:
    """The context for work needing ``needed`` tokens per sample (prompt + max_tokens)."""
    ctx = max(ROUND, -(-needed // ROUND) * ROUND)
    limit = gguf.context_length
    if limit and needed > limit:
        raise InputError(f"the longest prompt plus max_tokens needs {needed} tokens, more than the model's "
                         f"training context of {limit}; shorten the prompts or lower --max-tokens")
    return min(ctx, limit) if limit else ctx


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def check_fits(gguf: GGUFInfo, ctx: int, parallel: int, weights_bytes: int, on_gpu: bool = False) -> str:
    """One line saying what the KV cache takes; InputError naming what would fit when it does not."""
    cell = kv_bytes_per_cell(gguf)
    if cell is None:
        return f"KV cache: {2 * parallel} streams × {ctx} tokens (size unknown: the GGUF lacks attention metadata)"
    kv = 2 * parallel * ctx * cell
    line = f"KV cache: {2 * parallel} streams × {ctx} tokens = {_gib(kv)} (F16), weights {_gib(weights_bytes)}"
    memory = None if on_gpu else available_memory()  # GPU memory is the driver's to refuse
    if memory is None or kv + weights_bytes <= MEMORY_SHARE * memory:
        return line
    room = MEMORY_SHARE * memory - weights_bytes
    fit_parallel = int(room // (2 * ctx * cell)) if room > 0 else 0
    fit_ctx = int(room // (2 * parallel * cell)) // ROUND * ROUND if room > 0 else 0
    hints = [f"--parallel {fit_parallel}" if fit_parallel >= 1 else None,
             f"--ctx {fit_ctx}" if fit_ctx >= ROUND else None]
    advice = " or ".join(h for h in hints if h) or "a smaller model"
    raise InputError(f"{line}: more than the {_gib(memory)} of memory available; try {advice}")
