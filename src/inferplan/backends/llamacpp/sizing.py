"""How much KV cache a llama.cpp context needs, in which layout, and whether it fits — before it is allocated.

Two layouts (``--kv-cache``):

- **split** (preferred): every sample slot and every prompt holder gets a KV
  stream of its own, ``2 × parallel`` streams of ``ctx`` cells. A token attends
  over its own stream only, but every sample's stream holds a copy of its prompt.
- **unified**: one cache shared by all sequences. A prompt's cells serve every
  sample of it, so N samples of one prompt need the prompt once plus N completions;
  the price is that every token attends over the cells of all sequences (masked):
  8–14% slower with many distinct short prompts (bench_run_plan.py, 40 queries), as
  fast under a long shared one (``bench_engine_shapes.py --parts kv``: 16 samples of
  a 1,216-token prompt, 4,608 cells against 49,152, 35.9 against 35.3 tok/s). The
  engine then promises cells to prompts and samples before it starts them
  (``prompt_cache.PromptCache``), so work that does not fit at once waits instead
  of failing.

``auto`` takes split when it fits in memory and unified when only that does.
Each cell holds a key and a value vector per layer in F16; from the GGUF's metadata:

    bytes per cell = n_layer × n_head_kv × (key_length + value_length) × 2

``--ctx auto`` sizes ``ctx`` from the work: the longest prompt plus ``max_tokens``,
rounded up to a multiple of 256 (llama.cpp pads contexts to that), never past the
model's training context. A configuration that does not fit in the memory the
system has available is refused with what would fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inferplan.backends.gguf_info import GGUFInfo
from inferplan.errors import InputError, InvalidValue

ROUND = 256
MEMORY_SHARE = 0.9  # of MemAvailable: leave the rest to the OS and the process's own arrays
LAYOUTS = ("auto", "split", "unified")


@dataclass(frozen=True)
class KVWork:
    """What the work needs per sequence: its longest prompt, its largest max_tokens, and the
    fewest samples any of its prompts gets (how many prompts share the slots at once)."""

    prompt: int
    completion: int
    samples_per_prompt: int = 1


@dataclass(frozen=True)
class KVCache:
    """The cache the engine allocates: its layout, its cells in all, and the line that says so."""

    layout: str  # "split" | "unified"
    cells: int
    line: str


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
    ctx = _round_up(needed)
    limit = gguf.context_length
    if limit and needed > limit:
        raise InputError(f"the longest prompt plus max_tokens needs {needed} tokens, more than the model's "
                         f"training context of {limit}; shorten the prompts or lower --max-tokens")
    return min(ctx, limit) if limit else ctx


def layout_cells(layout: str, ctx: int, parallel: int, work: KVWork | None = None) -> int:
    """Cells a layout allocates for ``parallel`` slots of ``ctx`` tokens.

    Unified: the prompts that share the slots at once (one more, so the next can
    prefill while they run) plus every slot's completion; without the work's sizes
    (a ``--ctx`` given up front), half of what the split streams take. Never more
    than split, whose streams hold a prompt per sample.
    """
    split = 2 * parallel * ctx
    if layout == "split":
        return split
    if work is None:
        return parallel * ctx
    prompts = min(parallel, -(-parallel // max(1, work.samples_per_prompt))) + 1
    return min(split, max(_round_up(ctx), _round_up(prompts * work.prompt + parallel * work.completion)))


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise InvalidValue("kv_cache", f"{{name}} must be one of {', '.join(LAYOUTS)}, got {layout!r}")


def size_kv(gguf: GGUFInfo, layout: str, ctx: int, parallel: int, weights_bytes: int, on_gpu: bool = False,
            work: KVWork | None = None) -> KVCache:
    """The cache to allocate (``layout``, one of LAYOUTS, with ``auto`` resolved), or InputError
    naming what would fit."""
    cell = kv_bytes_per_cell(gguf)
    memory = None if on_gpu or cell is None else available_memory()  # GPU memory is the driver's to refuse
    room = None if memory is None else MEMORY_SHARE * memory - weights_bytes

    def fits(name: str, p: int = parallel) -> bool:
        return room is None or layout_cells(name, ctx, p, work) * cell <= room

    chosen = layout if layout != "auto" else "split" if fits("split") else "unified"
    cells = layout_cells(chosen, ctx, parallel, work)
    line = _describe(chosen, cells, ctx, parallel, cell, weights_bytes)
    if layout == "auto" and chosen == "unified":
        line += f"; split streams would need {_gib(layout_cells('split', ctx, parallel) * cell)}"
    if fits(chosen):
        return KVCache(chosen, cells, line)
    hints = ["--kv-cache unified"] if chosen == "split" and fits("unified") else []
    fit_parallel = next((p for p in range(parallel - 1, 0, -1) if fits(chosen, p)), 0)
    hints += [f"--parallel {fit_parallel}"] if fit_parallel else []
    fit_ctx = int(max(room, 0) // (layout_cells(chosen, 1, parallel) * cell)) // ROUND * ROUND  # linear in ctx
    hints += ["a lower --max-tokens"] if work else [f"--ctx {fit_ctx}"] if fit_ctx >= ROUND else []
    advice = " or ".join(hints) or "a smaller model"
    raise InputError(f"{line}: more than the {_gib(memory)} of memory available; try {advice}")


def _describe(layout: str, cells: int, ctx: int, parallel: int, cell: int | None, weights_bytes: int) -> str:
    size = f" = {_gib(cells * cell)} (F16), weights {_gib(weights_bytes)}" if cell else \
        " (size unknown: the GGUF lacks attention metadata)"
    if layout == "split":
        return f"KV cache: {2 * parallel} streams × {ctx} tokens{size}"
    return f"KV cache: unified, {cells} cells shared by {parallel} samples of up to {ctx} tokens{size}"


def _round_up(tokens: int) -> int:
    return max(ROUND, -(-tokens // ROUND) * ROUND)


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"
