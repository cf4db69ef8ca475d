"""The prompts the llama.cpp stream holds, and the KV cells promised to them and to samples.

Each prompt is evaluated once into a *holder* sequence and stays cached (least
recently used first out) until its holder is needed for another prompt, so a
later round of the same prompt skips prefill.

In a unified KV cache (``sizing``: ``--kv-cache unified``) all sequences draw
cells from one pool, and a decode that finds none free would fail mid-step. So
cells are promised before anything starts: a held prompt its length (its cells
stay until the holder lets it go *and* no sample copied from it still runs), a
sample its ``max_tokens``. What does not fit waits for cells to come back. With
split streams every sequence has a stream of its own, sized for the longest
request, and nothing needs promising (``total`` None).
"""

from __future__ import annotations

from collections import OrderedDict

from inferplan.backends.llamacpp.stream_state import HeldPrompt


class PromptCache:
    """Holder sequences ``holders``, the prompts in them, and ``total`` cells (None: split streams)."""

    def __init__(self, L, memory, holders: list[int], total: int | None) -> None:
        self._L, self._memory = L, memory
        self._free_holders = holders
        self.prompts: OrderedDict[tuple[int, ...], HeldPrompt] = OrderedDict()  # LRU order
        self.total, self.promised = total, 0

    @property
    def unified(self) -> bool:
        return self.total is not None

    def hold(self, tokens: tuple[int, ...], max_tokens: int) -> HeldPrompt | None:
        """The held prompt of ``tokens`` (cached, or given a holder now), one more user counted;
        None while no holder, or no cells for it and one sample of it, can be freed."""
        prompt = self.prompts.get(tokens)
        if prompt is None:
            if not self.make_room(len(tokens) + max_tokens, holder=True):
                return None
            prompt = HeldPrompt(tokens, self._free_holders.pop())
            self.promised += len(tokens)
            self.prompts[tokens] = prompt
        self.prompts.move_to_end(tokens)
        prompt.users += 1
        return prompt

    def make_room(self, cells: int, holder: bool = False) -> bool:
        """Evict cached prompts no request still needs, least recently used first, until
        ``cells`` more cells can be promised and, with ``holder``, a holder is free."""
        for prompt in list(self.prompts.values()):
            if self._fits(cells, holder):
                return True
            if prompt.users == 0:
                self.drop(prompt)
        return self._fits(cells, holder)

    def holds(self, prompt: HeldPrompt) -> bool:
        """Whether ``prompt`` is still in its holder (a later prompt of the same tokens is another)."""
        return self.prompts.get(prompt.key) is prompt

    def _fits(self, cells: int, holder: bool) -> bool:
        return (self.total is None or self.promised + cells <= self.total) and bool(self._free_holders or not holder)

    def drop(self, prompt: HeldPrompt) -> None:
        """Give the prompt's holder back; its cells go too once no sample of it still runs."""
        self._L.llama_memory_seq_rm(self._memory, prompt.seq, -1, -1)
        del self.prompts[prompt.key]
        self._free_holders.append(prompt.seq)
        if prompt.samples == 0:
            self.promised -= len(prompt.key)

    def sample_started(self, prompt: HeldPrompt, max_tokens: int) -> None:
        prompt.samples += 1
        self.promised += max_tokens

    def sample_ended(self, prompt: HeldPrompt, max_tokens: int) -> None:
        prompt.samples -= 1
        self.promised -= max_tokens
        if prompt.samples == 0 and not self.holds(prompt):
            self.promised -= len(prompt.key)

    def clear(self) -> None:
        for prompt in list(self.prompts.values()):
            self.drop(prompt)
