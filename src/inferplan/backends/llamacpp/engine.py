"""The llama.cpp backend: one model, one context, many samples decoded in one batch.

This module loads the model and context through llama-cpp-python's low-level API
and owns tokenisation and detokenisation; the scheduling (prompt KV sharing,
per-sequence samplers, continuous batching) lives in :mod:`llamacpp_stream`.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Sequence

from inferplan.backends.base import BackendInfo, SampleRequest
from inferplan.backends.embedded import ALIAS, resolve_model_path
from inferplan.backends.gguf_info import file_sha256, read_gguf_info
from inferplan.backends.llamacpp.chat import ChatTemplate
from inferplan.backends.llamacpp.sizing import KVWork, auto_ctx, size_kv
from inferplan.backends.llamacpp.weights import f16_copy, wants_f16
from inferplan.backends.settings import BackendSettings, check_settings
from inferplan.errors import BackendError, DependencyError, InputError, InvalidValue, ModelError

log = logging.getLogger("inferplan.llamacpp")

# llama.cpp's LLAMA_MAX_SEQ: slots + prompt holders must fit under it.
_MAX_SEQ = 256


def _import_llama_cpp():
    try:
        import llama_cpp
    except ImportError:
        raise DependencyError("the llama.cpp backend needs llama-cpp-python: pip install llama-cpp-python") from None
    return llama_cpp


def _offloads(L, gpu_layers: int) -> bool:
    """Whether layers go to a GPU: asked for, and this llama-cpp-python build can (else a warning)."""
    offload = bool(gpu_layers) and L.llama_supports_gpu_offload()
    if gpu_layers and not offload:
        log.warning("--gpu-layers %d ignored: this llama-cpp-python build cannot offload to a GPU, so the "
                    "model runs on the CPU (the README says how to install the CUDA build)", gpu_layers)
    return offload


class LlamaCppBackend:
    """Backend protocol on llama.cpp (see :mod:`inferplan.backends.base`).

    ``settings.parallel`` sequences are decoded per step, by default each in a KV
    stream of its own of ``settings.ctx`` tokens (prompt + completion), plus as
    many streams that hold prompts. Separate streams, not one unified cache: in a
    unified cache every token attends over the cells of *all* sequences (masked),
    which made steps over distinct prompts slower (bench_run_plan.py, 40 queries,
    unified → streams: run --plan 147 → 170 tok/s, fixed-N 196 → 212). The price is memory — 2 ×
    parallel × ctx cells — and a copy of the prompt's whole stream when a sample
    starts. Where that does not fit, ``settings.kv_cache`` ``auto`` takes the unified
    cache, whose samples share their prompt's cells (see :mod:`llamacpp.sizing`).
    ``settings.extra`` may hold ``ignore_eos`` (benchmarks: run every sample to
    max_tokens).
    """

    def __init__(self, model: str = ALIAS, settings: BackendSettings | None = None) -> None:
        settings = settings or BackendSettings()
        if settings.parallel < 1 or settings.parallel > _MAX_SEQ // 2:
            raise InvalidValue("parallel", f"{{name}} must be between 1 and {_MAX_SEQ // 2}, got {settings.parallel}")
        if settings.ctx is not None and settings.ctx < 64:
            raise InvalidValue("ctx", f"{{name}} must be at least 64 tokens, got {settings.ctx}")
        check_settings(settings)  # --weights, --kv-cache: refused before the thread probe and the load
        self.path: Path = resolve_model_path(model)
        self.gguf = read_gguf_info(self.path)
        on_gpu = bool(settings.gpu_layers)
        if settings.ctx is not None:  # refused here, before anything is loaded, when it cannot fit
            self.kv = size_kv(self.gguf, settings.kv_cache, settings.ctx, settings.parallel,
                              self._weights_bytes(settings), on_gpu)
        L = self._L = _import_llama_cpp()
        from inferplan.backends.llamacpp.guard import extra_bufts_safe, route_native_logs
        from inferplan.backends.llamacpp.threads import StepWatch, default_threads

        route_native_logs()
        L.llama_backend_init()
        self.settings = settings
        self.parallel = settings.parallel
        self.threads = settings.threads or default_threads()  # the cores other programs leave idle
        self.step_watch = StepWatch(self.threads)
        offload = _offloads(L, settings.gpu_layers)
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = settings.gpu_layers if offload else 0
        sha256 = file_sha256(self.path)
        self.weights_file, self.weights = self.path, "native"
        if wants_f16(settings.weights, self.gguf, self.parallel, offload):
            copy = f16_copy(L, self.path, sha256)
            if copy is not None:
                self.weights_file, self.weights = copy, f"f16 copy of {self.gguf.quantization}"
        # The AMX crash is in the CPU repacked-weights path; only probe when it is used.
        load_type = "F16" if self.weights_file != self.path else self.gguf.quantization
        self.extra_bufts = True if offload else extra_bufts_safe(self.weights_file, load_type)
        mp.use_extra_bufts = self.extra_bufts
        self._model = L.llama_model_load_from_file(str(self.weights_file).encode(), mp)
        if not self._model:
            raise ModelError(f"llama.cpp could not load the model: {self.path}")
        self._vocab = L.llama_model_get_vocab(self._model)
        self.n_vocab = L.llama_vocab_n_tokens(self._vocab)
        self._ctx = self.n_ctx = self.kv_cells = self._memory = None  # made by prepare(); now when --ctx is given
        self._piece_cache: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._template: ChatTemplate | None = None
        self._busy = False
        self._sampler, self._sampler_key = None, None
        self._eog: list[int] | None = None
        self.info = BackendInfo(
            name="llamacpp", model=model, model_sha256=sha256,
            device="gpu" if offload else "cpu", supports_shared_prefix=True,
            parallel_slots=self.parallel, parameters=self.gguf.parameters,
            settings={"threads": self.threads, "ctx": "auto", "gpu_layers": mp.n_gpu_layers,
                      "parallel": self.parallel, "extra_bufts": self.extra_bufts, "weights": self.weights,
                      "kv_cache": settings.kv_cache,
                      "llama_cpp": getattr(L, "__version__", "?")},
        )

        if settings.ctx is not None:
            self._make_context(settings.ctx)

    def _weights_bytes(self, settings: BackendSettings) -> int:
        small_f16 = wants_f16(settings.weights, self.gguf, settings.parallel, bool(settings.gpu_layers))
        return 2 * self.gguf.parameters if small_f16 else self.gguf.size_bytes

    def prepare(self, requests: Sequence[SampleRequest] = (), tokens: int = 0) -> None:
        """Size the context for this work (``--ctx auto``): the longest prompt plus its max_tokens,
        or ``tokens`` of room if more (capped by the training context); refused with what would fit
        when memory is short. A no-op once the context exists."""
        if self._ctx is not None:
            return
        prompts = [len(self.prompt_tokens(r)) for r in requests]
        needed = max([0, *(p + self.forced_room(r)[1] for p, r in zip(prompts, requests))])
        room = min(tokens, self.gguf.context_length or tokens)  # a wish for room, capped by the model
        ctx = auto_ctx(max(needed, room) or 512, self.gguf)
        work = KVWork(max(prompts), max(self.forced_room(r)[1] for r in requests),
                      min(max(1, r.n) for r in requests)) if requests and needed >= room else None
        self.kv = size_kv(self.gguf, self.settings.kv_cache, ctx, self.parallel,
                          self._weights_bytes(self.settings), bool(self.settings.gpu_layers), work)
        self._make_context(ctx)

    def _make_context(self, ctx: int) -> None:
        log.info("%s", self.kv.line)
        self._ctx = self._new_context(ctx)
        unified = self.kv.layout == "unified"
        # Tokens per sequence (prompt + completion): the stream's size, or in one shared cache what was sized.
        self.n_ctx = ctx if unified else self._L.llama_n_ctx_seq(self._ctx)
        self.kv_cells = self._L.llama_n_ctx(self._ctx) if unified else None
        self._memory = self._L.llama_get_memory(self._ctx)
        self.info.settings["ctx"] = self.n_ctx
        self.info.settings["kv_cache"] = self.kv.layout

    def _new_context(self, ctx: int):
        """A context for ``parallel`` sample slots and as many prompt holders: a KV stream of ``ctx``
        tokens for each, or one unified cache of ``self.kv.cells``."""
        L = self._L
        self.n_batch = max(512, 2 * self.parallel)
        cp = L.llama_context_default_params()
        cp.n_seq_max = 2 * self.parallel  # sample slots + prompt holders
        cp.n_ctx = self.kv.cells  # split: llama.cpp divides it into n_seq_max streams of ctx
        cp.n_batch = cp.n_ubatch = self.n_batch
        cp.kv_unified = self.kv.layout == "unified"
        cp.n_threads = cp.n_threads_batch = self.threads
        cp.no_perf = True
        context = L.llama_init_from_model(self._model, cp)
        if not context:  # the model is freed by close(), once
            raise ModelError(f"llama.cpp could not create a context (ctx={ctx}) for {self.path}")
        return context

    # -- text <-> tokens -------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool = True) -> list[int]:
        """Tokens of ``text``; special tokens written in it (e.g. ``<|im_start|>``) are parsed."""
        L, raw = self._L, text.encode("utf-8")
        n_max = len(raw) + 16
        buf = (L.llama_token * n_max)()
        n = L.llama_tokenize(self._vocab, raw, len(raw), buf, n_max, add_special, True)
        if n < 0:
            n_max = -n
            buf = (L.llama_token * n_max)()
            n = L.llama_tokenize(self._vocab, raw, len(raw), buf, n_max, add_special, True)
        if n < 0:
            raise BackendError("llama.cpp failed to tokenize the prompt")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """The bytes a token adds to the text (control tokens add nothing); cached."""
        cached = self._piece_cache.get(token)
        if cached is None:
            n = self._L.llama_token_to_piece(self._vocab, token, self._piece_buf, 256, 0, False)
            cached = self._piece_buf.raw[: max(n, 0)]
            self._piece_cache[token] = cached
        return cached

    def is_eog(self, token: int) -> bool:
        return bool(self._L.llama_vocab_is_eog(self._vocab, token))

    def eog_tokens(self) -> list[int]:
        """All end-of-generation token ids (one pass over the vocabulary, then cached)."""
        if self._eog is None:
            self._eog = [t for t in range(self.n_vocab) if self._L.llama_vocab_is_eog(self._vocab, t)]
        return list(self._eog)

    def prompt_tokens(self, request: SampleRequest) -> list[int]:
        """Token ids of a request's prompt: raw text, or messages through the chat template."""
        if (request.prompt is None) == (request.messages is None):
            raise InputError("a request needs exactly one of prompt or messages")
        if request.messages is not None:
            text = self.chat_template().render(request.messages)
        else:
            text = request.prompt
        if not text:
            raise InputError("empty prompt")
        tokens = self.tokenize(text, add_special=True)
        bos = self._L.llama_vocab_bos(self._vocab)
        if len(tokens) > 1 and tokens[0] == bos and tokens[1] == bos:
            tokens = tokens[1:]  # the template wrote a BOS and tokenize added another
        return tokens

    def forced_room(self, request: SampleRequest) -> tuple[tuple[int, ...], int]:
        """The forced answer prompt's tokens, and the KV cells one sample may fill: max_tokens,
        plus the answer prompt and answer_tokens when the request forces answers."""
        if not request.forces:
            return (), request.max_tokens
        force = tuple(self.tokenize(request.force_answer, add_special=False))
        return force, request.max_tokens + len(force) + request.answer_tokens

    def chat_template(self) -> ChatTemplate:
        if self._template is None:
            L = self._L
            bos, eos = L.llama_vocab_bos(self._vocab), L.llama_vocab_eos(self._vocab)
            self._template = ChatTemplate(
                self.gguf.chat_template,
                bos_token=self.piece_special(bos) if bos >= 0 else "",
                eos_token=self.piece_special(eos) if eos >= 0 else "",
            )
        return self._template

    def piece_special(self, token: int) -> str:
        n = self._L.llama_token_to_piece(self._vocab, token, self._piece_buf, 256, 0, True)
        return self._piece_buf.raw[: max(n, 0)].decode("utf-8", errors="replace")

    def batch_sampler(self, banned: list[int]):
        """The (reused) numpy sampler with its 2 x parallel x vocab buffers."""
        from inferplan.backends.llamacpp.sampling import BatchSampler

        key = tuple(banned)
        if self._sampler is None or self._sampler_key != key:
            self._sampler, self._sampler_key = BatchSampler(self.n_vocab, self.parallel, banned), key
        return self._sampler

    # -- protocol --------------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]):
        """A stream of completions of ``requests`` (more may be submitted while iterating)."""
        from inferplan.backends.llamacpp.stream import LlamaCppStream

        if getattr(self, "_model", None) is None:
            raise BackendError("the llama.cpp backend is closed")
        self.prepare(requests)  # --ctx auto and nobody sized it yet: these requests decide
        if self._busy:
            raise BackendError("this llama.cpp backend already has an open stream; finish it first")
        return LlamaCppStream(self, requests)

    def close(self) -> None:
        """Free the context and the model (idempotent)."""
        L = self._L
        if getattr(self, "_ctx", None):
            L.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            L.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> LlamaCppBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
