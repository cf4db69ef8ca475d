"""The Hugging Face transformers backend: ``--model hf:DIR`` or ``hf:FILE.gguf``.

A model directory is loaded as usual; a GGUF file goes through transformers'
``gguf_file=`` loader (needs ``gguf`` and ``accelerate``; the weights are
*dequantised* to full precision, so a Q4 GGUF decodes slightly differently from
llama.cpp). ``hf:smollm2`` is the embedded model. Everything is loaded with
``local_files_only=True``: nothing is ever fetched from a hub.

One ``generate`` call draws a *wave* of samples of one prompt at one temperature
(``num_return_sequences``; transformers' temperature is one scalar per call).
Waves are small (``settings.extra["wave"]``, default min(parallel, 8)) because rows
that finish early keep running until the whole wave ends, and because adaptive
stopping can only cancel between waves. ``set_seed`` runs before every call, so the
same request (seeds, temperatures, wave size) reproduces the same samples.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from inferplan.backends.base import BackendInfo, SampleRequest
from inferplan.backends.embedded import ALIAS, embedded_model_path
from inferplan.errors import BackendError, DependencyError, InputError, ModelError

_INSTALL = 'pip install "inferplan[transformers]" (and a torch build for your machine)'


def _imports():
    try:
        import torch
        import transformers
    except ImportError:
        raise DependencyError(f"the transformers backend needs torch and transformers: {_INSTALL}") from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def _locate(model: str) -> tuple[Path, str | None]:
    """(directory, gguf file name or None) for a model spec after ``hf:``."""
    if model == ALIAS:
        path = embedded_model_path()
    else:
        path = Path(model).expanduser()
    if not path.exists():
        raise ModelError(f"model not found: {model}")
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(f"not a transformers model directory (no config.json): {model}")
        return path, None
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"hf: needs a model directory or a GGUF file: {model}")
    if not _has_gguf_support():
        raise DependencyError(f"loading a GGUF file with transformers needs gguf and accelerate: {_INSTALL}")
    return path.parent, path.name


def _has_gguf_support() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("gguf", "accelerate"))


def _stop_criteria(tokenizer, stops: Sequence[str], prompt_len: int):
    """Per-row stop-string check on the decoded tail of each row.

    transformers' own ``stop_strings`` precomputes tables over the whole vocabulary
    on every call (seconds on a CPU); decoding a few tail tokens per step is cheaper
    for the short waves used here.
    """
    import torch
    import transformers

    window = max(len(s) for s in stops) + 2  # tokens: every token carries at least one character

    class StopStrings(transformers.StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            tails = input_ids[:, prompt_len:][:, -window:].tolist()
            done = [any(s and s in tokenizer.decode(t, skip_special_tokens=True) for s in stops) for t in tails]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StopStrings()


class TransformersBackend:
    """Backend protocol on transformers ``generate`` (see the module docstring)."""

    name = "transformers"

    def __init__(self, model: str, settings) -> None:
        torch, transformers = self._torch, _ = _imports()
        directory, gguf_file = _locate(model)
        if settings.threads:
            torch.set_num_threads(int(settings.threads))
        device = settings.extra.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float32 if device == "cpu" else "auto"  # CPU half precision is slow and lossy
        kwargs = {"local_files_only": True}
        if gguf_file:
            kwargs["gguf_file"] = gguf_file
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(directory, **kwargs)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, **kwargs)
        except Exception as e:  # transformers raises many kinds; the user needs one line
            raise ModelError(f"transformers could not load {model}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        self.model.to(device).eval()
        self.device = device
        gen = self.model.generation_config
        eos = gen.eos_token_id if gen.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)
        self.wave = max(1, int(settings.extra.get("wave", min(settings.parallel, 8))))
        self.settings = settings
        sha = None
        if gguf_file:
            from inferplan.backends.gguf_info import file_sha256

            sha = file_sha256(directory / gguf_file)
        self.info = BackendInfo(
            name="transformers", model=model, model_sha256=sha, device=device,
            supports_shared_prefix=False,  # num_return_sequences prefills the prompt once per row
            parallel_slots=self.wave, parameters=sum(p.numel() for p in self.model.parameters()),
            settings={"wave": self.wave, "dtype": str(self.model.dtype).replace("torch.", ""),
                      "gguf": gguf_file is not None, "transformers": transformers.__version__,
                      "torch": torch.__version__.split("+")[0]},
        )

    # -- prompts ---------------------------------------------------------------------

    def prompt_ids(self, request: SampleRequest) -> list[int]:
        """Token ids of a raw prompt, or of chat messages rendered with the model's template."""
        if (request.prompt is None) == (request.messages is None):
            raise InputError("a request needs exactly one of prompt or messages")
        if request.messages is not None:
            if not self.tokenizer.chat_template:
                raise ModelError(f"{self.info.model} has no chat template; give a raw prompt instead")
            text = self.tokenizer.apply_chat_template([dict(m) for m in request.messages],
                                                      add_generation_prompt=True, tokenize=False)
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer(request.prompt)["input_ids"]

    # -- one wave ----------------------------------------------------------------------

    def generate(self, ids: list[int], request: SampleRequest, count: int, temperature: float,
                 seed: int) -> tuple[list[tuple[str, int, float, str, list[int]]], float]:
        """``count`` samples of one prompt at one temperature: [(text, tokens, logprob, finish, ids)], seconds."""
        torch, transformers = self._torch, _imports()[1]
        transformers.set_seed(seed)  # no per-row seed in transformers: seed the whole call
        inputs = torch.tensor([ids], device=self.device)
        kw: dict = dict(max_new_tokens=request.max_tokens, return_dict_in_generate=True, output_scores=True,
                        pad_token_id=self.pad_id, eos_token_id=sorted(self.eos_ids),
                        attention_mask=torch.ones_like(inputs))
        greedy = temperature <= 0
        if greedy:  # identical rows: decode one and copy it
            kw.update(do_sample=False, num_return_sequences=1)
        else:
            kw.update(do_sample=True, temperature=temperature, num_return_sequences=count,
                      top_k=request.top_k,  # 0 disables transformers' default top_k=50
                      top_p=request.top_p, min_p=request.min_p or None)
        if request.stop:
            kw["stopping_criteria"] = transformers.StoppingCriteriaList([_stop_criteria(self.tokenizer, request.stop, len(ids))])
        start = time.monotonic()
        try:
            with torch.inference_mode():
                out = self.model.generate(inputs, **kw)
                scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        except (RuntimeError, ValueError) as e:
            raise BackendError(f"transformers generate failed: {str(e).splitlines()[0]}") from None
        seconds = time.monotonic() - start
        rows = [self._finish(out.sequences[r, len(ids):].tolist(), scores[r].tolist(), request)
                for r in range(out.sequences.shape[0])]
        return (rows * count if greedy else rows), seconds

    def _finish(self, tokens: list[int], scores: list[float], request: SampleRequest) -> tuple[str, int, float, str, list[int]]:
        """Cut a row at EOS or its first stop string: (text, token count, logprob, finish, the ids kept)."""
        end = next((i + 1 for i, t in enumerate(tokens) if t in self.eos_ids), None)
        finish = "stop" if end is not None else "length"
        end = end or len(tokens)
        text = self.tokenizer.decode(tokens[:end], skip_special_tokens=True)
        cut = min((p for p in (text.find(s) for s in request.stop if s) if p >= 0), default=-1)
        if cut >= 0:
            text, finish = text[:cut], "stop"
            # Shortest token prefix whose text reaches a stop string (monotone: bisect).
            lo, hi = 1, end
            while lo < hi:
                mid = (lo + hi) // 2
                t = self.tokenizer.decode(tokens[:mid], skip_special_tokens=True)
                lo, hi = (lo, mid) if any(s and s in t for s in request.stop) else (mid + 1, hi)
            end = lo
        return text, end, float(sum(scores[:end])), finish, tokens[:end]

    # -- Backend protocol --------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]):
        from inferplan.backends.transformers.stream import TransformersStream

        return TransformersStream(self, requests)

    def close(self) -> None:
        """Drop the model (frees its memory once nothing else holds it)."""
        self.model = None
