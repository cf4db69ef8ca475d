"""Draw the next token of every live sequence from one logits matrix, vectorised in numpy.

Why not llama.cpp's ``dist`` sampler for plain temperature sampling: it computes
the softmax over the whole vocabulary (49k tokens for SmolLM2) with scalar exp,
about 1.1 ms per sequence per step here, i.e. ~18 ms per step for 16 sequences
against a ~60 ms decode — far too much. Doing all rows at once in numpy (SIMD exp,
a two-level inverse-CDF search) costs a fraction of that and also yields each
token's logprob under the raw logits, which we report anyway.

Every sequence still has a sampler of its own: a PCG64 generator seeded with the
sample's seed (temperature > 0), argmax (temperature 0), or — when top-k, top-p
or min-p is requested — a llama.cpp sampler chain with its own seed.
"""

from __future__ import annotations

import ctypes

import numpy as np

_BLOCK = 256  # inverse-CDF search: first over block sums, then inside one block


class BatchSampler:
    """Reusable buffers for sampling up to ``max_rows`` rows of ``n_vocab`` logits."""

    def __init__(self, n_vocab: int, max_rows: int, banned: list[int] | None = None) -> None:
        self.n_vocab = n_vocab
        # Tokens never to draw (end-of-generation ids when a benchmark ignores EOS).
        self.banned = np.array(banned or [], np.int64)
        self.padded = -(-n_vocab // _BLOCK) * _BLOCK
        self._diff = np.empty((max_rows, n_vocab), np.float32)
        # Padding columns stay 0 after exp, so they never carry probability mass.
        self._prob = np.zeros((max_rows, self.padded), np.float32)

    def sample(self, L, ctx, logits: np.ndarray, slots: list) -> tuple[np.ndarray, np.ndarray]:
        """Tokens and raw-logit logprobs for rows ``0..len(slots)-1`` of ``logits``.

        ``slots[i]`` provides ``temperature``, ``rng`` (numpy Generator or None)
        and ``chain`` (llama.cpp sampler or None) for row ``i``. ``ctx`` None: the
        rows are not the context's output rows (a prompt's kept logits), so a chain
        draws from ``logits`` itself.
        """
        R, V = len(slots), self.n_vocab
        diff, prob = self._diff[:R], self._prob[:R, :V]
        top = logits.max(axis=1)
        np.subtract(logits, top[:, None], out=diff)
        # log-softmax normaliser of the raw logits (for the reported logprobs)
        np.exp(diff, out=prob)
        lse = top + np.log(prob.sum(axis=1, dtype=np.float64))
        inv_t = np.array([1.0 / s.temperature if s.rng is not None else 0.0 for s in slots], np.float32)
        if np.any(inv_t != 1.0):
            np.multiply(diff, inv_t[:, None], out=prob)
            np.exp(prob, out=prob)
        # else: prob already holds exp(diff), the T = 1 weights
        if self.banned.size:
            prob[:, self.banned] = 0.0
        tokens = np.empty(R, np.int64)
        drawn = [i for i, s in enumerate(slots) if s.rng is not None]
        if drawn:
            tokens[drawn] = self._draw(drawn, [slots[i].rng for i in drawn])
        for i, s in enumerate(slots):
            if s.chain is not None:
                tokens[i] = L.llama_sampler_sample(s.chain, ctx, i) if ctx is not None else \
                    chain_draw(L, s.chain, logits[i])
            elif s.rng is None:
                row = logits[i].copy() if self.banned.size else logits[i]
                if self.banned.size:
                    row[self.banned] = -np.inf
                tokens[i] = int(np.argmax(row))  # temperature 0: greedy
        logprobs = logits[np.arange(R), tokens].astype(np.float64) - lse
        return tokens, logprobs

    def _draw(self, rows: list[int], rngs: list) -> np.ndarray:
        """Inverse-CDF draw for the given rows of the (unnormalised) probability buffer."""
        weights = self._prob[: max(rows) + 1]
        # All rows (the common case) → a view; otherwise a copy of the chosen rows.
        chosen = weights if len(rows) == len(weights) else weights[rows]
        blocks = chosen.reshape(len(rows), -1, _BLOCK).sum(axis=2, dtype=np.float64)
        cum = np.cumsum(blocks, axis=1)
        u = np.array([g.random() for g in rngs]) * cum[:, -1]
        last = blocks.shape[1] - 1
        which = np.minimum((cum <= u[:, None]).sum(axis=1), last)
        out = np.empty(len(rows), np.int64)
        for k, r in enumerate(rows):
            b = int(which[k])
            rest = u[k] - (cum[k, b] - blocks[k, b])
            inner = np.cumsum(weights[r, b * _BLOCK : (b + 1) * _BLOCK], dtype=np.float64)
            j = min(int((inner <= rest).sum()), _BLOCK - 1)
            # Never land on a zero-weight token (padding, or float round-off at a block edge).
            while weights[r, b * _BLOCK + j] == 0 and j > 0:
                j -= 1
            out[k] = b * _BLOCK + j
        return out


def chain_draw(L, chain, row: np.ndarray) -> int:
    """What ``llama_sampler_sample(chain, ctx, i)`` does, on a logits row held outside the
    context: apply the chain to every token's logit, then let it accept the one drawn."""
    data = (L.llama_token_data * row.size)()
    view = np.ctypeslib.as_array(data)  # a structured (id, logit, p) view of the C array
    view["id"] = np.arange(row.size, dtype=np.int32)
    view["logit"] = row
    view["p"] = 0.0
    cur = L.llama_token_data_array(data, row.size, -1, False)
    L.llama_sampler_apply(chain, ctypes.byref(cur))
    token = int(data[cur.selected].id)
    L.llama_sampler_accept(chain, token)
    return token
