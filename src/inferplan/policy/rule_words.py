"""Each stopping rule in plain words, for someone who has not read its paper.

One phrase per rule, given its parameters: numbers (``beta:0.97`` → "… probability ≥ 97% …")
or their symbols for a legend (``beta:θ``). :meth:`StoppingRule.describe` adds the guards.
"""

from __future__ import annotations


def _pct(x: float | str) -> str:
    return x if isinstance(x, str) else f"{100 * x:.4g}%"


def _g(x: float | str) -> str:
    return x if isinstance(x, str) else f"{x:g}"


def _also_alike(p: tuple) -> str:
    """(m)sprt's lower bound, said only where it can stop a query (β > 0)."""
    return "" if isinstance(p[2], str) or p[2] <= 0 else f", or that the top two are alike (miss rate {p[2]:g})"


# name → the rule in words, given its parameters (numbers, or their symbols for a legend);
# the min/max guards are said by ``describe``.
_WORDS = {
    "beta": lambda p: f"stop once the leading answer beats the runner-up with probability ≥ {_pct(p[0])} "
                      "(Adaptive-Consistency's Beta test)",
    "esc": lambda p: f"stop once the last {_g(p[0])} answers agree, looking every {_g(p[0])} samples "
                     "(Early-Stopping Self-Consistency)",
    "ratio": lambda p: f"stop once the leading answer holds ≥ {_pct(p[0])} of the samples (from 2 on)",
    "entropy": lambda p: f"stop once the answers' spread (normalised entropy, 0 = all agree) is ≤ {_g(p[0])}",
    "sprt": lambda p: f"stop once Wald's sequential test says the leading answer is real (false-alarm rate "
                      f"{_g(p[0])}, against the leader winning {_pct(p[1])} of the top two's votes){_also_alike(p)}",
    "msprt": lambda p: f"stop once a mixture sequential test says the leading answer is real (false-alarm rate "
                       f"{_g(p[0])}, Beta({_g(p[1])}, {_g(p[1])}) prior){_also_alike(p)}",
    "bayes": lambda p: f"stop once the Bayes factor that the leading answer is the most likely reaches {_g(p[0])} "
                       f"(an unseen answer counts {_g(p[1])} votes; Best-of-∞)",
    "wshare": lambda p: f"stop once the leading answer holds ≥ {_pct(p[0])} of the confidence-weighted votes "
                        "(from 2 answers on; DeepConf-online)",
}
# name → its parameters' symbols, as a legend writes them.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "fixed": ("N",), "beta": ("θ",), "esc": ("w",), "ratio": ("θ",), "entropy": ("θ",),
    "sprt": ("α", "p1", "β"), "msprt": ("α", "c", "β"), "bayes": ("B", "u"), "wshare": ("θ",),
}


def rule_words(name: str, params: tuple) -> str:
    """What a rule (other than ``fixed``) waits for, given its parameters (numbers or symbols)."""
    return _WORDS[name](params)


def describe_family(name: str) -> str:
    """A rule family in words with its parameters as symbols, for a legend: ``beta:θ  stop once …``."""
    words = "always draw N samples" if name == "fixed" else _WORDS[name](SYMBOLS[name])
    return f"{name}:{','.join(SYMBOLS[name])}  {words}"
