"""Forced answers on the transformers backend (issue 30): the llama.cpp engine's rule on token ids.

A sample that spends ``max_tokens`` goes on from its own ids: the prompt's, the sample's and
the forced text's (``force_answer``, tokenized without special tokens, as the engine does),
answered greedily in at most ``answer_tokens`` tokens and cut at its first line break after
some answer text (:func:`inferplan.policy.forcing.answer_end`) or at the end of text.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from inferplan.backends.base import ForcedAnswer, SampleRequest
from inferplan.errors import BackendError
from inferplan.policy.forcing import answer_end


def answer_cut(ids: Sequence[int], decode: Callable[[Sequence[int]], str], eos: set[int]) -> tuple[str, int, bool]:
    """(answer text, tokens it took, whether it ended by itself) of greedy answer ids: the
    engine's rule token by token — an end-of-text token ends it (and counts), so does the token
    that brings its first line break after some text (the text stops before the break)."""
    for k, token in enumerate(ids, start=1):
        if token in eos:
            return decode(ids[:k - 1]), k, True
        text = decode(ids[:k])
        cut = answer_end(text)
        if cut is not None:
            return text[:cut], k, True
    return decode(ids), len(ids), False


def _stop_at_answer_end(tokenizer, start: int):
    """A stopping criterion: the greedy answer (ids from ``start``) has reached its line break."""
    import torch
    import transformers

    class AnswerEnds(transformers.StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = [answer_end(tokenizer.decode(row, skip_special_tokens=True)) is not None
                    for row in input_ids[:, start:].tolist()]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return AnswerEnds()


def forced_answer(backend, context: list[int], depth: int, request: SampleRequest) -> tuple[ForcedAnswer, float]:
    """The answer forced after ``context`` (prompt and thinking ids; ``depth`` thinking tokens),
    and the seconds it took."""
    import torch
    import transformers

    lead = backend.tokenizer(request.force_answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + lead], device=backend.device)
    start = ids.shape[1]
    kw = dict(max_new_tokens=request.answer_tokens, do_sample=False, num_return_sequences=1,
              pad_token_id=backend.pad_id, eos_token_id=sorted(backend.eos_ids), attention_mask=torch.ones_like(ids),
              stopping_criteria=transformers.StoppingCriteriaList([_stop_at_answer_end(backend.tokenizer, start)]))
    began = time.monotonic()
    try:
        with torch.inference_mode():
            out = backend.model.generate(ids, **kw)
    except (RuntimeError, ValueError) as e:
        raise BackendError(f"transformers generate failed on a forced answer: {str(e).splitlines()[0]}") from None
    seconds = time.monotonic() - began
    decode = lambda t: backend.tokenizer.decode(list(t), skip_special_tokens=True)  # noqa: E731
    text, tokens, ended = answer_cut(out[0, start:].tolist(), decode, backend.eos_ids)
    return ForcedAnswer(depth, request.force_answer + text, len(lead) + tokens, ended), seconds
