"""One decoding slot of the llama.cpp engine: its sampler chain and the sample it is growing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inferplan.backends.base import Completion, ForcedAnswer, SampleRequest
from inferplan.backends.confidence import WindowTracker
from inferplan.policy.forcing import answer_end

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


class _Greedy:
    """How a forced answer is drawn: the most likely token (no generator, no chain)."""

    rng = chain = None
    temperature = 0.0


GREEDY = _Greedy()


@dataclass
class Answering:
    """A forced answer being decoded: at the cap (``probe`` False) or on the side at a probe depth."""

    depth: int  # thinking tokens before the answer prompt
    resume_pos: int  # position of the last thinking token: the cells from here on go after a probe
    resume_token: int  # that token, fed again when the thinking goes on
    probe: bool
    prompt_tokens: int
    text: bytearray = field(default_factory=bytearray)
    n: int = 0  # answer tokens drawn

    def result(self, ended: bool, prompt_text: bytes) -> ForcedAnswer:
        return ForcedAnswer(self.depth, (prompt_text + self.text).decode("utf-8", errors="replace"),
                            self.prompt_tokens + self.n, ended)


@dataclass
class Slot:
    """A live sample: the tokens to feed next, their first position, and the text so far.

    ``pending`` is usually the one token just drawn; when an answer is forced it is that
    token followed by the answer prompt's tokens, all fed in one decode step.
    """

    request: int
    index: int
    rng: np.random.Generator | None  # temperature sampling
    chain: object | None  # llama.cpp sampler chain (top-k/top-p/min-p)
    pending: list[int]
    pos: int  # position of pending[0]
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
    force: tuple[int, ...] = ()  # the answer prompt's tokens (empty: a sample at the cap just ends)
    force_text: bytes = b""
    answer_tokens: int = 32
    probe_depths: frozenset = frozenset()
    answering: Answering | None = None
    probes: list = field(default_factory=list)
    forced: ForcedAnswer | None = None
    rewind: int | None = None  # after a probe: drop this sequence's cells from here on (the stream does)

    @property
    def draw(self):
        """Who draws this slot's next token: its own sampler, or greedy while answering."""
        return self if self.answering is None else GREEDY

    def advance(self, token: int, logprob: float, piece: bytes, eog: bool) -> str | None:
        """Take a drawn token; return the finish reason if the sample is complete."""
        if self.answering is not None:
            return self._answer(token, piece, eog)
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
        if self.n_tokens >= self.max_tokens and not self.force:
            return "length"
        self._feed([token])
        if self.force and (self.n_tokens >= self.max_tokens or self.n_tokens in self.probe_depths):
            probe = self.n_tokens < self.max_tokens
            self.answering = Answering(self.n_tokens, self.pos, token, probe, len(self.force))
            self.pending += self.force
        return None

    def _feed(self, tokens: list[int]) -> None:
        self.pos += len(self.pending)
        self.pending = tokens

    def _answer(self, token: int, piece: bytes, eog: bool) -> str | None:
        """A token of a forced answer: it ends at a line break after some answer text, at the end of
        text, or at ``answer_tokens``; a probe then hands the slot back to the thinking."""
        a = self.answering
        a.n += 1
        ended = eog
        if not eog:
            joined = a.text + piece
            end = answer_end(joined)
            ended = end is not None
            a.text = joined[:end] if ended else joined
        if not ended and a.n < self.answer_tokens:
            self._feed([token])
            return None
        result = a.result(ended, self.force_text)
        self.answering = None
        if not a.probe:
            self.forced = result
            self.text += result.text.encode("utf-8")
            return "forced"
        self.probes.append(result)
        self.rewind = self.pos = a.resume_pos
        self.pending = [a.resume_token]
        return None

    def completion(self, finish: str, prompt_tokens: int, now: float) -> Completion:
        answer = self.forced.tokens if self.forced else 0
        return Completion(
            request=self.request, index=self.index,
            text=self.text.decode("utf-8", errors="replace"),
            completion_tokens=self.n_tokens + answer, prompt_tokens=prompt_tokens,
            logprob=self.logprob, finish=finish, seconds=now - self.started,
            temperature=self.temperature, seed=self.seed, confidence=self.windows.result(),
            forced=self.forced, probes=tuple(self.probes),
        )
