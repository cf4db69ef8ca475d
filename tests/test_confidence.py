"""Windowed confidence (backends/confidence.py) and DeepConf's confidence-weighted vote."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inferplan.backends.confidence import WINDOW, WindowTracker, confidence_of
from inferplan.backends.openai.http import choice_logprobs
from inferplan.policy.confidence_vote import confidence_vote, kept_count, prefix_leaders


def brute_windows(lps: list[float], w: int) -> tuple[float, int, float]:
    if len(lps) < w:
        m = sum(lps) / len(lps)
        return m, len(lps), m
    means = [sum(lps[i - w:i]) / w for i in range(w, len(lps) + 1)]
    low = min(means)
    return low, w + means.index(low), means[-1]


@pytest.mark.parametrize("n", [1, 5, WINDOW - 1, WINDOW, WINDOW + 1, 3 * WINDOW + 7])
def test_window_tracker_matches_the_definition(n):
    rng = np.random.default_rng(n)
    lps = list(-rng.exponential(1.0, n))
    c = confidence_of(lps)
    low, at, tail = brute_windows(lps, WINDOW)
    assert c.lowest == pytest.approx(low, abs=1e-9) and c.lowest_at == at and c.tail == pytest.approx(tail, abs=1e-9)


def test_a_sample_without_tokens_has_no_confidence():
    assert confidence_of([]) is None and WindowTracker().result() is None


def test_server_logprobs_give_the_same_windows():
    values = [-0.5, -1.0, -0.25]
    lp, n, conf = choice_logprobs({"logprobs": {"content": [{"logprob": v} for v in values]}})
    assert (lp, n) == (-1.75, 3) and conf == confidence_of(values)
    # A null first-token logprob (some servers): the sum is kept, the windows are not.
    lp, n, conf = choice_logprobs({"logprobs": {"token_logprobs": [None, -1.0]}})
    assert (lp, n, conf) == (-1.0, 2, None)


def test_confidence_vote_keeps_the_most_confident_and_weights_them():
    rng = np.random.default_rng(0)
    answers = ["a", "a", "a", "b", "b", None]
    conf = [-3.0, -3.0, -3.0, -0.1, -0.2, 0.0]
    assert confidence_vote(answers, conf, 1.0, rng) == "b"  # 2·e^-0.1… beats 3·e^-3
    assert confidence_vote(["a", "a", "b"], [-0.01, -0.01, -0.01], 1.0, rng) == "a"
    assert confidence_vote(answers, conf, 0.2, rng) == "b"  # one of five answered: the most confident
    assert kept_count(5, 0.2) == 1 and kept_count(10, 0.9) == 9 and kept_count(1, 0.1) == 1
    assert confidence_vote([None, None], [0.0, 0.0], 0.9, rng) is None


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 1.0])
def test_replay_of_every_prefix_matches_the_online_vote(keep):
    rng = np.random.default_rng(1)
    rows, L, K = 300, 12, 4
    answer = rng.integers(-1, K, (rows, L))
    conf = -rng.exponential(1.0, (rows, L))
    answer_correct = rng.random((rows, K)) < 0.4
    ok, has = prefix_leaders(answer, conf, answer_correct, keep, np.random.default_rng(2))
    names = [str(k) for k in range(K)]
    for r in range(rows):
        for t in range(1, L + 1):
            ans = [names[a] if a >= 0 else None for a in answer[r, :t]]
            online = confidence_vote(ans, list(conf[r, :t]), keep, np.random.default_rng(3))
            assert has[r, t - 1] == (online is not None)
            if online is not None:
                assert ok[r, t - 1] == answer_correct[r, int(online)], (r, t)


@pytest.mark.slow
def test_the_engine_records_each_samples_confidence(tmp_path):
    import json

    import inferplan as ip

    out = tmp_path / "p.jsonl"
    ip.profile("smollm2", tasks="builtin:arith", limit=3, samples=2, temperatures=(0.8,), out=out)
    recs = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    assert len(recs) == 6
    for r in recs:
        assert r["conf_low"] <= r["conf_tail"] <= 0.0
        assert 1 <= r["conf_low_at"] <= r["completion_tokens"]
        if r["completion_tokens"] < WINDOW:  # one window: its mean is the sample's mean logprob
            assert r["conf_low"] == pytest.approx(r["logprob"] / r["completion_tokens"], abs=1e-4)
    sim = ip.simulate(out, rule="fixed:2", aggregate="conf-vote")
    assert 0.0 <= sim.estimate.accuracy.point <= 1.0
    assert math.isfinite(sim.estimate.cost.point)


def _confident_profile(path, informative: bool):
    """80 problems × 8 samples; wrong answers are sure of themselves unless ``informative``."""
    from inferplan.profiles.header import ConfigSpec
    from inferplan.profiles.store import ProfileWriter

    rng = np.random.default_rng(5)
    pids = [f"p{i}" for i in range(80)]
    with ProfileWriter(path, {"configs": [ConfigSpec("t0.7", 0.7).to_json()], "problem_ids": pids}) as w:
        for pid in pids:
            p = rng.uniform(0.2, 0.5)
            rows = []
            for i in range(8):
                right = bool(rng.random() < p)
                conf = (-0.1 if right else -2.0) if informative else -rng.uniform(0.1, 2.0)
                rows.append({"problem": pid, "config": "t0.7", "index": i, "answer": "7" if right else str(i % 3),
                             "correct": right, "completion_tokens": 50, "prompt_tokens": 10,
                             "conf_low": conf + rng.normal(0, 0.05), "conf_tail": conf})
            w.write(rows)
    return path


def test_auto_keeps_conf_vote_only_where_it_wins_on_training_problems(tmp_path):
    import inferplan as ip

    good = ip.plan(_confident_profile(tmp_path / "a.jsonl", True), budget=400, aggregate="auto")
    assert good.plan.aggregation.kind == "conf-vote"
    assert any(n.startswith("aggregate auto: conf-vote") for n in good.plan.notes)
    noise = ip.plan(_confident_profile(tmp_path / "b.jsonl", False), budget=400, aggregate="auto")
    assert noise.plan.aggregation.kind == "vote"
    with pytest.raises(ip.InferplanError, match="budget"):
        ip.plan(tmp_path / "a.jsonl", target_accuracy=0.5, aggregate="auto")
