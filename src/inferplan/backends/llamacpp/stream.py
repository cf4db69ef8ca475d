"""Continuous batching on llama.cpp: the scheduler behind ``LlamaCppBackend.sample``.

Each prompt is evaluated once into a *holder* sequence, which keeps the logits
after its last token. A sample starts by copying the holder's KV stream into a
free slot sequence and drawing its first token from those logits with its own
sampler, so a sample of an L-token answer decodes L − 1 rows, not L (a third
less work for two-token answers). Every step decodes one token of every live
slot plus a chunk of pending prompt prefill in a single ``llama_decode``;
finished slots are refilled at once, across requests.

With split KV streams every sequence has one of its own of ``backend.n_ctx`` tokens, so a
request fits if its prompt plus max_tokens (plus a forced answer) does, checked on submit;
in a unified cache cells are promised before anything starts (:mod:`prompt_cache`).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Iterator, Sequence

import numpy as np

from inferplan.backends.base import Completion, SampleRequest
from inferplan.backends.llamacpp.prompt_cache import PromptCache
from inferplan.backends.llamacpp.slots import Slot, make_sampler
from inferplan.backends.llamacpp.stream_state import StreamRequest, defer_sigint
from inferplan.errors import BackendError, InputError
from inferplan.policy.forcing import check_forcing


class LlamaCppStream:
    """Completions in the order they finish; see :class:`inferplan.backends.base.SampleStream`."""

    def __init__(self, backend, requests: Sequence[SampleRequest]) -> None:
        self._b = backend
        L = self._L = backend._L
        self._P = backend.parallel
        self._slots: list[Slot | None] = [None] * self._P
        self._cache = PromptCache(L, backend._memory, list(range(2 * self._P - 1, self._P - 1, -1)), backend.kv_cells)
        self._reqs: list[StreamRequest] = []
        self._pending: deque[StreamRequest] = deque()  # requests with samples not yet started
        self._done: deque[Completion] = deque()
        self._batch = L.llama_batch_init(backend.n_batch, 0, 1)
        self._ignore_eos = bool(backend.settings.extra.get("ignore_eos"))
        self._eog_ids = backend.eog_tokens() if self._ignore_eos else []
        self._sampler = backend.batch_sampler(self._eog_ids)
        self._closed = False
        self.tick = None  # see base.SampleStream
        backend._busy = True
        try:
            self.submit(requests)
        except BaseException:
            self.close()  # a rejected request must not leave the backend marked busy
            raise

    # -- public ----------------------------------------------------------------------

    def submit(self, requests: Sequence[SampleRequest]) -> list[int]:
        """Queue more requests; returns their stream-wide numbers."""
        if self._closed:
            raise BackendError("this stream is finished; open a new one with backend.sample()")
        numbers = []
        for request in requests:
            if request.n < 0 or request.max_tokens < 1:
                raise InputError("a request needs n >= 0 and max_tokens >= 1")
            if any(t < 0 for t in request.temperatures) or not request.temperatures:
                raise InputError("temperatures must be >= 0")
            tokens = self._b.prompt_tokens(request)
            if not tokens:
                raise InputError("the prompt is empty (no tokens to condition a sample on)")
            force, room = self._b.forced_room(request)
            if len(tokens) + room > self._b.n_ctx:
                raise InputError(
                    f"prompt ({len(tokens)} tokens) + max_tokens ({request.max_tokens})"
                    + (f" + a forced answer ({room - request.max_tokens})" if force else "")
                    + f" exceeds the context of {self._b.n_ctx} tokens per sample; raise --ctx or lower --max-tokens"
                )
            check_forcing(request)
            req = StreamRequest(len(self._reqs), request, tokens, tuple(s.encode() for s in request.stop if s),
                                force=force, room=room)
            self._reqs.append(req)
            if request.n > 0:
                self._pending.append(req)
            numbers.append(req.number)
        return numbers

    def cancel(self, request: int) -> None:
        """Drop a request's pending and in-flight samples (no completions are emitted for them).

        Its cached prompt goes too unless another request still needs it: whoever
        cancels is done with the request, and the holder is better given to a new
        prompt than left for LRU eviction to pick a prompt still in use.
        """
        req = self._reqs[request]
        if req.cancelled:
            return
        req.cancelled = True
        if req in self._pending:
            self._pending.remove(req)
            self._release_prompt(req)
        for s in list(req.live):
            self._free_slot(s)
        prompt = req.prompt
        if prompt is not None and prompt.users == 0 and self._cache.holds(prompt):
            self._cache.drop(prompt)

    def __iter__(self) -> Iterator[Completion]:
        interrupted: list[int] = []
        restore = defer_sigint(interrupted)
        try:
            while True:
                while self._done:
                    c = self._done.popleft()
                    if not self._reqs[c.request].cancelled:
                        yield c
                if not self._pending and not any(self._slots):
                    return
                self._step()
                if interrupted:
                    raise KeyboardInterrupt
                if self.tick is not None:
                    self.tick()
        finally:
            # Exhausted, or the consumer stopped iterating (break, error, Ctrl-C):
            # either way the stream is over; free its slots so the backend is reusable.
            restore()
            self.close()

    def close(self) -> None:
        """Release slots, holders and the batch; the backend can open a new stream."""
        if self._closed:
            return
        self._closed = True
        for s, slot in enumerate(self._slots):
            if slot is not None:
                self._free_slot(s)
        self._cache.clear()
        self._L.llama_batch_free(self._batch)
        self._b._busy = False

    # -- scheduling --------------------------------------------------------------------

    def _admit(self) -> None:
        """Start samples in free slots and begin prefill of upcoming prompts."""
        free = [i for i, s in enumerate(self._slots) if s is None]
        fresh: list[int] = []  # slots started now, their first token still to draw
        for req in list(self._pending):
            if req.prompt is None:
                req.prompt = self._cache.hold(tuple(req.tokens), req.room)
                if req.prompt is None:
                    break  # keep FIFO order: no holder (or cells) for this prompt yet
            if not req.prompt.ready:
                if not free:
                    break
                continue  # prefill under way; later requests may use free slots meanwhile
            while free and req.started < req.request.n and self._cache.make_room(req.room):
                fresh.append(self._start(req, free.pop(0)))
            if req.started == req.request.n:
                self._pending.remove(req)
                self._release_prompt(req)
            if not free:
                break
        if fresh:
            self._first_tokens(fresh)

    def _release_prompt(self, req: StreamRequest) -> None:
        # The prompt stays cached (a later round of the same prompt skips prefill)
        # until its holder is needed for another prompt.
        if req.prompt is not None:
            req.prompt.users -= 1

    def _start(self, req: StreamRequest, s: int) -> int:
        """Give sample ``req.started`` the slot ``s`` (its first token is drawn by _first_tokens)."""
        i = req.started
        req.started += 1
        r = req.request
        mem = self._b._memory
        self._L.llama_memory_seq_rm(mem, s, -1, -1)
        self._L.llama_memory_seq_cp(mem, req.prompt.seq, s, -1, -1)
        self._cache.sample_started(req.prompt, req.room)
        temperature, seed = r.temperature(i), r.seed(i)
        rng, chain = make_sampler(self._L, r, temperature, seed, self._eog_ids, self._b.n_vocab)
        # pos: where the first drawn token will sit (it is drawn from the prompt's kept logits).
        self._slots[s] = Slot(req.number, r.first_index + i, rng, chain, [], len(req.tokens),
                              r.max_tokens, temperature, seed, req.stops, time.monotonic(), floor=r.conf_floor,
                              force=req.force, force_text=(r.force_answer or "").encode(),
                              answer_tokens=r.answer_tokens, probe_depths=frozenset(r.probe_depths))
        req.live.add(s)
        return s

    def _first_tokens(self, fresh: list[int]) -> None:
        """Draw the first token of the samples just started, from their prompts' kept logits."""
        slots = [self._slots[s] for s in fresh]
        logits = np.stack([self._reqs[slot.request].prompt.logits for slot in slots])
        self._advance(list(zip(fresh, slots)), logits, from_context=False)

    def _free_slot(self, s: int) -> None:
        slot = self._slots[s]
        self._slots[s] = None
        if slot.chain is not None:
            self._L.llama_sampler_free(slot.chain)
        self._L.llama_memory_seq_rm(self._b._memory, s, -1, -1)
        req = self._reqs[slot.request]
        req.live.discard(s)
        self._cache.sample_ended(req.prompt, req.room)

    def _compact(self) -> None:
        """Move samples down into free slots so the live slots are sequences 0..k-1.

        llama.cpp splits a batch over separate KV streams into one compute pass per
        run of consecutive sequence ids, so a gap left by a finished sample would
        cost a whole extra pass every step. _admit refills gaps from the lowest
        slot up; this closes those left when nothing is waiting (the tail of a
        run), at the price of one stream copy per move. A unified cache is one stream: no gaps.
        """
        if self._cache.unified:
            return
        mem = self._b._memory
        while True:
            live = [i for i, slot in enumerate(self._slots) if slot is not None]
            holes = [i for i, slot in enumerate(self._slots) if slot is None]
            if not live or not holes or holes[0] > live[-1]:
                return
            src, dst = live[-1], holes[0]
            self._L.llama_memory_seq_cp(mem, src, dst, -1, -1)
            self._L.llama_memory_seq_rm(mem, src, -1, -1)
            slot = self._slots[dst] = self._slots[src]
            self._slots[src] = None
            live_set = self._reqs[slot.request].live
            live_set.discard(src)
            live_set.add(dst)

    # -- one decode step ---------------------------------------------------------------

    def _step(self) -> None:
        self._admit()
        self._compact()
        L, b, batch = self._L, self._b, self._batch
        live, n = [], 0  # live: the slots whose tokens are all fed this step (each gets an output row)
        for s, slot in enumerate(self._slots):
            if slot is None:
                continue
            take = min(len(slot.pending), b.n_batch - n)  # a forced answer prompt may not fit whole
            for j in range(take):
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = slot.pending[j], slot.pos + j, 1
                batch.seq_id[n][0], batch.logits[n] = s, j == len(slot.pending) - 1
                n += 1
            if take == len(slot.pending):
                live.append((s, slot))
            else:
                slot.pos, slot.pending = slot.pos + take, slot.pending[take:]
        prefilled = []
        for p in self._cache.prompts.values():
            if p.ready or n >= b.n_batch:
                continue
            take = min(len(p.key) - p.filled, b.n_batch - n)
            for j in range(p.filled, p.filled + take):
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = p.key[j], j, 1
                batch.seq_id[n][0], batch.logits[n] = p.seq, j == len(p.key) - 1
                n += 1
            prefilled.append((p, take))
        if n == 0:
            if self._done:  # every sample just started ended on its first token
                return
            raise BackendError("the llama.cpp scheduler stalled (no slot or prompt to decode)")
        batch.n_tokens = n
        started = time.perf_counter()
        rc = L.llama_decode(b._ctx, batch)
        if not prefilled and n == len(live):  # a pure decode step: its time tells whether the cores are still ours
            b.step_watch.record(len(live), time.perf_counter() - started)
        if rc != 0:
            raise BackendError(f"llama_decode failed (code {rc}); try a larger --ctx or a smaller --parallel")
        # Output rows come in batch order: the live slots', then each prompt finished now.
        finished = [p for p, take in prefilled if p.filled + take == len(p.key)]
        rows = len(live) + len(finished)
        logits = np.ctypeslib.as_array(L.llama_get_logits(b._ctx), shape=(rows, b.n_vocab)) if rows else None
        for p, take in prefilled:
            p.filled += take
        for k, p in enumerate(finished):
            p.logits = logits[len(live) + k].copy()  # the buffer is overwritten by the next decode
        if live:
            self._advance(live, logits[: len(live)], from_context=True)

    def _advance(self, live: list, logits: np.ndarray, from_context: bool) -> None:
        """Draw the next token of each (slot number, slot) from its row of ``logits`` (the
        context's own output rows when ``from_context``), and finish the samples that end."""
        L, b = self._L, self._b
        tokens, logprobs = self._sampler.sample(L, b._ctx if from_context else None, logits,
                                                [slot.draw for _, slot in live])
        now = time.monotonic()
        for i, (s, slot) in enumerate(live):
            tok = int(tokens[i])
            finish = slot.advance(tok, float(logprobs[i]), b.piece(tok), b.is_eog(tok) and not self._ignore_eos)
            if finish is not None:
                self._done.append(slot.completion(finish, len(self._reqs[slot.request].tokens), now))
                self._free_slot(s)
            elif slot.rewind is not None:  # a probe answered: its cells go, the thinking goes on
                L.llama_memory_seq_rm(b._memory, s, slot.rewind, -1)
                slot.rewind = None
