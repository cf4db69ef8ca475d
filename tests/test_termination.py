"""Online low-confidence termination: the recorded lows, the floor, replay by hand, the engine."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.backends.confidence import LOW_STEP, WindowTracker
from inferplan.errors import InvalidValue
from inferplan.policy.termination import Termination, crossing, floor_of
from inferplan.replay.termination import terminated
from inferplan.replay.traces import Draws


def test_lows_say_where_any_floor_is_first_crossed() -> None:
    rng = np.random.default_rng(0)
    logprobs = np.concatenate([rng.uniform(-0.2, 0, 40), rng.uniform(-2, -0.5, 30), rng.uniform(-0.3, 0, 30)])
    tracker = WindowTracker(window=8)
    online = {}
    floors = np.linspace(-1.2, -0.05, 40)
    for lp in logprobs:
        tracker.add(float(lp))
        for f in floors:  # what the engine checks after every token
            if f not in online and tracker.below(f):
                online[f] = tracker.n
    lows = tracker.result().lows
    assert all(b[1] <= a[1] - LOW_STEP for a, b in zip(lows, lows[1:]))  # strictly falling, one per band
    for f in floors:
        at = crossing(lows, f)
        if f not in online:
            assert at is None
        else:  # the same token, unless the crossing fell within one LOW_STEP band of a kept low
            assert at is not None and at >= online[f]
            if at != online[f]:
                assert min(v for _, v in lows if _ < at) < f + LOW_STEP


def test_short_samples_are_never_cut() -> None:
    tracker = WindowTracker(window=32)
    for _ in range(20):
        tracker.add(-5.0)
    assert not tracker.below(0.0) and tracker.result().lows == ()


def test_floor_is_the_quantile_of_the_warm_up_lows() -> None:
    assert floor_of([-1.0, -0.2, -0.4, -0.6], 0.5) == pytest.approx(-0.5)
    assert floor_of([-1.0, None, float("nan"), -0.2], 1.0) == -1.0
    assert floor_of([None], 0.9) == -np.inf
    assert Termination.parse("4:0.9") == Termination(4, 0.9) and Termination(4, 0.9).spec == "4:0.9"
    for bad in ("4", "0:0.5", "4:0", "4:1.5", "a:b"):
        with pytest.raises(InvalidValue, match="terminate"):
            Termination.parse(bad)


def test_replay_cuts_later_draws_under_the_warm_up_floor_by_hand() -> None:
    # One row, four draws of 100 tokens; warm-up of 2 with lowest means −0.2 and −0.6, keep 0.5
    # → floor −0.4. Draw 3 dips to −0.5 at token 40 (cut there); draw 4 never goes under.
    inf = np.inf
    d = Draws(problem=np.array([0]), length=np.array([4]), valid=np.ones((1, 4), bool),
              answer=np.array([[1, 2, 1, 1]]), correct=np.array([[True, False, True, True]]),
              cost=np.array([[100.0, 100.0, 100.0, 100.0]]), score=np.zeros((1, 4)),
              tokens=np.array([[100.0, 100.0, 100.0, 100.0]]), conf=np.array([[-0.2, -0.6, -0.5, -0.3]]),
              lows_n=np.array([[[32, 0], [32, 60], [33, 40], [32, 0]]]),
              lows_v=np.array([[[-0.2, inf], [-0.3, -0.6], [-0.35, -0.5], [-0.3, inf]]]))
    out = terminated(d, Termination(2, 0.5))
    assert out.answer.tolist() == [[1, 2, -1, 1]]  # the cut draw casts no vote …
    assert out.correct.tolist() == [[True, False, False, True]]
    assert out.cost.tolist() == [[100.0, 100.0, 40.0, 100.0]]  # … and costs the 40 tokens it made
    assert out.tokens[0, 2] == 40 and np.isnan(out.conf[0, 2])
    # The warm-up draws are never cut, even the one under the floor.
    assert terminated(d, Termination(2, 1.0)).answer.tolist() == [[1, 2, 1, 1]]  # floor −0.6: nobody under
