"""One decoding slot of the llama.cpp engine: its sampler chain and the sample it is growing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inferplan.backends.base import Completion, SampleRequest
from inferplan.backends.confidence import WindowTracker

# llama.cpp treats this seed value as "pick a random seed": never pass it through.
_RANDOM_SEED = 0xFFFFFFFF


def make_sampler(L, request: SampleRequest, temperature: float, seed: int, banned: list[int], n_vocab: int):
    """The sampler of one sample → (numpy generator or None, llama.cpp chain or None).

    Temperature 0 is greedy (both None). Plain temperature sampling draws with a
    PCG64 generator seeded by the sample's seed (see :mod:`llamacpp_sampling`).
    Truncation (top-k, top-p, min-p) uses a llama.cpp chain of its own:
    top-k → top-p → min-p → temperature → draw, seeded with the sample's seed.
    """
    if temperature <= 0:
        return None, None
    seed32 = seed & 0xFFFFFFFF
    if request.top_k <= 0 and request.top_p >= 1.0 and request.min_p <= 0.0:
        return np.random.Generator(np.random.PCG64(seed32)), None
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    if banned:
        biases = (L.llama_logit_bias * len(banned))()
        for j, tok in enumerate(banned):
            biases[j].token, biases[j].bias = tok, float("-inf")
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_logit_bias(n_vocab, len(banned), biases))
    if request.top_k > 0:
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(request.top_k))
    if request.top_p < 1.0:
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(request.top_p, 1))
    if request.min_p > 0.0:
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_min_p(request.min_p, 1))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(temperature))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed32 ^ 1 if seed32 == _RANDOM_SEED else seed32))
    return None, chain


@dataclass
class Slot:
    """A live sample: the next token to decode, its position, and the text so far."""

    request: int
    index: int
    rng: np.random.Generator | None  # temperature sampling
    chain: object | None  # llama.cpp sampler chain (top-k/top-p/min-p)
    next_token: int
    pos: int
    max_tokens: int
    temperature: float
    seed: int
    stops: tuple[bytes, ...]
    started: float
    n_tokens: int = 0
    logprob: float = 0.0
    text: bytearray = field(default_factory=bytearray)
    windows: WindowTracker = field(default_factory=WindowTracker)
    floor: float | None = None  # stop ("lowconf") once a full window's mean logprob is under it

    def advance(self, token: int, logprob: float, piece: bytes, eog: bool) -> str | None:
        """Take a sampled token; return the finish reason if the sample is complete."""
        self.n_tokens += 1
        self.logprob += logprob
        self.windows.add(logprob)
        if eog:
            return "stop"
        if self.floor is not None and self.windows.below(self.floor):
            return "lowconf"  # DeepConf-online: a chain this unsure is cut, and casts no vote
        start = len(self.text)
        self.text += piece
        for stop in self.stops:
            # Only the new bytes (plus an overlap) can complete a stop string; UTF-8 is
            # self-synchronising, so a byte search finds exactly the string matches.
            at = self.text.find(stop, max(0, start - len(stop) + 1))
            if at >= 0:
                del self.text[at:]
                return "stop"
        if self.n_tokens >= self.max_tokens:
            return "length"
        self.next_token = token
        self.pos += 1
        return None

    def completion(self, finish: str, prompt_tokens: int, now: float) -> Completion:
        return Completion(
            request=self.request, index=self.index,
            text=self.text.decode("utf-8", errors="replace"),
            completion_tokens=self.n_tokens, prompt_tokens=prompt_tokens,
            logprob=self.logprob, finish=finish, seconds=now - self.started,
            temperature=self.temperature, seed=self.seed, confidence=self.windows.result(),
        )
